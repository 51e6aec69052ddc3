//! The probe every synthetic packet ends with: who sent it, on which track and layer,
//! its sequence number and when it was sent, on one clock shared by the whole
//! process, so a receiver measures exact one-way latency, loss and reordering.
//!
//! It sits at the **end** of the RTP payload, after the codec's own headers and
//! filler, so it is found the same way in every codec and survives an SFU rewriting
//! the VP8 payload descriptor in place.

use std::sync::OnceLock;
use std::time::Instant;

/// Bytes the probe takes.
pub const LEN: usize = 20;
const MAGIC: [u8; 2] = *b"Lt";

/// Layer value of tracks without simulcast (audio).
pub const NO_LAYER: u8 = 0xff;

/// What a packet says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Index of the sending terminal.
    pub publisher: u16,
    /// Which of its tracks: [`TRACK_AUDIO`] or [`TRACK_VIDEO`].
    pub track: u8,
    /// Simulcast layer (0 lowest), or [`NO_LAYER`].
    pub layer: u8,
    /// Per (publisher, track, layer) packet counter, from 0.
    pub seq: u32,
    /// [`now_ns`] when the packet was handed to the peer connection.
    pub sent_ns: u64,
}

/// The audio track.
pub const TRACK_AUDIO: u8 = 0;
/// The video track.
pub const TRACK_VIDEO: u8 = 1;

impl Probe {
    /// Writes the probe into the last [`LEN`] bytes of `payload`.
    pub fn write_tail(&self, payload: &mut [u8]) {
        let start = payload.len() - LEN;
        let b = &mut payload[start..];
        b[0..2].copy_from_slice(&MAGIC);
        b[2..4].copy_from_slice(&self.publisher.to_be_bytes());
        b[4] = self.track;
        b[5] = self.layer;
        b[6..10].copy_from_slice(&self.seq.to_be_bytes());
        b[10..18].copy_from_slice(&self.sent_ns.to_be_bytes());
        b[18..20].copy_from_slice(&MAGIC);
    }

    /// Reads the probe from the end of `payload`, if it carries one.
    pub fn read_tail(payload: &[u8]) -> Option<Probe> {
        let b = payload.get(payload.len().checked_sub(LEN)?..)?;
        if b[0..2] != MAGIC || b[18..20] != MAGIC {
            return None;
        }
        Some(Probe {
            publisher: u16::from_be_bytes([b[2], b[3]]),
            track: b[4],
            layer: b[5],
            seq: u32::from_be_bytes([b[6], b[7], b[8], b[9]]),
            sent_ns: u64::from_be_bytes([b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17]]),
        })
    }
}

/// Nanoseconds since the process first asked: the one clock senders and receivers share.
pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_tail() {
        let p = Probe {
            publisher: 77,
            track: TRACK_VIDEO,
            layer: 2,
            seq: 0x0102_0304,
            sent_ns: 0x1122_3344_5566_7788,
        };
        let mut payload = vec![0xaa; 50];
        p.write_tail(&mut payload);
        assert_eq!(Probe::read_tail(&payload), Some(p));
        assert!(payload[..30].iter().all(|&b| b == 0xaa));
        // Too short, or not ours.
        assert_eq!(Probe::read_tail(&payload[..LEN - 1]), None);
        assert_eq!(Probe::read_tail(&[0u8; 40]), None);
        let mut torn = payload.clone();
        torn[49] ^= 1;
        assert_eq!(Probe::read_tail(&torn), None);
    }

    #[test]
    fn clock_moves_forward() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
    }
}
