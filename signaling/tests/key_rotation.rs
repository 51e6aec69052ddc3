//! Rotating and retiring join-token keys with `hoinghi keys` while the server runs: the
//! server picks the changes up from the ring file without a restart, accepts tokens of
//! the new key and refuses, over a real WebSocket, a token signed before its key was
//! retired.

mod support;

use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use support::*;

/// `hoinghi ARGS --data-dir DIR` without the caller's `HOINGHI_*` variables.
fn hoinghi(s: &Server, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoinghi"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(&s.settings.data_dir)
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOINGHI_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().expect("run hoinghi");
    assert!(
        out.status.success(),
        "hoinghi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Join with `token` until the server answers `want` (`joined` or `error`), polling
/// while it may still hold the ring as it was; returns that answer.
async fn join_until(s: &Server, token: &str, want: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let mut ws = connect(s).await;
        send_json(&mut ws, json!({"type": "join", "token": token})).await;
        let m = recv_json(&mut ws).await;
        if m["type"] == want {
            if want == "error" {
                let (code, _) = expect_close(&mut ws).await;
                assert_eq!(code, 4001, "{m}");
            } else {
                send_json(&mut ws, json!({"type": "leave"})).await;
            }
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {m} instead of {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_token_signed_before_keys_retire_is_refused_after_it() {
    let s = Server::start().await;
    let first = s.ring().signer().kid.clone();
    let before = s.token("giao-ban", "room-1", "Phòng 1", true);
    let m = join_until(&s, &before, "joined").await;
    assert_eq!(m["identity"], "room-1");

    hoinghi(&s, &["keys", "rotate"]);
    let second = s.ring().signer().kid.clone();
    assert_ne!(first, second);
    // A token of the new key, made by another process: the server must have re-read
    // the ring to know that key at all.
    let out = hoinghi(
        &s,
        &[
            "token",
            "--room",
            "giao-ban",
            "--identity",
            "room-2",
            "--name",
            "Phòng 2",
            "--role",
            "host",
        ],
    );
    let after = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let m = join_until(&s, &after, "joined").await;
    assert_eq!(m["role"], "host");
    // Both keys verify until the first is retired.
    join_until(&s, &before, "joined").await;

    hoinghi(&s, &["keys", "retire", &first]);
    let m = join_until(&s, &before, "error").await;
    assert_eq!(m["code"], "invalid_token", "{m}");
    let message = m["message"].as_str().unwrap_or_default();
    assert!(message.contains("signed with a retired key"), "{message}");
    // The new key still admits, and the refused join left nobody behind.
    join_until(&s, &after, "joined").await;
    s.wait_for_stats("everyone gone", |st| st.participants == 0)
        .await;
}
