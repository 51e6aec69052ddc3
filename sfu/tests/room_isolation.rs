//! Rooms are isolated: media and notices of one room never reach another.

mod sim;

use std::time::Duration;

use sfu::Notice;
use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn nothing_crosses_between_rooms() {
    let mut sim = Sim::new(2);
    let a = sim.join("a", "room-1", ALL);
    let b = sim.join("b", "room-1", ALL);
    let x = sim.join("x", "room-2", ALL);
    for i in [a, b, x] {
        sim.publish(i);
    }
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        s.received(a, b, MediaKind::Video).keyframes > 0
            && s.received(b, a, MediaKind::Video).keyframes > 0
    }));
    sim.run_for(Duration::from_secs(2));
    // x is alone in its room: it receives nothing and hears of nobody.
    assert!(
        sim.clients[x].received.is_empty(),
        "{:?}",
        sim.clients[x].received.keys()
    );
    assert!(!sim.clients[x].notices.iter().any(|n| matches!(
        n,
        Notice::ParticipantJoined(_) | Notice::TrackPublished { .. }
    )));
    // a and b never receive x.
    for i in [a, b] {
        assert_eq!(sim.received(i, x, MediaKind::Audio).packets, 0);
        assert_eq!(sim.received(i, x, MediaKind::Video).packets, 0);
        assert!(!sim.clients[i].notices.iter().any(|n| matches!(n,
            Notice::ParticipantJoined(p) if p.participant_id == sim.clients[x].id)));
    }
    assert_eq!(sim.sfu.room_members("room-2"), vec![sim.clients[x].id]);
}
