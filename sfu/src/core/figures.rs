//! Per-participant figures for operators: what str0m's periodic statistics events
//! (`PeerStats`, `MediaIngressStats`, `MediaEgressStats`, once per
//! [`STATS_INTERVAL`]) say about a participant's two peer connections, and the audio
//! level of what it publishes, read from the packets it sends.
//!
//! The events are folded into a few numbers per connection and per stream as they
//! come; [`crate::Sfu::participant_stats`] sums them into [`ParticipantStats`]. On the
//! media path only [`Figures::hear`] runs: one comparison and one store per audio
//! packet.

use std::time::{Duration, Instant};

use str0m::media::{Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};
use str0m::{Event, IceConnectionState, RtcError};

use super::ids::{ParticipantId, PeerRole, TrackKind};
use super::Sfu;

/// How often str0m reports statistics for each peer connection.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Quietest level the audio-level header extension can say (-127 dBov).
const SILENCE_DBOV: i8 = -127;

/// A snapshot of one participant's figures, from the SFU's side.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantStats {
    /// The participant.
    pub participant_id: ParticipantId,
    /// Its room.
    pub room: String,
    /// Its stable identity (a room terminal's id).
    pub identity: String,
    /// One of its peer connections has come up (ICE and DTLS) since it joined.
    pub connected: bool,
    /// Bytes received from it on both connections (media, RTCP, STUN, DTLS).
    pub bytes_in: u64,
    /// Bytes sent to it on both connections.
    pub bytes_out: u64,
    /// RTP packets received from it (its published streams, retransmissions included).
    pub packets_in: u64,
    /// RTP packets sent to it (the others' media).
    pub packets_out: u64,
    /// Fraction (0..1) of its packets lost on the way to us, over the last interval.
    pub loss_in: Option<f32>,
    /// Fraction (0..1) of our packets lost on the way to it, from its receiver reports.
    pub loss_out: Option<f32>,
    /// Interarrival jitter of what it sends, in milliseconds (largest of its streams).
    pub jitter_ms: Option<f64>,
    /// Round-trip time to it, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// NACKs: sent to it for its streams plus received from it for ours.
    pub nacks: u64,
    /// PLIs: sent to it plus received from it.
    pub plis: u64,
    /// FIRs: sent to it plus received from it.
    pub firs: u64,
    /// The simulcast layer (rid) of the first video it receives, when it receives
    /// simulcast video.
    pub layer: Option<String>,
    /// Loudest audio level it published over the last interval, 0..1 (linear, as the
    /// browsers' `audioLevel`: 10^(dBov/20)); `None` when it sent no audio then.
    pub audio_level: Option<f32>,
    /// It publishes an audio track.
    pub publishes_audio: bool,
}

impl ParticipantStats {
    /// A participant with no figure yet.
    pub fn empty(participant_id: ParticipantId) -> ParticipantStats {
        ParticipantStats {
            participant_id,
            room: String::new(),
            identity: String::new(),
            connected: false,
            bytes_in: 0,
            bytes_out: 0,
            packets_in: 0,
            packets_out: 0,
            loss_in: None,
            loss_out: None,
            jitter_ms: None,
            rtt_ms: None,
            nacks: 0,
            plis: 0,
            firs: 0,
            layer: None,
            audio_level: None,
            publishes_audio: false,
        }
    }
}

/// Cumulative counters of one RTP stream (one mid and rid), as last reported.
#[derive(Debug, Clone, Copy, Default)]
struct StreamCounts {
    mid: Option<Mid>,
    rid: Option<Rid>,
    packets: u64,
    nacks: u64,
    plis: u64,
    firs: u64,
    /// Ingress only: interarrival jitter in milliseconds.
    jitter_ms: Option<f64>,
}

impl StreamCounts {
    fn is(&self, mid: Mid, rid: Option<Rid>) -> bool {
        self.mid == Some(mid) && self.rid == rid
    }
}

/// One peer connection's totals, as last reported.
#[derive(Debug, Clone, Copy, Default)]
struct PeerCounts {
    bytes_rx: u64,
    bytes_tx: u64,
    ingress_loss: Option<f32>,
    egress_loss: Option<f32>,
    rtt_ms: Option<f64>,
}

/// What the core keeps per participant to make [`ParticipantStats`].
#[derive(Debug, Default)]
pub(crate) struct Figures {
    publisher: PeerCounts,
    subscriber: PeerCounts,
    /// Streams it publishes (received on its publisher connection).
    ingress: Vec<StreamCounts>,
    /// Streams it receives (sent on its subscriber connection).
    egress: Vec<StreamCounts>,
    /// Loss reported for egress streams in the last interval, largest.
    egress_loss: Option<f32>,
    /// Round-trip time from its receiver reports, latest.
    egress_rtt_ms: Option<f64>,
    /// Loudest audio level heard since the last publisher statistics event.
    window_peak: Option<i8>,
    /// Loudest audio level of the last complete interval.
    shown_peak: Option<i8>,
}

impl Figures {
    /// An audio packet it published carried this level (dBov, -127..=0). Runs per
    /// packet: keeps only the loudest.
    #[inline]
    pub fn hear(&mut self, level: i8) {
        let level = level.max(SILENCE_DBOV);
        if self.window_peak.is_none_or(|p| level > p) {
            self.window_peak = Some(level);
        }
    }

    pub fn on_peer(&mut self, role: PeerRole, s: &PeerStats) {
        let rtt_ms = s
            .rtt
            .or_else(|| {
                s.selected_candidate_pair
                    .as_ref()
                    .and_then(|p| p.current_round_trip_time)
            })
            .map(ms);
        let peer = match role {
            PeerRole::Publisher => {
                // One interval of audio is over: show its peak.
                self.shown_peak = self.window_peak.take();
                &mut self.publisher
            }
            PeerRole::Subscriber => {
                // str0m reports the peer before its streams: the loss of egress
                // streams starts again for this interval.
                self.egress_loss = None;
                &mut self.subscriber
            }
        };
        peer.bytes_rx = s.peer_bytes_rx;
        peer.bytes_tx = s.peer_bytes_tx;
        peer.ingress_loss = s.ingress_loss_fraction;
        peer.egress_loss = s.egress_loss_fraction;
        if rtt_ms.is_some() {
            peer.rtt_ms = rtt_ms;
        }
    }

    /// A stream it publishes; `kind` gives the RTP clock rate of its jitter.
    pub fn on_ingress(&mut self, s: &MediaIngressStats, kind: Option<TrackKind>) {
        let clock_hz = match kind {
            Some(TrackKind::Audio) => 48_000.0,
            Some(TrackKind::Video) => 90_000.0,
            None => 0.0,
        };
        let entry = stream(&mut self.ingress, s.mid, s.rid);
        entry.packets = s.packets;
        entry.nacks = s.nacks;
        entry.plis = s.plis;
        entry.firs = s.firs;
        entry.jitter_ms = (clock_hz > 0.0).then(|| f64::from(s.jitter) * 1000.0 / clock_hz);
    }

    /// A stream it receives.
    pub fn on_egress(&mut self, s: &MediaEgressStats) {
        let entry = stream(&mut self.egress, s.mid, s.rid);
        entry.packets = s.packets;
        entry.nacks = s.nacks;
        entry.plis = s.plis;
        entry.firs = s.firs;
        if let Some(loss) = s.loss {
            self.egress_loss = Some(self.egress_loss.map_or(loss, |l| l.max(loss)));
        }
        if let Some(rtt) = s.rtt {
            self.egress_rtt_ms = Some(ms(rtt));
        }
    }

    fn egress_loss(&self) -> Option<f32> {
        self.subscriber.egress_loss.or(self.egress_loss)
    }

    /// The figures as a snapshot; `base` brings who it is, and its counters and
    /// figures are overwritten.
    pub fn snapshot(&self, base: ParticipantStats) -> ParticipantStats {
        let sum = |v: &[StreamCounts], f: fn(&StreamCounts) -> u64| v.iter().map(f).sum::<u64>();
        let both = |f: fn(&StreamCounts) -> u64| sum(&self.ingress, f) + sum(&self.egress, f);
        ParticipantStats {
            bytes_in: self.publisher.bytes_rx + self.subscriber.bytes_rx,
            bytes_out: self.publisher.bytes_tx + self.subscriber.bytes_tx,
            packets_in: sum(&self.ingress, |s| s.packets),
            packets_out: sum(&self.egress, |s| s.packets),
            loss_in: self.publisher.ingress_loss,
            loss_out: self.egress_loss(),
            jitter_ms: self
                .ingress
                .iter()
                .filter_map(|s| s.jitter_ms)
                .reduce(f64::max),
            rtt_ms: self
                .egress_rtt_ms
                .or(self.subscriber.rtt_ms)
                .or(self.publisher.rtt_ms),
            nacks: both(|s| s.nacks),
            plis: both(|s| s.plis),
            firs: both(|s| s.firs),
            audio_level: self.shown_peak.map(linear),
            ..base
        }
    }
}

fn stream(list: &mut Vec<StreamCounts>, mid: Mid, rid: Option<Rid>) -> &mut StreamCounts {
    match list.iter().position(|s| s.is(mid, rid)) {
        Some(i) => &mut list[i],
        None => {
            list.push(StreamCounts {
                mid: Some(mid),
                rid,
                ..StreamCounts::default()
            });
            list.last_mut().expect("just pushed")
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// dBov (-127..=0) → linear amplitude 0..1, as browsers report `audioLevel`.
fn linear(dbov: i8) -> f32 {
    if dbov <= SILENCE_DBOV {
        0.0
    } else {
        10f32.powf(f32::from(dbov) / 20.0)
    }
}

/// How long a negotiated peer connection may take to come up before it counts as a
/// failure to connect (ICE, or DTLS when ICE did connect).
pub(crate) const CONNECT_GRACE: Duration = Duration::from_secs(10);

/// Whether a peer connection negotiated at `since` and still not up at `now` has
/// failed to connect.
pub(crate) fn overdue(since: Instant, now: Instant) -> bool {
    now.saturating_duration_since(since) >= CONNECT_GRACE
}

impl Sfu {
    /// A snapshot of every participant's figures, in no particular order.
    pub fn participant_stats(&self) -> Vec<ParticipantStats> {
        self.participants
            .values()
            .map(|p| {
                p.figures.snapshot(ParticipantStats {
                    room: p.room.to_string(),
                    identity: p.info.identity.clone(),
                    connected: p.subscriber.connected || p.publisher.connected,
                    layer: p
                        .tracks_out
                        .iter()
                        .find_map(|t| t.layer.map(|r| r.to_string())),
                    publishes_audio: p.tracks_in.iter().any(|t| t.kind == TrackKind::Audio),
                    ..ParticipantStats::empty(p.id)
                })
            })
            .collect()
    }

    /// A statistics event of one peer connection. Returns the event back when it is
    /// not one.
    pub(crate) fn on_stats_event(
        &mut self,
        id: ParticipantId,
        role: PeerRole,
        event: Event,
    ) -> Option<Event> {
        // Media and every other event pass straight through: no lookup on the hot path.
        if !matches!(
            event,
            Event::PeerStats(_) | Event::MediaIngressStats(_) | Event::MediaEgressStats(_)
        ) {
            return Some(event);
        }
        let p = self.participants.get_mut(&id)?;
        match event {
            Event::PeerStats(s) => p.figures.on_peer(role, &s),
            Event::MediaIngressStats(s) if role == PeerRole::Publisher => {
                let kind = p.tracks_in.iter().find(|t| t.mid == s.mid).map(|t| t.kind);
                p.figures.on_ingress(&s, kind);
            }
            Event::MediaEgressStats(s) if role == PeerRole::Subscriber => p.figures.on_egress(&s),
            // Statistics of the other direction carry nothing we keep.
            _ => {}
        }
        None
    }

    /// A peer connection was negotiated now: the time to come up starts.
    pub(crate) fn negotiated(&mut self, now: Instant, id: ParticipantId, role: PeerRole) {
        if let Some(p) = self.participants.get_mut(&id) {
            p.peer_mut(role).negotiated_at.get_or_insert(now);
        }
    }

    /// A peer connection's ICE state changed: count a disconnection after having
    /// connected.
    pub(crate) fn on_ice_state(
        &mut self,
        id: ParticipantId,
        role: PeerRole,
        state: IceConnectionState,
    ) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let peer = p.peer_mut(role);
        match state {
            IceConnectionState::Connected | IceConnectionState::Completed => peer.ice_up = true,
            IceConnectionState::Disconnected if peer.ice_up => {
                self.stats.ice_failures_after_connect += 1;
            }
            _ => {}
        }
    }

    /// A peer connection's WebRTC state reported an error; DTLS ones are counted.
    pub(crate) fn on_rtc_error(&mut self, id: ParticipantId, role: PeerRole, e: &RtcError) {
        if !matches!(e, RtcError::Dtls(_)) {
            return;
        }
        if let Some(p) = self.participants.get_mut(&id) {
            let peer = p.peer_mut(role);
            if !peer.failure_counted {
                peer.failure_counted = true;
                self.stats.dtls_failures += 1;
            }
        }
    }

    /// Count the peer connections negotiated more than [`CONNECT_GRACE`] ago that are
    /// not up: ICE failures when ICE never connected, else DTLS failures. Each
    /// connection is counted once.
    pub(crate) fn count_connect_failures(&mut self, now: Instant) {
        for p in self.participants.values_mut() {
            for peer in [&mut p.publisher, &mut p.subscriber] {
                let due = peer.negotiated_at.is_some_and(|t| overdue(t, now));
                if due && !peer.connected && !peer.failure_counted {
                    peer.failure_counted = true;
                    if peer.ice_up {
                        self.stats.dtls_failures += 1;
                    } else {
                        self.stats.ice_failures_before_connect += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_level_is_the_loudest_of_the_last_interval_in_linear_scale() {
        let mut f = Figures::default();
        assert_eq!(
            f.snapshot(ParticipantStats::empty(ParticipantId(1)))
                .audio_level,
            None
        );
        f.hear(-60);
        f.hear(-20);
        f.hear(-127);
        // Not shown until the interval closes.
        assert_eq!(
            f.snapshot(ParticipantStats::empty(ParticipantId(1)))
                .audio_level,
            None
        );
        f.shown_peak = f.window_peak.take();
        let level = f
            .snapshot(ParticipantStats::empty(ParticipantId(1)))
            .audio_level
            .unwrap();
        assert!((level - 0.1).abs() < 1e-4, "{level}");
        f.shown_peak = f.window_peak.take();
        assert_eq!(
            f.snapshot(ParticipantStats::empty(ParticipantId(1)))
                .audio_level,
            None,
            "no audio in the next interval"
        );
        assert_eq!(linear(-127), 0.0);
        assert_eq!(linear(0), 1.0);
    }
}
