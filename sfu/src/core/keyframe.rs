//! Recognising the first packet of a keyframe in VP8 and H.264 RTP payloads, without
//! decoding: a subscriber that starts or switches layers waits for one.

use str0m::format::Codec;

/// Whether `payload` is the first RTP packet of a keyframe (or of the parameter sets
/// that precede one) for `codec`. Unknown codecs and malformed payloads give `false`.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_starts_keyframe(payload),
        Codec::H264 => h264_starts_keyframe(payload),
        _ => false,
    }
}

/// RFC 7741: payload descriptor, then the VP8 payload header whose P bit is 0 on
/// keyframes. Only the packet that starts partition 0 carries that header.
fn vp8_starts_keyframe(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let extended = b0 & 0x80 != 0;
    let start = b0 & 0x10 != 0;
    let partition = b0 & 0x07;
    if !start || partition != 0 {
        return false;
    }
    let mut i = 1;
    if extended {
        let Some(&x) = p.get(i) else { return false };
        i += 1;
        if x & 0x80 != 0 {
            // Picture id: 7 or 15 bits.
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    matches!(p.get(i), Some(&h) if h & 0x01 == 0)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// RFC 6184: a single IDR or SPS unit, a STAP-A holding one, or the first fragment of
/// an FU-A carrying one.
fn h264_starts_keyframe(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let is_key = |t: u8| t == NAL_IDR || t == NAL_SPS;
    match b0 & 0x1f {
        NAL_STAP_A => {
            let mut i = 1;
            while i + 2 < p.len() {
                let size = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                if size == 0 {
                    return false;
                }
                if is_key(p[i + 2] & 0x1f) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        NAL_FU_A => matches!(p.get(1), Some(&h) if h & 0x80 != 0 && is_key(h & 0x1f)),
        t => is_key(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_with_and_without_extensions() {
        // S=1, PID=0, no extension, P=0.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00, 0x9d]));
        // Interframe: P=1.
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01]));
        // Not the start of a partition.
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00]));
        // X=1, I=1 with a 15-bit picture id, L=1, T=1: header at index 6.
        assert!(starts_keyframe(
            Codec::Vp8,
            &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x00]
        ));
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x01]
        ));
        // Truncated.
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0xe0, 0x81]));
        assert!(!starts_keyframe(Codec::Vp8, &[]));
    }

    #[test]
    fn h264_keyframe_forms() {
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        // STAP-A with SPS then PPS.
        assert!(starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]
        ));
        // STAP-A with a zero size is malformed.
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0x00, 0x00, 0x67]));
        // FU-A start of an IDR, and a middle fragment.
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x00]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x00]));
        assert!(!starts_keyframe(Codec::Opus, &[0x65]));
    }
}
