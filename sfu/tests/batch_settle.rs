//! Datagrams handed to the core in batches, with one `settle` per batch or settled in
//! steps (`settle_some`, sending between steps), reach every subscriber complete and
//! unchanged: each subscriber connection takes several written packets before it is
//! driven once.

mod sim;

use std::time::Duration;

use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn a_batch_settled_once_reaches_every_subscriber_intact() {
    forward_batches(None);
}

#[test]
fn a_batch_settled_in_steps_reaches_every_subscriber_intact() {
    let sim = forward_batches(Some(1));
    assert!(
        sim.partial_settles > 100,
        "settle_some never stopped early ({} times)",
        sim.partial_settles
    );
}

/// A chair sends to four subscribers, the SFU settled once per batch or in steps of
/// `settle_step` datagrams; every packet must arrive unchanged.
fn forward_batches(settle_step: Option<usize>) -> Sim {
    let mut sim = Sim::new(3);
    sim.settle_step = settle_step;
    let chair = sim.join("chair", "room", ALL);
    let rooms: Vec<usize> = (0..4)
        .map(|i| sim.join(&format!("room-{i}"), "room", ALL))
        .collect();
    sim.publish(chair);
    // Every frame a keyframe of 4 packets, sent at one instant: with audio and RTCP
    // they reach the SFU together, as one batch of several datagrams.
    sim.clients[chair].keyframe_every = 1;
    let shown = sim.run_until(Duration::from_secs(10), |s| {
        rooms
            .iter()
            .all(|&r| s.received(r, chair, MediaKind::Video).keyframes > 0)
    });
    assert!(shown, "not every subscriber received the chair's video");

    let (video_from, audio_from) = (sim.clients[chair].video_seq, sim.clients[chair].audio_seq);
    let (datagrams, batches) = (sim.sfu_datagrams, sim.sfu_batches);
    sim.run_for(Duration::from_secs(2));
    let (video_to, audio_to) = (sim.clients[chair].video_seq, sim.clients[chair].audio_seq);
    // Let what was sent meanwhile arrive (network delay, no loss).
    sim.run_for(Duration::from_millis(500));

    let (datagrams, batches) = (sim.sfu_datagrams - datagrams, sim.sfu_batches - batches);
    assert!(
        sim.largest_batch >= 4 && datagrams >= 2 * batches,
        "the SFU was not fed in batches: {datagrams} datagrams in {batches} batches, \
         largest {}",
        sim.largest_batch
    );
    assert!(
        video_to - video_from > 200,
        "the chair sent too little video"
    );
    for &r in &rooms {
        for (kind, from, to) in [
            (MediaKind::Video, video_from, video_to),
            (MediaKind::Audio, audio_from, audio_to),
        ] {
            let got = sim.received(r, chair, kind);
            assert_eq!(got.damaged, 0, "{kind:?} to {r} arrived changed");
            let missing: Vec<u64> = (from + 1..=to)
                .filter(|s| !got.sent_seqs.contains(s))
                .collect();
            assert!(
                missing.is_empty(),
                "{kind:?} to {r}: {} of {} packets missing, first {:?}",
                missing.len(),
                to - from,
                &missing[..missing.len().min(5)]
            );
        }
    }
    sim
}
