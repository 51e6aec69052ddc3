//! Identifiers and descriptions of participants and tracks, as seen from outside the core.

use std::fmt;

/// A participant's identifier, unique for the life of one [`crate::Sfu`].
///
/// Shown on the wire as `p<n>`; a participant that leaves and comes back gets a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// What a participant may do in its room. Enforced by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    /// May send media (a publisher peer connection is accepted).
    pub publish: bool,
    /// May receive the media of others.
    pub subscribe: bool,
}

/// Who a joining participant is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantInfo {
    /// Stable identity (a room terminal); a second join with the same identity in the
    /// same room replaces the first.
    pub identity: String,
    /// Display name shown on tiles.
    pub name: String,
    /// What it may do.
    pub grants: Grants,
}

/// The kind of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Opus audio.
    Audio,
    /// VP8 or H.264 video.
    Video,
}

impl TrackKind {
    /// `audio` or `video`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
}

/// A published track, as announced to the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSummary {
    /// Unique in the SFU: `<participant>-<a|v><n>`; also the `msid` track id that
    /// subscribers see.
    pub track_id: String,
    /// Audio or video.
    pub kind: TrackKind,
}

/// A participant as announced to the others in its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantSummary {
    /// Its id (also the `msid` stream id of its tracks at subscribers).
    pub participant_id: ParticipantId,
    /// Stable identity.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Its published tracks.
    pub tracks: Vec<TrackSummary>,
}

/// Which of a participant's two peer connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    /// The client offers; carries the client's own media to the SFU.
    Publisher,
    /// The SFU offers; carries the others' media to the client.
    Subscriber,
}

/// Why a participant is no longer in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// It asked to leave.
    Left,
    /// Its signaling connection went away.
    Disconnected,
    /// The same identity joined again.
    Replaced,
    /// Its media connection failed or misbehaved (including a panic in its WebRTC
    /// state) and the SFU removed it.
    Failed,
}

impl LeaveReason {
    /// The wire name: `left`, `disconnected`, `replaced`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::Replaced => "replaced",
            LeaveReason::Failed => "failed",
        }
    }
}

/// Something a participant's client must be told. Drained with
/// [`crate::Sfu::poll_notice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An SDP offer for the subscriber connection; the client must answer it.
    SubscribeOffer {
        /// The SDP.
        sdp: String,
    },
    /// Someone joined the room.
    ParticipantJoined(ParticipantSummary),
    /// Someone left the room.
    ParticipantLeft {
        /// Who.
        participant_id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone published a track.
    TrackPublished {
        /// Whose.
        participant_id: ParticipantId,
        /// Which.
        track: TrackSummary,
    },
    /// Someone stopped publishing a track.
    TrackUnpublished {
        /// Whose.
        participant_id: ParticipantId,
        /// Which.
        track_id: String,
    },
    /// One of this participant's peer connections is up (ICE and DTLS) for the first
    /// time.
    Connected {
        /// Which one.
        role: PeerRole,
    },
    /// This participant was removed by the SFU; its session should end.
    Removed {
        /// Why.
        reason: LeaveReason,
    },
}
