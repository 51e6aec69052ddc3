//! One WebSocket to Janus (subprotocol `janus-protocol`): requests matched to their
//! replies by transaction, everything else handed over as events.
//!
//! Janus answers a plugin message first with an `ack`, then with an `event` carrying
//! the same transaction; core requests get `success` or `error` at once. Messages with
//! no waiting transaction (room notifications, offers Janus starts itself, `hangup`,
//! `timeout`) are events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Duration};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// How long a request may wait for Janus's reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// A WebSocket to Janus; dropping it closes the socket.
pub struct Connection {
    out: mpsc::UnboundedSender<Message>,
    waiting: Waiting,
    next_transaction: AtomicU64,
    reader: JoinHandle<()>,
    keepalive: Option<JoinHandle<()>>,
}

impl Connection {
    /// Connects and returns the connection with the receiver of its events. The event
    /// stream ends with a `{"janus":"closed","reason":...}` message when the socket ends.
    pub async fn open(url: &str) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<Value>)> {
        let mut request = url
            .into_client_request()
            .with_context(|| format!("bad Janus URL {url}"))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, _) = timeout(REPLY_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| anyhow!("connecting to Janus at {url} timed out"))?
            .with_context(|| format!("cannot open a WebSocket to Janus at {url}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (events_tx, events) = mpsc::unbounded_channel();
        let waiting: Waiting = Arc::default();

        tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_waiting = waiting.clone();
        let reader = tokio::spawn(async move {
            let reason = loop {
                let text = match stream.next().await {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        break format!("Janus closed the WebSocket ({frame:?})")
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break format!("the WebSocket to Janus failed: {e}"),
                    None => break "the WebSocket to Janus ended".to_owned(),
                };
                let message: Value = match serde_json::from_str(&text) {
                    Ok(message) => message,
                    Err(e) => break format!("Janus sent invalid JSON ({e}): {text}"),
                };
                if message["janus"] == "ack" {
                    continue;
                }
                let waiter = message["transaction"].as_str().and_then(|t| {
                    // Cannot be poisoned: no code panics while holding the lock.
                    reader_waiting.lock().unwrap().remove(t)
                });
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(message);
                    }
                    None => {
                        let _ = events_tx.send(message);
                    }
                }
            };
            // Waiting requests fail with "connection closed" once their senders drop.
            reader_waiting.lock().unwrap().clear();
            let _ = events_tx.send(json!({ "janus": "closed", "reason": reason }));
        });
        let connection = Self {
            out,
            waiting,
            next_transaction: AtomicU64::new(1),
            reader,
            keepalive: None,
        };
        Ok((connection, events))
    }

    /// Sends a request (a transaction is added) and waits for its reply. A Janus
    /// `error` reply, or a plugin reply carrying `error_code`, becomes an error naming
    /// `what`.
    pub async fn request(&self, what: &str, mut body: Value) -> anyhow::Result<Value> {
        let transaction = format!("t{}", self.next_transaction.fetch_add(1, Ordering::Relaxed));
        body["transaction"] = Value::String(transaction.clone());
        // Registered before sending: the reply can arrive before `send` returns.
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(transaction.clone(), tx);
        if self.out.send(Message::text(body.to_string())).is_err() {
            self.waiting.lock().unwrap().remove(&transaction);
            bail!("{what}: the connection to Janus is closed");
        }
        let reply = match timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => bail!("{what}: the connection to Janus closed before it replied"),
            Err(_) => {
                self.waiting.lock().unwrap().remove(&transaction);
                bail!("{what}: Janus did not reply within {REPLY_TIMEOUT:?}")
            }
        };
        check_reply(what, reply)
    }

    /// Keeps a Janus session alive (Janus ends sessions silent for `session_timeout`)
    /// for as long as this connection lives.
    pub fn keep_alive(&mut self, session: u64, period: Duration) {
        let out = self.out.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            for n in 1u64.. {
                tick.tick().await;
                let ping = json!({ "janus": "keepalive", "session_id": session,
                    "transaction": format!("k{n}") });
                if out.send(Message::text(ping.to_string())).is_err() {
                    break;
                }
            }
        });
        if let Some(old) = self.keepalive.replace(task) {
            old.abort();
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The writer closes the socket once every sender of `out` is gone, the
        // keep-alive's too; the reader would wait for Janus to notice.
        if let Some(keepalive) = &self.keepalive {
            keepalive.abort();
        }
        self.reader.abort();
    }
}

/// Turns Janus's error replies into errors that say what failed and why.
pub fn check_reply(what: &str, reply: Value) -> anyhow::Result<Value> {
    if reply["janus"] == "error" {
        let error = &reply["error"];
        bail!(
            "{what}: Janus error {}: {}",
            error["code"],
            error["reason"].as_str().unwrap_or("(no reason given)")
        );
    }
    let data = &reply["plugindata"]["data"];
    if let Some(code) = data.get("error_code") {
        bail!(
            "{what}: VideoRoom error {code}: {}",
            data["error"].as_str().unwrap_or("(no reason given)")
        );
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_name_the_request_and_the_reason() {
        let reply = json!({"janus": "error", "transaction": "t1",
            "error": {"code": 458, "reason": "No such session 12"}});
        let e = check_reply("creating a session", reply).unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating a session: Janus error 458: No such session 12"
        );
    }

    #[test]
    fn plugin_errors_name_the_request_and_the_reason() {
        let reply = json!({"janus": "success", "plugindata": {"plugin": "janus.plugin.videoroom",
            "data": {"videoroom": "event", "error_code": 427, "error": "Room 5 already exists"}}});
        let e = check_reply("creating room 5", reply).unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating room 5: VideoRoom error 427: Room 5 already exists"
        );
    }

    #[test]
    fn successful_replies_pass_through() {
        let reply = json!({"janus": "success", "data": {"id": 7}});
        assert_eq!(check_reply("x", reply.clone()).unwrap(), reply);
    }
}
