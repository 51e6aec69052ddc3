//! Meetings through the API: double booking, recurrence over a month, cancelling,
//! validation naming the field, what a room terminal sees, and the calendars.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::TimeZone as _;
use serde_json::{json, Value};
use signaling::schedule::PROVINCE_TZ;
use tower::ServiceExt;

use super::{error_of, Api};

/// Unix seconds of a Hà Nội wall-clock time.
fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    PROVINCE_TZ
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .timestamp()
}

fn meeting(title: &str, start: i64, end: i64, roster: &[&str]) -> Value {
    json!({
        "title": title,
        "agenda": "1. Báo cáo tình hình",
        "start": start,
        "end": end,
        "host_endpoint_id": roster[0],
        "roster": roster,
        "mode": "controlled_discussion",
    })
}

/// Three terminals of one commune.
async fn rooms(api: &Api) -> [String; 3] {
    let unit = api.unit("Xã Thanh Nưa").await;
    [
        api.endpoint(&unit, "Phòng A", "hnd_a").await,
        api.endpoint(&unit, "Phòng B", "hnd_b").await,
        api.endpoint(&unit, "Phòng C", "hnd_c").await,
    ]
}

#[tokio::test]
async fn double_booking_is_refused_naming_the_meeting_and_the_time() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let s = Some(t.scheduler.as_str());
    let [a, b, c] = rooms(&api).await;
    // Every Monday of January 2030 (the 7th is a Monday), 08:00–10:00, rooms A and B.
    let mut weekly = meeting(
        "Giao ban tuần",
        local(2030, 1, 7, 8, 0),
        local(2030, 1, 7, 10, 0),
        &[&a, &b],
    );
    weekly["recurrence"] = json!({"freq": "weekly", "until": "2030-01-31"});
    let (status, w) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(weekly))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    let w_id = w["id"].as_str().unwrap().to_string();
    assert_eq!(w["start_local"], "07/01/2030 08:00");
    assert_eq!(w["revision"], 1);

    // A one-off on the second Monday, 09:00–10:00, with B and C: B is taken.
    let clash = meeting(
        "Họp đột xuất",
        local(2030, 1, 14, 9, 0),
        local(2030, 1, 14, 10, 0),
        &[&c, &b],
    );
    let (status, e) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(clash.clone()))
        .await;
    assert_eq!(error_of(status, &e), (409, "conflict", "roster"), "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("Giao ban tuần"), "{message}");
    assert!(message.contains(&w_id), "{message}");
    assert!(message.contains("Phòng B"), "{message}");
    assert!(message.contains("14/01/2030 08:00"), "{message}");
    assert_eq!(e["conflicts"].as_array().unwrap().len(), 1, "{e}");
    assert_eq!(e["conflicts"][0]["meeting_id"], w_id.as_str());
    assert_eq!(e["conflicts"][0]["endpoint_id"], b.as_str());
    assert_eq!(
        e["conflicts"][0]["occurrence_start"],
        local(2030, 1, 14, 8, 0)
    );

    // Touching is fine: 10:00–11:00 right after, with B.
    let touching = meeting(
        "Họp ngay sau",
        local(2030, 1, 14, 10, 0),
        local(2030, 1, 14, 11, 0),
        &[&b],
    );
    let (status, after) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(touching))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    let after_id = after["id"].as_str().unwrap().to_string();

    // A weekly series on Wednesdays with the same rooms does not clash.
    let mut wednesdays = meeting(
        "Họp thứ Tư",
        local(2030, 1, 9, 8, 0),
        local(2030, 1, 9, 10, 0),
        &[&a, &b],
    );
    wednesdays["recurrence"] =
        json!({"freq": "weekly", "weekdays": ["wed"], "until": "2030-01-31"});
    let (status, body) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(wednesdays))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A weekly series clashing every Monday, in both rooms: every clash is listed.
    let mut mondays = meeting(
        "Họp thứ Hai",
        local(2030, 1, 7, 9, 0),
        local(2030, 1, 7, 9, 30),
        &[&a, &b],
    );
    mondays["recurrence"] = json!({"freq": "weekly", "until": "2030-01-31"});
    let (status, e) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(mondays))
        .await;
    assert_eq!(error_of(status, &e), (409, "conflict", "roster"), "{e}");
    assert_eq!(e["conflicts"].as_array().unwrap().len(), 8, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .ends_with("(8 clashes in all)"),
        "{e}"
    );

    // Editing the series does not clash with itself…
    let uri = format!("/api/v1/meetings/{w_id}");
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            s,
            Some(json!({"title": "Giao ban tuần (sửa)", "revision": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revision"], 2);
    // …but a stale revision is refused…
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            s,
            Some(json!({"agenda": "x", "revision": 1})),
        )
        .await;
    assert_eq!(
        error_of(status, &body),
        (409, "conflict", "revision"),
        "{body}"
    );
    // …and moving it half an hour later runs into the one-off after it.
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            s,
            Some(json!({"start": local(2030, 1, 7, 8, 30), "end": local(2030, 1, 7, 10, 30)})),
        )
        .await;
    assert_eq!(
        error_of(status, &body),
        (409, "conflict", "roster"),
        "{body}"
    );
    assert_eq!(body["conflicts"][0]["meeting_id"], after_id.as_str());

    // Once the series is called off, its rooms are free.
    let (status, body) = api
        .call(Method::POST, &format!("{uri}/cancel"), s, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["cancelled"].as_bool(), body["status"].as_str()),
        (Some(true), Some("cancelled"))
    );
    let (status, body) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(clash))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A cancelled occurrence frees its rooms too.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/meetings",
            s,
            Some(meeting(
                "Họp thứ Tư khác",
                local(2030, 1, 16, 8, 0),
                local(2030, 1, 16, 9, 0),
                &[&a],
            )),
        )
        .await;
    assert_eq!(
        error_of(status, &body),
        (409, "conflict", "roster"),
        "{body}"
    );
    let wed_id = body["conflicts"][0]["meeting_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/meetings/{wed_id}/cancellations"),
            s,
            Some(json!({"date": "2030-01-16"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/meetings",
            s,
            Some(meeting(
                "Họp thứ Tư khác",
                local(2030, 1, 16, 8, 0),
                local(2030, 1, 16, 9, 0),
                &[&a],
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_series_lists_every_occurrence_of_a_month_and_loses_a_cancelled_one() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let s = Some(t.scheduler.as_str());
    let [a, b, c] = rooms(&api).await;
    // Mondays, Wednesdays and Fridays of January 2030, 07:30–08:30 in Hà Nội
    // (00:30 UTC), for rooms A and B.
    let mut series = meeting(
        "Giao ban sáng",
        local(2030, 1, 7, 7, 30),
        local(2030, 1, 7, 8, 30),
        &[&a, &b],
    );
    series["recurrence"] =
        json!({"freq": "weekly", "weekdays": ["mon", "wed", "fri"], "until": "2030-01-31"});
    let (status, m) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(series))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    // Every other day in February, room C.
    let mut daily = meeting(
        "Trực ban",
        local(2030, 2, 1, 14, 0),
        local(2030, 2, 1, 15, 0),
        &[&c],
    );
    daily["recurrence"] = json!({"freq": "daily", "interval": 2, "until": "2030-02-28"});
    let (status, body) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(daily))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let january = format!(
        "/api/v1/meetings?from={}&to={}",
        local(2030, 1, 1, 0, 0),
        local(2030, 2, 1, 0, 0)
    );
    let dates = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|o| o["occurrence"]["local_date"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, list) = api.call(Method::GET, &january, s, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let days = [7, 9, 11, 14, 16, 18, 21, 23, 25, 28, 30];
    let expected: Vec<String> = days.iter().map(|d| format!("2030-01-{d:02}")).collect();
    assert_eq!(dates(&list), expected);
    for o in list.as_array().unwrap() {
        assert_eq!(o["meeting_id"], id.as_str());
        assert_eq!(o["occurrence"]["status"], "scheduled");
        assert!(o["occurrence"]["start_local"]
            .as_str()
            .unwrap()
            .ends_with(" 07:30"));
        let start = o["occurrence"]["start"].as_i64().unwrap();
        assert_eq!(o["occurrence"]["end"].as_i64().unwrap() - start, 3600);
        assert_eq!(start.rem_euclid(86_400), 1800, "00:30 UTC");
    }
    let (_, feb) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/meetings?from={}&to={}",
                local(2030, 2, 1, 0, 0),
                local(2030, 3, 1, 0, 0)
            ),
            s,
            None,
        )
        .await;
    assert_eq!(dates(&feb).len(), 14, "{feb}"); // 1, 3, …, 27

    // Filtered by terminal: C has only February's.
    let (_, of_c) = api
        .call(Method::GET, &format!("{january}&endpoint_id={c}"), s, None)
        .await;
    assert_eq!(of_c, json!([]));

    // Cancel Wednesday the 16th: gone from the list, named in the meeting.
    let cancel = format!("/api/v1/meetings/{id}/cancellations");
    let (status, body) = api
        .call(
            Method::POST,
            &cancel,
            s,
            Some(json!({"date": "2030-01-16"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cancelled_occurrences"], json!(["2030-01-16"]));
    assert_eq!(body["revision"], 2);
    let (_, list) = api.call(Method::GET, &january, s, None).await;
    let mut fewer = expected.clone();
    fewer.retain(|d| d != "2030-01-16");
    assert_eq!(dates(&list), fewer);
    // No sitting on Tuesday the 15th; not a date at all.
    for (date, status) in [("2030-01-15", 400), ("16/01/2030", 400)] {
        let (st, body) = api
            .call(Method::POST, &cancel, s, Some(json!({"date": date})))
            .await;
        assert_eq!(
            error_of(st, &body),
            (status, "invalid_field", "date"),
            "{body}"
        );
    }
    // An operator reads; a window too wide or backwards is refused.
    let (status, _) = api
        .call(Method::GET, &january, Some(&t.operator), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for query in ["from=100&to=50", "from=0&to=40000000"] {
        let (st, body) = api
            .call(Method::GET, &format!("/api/v1/meetings?{query}"), s, None)
            .await;
        assert_eq!(error_of(st, &body), (400, "invalid_field", "to"), "{body}");
    }
}

#[tokio::test]
async fn meeting_input_is_refused_naming_the_field() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let s = Some(t.scheduler.as_str());
    let [a, b, _] = rooms(&api).await;
    let (start, end) = (local(2030, 5, 6, 8, 0), local(2030, 5, 6, 10, 0));
    let good = meeting("Họp", start, end, &[&a, &b]);
    let with = |key: &str, value: Value| {
        let mut m = good.clone();
        m[key] = value;
        m
    };
    let without = |key: &str| {
        let mut m = good.clone();
        m.as_object_mut().unwrap().remove(key);
        m
    };
    let cases = [
        (without("title"), (400, "bad_request", "title")),
        (without("start"), (400, "bad_request", "start")),
        (without("roster"), (400, "bad_request", "roster")),
        (
            with("start", json!("2030-05-06T08:00")),
            (400, "bad_request", "start"),
        ),
        (with("mode", json!("chaotic")), (400, "bad_request", "mode")),
        (with("colour", json!(1)), (400, "bad_request", "colour")),
        (with("title", json!("  ")), (400, "invalid_field", "title")),
        (
            with("title", json!("a".repeat(201))),
            (400, "invalid_field", "title"),
        ),
        (
            with("title", json!("hai\ndòng")),
            (400, "invalid_field", "title"),
        ),
        (
            with("agenda", json!("a".repeat(4001))),
            (400, "invalid_field", "agenda"),
        ),
        (with("end", json!(start)), (400, "invalid_field", "end")),
        (
            with("end", json!(start - 60)),
            (400, "invalid_field", "end"),
        ),
        (
            with("end", json!(start + 25 * 3600)),
            (400, "invalid_field", "end"),
        ),
        (
            with("start", json!(i64::MAX)),
            (400, "invalid_field", "start"),
        ),
        (with("start", json!(0)), (400, "invalid_field", "start")),
        (with("roster", json!([])), (400, "invalid_field", "roster")),
        (
            with("roster", json!([a, b, b])),
            (400, "invalid_field", "roster[2]"),
        ),
        (
            with("roster", json!([b])),
            (400, "invalid_field", "host_endpoint_id"),
        ),
        (
            with(
                "recurrence",
                json!({"freq": "weekly", "until": "2030-05-01"}),
            ),
            (400, "invalid_field", "recurrence.until"),
        ),
        (
            with(
                "recurrence",
                json!({"freq": "weekly", "weekdays": ["tue"], "until": "2030-06-01"}),
            ),
            (400, "invalid_field", "recurrence.weekdays"),
        ),
        (
            with(
                "recurrence",
                json!({"freq": "daily", "until": "2032-01-01"}),
            ),
            (400, "invalid_field", "recurrence.until"),
        ),
        (
            with("roster", json!([a, "nope"])),
            (404, "not_found", "roster"),
        ),
        (
            with("host_endpoint_id", json!("nope")).tap_roster(&["nope", &a]),
            (404, "not_found", "host_endpoint_id"),
        ),
        (
            with("revision", json!(1)),
            (400, "invalid_field", "revision"),
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = api
            .call(Method::POST, "/api/v1/meetings", s, Some(body.clone()))
            .await;
        assert_eq!(error_of(status, &answer), expected, "{body} → {answer}");
    }
    let (status, _) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(good))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .call(Method::GET, "/api/v1/meetings/nope", s, None)
        .await;
    assert_eq!(error_of(status, &body), (404, "not_found", "-"));
}

trait TapRoster {
    fn tap_roster(self, roster: &[&str]) -> Value;
}

impl TapRoster for Value {
    fn tap_roster(mut self, roster: &[&str]) -> Value {
        self["roster"] = json!(roster);
        self
    }
}

#[tokio::test]
async fn a_room_terminal_sees_its_own_meetings_and_its_next_one() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let d = Some(t.device.as_str());
    let [a, b, _] = rooms(&api).await;
    let next = "/api/v1/me/meetings/next";
    assert_eq!(
        api.call(Method::GET, next, d, None).await.0,
        StatusCode::NO_CONTENT
    );

    let now = signaling::access::unix_now() as i64;
    let soon = api
        .meeting(&t.device_id, &[&t.device_id, &a], now + 1800, now + 5400)
        .await;
    let later = api
        .meeting(&t.device_id, &[&t.device_id], now + 86_400, now + 90_000)
        .await;
    let other = api.meeting(&b, &[&b], now + 1800, now + 5400).await;

    let (status, n) = api.call(Method::GET, next, d, None).await;
    assert_eq!(status, StatusCode::OK, "{n}");
    assert_eq!(n["meeting"]["id"], soon.as_str());
    assert_eq!(n["occurrence"]["start"], now + 1800);
    assert_eq!(n["join_opens"], now + 1800 - 3600);
    assert_eq!(n["join_closes"], now + 5400 + 15 * 60);
    assert_eq!(n["joinable"], true);

    // Cancelled, it is no longer next.
    let s = Some(t.scheduler.as_str());
    api.call(
        Method::POST,
        &format!("/api/v1/meetings/{soon}/cancel"),
        s,
        None,
    )
    .await;
    let (_, n) = api.call(Method::GET, next, d, None).await;
    assert_eq!(
        (n["meeting"]["id"].as_str(), n["joinable"].as_bool()),
        (Some(later.as_str()), Some(false))
    );

    // Its own meetings only.
    let (status, list) = api
        .call(
            Method::GET,
            &format!("/api/v1/meetings?to={}", now + 2 * 86_400),
            d,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["meeting_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [soon.as_str(), later.as_str()]);
    assert_eq!(list[0]["occurrence"]["status"], "cancelled");
    for uri in [
        format!("/api/v1/meetings/{other}"),
        format!("/api/v1/meetings/{other}/calendar.ics"),
        format!("/api/v1/meetings?endpoint_id={b}"),
        format!("/api/v1/endpoints/{b}/calendar.ics"),
    ] {
        let (status, body) = api.call(Method::GET, &uri, d, None).await;
        assert_eq!(error_of(status, &body), (403, "forbidden", "-"), "{uri}");
    }
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/endpoints/{}/calendar.ics", t.device_id),
            d,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn get_text(api: &Api, uri: &str, token: &str) -> (StatusCode, String, String) {
    let req = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let kind = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn calendars_are_icalendar_in_hanoi_time() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let s = Some(t.scheduler.as_str());
    let [a, b, _] = rooms(&api).await;
    let mut series = meeting(
        "Giao ban tuần",
        local(2030, 1, 7, 8, 0),
        local(2030, 1, 7, 10, 0),
        &[&a, &b],
    );
    series["recurrence"] = json!({"freq": "weekly", "until": "2030-01-28"});
    let (_, m) = api
        .call(Method::POST, "/api/v1/meetings", s, Some(series))
        .await;
    let id = m["id"].as_str().unwrap();
    api.call(
        Method::POST,
        &format!("/api/v1/meetings/{id}/cancellations"),
        s,
        Some(json!({"date": "2030-01-14"})),
    )
    .await;

    let (status, kind, ics) = get_text(
        &api,
        &format!("/api/v1/meetings/{id}/calendar.ics"),
        &t.operator,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/calendar; charset=utf-8");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    assert!(
        ics.contains("DTSTART;TZID=Asia/Ho_Chi_Minh:20300107T080000"),
        "{ics}"
    );
    assert!(ics.contains("RRULE:FREQ=WEEKLY"), "{ics}");
    assert!(
        ics.contains("EXDATE;TZID=Asia/Ho_Chi_Minh:20300114T080000"),
        "{ics}"
    );
    assert!(ics.contains("Phòng B"), "{ics}");

    let (status, kind, ics) = get_text(
        &api,
        &format!("/api/v1/endpoints/{b}/calendar.ics"),
        &t.scheduler,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/calendar; charset=utf-8")
    );
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
    assert!(ics.contains(&format!("UID:{id}@hoinghi")), "{ics}");
}

#[tokio::test]
async fn a_rostered_terminal_is_not_deleted() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let s = Some(t.scheduler.as_str());
    let [a, b, c] = rooms(&api).await;
    let (_, m) = api
        .call(
            Method::POST,
            "/api/v1/meetings",
            s,
            Some(meeting(
                "Họp tổng kết",
                local(2030, 1, 7, 8, 0),
                local(2030, 1, 7, 9, 0),
                &[&a, &b],
            )),
        )
        .await;
    let (status, body) = api
        .call(Method::DELETE, &format!("/api/v1/endpoints/{b}"), s, None)
        .await;
    assert_eq!(error_of(status, &body), (409, "conflict", "id"), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Họp tổng kết") && message.contains(m["id"].as_str().unwrap()),
        "{message}"
    );
    // Off the roster, it can go.
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/meetings/{}", m["id"].as_str().unwrap()),
            s,
            Some(json!({"roster": [a]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for room in [&b, &c] {
        let (status, _) = api
            .call(
                Method::DELETE,
                &format!("/api/v1/endpoints/{room}"),
                s,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}
