//! The signaling protocol over a real WebSocket against a real server on loopback:
//! joining and the room roster, token refusals, malformed and out-of-order messages,
//! SDP and grant checks, replaced sessions, and garbage on the media port.

mod support;

use std::net::UdpSocket;
use std::time::Instant;

use base64::Engine;
use futures_util::SinkExt;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;
use signaling::auth::JoinTokens;
use signaling::protocol::GrantsWire;
use str0m::media::{Direction, MediaKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use support::datagrams::garbage;
use support::*;

#[tokio::test]
async fn join_roster_leave_and_disconnect_reach_the_room() {
    let s = Server::start().await;

    let mut a = connect(&s).await;
    let (ja, _) = join(&mut a, &s.token("so-noi-vu", "room-a", "Phòng A", true)).await;
    let a_id = participant_id(&ja);
    assert_eq!(ja["room"], "so-noi-vu");
    assert_eq!(ja["identity"], "room-a");
    assert_eq!(ja["name"], "Phòng A");
    assert_eq!(ja["grants"], json!({"publish": true, "subscribe": true}));
    assert_eq!(ja["role"], "participant");
    assert_eq!(ja["participants"], json!([]), "the room was empty");

    let mut b = connect(&s).await;
    let (jb, _) = join(&mut b, &s.token("so-noi-vu", "room-b", "Phòng B", false)).await;
    let b_id = participant_id(&jb);
    assert_ne!(a_id, b_id);
    assert_eq!(jb["grants"], json!({"publish": false, "subscribe": true}));
    assert_eq!(
        jb["participants"],
        json!([{"participant_id": a_id, "identity": "room-a", "name": "Phòng A", "tracks": []}])
    );
    let m = recv_type(&mut a, "participant_joined").await;
    assert_eq!(m["participant"]["participant_id"], b_id.as_str());
    assert_eq!(m["participant"]["name"], "Phòng B");

    // A third terminal joins, then loses its connection without a word.
    let mut c = connect(&s).await;
    let (jc, _) = join(&mut c, &s.token("so-noi-vu", "room-c", "Phòng C", true)).await;
    let c_id = participant_id(&jc);
    assert_eq!(jc["participants"].as_array().map(Vec::len), Some(2));
    for ws in [&mut a, &mut b] {
        let m = recv_type(ws, "participant_joined").await;
        assert_eq!(m["participant"]["participant_id"], c_id.as_str());
    }
    s.wait_for_stats("three participants", |st| st.participants == 3)
        .await;
    drop(c);
    for ws in [&mut a, &mut b] {
        let m = recv_type(ws, "participant_left").await;
        assert_eq!(m["participant_id"], c_id.as_str());
        assert_eq!(m["reason"], "disconnected");
    }

    // B says goodbye: its socket is closed normally and A is told why.
    send_json(&mut b, json!({"type": "leave"})).await;
    let (code, before) = expect_close(&mut b).await;
    assert_eq!(code, 1000);
    assert_eq!(before, Vec::<serde_json::Value>::new());
    let m = recv_type(&mut a, "participant_left").await;
    assert_eq!(m["participant_id"], b_id.as_str());
    assert_eq!(m["reason"], "left");
    s.wait_for_stats("only A left in the SFU", |st| st.participants == 1)
        .await;
    assert_alive(&mut a).await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_4001_and_admit_no_participant() {
    let s = Server::start().await;
    let valid = s.token("r", "room-1", "Phòng 1", true);

    let other_key = JoinTokens::from_secret(&[9; 32]);
    let grants = GrantsWire {
        publish: true,
        subscribe: true,
    };
    let wrong_key = other_key
        .issue("r", "room-1", "Phòng 1", grants, 60)
        .unwrap();

    // Same header and signature, claims for another room.
    let mut parts: Vec<String> = valid.split('.').map(str::to_string).collect();
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims("another-room", "room-1", 60)).unwrap());
    let tampered = parts.join(".");

    let mut wrong_issuer = claims("r", "room-1", 60);
    wrong_issuer.iss = "someone-else".into();
    let wrong_issuer = s.sign(&wrong_issuer);
    let expired = s.sign(&claims("r", "room-1", -60));
    let mut early = claims("r", "room-1", 3600);
    early.nbf = Some(early.iat + 600);
    let early = s.sign(&early);
    let signer = s.ring().signer().clone();
    let no_kid = {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        let key = EncodingKey::from_secret(&signer.secret);
        encode(
            &Header::new(Algorithm::HS256),
            &claims("r", "room-1", 60),
            &key,
        )
        .unwrap()
    };
    let mut stranger = signer.clone();
    stranger.kid = "k-nobody".into();
    let unknown_kid = sign(&claims("r", "room-1", 60), &stranger);

    let cases = [
        (
            "not a JWT",
            "abc.def.ghi".to_string(),
            "invalid_token",
            "invalid",
        ),
        ("empty", String::new(), "invalid_token", "invalid"),
        ("another key", wrong_key, "invalid_token", "unknown key id"),
        (
            "tampered payload",
            tampered,
            "invalid_token",
            "wrong signature",
        ),
        (
            "wrong issuer",
            wrong_issuer,
            "invalid_token",
            "wrong issuer",
        ),
        ("expired", expired, "token_expired", "expired"),
        ("not yet valid", early, "token_expired", "not valid yet"),
        ("no kid", no_kid, "invalid_token", "no key id"),
        (
            "unknown kid",
            unknown_kid,
            "invalid_token",
            "unknown key id",
        ),
    ];
    for (what, token, code, says) in cases {
        let mut ws = connect(&s).await;
        send_json(&mut ws, json!({"type": "join", "token": token})).await;
        let m = recv_type(&mut ws, "error").await;
        assert_eq!(m["code"], code, "{what}: {m}");
        let message = m["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: message {message:?}");
        let (close, before) = expect_close(&mut ws).await;
        assert_eq!(close, 4001, "{what}");
        assert!(
            before.is_empty(),
            "{what}: sent more before closing: {before:?}"
        );
        let stats = s.stats().await;
        assert_eq!((stats.participants, stats.rooms), (0, 0), "{what}");
    }

    // The counter does move for a good token: the zeros above mean something.
    let mut ws = connect(&s).await;
    join(&mut ws, &valid).await;
    s.wait_for_stats("the valid token's participant", |st| st.participants == 1)
        .await;
}

#[tokio::test]
async fn malformed_messages_are_answered_and_the_connection_stays_open() {
    let s = Server::start().await;
    let mut ws = connect(&s).await;

    let cases = [
        ("not JSON", "hello", "expected value"),
        ("no type", r#"{"token":"x"}"#, "missing field `type`"),
        (
            "unknown type",
            r#"{"type":"dance"}"#,
            "unknown variant `dance`",
        ),
        (
            "no sdp",
            r#"{"type":"publish_offer"}"#,
            "missing field `sdp`",
        ),
        (
            "token not a string",
            r#"{"type":"join","token":5}"#,
            "invalid type",
        ),
    ];
    for (what, text, says) in cases {
        send_text(&mut ws, text).await;
        let message = recv_error(&mut ws, "bad_message").await;
        assert!(message.contains(says), "{what}: message {message:?}");
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let message = recv_error(&mut ws, "bad_message").await;
    assert!(message.contains("binary"), "message {message:?}");

    assert_alive(&mut ws).await;
    join(&mut ws, &s.token("r", "room-1", "Phòng 1", true)).await;
    assert_alive(&mut ws).await;
}

#[tokio::test]
async fn messages_out_of_order_are_refused_and_the_connection_stays_open() {
    let s = Server::start().await;
    let mut ws = connect(&s).await;

    for msg in [
        json!({"type": "publish_offer", "sdp": "v=0\r\n"}),
        json!({"type": "subscribe_answer", "sdp": "v=0\r\n"}),
        json!({"type": "candidate", "target": "publisher", "candidate": ""}),
        json!({"type": "leave"}),
    ] {
        send_json(&mut ws, msg.clone()).await;
        let m = recv_type(&mut ws, "error").await;
        assert_eq!(m["code"], "not_joined", "for {msg}: {m}");
    }
    assert_alive(&mut ws).await;

    join(&mut ws, &s.token("r", "room-1", "Phòng 1", true)).await;
    send_json(
        &mut ws,
        json!({"type": "join", "token": s.token("r", "room-2", "Phòng 2", true)}),
    )
    .await;
    recv_error(&mut ws, "already_joined").await;
    assert_alive(&mut ws).await;
    let stats = s.stats().await;
    assert_eq!(stats.participants, 1, "the second join added no one");
}

/// A syntactically valid offer with one send-only audio track, as a browser publishes.
fn audio_offer() -> String {
    let mut rtc = str0m::Rtc::new(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().expect("a change to offer");
    offer.to_sdp_string()
}

#[tokio::test]
async fn publish_and_subscribe_sdp_is_checked_and_grants_enforced() {
    let s = Server::start().await;
    let mut ws = connect(&s).await;
    let (_, sub_offer) = join(&mut ws, &s.token("r", "room-1", "Phòng 1", true)).await;

    send_json(&mut ws, json!({"type": "publish_offer", "sdp": "garbage"})).await;
    let message = recv_error(&mut ws, "bad_sdp").await;
    assert!(message.contains("SDP"), "message {message:?}");
    send_json(
        &mut ws,
        json!({"type": "subscribe_answer", "sdp": "garbage"}),
    )
    .await;
    recv_error(&mut ws, "bad_sdp").await;
    assert_alive(&mut ws).await;

    // The real answer to the subscriber offer is accepted (nothing comes back); a second
    // one has no offer left to answer.
    let mut client = str0m::Rtc::new(Instant::now());
    let offer = str0m::change::SdpOffer::from_sdp_string(&sub_offer).expect("server offer parses");
    let answer = client
        .sdp_api()
        .accept_offer(offer)
        .expect("server offer is acceptable")
        .to_sdp_string();
    send_json(&mut ws, json!({"type": "subscribe_answer", "sdp": answer})).await;
    assert_alive(&mut ws).await;
    send_json(&mut ws, json!({"type": "subscribe_answer", "sdp": answer})).await;
    let message = recv_error(&mut ws, "bad_sdp").await;
    assert!(
        message.contains("no subscriber offer"),
        "message {message:?}"
    );

    let offer = audio_offer();
    send_json(&mut ws, json!({"type": "publish_offer", "sdp": offer})).await;
    let m = recv_type(&mut ws, "publish_answer").await;
    let sdp = m["sdp"].as_str().expect("publish_answer has sdp");
    assert!(sdp.contains("a=ice-lite"), "answer is not ICE-lite:\n{sdp}");
    let media_port = s.running.media_addr.port();
    assert_ne!(media_port, 0);
    let candidate = format!("127.0.0.1 {media_port} typ host");
    assert!(
        sdp.lines()
            .any(|l| l.starts_with("a=candidate:") && l.contains(&candidate)),
        "no candidate for {candidate} in:\n{sdp}"
    );
    assert_alive(&mut ws).await;

    // Receive-only terminal: the same offer is refused, and it stays connected.
    let mut viewer = connect(&s).await;
    join(
        &mut viewer,
        &s.token("other-room", "room-2", "Phòng 2", false),
    )
    .await;
    send_json(&mut viewer, json!({"type": "publish_offer", "sdp": offer})).await;
    recv_error(&mut viewer, "forbidden").await;
    assert_alive(&mut viewer).await;
}

#[tokio::test]
async fn joining_again_with_the_same_identity_replaces_the_older_session() {
    let s = Server::start().await;
    let mut other = connect(&s).await;
    join(&mut other, &s.token("r", "room-8", "Phòng 8", true)).await;

    let mut old = connect(&s).await;
    let (j_old, _) = join(&mut old, &s.token("r", "room-7", "Phòng 7", true)).await;
    let old_id = participant_id(&j_old);
    recv_type(&mut other, "participant_joined").await;

    let mut new = connect(&s).await;
    let (j_new, _) = join(&mut new, &s.token("r", "room-7", "Phòng 7 (mới)", true)).await;
    let new_id = participant_id(&j_new);
    assert_ne!(old_id, new_id);
    let listed: Vec<&str> = j_new["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identity"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["room-8"], "the replaced session is not listed");

    let (code, before) = expect_close(&mut old).await;
    assert_eq!(code, 4409, "after {before:?}");

    let m = recv_type(&mut other, "participant_left").await;
    assert_eq!(m["participant_id"], old_id.as_str());
    assert_eq!(m["reason"], "replaced");
    let m = recv_type(&mut other, "participant_joined").await;
    assert_eq!(m["participant"]["participant_id"], new_id.as_str());
    assert_eq!(m["participant"]["name"], "Phòng 7 (mới)");

    // Closing the old socket must not take the new session with it.
    s.wait_for_stats("two participants", |st| st.participants == 2)
        .await;
    assert_alive(&mut new).await;
    assert_alive(&mut other).await;
}

#[tokio::test]
async fn garbage_on_the_media_port_is_counted_and_harms_nothing() {
    let s = Server::start().await;
    // Someone is in a room, so stray datagrams are checked against a real participant.
    let mut a = connect(&s).await;
    let (_, sub_offer) = join(&mut a, &s.token("r", "room-1", "Phòng 1", true)).await;
    let ufrag = sub_offer
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("the offer has an ICE ufrag")
        .to_string();

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let media = s.running.media_addr;
    let mut rng = StdRng::seed_from_u64(0x686f696e676869);
    const TOTAL: usize = 4000;
    // Sent in batches, each waited for, so the kernel never drops any for a full buffer.
    const BATCH: usize = 50;
    let mut sent = 0u64;
    let mut forged = 0u64;
    for batch in 0..TOTAL / BATCH {
        for i in 0..BATCH {
            udp.send_to(&garbage(&mut rng, batch * BATCH + i, &ufrag), media)
                .unwrap();
            sent += 1;
            forged += u64::from((batch * BATCH + i) % 6 == 4);
        }
        s.wait_for_stats("the batch to be received", |st| {
            st.datagrams_received >= sent
        })
        .await;
    }
    let stats = s.stats().await;
    assert_eq!(stats.datagrams_received, sent);
    assert!(
        stats.datagrams_malformed > 0 && stats.datagrams_unrouted > 0,
        "{stats:?}"
    );
    assert_eq!(
        stats.datagrams_malformed + stats.datagrams_unrouted,
        sent,
        "every stray datagram is malformed or unrouted: {stats:?}"
    );
    // The forged checks parse and reach the peer's integrity check, which refuses them.
    assert!(
        stats.datagrams_unrouted >= forged,
        "{forged} forged: {stats:?}"
    );
    assert_eq!(stats.participants, 1, "{stats:?}");
    assert_eq!(stats.participants_failed, 0, "{stats:?}");

    // Still serving: the participant, a new join, and plain HTTP.
    assert_alive(&mut a).await;
    let mut b = connect(&s).await;
    join(&mut b, &s.token("r", "room-2", "Phòng 2", true)).await;
    recv_type(&mut a, "participant_joined").await;

    let mut tcp = tokio::net::TcpStream::connect(s.http_addr()).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_string(&mut response))
        .await
        .expect("healthz answered in time")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\nok"), "{response}");
}

#[tokio::test]
async fn an_oversized_frame_is_answered_and_the_connection_stays_open() {
    // docs/protocol.md: a message over 256 KiB → `bad_message`, connection stays open
    // (the WebSocket layer's own limit is set higher so the session sees it).
    let s = Server::start().await;
    let mut ws = connect(&s).await;
    join(&mut ws, &s.token("r", "room-1", "Phòng 1", true)).await;
    let big = "a".repeat(signaling::protocol::MAX_MESSAGE_BYTES + 1);
    send_json(&mut ws, json!({"type": "publish_offer", "sdp": big})).await;
    let message = recv_error(&mut ws, "bad_message").await;
    assert!(message.contains("256 KiB"), "message {message:?}");
    assert_alive(&mut ws).await;
}
