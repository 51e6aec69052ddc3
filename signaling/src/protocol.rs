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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
