//! The `hoinghi` binary as an operator runs it: `hoinghi token` makes join tokens the
//! server accepts, `hoinghi keys` rotates and retires their keys, and bad flags are
//! refused with a message naming the flag.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use signaling::auth::{JoinTokens, Role, TokenError, ISSUER};
use signaling::config::DEFAULT_TOKEN_TTL_SECS;
use signaling::keyring::{KeyRing, KeyStatus};
use signaling::protocol::GrantsWire;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "hoinghi-cli-{}-{:016x}",
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

/// Run `hoinghi` with `args`, with no `HOINGHI_*` variables from the caller's
/// environment. A run that does not end within 10 s (a server started by mistake) is
/// killed and fails the test.
fn hoinghi(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoinghi"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOINGHI_") {
            cmd.env_remove(key);
        }
    }
    let child = cmd.spawn().expect("run hoinghi");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(output) => output.expect("hoinghi output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("hoinghi {args:?} did not exit within 10 s");
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `hoinghi token` with the given data dir and extra flags; returns the printed token.
fn token(data_dir: &Path, extra: &[&str]) -> String {
    let dir = data_dir.to_str().expect("UTF-8 temp path");
    let mut args = vec![
        "token",
        "--data-dir",
        dir,
        "--room",
        "so-noi-vu",
        "--identity",
        "room-12",
        "--name",
        "Phòng họp UBND xã A",
    ];
    args.extend_from_slice(extra);
    let out = hoinghi(&args);
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {text:?}");
    let parts: Vec<&str> = lines[0].split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {text:?}");
    assert!(
        parts.iter().all(|p| !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')),
        "not base64url parts: {text:?}"
    );
    lines[0].to_string()
}

#[test]
fn token_prints_a_jwt_that_the_servers_key_verifies() {
    let tmp = TempDir::new();
    let data = tmp.0.join("data");
    let t = token(&data, &[]);

    let key_file = data.join("jwt.key");
    let keys = JoinTokens::open(&key_file).expect("the key hoinghi created");
    let c = keys.verify(&t).expect("the server accepts the token");
    assert_eq!(c.iss, ISSUER);
    assert_eq!(c.room, "so-noi-vu");
    assert_eq!(c.sub, "room-12");
    assert_eq!(c.name, "Phòng họp UBND xã A");
    assert_eq!(
        c.grants,
        GrantsWire {
            publish: true,
            subscribe: true
        }
    );
    assert_eq!(c.exp - c.iat, DEFAULT_TOKEN_TTL_SECS);
    assert_eq!(c.role, Role::Participant);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by others");
    }

    // A second run signs with the same key rather than making a new one.
    let again = token(&data, &[]);
    assert!(keys.verify(&again).is_ok());
    // A token from another data dir is not accepted.
    let elsewhere = token(&tmp.0.join("other"), &[]);
    assert!(keys.verify(&elsewhere).is_err());
}

#[test]
fn token_flags_set_grants_and_lifetime() {
    let tmp = TempDir::new();
    let keys_of = |t: &str| {
        JoinTokens::open(&tmp.0.join("jwt.key"))
            .unwrap()
            .verify(t)
            .expect("valid token")
    };
    let c = keys_of(&token(&tmp.0, &["--no-publish"]));
    assert_eq!(
        c.grants,
        GrantsWire {
            publish: false,
            subscribe: true
        }
    );
    let c = keys_of(&token(&tmp.0, &["--no-subscribe", "--ttl", "60"]));
    assert_eq!(
        c.grants,
        GrantsWire {
            publish: true,
            subscribe: false
        }
    );
    assert_eq!(c.exp - c.iat, 60);
    let c = keys_of(&token(&tmp.0, &["--role", "host"]));
    assert_eq!(c.role, Role::Host);
}

/// A refused command line: non-zero exit, nothing on stdout, a message naming `flag`
/// on stderr, and no key file left behind.
fn assert_refused(args: &[&str], flag: &str, data_dir: &Path) {
    let out = hoinghi(args);
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} was accepted: {err}");
    assert_eq!(stdout(&out), "", "{args:?}");
    assert!(
        err.contains(flag),
        "{args:?}: stderr does not name {flag}: {err}"
    );
    assert!(
        !data_dir.join("jwt.key").exists(),
        "{args:?} created a key anyway"
    );
}

#[test]
fn bad_command_lines_are_refused_with_a_message() {
    let tmp = TempDir::new();
    let d = tmp.0.join("data");
    let dir = d.to_str().unwrap();
    let base = ["token", "--data-dir", dir, "--room", "r", "--identity", "i"];

    assert_refused(&base, "--name", &d);
    let out = hoinghi(&base);
    assert!(stderr(&out).contains("Usage:"), "{}", stderr(&out));

    let mut ttl0 = base.to_vec();
    ttl0.extend(["--name", "n", "--ttl", "0"]);
    assert_refused(&ttl0, "--ttl", &d);

    let serve = [
        "--data-dir",
        dir,
        "--listen",
        "127.0.0.1:0",
        "--media-port",
        "notaport",
    ];
    assert_refused(&serve, "--media-port", &d);
    let err = stderr(&hoinghi(&serve));
    assert!(err.contains("invalid value 'notaport'"), "{err}");
}

/// `hoinghi keys ARGS --data-dir DATA`.
fn keys(data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    all.extend(["--data-dir", data.to_str().expect("UTF-8 temp path")]);
    hoinghi(&all)
}

/// The rows of `hoinghi keys list`: (kid, status, created, signs).
fn list(data: &Path) -> Vec<(String, String, String, bool)> {
    let out = keys(data, &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(header, ["KID", "STATUS", "CREATED", "SIGNS"]);
    let ring = KeyRing::read(&data.join("jwt.key")).expect("the ring").0;
    let b64 = base64::engine::general_purpose::STANDARD;
    for k in ring.keys() {
        assert!(
            !text.contains(&b64.encode(&k.secret)),
            "a secret is shown: {text}"
        );
    }
    lines
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert!((3..=4).contains(&w.len()), "{l:?}");
            (
                w[0].into(),
                w[1].into(),
                w[2].into(),
                w.get(3) == Some(&"yes"),
            )
        })
        .collect()
}

#[test]
fn keys_rotate_and_retire_change_which_tokens_verify() {
    let tmp = TempDir::new();
    let d = tmp.0.join("data");
    let before = token(&d, &[]);
    let rows = list(&d);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (first, status, created, signs) = rows[0].clone();
    assert_eq!((status.as_str(), signs), ("active", true));
    assert!(
        chrono::DateTime::parse_from_rfc3339(&created).is_ok(),
        "{created}"
    );

    let out = keys(&d, &["rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = list(&d);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let second = rows[1].0.clone();
    assert!(stdout(&out).contains(&second), "{}", stdout(&out));
    assert_eq!(
        rows.iter().map(|r| (r.1.as_str(), r.3)).collect::<Vec<_>>(),
        [("active", false), ("active", true)]
    );
    let after = token(&d, &[]);
    let verifier = JoinTokens::open(&d.join("jwt.key")).unwrap();
    assert_eq!(verifier.signing_kid(), second);
    assert!(
        verifier.verify(&before).is_ok(),
        "the old key still verifies"
    );
    assert!(verifier.verify(&after).is_ok());

    // The signing key, an unknown key: refused, saying why, and nothing changed.
    let ring = std::fs::read_to_string(d.join("jwt.key")).unwrap();
    for (kid, says) in [
        (second.as_str(), "run `hoinghi keys rotate` first"),
        ("k-nobody", "no key has the id k-nobody"),
    ] {
        let out = keys(&d, &["retire", kid]);
        assert!(!out.status.success(), "retiring {kid} was accepted");
        assert_eq!(stdout(&out), "");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read_to_string(d.join("jwt.key")).unwrap(), ring);

    let out = keys(&d, &["retire", &first]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = list(&d);
    assert_eq!((rows[0].1.as_str(), rows[0].3), ("retired", false));
    let verifier = JoinTokens::open(&d.join("jwt.key")).unwrap();
    assert_eq!(
        verifier.verify(&before),
        Err(TokenError::Invalid("signed with a retired key".into()))
    );
    assert!(verifier.verify(&after).is_ok());
    let again = keys(&d, &["retire", &first]);
    assert!(
        stderr(&again).contains("already retired"),
        "{}",
        stderr(&again)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("jwt.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the ring is readable by others");
    }
}

#[test]
fn a_key_file_of_earlier_versions_keeps_signing() {
    let tmp = TempDir::new();
    let secret = [42u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(tmp.0.join("jwt.key"), format!("{}\n", b64.encode(secret))).unwrap();
    let t = token(&tmp.0, &[]);
    // The same secret, under the kid derived from it.
    let c = JoinTokens::from_secret(&secret)
        .verify(&t)
        .expect("signed with the old key");
    assert_eq!(c.room, "so-noi-vu");
    let rows = list(&tmp.0);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, KeyRing::from_secret(&secret).signer().kid);
    let ring = KeyRing::read(&tmp.0.join("jwt.key")).unwrap().0;
    assert_eq!(ring.signer().secret, secret);
    assert_eq!(ring.signer().status, KeyStatus::Active);
}

#[test]
fn demo_data_seeds_an_empty_registry_once() {
    let tmp = TempDir::new();
    let d = tmp.0.join("data");
    let dir = d.to_str().unwrap();
    let file = tmp.0.join("credentials.tsv");
    let out = hoinghi(&[
        "demo-data",
        "--data-dir",
        dir,
        "--credentials-file",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("78 room terminals"),
        "{}",
        stdout(&out)
    );
    let table = std::fs::read_to_string(&file).expect("the credentials file");
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 78);
    assert!(rows
        .iter()
        .all(|r| r.split('\t').nth(3).is_some_and(|c| c.starts_with("hnd_"))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the credentials are readable by others"
        );
    }

    // Twice: refused, saying why, and nothing printed.
    let out = hoinghi(&["demo-data", "--data-dir", dir]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("already holds"), "{}", stderr(&out));
}

/// Start the server binary on loopback ports in `data`, read its stdout up to the last
/// start-up line, stop it, and return (stdout, stderr).
fn serve_once(data: &Path) -> (String, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoinghi"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--media-port",
        "0",
        "--data-dir",
    ])
    .arg(data)
    .env("RUST_LOG", "info")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("HOINGHI_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().expect("run hoinghi");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("then open") {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    let out = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (
        out.unwrap_or_else(|_| panic!("the server did not start: {err}")),
        err,
    )
}

#[test]
fn the_first_administrator_password_is_printed_once_and_never_logged() {
    let tmp = TempDir::new();
    let data = tmp.0.join("data");
    let (out, logs) = serve_once(&data);
    let line = out
        .lines()
        .find(|l| l.contains("first administrator created"))
        .unwrap_or_else(|| panic!("no first-administrator line in {out}"));
    let password = line
        .split("password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a password on the line");
    assert!(password.len() >= 20, "{line}");
    assert!(logs.contains("created the first administrator"), "{logs}");
    assert!(
        !logs.contains(password),
        "the password is in the log: {logs}"
    );

    let (again, _) = serve_once(&data);
    assert!(!again.contains("first administrator"), "{again}");
    assert!(!again.contains(password));
}
