//! Loss between the SFU and a subscriber is repaired from the SFU's retransmission
//! buffer (NACK → RTX), so video does not freeze; audio, which is not retransmitted,
//! shows the loss was real.

mod sim;

use std::time::Duration;

use sim::Sim;
use str0m::media::MediaKind;

#[test]
fn nacked_video_is_retransmitted() {
    let (mut sim, a, b) = Sim::publishing_pair(6);
    let start_video = sim.received(b, a, MediaKind::Video);
    let start_audio = sim.received(b, a, MediaKind::Audio);

    sim.set_loss_to(b, 0.05);
    sim.run_for(Duration::from_secs(10));
    sim.set_loss_to(b, 0.0);
    sim.run_for(Duration::from_secs(1));

    let dropped = sim.dropped_to[&b];
    assert!(dropped > 20, "the network dropped only {dropped}");
    let video = sim.received(b, a, MediaKind::Video);
    let first = *start_video.seqs.last().unwrap();
    let last = *video.seqs.last().unwrap();
    let expected = last.wrapping_sub(first) as usize;
    let got = video.seqs.range(first + 1..=last).count();
    let missing = expected - got;
    assert!(
        missing * 1000 <= expected,
        "video: {missing} of {expected} packets never arrived"
    );

    let audio = sim.received(b, a, MediaKind::Audio);
    let audio_got = audio.packets - start_audio.packets;
    let audio_sent = 11 * 50;
    assert!(
        audio_got < audio_sent - 10,
        "audio lost nothing ({audio_got} of ~{audio_sent}): was there loss?"
    );
}
