//! The task that keeps a terminal's subscription in step with the room: it reads
//! Janus's events, subscribes to new publishers' streams and drops departed ones, and
//! hands Janus's offers to the session one at a time, each after the previous one was
//! answered (VideoRoom renegotiates one change at a time).

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::connection::Connection;
use super::streams::Following;
use super::{attach, jsep_sdp, message};

/// What the task tells the session.
pub enum Notice {
    /// An offer from Janus on subscriber handle `handle`.
    Offer { handle: u64, sdp: String },
    /// The session ended; why.
    Closed(String),
}

/// A terminal's subscription and what it knows of the room.
pub struct Follower {
    pub who: String,
    pub conn: Arc<Connection>,
    pub session: u64,
    pub room: u64,
    pub publisher: u64,
    pub private_id: Option<u64>,
    /// The subscriber handle, once it has joined.
    pub subscriber: Option<u64>,
    pub following: Following,
    /// Offers Janus made on its own (e.g. when a publisher left), not yet handed out.
    pub offers: VecDeque<(u64, String)>,
    pub awaiting_answer: bool,
}

impl Follower {
    /// Runs until the session ends or the session side goes away; `answered` says
    /// the last offer was answered.
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<Value>,
        mut answered: mpsc::UnboundedReceiver<()>,
        notices: mpsc::UnboundedSender<anyhow::Result<Notice>>,
    ) {
        loop {
            if !self.awaiting_answer {
                let next = match self.offers.pop_front() {
                    Some(offer) => Ok(Some(offer)),
                    None => self.follow_room().await,
                };
                match next {
                    Ok(Some((handle, sdp))) => {
                        self.awaiting_answer = true;
                        if notices.send(Ok(Notice::Offer { handle, sdp })).is_err() {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let _ = notices.send(Err(e));
                        return;
                    }
                }
            }
            tokio::select! {
                event = events.recv() => {
                    let reason = match event {
                        Some(event) => self.on_event(event),
                        None => Some(format!("{}: the Janus connection ended", self.who)),
                    };
                    if let Some(reason) = reason {
                        let _ = notices.send(Ok(Notice::Closed(reason)));
                        return;
                    }
                }
                answer = answered.recv() => match answer {
                    Some(()) => self.awaiting_answer = false,
                    None => return,
                },
            }
        }
    }
}

impl Follower {
    /// Brings the subscription in step with the room's publishers; returns Janus's
    /// offer when the subscription changed.
    async fn follow_room(&mut self) -> anyhow::Result<Option<(u64, String)>> {
        loop {
            let change = self.following.change();
            if change.is_empty() {
                return Ok(None);
            }
            let (subscriber, body) = match self.subscriber {
                Some(handle) => {
                    let mut update = json!({ "request": "update" });
                    if !change.subscribe.is_empty() {
                        update["subscribe"] = change.subscribe.into();
                    }
                    if !change.unsubscribe.is_empty() {
                        update["unsubscribe"] = change.unsubscribe.into();
                    }
                    (handle, update)
                }
                // A subscriber handle joins with at least one stream.
                None if change.subscribe.is_empty() => {
                    self.following.applied();
                    return Ok(None);
                }
                None => {
                    let handle = attach(&self.conn, self.session).await?;
                    let mut join = json!({
                        "request": "join",
                        "ptype": "subscriber",
                        "room": self.room,
                        "streams": change.subscribe,
                    });
                    if let Some(private_id) = self.private_id {
                        join["private_id"] = private_id.into();
                    }
                    (handle, join)
                }
            };
            let what = format!("{}: {} on the subscriber handle", self.who, body["request"]);
            let body = message(self.session, subscriber, body, None);
            match self.conn.request(&what, body).await {
                Ok(reply) => {
                    self.subscriber = Some(subscriber);
                    self.following.applied();
                    // An update that changed nothing carries no offer.
                    if reply["jsep"]["type"].as_str().is_none() {
                        return Ok(None);
                    }
                    let offer = jsep_sdp(&reply, "offer").with_context(|| what.clone())?;
                    return Ok(Some((subscriber, offer)));
                }
                // The publisher left between its notice and this request: Janus names
                // the feed; drop it and try again.
                Err(e) => match refused_feed(&e) {
                    Some(feed) => {
                        self.following.forget(feed);
                        if self.subscriber.is_none() {
                            self.detach(subscriber).await?;
                        }
                    }
                    None => return Err(e),
                },
            }
        }
    }

    async fn detach(&self, handle: u64) -> anyhow::Result<()> {
        let body = json!({ "janus": "detach", "session_id": self.session, "handle_id": handle });
        let what = format!("{}: detaching handle {handle}", self.who);
        self.conn.request(&what, body).await.map(drop)
    }

    /// Takes in an event; returns why the session ended, if it did.
    fn on_event(&mut self, event: Value) -> Option<String> {
        let who = &self.who;
        match event["janus"].as_str() {
            Some("closed") => return Some(format!("{who}: {}", event["reason"])),
            Some("timeout") => return Some(format!("{who}: Janus timed the session out")),
            Some("hangup") => {
                let side = if event["sender"].as_u64() == Some(self.publisher) {
                    "publisher"
                } else {
                    "subscriber"
                };
                return Some(format!(
                    "{who}: Janus hung up the {side} connection: {}",
                    event["reason"].as_str().unwrap_or("no reason given")
                ));
            }
            Some("event") => {}
            // webrtcup, media, slowlink, detached: nothing the load test acts on.
            _ => return None,
        }
        let data = &event["plugindata"]["data"];
        if let (Some(offer), Some(handle)) = (event["jsep"]["sdp"].as_str(), self.subscriber) {
            if event["jsep"]["type"] == "offer" && event["sender"].as_u64() == Some(handle) {
                self.offers.push_back((handle, offer.to_owned()));
            }
        }
        if data.get("publishers").is_some() {
            self.following.publishers(&data["publishers"]);
        }
        for notice in ["unpublished", "leaving"] {
            if let Some(feed) = data[notice].as_u64() {
                self.following.gone(feed);
            }
        }
        match data["videoroom"].as_str() {
            Some("destroyed") => Some(format!("{who}: the room was destroyed")),
            _ if data.get("kicked").is_some() => Some(format!("{who}: kicked from the room")),
            _ => None,
        }
    }
}

/// The feed named by VideoRoom's "No such feed (F)" or "No such mid 'M' in feed (F)".
fn refused_feed(error: &anyhow::Error) -> Option<u64> {
    let text = error.to_string();
    if !text.contains("VideoRoom error 428") {
        return None;
    }
    let start = text.rfind('(')? + 1;
    let end = start + text[start..].find(')')?;
    text[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;

    #[test]
    fn a_refused_feed_is_read_from_videorooms_error() {
        let e = anyhow!("lt-003: join: VideoRoom error 428: No such feed (4417)");
        assert_eq!(refused_feed(&e), Some(4417));
        let e = anyhow!("lt-003: update: VideoRoom error 428: No such mid '1' in feed (12)");
        assert_eq!(refused_feed(&e), Some(12));
        let e = anyhow!("lt-003: join: VideoRoom error 426: No such room (12)");
        assert_eq!(refused_feed(&e), None);
    }
}
