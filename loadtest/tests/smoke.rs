//! The `loadtest` binary against the real server (started in this process on
//! loopback ports, as `hoinghi` would start it): a handful of terminals for a few
//! seconds in each scenario must deliver every track and write a complete report;
//! bad flags must give a usage error.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use signaling::config::{LogFormat, Settings, TlsMode};

const LOADTEST: &str = env!("CARGO_BIN_EXE_loadtest");
/// Generous: a debug build on a loaded 2-core CI machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "loadtest-{tag}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the server on loopback port 0 with its data in `dir`; returns its URL and
/// key ring file.
async fn start_server(dir: &Path) -> (String, PathBuf) {
    let settings = Settings {
        listen: (Ipv4Addr::LOCALHOST, 0).into(),
        metrics_listen: Some((Ipv4Addr::LOCALHOST, 0).into()),
        media_port: 0,
        public_ips: vec![Ipv4Addr::LOCALHOST.into()],
        data_dir: dir.join("data"),
        jwt_key_file: dir.join("data").join("jwt.key"),
        tls: TlsMode::Off,
        tls_files: None,
        log_format: LogFormat::Text,
        database_url: None,
        admin_password: None,
        join_window: signaling::schedule::JoinWindow::default(),
        alarms: Default::default(),
    };
    let (running, serve) = signaling::server::start(&settings)
        .await
        .expect("the server starts");
    tokio::spawn(serve);
    (
        format!("http://{}", running.http_addr),
        settings.jwt_key_file.clone(),
    )
}

async fn loadtest(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(LOADTEST)
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(RUN_TIMEOUT, child)
        .await
        .expect("loadtest finished in time")
        .expect("loadtest runs")
}

/// Runs `scenario` with 4 terminals for 5 s plus `extra` flags; returns the exit
/// status, stderr and the JSON report.
async fn run(scenario: &str, extra: &[&str]) -> (Option<i32>, String, Value) {
    let dir = TempDir::new(scenario);
    let (url, keys) = start_server(&dir.0).await;
    let json = dir.0.join("report.json");
    let pid = std::process::id().to_string();
    let mut args = vec![
        "--server",
        &url,
        "--jwt-key-file",
        keys.to_str().unwrap(),
        "--scenario",
        scenario,
        "--terminals",
        "4",
        "--duration",
        "5",
        "--ramp-per-sec",
        "20",
        "--server-pid",
        &pid,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = loadtest(&args).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e})\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    let report: Value = serde_json::from_str(&report).expect("the report is JSON");
    assert!(
        stdout.contains("tracks delivered"),
        "the table is printed: {stdout}"
    );
    (out.status.code(), stderr, report)
}

/// Every field the issue asks for is there and says every track was delivered.
fn assert_complete(report: &Value, expected_tracks: u64) {
    let num = |path: &[&str]| {
        let mut v = report;
        for key in path {
            v = &v[*key];
        }
        v.as_f64()
            .unwrap_or_else(|| panic!("{} is not a number in {report:#}", path.join(".")))
    };
    assert_eq!(num(&["terminals_joined"]), 4.0, "{report:#}");
    assert_eq!(
        num(&["tracks_expected"]),
        expected_tracks as f64,
        "{report:#}"
    );
    assert_eq!(
        num(&["tracks_delivered"]),
        num(&["tracks_expected"]),
        "every track delivered: {report:#}"
    );
    assert!(num(&["packets_sent"]) > 0.0);
    assert!(num(&["packets_received"]) > 0.0);
    num(&["packets_lost"]);
    num(&["jitter_ms"]);
    num(&["freezes"]);
    assert!(num(&["bytes_received"]) > 0.0);
    for q in ["p50", "p95", "p99", "max"] {
        assert!(num(&["latency_ms", q]) > 0.0, "latency_ms.{q}");
        assert!(
            num(&["latency_with_joins_ms", q]) > 0.0,
            "latency_with_joins_ms.{q}"
        );
    }
    // The whole run holds the steady state's packets.
    assert!(num(&["latency_with_joins_ms", "max"]) >= num(&["latency_ms", "max"]));
    for q in ["p50", "p99"] {
        assert!(num(&["join_ms", q]) > 0.0, "join_ms.{q}");
    }
    assert!(num(&["server", "cpu_seconds"]) > 0.0);
    assert!(num(&["server", "peak_rss_bytes"]) > 0.0);
    assert!(num(&["server", "cpu_us_per_forwarded_packet"]) > 0.0);
    assert!(num(&["loadgen", "cpu_seconds"]) > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn grid_delivers_every_track() {
    let (status, stderr, report) = run("grid", &["--min-delivered", "1"]).await;
    assert_eq!(status, Some(0), "{stderr}");
    // 4 receivers × 3 others × (audio + video).
    assert_complete(&report, 24);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sansio_engine_delivers_every_track() {
    let (status, stderr, report) = run(
        "grid",
        &[
            "--engine",
            "sansio",
            "--min-delivered",
            "1",
            "--max-loss",
            "0.01",
        ],
    )
    .await;
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(report["engine"], "sansio", "{report:#}");
    assert_complete(&report, 24);
}

#[tokio::test(flavor = "multi_thread")]
async fn discussion_delivers_every_track_while_the_floor_rotates() {
    let (status, stderr, report) = run(
        "discussion",
        &[
            "--speakers",
            "1",
            "--rotate-secs",
            "1",
            "--min-delivered",
            "1",
        ],
    )
    .await;
    assert_eq!(status, Some(0), "{stderr}");
    // Chair and one room with video: 4 × 3 audio + 3 + 3 video.
    assert_complete(&report, 18);
}

#[tokio::test(flavor = "multi_thread")]
async fn briefing_delivers_every_track_and_a_broken_threshold_fails_the_run() {
    // Nothing crosses a loopback SFU in a nanosecond.
    let (status, stderr, report) = run("briefing", &["--max-p99-ms", "0.000001"]).await;
    assert_eq!(status, Some(3), "{stderr}");
    assert!(stderr.contains("--max-p99-ms"), "{stderr}");
    assert_eq!(report["violations"].as_array().map(Vec::len), Some(1));
    // 4 × 3 audio + the chair's video at 3 listeners.
    assert_complete(&report, 15);
}

#[tokio::test]
async fn bad_flags_give_a_usage_error() {
    for args in [
        &[
            "--scenario",
            "party",
            "--duration",
            "5",
            "--server",
            "http://127.0.0.1:1",
            "--jwt-key-file",
            "k",
        ][..],
        &[
            "--scenario",
            "grid",
            "--server",
            "http://127.0.0.1:1",
            "--jwt-key-file",
            "k",
        ][..],
        &["--scenario", "grid", "--duration", "5"][..],
        &[
            "--scenario",
            "grid",
            "--duration",
            "5",
            "--server",
            "http://127.0.0.1:1",
            "--jwt-key-file",
            "k",
            "--max-loss",
            "7",
        ][..],
    ] {
        let out = loadtest(args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Usage: loadtest") || stderr.contains("--help"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
