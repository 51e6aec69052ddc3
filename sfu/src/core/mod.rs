//! The sans-I/O SFU core: one state machine owning every participant's WebRTC state.
//!
//! Feed it with `handle_*` (datagrams, timeouts, signaling requests) and drain it with
//! `poll_*` (datagrams to send, notices for clients) until [`Sfu::poll_timeout`] says
//! when to call again. Datagrams come in batches: after a run of
//! [`Sfu::handle_datagram`] calls, call [`Sfu::settle`] once, then poll; the
//! subscribers the batch was forwarded to are driven once per batch, not once per
//! packet. It never blocks, reads no clock and opens no socket, so tests drive it on a
//! simulated network in virtual time.

mod figures;
mod forwarder;
mod ids;
mod keyframe;
mod media;
mod negotiation;
mod participant;
mod peer_io;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::config::DtlsCert;
use str0m::{Candidate, Rtc};

pub use figures::{ParticipantStats, STATS_INTERVAL};
pub use forwarder::{Forwarder, Rewritten, Skip};
pub use ids::{
    Grants, LeaveReason, Notice, ParticipantId, ParticipantInfo, ParticipantSummary, PeerRole,
    TrackKind, TrackSummary,
};
pub use keyframe::starts_keyframe;

use participant::{Participant, Peer, SubChange};

/// How often waiting subscriptions re-ask for a keyframe, and the least time between
/// two keyframe requests to one publisher's track.
pub(crate) const KEYFRAME_RETRY: Duration = Duration::from_millis(250);

/// Default [`SfuConfig::timer_granularity`].
pub const TIMER_GRANULARITY: Duration = Duration::from_millis(5);

/// Configuration of the core.
#[derive(Clone)]
pub struct SfuConfig {
    /// The address(es) advertised as ICE host candidates: the UDP port all participants
    /// send to, at the address(es) they can reach.
    pub candidates: Vec<SocketAddr>,
    /// DTLS certificate shared by all peer connections (generating one per connection
    /// costs a key generation per join). `None` generates one at start.
    pub dtls_cert: Option<DtlsCert>,
    /// Least time between two timer passes ([`Sfu::handle_timeout`]), default
    /// [`TIMER_GRANULARITY`]. Every peer connection has its own timers (feedback every
    /// 33–100 ms, statistics, retransmissions), so without this each would wake the
    /// driver on its own; with it, the timers that fall due within one granularity are
    /// served by one pass, up to that late. Connections that carry media are served by
    /// their datagrams and `settle` meanwhile anyway. Zero wakes for every timer.
    pub timer_granularity: Duration,
}

/// Errors of the core's signaling-side operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SfuError {
    /// The participant is not (or no longer) in the SFU.
    #[error("participant {0} is not in the SFU")]
    UnknownParticipant(ParticipantId),
    /// The participant's grants do not allow this.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The SDP could not be parsed or accepted.
    #[error("bad SDP: {0}")]
    BadSdp(String),
    /// A subscriber answer came with no offer outstanding.
    #[error("no subscriber offer is waiting for an answer")]
    NoOfferPending,
    /// An ICE candidate could not be parsed.
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

/// Counters of what the core has seen and done since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SfuStats {
    /// Rooms with at least one participant.
    pub rooms: usize,
    /// Participants in all rooms.
    pub participants: usize,
    /// UDP datagrams handed to the core.
    pub datagrams_received: u64,
    /// Datagrams that were neither STUN, DTLS, RTP nor RTCP.
    pub datagrams_malformed: u64,
    /// Well-formed datagrams that belong to no participant.
    pub datagrams_unrouted: u64,
    /// Datagrams a participant's WebRTC state refused (e.g. failed SRTP).
    pub datagrams_rejected: u64,
    /// RTP packets written towards subscribers.
    pub packets_forwarded: u64,
    /// Video packets held back while a subscriber waited for a keyframe.
    pub packets_waiting_keyframe: u64,
    /// Keyframe requests (PLI) sent to publishers.
    pub keyframe_requests: u64,
    /// Participants removed because their WebRTC state failed or panicked.
    pub participants_failed: u64,
    /// Peer connections whose ICE never connected within the grace after negotiation.
    pub ice_failures_before_connect: u64,
    /// Peer connections whose ICE went disconnected after having connected.
    pub ice_failures_after_connect: u64,
    /// Peer connections whose DTLS failed: a DTLS error, or ICE up and DTLS not within
    /// the grace after negotiation.
    pub dtls_failures: u64,
    /// Time from a datagram's receive to the send of what the core produced for it
    /// (see [`crate::delay`]). Measured by the driver, which fills it in; the core
    /// itself reads no clock and leaves it empty.
    pub forwarding_delay: crate::delay::DelayHistogram,
}

/// A datagram to send from the SFU's UDP socket.
#[derive(Debug)]
pub struct Transmit {
    /// Local address it must leave from (one of the configured candidates).
    pub source: SocketAddr,
    /// Where to.
    pub destination: SocketAddr,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// What a successful join returns.
#[derive(Debug, Clone)]
pub struct JoinOutcome {
    /// The new participant's id.
    pub participant_id: ParticipantId,
    /// The others already in the room, with their tracks.
    pub others: Vec<ParticipantSummary>,
}

/// The core's hash maps, looked up on every packet: foldhash, randomly seeded per map
/// (SipHash was 5–8 % of the core's instructions). Source addresses are chosen by
/// whoever sends, but a route is only added once a peer connection accepted the
/// datagram (ICE credentials), so no stranger can fill a map with colliding keys.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Room {
    members: Vec<ParticipantId>,
}

/// The SFU core. See the [module documentation](self).
pub struct Sfu {
    config: SfuConfig,
    dtls_cert: DtlsCert,
    rooms: FastMap<Arc<str>, Room>,
    participants: FastMap<ParticipantId, Participant>,
    /// Fast path of the demultiplexer: remote 5-tuple (one UDP port, so the source
    /// address suffices) → peer connection.
    routes: FastMap<SocketAddr, (ParticipantId, PeerRole)>,
    transmits: VecDeque<Transmit>,
    notices: VecDeque<(ParticipantId, Notice)>,
    /// Participants to remove once the current input is handled (failed ones).
    doomed: Vec<(ParticipantId, LeaveReason)>,
    /// Peer connections with output to poll (subscribers written to while forwarding),
    /// driven by [`Sfu::settle`].
    dirty: Vec<(ParticipantId, PeerRole)>,
    /// When the oldest input not yet settled came ([`Sfu::handle_datagram`] leaves
    /// that to [`Sfu::settle`]).
    unsettled_since: Option<Instant>,
    next_id: u64,
    next_timeout: Instant,
    next_keyframe_check: Instant,
    /// When the last timer pass ran ([`SfuConfig::timer_granularity`]).
    last_timer_pass: Instant,
    /// Reused buffer of peer connections to visit (no allocation per timeout).
    scratch_due: Vec<(ParticipantId, PeerRole)>,
    stats: SfuStats,
}

impl Sfu {
    /// A new, empty SFU.
    pub fn new(config: SfuConfig, now: Instant) -> Result<Self, SfuError> {
        if config.candidates.is_empty() {
            return Err(SfuError::Config("no candidate address".into()));
        }
        for c in &config.candidates {
            Candidate::host(*c, "udp")
                .map_err(|e| SfuError::Config(format!("candidate {c}: {e}")))?;
        }
        let dtls_cert = match &config.dtls_cert {
            Some(c) => c.clone(),
            None => str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate()
                .ok_or_else(|| SfuError::Config("cannot generate a DTLS certificate".into()))?,
        };
        Ok(Sfu {
            config,
            dtls_cert,
            rooms: FastMap::default(),
            participants: FastMap::default(),
            routes: FastMap::default(),
            transmits: VecDeque::new(),
            notices: VecDeque::new(),
            doomed: Vec::new(),
            dirty: Vec::new(),
            unsettled_since: None,
            next_id: 1,
            next_timeout: now + Duration::from_secs(1),
            next_keyframe_check: now + KEYFRAME_RETRY,
            last_timer_pass: now,
            scratch_due: Vec::new(),
            stats: SfuStats::default(),
        })
    }

    /// Add a participant to `room` (created on first join). If the same identity is
    /// already in that room, the older participant is removed with
    /// [`LeaveReason::Replaced`].
    ///
    /// The participant's subscriber connection is offered at once
    /// ([`Notice::SubscribeOffer`]), carrying the room's current tracks if it may
    /// subscribe.
    pub fn join(
        &mut self,
        now: Instant,
        room: &str,
        info: ParticipantInfo,
    ) -> Result<JoinOutcome, SfuError> {
        let room: Arc<str> = self
            .rooms
            .get_key_value(room)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| room.into());
        let previous = self.rooms.get(&room).and_then(|r| {
            r.members
                .iter()
                .copied()
                .find(|p| self.participants[p].info.identity == info.identity)
        });
        if let Some(old) = previous {
            self.notices.push_back((
                old,
                Notice::Removed {
                    reason: LeaveReason::Replaced,
                },
            ));
            self.remove(old, LeaveReason::Replaced);
            self.drive_pending(now);
        }

        let id = ParticipantId(self.next_id);
        self.next_id += 1;
        let participant = Participant {
            id,
            room: room.clone(),
            info,
            publisher: Peer::new(self.new_rtc(now, false), now),
            subscriber: Peer::new(self.new_rtc(now, false), now),
            tracks_in: Vec::new(),
            tracks_out: Default::default(),
            next_track: 0,
            pending_offer: None,
            queued: Vec::new(),
            offered: Vec::new(),
            publisher_offered: false,
            figures: Default::default(),
        };
        let summary = summarize(&participant);
        let members = &mut self.rooms.entry(room.clone()).or_default().members;
        let others_ids: Vec<ParticipantId> = members.clone();
        members.push(id);
        self.participants.insert(id, participant);

        let mut others = Vec::with_capacity(others_ids.len());
        for other in &others_ids {
            let o = &self.participants[other];
            others.push(summarize(o));
            self.notices
                .push_back((*other, Notice::ParticipantJoined(summary.clone())));
        }
        // Subscribe to what is already published.
        if self.participants[&id].grants().subscribe {
            let mut adds = Vec::new();
            for other in &others_ids {
                for t in &self.participants[other].tracks_in {
                    adds.push(SubChange::Add {
                        source: (*other, t.mid),
                        kind: t.kind,
                        track_id: t.track_id.clone(),
                        layer: t.layers.last().copied(),
                    });
                }
            }
            self.participants
                .get_mut(&id)
                .expect("just inserted")
                .queued = adds;
        }
        self.start_subscriber(now, id);
        self.update_room_stats();
        Ok(JoinOutcome {
            participant_id: id,
            others,
        })
    }

    /// Remove a participant: frees its peer connections and subscriptions and tells
    /// the room. Unknown ids are ignored (it may have been removed already).
    pub fn leave(&mut self, now: Instant, id: ParticipantId, reason: LeaveReason) {
        self.remove(id, reason);
        self.drive_pending(now);
    }

    /// Accept a publisher offer and return the SDP answer.
    pub fn handle_publish_offer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        sdp: &str,
    ) -> Result<String, SfuError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        if !p.grants().publish {
            return Err(SfuError::NotAllowed("this participant may not publish"));
        }
        let offer = str0m::change::SdpOffer::from_sdp_string(sdp)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        if !p.publisher_offered {
            // Nothing has used the publisher connection yet: shape it to the offer.
            p.publisher_offered = true;
            if negotiation::prefers_h264(sdp) {
                let rtc = self.new_rtc(now, true);
                if let Some(p) = self.participants.get_mut(&id) {
                    p.publisher = Peer::new(rtc, now);
                }
            }
        }
        let answer = self.with_rtc(id, PeerRole::Publisher, |rtc| {
            rtc.sdp_api().accept_offer(offer)
        });
        let answer = match answer {
            Some(Ok(a)) => {
                self.negotiated(now, id, PeerRole::Publisher);
                a
            }
            Some(Err(e)) => return Err(SfuError::BadSdp(e.to_string())),
            None => return Err(SfuError::UnknownParticipant(id)),
        };
        self.drive(now, id, PeerRole::Publisher);
        self.drive_pending(now);
        Ok(answer.to_sdp_string())
    }

    /// Accept the client's answer to the last subscriber offer; queued changes are
    /// offered next.
    pub fn handle_subscribe_answer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        sdp: &str,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        let answer = str0m::change::SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let pending = p.pending_offer.take().ok_or(SfuError::NoOfferPending)?;
        let result = self.with_rtc(id, PeerRole::Subscriber, |rtc| {
            rtc.sdp_api().accept_answer(pending, answer)
        });
        match result {
            Some(Ok(())) => {
                if let Some(p) = self.participants.get_mut(&id) {
                    p.offered.clear();
                }
            }
            Some(Err(e)) => {
                // The offer is spent; offer its additions again with what is queued.
                self.roll_back_offer(id);
                self.renegotiate(id);
                self.drive_pending(now);
                return Err(SfuError::BadSdp(e.to_string()));
            }
            None => return Err(SfuError::UnknownParticipant(id)),
        }
        self.request_keyframes_for(now, id);
        self.drive(now, id, PeerRole::Subscriber);
        self.renegotiate(id);
        self.drive_pending(now);
        Ok(())
    }

    /// A trickled ICE candidate of the client (`candidate:...` line, with or without
    /// the `a=` prefix). Empty means end of candidates and is ignored.
    pub fn handle_candidate(
        &mut self,
        id: ParticipantId,
        role: PeerRole,
        candidate: &str,
    ) -> Result<(), SfuError> {
        let line = candidate.trim().trim_start_matches("a=");
        if !self.participants.contains_key(&id) {
            return Err(SfuError::UnknownParticipant(id));
        }
        if line.is_empty() {
            return Ok(());
        }
        let c =
            Candidate::from_sdp_string(line).map_err(|e| SfuError::BadCandidate(e.to_string()))?;
        self.with_rtc(id, role, |rtc| rtc.add_remote_candidate(c));
        Ok(())
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next notice for a participant's client, if any.
    pub fn poll_notice(&mut self) -> Option<(ParticipantId, Notice)> {
        self.notices.pop_front()
    }

    /// When [`Sfu::handle_timeout`] must be called next (it may be called earlier): the
    /// earliest timer, but not sooner than [`SfuConfig::timer_granularity`] after the
    /// last timer pass. Input left unsettled ([`Sfu::settle`] not called) makes it due
    /// at once.
    pub fn poll_timeout(&self) -> Instant {
        let next = self
            .next_timeout
            .min(self.next_keyframe_check)
            .max(self.last_timer_pass + self.config.timer_granularity);
        self.unsettled_since.map_or(next, |t| next.min(t))
    }

    /// Counters since start.
    pub fn stats(&self) -> SfuStats {
        self.stats.clone()
    }

    /// The participants of a room, in join order.
    pub fn room_members(&self, room: &str) -> Vec<ParticipantId> {
        self.rooms
            .get(room)
            .map(|r| r.members.clone())
            .unwrap_or_default()
    }

    /// A peer connection of ours. str0m answers in its own codec order, and a browser
    /// sends with the answer's first codec, so a publisher that prefers H.264 gets an
    /// `Rtc` that lists H.264 first.
    fn new_rtc(&self, now: Instant, h264_first: bool) -> Rtc {
        let builder = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_dtls_cert(self.dtls_cert.clone())
            .set_stats_interval(Some(STATS_INTERVAL))
            .clear_codecs()
            .enable_opus(true, false);
        let builder = if h264_first {
            builder.enable_h264(true).enable_vp8(true)
        } else {
            builder.enable_vp8(true).enable_h264(true)
        };
        let mut rtc = builder.build(now);
        for c in &self.config.candidates {
            // Validated in `Sfu::new`.
            if let Ok(c) = Candidate::host(*c, "udp") {
                rtc.add_local_candidate(c);
            }
        }
        rtc
    }

    fn remove(&mut self, id: ParticipantId, reason: LeaveReason) {
        let Some(mut p) = self.participants.remove(&id) else {
            return;
        };
        self.routes.retain(|_, (pid, _)| *pid != id);
        // Its publications disappear from every subscriber.
        for t in std::mem::take(&mut p.tracks_in) {
            self.unsubscribe_all(id, &t.track_id, t.subscribers);
        }
        // Its subscriptions stop feeding from their sources.
        for out in p.tracks_out.iter() {
            if let Some(src) = self.participants.get_mut(&out.source.0) {
                if let Some(t) = src.track_in_mut(out.source.1) {
                    t.subscribers.retain(|s| *s != (id, out.mid));
                }
            }
        }
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.publisher.rtc.disconnect();
            p.subscriber.rtc.disconnect();
        }));
        if let Some(room) = self.rooms.get_mut(&p.room) {
            room.members.retain(|m| *m != id);
            for m in &room.members {
                self.notices.push_back((
                    *m,
                    Notice::ParticipantLeft {
                        participant_id: id,
                        reason,
                    },
                ));
            }
            if room.members.is_empty() {
                self.rooms.remove(&p.room);
            }
        }
        self.update_room_stats();
    }

    fn update_room_stats(&mut self) {
        self.stats.rooms = self.rooms.len();
        self.stats.participants = self.participants.len();
    }
}

fn summarize(p: &Participant) -> ParticipantSummary {
    ParticipantSummary {
        participant_id: p.id,
        identity: p.info.identity.clone(),
        name: p.info.name.clone(),
        tracks: p.tracks_in.iter().map(|t| t.summary()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ParticipantInfo {
        ParticipantInfo {
            identity: name.into(),
            name: name.into(),
            grants: Grants {
                publish: true,
                subscribe: true,
            },
        }
    }

    fn sfu(now: Instant) -> Sfu {
        Sfu::new(
            SfuConfig {
                candidates: vec!["198.18.0.1:3478".parse().unwrap()],
                dtls_cert: None,
                timer_granularity: TIMER_GRANULARITY,
            },
            now,
        )
        .unwrap()
    }

    #[test]
    fn a_panic_in_one_participants_webrtc_state_removes_only_that_participant() {
        let now = Instant::now();
        let mut sfu = sfu(now);
        let a = sfu.join(now, "r", info("a")).unwrap().participant_id;
        let b = sfu.join(now, "r", info("b")).unwrap().participant_id;
        while sfu.poll_notice().is_some() {}

        let r: Option<()> = sfu.with_rtc(a, PeerRole::Subscriber, |_| panic!("invariant broken"));
        assert!(r.is_none());
        sfu.settle(now);

        assert_eq!(sfu.room_members("r"), vec![b]);
        let notices: Vec<_> = std::iter::from_fn(|| sfu.poll_notice()).collect();
        assert!(
            notices.contains(&(
                a,
                Notice::Removed {
                    reason: LeaveReason::Failed
                }
            )),
            "{notices:?}"
        );
        assert!(notices.contains(&(
            b,
            Notice::ParticipantLeft {
                participant_id: a,
                reason: LeaveReason::Failed
            }
        )));
        assert_eq!(sfu.stats().participants_failed, 1);
        // The survivor's state still works.
        sfu.handle_timeout(now + Duration::from_secs(1));
        assert_eq!(sfu.stats().participants, 1);
    }

    #[test]
    fn the_same_identity_joining_again_replaces_the_first() {
        let now = Instant::now();
        let mut sfu = sfu(now);
        let first = sfu.join(now, "r", info("room-7")).unwrap().participant_id;
        let other = sfu.join(now, "r", info("room-8")).unwrap().participant_id;
        while sfu.poll_notice().is_some() {}
        let second = sfu.join(now, "r", info("room-7")).unwrap();
        assert_eq!(second.others.len(), 1, "the replaced one is not listed");
        assert_eq!(sfu.room_members("r"), vec![other, second.participant_id]);
        let notices: Vec<_> = std::iter::from_fn(|| sfu.poll_notice()).collect();
        assert!(notices.contains(&(
            first,
            Notice::Removed {
                reason: LeaveReason::Replaced
            }
        )));
        assert!(notices.contains(&(
            other,
            Notice::ParticipantLeft {
                participant_id: first,
                reason: LeaveReason::Replaced
            }
        )));
    }

    #[test]
    fn signaling_errors_are_precise() {
        let now = Instant::now();
        let mut sfu = sfu(now);
        let a = sfu.join(now, "r", info("a")).unwrap().participant_id;
        assert!(matches!(
            sfu.handle_publish_offer(now, a, "not sdp"),
            Err(SfuError::BadSdp(_))
        ));
        assert!(matches!(
            sfu.handle_publish_offer(now, ParticipantId(999), "v=0"),
            Err(SfuError::UnknownParticipant(_))
        ));
        assert!(matches!(
            sfu.handle_candidate(a, PeerRole::Publisher, "candidate:garbage"),
            Err(SfuError::BadCandidate(_))
        ));
        assert!(sfu.handle_candidate(a, PeerRole::Publisher, "").is_ok());
        // The first subscriber offer is outstanding; a second answer has none.
        while sfu.poll_notice().is_some() {}
        assert!(matches!(
            sfu.handle_subscribe_answer(now, a, "v=0\r\n"),
            Err(SfuError::BadSdp(_))
        ));
        assert!(Sfu::new(
            SfuConfig {
                candidates: vec![],
                dtls_cert: None,
                timer_granularity: TIMER_GRANULARITY,
            },
            now
        )
        .is_err());
    }
}
