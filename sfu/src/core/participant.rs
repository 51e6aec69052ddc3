//! A participant's state inside the core: its two peer connections, the tracks it
//! publishes (`TrackIn`) and the tracks it receives (`TrackOut`), and the queue of
//! changes its subscriber connection still has to negotiate.

use std::sync::Arc;
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use str0m::format::Codec;
use str0m::media::Pt;
use str0m::media::{Mid, Rid};
use str0m::rtp::Ssrc;
use str0m::Rtc;

use super::figures::Figures;
use super::forwarder::Forwarder;
use super::ids::{Grants, ParticipantId, ParticipantInfo, PeerRole, TrackKind, TrackSummary};
use super::FastMap;

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
    /// The SSRC of its send stream on the subscriber connection, learnt on first use:
    /// str0m finds a stream by SSRC in one hash lookup, by mid only by scanning them all.
    pub tx_ssrc: Option<Ssrc>,
}

/// The tracks a participant receives, found by mid in one hash lookup: the forwarder
/// looks one up for every packet it forwards, and a room terminal in a 78-room meeting
/// receives ~80 tracks.
#[derive(Default)]
pub(crate) struct TracksOut {
    list: Vec<TrackOut>,
    by_mid: FastMap<Mid, usize>,
}

impl TracksOut {
    pub fn push(&mut self, t: TrackOut) {
        if let Some(old) = self.remove(t.mid) {
            tracing::debug!(mid = %old.mid, "a subscription replaced another on its mid");
        }
        self.by_mid.insert(t.mid, self.list.len());
        self.list.push(t);
    }

    pub fn get_mut(&mut self, mid: Mid) -> Option<&mut TrackOut> {
        let i = *self.by_mid.get(&mid)?;
        self.list.get_mut(i)
    }

    /// Removes the track on `mid`, keeping the others in order.
    pub fn remove(&mut self, mid: Mid) -> Option<TrackOut> {
        let i = self.by_mid.remove(&mid)?;
        let t = self.list.remove(i);
        for (j, later) in self.list.iter().enumerate().skip(i) {
            self.by_mid.insert(later.mid, j);
        }
        Some(t)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, TrackOut> {
        self.list.iter()
    }
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
    pub tracks_out: TracksOut,
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
        self.tracks_out.get_mut(mid)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn out(mid: &str) -> TrackOut {
        TrackOut {
            mid: Mid::from(mid),
            source: (ParticipantId(1), Mid::from("0")),
            layer: None,
            forwarder: Forwarder::new(false, 48_000),
            pt_map: Vec::new(),
            tx_ssrc: None,
        }
    }

    #[test]
    fn tracks_out_are_found_by_mid_after_removals_and_replacements() {
        let mut t = TracksOut::default();
        for m in ["1", "2", "3", "4"] {
            t.push(out(m));
        }
        assert_eq!(
            t.remove(Mid::from("2")).map(|o| o.mid),
            Some(Mid::from("2"))
        );
        assert!(t.remove(Mid::from("2")).is_none());
        for m in ["1", "3", "4"] {
            assert_eq!(t.get_mut(Mid::from(m)).map(|o| o.mid), Some(Mid::from(m)));
        }
        assert!(t.get_mut(Mid::from("2")).is_none());
        // A mid used again replaces the old subscription instead of shadowing it.
        let mut again = out("3");
        again.layer = Some(Rid::from("f"));
        t.push(again);
        let mids: Vec<_> = t.iter().map(|o| o.mid.to_string()).collect();
        assert_eq!(mids, ["1", "4", "3"]);
        assert_eq!(
            t.get_mut(Mid::from("3")).and_then(|o| o.layer),
            Some(Rid::from("f"))
        );
        assert_eq!(
            t.get_mut(Mid::from("4")).map(|o| o.mid),
            Some(Mid::from("4"))
        );
    }
}
