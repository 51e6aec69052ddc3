//! Janus's VideoRoom (Debian's Janus 1.1.2) as a load-test target, over its WebSocket
//! API: the same scenario our server runs, so one command measures both.
//!
//! Each terminal opens one WebSocket and one Janus session with two plugin handles:
//! a publisher (joined with the terminal's name; `publish`, then `configure` for every
//! renegotiation) and a multistream subscriber that joins once the room has a stream
//! for it and then follows the room with `update`. Janus forwards one simulcast layer
//! per subscription, by default substream 2, which it takes to be the layer listed
//! first; offers go with `rid_order: "lmh"` so that it is the *last* rid, the layer our
//! server forwards (`sfu` takes the last rid of an offer), and both servers forward the
//! same layer.

mod connection;
mod follower;
mod streams;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Duration;

use crate::target::{SessionEvent, Target, TerminalSession, TerminalSpec};
use connection::Connection;
use follower::{Follower, Notice};
use streams::Following;

/// Janus ends sessions silent for 60 s (its `session_timeout`).
const KEEPALIVE: Duration = Duration::from_secs(25);
/// Every room this run makes allows at least this many publishers.
const MIN_PUBLISHERS: usize = 100;
const PLUGIN: &str = "janus.plugin.videoroom";

/// A Janus server reached at a `ws://` URL (see loadtest/janus/janus.sh).
pub struct JanusTarget {
    url: String,
    /// The VideoRoom room of this run; 0 until [`Target::prepare`].
    room: AtomicU64,
}

impl JanusTarget {
    /// Janus's WebSocket transport, e.g. `ws://198.18.0.1:8188` (what janus.sh prints).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            bail!(
                "--janus-url {url}: expected Janus's WebSocket API (ws://HOST:PORT, \
                 as loadtest/janus/janus.sh prints it)"
            );
        }
        Ok(Self {
            url: url.to_owned(),
            room: AtomicU64::new(0),
        })
    }

    fn room(&self) -> anyhow::Result<u64> {
        match self.room.load(Ordering::Acquire) {
            0 => bail!("no Janus room: prepare() was not called"),
            room => Ok(room),
        }
    }
}

impl Target for JanusTarget {
    type Session = JanusSession;

    /// Creates this run's room: VP8 video (VideoRoom uses the room's first codec,
    /// whatever the offer prefers), Opus audio, simulcast as publishers offer it.
    async fn prepare(&self, terminals: usize) -> anyhow::Result<()> {
        let (conn, _events) = Connection::open(&self.url).await?;
        let session = create_session(&conn).await?;
        let handle = attach(&conn, session).await?;
        // Below 2^53, as Janus's own random ids are, so JSON numbers carry it exactly.
        let room = rand::random::<u64>() % (1 << 53) + 1;
        let body = json!({
            "request": "create",
            "room": room,
            "description": "loadtest",
            "permanent": false,
            "is_private": true,
            "publishers": terminals.max(MIN_PUBLISHERS),
            "videocodec": "vp8",
            "audiocodec": "opus",
            "notify_joining": false,
        });
        let reply = conn
            .request(
                &format!("creating VideoRoom room {room}"),
                message(session, handle, body, None),
            )
            .await?;
        if reply["plugindata"]["data"]["videoroom"] != "created" {
            bail!("creating VideoRoom room {room}: unexpected reply {reply}");
        }
        // The room outlives this session: rooms belong to the plugin.
        conn.request("closing the setup session", destroy(session))
            .await?;
        self.room.store(room, Ordering::Release);
        Ok(())
    }

    async fn connect(&self, terminal: &TerminalSpec) -> anyhow::Result<JanusSession> {
        let room = self.room()?;
        let who = &terminal.identity;
        let (mut conn, events) = Connection::open(&self.url)
            .await
            .with_context(|| format!("{who}: connecting to Janus"))?;
        let session = create_session(&conn).await?;
        conn.keep_alive(session, KEEPALIVE);
        let publisher = attach(&conn, session).await?;
        let join = json!({
            "request": "join",
            "ptype": "publisher",
            "room": room,
            "display": terminal.name,
        });
        let joined = conn
            .request(
                &format!("{who}: joining room {room} as publisher"),
                message(session, publisher, join, None),
            )
            .await?;
        let data = &joined["plugindata"]["data"];
        let feed = data["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("{who}: Janus's join reply has no publisher id: {joined}"))?;
        let mut following = Following::new(feed);
        following.publishers(&data["publishers"]);
        let conn = Arc::new(conn);
        let (offers_tx, offers) = mpsc::unbounded_channel();
        let (answered, answered_rx) = mpsc::unbounded_channel();
        let follower = Follower {
            who: who.clone(),
            conn: conn.clone(),
            session,
            room,
            publisher,
            private_id: data["private_id"].as_u64(),
            subscriber: None,
            following,
            offers: VecDeque::new(),
            awaiting_answer: false,
        };
        let follower = tokio::spawn(follower.run(events, answered_rx, offers_tx));
        Ok(JanusSession {
            who: who.clone(),
            conn,
            session,
            publisher,
            published: false,
            offers,
            answered,
            answer_to: None,
            follower,
        })
    }

    fn name(&self) -> &'static str {
        "janus"
    }
}

/// One terminal's Janus session.
pub struct JanusSession {
    who: String,
    conn: Arc<Connection>,
    session: u64,
    publisher: u64,
    published: bool,
    /// Offers from the subscription task; a channel, so `next_event` can be
    /// cancelled (it runs inside `select!`) without losing one.
    offers: mpsc::UnboundedReceiver<anyhow::Result<Notice>>,
    answered: mpsc::UnboundedSender<()>,
    /// The subscriber handle of the last offer handed out.
    answer_to: Option<u64>,
    follower: JoinHandle<()>,
}

impl TerminalSession for JanusSession {
    async fn publish(&mut self, offer_sdp: String) -> anyhow::Result<String> {
        let request = if self.published {
            "configure"
        } else {
            "publish"
        };
        let jsep = json!({
            "type": "offer",
            "sdp": offer_sdp,
            "rid_order": "lmh",
            "trickle": false,
        });
        let body = message(
            self.session,
            self.publisher,
            json!({ "request": request }),
            Some(jsep),
        );
        let what = format!("{}: {request} on the publisher handle", self.who);
        let reply = self.conn.request(&what, body).await?;
        let answer = jsep_sdp(&reply, "answer").with_context(|| what.clone())?;
        self.published = true;
        Ok(answer)
    }

    async fn next_event(&mut self) -> anyhow::Result<SessionEvent> {
        match self.offers.recv().await {
            Some(Ok(Notice::Offer { handle, sdp })) => {
                self.answer_to = Some(handle);
                Ok(SessionEvent::SubscriberOffer(sdp))
            }
            Some(Ok(Notice::Closed(reason))) => Ok(SessionEvent::Closed(reason)),
            Some(Err(e)) => Err(e),
            None => Ok(SessionEvent::Closed(format!(
                "{}: the subscription task ended",
                self.who
            ))),
        }
    }

    async fn answer(&mut self, answer_sdp: String) -> anyhow::Result<()> {
        let handle = self
            .answer_to
            .take()
            .ok_or_else(|| anyhow!("{}: an answer with no offer to answer", self.who))?;
        let jsep = json!({ "type": "answer", "sdp": answer_sdp, "trickle": false });
        let body = message(
            self.session,
            handle,
            json!({ "request": "start" }),
            Some(jsep),
        );
        let what = format!("{}: start on the subscriber handle", self.who);
        self.conn.request(&what, body).await?;
        // Janus takes the next change only once this one is answered.
        let _ = self.answered.send(());
        Ok(())
    }

    async fn leave(self) -> anyhow::Result<()> {
        // Destroying the session detaches both handles: the room sees the publisher
        // leave.
        let what = format!("{}: leaving (destroying the Janus session)", self.who);
        self.conn.request(&what, destroy(self.session)).await?;
        Ok(())
    }
}

impl Drop for JanusSession {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

async fn create_session(conn: &Connection) -> anyhow::Result<u64> {
    let reply = conn
        .request("creating a Janus session", json!({ "janus": "create" }))
        .await?;
    reply["data"]["id"]
        .as_u64()
        .ok_or_else(|| anyhow!("Janus's create reply has no session id: {reply}"))
}

async fn attach(conn: &Connection, session: u64) -> anyhow::Result<u64> {
    let body = json!({ "janus": "attach", "session_id": session, "plugin": PLUGIN });
    let reply = conn
        .request("attaching to the VideoRoom plugin", body)
        .await?;
    reply["data"]["id"]
        .as_u64()
        .ok_or_else(|| anyhow!("Janus's attach reply has no handle id: {reply}"))
}

fn message(session: u64, handle: u64, body: Value, jsep: Option<Value>) -> Value {
    let mut message = json!({
        "janus": "message",
        "session_id": session,
        "handle_id": handle,
        "body": body,
    });
    if let Some(jsep) = jsep {
        message["jsep"] = jsep;
    }
    message
}

fn destroy(session: u64) -> Value {
    json!({ "janus": "destroy", "session_id": session })
}

fn jsep_sdp(reply: &Value, kind: &str) -> anyhow::Result<String> {
    let jsep = &reply["jsep"];
    match (jsep["type"].as_str(), jsep["sdp"].as_str()) {
        (Some(t), Some(sdp)) if t == kind => Ok(sdp.to_owned()),
        _ => bail!("Janus's reply has no SDP {kind}: {reply}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_websocket_urls_are_taken() {
        assert!(JanusTarget::new("ws://198.18.0.1:8188").is_ok());
        let e = JanusTarget::new("http://198.18.0.1:8088/janus")
            .err()
            .unwrap();
        assert!(e.to_string().contains("expected Janus's WebSocket API"));
    }

    #[test]
    fn an_answer_is_taken_only_from_the_jsep_of_that_type() {
        let reply = json!({ "jsep": { "type": "answer", "sdp": "v=0\r\n" } });
        assert_eq!(jsep_sdp(&reply, "answer").unwrap(), "v=0\r\n");
        assert!(jsep_sdp(&reply, "offer").is_err());
        assert!(jsep_sdp(&json!({}), "answer").is_err());
    }
}

/// Against a running Janus (`loadtest/janus/janus.sh start`):
/// `JANUS_URL=ws://198.18.0.1:8188 cargo test -p loadtest janus -- --ignored`.
/// Signaling only: the SDP is written by hand, so no media flows.
/// (The full load test against Janus is in loadtest/README.md.)
#[cfg(test)]
mod live {
    use super::*;

    fn spec(index: usize) -> TerminalSpec {
        TerminalSpec {
            index,
            identity: format!("lt-{index:03}"),
            name: format!("Phòng {index}"),
            chair: index == 0,
        }
    }

    /// A publisher's offer: Opus, and VP8 in three simulcast layers listed low first.
    fn offer() -> String {
        let fingerprint = vec!["AB"; 32].join(":");
        [
            "v=0",
            "o=- 1 1 IN IP4 198.18.0.2",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0 1",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 198.18.0.2",
            "a=ice-ufrag:lt01",
            "a=ice-pwd:loadtestloadtestloadtest",
            &format!("a=fingerprint:sha-256 {fingerprint}"),
            "a=setup:actpass",
            "a=mid:0",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:111 opus/48000/2",
            "a=ssrc:1001 cname:lt",
            "a=candidate:1 1 udp 2130706431 198.18.0.2 40000 typ host",
            "a=end-of-candidates",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "c=IN IP4 198.18.0.2",
            "a=ice-ufrag:lt01",
            "a=ice-pwd:loadtestloadtestloadtest",
            &format!("a=fingerprint:sha-256 {fingerprint}"),
            "a=setup:actpass",
            "a=mid:1",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack",
            "a=rtcp-fb:96 nack pli",
            "a=rid:q send",
            "a=rid:h send",
            "a=rid:f send",
            "a=simulcast:send q;h;f",
            "",
        ]
        .join("\r\n")
    }

    #[tokio::test]
    #[ignore = "needs Janus: loadtest/janus/janus.sh start"]
    async fn terminals_join_publish_and_renegotiate() {
        let url = std::env::var("JANUS_URL").unwrap_or_else(|_| "ws://198.18.0.1:8188".into());
        let target = JanusTarget::new(&url).unwrap();
        assert!(target.connect(&spec(0)).await.is_err(), "no room yet");
        target.prepare(3).await.unwrap();

        let mut chair = target.connect(&spec(0)).await.unwrap();
        let answer = chair.publish(offer()).await.unwrap();
        assert!(answer.contains("m=video"), "{answer}");
        assert!(answer.contains("a=simulcast:recv"), "{answer}");
        // Renegotiation goes through `configure`.
        chair.publish(offer()).await.unwrap();

        // Another terminal joins and publishes; the room tells nobody until their
        // connections are up (Janus announces publishers on "webrtcup"), which
        // hand-written SDP never reaches: the full load test covers subscriptions.
        let mut other = target.connect(&spec(1)).await.unwrap();
        other.publish(offer()).await.unwrap();
        other.leave().await.unwrap();
        chair.leave().await.unwrap();
    }
}
