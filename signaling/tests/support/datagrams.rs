//! Datagrams for the media port that no real peer would send.

use rand::rngs::StdRng;
use rand::Rng;

/// A datagram of random bytes, mostly dressed up to pass the demultiplexer's first
/// checks so that the parsers behind them see garbage too. `ufrag` is a real peer
/// connection's ICE username fragment.
pub fn garbage(rng: &mut StdRng, i: usize, ufrag: &str) -> Vec<u8> {
    let len = rng.random_range(0..1400);
    let mut d: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    let prefix: &[u8] = match i % 6 {
        // Anything, including empty.
        0 => &[],
        // RTP or RTCP, version 2.
        1 => &[0x80],
        // A STUN binding request whose length and cookie are random.
        2 => &[0x00, 0x01],
        // A well-framed STUN binding request with random attributes.
        3 => return stun(rng, &d[..len & !3], None),
        // An ICE check addressed to the peer, forged.
        4 => return stun(rng, &[], Some(ufrag)),
        // A DTLS 1.2 handshake record.
        _ => &[22, 0xfe, 0xfd],
    };
    let n = prefix.len().min(d.len());
    d[..n].copy_from_slice(&prefix[..n]);
    d
}

/// A STUN binding request with a correct header around `attrs`; with `ufrag`, also the
/// attributes of an ICE connectivity check for that peer, with a wrong MESSAGE-INTEGRITY
/// (the password is not known to a stranger).
fn stun(rng: &mut StdRng, attrs: &[u8], ufrag: Option<&str>) -> Vec<u8> {
    let mut body = attrs.to_vec();
    if let Some(ufrag) = ufrag {
        let mut attr = |typ: u16, value: &[u8]| {
            body.extend_from_slice(&typ.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        };
        let username = format!("{ufrag}:{:08x}", rng.random::<u32>());
        attr(0x0006, username.as_bytes()); // USERNAME
        attr(0x0024, &rng.random::<u32>().to_be_bytes()); // PRIORITY
        attr(0x0008, &rng.random::<[u8; 20]>()); // MESSAGE-INTEGRITY
    }
    let mut d = vec![0x00, 0x01];
    d.extend_from_slice(&(body.len() as u16).to_be_bytes());
    d.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]); // magic cookie
    d.extend_from_slice(&rng.random::<[u8; 12]>()); // transaction id
    d.extend_from_slice(&body);
    d
}
