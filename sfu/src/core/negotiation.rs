//! The subscriber connection's negotiation: the SFU is always the offerer there, one
//! offer at a time; changes that arrive meanwhile wait in a queue.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use str0m::media::{Direction, Mid};

use super::forwarder::Forwarder;
use super::participant::{SubChange, TrackOut};
use super::{Notice, ParticipantId, PeerRole, Sfu, TrackKind};

impl Sfu {
    /// First offer of a new participant's subscriber connection: a data channel, so
    /// the connection comes up before anyone publishes, plus the room's tracks.
    pub(crate) fn start_subscriber(&mut self, now: Instant, id: ParticipantId) {
        if let Some(p) = self.participants.get_mut(&id) {
            p.queued.insert(0, SubChange::Channel);
        }
        self.negotiated(now, id, PeerRole::Subscriber);
        self.renegotiate(id);
        self.drive_pending(now);
    }

    /// If no offer is outstanding and changes are queued, make the next offer.
    pub(crate) fn renegotiate(&mut self, id: ParticipantId) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if p.pending_offer.is_some() || p.queued.is_empty() {
            return;
        }
        let mut changes = std::mem::take(&mut p.queued);
        // A source may have gone while its addition waited.
        changes.retain(|c| match c {
            SubChange::Add { source, .. } => self
                .participants
                .get(&source.0)
                .is_some_and(|s| s.tracks_in.iter().any(|t| t.mid == source.1)),
            _ => true,
        });
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let rtc = &mut p.subscriber.rtc;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut api = rtc.sdp_api();
            let mut added = Vec::new();
            for c in changes {
                match c {
                    SubChange::Channel => {
                        api.add_channel("sfu".to_string());
                    }
                    SubChange::Add {
                        source,
                        kind,
                        track_id,
                        layer,
                    } => {
                        let mid = api.add_media(
                            kind.into(),
                            Direction::SendOnly,
                            Some(source.0.to_string()),
                            Some(track_id.clone()),
                            None,
                        );
                        added.push((mid, source, kind, track_id, layer));
                    }
                    SubChange::Remove { mid } => api.stop_media(mid),
                }
            }
            (api.apply(), added)
        }));
        let Ok((applied, added)) = result else {
            self.fail(id);
            return;
        };
        let p = self.participants.get_mut(&id).expect("checked above");
        let mut registrations = Vec::with_capacity(added.len());
        for (mid, source, kind, _track_id, layer) in added {
            let clock = match kind {
                TrackKind::Audio => 48_000,
                TrackKind::Video => 90_000,
            };
            p.tracks_out.push(TrackOut {
                mid,
                source,
                layer,
                forwarder: Forwarder::new(kind == TrackKind::Video, clock),
                pt_map: Vec::new(),
                tx_ssrc: None,
            });
            p.offered.push(mid);
            registrations.push((source, mid));
        }
        if let Some((offer, pending)) = applied {
            p.pending_offer = Some(pending);
            self.notices.push_back((
                id,
                Notice::SubscribeOffer {
                    sdp: offer.to_sdp_string(),
                },
            ));
        }
        for ((publisher, in_mid), out_mid) in registrations {
            if let Some(t) = self
                .participants
                .get_mut(&publisher)
                .and_then(|s| s.track_in_mut(in_mid))
            {
                t.subscribers.push((id, out_mid));
            }
        }
        self.mark_dirty(id, PeerRole::Subscriber);
    }

    /// The client refused the last offer: forget the subscriptions it would have added
    /// and queue them again.
    pub(crate) fn roll_back_offer(&mut self, id: ParticipantId) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let offered: Vec<Mid> = std::mem::take(&mut p.offered);
        let mut requeue = Vec::new();
        for mid in offered {
            if let Some(t) = p.tracks_out.remove(mid) {
                requeue.push((t.source, t.layer));
            }
        }
        for ((publisher, in_mid), layer) in requeue {
            let Some(src) = self.participants.get_mut(&publisher) else {
                continue;
            };
            let Some(t) = src.track_in_mut(in_mid) else {
                continue;
            };
            t.subscribers.retain(|(s, _)| *s != id);
            let change = SubChange::Add {
                source: (publisher, in_mid),
                kind: t.kind,
                track_id: t.track_id.clone(),
                layer,
            };
            if let Some(p) = self.participants.get_mut(&id) {
                p.queued.push(change);
            }
        }
    }
}

/// Whether the first video m-line of an SDP lists H.264 before VP8.
pub(crate) fn prefers_h264(sdp: &str) -> bool {
    let mut lines = sdp.lines().map(str::trim);
    let Some(m) = lines.by_ref().find(|l| l.starts_with("m=video ")) else {
        return false;
    };
    let order: Vec<&str> = m.split_whitespace().skip(3).collect();
    let mut names: Vec<(&str, String)> = Vec::new();
    for l in lines.take_while(|l| !l.starts_with("m=")) {
        if let Some(rest) = l.strip_prefix("a=rtpmap:") {
            if let Some((pt, name)) = rest.split_once(' ') {
                let codec = name.split('/').next().unwrap_or("").to_ascii_uppercase();
                names.push((pt, codec));
            }
        }
    }
    for pt in order {
        match names
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, n)| n.as_str())
        {
            Some("H264") => return true,
            Some("VP8") => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::prefers_h264;

    #[test]
    fn codec_order_of_the_first_video_section() {
        let h264 = "v=0\r\nm=audio 9 X 111\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 X 108 96\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:108 H264/90000\r\n";
        assert!(prefers_h264(h264));
        let vp8 = "v=0\r\nm=video 9 X 96 97 108\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=rtpmap:108 H264/90000\r\n";
        assert!(!prefers_h264(vp8));
        assert!(!prefers_h264("v=0\r\nm=audio 9 X 111\r\n"));
        assert!(!prefers_h264(""));
    }
}
