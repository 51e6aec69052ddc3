//! The operator's probes over real sockets: `/metrics` on its own listener parses as
//! Prometheus text and counts what a participant did, and `/readyz` turns 503 when the
//! database stops answering.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use serde_json::{json, Value};
use support::{connect, expect_close, join, recv_error, send_json, Server, DEADLINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// `GET path` on a fresh connection: (status, content type, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
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
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// A scrape parsed as the Prometheus text format: sample (`name{labels}` exactly as
/// written) → value. Panics on any line that is not a well-formed sample, HELP or
/// TYPE, and on a sample whose family lacks HELP or TYPE.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut helped = BTreeSet::new();
    let mut typed = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(!help.is_empty(), "empty HELP: {line}");
            helped.insert(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name type");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "unexpected type: {line}"
            );
            typed.insert(name.to_string(), kind.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample: series value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|e| panic!("value not a float ({e}): {line}"));
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels close with }");
                for pair in labels.split(',') {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    assert!(valid_name(k), "bad label name in {line}");
                    assert!(
                        v.len() >= 2 && v.starts_with('"') && v.ends_with('"'),
                        "label value not quoted in {line}"
                    );
                }
                name
            }
            None => series,
        };
        assert!(valid_name(name), "bad metric name in {line}");
        assert!(name.starts_with("hoinghi_"), "not prefixed: {line}");
        // A histogram's samples are its family name with _bucket, _sum or _count.
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                let family = name.strip_suffix(s)?;
                (typed.get(family).map(String::as_str) == Some("histogram")).then_some(family)
            })
            .unwrap_or(name);
        assert!(helped.contains(name), "no HELP before {line}");
        let kind = typed
            .get(name)
            .unwrap_or_else(|| panic!("no TYPE before {line}"));
        assert_eq!(
            kind == "counter",
            name.ends_with("_total"),
            "counters, and only they, end in _total: {line}"
        );
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "twice: {line}"
        );
    }
    samples
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

async fn scrape(server: &Server) -> BTreeMap<String, f64> {
    let (status, content_type, body) = get(server.metrics_addr(), "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&body)
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
}

const INVALID_TOKEN: &str = "hoinghi_join_failures_total{reason=\"invalid_token\"}";

#[tokio::test]
async fn metrics_count_a_participant_its_datagrams_and_a_refused_join() {
    let server = Server::start().await;
    let before = scrape(&server).await;
    assert_eq!(value(&before, "hoinghi_participants"), 0.0);
    assert_eq!(value(&before, "hoinghi_media_engine_up"), 1.0);
    assert_eq!(value(&before, INVALID_TOKEN), 0.0);

    let mut ws = connect(&server).await;
    join(
        &mut ws,
        &server.token("phong-hop", "t1", "Terminal 1", true),
    )
    .await;
    // A datagram no protocol claims, as a scanner would send to the media port.
    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
    udp.send_to(b"not media", server.running.media_addr)
        .await
        .expect("send datagram");
    server
        .wait_for_stats("the stray datagram", |s| s.datagrams_malformed >= 1)
        .await;

    let during = scrape(&server).await;
    assert_eq!(value(&during, "hoinghi_participants"), 1.0);
    assert_eq!(value(&during, "hoinghi_rooms"), 1.0);
    assert_eq!(value(&during, "hoinghi_joins_total"), 1.0);
    assert_eq!(value(&during, "hoinghi_websocket_sessions_open"), 1.0);
    assert!(value(&during, "hoinghi_datagrams_received_total") >= 1.0);
    assert!(
        value(
            &during,
            "hoinghi_datagrams_dropped_total{reason=\"malformed\"}"
        ) >= 1.0
    );

    let mut refused = connect(&server).await;
    send_json(
        &mut refused,
        json!({"type": "join", "token": "not.a.token"}),
    )
    .await;
    recv_error(&mut refused, "invalid_token").await;
    expect_close(&mut refused).await;
    let after = scrape(&server).await;
    assert_eq!(
        value(&after, INVALID_TOKEN),
        value(&during, INVALID_TOKEN) + 1.0
    );
    assert_eq!(value(&after, "hoinghi_joins_total"), 1.0);
    assert_eq!(value(&after, "hoinghi_participants"), 1.0);
}

#[tokio::test]
async fn readyz_is_ready_until_the_database_stops_answering() {
    let server = Server::start().await;
    let (status, _, body) = get(server.http_addr(), "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
    let (status, _, body) = get(server.http_addr(), "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    server.running.store.close().await;
    let (status, _, body) = get(server.http_addr(), "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body, json!({"ready": false, "not_ready": ["database"]}));
    // Alive all the same: restarting would not bring the database back.
    let (status, _, _) = get(server.http_addr(), "/healthz").await;
    assert_eq!(status, 200);
}
