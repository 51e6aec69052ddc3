//! Synthetic media payloads: Opus-sized audio with DTX, and VP8 frames with real
//! structure (payload descriptor, keyframe header, frames split across packets) in
//! three simulcast layers. No encoder: the bytes between the codec headers and the
//! [`Probe`] are filler, which is all an SFU looks at.

use bytes::{Bytes, BytesMut};

use crate::probe::{self, Probe, NO_LAYER, TRACK_AUDIO, TRACK_VIDEO};

/// Audio packets per second (20 ms Opus frames).
pub const AUDIO_PACKETS_PER_SEC: u32 = 50;
/// A silent (DTX) Opus stream sends one packet every this many frames (400 ms).
pub const DTX_EVERY: u64 = 20;
/// Video frames per second.
pub const FPS: u32 = 30;
/// A keyframe at least this often, in frames (3 s), besides those asked for.
pub const KEYFRAME_EVERY: u64 = 90;
/// Largest RTP payload sent.
pub const MAX_PAYLOAD: usize = 1200;
/// RTP clock ticks per audio frame (48 kHz, 20 ms).
const AUDIO_TICKS: u32 = 960;
/// RTP clock ticks per video frame (90 kHz).
const VIDEO_TICKS: u32 = 90_000 / FPS;

/// One simulcast layer.
#[derive(Debug, Clone, Copy)]
pub struct Layer {
    /// Its `rid`.
    pub rid: &'static str,
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Frame size in the keyframe header.
    pub width: u16,
    /// Frame size in the keyframe header.
    pub height: u16,
}

/// The three layers of a 720p simulcast camera, lowest first (index = probe layer).
pub const LAYERS: [Layer; 3] = [
    Layer {
        rid: "q",
        bitrate_bps: 150_000,
        width: 320,
        height: 180,
    },
    Layer {
        rid: "h",
        bitrate_bps: 500_000,
        width: 640,
        height: 360,
    },
    Layer {
        rid: "f",
        bitrate_bps: 1_500_000,
        width: 1280,
        height: 720,
    },
];

/// One RTP packet's worth, before the RTP header is filled in.
#[derive(Debug, Clone)]
pub struct Payload {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Last packet of a video frame.
    pub marker: bool,
    /// The bytes, ending with the probe.
    pub bytes: Bytes,
}

/// An Opus stream: speech-sized packets every 20 ms while speaking, one small
/// packet every 400 ms while silent (DTX).
#[derive(Debug)]
pub struct AudioSource {
    publisher: u16,
    frame: u64,
    probe_seq: u32,
    rtp_seq: u16,
    timestamp: u32,
}

impl AudioSource {
    /// A stream of `publisher`'s.
    pub fn new(publisher: u16) -> Self {
        AudioSource {
            publisher,
            frame: 0,
            probe_seq: 0,
            rtp_seq: rand::random(),
            timestamp: rand::random(),
        }
    }

    /// The packet of the next 20 ms frame, if one is sent.
    pub fn next_frame(&mut self, speaking: bool) -> Option<Payload> {
        let frame = self.frame;
        self.frame += 1;
        self.timestamp = self.timestamp.wrapping_add(AUDIO_TICKS);
        if !speaking && frame % DTX_EVERY != 0 {
            return None;
        }
        // Opus at ~32 kbps is 60–120 bytes a frame; a DTX frame is 1–3 bytes.
        let codec_bytes = if speaking {
            rand::random_range(60..=120)
        } else {
            3
        };
        let mut b = BytesMut::zeroed(codec_bytes.max(1) + probe::LEN);
        // TOC: SILK wideband 20 ms, one frame.
        b[0] = 0x48;
        Probe {
            publisher: self.publisher,
            track: TRACK_AUDIO,
            layer: NO_LAYER,
            seq: self.probe_seq,
            sent_ns: probe::now_ns(),
        }
        .write_tail(&mut b);
        self.probe_seq += 1;
        let seq = self.rtp_seq;
        self.rtp_seq = self.rtp_seq.wrapping_add(1);
        Some(Payload {
            seq,
            timestamp: self.timestamp,
            marker: false,
            bytes: b.freeze(),
        })
    }
}

/// One simulcast layer's VP8 stream.
#[derive(Debug)]
pub struct VideoSource {
    publisher: u16,
    layer: u8,
    frame: u64,
    picture_id: u16,
    probe_seq: u32,
    rtp_seq: u16,
    timestamp: u32,
}

impl VideoSource {
    /// Layer `layer` (index into [`LAYERS`]) of `publisher`'s camera.
    pub fn new(publisher: u16, layer: u8) -> Self {
        VideoSource {
            publisher,
            layer,
            frame: 0,
            picture_id: rand::random::<u16>() & 0x7fff,
            probe_seq: 0,
            rtp_seq: rand::random(),
            timestamp: rand::random(),
        }
    }

    /// Whether the next frame is a keyframe by the schedule alone.
    pub fn keyframe_due(&self) -> bool {
        self.frame % KEYFRAME_EVERY == 0
    }

    /// The packets of the next frame, appended to `out`.
    pub fn next_frame(&mut self, keyframe: bool, out: &mut Vec<Payload>) {
        let layer = LAYERS[self.layer as usize];
        let keyframe = keyframe || self.keyframe_due();
        self.frame += 1;
        self.timestamp = self.timestamp.wrapping_add(VIDEO_TICKS);
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        let inter = (layer.bitrate_bps / 8 / FPS) as usize;
        // Keyframes are several times the size of the frames between them.
        let frame_bytes = if keyframe { inter * 4 } else { inter };
        let room = MAX_PAYLOAD - DESCRIPTOR_LEN - probe::LEN;
        let packets = frame_bytes.div_ceil(room).max(1);
        let per_packet = frame_bytes.div_ceil(packets).min(room);
        for i in 0..packets {
            let first = i == 0;
            let header = match (first, keyframe) {
                (true, true) => KEYFRAME_HEADER_LEN,
                (true, false) => FRAME_TAG_LEN,
                _ => 0,
            };
            let len = (DESCRIPTOR_LEN + per_packet.max(header) + probe::LEN).min(MAX_PAYLOAD);
            let mut b = BytesMut::zeroed(len);
            // RFC 7741 descriptor: X=1, S on the first packet, partition 0; I=1 with a
            // 15-bit picture id.
            b[0] = 0x80 | if first { 0x10 } else { 0 };
            b[1] = 0x80;
            b[2] = 0x80 | (self.picture_id >> 8) as u8;
            b[3] = self.picture_id as u8;
            if first {
                // Frame tag: P bit (0 = keyframe), version 0, show_frame, and the
                // first partition's size (any plausible value).
                let size: u32 = 64;
                let tag = (if keyframe { 0 } else { 1 }) | (1 << 4) | (size << 5);
                b[4] = tag as u8;
                b[5] = (tag >> 8) as u8;
                b[6] = (tag >> 16) as u8;
                if keyframe {
                    b[7..10].copy_from_slice(&[0x9d, 0x01, 0x2a]);
                    b[10..12].copy_from_slice(&layer.width.to_le_bytes());
                    b[12..14].copy_from_slice(&layer.height.to_le_bytes());
                }
            }
            Probe {
                publisher: self.publisher,
                track: TRACK_VIDEO,
                layer: self.layer,
                seq: self.probe_seq,
                sent_ns: probe::now_ns(),
            }
            .write_tail(&mut b);
            self.probe_seq += 1;
            out.push(Payload {
                seq: self.rtp_seq,
                timestamp: self.timestamp,
                marker: i + 1 == packets,
                bytes: b.freeze(),
            });
            self.rtp_seq = self.rtp_seq.wrapping_add(1);
        }
    }
}

const DESCRIPTOR_LEN: usize = 4;
const FRAME_TAG_LEN: usize = 3;
const KEYFRAME_HEADER_LEN: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    /// As the SFU decides it, plus the start code a decoder checks.
    fn vp8_starts_keyframe(p: &[u8]) -> bool {
        sfu::core::starts_keyframe(str0m::format::Codec::Vp8, p)
            && p.get(7..10) == Some(&[0x9d, 0x01, 0x2a][..])
    }

    #[test]
    fn audio_speaks_every_frame_and_is_sparse_when_silent() {
        let mut a = AudioSource::new(3);
        let speaking: Vec<_> = (0..50).filter_map(|_| a.next_frame(true)).collect();
        assert_eq!(speaking.len(), 50);
        assert!(speaking
            .iter()
            .all(|p| (60 + probe::LEN..=120 + probe::LEN).contains(&p.bytes.len())));
        let silent: Vec<_> = (0..100).filter_map(|_| a.next_frame(false)).collect();
        assert_eq!(silent.len(), 5, "one packet per 400 ms");
        // Sequence numbers stay contiguous across the switch; timestamps keep time.
        let all: Vec<_> = speaking.iter().chain(&silent).collect();
        for w in all.windows(2) {
            assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
            let probe = |p: &Payload| Probe::read_tail(&p.bytes).unwrap();
            assert_eq!(probe(w[1]).seq, probe(w[0]).seq + 1);
        }
        assert_eq!(
            silent[1].timestamp.wrapping_sub(silent[0].timestamp),
            AUDIO_TICKS * DTX_EVERY as u32
        );
    }

    #[test]
    fn video_frames_have_real_structure_and_rate() {
        for (idx, layer) in LAYERS.iter().enumerate() {
            let mut v = VideoSource::new(9, idx as u8);
            let mut second = Vec::new();
            for _ in 0..FPS {
                v.next_frame(false, &mut second);
            }
            // The first frame is a keyframe the SFU can recognise, with the size.
            assert!(vp8_starts_keyframe(&second[0].bytes));
            assert_eq!(
                u16::from_le_bytes([second[0].bytes[10], second[0].bytes[11]]),
                layer.width
            );
            let frame_starts = second.iter().filter(|p| p.bytes[0] & 0x10 != 0).count();
            assert_eq!(frame_starts, FPS as usize);
            assert_eq!(second.iter().filter(|p| p.marker).count(), FPS as usize);
            assert_eq!(
                second
                    .iter()
                    .filter(|p| vp8_starts_keyframe(&p.bytes))
                    .count(),
                1
            );
            assert!(second.iter().all(|p| p.bytes.len() <= MAX_PAYLOAD));
            // Within a third of the target bitrate over the first second (one keyframe).
            let bits: usize = second.iter().map(|p| p.bytes.len() * 8).sum();
            let target = layer.bitrate_bps as usize;
            assert!(
                bits > target * 2 / 3 && bits < target * 3 / 2,
                "{}: {bits} bits for {target}",
                layer.rid
            );
            // Every packet's probe names the layer, in sequence.
            for (i, p) in second.iter().enumerate() {
                let probe = Probe::read_tail(&p.bytes).unwrap();
                assert_eq!((probe.publisher, probe.layer, probe.seq), (9, idx as u8, i as u32));
            }
        }
        // A keyframe on request.
        let mut v = VideoSource::new(1, 2);
        let mut out = Vec::new();
        v.next_frame(false, &mut out);
        out.clear();
        v.next_frame(false, &mut out);
        assert!(!vp8_starts_keyframe(&out[0].bytes));
        out.clear();
        v.next_frame(true, &mut out);
        assert!(vp8_starts_keyframe(&out[0].bytes));
        assert!(out.len() > 1, "a 720p keyframe spans packets");
    }
}
