//! A participant's state inside the core: its two peer connections, the tracks it
//! publishes (`TrackIn`) and the tracks it receives (`TrackOut`), and the queue of
//! changes its subscriber connection still has to negotiate.

use std::sync::Arc;
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use str0m::format::Codec;
use str0m::media::Pt;
use str0m::media::{Mid, Rid};
use str0m::Rtc;

use super::figures::Figures;
use super::forwarder::Forwarder;
use super::ids::{Grants, ParticipantId, ParticipantInfo, PeerRole, TrackKind, TrackSummary};

/// One str0m peer connection and when it next wants to be woken.
pub(crate) struct Peer {
    pub rtc: Rtc,
    pub timeout: Instant,
    /// Queued in `Sfu::dirty` for polling.
    pub dirty: bool,
    /// Media was written into it since it was last driven: it must be given the time
    /// before it sends (`Sfu::settle`).
    pub written: bool,
    pub ice_disconnected_since: Option<Instant>,
    /// ICE and DTLS are up: media written now reaches the client.
    pub connected: bool,
    /// ICE has connected at least once.
    pub ice_up: bool,
    /// When it was negotiated (offer accepted or sent); `None` before.
    pub negotiated_at: Option<Instant>,
    /// A failure to connect has been counted for it (once per connection).
    pub failure_counted: bool,
}

impl Peer {
    pub fn new(rtc: Rtc, now: Instant) -> Self {
        Peer {
            rtc,
            timeout: now,
            dirty: false,
            written: false,
            ice_disconnected_since: None,
            connected: false,
            ice_up: false,
            negotiated_at: None,
            failure_counted: false,
        }
    }
}

/// A track this participant publishes, identified by its mid on the publisher
/// connection.
pub(crate) struct TrackIn {
    pub mid: Mid,
    pub kind: TrackKind,
    pub track_id: String,
    /// The simulcast layers the publisher sends, lowest first; empty without simulcast.
    pub layers: Vec<Rid>,
    /// Subscriptions fed from this track: (subscriber, mid on its subscriber connection).
    pub subscribers: Vec<(ParticipantId, Mid)>,
    /// When a keyframe was last asked of the publisher, to throttle PLIs.
    pub last_keyframe_request: Option<Instant>,
    /// Layers a keyframe was asked for and not yet requested from the publisher
    /// (throttled, or the publisher not connected yet).
    pub keyframe_pending: Vec<Option<Rid>>,
}

impl TrackIn {
    pub fn summary(&self) -> TrackSummary {
        TrackSummary {
            track_id: self.track_id.clone(),
            kind: self.kind,
        }
    }
}

/// A track this participant receives, identified by its mid on the subscriber
/// connection.
pub(crate) struct TrackOut {
    pub mid: Mid,
    /// The publication: (publisher, mid on its publisher connection).
    pub source: (ParticipantId, Mid),
    /// The simulcast layer forwarded (`None` without simulcast).
    pub layer: Option<Rid>,
    pub forwarder: Forwarder,
    /// Publisher payload type → subscriber payload type, learnt on first use.
    pub pt_map: Vec<(Pt, Option<(Pt, Codec)>)>,
}

/// A change to the subscriber connection waiting for the next offer.
pub(crate) enum SubChange {
    /// The data channel that brings the connection up before any media.
    Channel,
    Add {
        source: (ParticipantId, Mid),
        kind: TrackKind,
        track_id: String,
        layer: Option<Rid>,
    },
    Remove {
        mid: Mid,
    },
}

pub(crate) struct Participant {
    pub id: ParticipantId,
    pub room: Arc<str>,
    pub info: ParticipantInfo,
    pub publisher: Peer,
    pub subscriber: Peer,
    pub tracks_in: Vec<TrackIn>,
    pub tracks_out: Vec<TrackOut>,
    pub next_track: u32,
    /// The subscriber offer sent and not yet answered.
    pub pending_offer: Option<SdpPendingOffer>,
    /// Changes to offer once the pending offer is answered.
    pub queued: Vec<SubChange>,
    /// Subscriber mids added by the pending offer (rolled back if it is refused).
    pub offered: Vec<Mid>,
    /// Whether a publisher offer has been seen (the first one shapes the codec order).
    pub publisher_offered: bool,
    /// Figures for operators (see [`Figures`]).
    pub figures: Figures,
}

impl Participant {
    pub fn grants(&self) -> Grants {
        self.info.grants
    }

    pub fn peer_mut(&mut self, role: PeerRole) -> &mut Peer {
        match role {
            PeerRole::Publisher => &mut self.publisher,
            PeerRole::Subscriber => &mut self.subscriber,
        }
    }

    pub fn track_in_mut(&mut self, mid: Mid) -> Option<&mut TrackIn> {
        self.tracks_in.iter_mut().find(|t| t.mid == mid)
    }

    pub fn track_out_mut(&mut self, mid: Mid) -> Option<&mut TrackOut> {
        self.tracks_out.iter_mut().find(|t| t.mid == mid)
    }

    pub fn new_track_id(&mut self, kind: TrackKind) -> String {
        let n = self.next_track;
        self.next_track += 1;
        let k = match kind {
            TrackKind::Audio => 'a',
            TrackKind::Video => 'v',
        };
        format!("{}-{k}{n}", self.id)
    }
}
