//! Per-subscription RTP rewriting: which packets of a publication go to one subscriber
//! and with which sequence numbers and timestamps.
//!
//! A subscriber sees one continuous stream (one SSRC, owned by its own peer
//! connection) even when the source underneath changes: a simulcast layer switch or a
//! publisher that restarted its encoder. On every change of source the forwarder rebases
//! so that sequence numbers continue at the next number and timestamps move on by the
//! wall-clock time that passed. Video switches wait for a keyframe.

use std::time::Instant;

use str0m::rtp::Ssrc;

/// Why a packet is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Video waiting for a keyframe (new subscriber or layer switch).
    WaitingForKeyframe,
    /// A packet older than the current source's first forwarded packet.
    BeforeSwitch,
}

/// Output sequence number (extended, as str0m wants it) and RTP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended sequence number for the subscriber's stream.
    pub seq_no: u64,
    /// RTP timestamp for the subscriber's stream.
    pub timestamp: u32,
}

#[derive(Debug, Clone, Copy)]
struct Base {
    ssrc: Ssrc,
    first_in_seq: u64,
    /// Added (wrapping) to the input sequence number.
    seq_delta: u64,
    /// Added (wrapping) to the input timestamp.
    ts_delta: u32,
}

/// The rewriting state of one subscription.
#[derive(Debug)]
pub struct Forwarder {
    video: bool,
    clock_rate: u32,
    need_keyframe: bool,
    base: Option<Base>,
    last_out_seq: u64,
    last_out_ts: u32,
    last_out_at: Option<Instant>,
}

impl Forwarder {
    /// A forwarder for a track of the given kind. `clock_rate` is the RTP clock (48000
    /// for Opus, 90000 for video).
    pub fn new(video: bool, clock_rate: u32) -> Self {
        Forwarder {
            video,
            clock_rate,
            need_keyframe: video,
            base: None,
            last_out_seq: 0,
            last_out_ts: 0,
            last_out_at: None,
        }
    }

    /// Starts over for a new output stream (str0m made the subscriber's send stream
    /// anew, with a new SSRC): the next packet is numbered as a first one, and video
    /// waits for a keyframe again.
    pub fn restart(&mut self) {
        *self = Forwarder::new(self.video, self.clock_rate);
    }

    /// Whether this video subscription is waiting for a keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Decide for one incoming packet of the selected source.
    pub fn forward(
        &mut self,
        now: Instant,
        ssrc: Ssrc,
        seq_in: u64,
        ts_in: u32,
        starts_keyframe: bool,
    ) -> Result<Rewritten, Skip> {
        let switching = self.base.is_none_or(|b| b.ssrc != ssrc);
        if self.video && switching {
            self.need_keyframe = true;
        }
        if self.need_keyframe {
            if !starts_keyframe {
                return Err(Skip::WaitingForKeyframe);
            }
            self.need_keyframe = false;
        }
        if switching {
            self.rebase(now, ssrc, seq_in, ts_in);
        }
        // Infallible: rebase above guarantees a base.
        let base = self.base.expect("base set on first packet");
        if seq_in < base.first_in_seq {
            return Err(Skip::BeforeSwitch);
        }
        let out = Rewritten {
            seq_no: seq_in.wrapping_add(base.seq_delta),
            timestamp: ts_in.wrapping_add(base.ts_delta),
        };
        if out.seq_no > self.last_out_seq || self.last_out_at.is_none() {
            self.last_out_seq = out.seq_no;
            self.last_out_ts = out.timestamp;
            self.last_out_at = Some(now);
        }
        Ok(out)
    }

    fn rebase(&mut self, now: Instant, ssrc: Ssrc, seq_in: u64, ts_in: u32) {
        let (first_out_seq, first_out_ts) = match self.last_out_at {
            // First packet ever: keep the low 16 bits so the stream starts with a
            // rollover count of zero, as a receiver that was not told otherwise expects.
            None => (seq_in & 0xffff, ts_in),
            Some(at) => {
                let elapsed = now.saturating_duration_since(at);
                let ticks =
                    (elapsed.as_micros() as u64 * self.clock_rate as u64 / 1_000_000).max(1) as u32;
                (self.last_out_seq + 1, self.last_out_ts.wrapping_add(ticks))
            }
        };
        self.base = Some(Base {
            ssrc,
            first_in_seq: seq_in,
            seq_delta: first_out_seq.wrapping_sub(seq_in),
            ts_delta: first_out_ts.wrapping_sub(ts_in),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn video_waits_for_keyframe_then_forwards_in_order() {
        let t0 = Instant::now();
        let mut f = Forwarder::new(true, 90_000);
        let a = Ssrc::from(1);
        assert_eq!(
            f.forward(t0, a, 70_000, 5, false),
            Err(Skip::WaitingForKeyframe)
        );
        let k = f.forward(t0, a, 70_001, 3000, true).unwrap();
        assert_eq!(k.seq_no, 70_001 & 0xffff);
        assert_eq!(k.timestamp, 3000);
        let n = f.forward(t0, a, 70_002, 3000, false).unwrap();
        assert_eq!(n.seq_no, k.seq_no + 1);
        // A retransmission from before the keyframe is not forwarded.
        assert_eq!(f.forward(t0, a, 70_000, 5, false), Err(Skip::BeforeSwitch));
    }

    #[test]
    fn switching_source_continues_sequence_and_time() {
        let t0 = Instant::now();
        let mut f = Forwarder::new(true, 90_000);
        let (low, high) = (Ssrc::from(1), Ssrc::from(2));
        let first = f.forward(t0, low, 100, 1_000, true).unwrap();
        let last = f.forward(t0, low, 101, 1_000, false).unwrap();
        let t1 = t0 + Duration::from_millis(100);
        // The new layer's delta frames are held back until its keyframe.
        assert_eq!(
            f.forward(t1, high, 9_000, 77_777, false),
            Err(Skip::WaitingForKeyframe)
        );
        let k = f.forward(t1, high, 9_001, 80_000, true).unwrap();
        assert_eq!(k.seq_no, last.seq_no + 1);
        assert_eq!(k.timestamp, first.timestamp + 9_000);
        let n = f.forward(t1, high, 9_002, 83_000, false).unwrap();
        assert_eq!(n.seq_no, k.seq_no + 1);
        assert_eq!(n.timestamp, k.timestamp + 3_000);
    }

    #[test]
    fn audio_needs_no_keyframe_and_survives_timestamp_wrap() {
        let t0 = Instant::now();
        let mut f = Forwarder::new(false, 48_000);
        let a = Ssrc::from(7);
        let p = f.forward(t0, a, 5, u32::MAX - 100, false).unwrap();
        let q = f.forward(t0, a, 6, 860, false).unwrap();
        assert_eq!(q.seq_no, p.seq_no + 1);
        assert_eq!(q.timestamp, p.timestamp.wrapping_add(961));
    }
}
