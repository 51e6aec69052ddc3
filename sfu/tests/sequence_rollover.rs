//! A subscription whose publisher's sequence numbers wrap before the subscriber's
//! stream can carry them still starts its stream below 2^16: a receiver assumes a
//! rollover count of zero for a new stream, and with any other the SRTP of every
//! packet fails (found by the load test against webrtc-rs terminals).

mod sim;

use std::time::Duration;

use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn a_stream_starts_below_the_first_rollover_however_late_it_is_answered() {
    let mut sim = Sim::new(11);
    let a = sim.join("a", "room", ALL);
    // 12 audio packets before a's sequence numbers wrap at 2^16.
    sim.clients[a].audio_seq = 65_524;
    sim.publish(a);
    sim.run_for(Duration::from_millis(100));

    // b joins, but answers its subscriber offers only after a's audio has wrapped.
    sim.hold_subscribe_offers = true;
    let b = sim.join("b", "room", ALL);
    sim.run_for(Duration::from_secs(1));
    assert!(
        sim.clients[a].audio_seq > 65_536,
        "a's audio wrapped meanwhile"
    );
    sim.answer_held();

    assert!(
        sim.run_until(Duration::from_secs(5), |s| s
            .received(b, a, MediaKind::Audio)
            .packets
            >= 50),
        "b receives a's audio: {:?}",
        sim.received(b, a, MediaKind::Audio).packets
    );
    assert_eq!(sim.received(b, a, MediaKind::Audio).damaged, 0);
}
