//! A real server on loopback ports and a WebSocket client for it, for the integration
//! tests in `websocket.rs` and `key_rotation.rs`. Every test starts its own server in its own temp dir, so the
//! tests can run in parallel.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod datagrams;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use sfu::SfuStats;
use signaling::auth::{JoinClaims, JoinTokens, Role, ISSUER};
use signaling::config::{LogFormat, Settings, TlsMode};
use signaling::keyring::{KeyRing, SigningKey};
use signaling::protocol::GrantsWire;
use signaling::server::Running;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take.
pub const DEADLINE: Duration = Duration::from_secs(5);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "hoinghi-{tag}-{}-{:016x}",
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

/// A server started in-process on port 0, serving until the test's runtime ends.
pub struct Server {
    pub running: Running,
    pub settings: Settings,
    /// The server's key ring, opened as the CLI would (it follows the file too).
    pub keys: JoinTokens,
    _dir: TempDir,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Server {
        let dir = TempDir::new("ws");
        let mut settings = Settings {
            listen: (Ipv4Addr::LOCALHOST, 0).into(),
            metrics_listen: Some((Ipv4Addr::LOCALHOST, 0).into()),
            media_port: 0,
            public_ips: vec![Ipv4Addr::LOCALHOST.into()],
            data_dir: dir.0.join("data"),
            jwt_key_file: dir.0.join("data").join("jwt.key"),
            tls: TlsMode::Off,
            tls_files: None,
            log_format: LogFormat::Text,
            database_url: None,
            admin_password: None,
            join_window: signaling::schedule::JoinWindow::default(),
            alarms: Default::default(),
        };
        adjust(&mut settings);
        let (running, serve) = signaling::server::start(&settings)
            .await
            .expect("server starts");
        tokio::spawn(serve);
        let keys = JoinTokens::open(&settings.jwt_key_file).expect("the server's key ring");
        Server {
            running,
            settings,
            keys,
            _dir: dir,
        }
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.running.http_addr
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.running
            .metrics_addr
            .expect("the test server serves metrics")
    }

    /// A token signed with the server's key, valid for a minute.
    pub fn token(&self, room: &str, identity: &str, name: &str, publish: bool) -> String {
        let grants = GrantsWire {
            publish,
            subscribe: true,
        };
        self.keys
            .issue(room, identity, name, grants, 60)
            .expect("issue token")
    }

    /// The key ring as its file holds it now.
    pub fn ring(&self) -> KeyRing {
        KeyRing::read(&self.settings.jwt_key_file)
            .expect("the server's key ring")
            .0
    }

    /// Sign `claims` as they are with the server's signing key.
    pub fn sign(&self, claims: &JoinClaims) -> String {
        sign(claims, self.ring().signer())
    }

    pub async fn stats(&self) -> SfuStats {
        self.running.sfu.stats().await.expect("the SFU is running")
    }

    /// Poll the SFU's counters until `done` holds; panic with the last counters after
    /// [`DEADLINE`].
    pub async fn wait_for_stats(&self, what: &str, done: impl Fn(&SfuStats) -> bool) -> SfuStats {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let stats = self.stats().await;
            if done(&stats) {
                return stats;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; SFU stats: {stats:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Claims as the server would issue them, for tokens the server would not issue.
pub fn claims(room: &str, identity: &str, exp_offset_secs: i64) -> JoinClaims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    JoinClaims {
        iss: ISSUER.into(),
        sub: identity.into(),
        name: identity.into(),
        room: room.into(),
        grants: GrantsWire {
            publish: true,
            subscribe: true,
        },
        iat: now - 120,
        exp: now.saturating_add_signed(exp_offset_secs),
        meeting: None,
        role: Role::Participant,
        nbf: None,
    }
}

/// Sign `claims` with HS256 and `key`, naming it in the header.
pub fn sign(claims: &JoinClaims, key: &SigningKey) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    encode(&header, claims, &EncodingKey::from_secret(&key.secret)).expect("sign claims")
}

pub async fn connect(server: &Server) -> Ws {
    let url = format!("ws://{}/ws", server.http_addr());
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
        .await
        .expect("WebSocket connect timed out")
        .expect("WebSocket connect");
    ws
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send text frame");
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    send_text(ws, &value.to_string()).await;
}

/// The next frame that is not a WebSocket ping or pong, within [`DEADLINE`].
async fn next_frame(ws: &mut Ws) -> Option<Message> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("nothing received within the deadline");
        match frame {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return Some(m),
            Some(Err(e)) => panic!("WebSocket error instead of a message: {e}"),
            None => return None,
        }
    }
}

/// The next JSON message; panics on a close, a binary frame or silence.
pub async fn recv_json(ws: &mut Ws) -> Value {
    match next_frame(ws).await {
        Some(Message::Text(t)) => serde_json::from_str(&t)
            .unwrap_or_else(|e| panic!("server sent invalid JSON ({e}): {t}")),
        other => panic!("expected a JSON text frame, got {other:?}"),
    }
}

/// The next message, which must have this `type`.
pub async fn recv_type(ws: &mut Ws, ty: &str) -> Value {
    let m = recv_json(ws).await;
    assert_eq!(m["type"], ty, "expected a {ty} message, got {m}");
    m
}

/// The next message, which must be an `error` with this code; returns its message.
pub async fn recv_error(ws: &mut Ws, code: &str) -> String {
    let m = recv_type(ws, "error").await;
    assert_eq!(m["code"], code, "wrong error code in {m}");
    m["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a message: {m}"))
        .to_string()
}

/// Read until the server's close frame; returns its code and the JSON messages before
/// it. Panics if the connection ends without a close frame.
pub async fn expect_close(ws: &mut Ws) -> (u16, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        match next_frame(ws).await {
            Some(Message::Close(Some(frame))) => return (frame.code.into(), before),
            Some(Message::Close(None)) => panic!("close frame without a code after {before:?}"),
            Some(Message::Text(t)) => before.push(serde_json::from_str(&t).expect("JSON")),
            Some(other) => panic!("unexpected frame {other:?} while waiting for close"),
            None => panic!("connection ended without a close frame after {before:?}"),
        }
    }
}

/// `ping` must be answered by `pong` next: the session is alive and has nothing queued.
pub async fn assert_alive(ws: &mut Ws) {
    send_json(ws, serde_json::json!({"type": "ping"})).await;
    recv_type(ws, "pong").await;
}

/// Join with `token`: expects `joined`, then the subscriber connection's offer. Returns
/// `(joined, subscribe_offer_sdp)`.
pub async fn join(ws: &mut Ws, token: &str) -> (Value, String) {
    send_json(ws, serde_json::json!({"type": "join", "token": token})).await;
    let joined = recv_type(ws, "joined").await;
    let offer = recv_type(ws, "subscribe_offer").await;
    let sdp = offer["sdp"].as_str().expect("subscribe_offer has sdp");
    assert!(sdp.starts_with("v=0"), "not an SDP: {sdp}");
    (joined, sdp.to_string())
}

pub fn participant_id(joined: &Value) -> String {
    let id = joined["participant_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no participant_id in {joined}"));
    assert!(!id.is_empty());
    id.to_string()
}
