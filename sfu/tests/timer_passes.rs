//! The SFU's timer passes are coalesced: however many peer connections have timers of
//! their own, `handle_timeout` is due at most once per `TIMER_GRANULARITY`, and media
//! still flows.

mod sim;

use std::time::Duration;

use sfu::TIMER_GRANULARITY;
use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn timer_passes_are_at_least_the_granularity_apart() {
    let mut sim = Sim::new(5);
    sim.delay = Duration::from_millis(1);
    let all: Vec<usize> = (0..4)
        .map(|i| sim.join(&format!("room-{i}"), "room", ALL))
        .collect();
    for &i in &all {
        sim.publish(i);
    }
    let seconds = 3;
    sim.run_for(Duration::from_secs(seconds));

    let closest = sim.closest_timer_passes.expect("no two timer passes");
    assert!(
        closest >= TIMER_GRANULARITY,
        "two timer passes {closest:?} apart"
    );
    let most = seconds * 1000 / TIMER_GRANULARITY.as_millis() as u64;
    assert!(
        sim.timer_passes <= most,
        "{} timer passes in {seconds} s",
        sim.timer_passes
    );
    for &i in &all {
        for &j in all.iter().filter(|&&j| j != i) {
            let v = sim.received(i, j, MediaKind::Video);
            assert!(v.keyframes > 0 && v.packets > 50, "video {j} → {i}: {v:?}");
        }
    }
}
