//! The operator board, the clients' `stats` reports, the attendance record and the
//! per-terminal metrics, over real sockets: a live meeting with two rostered terminals,
//! one joining, reporting, leaving, the other joining late and dropping.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};
use signaling::access::{Audience, SessionKeys};
use signaling::auth::Role as JoinRole;
use signaling::protocol::GrantsWire;
use signaling::schedule::{MeetingMode, MeetingSpec};
use signaling::server::SESSION_KEY_FILE;
use signaling::store::{NewEndpoint, NewStaff, NewUnit, Role, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::*;

/// The board's sampling plus slack.
const BOARD_DEADLINE: Duration = Duration::from_secs(10);

/// A GET on a fresh connection; returns the status, the headers and the body.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut stream = tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response))
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
    (status, head.to_string(), body.to_string())
}

async fn get_json(addr: SocketAddr, path: &str, token: &str) -> Value {
    let (status, _, body) = get(addr, path, Some(token)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Poll the board until `done` holds for it; panic with the last board otherwise.
async fn wait_board(s: &Server, token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + BOARD_DEADLINE;
    loop {
        let board = get_json(s.http_addr(), "/api/v1/board", token).await;
        if done(&board) {
            return board;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}; board: {board:#}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn terminal<'a>(board: &'a Value, id: &str) -> &'a Value {
    board["meetings"][0]["terminals"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["terminal_id"] == id))
        .unwrap_or_else(|| panic!("no terminal {id} on the board: {board:#}"))
}

fn active_alarm(board: &Value, kind: &str, terminal: &str) -> bool {
    board["alarms"].as_array().is_some_and(|a| {
        a.iter()
            .any(|a| a["kind"] == kind && a["terminal_id"] == terminal && a["cleared_at"].is_null())
    })
}

async fn metrics(s: &Server) -> String {
    let (status, _, body) = get(s.metrics_addr(), "/metrics", None).await;
    assert_eq!(status, 200);
    body
}

async fn staff_token(s: &Server, store: &Store, username: &str, role: Role) -> String {
    let staff = store
        .create_staff(&NewStaff {
            username: username.into(),
            display_name: username.into(),
            role,
            password_hash: "x".into(),
        })
        .await
        .unwrap();
    SessionKeys::load_or_create(&s.settings.data_dir.join(SESSION_KEY_FILE))
        .unwrap()
        .issue(Audience::Staff, &staff.id, None)
        .unwrap()
        .0
}

async fn endpoint(store: &Store, unit: &str, name: &str) -> String {
    store
        .create_endpoint(
            &NewEndpoint {
                unit_id: unit.into(),
                name: name.into(),
                location: String::new(),
                bitrate_cap_kbps: None,
            },
            &format!("unused-{:016x}", rand::random::<u64>()),
        )
        .await
        .unwrap()
        .id
}

fn join_token(s: &Server, meeting: &str, endpoint: &str, name: &str, host: bool) -> String {
    let now = chrono::Utc::now();
    s.keys
        .issue_for_meeting(
            meeting,
            &format!("{meeting}:0"),
            endpoint,
            name,
            if host {
                JoinRole::Host
            } else {
                JoinRole::Participant
            },
            GrantsWire {
                publish: true,
                subscribe: true,
            },
            now - chrono::Duration::minutes(5),
            now + chrono::Duration::minutes(60),
        )
        .unwrap()
}

#[tokio::test]
async fn the_board_follows_a_live_meeting_and_attendance_records_every_stay() {
    let s = Server::start_with(|settings| settings.alarms.not_full_grace_secs = 0).await;
    let store = s.running.store.clone();
    let unit = store
        .create_unit(&NewUnit {
            parent_id: None,
            name: "Văn phòng UBND tỉnh".into(),
            level: "Tỉnh".into(),
        })
        .await
        .unwrap()
        .id;
    let chair = endpoint(&store, &unit, "Phòng họp tỉnh").await;
    let commune = endpoint(&store, &unit, "UBND xã Tân An").await;
    let now = signaling::access::unix_now() as i64;
    let spec = MeetingSpec {
        title: "Giao ban trực tuyến".into(),
        agenda: String::new(),
        start_utc: DateTime::from_timestamp(now - 120, 0).unwrap(),
        end_utc: DateTime::from_timestamp(now + 3600, 0).unwrap(),
        host_terminal_id: chair.clone(),
        roster: vec![chair.clone(), commune.clone()],
        mode: MeetingMode::Directive,
        recurrence: None,
        cancelled_occurrences: Vec::new(),
        cancelled: false,
    };
    let meeting = store.create_meeting(&spec, "test").await.unwrap().id;
    let operator = staff_token(&s, &store, "vanhanh", Role::Operator).await;
    let scheduler = staff_token(&s, &store, "laplich", Role::Scheduler).await;

    // The chair joins; the commune does not.
    let mut a = connect(&s).await;
    join(
        &mut a,
        &join_token(&s, &meeting, &chair, "Phòng họp tỉnh", true),
    )
    .await;
    let board = wait_board(
        &s,
        &operator,
        "the chair joined, the commune missing",
        |b| {
            b["meetings"][0]["terminals"][0]["presence"] == "joined"
                && active_alarm(b, "not_full", &commune)
        },
    )
    .await;
    let m = &board["meetings"][0];
    assert_eq!(m["meeting_id"], meeting.as_str());
    assert_eq!(m["room"], format!("{meeting}:0"));
    assert_eq!(m["state"], "live");
    assert_eq!(m["mode"], "directive");
    assert_eq!(m["host_terminal_id"], chair.as_str());
    let c = terminal(&board, &chair);
    assert_eq!(c["name"], "Phòng họp tỉnh");
    assert_eq!(c["unit"], "Văn phòng UBND tỉnh");
    assert_eq!(c["host"], true);
    assert!(c["joined_at"].as_i64().is_some_and(|t| t >= now), "{c}");
    assert!(c["server"].is_object(), "{c}");
    assert!(c["server"]["bytes_in"].is_u64(), "{c}");
    let x = terminal(&board, &commune);
    assert_eq!(x["presence"], "absent");
    assert!(x["server"].is_null() && x["client"].is_null(), "{x}");
    assert_eq!(x["quality"], "unknown");
    assert!(board["thresholds"]["loss_warn"] == 0.01, "{board}");
    let alarm = board["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "not_full")
        .unwrap();
    assert!(
        alarm["message_vi"]
            .as_str()
            .unwrap()
            .contains("UBND xã Tân An"),
        "{alarm}"
    );

    // Its stats reports: accepted, the malformed refused with the session kept.
    send_json(
        &mut a,
        json!({"type": "stats",
            "inbound": [{"participant_id": "p9", "track_id": "p9-v0", "kind": "video",
                "packets_received": 900, "packets_lost": 100, "jitter_ms": 12.5,
                "frames_per_second": 24.0, "freeze_count": 2, "total_freezes_duration_ms": 800}],
            "outbound": [{"kind": "audio", "audio_level": 0.25, "round_trip_time_ms": 30.0}]}),
    )
    .await;
    assert_alive(&mut a).await;
    send_json(
        &mut a,
        json!({"type": "stats", "inbound": [{"kind": "video", "jitter_ms": -1}]}),
    )
    .await;
    let message = recv_error(&mut a, "bad_message").await;
    assert!(message.contains("inbound[0].jitter_ms"), "{message}");
    let many: Vec<Value> = (0..101).map(|_| json!({"kind": "audio"})).collect();
    send_json(&mut a, json!({"type": "stats", "outbound": many})).await;
    recv_error(&mut a, "bad_message").await;
    send_json(
        &mut a,
        json!({"type": "stats", "inbound": [{"kind": "smell"}]}),
    )
    .await;
    recv_error(&mut a, "bad_message").await;
    assert_alive(&mut a).await;
    let board = wait_board(&s, &operator, "the chair's report", |b| {
        terminal(b, &chair)["client"].is_object()
    })
    .await;
    let client = &terminal(&board, &chair)["client"];
    assert_eq!(client["loss"], 0.1, "{client}");
    assert_eq!(client["frames_per_second"], 24.0);
    assert_eq!(client["audio_level"], 0.25);
    // 10 % loss: bad.
    assert_eq!(terminal(&board, &chair)["quality"], "bad");

    // The live feed: the whole board at once.
    let sse = sse_first_event(s.http_addr(), &operator).await;
    assert!(sse.starts_with("event: board\ndata: {"), "{sse}");
    let data: Value =
        serde_json::from_str(sse.lines().nth(1).unwrap().trim_start_matches("data: "))
            .expect("the event's data is the board");
    assert_eq!(data["meetings"][0]["meeting_id"], meeting.as_str());
    let (status, _, body) = get(s.http_addr(), "/api/v1/board/events", Some(&scheduler)).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = get(s.http_addr(), "/api/v1/board", None).await;
    assert_eq!(status, 401);

    // Per-terminal metrics while joined.
    let series = format!(
        "hoinghi_terminal_received_bytes_total{{meeting=\"{meeting}\",terminal=\"{chair}\"}}"
    );
    let text = metrics(&s).await;
    assert!(text.contains(&series), "no {series} in\n{text}");
    assert!(
        text.contains("hoinghi_meetings{state=\"live\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "hoinghi_terminal_freezes_total{{meeting=\"{meeting}\",terminal=\"{chair}\"}} 2"
        )),
        "{text}"
    );

    // The commune joins late and loses its connection; the chair leaves.
    let mut b = connect(&s).await;
    join(
        &mut b,
        &join_token(&s, &meeting, &commune, "UBND xã Tân An", false),
    )
    .await;
    wait_board(&s, &operator, "the commune joined", |b| {
        terminal(b, &commune)["presence"] == "joined" && !active_alarm(b, "not_full", &commune)
    })
    .await;
    drop(b);
    send_json(&mut a, json!({"type": "leave"})).await;
    let (code, _) = expect_close(&mut a).await;
    assert_eq!(code, 1000);
    let board = wait_board(&s, &operator, "the chair left, the commune dropped", |b| {
        terminal(b, &chair)["presence"] == "left" && terminal(b, &commune)["presence"] == "dropped"
    })
    .await;
    assert!(active_alarm(&board, "dropped", &commune), "{board:#}");
    assert!(!active_alarm(&board, "dropped", &chair), "{board:#}");
    assert!(terminal(&board, &chair)["server"].is_null());

    // The series of a terminal that left are gone.
    let deadline = tokio::time::Instant::now() + BOARD_DEADLINE;
    loop {
        let text = metrics(&s).await;
        if !text.contains("hoinghi_terminal_") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "series stay after leaving:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Attendance: join, join, drop, leave (the drop and the leave in either order).
    let path = format!("/api/v1/meetings/{meeting}/attendance?occurrence=0");
    let deadline = tokio::time::Instant::now() + BOARD_DEADLINE;
    let record = loop {
        let r = get_json(s.http_addr(), &path, &scheduler).await;
        if r["records"].as_array().is_some_and(|r| r.len() == 4) {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "records: {r:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(record["title"], "Giao ban trực tuyến");
    let events: Vec<(String, String)> = record["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["terminal_id"].as_str().unwrap().to_string(),
                r["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(events[0], (chair.clone(), "join".into()));
    assert_eq!(events[1], (commune.clone(), "join".into()));
    assert!(
        events.contains(&(commune.clone(), "drop".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&(chair.clone(), "leave".into())),
        "{events:?}"
    );
    let summary = record["summary"].as_array().unwrap();
    assert_eq!(summary[0]["terminal_id"], chair.as_str());
    assert_eq!(summary[0]["rostered"], true);
    assert_eq!(summary[0]["unit"], "Văn phòng UBND tỉnh");
    assert_eq!(summary[1]["drops"], 1);

    let (status, head, csv) = get(
        s.http_addr(),
        &format!("/api/v1/meetings/{meeting}/attendance.csv?occurrence=0"),
        Some(&operator),
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/csv; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains(&format!("filename=\"attendance-{meeting}-0.csv\"")),
        "{head}"
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "\u{FEFF}terminal_id,terminal,unit,event,time");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[1].starts_with(&format!("{chair},Phòng họp tỉnh,Văn phòng UBND tỉnh,join,")),
        "{csv}"
    );
    assert!(lines[1].ends_with("+07:00"), "{csv}");
    let (status, _, body) = get(
        s.http_addr(),
        &format!("/api/v1/meetings/{meeting}/attendance"),
        Some(&operator),
    )
    .await;
    assert_eq!(status, 400, "no occurrence: {body}");
}

/// Open the event stream and return its first event (up to the blank line).
async fn sse_first_event(addr: SocketAddr, token: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/v1/board/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(DEADLINE, async {
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "the stream ended: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                assert!(head.contains("200 OK"), "{head}");
                assert!(
                    head.to_ascii_lowercase().contains("text/event-stream"),
                    "{head}"
                );
                // Chunked: the event is inside a chunk; find it by its fields.
                if let Some(start) = body.find("event: board") {
                    if let Some(end) = body[start..].find("\n\n") {
                        return body[start..start + end].to_string();
                    }
                }
            }
        }
    })
    .await
    .expect("no board event within the deadline")
}
