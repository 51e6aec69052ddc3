//! A subscriber joining late gets a picture within a second: the SFU asks the
//! publisher for a keyframe (PLI) instead of waiting for the next periodic one.

mod sim;

use std::time::Duration;

use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn late_subscriber_gets_a_keyframe_within_a_second() {
    let mut sim = Sim::new(5);
    let a = sim.join("a", "room", ALL);
    // This publisher sends a keyframe only at start and when asked.
    sim.clients[a].keyframe_every = 0;
    sim.publish(a);
    sim.run_for(Duration::from_secs(5));
    let requests_before = sim.clients[a].keyframe_requests_seen;

    let b = sim.join("b", "room", ALL);
    assert!(sim.run_until(Duration::from_secs(3), |s| s.clients[b]
        .subscriber_connected_at
        .is_some()
        && s.received(b, a, MediaKind::Video)
            .first_keyframe_at
            .is_some()));
    let r = sim.received(b, a, MediaKind::Video);
    let connected = sim.clients[b].subscriber_connected_at.unwrap();
    let waited = r
        .first_keyframe_at
        .unwrap()
        .saturating_duration_since(connected);
    assert!(
        waited < Duration::from_secs(1),
        "first keyframe {waited:?} after connecting"
    );
    assert_eq!(
        r.first_starts_keyframe,
        Some(true),
        "delta frames before the keyframe"
    );
    assert!(
        sim.clients[a].keyframe_requests_seen > requests_before,
        "no PLI reached the publisher"
    );
}
