//! The signaling wire protocol: JSON messages over a WebSocket, one object per text
//! frame, tagged by `type`. `docs/protocol.md` is its prose form; keep both in step.
//! Clients in Rust (the load test) use these same types.

use serde::{Deserialize, Serialize};

/// Largest text frame accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest frame the WebSocket accepts at all; larger ones drop the connection.
pub const MAX_TRANSPORT_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// Which of a client's two peer connections a candidate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerTarget {
    /// The connection the client offers and sends its media on.
    Publisher,
    /// The connection the server offers and sends the others' media on.
    Subscriber,
}

/// A message from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message: authenticate and enter the token's room.
    Join {
        /// The join token (JWT).
        token: String,
    },
    /// SDP offer for the publisher connection.
    PublishOffer {
        /// The SDP.
        sdp: String,
    },
    /// SDP answer to the last `subscribe_offer`.
    SubscribeAnswer {
        /// The SDP.
        sdp: String,
    },
    /// A trickled ICE candidate of the client.
    Candidate {
        /// Which connection.
        target: PeerTarget,
        /// The `candidate:` line; empty at end of candidates.
        candidate: String,
        /// The m-line's mid, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
    },
    /// Leave the room.
    Leave,
    /// Keep-alive.
    Ping,
    /// The client's own view of its media (`getStats()`), every few seconds.
    Stats {
        /// What it receives, one entry per received track.
        #[serde(default)]
        inbound: Vec<InboundStats>,
        /// What it sends, one entry per sent track.
        #[serde(default)]
        outbound: Vec<OutboundStats>,
    },
}

/// Most entries in each list of a `stats` report.
pub const MAX_STATS_ENTRIES: usize = 100;
/// Longest id in a `stats` report, in bytes.
pub const MAX_STATS_ID_BYTES: usize = 128;

/// Audio or video, in a `stats` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Audio.
    #[default]
    Audio,
    /// Video.
    Video,
}

/// One received track in a `stats` report. Counters are cumulative, as the browser
/// reports them; every figure may be missing or null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboundStats {
    /// Whose track (the sender's participant id).
    #[serde(default)]
    pub participant_id: Option<String>,
    /// Which track.
    #[serde(default)]
    pub track_id: Option<String>,
    /// Audio or video.
    pub kind: MediaKind,
    pub packets_received: Option<f64>,
    /// May be negative (duplicates), as RTCP counts it.
    pub packets_lost: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub frames_decoded: Option<f64>,
    pub frames_per_second: Option<f64>,
    pub freeze_count: Option<f64>,
    pub total_freezes_duration_ms: Option<f64>,
    /// 0..1.
    pub audio_level: Option<f64>,
    pub nack_count: Option<f64>,
}

/// One sent track in a `stats` report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutboundStats {
    /// Audio or video.
    pub kind: MediaKind,
    pub packets_sent: Option<f64>,
    pub bytes_sent: Option<f64>,
    pub round_trip_time_ms: Option<f64>,
    pub frames_per_second: Option<f64>,
    /// 0..1: the level of the microphone.
    pub audio_level: Option<f64>,
}

/// Check a `stats` report: at most [`MAX_STATS_ENTRIES`] per list, ids of at most
/// [`MAX_STATS_ID_BYTES`], finite figures, none negative but `packets_lost`, audio
/// levels within 0..1. The error names the first bad field.
pub fn validate_stats(inbound: &[InboundStats], outbound: &[OutboundStats]) -> Result<(), String> {
    if inbound.len() > MAX_STATS_ENTRIES || outbound.len() > MAX_STATS_ENTRIES {
        return Err(format!(
            "a stats report lists at most {MAX_STATS_ENTRIES} inbound and {MAX_STATS_ENTRIES} outbound entries"
        ));
    }
    for (i, s) in inbound.iter().enumerate() {
        for (name, id) in [
            ("participant_id", &s.participant_id),
            ("track_id", &s.track_id),
        ] {
            if id.as_ref().is_some_and(|v| v.len() > MAX_STATS_ID_BYTES) {
                return Err(format!(
                    "inbound[{i}].{name} is longer than {MAX_STATS_ID_BYTES} bytes"
                ));
            }
        }
        figure(
            &format!("inbound[{i}].packets_lost"),
            s.packets_lost,
            f64::MIN,
            f64::MAX,
        )?;
        for (name, v) in [
            ("packets_received", s.packets_received),
            ("jitter_ms", s.jitter_ms),
            ("frames_decoded", s.frames_decoded),
            ("frames_per_second", s.frames_per_second),
            ("freeze_count", s.freeze_count),
            ("total_freezes_duration_ms", s.total_freezes_duration_ms),
            ("nack_count", s.nack_count),
        ] {
            figure(&format!("inbound[{i}].{name}"), v, 0.0, f64::MAX)?;
        }
        figure(
            &format!("inbound[{i}].audio_level"),
            s.audio_level,
            0.0,
            1.0,
        )?;
    }
    for (i, s) in outbound.iter().enumerate() {
        for (name, v) in [
            ("packets_sent", s.packets_sent),
            ("bytes_sent", s.bytes_sent),
            ("round_trip_time_ms", s.round_trip_time_ms),
            ("frames_per_second", s.frames_per_second),
        ] {
            figure(&format!("outbound[{i}].{name}"), v, 0.0, f64::MAX)?;
        }
        figure(
            &format!("outbound[{i}].audio_level"),
            s.audio_level,
            0.0,
            1.0,
        )?;
    }
    Ok(())
}

fn figure(name: &str, v: Option<f64>, min: f64, max: f64) -> Result<(), String> {
    match v {
        Some(v) if !v.is_finite() || v < min || v > max => Err(format!(
            "{name} must be a number{}",
            if min == 0.0 && max == 1.0 {
                " from 0 to 1"
            } else if min == 0.0 {
                " not below 0"
            } else {
                ""
            }
        )),
        _ => Ok(()),
    }
}

/// What a participant may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsWire {
    /// May send media.
    pub publish: bool,
    /// May receive the others' media.
    pub subscribe: bool,
}

/// What a participant is in its meeting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Chairs the meeting.
    Host,
    /// Everyone else.
    #[default]
    Participant,
}

impl Role {
    /// As on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Participant => "participant",
        }
    }
}

/// A published track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackWire {
    /// Also the `msid` track id at subscribers.
    pub track_id: String,
    /// `audio` or `video`.
    pub kind: String,
}

/// A participant as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantWire {
    /// Also the `msid` stream id of its tracks at subscribers.
    pub participant_id: String,
    /// Stable identity (the room terminal).
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Published tracks.
    pub tracks: Vec<TrackWire>,
}

/// Stable machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, unknown type, missing or mistyped field, binary or oversized frame.
    BadMessage,
    /// A message other than join or ping before join.
    NotJoined,
    /// A second join.
    AlreadyJoined,
    /// Token malformed, wrongly signed or missing claims.
    InvalidToken,
    /// Token expired, or not valid yet (the message says which).
    TokenExpired,
    /// The token's grants do not allow this.
    Forbidden,
    /// SDP unparsable or not acceptable, or an answer without an offer.
    BadSdp,
    /// No join in time.
    JoinTimeout,
    /// The participant's media connection failed; reconnect.
    MediaFailed,
    /// The server failed.
    Internal,
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The join succeeded.
    Joined {
        /// This participant's id.
        participant_id: String,
        /// The room.
        room: String,
        /// This participant's identity.
        identity: String,
        /// This participant's display name.
        name: String,
        /// What it may do.
        grants: GrantsWire,
        /// Host or participant, from the token.
        #[serde(default)]
        role: Role,
        /// The others already in the room.
        participants: Vec<ParticipantWire>,
    },
    /// Answer to `publish_offer`.
    PublishAnswer {
        /// The SDP.
        sdp: String,
    },
    /// Offer for the subscriber connection; answer with `subscribe_answer`.
    SubscribeOffer {
        /// The SDP.
        sdp: String,
    },
    /// Someone joined.
    ParticipantJoined {
        /// Who.
        participant: ParticipantWire,
    },
    /// Someone left.
    ParticipantLeft {
        /// Who.
        participant_id: String,
        /// `left`, `disconnected`, `replaced` or `failed`.
        reason: String,
    },
    /// Someone published a track.
    TrackPublished {
        /// Whose.
        participant_id: String,
        /// Which.
        track: TrackWire,
    },
    /// Someone stopped publishing a track.
    TrackUnpublished {
        /// Whose.
        participant_id: String,
        /// Which.
        track_id: String,
    },
    /// Answer to `ping`.
    Pong,
    /// Something went wrong.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

/// WebSocket close codes the server uses.
pub mod close {
    /// Authentication failed (`invalid_token`, `token_expired`).
    pub const AUTH_FAILED: u16 = 4001;
    /// No `join` in time.
    pub const JOIN_TIMEOUT: u16 = 4008;
    /// Replaced by a newer session of the same identity.
    pub const REPLACED: u16 = 4409;
    /// The media connection failed; the client should reconnect.
    pub const MEDIA_FAILED: u16 = 4500;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_from_documented_json() {
        let m: ClientMessage = serde_json::from_str(r#"{"type":"join","token":"x"}"#).unwrap();
        assert_eq!(m, ClientMessage::Join { token: "x".into() });
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"candidate","target":"subscriber","candidate":"","extra":1}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Candidate {
                target: PeerTarget::Subscriber,
                candidate: String::new(),
                sdp_mid: None
            }
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"stats","inbound":[{"participant_id":"p1","track_id":"p1-v0",
                "kind":"video","packets_received":10,"packets_lost":null,"jitter_ms":1.5}],
                "outbound":[{"kind":"audio","audio_level":0.2}]}"#,
        )
        .unwrap();
        let ClientMessage::Stats { inbound, outbound } = m else {
            panic!("not stats: {m:?}");
        };
        assert_eq!(inbound[0].kind, MediaKind::Video);
        assert_eq!(inbound[0].packets_lost, None);
        assert_eq!(outbound[0].audio_level, Some(0.2));
        assert!(validate_stats(&inbound, &outbound).is_ok());
        let mut bad = inbound.clone();
        bad[0].jitter_ms = Some(-1.0);
        assert!(validate_stats(&bad, &outbound)
            .unwrap_err()
            .contains("inbound[0].jitter_ms"));
        let many = vec![OutboundStats::default(); MAX_STATS_ENTRIES + 1];
        assert!(validate_stats(&[], &many).is_err());
        assert!(serde_json::from_str::<ClientMessage>(
            r#"{"type":"stats","inbound":[{"kind":"smell"}]}"#
        )
        .is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"publish_offer"}"#).is_err());
    }

    #[test]
    fn server_messages_serialize_as_documented() {
        let e = ServerMessage::Error {
            code: ErrorCode::BadSdp,
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"error","code":"bad_sdp","message":"m"}"#
        );
        assert_eq!(
            serde_json::to_string(&ServerMessage::Pong).unwrap(),
            r#"{"type":"pong"}"#
        );
    }
}
