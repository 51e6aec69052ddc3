//! Three participants in one room each receive the other two's audio and video, and a
//! video stream starts on a keyframe.

mod sim;

use std::time::Duration;

use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn three_participants_receive_each_other() {
    let mut sim = Sim::new(1);
    let a = sim.join("a", "room-1", ALL);
    let b = sim.join("b", "room-1", ALL);
    let c = sim.join("c", "room-1", ALL);
    for i in [a, b, c] {
        sim.publish(i);
    }
    let all = [a, b, c];
    let ok = sim.run_until(Duration::from_secs(5), |s| {
        all.iter().all(|&i| {
            all.iter().filter(|&&j| j != i).all(|&j| {
                s.received(i, j, MediaKind::Audio).packets > 50
                    && s.received(i, j, MediaKind::Video).keyframes > 0
            })
        })
    });
    for &i in &all {
        for &j in all.iter().filter(|&&j| j != i) {
            let v = sim.received(i, j, MediaKind::Video);
            let au = sim.received(i, j, MediaKind::Audio);
            assert!(
                ok,
                "{i} from {j}: video {v:?}, audio {} packets",
                au.packets
            );
            assert_eq!(
                v.first_starts_keyframe,
                Some(true),
                "video to {i} from {j} must start on a keyframe"
            );
        }
        // Nobody receives itself.
        assert_eq!(sim.received(i, i, MediaKind::Audio).packets, 0);
    }
    let stats = sim.sfu.stats();
    assert_eq!(stats.participants, 3);
    assert!(stats.packets_forwarded > 300, "{stats:?}");
}
