//! Which of the room's streams a terminal receives: every audio and video stream of
//! every other publisher, as our server forwards every track of the room to everyone,
//! followed through VideoRoom's `publishers`, `unpublished` and `leaving` notices.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// One publisher's stream, as a subscription names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stream {
    pub feed: u64,
    pub mid: String,
}

impl Stream {
    fn to_json(&self) -> Value {
        json!({ "feed": self.feed, "mid": self.mid })
    }
}

/// What to ask Janus for to bring the subscription in step with the room.
#[derive(Debug, Default, PartialEq)]
pub struct Change {
    pub subscribe: Vec<Value>,
    pub unsubscribe: Vec<Value>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.unsubscribe.is_empty()
    }
}

/// The streams the room offers this terminal and those it is subscribed to.
#[derive(Debug)]
pub struct Following {
    own_feed: u64,
    wanted: BTreeSet<Stream>,
    subscribed: BTreeSet<Stream>,
}

impl Following {
    pub fn new(own_feed: u64) -> Self {
        Self {
            own_feed,
            wanted: BTreeSet::new(),
            subscribed: BTreeSet::new(),
        }
    }

    /// A `publishers` list (in `joined` or a room event): each entry is the whole
    /// current set of that publisher's streams.
    pub fn publishers(&mut self, list: &Value) {
        for publisher in list.as_array().into_iter().flatten() {
            let Some(feed) = publisher["id"].as_u64() else {
                continue;
            };
            if feed == self.own_feed {
                continue;
            }
            self.wanted.retain(|s| s.feed != feed);
            let streams = publisher["streams"].as_array().into_iter().flatten();
            for stream in streams {
                let media = matches!(stream["type"].as_str(), Some("audio" | "video"));
                let disabled = stream["disabled"].as_bool().unwrap_or(false);
                if let (true, false, Some(mid)) = (media, disabled, stream["mid"].as_str()) {
                    self.wanted.insert(Stream {
                        feed,
                        mid: mid.to_owned(),
                    });
                }
            }
        }
    }

    /// A publisher unpublished or left the room.
    pub fn gone(&mut self, feed: u64) {
        self.wanted.retain(|s| s.feed != feed);
        // Janus drops a departed publisher's streams from every subscription itself;
        // asking it to unsubscribe them again would only be refused.
        self.subscribed.retain(|s| s.feed != feed);
    }

    /// What to request to be in step with the room.
    pub fn change(&self) -> Change {
        Change {
            subscribe: self
                .wanted
                .difference(&self.subscribed)
                .map(Stream::to_json)
                .collect(),
            unsubscribe: self
                .subscribed
                .difference(&self.wanted)
                .map(Stream::to_json)
                .collect(),
        }
    }

    /// Janus accepted the last [`Following::change`].
    pub fn applied(&mut self) {
        self.subscribed = self.wanted.clone();
    }

    /// Janus refused a subscription (the publisher left meanwhile): stop wanting it.
    pub fn forget(&mut self, feed: u64) {
        self.wanted.retain(|s| s.feed != feed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(id: u64, streams: Value) -> Value {
        json!([{ "id": id, "display": "lt-001", "streams": streams }])
    }

    #[test]
    fn follows_every_other_publishers_audio_and_video() {
        let mut f = Following::new(1);
        f.publishers(&json!([
            { "id": 1, "streams": [{ "type": "audio", "mid": "0" }] },
            { "id": 2, "streams": [
                { "type": "audio", "mid": "0" },
                { "type": "video", "mid": "1", "simulcast": true },
                { "type": "data", "mid": "2" }] },
        ]));
        let change = f.change();
        assert_eq!(
            change.subscribe,
            vec![
                json!({"feed": 2, "mid": "0"}),
                json!({"feed": 2, "mid": "1"})
            ]
        );
        assert!(change.unsubscribe.is_empty());
        f.applied();
        assert!(f.change().is_empty());
    }

    #[test]
    fn a_renegotiated_publisher_replaces_its_streams() {
        let mut f = Following::new(1);
        let both = json!([{ "type": "audio", "mid": "0" }, { "type": "video", "mid": "1" }]);
        f.publishers(&publisher(2, both));
        f.applied();
        let video_off = json!([
            { "type": "audio", "mid": "0" },
            { "type": "video", "mid": "1", "disabled": true },
            { "type": "video", "mid": "2" }]);
        f.publishers(&publisher(2, video_off));
        assert_eq!(
            f.change(),
            Change {
                subscribe: vec![json!({"feed": 2, "mid": "2"})],
                unsubscribe: vec![json!({"feed": 2, "mid": "1"})],
            }
        );
    }

    #[test]
    fn a_departed_publisher_is_neither_wanted_nor_unsubscribed() {
        let mut f = Following::new(1);
        f.publishers(&publisher(2, json!([{ "type": "audio", "mid": "0" }])));
        f.publishers(&publisher(3, json!([{ "type": "audio", "mid": "0" }])));
        f.applied();
        f.gone(2);
        assert!(f.change().is_empty());
        f.gone(3);
        assert!(f.change().is_empty());
    }

    #[test]
    fn a_refused_feed_is_dropped_from_the_next_change() {
        let mut f = Following::new(1);
        f.publishers(&publisher(2, json!([{ "type": "audio", "mid": "0" }])));
        f.publishers(&publisher(3, json!([{ "type": "audio", "mid": "0" }])));
        f.forget(2);
        assert_eq!(f.change().subscribe, vec![json!({"feed": 3, "mid": "0"})]);
    }
}
