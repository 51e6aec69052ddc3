//! What the receivers measure. Each remote track is read by its own task that keeps
//! its figures to itself ([`TrackStats`]) and adds them to the run's [`Collector`]
//! once, when it ends; only the counters the progress line shows are shared atomics.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use hdrhistogram::Histogram;

use crate::probe::{Probe, TRACK_VIDEO};

/// A gap longer than this in a video track that had started is a freeze.
pub const FREEZE_NS: u64 = 500_000_000;

/// (receiver, publisher, track): one subscription as the scenario expects it.
pub type Pair = (u16, u16, u8);

/// The run's totals.
pub struct Collector {
    /// RTP packets handed to the publisher connections.
    pub packets_sent: AtomicU64,
    /// Their payload bytes.
    pub bytes_sent: AtomicU64,
    /// Probed packets received by subscribers.
    pub packets_received: AtomicU64,
    /// Their payload bytes.
    pub bytes_received: AtomicU64,
    /// Packets each received stream should have brought, from its first sequence
    /// number to its highest: received + lost.
    pub packets_expected: AtomicU64,
    /// From this time ([`probe::now_ns`]) on, every terminal has joined or given up:
    /// packets received later count in the steady-state latency. `u64::MAX` until then.
    pub steady_from_ns: AtomicU64,
    merged: Mutex<Merged>,
}

struct Merged {
    latency_us: Histogram<u64>,
    latency_all_us: Histogram<u64>,
    delivered: HashSet<Pair>,
    jitter_sum_ns: f64,
    jitter_streams: u64,
    freezes: u64,
    reordered: u64,
}

/// The receive-side figures at the end of a run.
#[derive(Debug, Clone)]
pub struct ReceiveSummary {
    /// Subscriptions that brought at least one packet.
    pub delivered: HashSet<Pair>,
    /// One-way latency of the packets received in the steady state, microseconds.
    pub latency_us: Histogram<u64>,
    /// One-way latency of every packet, the joins' time included, microseconds.
    pub latency_all_us: Histogram<u64>,
    /// Mean over streams of the RFC 3550 interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Video gaps over [`FREEZE_NS`].
    pub freezes: u64,
    /// Packets that arrived after a higher sequence number of their stream.
    pub reordered: u64,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            packets_received: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            packets_expected: AtomicU64::new(0),
            steady_from_ns: AtomicU64::new(u64::MAX),
            merged: Mutex::new(Merged {
                latency_us: new_histogram(),
                latency_all_us: new_histogram(),
                delivered: HashSet::new(),
                jitter_sum_ns: 0.0,
                jitter_streams: 0,
                freezes: 0,
                reordered: 0,
            }),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 100 s, 2 significant digits (1 % resolution). Every received track has
    // one: with 3 digits each took ~160 KiB, 1 GiB for a 78-room discussion's ~6,300
    // tracks, and every packet's record touched a cold line of it.
    // The bounds are constant and valid, so this cannot fail.
    Histogram::new_with_bounds(1, 100_000_000, 2).expect("valid histogram bounds")
}

impl Collector {
    /// Counts a packet sent.
    pub fn sent(&self, bytes: usize) {
        self.packets_sent.fetch_add(1, Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
    }

    /// Packets lost so far (expected minus received).
    pub fn lost(&self) -> u64 {
        self.packets_expected
            .load(Relaxed)
            .saturating_sub(self.packets_received.load(Relaxed))
    }

    /// Adds a finished track's figures.
    pub fn merge(&self, t: TrackStats) {
        // A poisoned lock means another track task panicked; its figures are lost
        // but these are still good.
        let mut m = self.merged.lock().unwrap_or_else(|p| p.into_inner());
        // Both histograms have the same bounds, so adding cannot fail.
        m.latency_us
            .add(&t.latency_us)
            .expect("same histogram bounds");
        m.latency_all_us
            .add(&t.latency_all_us)
            .expect("same histogram bounds");
        m.delivered.extend(t.delivered);
        for s in &t.streams {
            m.jitter_sum_ns += s.jitter_ns;
            m.jitter_streams += 1;
            m.reordered += s.reordered;
        }
        m.freezes += t.freezes;
    }

    /// The receive-side figures merged so far.
    pub fn summary(&self) -> ReceiveSummary {
        let m = self.merged.lock().unwrap_or_else(|p| p.into_inner());
        ReceiveSummary {
            delivered: m.delivered.clone(),
            latency_us: m.latency_us.clone(),
            latency_all_us: m.latency_all_us.clone(),
            jitter_ms: if m.jitter_streams == 0 {
                0.0
            } else {
                m.jitter_sum_ns / m.jitter_streams as f64 / 1e6
            },
            freezes: m.freezes,
            reordered: m.reordered,
        }
    }
}

/// One received stream: a (publisher, track, layer) as the probe names it.
#[derive(Debug)]
struct StreamStats {
    publisher: u16,
    track: u8,
    layer: u8,
    highest: u32,
    reordered: u64,
    last_transit_ns: i64,
    jitter_ns: f64,
}

/// What one receiving task measured on one remote track.
#[derive(Debug)]
pub struct TrackStats {
    receiver: u16,
    streams: Vec<StreamStats>,
    latency_us: Histogram<u64>,
    latency_all_us: Histogram<u64>,
    delivered: HashSet<Pair>,
    last_video_ns: Option<u64>,
    freezes: u64,
}

impl TrackStats {
    /// For the receiving terminal `receiver`.
    pub fn new(receiver: u16) -> Self {
        TrackStats {
            receiver,
            streams: Vec::with_capacity(1),
            latency_us: new_histogram(),
            latency_all_us: new_histogram(),
            delivered: HashSet::new(),
            last_video_ns: None,
            freezes: 0,
        }
    }

    /// Counts a packet that arrived at `now_ns` with `bytes` of payload.
    pub fn on_packet(&mut self, c: &Collector, p: &Probe, bytes: usize, now_ns: u64) {
        c.packets_received.fetch_add(1, Relaxed);
        c.bytes_received.fetch_add(bytes as u64, Relaxed);
        let transit = now_ns as i64 - p.sent_ns as i64;
        let us = (transit.max(0) as u64 / 1000).max(1);
        self.latency_all_us.saturating_record(us);
        if now_ns >= c.steady_from_ns.load(Relaxed) {
            self.latency_us.saturating_record(us);
        }
        if p.track == TRACK_VIDEO {
            if let Some(last) = self.last_video_ns {
                if now_ns.saturating_sub(last) > FREEZE_NS {
                    self.freezes += 1;
                }
            }
            self.last_video_ns = Some(now_ns);
        }
        let found = self
            .streams
            .iter_mut()
            .find(|s| (s.publisher, s.track, s.layer) == (p.publisher, p.track, p.layer));
        match found {
            Some(s) => {
                if p.seq > s.highest {
                    c.packets_expected
                        .fetch_add(u64::from(p.seq - s.highest), Relaxed);
                    s.highest = p.seq;
                } else {
                    s.reordered += 1;
                }
                let d = (transit - s.last_transit_ns).unsigned_abs() as f64;
                s.jitter_ns += (d - s.jitter_ns) / 16.0;
                s.last_transit_ns = transit;
            }
            None => {
                c.packets_expected.fetch_add(1, Relaxed);
                self.delivered.insert((self.receiver, p.publisher, p.track));
                self.streams.push(StreamStats {
                    publisher: p.publisher,
                    track: p.track,
                    layer: p.layer,
                    highest: p.seq,
                    reordered: 0,
                    last_transit_ns: transit,
                    jitter_ns: 0.0,
                });
            }
        }
    }

    /// Closes the books at `end_ns`: a video track silent since more than
    /// [`FREEZE_NS`] is frozen at the end.
    pub fn finish(&mut self, end_ns: u64) {
        if let Some(last) = self.last_video_ns {
            if end_ns.saturating_sub(last) > FREEZE_NS {
                self.freezes += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{NO_LAYER, TRACK_AUDIO};

    fn probe(publisher: u16, track: u8, layer: u8, seq: u32, sent_ns: u64) -> Probe {
        Probe {
            publisher,
            track,
            layer,
            seq,
            sent_ns,
        }
    }

    #[test]
    fn loss_reordering_latency_and_freezes() {
        let c = Collector::default();
        let mut t = TrackStats::new(5);
        let ms = 1_000_000;
        // Steady from 50 ms on: the first two packets count only in the whole run.
        c.steady_from_ns.store(50 * ms, Relaxed);
        // Video from publisher 1, layer 2: seqs 10, 11, 13, 12 (late), gap, 20.
        for (seq, at) in [(10, 0), (11, 33), (13, 66), (12, 70), (20, 700)] {
            t.on_packet(
                &c,
                &probe(1, TRACK_VIDEO, 2, seq, at * ms),
                1000,
                at * ms + 2 * ms,
            );
        }
        // Audio from publisher 2.
        t.on_packet(&c, &probe(2, TRACK_AUDIO, NO_LAYER, 0, 0), 80, 3 * ms);
        t.finish(800 * ms);
        c.merge(t);
        assert_eq!(c.packets_received.load(Relaxed), 6);
        // 10..=20 is 11 packets, 5 came: 6 lost; audio 1 of 1.
        assert_eq!(c.packets_expected.load(Relaxed), 12);
        assert_eq!(c.lost(), 6);
        let s = c.summary();
        assert_eq!(s.reordered, 1);
        assert_eq!(s.freezes, 1, "the 634 ms gap, not the end");
        assert_eq!(
            s.delivered,
            HashSet::from([(5, 1, TRACK_VIDEO), (5, 2, TRACK_AUDIO)])
        );
        assert_eq!(s.latency_all_us.len(), 6);
        assert_eq!(s.latency_us.len(), 3, "received at 68, 72 and 702 ms");
        assert!(s.latency_all_us.value_at_quantile(0.5) >= 1990);
        assert!(s.latency_all_us.max() <= 3010);
        assert!(s.latency_us.min() >= 1990);
        assert!(s.jitter_ms < 1.0);
    }

    #[test]
    fn a_video_that_stops_is_a_freeze() {
        let c = Collector::default();
        let mut t = TrackStats::new(0);
        t.on_packet(&c, &probe(1, TRACK_VIDEO, 2, 0, 0), 100, 1_000);
        t.finish(2_000_000_000);
        c.merge(t);
        assert_eq!(c.summary().freezes, 1);
    }
}
