//! The figures operators see per participant ([`sfu::Sfu::participant_stats`]), from
//! str0m's statistics events: what a publisher sends, what a subscriber receives, and
//! the loss on the way to it from its receiver reports.

mod sim;

use std::time::Duration;

use sim::Sim;

#[test]
fn figures_count_both_directions_and_see_loss_towards_a_subscriber() {
    let (mut sim, a, b) = Sim::publishing_pair(7);
    sim.run_for(Duration::from_secs(3));
    let figures = |sim: &Sim, i: usize| {
        let id = sim.clients[i].id;
        sim.sfu
            .participant_stats()
            .into_iter()
            .find(|p| p.participant_id == id)
            .unwrap_or_else(|| panic!("no figures for client {i}"))
    };
    let pa = figures(&sim, a);
    assert_eq!((pa.room.as_str(), pa.identity.as_str()), ("room", "a"));
    assert!(pa.connected, "{pa:?}");
    assert!(pa.publishes_audio, "{pa:?}");
    assert!(pa.packets_in > 100 && pa.bytes_in > 10_000, "{pa:?}");
    let pb = figures(&sim, b);
    assert!(pb.packets_out > 100 && pb.bytes_out > 10_000, "{pb:?}");
    assert!(!pb.publishes_audio, "{pb:?}");
    assert_eq!(pb.loss_out.unwrap_or(0.0), 0.0, "{pb:?}");

    // A fifth of what goes to b is lost: its receiver reports say so.
    sim.set_loss_to(b, 0.2);
    let seen = sim.run_until(Duration::from_secs(10), |s| {
        figures(s, b).loss_out.is_some_and(|l| l > 0.05)
    });
    assert!(seen, "{:?}", figures(&sim, b));
    assert!(figures(&sim, b).rtt_ms.is_some(), "{:?}", figures(&sim, b));
}
