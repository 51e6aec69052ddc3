//! Our server as a load-test target: join tokens signed with its key ring (as
//! `hoinghi token` makes them), and the WebSocket signaling of `docs/protocol.md`
//! with the message types of `signaling::protocol`.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use signaling::auth::JoinTokens;
use signaling::keyring::KeyRing;
use signaling::protocol::{ClientMessage, GrantsWire, Role, ServerMessage};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::target::{SessionEvent, Target, TerminalSession, TerminalSpec};
use crate::tls;

/// How long the server may take to answer `join` or `publish_offer`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// The protocol asks clients to ping every 10 s.
const PING_EVERY: Duration = Duration::from_secs(10);
/// Lifetime of the tokens made for a run (they only need to outlive the join).
const TOKEN_TTL_SECS: u64 = 24 * 3600;

/// Where and how to reach our server.
pub struct HoinghiTarget {
    ws_url: String,
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    tokens: JoinTokens,
    room: String,
}

impl HoinghiTarget {
    /// `server` is the base URL (`http://` or `https://`); `key_file` the server's key
    /// ring. An `https` server's certificate is checked against nothing when
    /// `insecure` is set or the server is on loopback (test hosts use self-signed
    /// certificates); otherwise such a server is refused.
    pub fn new(server: &str, key_file: &Path, insecure: bool) -> anyhow::Result<Self> {
        let (secure, rest) = if let Some(r) = server.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = server.strip_prefix("http://") {
            (false, r)
        } else {
            bail!("--server must start with http:// or https://, got `{server}`");
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.to_string(),
                p.parse::<u16>()
                    .with_context(|| format!("bad port in --server `{server}`"))?,
            ),
            _ => (authority.to_string(), if secure { 443 } else { 80 }),
        };
        if host.is_empty() {
            bail!("--server `{server}` names no host");
        }
        let loopback = host == "localhost"
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let tls = match (secure, insecure || loopback) {
            (false, _) => None,
            (true, true) => Some(tls::accept_any_certificate()),
            (true, false) => bail!(
                "{server} is not on loopback: pass --insecure to accept its certificate unchecked"
            ),
        };
        let (ring, _legacy) = KeyRing::read(key_file)
            .with_context(|| format!("reading the server's key ring {}", key_file.display()))?;
        let scheme = if secure { "wss" } else { "ws" };
        Ok(HoinghiTarget {
            ws_url: format!("{scheme}://{authority}/ws"),
            host,
            port,
            tls,
            tokens: JoinTokens::from_ring(&ring),
            room: format!("loadtest-{:08x}", rand::random::<u32>()),
        })
    }

    fn token(&self, t: &TerminalSpec) -> anyhow::Result<String> {
        let role = if t.chair { Role::Host } else { Role::Participant };
        let grants = GrantsWire {
            publish: true,
            subscribe: true,
        };
        self.tokens
            .issue_with_role(
                &self.room,
                &t.identity,
                &t.name,
                role,
                grants,
                TOKEN_TTL_SECS,
            )
            .map_err(|e| anyhow!("signing the join token of {}: {e}", t.identity))
    }

    async fn open(&self) -> anyhow::Result<WebSocketStream<Box<dyn Io>>> {
        let host = self.host.trim_matches(|c| c == '[' || c == ']');
        let tcp = TcpStream::connect((host, self.port))
            .await
            .with_context(|| format!("connecting to {}:{}", self.host, self.port))?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .with_context(|| format!("`{host}` is not a TLS server name"))?;
                Box::new(
                    connector
                        .connect(name, tcp)
                        .await
                        .with_context(|| format!("TLS handshake with {}", self.ws_url))?,
                )
            }
        };
        let (ws, _) = tokio_tungstenite::client_async(self.ws_url.as_str(), stream)
            .await
            .with_context(|| format!("WebSocket handshake with {}", self.ws_url))?;
        Ok(ws)
    }
}

/// A byte stream the WebSocket runs over: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Target for HoinghiTarget {
    type Session = HoinghiSession;

    async fn prepare(&self, _terminals: usize) -> anyhow::Result<()> {
        // Rooms exist as soon as someone joins; check the server answers at all.
        drop(self.open().await?);
        Ok(())
    }

    async fn connect(&self, terminal: &TerminalSpec) -> anyhow::Result<HoinghiSession> {
        let token = self.token(terminal)?;
        let mut ws = self.open().await?;
        send(&mut ws, &ClientMessage::Join { token }).await?;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        let mut pending = VecDeque::new();
        loop {
            let msg = tokio::time::timeout_at(deadline, receive(&mut ws))
                .await
                .map_err(|_| anyhow!("no `joined` within {ANSWER_TIMEOUT:?}"))??;
            match msg {
                ServerMessage::Joined { .. } => break,
                ServerMessage::Error { code, message } => {
                    bail!("join refused: {code:?}: {message}")
                }
                ServerMessage::SubscribeOffer { sdp } => {
                    pending.push_back(SessionEvent::SubscriberOffer(sdp))
                }
                _ => {}
            }
        }
        let (to_server, outgoing) = mpsc::channel(16);
        let (incoming_tx, incoming) = mpsc::channel(64);
        tokio::spawn(pump(ws, outgoing, incoming_tx));
        Ok(HoinghiSession {
            to_server,
            incoming,
            pending,
        })
    }

    fn name(&self) -> &'static str {
        "hoinghi"
    }
}

/// What the socket's task passes on to the session.
#[derive(Debug)]
enum Incoming {
    PublishAnswer(String),
    Event(SessionEvent),
    Error(String),
}

/// One terminal's WebSocket session; a task owns the socket and pings.
pub struct HoinghiSession {
    to_server: mpsc::Sender<ClientMessage>,
    incoming: mpsc::Receiver<Incoming>,
    /// Events that arrived while waiting for a publish answer.
    pending: VecDeque<SessionEvent>,
}

impl HoinghiSession {
    async fn send(&self, msg: ClientMessage) -> anyhow::Result<()> {
        self.to_server
            .send(msg)
            .await
            .map_err(|_| anyhow!("the signaling connection is closed"))
    }
}

impl TerminalSession for HoinghiSession {
    async fn publish(&mut self, offer_sdp: String) -> anyhow::Result<String> {
        self.send(ClientMessage::PublishOffer { sdp: offer_sdp })
            .await?;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .map_err(|_| anyhow!("no `publish_answer` within {ANSWER_TIMEOUT:?}"))?;
            match next {
                Some(Incoming::PublishAnswer(sdp)) => return Ok(sdp),
                Some(Incoming::Event(e)) => self.pending.push_back(e),
                Some(Incoming::Error(e)) => bail!("publish_offer refused: {e}"),
                None => bail!("the signaling connection closed before `publish_answer`"),
            }
        }
    }

    async fn next_event(&mut self) -> anyhow::Result<SessionEvent> {
        if let Some(e) = self.pending.pop_front() {
            return Ok(e);
        }
        loop {
            match self.incoming.recv().await {
                Some(Incoming::Event(e)) => return Ok(e),
                Some(Incoming::Error(e)) => {
                    tracing::warn!("server error: {e}");
                }
                Some(Incoming::PublishAnswer(_)) => {
                    bail!("a `publish_answer` arrived with no offer outstanding")
                }
                None => return Ok(SessionEvent::Closed("the signaling task ended".into())),
            }
        }
    }

    async fn answer(&mut self, answer_sdp: String) -> anyhow::Result<()> {
        self.send(ClientMessage::SubscribeAnswer { sdp: answer_sdp })
            .await
    }

    async fn leave(self) -> anyhow::Result<()> {
        // The pump closes the socket after sending `leave`.
        self.send(ClientMessage::Leave).await
    }
}

/// Owns the socket: sends what the session queues (and pings), passes on what the
/// server says, until either side closes.
async fn pump(
    mut ws: WebSocketStream<Box<dyn Io>>,
    mut outgoing: mpsc::Receiver<ClientMessage>,
    incoming: mpsc::Sender<Incoming>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let closed = loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(msg) => {
                    let leaving = msg == ClientMessage::Leave;
                    if let Err(e) = send(&mut ws, &msg).await {
                        break format!("sending: {e:#}");
                    }
                    if leaving {
                        let _ = ws.close(None).await;
                        break "left".to_string();
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    break "the terminal ended".to_string();
                }
            },
            _ = ping.tick() => {
                if let Err(e) = send(&mut ws, &ClientMessage::Ping).await {
                    break format!("sending ping: {e:#}");
                }
            }
            msg = receive(&mut ws) => {
                let pass = match msg {
                    Ok(ServerMessage::PublishAnswer { sdp }) => Incoming::PublishAnswer(sdp),
                    Ok(ServerMessage::SubscribeOffer { sdp }) => {
                        Incoming::Event(SessionEvent::SubscriberOffer(sdp))
                    }
                    Ok(ServerMessage::Error { code, message }) => {
                        Incoming::Error(format!("{code:?}: {message}"))
                    }
                    Ok(_) => continue,
                    Err(e) => break format!("{e:#}"),
                };
                if incoming.send(pass).await.is_err() {
                    break "the terminal ended".to_string();
                }
            }
        }
    };
    let _ = incoming
        .send(Incoming::Event(SessionEvent::Closed(closed)))
        .await;
}

async fn send(ws: &mut WebSocketStream<Box<dyn Io>>, msg: &ClientMessage) -> anyhow::Result<()> {
    let text = serde_json::to_string(msg)?;
    ws.send(Message::text(text)).await?;
    Ok(())
}

/// The next server message; control frames are skipped.
async fn receive(ws: &mut WebSocketStream<Box<dyn Io>>) -> anyhow::Result<ServerMessage> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .with_context(|| format!("unreadable server message: {t}"))
            }
            Some(Ok(Message::Close(frame))) => {
                bail!(
                    "the server closed the connection{}",
                    frame
                        .map(|f| format!(" ({}: {})", u16::from(f.code), f.reason))
                        .unwrap_or_default()
                )
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e).context("reading from the server"),
            None => bail!("the server closed the connection"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_file() -> (std::path::PathBuf, KeyRing) {
        let path = std::env::temp_dir().join(format!(
            "loadtest-ring-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let ring = KeyRing::generate();
        ring.save(&path).unwrap();
        (path, ring)
    }

    #[test]
    fn urls_and_tokens() {
        let (path, ring) = ring_file();
        let t = HoinghiTarget::new("http://127.0.0.1:8080", &path, false).unwrap();
        assert_eq!(t.ws_url, "ws://127.0.0.1:8080/ws");
        assert!(t.tls.is_none());
        let t = HoinghiTarget::new("https://localhost:8443/", &path, false).unwrap();
        assert_eq!(t.ws_url, "wss://localhost:8443/ws");
        assert!(t.tls.is_some());
        // A remote server's certificate is not waved through unless asked.
        let err = HoinghiTarget::new("https://hop.example:8443", &path, false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("--insecure"), "{err}");
        assert!(HoinghiTarget::new("https://hop.example:8443", &path, true).is_ok());
        assert!(HoinghiTarget::new("ftp://x", &path, false).is_err());

        // The chair gets the host role; the server verifies what we sign.
        let spec = TerminalSpec {
            index: 0,
            identity: "lt-000".into(),
            name: "Chair".into(),
            chair: true,
        };
        let claims = JoinTokens::from_ring(&ring)
            .verify(&t.token(&spec).unwrap())
            .unwrap();
        assert_eq!(claims.role, Role::Host);
        assert_eq!(claims.sub, "lt-000");
        assert!(claims.room.starts_with("loadtest-"));
        std::fs::remove_file(&path).unwrap();

        let missing = HoinghiTarget::new("http://127.0.0.1:1", &path, false)
            .err()
            .unwrap();
        assert!(format!("{missing:#}").contains("key ring"), "{missing:#}");
    }
}
