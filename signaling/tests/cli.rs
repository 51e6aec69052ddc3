//! The `hoinghi` binary as an operator runs it: `hoinghi token` makes join tokens the
//! server accepts, and bad flags are refused with a message naming the flag.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use signaling::auth::{JwtKeys, ISSUER};
use signaling::config::DEFAULT_TOKEN_TTL_SECS;
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
    let keys = JwtKeys::load_or_create(&key_file).expect("the key hoinghi created");
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
        JwtKeys::load_or_create(&tmp.0.join("jwt.key"))
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
    cmd.args(["--listen", "127.0.0.1:0", "--media-port", "0", "--data-dir"])
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
