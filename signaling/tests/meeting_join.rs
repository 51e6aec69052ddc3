//! Rooms joining their meeting end to end, over real sockets: room terminals log in with
//! their device credentials, fetch their join tokens from the API and join over the
//! WebSocket; the rostered rooms of one meeting meet, another meeting's room is
//! elsewhere.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};
use signaling::credentials::credential_hash;
use signaling::schedule::{MeetingMode, MeetingSpec};
use signaling::store::{NewEndpoint, NewUnit, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::*;

/// One HTTP/1.1 request on a fresh connection; returns the status and the JSON body.
async fn http(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("answer timed out")
        .expect("read");
    let text = String::from_utf8(response).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A registered room terminal: its id and a device session opened with its credential.
async fn terminal(s: &Server, store: &Store, unit: &str, name: &str) -> (String, String) {
    let credential = format!("hnd_{}", rand::random::<u64>());
    let id = store
        .create_endpoint(
            &NewEndpoint {
                unit_id: unit.into(),
                name: name.into(),
                location: String::new(),
                bitrate_cap_kbps: None,
            },
            &credential_hash(&credential),
        )
        .await
        .unwrap()
        .id;
    let (status, body) = http(
        s.http_addr(),
        "/api/v1/auth/device",
        None,
        Some(json!({"credential": credential})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (id, body["token"].as_str().unwrap().to_string())
}

/// A one-off meeting starting in five minutes, for an hour.
async fn meeting(store: &Store, host: &str, roster: &[&str]) -> String {
    let now = signaling::access::unix_now() as i64;
    let spec = MeetingSpec {
        title: "Họp trực tuyến".into(),
        agenda: String::new(),
        start_utc: DateTime::from_timestamp(now + 300, 0).unwrap(),
        end_utc: DateTime::from_timestamp(now + 3900, 0).unwrap(),
        host_terminal_id: host.into(),
        roster: roster.iter().map(|r| r.to_string()).collect(),
        mode: MeetingMode::ControlledDiscussion,
        recurrence: None,
        cancelled_occurrences: Vec::new(),
        cancelled: false,
    };
    store.create_meeting(&spec, "test").await.unwrap().id
}

async fn join_token(s: &Server, meeting: &str, session: &str) -> (u16, Value) {
    http(
        s.http_addr(),
        &format!("/api/v1/me/meetings/{meeting}/join-token"),
        Some(session),
        None,
    )
    .await
}

#[tokio::test]
async fn rostered_rooms_meet_in_their_meeting_and_another_meeting_is_elsewhere() {
    let s = Server::start().await;
    let store = s.running.store.clone();
    let unit = store
        .create_unit(&NewUnit {
            parent_id: None,
            name: "Tỉnh thử nghiệm".into(),
            level: "Tỉnh".into(),
        })
        .await
        .unwrap()
        .id;
    let (chair, chair_s) = terminal(&s, &store, &unit, "UBND tỉnh").await;
    let (commune, commune_s) = terminal(&s, &store, &unit, "UBND xã").await;
    let (other, other_s) = terminal(&s, &store, &unit, "Sở khác").await;
    let m1 = meeting(&store, &chair, &[&chair, &commune]).await;
    let m2 = meeting(&store, &other, &[&other]).await;

    let mut tokens = Vec::new();
    for (meeting, session) in [(&m1, &chair_s), (&m1, &commune_s), (&m2, &other_s)] {
        let (status, body) = join_token(&s, meeting, session).await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body);
    }
    // The third terminal is not on the first meeting's roster.
    let (status, body) = join_token(&s, &m1, &other_s).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("not_rostered")));

    let mut a = connect(&s).await;
    let (ja, _) = join(&mut a, tokens[0]["token"].as_str().unwrap()).await;
    assert_eq!(ja["room"], format!("{m1}:0"));
    assert_eq!(ja["identity"], chair.as_str());
    assert_eq!(ja["name"], "UBND tỉnh");
    assert_eq!(ja["role"], "host");
    assert_eq!(ja["participants"], json!([]));

    let mut b = connect(&s).await;
    let (jb, _) = join(&mut b, tokens[1]["token"].as_str().unwrap()).await;
    assert_eq!(jb["room"], format!("{m1}:0"));
    assert_eq!(jb["role"], "participant");
    let others = jb["participants"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{jb}");
    assert_eq!(others[0]["identity"], chair.as_str());
    let m = recv_type(&mut a, "participant_joined").await;
    assert_eq!(m["participant"]["identity"], commune.as_str());
    assert_eq!(
        m["participant"]["participant_id"],
        participant_id(&jb).as_str()
    );

    // The other meeting's room: empty, and nobody in the first one hears of it.
    let mut c = connect(&s).await;
    let (jc, _) = join(&mut c, tokens[2]["token"].as_str().unwrap()).await;
    assert_eq!(jc["room"], format!("{m2}:0"));
    assert_eq!(jc["identity"], other.as_str());
    assert_eq!(jc["role"], "host");
    assert_eq!(jc["participants"], json!([]));
    s.wait_for_stats("three participants", |st| st.participants == 3)
        .await;
    assert_alive(&mut a).await;
    assert_alive(&mut b).await;
    assert_alive(&mut c).await;
}
