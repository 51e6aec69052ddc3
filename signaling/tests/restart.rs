//! The whole server over real sockets, stopped and started again on the same data
//! directory: the first administrator is made once, logs in over HTTP, and what was
//! registered is still there after the restart.

mod db;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use db::TempDir;
use serde_json::{json, Value};
use signaling::config::{LogFormat, Secret, Settings, TlsMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn settings(data: &Path, admin_password: Option<&str>) -> Settings {
    Settings {
        listen: (Ipv4Addr::LOCALHOST, 0).into(),
        metrics_listen: None,
        media_port: 0,
        public_ips: vec![Ipv4Addr::LOCALHOST.into()],
        data_dir: data.to_path_buf(),
        jwt_key_file: data.join("jwt.key"),
        tls: TlsMode::Off,
        tls_files: None,
        log_format: LogFormat::Text,
        database_url: None,
        admin_password: admin_password.map(|p| Secret(p.into())),
        join_window: signaling::schedule::JoinWindow::default(),
        alarms: Default::default(),
    }
}

/// One HTTP/1.1 request on a fresh connection; returns the status and the JSON body.
async fn http(
    addr: SocketAddr,
    method: &str,
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
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
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
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn login(addr: SocketAddr, password: &str) -> (u16, Value) {
    http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": password})),
    )
    .await
}

#[tokio::test]
async fn registrations_and_the_first_administrator_survive_a_restart() {
    let dir = TempDir::new("restart");
    let data = dir.path().join("data");

    let (first, serve) = signaling::server::start(&settings(&data, None))
        .await
        .expect("start");
    let server = tokio::spawn(serve);
    let password = first
        .first_admin_password
        .clone()
        .expect("a first administrator password");
    assert!(data.join("hoinghi.db").exists());
    let (status, session) = login(first.http_addr, &password).await;
    assert_eq!(
        (status, session["role"].as_str()),
        (200, Some("administrator")),
        "{session}"
    );
    let token = session["token"].as_str().unwrap().to_string();
    let (status, unit) = http(
        first.http_addr,
        "POST",
        "/api/v1/units",
        Some(&token),
        Some(json!({"name": "Tỉnh Điện Biên", "level": "Tỉnh"})),
    )
    .await;
    assert_eq!(status, 201, "{unit}");
    let (status, created) = http(
        first.http_addr,
        "POST",
        "/api/v1/endpoints",
        Some(&token),
        Some(json!({"unit_id": unit["id"], "name": "Hội trường UBND tỉnh"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    // A weekly meeting of that room, Mondays of March 2030 at 08:00 Hà Nội.
    let endpoint = &created["endpoint"]["id"];
    let (status, meeting) = http(
        first.http_addr,
        "POST",
        "/api/v1/meetings",
        Some(&token),
        Some(json!({
            "title": "Giao ban tuần", "start": 1_898_816_400, "end": 1_898_823_600,
            "host_endpoint_id": endpoint, "roster": [endpoint], "mode": "directive",
            "recurrence": {"freq": "weekly", "until": "2030-03-31"},
        })),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    server.abort();
    first.store.close().await;
    drop(first);

    // Started again, with an admin password given: it is not used, the account exists.
    let (second, serve) = signaling::server::start(&settings(&data, Some("another-password")))
        .await
        .expect("restart");
    tokio::spawn(serve);
    assert_eq!(
        second.first_admin_password, None,
        "the first administrator was made again"
    );
    assert_eq!(login(second.http_addr, "another-password").await.0, 401);
    let (status, session) = login(second.http_addr, &password).await;
    assert_eq!(status, 200, "{session}");
    // The session key survived too: the token from before the restart still works.
    let (status, units) = http(second.http_addr, "GET", "/api/v1/units", Some(&token), None).await;
    assert_eq!(
        (status, units[0]["name"].as_str()),
        (200, Some("Tỉnh Điện Biên")),
        "{units}"
    );
    let credential = created["credential"].as_str().unwrap();
    let (status, device) = http(
        second.http_addr,
        "POST",
        "/api/v1/auth/device",
        None,
        Some(json!({"credential": credential})),
    )
    .await;
    assert_eq!(
        (status, device["endpoint"]["name"].as_str()),
        (200, Some("Hội trường UBND tỉnh")),
        "{device}"
    );
    // The meeting is still there, whole, for the room itself.
    let uri = format!("/api/v1/meetings/{}", meeting["id"].as_str().unwrap());
    let device_token = device["token"].as_str().unwrap();
    let (status, back) = http(second.http_addr, "GET", &uri, Some(device_token), None).await;
    assert_eq!(status, 200, "{back}");
    for key in ["title", "start", "end", "roster", "recurrence", "revision"] {
        assert_eq!(back[key], meeting[key], "{key}");
    }
    assert_eq!(back["start_local"], "04/03/2030 08:00");
}

#[tokio::test]
async fn a_given_admin_password_is_used_and_not_printed() {
    let dir = TempDir::new("adminpw");
    let (running, serve) =
        signaling::server::start(&settings(dir.path(), Some("mật-khẩu-quản-trị")))
            .await
            .expect("start");
    tokio::spawn(serve);
    assert_eq!(running.first_admin_password, None);
    assert_eq!(login(running.http_addr, "mật-khẩu-quản-trị").await.0, 200);
}
