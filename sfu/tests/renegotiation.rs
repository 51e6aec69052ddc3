//! Participants and tracks come and go mid-call: a late joiner receives what is
//! already published, an unpublished track disappears from subscribers, and leaving
//! frees everything.

mod sim;

use std::time::Duration;

use sfu::{LeaveReason, Notice};
use sim::{Sim, ALL};
use str0m::media::MediaKind;

#[test]
fn tracks_and_participants_come_and_go() {
    let mut sim = Sim::new(3);
    let a = sim.join("a", "room", ALL);
    let b = sim.join("b", "room", ALL);
    sim.publish(a);
    sim.publish(b);
    assert!(sim.run_until(Duration::from_secs(5), |s| s
        .received(b, a, MediaKind::Video)
        .keyframes
        > 0));

    // A late joiner gets both publishers in its first subscriber offer.
    let c = sim.join("c", "room", ALL);
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        [a, b].iter().all(|&p| {
            s.received(c, p, MediaKind::Video).keyframes > 0
                && s.received(c, p, MediaKind::Audio).packets > 10
        })
    }));

    // b stops its camera: the others are told, and its video stops reaching them.
    let before = sim.received(c, b, MediaKind::Video).packets;
    sim.unpublish_video(b);
    sim.run_for(Duration::from_millis(500));
    for i in [a, c] {
        assert!(sim.clients[i].notices.iter().any(|n| matches!(n,
            Notice::TrackUnpublished { participant_id, track_id } if *participant_id == sim.clients[b].id && track_id.contains("-v"))),
            "client {i} was not told");
    }
    let after_unpublish = sim.received(c, b, MediaKind::Video).packets;
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        sim.received(c, b, MediaKind::Video).packets,
        after_unpublish,
        "video still flowing after unpublish"
    );
    assert!(after_unpublish >= before);
    // b's audio still flows.
    let audio = sim.received(c, b, MediaKind::Audio).packets;
    sim.run_for(Duration::from_millis(500));
    assert!(sim.received(c, b, MediaKind::Audio).packets > audio + 10);

    // a leaves: the others are told and stop receiving it; the SFU forgets it.
    sim.leave(a);
    let from_a = sim.received(c, a, MediaKind::Audio).packets;
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.received(c, a, MediaKind::Audio).packets, from_a);
    for i in [b, c] {
        assert!(sim.clients[i].notices.iter().any(|n| matches!(n,
            Notice::ParticipantLeft { participant_id, reason: LeaveReason::Left } if *participant_id == sim.clients[a].id)));
    }
    assert_eq!(sim.sfu.stats().participants, 2);
    assert_eq!(
        sim.sfu.room_members("room"),
        vec![sim.clients[b].id, sim.clients[c].id]
    );
}

#[test]
fn a_participant_without_publish_grant_cannot_publish_and_one_without_subscribe_gets_nothing() {
    let mut sim = Sim::new(4);
    let a = sim.join("a", "room", ALL);
    let viewer = sim.join(
        "viewer",
        "room",
        sfu::Grants {
            publish: false,
            subscribe: true,
        },
    );
    let deaf = sim.join(
        "deaf",
        "room",
        sfu::Grants {
            publish: true,
            subscribe: false,
        },
    );
    sim.publish(a);
    sim.publish(deaf);
    // The viewer's publisher offer is refused.
    let c = &mut sim.clients[viewer];
    let mut api = c.publisher.sdp_api();
    api.add_media(
        MediaKind::Audio,
        str0m::media::Direction::SendOnly,
        None,
        None,
        None,
    );
    let (offer, pending) = api.apply().unwrap();
    let err = sim.negotiate_publisher(viewer, offer, pending).unwrap_err();
    assert!(matches!(err, sfu::SfuError::NotAllowed(_)), "{err}");

    assert!(sim.run_until(Duration::from_secs(5), |s| {
        s.received(viewer, a, MediaKind::Video).keyframes > 0
            && s.received(a, deaf, MediaKind::Video).keyframes > 0
    }));
    sim.run_for(Duration::from_secs(1));
    assert!(
        sim.clients[deaf].received.is_empty(),
        "deaf received {:?}",
        sim.clients[deaf].received.keys()
    );
}
