//! `POST /api/v1/me/meetings/{id}/join-token`: only rostered room terminals, only inside
//! an occurrence's join window, a token valid for exactly that window and naming the
//! occurrence's room and the terminal's role.

use axum::http::{Method, StatusCode};
use chrono::DateTime;
use serde_json::Value;
use signaling::access::{credential_tag, unix_now, Audience};
use signaling::auth::Role;
use signaling::credentials::credential_hash;
use signaling::protocol::GrantsWire;
use signaling::schedule::{
    format_local, to_local, Frequency, JoinWindow, MeetingMode, MeetingSpec, Recurrence,
};

use super::{error_of, Api};

/// A terminal of a fresh unit and its device session token.
async fn terminal(api: &Api, name: &str) -> (String, String) {
    let unit = api.unit(&format!("Xã {name}")).await;
    let credential = format!("hnd_{name}");
    let id = api.endpoint(&unit, name, &credential).await;
    let tag = credential_tag(&credential_hash(&credential));
    let token = api
        .sessions()
        .issue(Audience::Device, &id, Some(tag))
        .unwrap()
        .0;
    (id, token)
}

fn spec(host: &str, roster: &[&str], start: i64, end: i64) -> MeetingSpec {
    MeetingSpec {
        title: "Họp trực tuyến".into(),
        agenda: String::new(),
        start_utc: DateTime::from_timestamp(start, 0).unwrap(),
        end_utc: DateTime::from_timestamp(end, 0).unwrap(),
        host_terminal_id: host.into(),
        roster: roster.iter().map(|r| r.to_string()).collect(),
        mode: MeetingMode::ControlledDiscussion,
        recurrence: None,
        cancelled_occurrences: Vec::new(),
        cancelled: false,
    }
}

/// A daily series of `days` occurrences.
fn daily(host: &str, roster: &[&str], start: i64, end: i64, days: i64) -> MeetingSpec {
    let mut s = spec(host, roster, start, end);
    let until = DateTime::from_timestamp(start + (days - 1) * 86_400, 0).unwrap();
    s.recurrence = Some(Recurrence {
        freq: Frequency::Daily,
        interval: 1,
        weekdays: Vec::new(),
        until: to_local(until).date_naive(),
    });
    s
}

async fn store(api: &Api, spec: &MeetingSpec) -> String {
    spec.validate().unwrap();
    api.store.create_meeting(spec, "test").await.unwrap().id
}

async fn ask(api: &Api, meeting: &str, token: &str) -> (StatusCode, Value) {
    api.call(
        Method::POST,
        &format!("/api/v1/me/meetings/{meeting}/join-token"),
        Some(token),
        None,
    )
    .await
}

fn now() -> i64 {
    unix_now() as i64
}

#[tokio::test]
async fn a_rostered_terminal_in_the_window_gets_a_token_for_its_occurrence_room() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let (host, host_t) = terminal(&api, "Chủ trì").await;
    let (room, room_t) = terminal(&api, "Phường 1").await;
    let (stranger, stranger_t) = terminal(&api, "Ngoài").await;
    let start = now() + 300;
    let id = store(&api, &spec(&host, &[&host, &room], start, start + 3600)).await;

    for (who, token, role) in [
        (&host, &host_t, Role::Host),
        (&room, &room_t, Role::Participant),
    ] {
        let (status, body) = ask(&api, &id, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let jwt = body["token"].as_str().unwrap();
        let claims = api.state.keys.verify(jwt).expect("the server's own token");
        let room_name = format!("{id}:0");
        assert_eq!(claims.sub, *who);
        assert_eq!(claims.room, room_name);
        assert_eq!(claims.meeting.as_deref(), Some(id.as_str()));
        assert_eq!(claims.role, role);
        assert_eq!(
            claims.grants,
            GrantsWire {
                publish: true,
                subscribe: true
            }
        );
        assert_eq!(claims.nbf, Some((start - 3600) as u64));
        assert_eq!(claims.exp, (start + 3600 + 900) as u64);
        assert_eq!(body["room"], room_name.as_str());
        assert_eq!(body["role"], role.as_str());
        assert_eq!(body["meeting_id"], id.as_str());
        assert_eq!(body["occurrence_start"], start);
        assert_eq!(body["occurrence_end"], start + 3600);
        assert_eq!(body["not_before"], start - 3600);
        assert_eq!(body["expires_at"], start + 3600 + 900);
        assert_eq!(body["join_url"], format!("/join#token={jwt}"));
    }
    let (_, body) = ask(&api, &id, &host_t).await;
    let name = api
        .state
        .keys
        .verify(body["token"].as_str().unwrap())
        .unwrap()
        .name;
    assert_eq!(name, "Chủ trì");

    // Not on the roster.
    let (status, body) = ask(&api, &id, &stranger_t).await;
    assert_eq!(
        error_of(status, &body),
        (403, "not_rostered", "-"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains(&id), "{body}");
    assert!(!stranger.is_empty());

    // Staff, whatever their role, get no join token.
    for staff in [&t.administrator, &t.scheduler, &t.operator] {
        let (status, body) = ask(&api, &id, staff).await;
        assert_eq!(error_of(status, &body), (403, "forbidden", "-"), "{body}");
    }
    let (status, body) = ask(&api, "khong-co", &host_t).await;
    assert_eq!(error_of(status, &body), (404, "not_found", "-"), "{body}");
}

#[tokio::test]
async fn before_the_window_and_after_the_grace_the_next_opening_is_given() {
    let api = Api::new().await;
    let (early, early_t) = terminal(&api, "Sớm").await;
    let (late, late_t) = terminal(&api, "Muộn").await;
    let (over, over_t) = terminal(&api, "Hết").await;

    // Starts in 2 hours: the window opens in 1 hour.
    let start = now() + 2 * 3600;
    let id = store(&api, &spec(&early, &[&early], start, start + 3600)).await;
    let (status, body) = ask(&api, &id, &early_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert_eq!(body["opens_at"], start - 3600);
    assert_eq!(body["closes_at"], start + 3600 + 900);
    let message = body["message"].as_str().unwrap();
    let opens = DateTime::from_timestamp(start - 3600, 0).unwrap();
    assert!(message.contains(&format_local(opens)), "{message}");
    assert!(message.contains("Asia/Ho_Chi_Minh"), "{message}");

    // A daily series whose first sitting ended 16 minutes ago: past its grace, and the
    // next window is tomorrow's.
    let end = now() - 16 * 60;
    let id = store(&api, &daily(&late, &[&late], end - 3600, end, 3)).await;
    let (status, body) = ask(&api, &id, &late_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert_eq!(body["opens_at"], end - 3600 + 86_400 - 3600);
    assert_eq!(body["closes_at"], end + 86_400 + 900);

    // A one-off that is over: nothing left to open.
    let id = store(&api, &spec(&over, &[&over], end - 3600, end)).await;
    let (status, body) = ask(&api, &id, &over_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert!(body.get("opens_at").is_none(), "{body}");
}

#[tokio::test]
async fn cancelled_meetings_and_occurrences_give_no_token() {
    let api = Api::new().await;
    let (a, a_t) = terminal(&api, "A").await;
    let (b, b_t) = terminal(&api, "B").await;
    let start = now() + 300;

    let id = store(&api, &spec(&a, &[&a], start, start + 3600)).await;
    api.store.cancel_meeting(&id).await.unwrap();
    let (status, body) = ask(&api, &id, &a_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("cancelled"),
        "{body}"
    );
    assert!(body.get("opens_at").is_none(), "{body}");

    // Today's sitting of a daily series is called off: come back tomorrow.
    let id = store(&api, &daily(&b, &[&b], start, start + 3600, 3)).await;
    let today = to_local(DateTime::from_timestamp(start, 0).unwrap()).date_naive();
    api.store.cancel_occurrence(&id, today).await.unwrap();
    let (status, body) = ask(&api, &id, &b_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert_eq!(body["opens_at"], start + 86_400 - 3600);
}

#[tokio::test]
async fn the_configured_window_decides_the_token_and_the_next_meeting() {
    let window = JoinWindow {
        before_minutes: 10,
        grace_minutes: 0,
    };
    let api = Api::with_window(window).await;
    let (a, a_t) = terminal(&api, "A").await;
    let (b, b_t) = terminal(&api, "B").await;

    // 20 minutes ahead: outside a 10-minute window.
    let start = now() + 20 * 60;
    let id = store(&api, &spec(&a, &[&a], start, start + 1800)).await;
    let (status, body) = ask(&api, &id, &a_t).await;
    assert_eq!(
        error_of(status, &body),
        (409, "outside_window", "-"),
        "{body}"
    );
    assert_eq!(body["opens_at"], start - 600);
    assert_eq!(body["closes_at"], start + 1800);
    let (_, next) = api
        .call(Method::GET, "/api/v1/me/meetings/next", Some(&a_t), None)
        .await;
    assert_eq!(next["join_opens"], start - 600, "{next}");
    assert_eq!(next["join_closes"], start + 1800, "{next}");
    assert_eq!(next["joinable"], false, "{next}");

    // 5 minutes ahead: inside it, and the token ends with the meeting.
    let start = now() + 300;
    let id = store(&api, &spec(&b, &[&b], start, start + 1800)).await;
    let (status, body) = ask(&api, &id, &b_t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["not_before"], start - 600);
    assert_eq!(body["expires_at"], start + 1800);
    let claims = api
        .state
        .keys
        .verify(body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.role, Role::Host);
    assert_eq!(
        (claims.nbf, claims.exp),
        (Some((start - 600) as u64), (start + 1800) as u64)
    );
}
