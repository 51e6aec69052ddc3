//! Random and malformed datagrams on the media port are dropped and counted, and
//! forwarding goes on.

mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sim::Sim;
use str0m::media::MediaKind;

#[test]
fn garbage_is_counted_and_forwarding_continues() {
    let (mut sim, a, b) = Sim::publishing_pair(7);
    let before = sim.received(b, a, MediaKind::Audio).packets;
    let stats0 = sim.sfu.stats();

    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let stranger: SocketAddr = "198.18.9.9:9999".parse().unwrap();
    let known = sim.clients[a].pub_addr;
    for n in 0..2000 {
        let len = rng.random_range(0..1500);
        let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        match n % 4 {
            // Looks like RTP (version 2) from a stranger.
            0 if len > 12 => data[0] = 0x80,
            // Looks like STUN with a bogus body.
            1 if len > 20 => {
                data[0] = 0;
                data[1] = 1;
            }
            // Looks like DTLS.
            2 if len > 13 => data[0] = 22,
            _ => {}
        }
        // Half from an address the SFU knows: it must reject those too.
        let from = if n % 2 == 0 { stranger } else { known };
        sim.inject(from, &data);
        if n % 100 == 0 {
            sim.run_for(Duration::from_millis(20));
        }
    }
    sim.run_for(Duration::from_secs(1));
    let stats = sim.sfu.stats();
    let refused = (stats.datagrams_malformed - stats0.datagrams_malformed)
        + (stats.datagrams_unrouted - stats0.datagrams_unrouted)
        + (stats.datagrams_rejected - stats0.datagrams_rejected);
    assert!(
        refused >= 1000,
        "only {refused} of 2000 garbage datagrams were counted: {stats:?}"
    );
    assert!(stats.datagrams_malformed > stats0.datagrams_malformed);
    assert_eq!(stats.participants, 2, "{stats:?}");
    assert!(
        sim.received(b, a, MediaKind::Audio).packets > before + 50,
        "forwarding stopped"
    );
}
