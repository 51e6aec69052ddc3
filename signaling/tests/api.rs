//! The REST API through `app()` with `oneshot`: who may call what (the authorisation
//! matrix), input validation, device-credential flows, logins, and the OpenAPI
//! document matching the routes.

mod db;
#[path = "api/join.rs"]
mod join;
#[path = "api/meetings.rs"]
mod meetings;

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use db::TestDb;
use serde_json::{json, Value};
use sfu::driver::DriverConfig;
use sfu::SfuHandle;
use signaling::access::{AccessClaims, Audience, SessionKeys};
use signaling::api::LoginThrottle;
use signaling::auth::{JoinTokens, ISSUER};
use signaling::credentials::{credential_hash, hash_password};
use signaling::store::{NewEndpoint, NewStaff, NewUnit, Role, Store};
use signaling::AppState;
use tower::ServiceExt;

const PASSWORD: &str = "mật-khẩu-thử-nghiệm";

struct Api {
    app: Router,
    /// What the handlers share (the join-token keys to verify issued tokens with).
    state: Arc<AppState>,
    store: Store,
    sessions_secret: [u8; 32],
    _db: TestDb,
}

struct Tokens {
    administrator: String,
    scheduler: String,
    operator: String,
    device: String,
    device_id: String,
    expired: String,
    wrong_key: String,
    wrong_kid: String,
}

impl Api {
    async fn new() -> Api {
        Api::with_window(signaling::schedule::JoinWindow::default()).await
    }

    /// An API whose meetings may be joined within `join_window`.
    async fn with_window(join_window: signaling::schedule::JoinWindow) -> Api {
        let db = TestDb::sqlite().await;
        let sfu = SfuHandle::start(DriverConfig {
            bind: (Ipv4Addr::LOCALHOST, 0).into(),
            public_ips: vec![Ipv4Addr::LOCALHOST.into()],
        })
        .await
        .expect("the SFU starts");
        let secret = [9; 32];
        let store = db.store.clone();
        let state = Arc::new(AppState {
            sfu,
            keys: JoinTokens::from_secret(&[7; 32]),
            store: store.clone(),
            sessions: SessionKeys::from_secret("k1", &secret),
            login_throttle: LoginThrottle::default(),
            join_window,
            metrics: Default::default(),
            board: Default::default(),
        });
        let app = signaling::app(state.clone());
        Api {
            app,
            state,
            store,
            sessions_secret: secret,
            _db: db,
        }
    }

    fn sessions(&self) -> SessionKeys {
        SessionKeys::from_secret("k1", &self.sessions_secret)
    }

    async fn staff(&self, username: &str, role: Role) -> String {
        // A cheap hash: these accounts are not logged in with a password.
        let s = self
            .store
            .create_staff(&NewStaff {
                username: username.into(),
                display_name: username.into(),
                role,
                password_hash: "x".into(),
            })
            .await
            .unwrap();
        self.sessions()
            .issue(Audience::Staff, &s.id, None)
            .unwrap()
            .0
    }

    async fn unit(&self, name: &str) -> String {
        self.store
            .create_unit(&NewUnit {
                parent_id: None,
                name: name.into(),
                level: "Xã".into(),
            })
            .await
            .unwrap()
            .id
    }

    async fn endpoint(&self, unit: &str, name: &str, credential: &str) -> String {
        self.store
            .create_endpoint(
                &NewEndpoint {
                    unit_id: unit.into(),
                    name: name.into(),
                    location: String::new(),
                    bitrate_cap_kbps: None,
                },
                &credential_hash(credential),
            )
            .await
            .unwrap()
            .id
    }

    /// A one-off meeting stored directly, returning its id.
    async fn meeting(&self, host: &str, roster: &[&str], start: i64, end: i64) -> String {
        let spec = signaling::schedule::MeetingSpec {
            title: "Họp giao ban".into(),
            agenda: String::new(),
            start_utc: chrono::DateTime::from_timestamp(start, 0).unwrap(),
            end_utc: chrono::DateTime::from_timestamp(end, 0).unwrap(),
            host_terminal_id: host.into(),
            roster: roster.iter().map(|r| r.to_string()).collect(),
            mode: signaling::schedule::MeetingMode::Directive,
            recurrence: None,
            cancelled_occurrences: Vec::new(),
            cancelled: false,
        };
        spec.validate().unwrap();
        self.store.create_meeting(&spec, "test").await.unwrap().id
    }

    async fn tokens(&self) -> Tokens {
        let unit = self.unit("Đơn vị thiết bị").await;
        let endpoint = self.endpoint(&unit, "Thiết bị", "hnd_device").await;
        let tag = signaling::access::credential_tag(&credential_hash("hnd_device"));
        let device = self
            .sessions()
            .issue(Audience::Device, &endpoint, Some(tag))
            .unwrap()
            .0;
        let administrator = self.staff("quantri", Role::Administrator).await;
        let admin_id = self
            .store
            .staff_login("quantri")
            .await
            .unwrap()
            .unwrap()
            .0
            .id;
        let now = signaling::access::unix_now();
        let expired = self
            .sessions()
            .sign(&AccessClaims {
                iss: ISSUER.into(),
                aud: Audience::Staff,
                sub: admin_id.clone(),
                iat: now - 3700,
                exp: now - 100,
                cred: None,
            })
            .unwrap();
        let wrong_key = SessionKeys::from_secret("k1", &[1; 32])
            .issue(Audience::Staff, &admin_id, None)
            .unwrap()
            .0;
        let wrong_kid = SessionKeys::from_secret("k0", &self.sessions_secret)
            .issue(Audience::Staff, &admin_id, None)
            .unwrap()
            .0;
        Tokens {
            administrator,
            scheduler: self.staff("laplich", Role::Scheduler).await,
            operator: self.staff("vanhanh", Role::Operator).await,
            device,
            device_id: endpoint,
            expired,
            wrong_key,
            wrong_kid,
        }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        // An event stream does not end: its status is the answer.
        if res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t == "text/event-stream")
        {
            return (status, Value::Null);
        }
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }
}

/// One route of the matrix. `{id}` in the path is replaced by a unit, endpoint, staff
/// account or meeting made fresh for every call, so that deleting, rotating, revoking
/// or cancelling one does not disturb the next.
struct Case {
    method: Method,
    path: &'static str,
    body: fn(&Refs, u32) -> Option<Value>,
    /// Administrator, scheduler, operator, room terminal.
    expect: [u16; 4],
}

/// The records made fresh for one call of the matrix.
struct Refs {
    unit: String,
    /// A terminal of `unit`. For the meeting routes, `{id}` is a meeting it hosts with
    /// the device-token terminal, at [`slot`]`(n)` + 1 h for one hour.
    endpoint: String,
}

fn no_body(_: &Refs, _: u32) -> Option<Value> {
    None
}

/// A 4-hour slot of its own for the `n`th call of the matrix, from 2030-01-01 UTC, so
/// that the meetings made for the calls never overlap.
fn slot(n: u32) -> i64 {
    1_893_456_000 + i64::from(n) * 4 * 3600
}

/// A meeting of `endpoint` alone in the second half of slot `n`.
fn meeting_body(endpoint: &str, n: u32) -> Value {
    json!({
        "title": format!("Họp {n}"),
        "start": slot(n) + 2 * 3600 + 1800,
        "end": slot(n) + 3 * 3600 + 1800,
        "host_endpoint_id": endpoint,
        "roster": [endpoint],
        "mode": "directive",
    })
}

/// The local date (Hà Nội) of unix time `t`.
fn local_date(t: i64) -> String {
    let t = chrono::DateTime::from_timestamp(t, 0).unwrap();
    signaling::schedule::to_local(t).date_naive().to_string()
}

fn cases() -> Vec<Case> {
    use Method as M;
    let c = |method, path, body, expect| Case {
        method,
        path,
        body,
        expect,
    };
    vec![
        c(M::GET, "/api/v1/me", no_body, [200, 200, 200, 200]),
        c(M::GET, "/api/v1/units", no_body, [200, 200, 200, 403]),
        c(M::GET, "/api/v1/units/tree", no_body, [200, 200, 200, 403]),
        c(M::GET, "/api/v1/units/{id}", no_body, [200, 200, 200, 403]),
        c(
            M::POST,
            "/api/v1/units",
            |_, n| Some(json!({"name": format!("Xã mới {n}"), "level": "Xã"})),
            [201, 201, 403, 403],
        ),
        c(
            M::PATCH,
            "/api/v1/units/{id}",
            |_, n| Some(json!({"name": format!("Xã đổi tên {n}")})),
            [200, 200, 403, 403],
        ),
        c(
            M::DELETE,
            "/api/v1/units/{id}",
            no_body,
            [204, 204, 403, 403],
        ),
        c(M::GET, "/api/v1/endpoints", no_body, [200, 200, 200, 403]),
        c(
            M::GET,
            "/api/v1/endpoints/{id}",
            no_body,
            [200, 200, 200, 403],
        ),
        c(
            M::POST,
            "/api/v1/endpoints",
            |r, n| Some(json!({"unit_id": r.unit, "name": format!("Phòng {n}")})),
            [201, 201, 403, 403],
        ),
        c(
            M::PATCH,
            "/api/v1/endpoints/{id}",
            |_, _| Some(json!({"bitrate_cap_kbps": 512})),
            [200, 200, 403, 403],
        ),
        c(
            M::DELETE,
            "/api/v1/endpoints/{id}",
            no_body,
            [204, 204, 403, 403],
        ),
        c(
            M::POST,
            "/api/v1/endpoints/{id}/credential",
            no_body,
            [200, 200, 403, 403],
        ),
        c(
            M::POST,
            "/api/v1/endpoints/{id}/revoke",
            no_body,
            [200, 200, 403, 403],
        ),
        c(
            M::GET,
            "/api/v1/endpoints/{id}/calendar.ics",
            no_body,
            [200, 200, 200, 403],
        ),
        c(M::GET, "/api/v1/meetings", no_body, [200, 200, 200, 200]),
        c(
            M::POST,
            "/api/v1/meetings",
            |r, n| Some(meeting_body(&r.endpoint, n)),
            [201, 201, 403, 403],
        ),
        c(
            M::GET,
            "/api/v1/meetings/{id}",
            no_body,
            [200, 200, 200, 200],
        ),
        c(
            M::PUT,
            "/api/v1/meetings/{id}",
            |r, n| Some(meeting_body(&r.endpoint, n)),
            [200, 200, 403, 403],
        ),
        c(
            M::PATCH,
            "/api/v1/meetings/{id}",
            |_, n| Some(json!({"title": format!("Họp đổi tên {n}")})),
            [200, 200, 403, 403],
        ),
        c(
            M::POST,
            "/api/v1/meetings/{id}/cancel",
            no_body,
            [200, 200, 403, 403],
        ),
        c(
            M::POST,
            "/api/v1/meetings/{id}/cancellations",
            |_, n| Some(json!({"date": local_date(slot(n) + 3600)})),
            [200, 200, 403, 403],
        ),
        c(
            M::GET,
            "/api/v1/meetings/{id}/calendar.ics",
            no_body,
            [200, 200, 200, 200],
        ),
        c(
            M::GET,
            "/api/v1/me/meetings/next",
            no_body,
            [403, 403, 403, 200],
        ),
        // The matrix's meetings lie in 2030: the rostered terminal is told when to come.
        c(
            M::POST,
            "/api/v1/me/meetings/{id}/join-token",
            no_body,
            [403, 403, 403, 409],
        ),
        c(M::GET, "/api/v1/board", no_body, [200, 403, 200, 403]),
        c(
            M::GET,
            "/api/v1/board/events",
            no_body,
            [200, 403, 200, 403],
        ),
        c(
            M::GET,
            "/api/v1/meetings/{id}/attendance",
            no_body,
            [200, 200, 200, 403],
        ),
        c(
            M::GET,
            "/api/v1/meetings/{id}/attendance.csv",
            no_body,
            [200, 200, 200, 403],
        ),
        c(M::GET, "/api/v1/staff", no_body, [200, 403, 403, 403]),
        c(
            M::POST,
            "/api/v1/staff",
            |_, n| {
                Some(
                    json!({"username": format!("nv{n}"), "display_name": "Nhân viên", "role": "operator", "password": PASSWORD}),
                )
            },
            [201, 403, 403, 403],
        ),
        c(
            M::PATCH,
            "/api/v1/staff/{id}",
            |_, _| Some(json!({"display_name": "Tên mới"})),
            [200, 403, 403, 403],
        ),
        c(
            M::DELETE,
            "/api/v1/staff/{id}",
            no_body,
            [204, 403, 403, 403],
        ),
    ]
}

#[tokio::test]
async fn every_role_gets_what_its_role_allows_and_nothing_more() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let mut n = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let callers: [(&str, Option<&str>, u16); 8] = [
            ("administrator", Some(&t.administrator), case.expect[0]),
            ("scheduler", Some(&t.scheduler), case.expect[1]),
            ("operator", Some(&t.operator), case.expect[2]),
            ("device", Some(&t.device), case.expect[3]),
            ("no token", None, 401),
            ("expired", Some(&t.expired), 401),
            ("wrong key", Some(&t.wrong_key), 401),
            ("wrong kid", Some(&t.wrong_kid), 401),
        ];
        for (who, token, expected) in callers {
            n += 1;
            let unit = api.unit(&format!("Đơn vị {n}")).await;
            // A unit must stay empty for DELETE /api/v1/units/{id}.
            let endpoint = if case.path.starts_with("/api/v1/units") {
                String::new()
            } else {
                api.endpoint(&unit, "Phòng", &format!("hnd_{n}")).await
            };
            let meeting = if case.path.contains("/meetings") {
                api.meeting(
                    &endpoint,
                    &[&endpoint, &t.device_id],
                    slot(n) + 3600,
                    slot(n) + 2 * 3600,
                )
                .await
            } else {
                String::new()
            };
            let id = if case.path.starts_with("/api/v1/units/") {
                unit.clone()
            } else if case.path.starts_with("/api/v1/endpoints/") {
                endpoint.clone()
            } else if case.path.starts_with("/api/v1/meetings/")
                || case.path.starts_with("/api/v1/me/meetings/")
            {
                meeting.clone()
            } else if case.path.starts_with("/api/v1/staff/") {
                api.staff(&format!("tam{n}"), Role::Operator).await;
                api.store
                    .staff_login(&format!("tam{n}"))
                    .await
                    .unwrap()
                    .unwrap()
                    .0
                    .id
            } else {
                String::new()
            };
            let mut uri = case.path.replace("{id}", &id);
            if uri.contains("/attendance") {
                uri.push_str("?occurrence=0");
            }
            let refs = Refs { unit, endpoint };
            let (status, body) = api
                .call(case.method.clone(), &uri, token, (case.body)(&refs, n))
                .await;
            if status.as_u16() != expected {
                failures.push(format!(
                    "{who} {} {}: {status} (expected {expected}) {body}",
                    case.method, case.path
                ));
            }
            if status.is_client_error() {
                let code = body["code"].as_str().unwrap_or_default();
                let want = match expected {
                    401 => "unauthorized",
                    403 => "forbidden",
                    _ => code,
                };
                assert_eq!(code, want, "{who} {} {}: {body}", case.method, case.path);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let (status, doc) = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{doc}"
    );
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "patch", "delete", "put"] {
            if let Some(op) = item.get(method) {
                documented.push((method.to_uppercase(), path.clone()));
                // Every route but the logins requires the bearer token.
                let public = path.starts_with("/api/v1/auth/");
                assert_eq!(op.get("security").is_some(), !public, "{method} {path}");
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
                // It is served: not the unknown-route answer, not 405.
                let uri = path.replace("{id}", "nope");
                let (status, body) = api
                    .call(
                        method.to_uppercase().parse().unwrap(),
                        &uri,
                        Some(&t.administrator),
                        Some(json!({})),
                    )
                    .await;
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                assert!(
                    !(status == StatusCode::NOT_FOUND && body["message"] == "API route not found"),
                    "{method} {path} is documented but not served"
                );
            }
        }
    }
    let mut matrix: Vec<(String, String)> = cases()
        .into_iter()
        .map(|c| (c.method.to_string(), c.path.to_string()))
        .chain([
            ("POST".into(), "/api/v1/auth/login".into()),
            ("POST".into(), "/api/v1/auth/device".into()),
        ])
        .collect();
    matrix.sort();
    documented.sort();
    assert_eq!(
        documented, matrix,
        "the document and the authorisation matrix differ"
    );
    // Every schema it refers to is in it.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is referred to but not defined"
        );
    }

    // Not served: JSON 404 and 405, not the web client.
    let (status, body) = api.call(Method::GET, "/api/v1/nope", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = api
        .call(Method::PUT, "/api/v1/units", Some(&t.administrator), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// (status, code, field) of an answer.
fn error_of(status: StatusCode, body: &Value) -> (u16, &str, &str) {
    (
        status.as_u16(),
        body["code"].as_str().unwrap_or("-"),
        body["field"].as_str().unwrap_or("-"),
    )
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let admin = Some(t.administrator.as_str());
    let unit = api.unit("Xã Mường Phăng").await;
    let child = api
        .call(
            Method::POST,
            "/api/v1/units",
            admin,
            Some(json!({"parent_id": unit, "name": "Thôn 1", "level": "Thôn"})),
        )
        .await;
    assert_eq!(child.0, StatusCode::CREATED, "{}", child.1);
    let child = child.1["id"].as_str().unwrap().to_string();
    let long = "a".repeat(201);
    let post = |path: &'static str, body: Value| (Method::POST, path.to_string(), body);
    let cases = [
        (
            post("/api/v1/units", json!({"level": "Xã"})),
            (400, "bad_request", "name"),
        ),
        (
            post("/api/v1/units", json!({"name": 5, "level": "Xã"})),
            (400, "bad_request", "name"),
        ),
        (
            post(
                "/api/v1/units",
                json!({"name": "X", "level": "Xã", "colour": 1}),
            ),
            (400, "bad_request", "colour"),
        ),
        (
            post("/api/v1/units", json!({"name": long, "level": "Xã"})),
            (400, "invalid_field", "name"),
        ),
        (
            post("/api/v1/units", json!({"name": "  ", "level": "Xã"})),
            (400, "invalid_field", "name"),
        ),
        (
            post(
                "/api/v1/units",
                json!({"name": "X", "level": "Xã", "parent_id": "nope"}),
            ),
            (404, "not_found", "parent_id"),
        ),
        (
            post(
                "/api/v1/units",
                json!({"name": "Xã Mường Phăng", "level": "Xã"}),
            ),
            (409, "conflict", "name"),
        ),
        (
            (
                Method::PATCH,
                format!("/api/v1/units/{unit}"),
                json!({"parent_id": child}),
            ),
            (409, "conflict", "parent_id"),
        ),
        (
            post("/api/v1/endpoints", json!({"unit_id": "nope", "name": "P"})),
            (404, "not_found", "unit_id"),
        ),
        (
            post(
                "/api/v1/endpoints",
                json!({"unit_id": unit, "name": "P", "bitrate_cap_kbps": 10}),
            ),
            (400, "invalid_field", "bitrate_cap_kbps"),
        ),
        (
            post(
                "/api/v1/endpoints",
                json!({"unit_id": unit, "name": "P", "bitrate_cap_kbps": 20001}),
            ),
            (400, "invalid_field", "bitrate_cap_kbps"),
        ),
        (
            post(
                "/api/v1/endpoints",
                json!({"unit_id": unit, "name": "P", "bitrate_cap_kbps": "fast"}),
            ),
            (400, "bad_request", "bitrate_cap_kbps"),
        ),
        (
            post(
                "/api/v1/endpoints",
                json!({"unit_id": unit, "name": "P", "location": long}),
            ),
            (400, "invalid_field", "location"),
        ),
        (
            post("/api/v1/endpoints", json!({"name": "P"})),
            (400, "bad_request", "unit_id"),
        ),
        (
            (
                Method::PATCH,
                "/api/v1/endpoints/nope".into(),
                json!({"name": "P"}),
            ),
            (404, "not_found", "-"),
        ),
        (
            post(
                "/api/v1/staff",
                json!({"username": "a b", "display_name": "A", "role": "operator", "password": PASSWORD}),
            ),
            (400, "invalid_field", "username"),
        ),
        (
            post(
                "/api/v1/staff",
                json!({"username": "ab", "display_name": "A", "role": "boss", "password": PASSWORD}),
            ),
            (400, "bad_request", "role"),
        ),
        (
            post(
                "/api/v1/staff",
                json!({"username": "ab", "display_name": "A", "role": "operator", "password": "short"}),
            ),
            (400, "invalid_field", "password"),
        ),
        (
            post(
                "/api/v1/staff",
                json!({"username": "quantri", "display_name": "A", "role": "operator", "password": PASSWORD}),
            ),
            (409, "conflict", "username"),
        ),
        (
            post("/api/v1/auth/login", json!({"username": "quantri"})),
            (400, "bad_request", "password"),
        ),
    ];
    for ((method, uri, body), expected) in cases {
        let (status, answer) = api
            .call(method.clone(), &uri, admin, Some(body.clone()))
            .await;
        assert_eq!(
            error_of(status, &answer),
            expected,
            "{method} {uri} {body}: {answer}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }

    let (status, body) = api
        .call(Method::GET, "/api/v1/endpoints?subtree=maybe", admin, None)
        .await;
    assert_eq!(error_of(status, &body), (400, "bad_request", "-"), "{body}");

    // Not JSON; too large.
    let req = |body: Vec<u8>| {
        Request::post("/api/v1/units")
            .header(header::AUTHORIZATION, format!("Bearer {}", t.administrator))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, body) = api.send(req(b"{not json".to_vec())).await;
    assert_eq!(error_of(status, &body), (400, "bad_request", "-"), "{body}");
    let big = format!(r#"{{"name": "{}", "level": "Xã"}}"#, "a".repeat(70 * 1024));
    let (status, body) = api.send(req(big.into_bytes())).await;
    assert_eq!(
        error_of(status, &body),
        (413, "payload_too_large", "-"),
        "{body}"
    );
}

#[tokio::test]
async fn a_credential_is_shown_once_and_rotation_and_revocation_end_it() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let admin = Some(t.scheduler.as_str());
    let unit = api.unit("Xã Nà Tấu").await;
    let (status, created) = api
        .call(Method::POST, "/api/v1/endpoints", admin, Some(json!({"unit_id": unit, "name": "Điểm cầu UBND xã", "location": "Hội trường", "bitrate_cap_kbps": 768})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let credential = created["credential"].as_str().unwrap().to_string();
    let id = created["endpoint"]["id"].as_str().unwrap().to_string();
    assert!(credential.len() >= 43, "{credential}");

    // Never again: not in GET, not in the list.
    for uri in [
        format!("/api/v1/endpoints/{id}"),
        "/api/v1/endpoints".into(),
        format!("/api/v1/endpoints?unit_id={unit}"),
    ] {
        let (status, body) = api.call(Method::GET, &uri, admin, None).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        assert!(
            !text.contains(&credential) && !text.contains("credential"),
            "{uri}: {text}"
        );
    }

    let device_login = |credential: String| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/auth/device",
                None,
                Some(json!({"credential": credential})),
            )
            .await
        }
    };
    let (status, session) = device_login(credential.clone()).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let old_token = session["token"].as_str().unwrap().to_string();
    let (status, me) = api
        .call(Method::GET, "/api/v1/me", Some(&old_token), None)
        .await;
    assert_eq!(
        (status, me["kind"].as_str(), me["id"].as_str()),
        (StatusCode::OK, Some("endpoint"), Some(id.as_str()))
    );

    let (_, wrong) = device_login("hnd_wrong".into()).await;
    // Rotation: new credential works, the old one and its sessions do not.
    let (status, rotated) = api
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/credential"),
            admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_credential = rotated["credential"].as_str().unwrap().to_string();
    assert_ne!(new_credential, credential);
    let (status, body) = device_login(credential.clone()).await;
    assert_eq!(
        (status, &body),
        (StatusCode::UNAUTHORIZED, &wrong),
        "the old credential still works"
    );
    let (status, _) = api
        .call(Method::GET, "/api/v1/me", Some(&old_token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a session of the old credential goes on"
    );
    let (status, session) = device_login(new_credential.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let token = session["token"].as_str().unwrap().to_string();

    // Revocation: no login, no session; the same answer as a wrong credential.
    let (status, revoked) = api
        .call(
            Method::POST,
            &format!("/api/v1/endpoints/{id}/revoke"),
            admin,
            None,
        )
        .await;
    assert_eq!(
        (status, revoked["revoked"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (status, body) = device_login(new_credential.clone()).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &wrong));
    let (status, _) = api
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn staff_log_in_with_one_answer_for_every_failure_and_are_locked_out() {
    let api = Api::new().await;
    let hash = hash_password(PASSWORD).unwrap();
    api.store
        .create_staff(&NewStaff {
            username: "lan".into(),
            display_name: "Nguyễn Thị Lan".into(),
            role: Role::Scheduler,
            password_hash: hash,
        })
        .await
        .unwrap();
    let login = |username: &str, password: &str| {
        api.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
    };
    let (status, session) = login("Lan", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(
        (session["role"].as_str(), session["display_name"].as_str()),
        (Some("scheduler"), Some("Nguyễn Thị Lan"))
    );
    let exp = session["expires_at"].as_u64().unwrap();
    assert!(exp.abs_diff(signaling::access::unix_now() + 3600) < 5);
    let token = session["token"].as_str().unwrap();
    let (status, me) = api.call(Method::GET, "/api/v1/me", Some(token), None).await;
    assert_eq!(
        (status, me["kind"].as_str(), me["username"].as_str()),
        (StatusCode::OK, Some("staff"), Some("lan"))
    );
    assert!(me.get("password_hash").is_none(), "{me}");

    let (s1, wrong_password) = login("lan", "not the password").await;
    let (s2, unknown_user) = login("nobody", PASSWORD).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong_password, unknown_user, "the answers tell users apart");

    // Four more failures lock the username, even with the right password; another
    // username is unaffected.
    for _ in 0..4 {
        assert_eq!(
            login("lan", "still wrong").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = login("lan", PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
    );
    assert_eq!(login("nobody", PASSWORD).await.0, StatusCode::UNAUTHORIZED);

    // A deleted account's session ends at once.
    let id = me["id"].as_str().unwrap();
    api.store
        .create_staff(&NewStaff {
            username: "admin2".into(),
            display_name: "A".into(),
            role: Role::Administrator,
            password_hash: "x".into(),
        })
        .await
        .unwrap();
    api.store.delete_staff(id).await.unwrap();
    assert_eq!(
        api.call(Method::GET, "/api/v1/me", Some(token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn nobody_removes_the_last_administrator() {
    let api = Api::new().await;
    let t = api.tokens().await;
    let admin = Some(t.administrator.as_str());
    let (_, me) = api.call(Method::GET, "/api/v1/me", admin, None).await;
    let id = me["id"].as_str().unwrap();
    let (status, body) = api
        .call(Method::DELETE, &format!("/api/v1/staff/{id}"), admin, None)
        .await;
    assert_eq!(error_of(status, &body), (409, "conflict", "id"), "{body}");
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/staff/{id}"),
            admin,
            Some(json!({"role": "operator"})),
        )
        .await;
    assert_eq!(error_of(status, &body), (409, "conflict", "role"), "{body}");
}

#[tokio::test]
async fn the_tree_nests_units_under_their_parents() {
    let api = Api::new().await;
    signaling::demo::seed(&api.store).await.unwrap();
    let t = api.tokens().await;
    let op = Some(t.operator.as_str());
    let (status, tree) = api.call(Method::GET, "/api/v1/units/tree", op, None).await;
    assert_eq!(status, StatusCode::OK);
    let province = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Tỉnh Điện Biên")
        .expect("the province is a root");
    let health = province["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Sở Y tế")
        .expect("Sở Y tế under the province");
    assert_eq!(health["children"].as_array().unwrap().len(), 2, "{health}");

    let (_, endpoints) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/endpoints?unit_id={}&subtree=true",
                province["id"].as_str().unwrap()
            ),
            op,
            None,
        )
        .await;
    assert_eq!(endpoints.as_array().unwrap().len(), 78);
    let (_, endpoints) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/endpoints?unit_id={}",
                health["id"].as_str().unwrap()
            ),
            op,
            None,
        )
        .await;
    assert_eq!(endpoints.as_array().unwrap().len(), 1);
}
