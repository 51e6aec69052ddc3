//! The media path: publications appearing and going, RTP forwarded from a publisher to
//! its subscribers, and keyframe requests passed back up.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Rid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::keyframe::starts_keyframe;
use super::participant::{Participant, SubChange, TrackIn};
use super::{Notice, ParticipantId, PeerRole, Sfu, TrackKind, KEYFRAME_RETRY};

impl From<MediaKind> for TrackKind {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Audio => TrackKind::Audio,
            MediaKind::Video => TrackKind::Video,
        }
    }
}

impl From<TrackKind> for MediaKind {
    fn from(k: TrackKind) -> Self {
        match k {
            TrackKind::Audio => MediaKind::Audio,
            TrackKind::Video => MediaKind::Video,
        }
    }
}

impl Sfu {
    /// A publisher's new sending m-line becomes a publication in its room.
    pub(crate) fn publish(
        &mut self,
        id: ParticipantId,
        mid: Mid,
        kind: MediaKind,
        layers: Vec<Rid>,
    ) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if p.track_in_mut(mid).is_some() {
            return;
        }
        let kind = TrackKind::from(kind);
        let track_id = p.new_track_id(kind);
        let layer = layers.last().copied();
        let track = TrackIn {
            mid,
            kind,
            track_id: track_id.clone(),
            layers,
            subscribers: Vec::new(),
            last_keyframe_request: None,
            keyframe_pending: Vec::new(),
        };
        let summary = track.summary();
        p.tracks_in.push(track);
        let room = p.room.clone();
        tracing::info!(participant = %id, track = %track_id, kind = kind.as_str(), "published");
        let members = self
            .rooms
            .get(&room)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for m in members.into_iter().filter(|m| *m != id) {
            self.notices.push_back((
                m,
                Notice::TrackPublished {
                    participant_id: id,
                    track: summary.clone(),
                },
            ));
            let Some(sub) = self.participants.get_mut(&m) else {
                continue;
            };
            if sub.grants().subscribe {
                sub.queued.push(SubChange::Add {
                    source: (id, mid),
                    kind,
                    track_id: track_id.clone(),
                    layer,
                });
                self.renegotiate(m);
            }
        }
    }

    pub(crate) fn on_media_changed(&mut self, id: ParticipantId, mid: Mid, direction: Direction) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let published = p.track_in_mut(mid).is_some();
        if direction.is_receiving() && !published {
            let kind = p.publisher.rtc.media(mid).map(|m| m.kind());
            if let Some(kind) = kind {
                self.publish(id, mid, kind, Vec::new());
            }
        } else if !direction.is_receiving() && published {
            self.unpublish(id, mid);
        }
    }

    fn unpublish(&mut self, id: ParticipantId, mid: Mid) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let Some(i) = p.tracks_in.iter().position(|t| t.mid == mid) else {
            return;
        };
        let track = p.tracks_in.remove(i);
        tracing::info!(participant = %id, track = %track.track_id, "unpublished");
        self.unsubscribe_all(id, &track.track_id, track.subscribers);
    }

    /// A publication is gone: tell the room and take it out of every subscriber.
    pub(crate) fn unsubscribe_all(
        &mut self,
        owner: ParticipantId,
        track_id: &str,
        subscribers: Vec<(ParticipantId, Mid)>,
    ) {
        let room = self.participants.get(&owner).map(|p| p.room.clone());
        let members = room
            .and_then(|r| self.rooms.get(&r))
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for m in members.into_iter().filter(|m| *m != owner) {
            self.notices.push_back((
                m,
                Notice::TrackUnpublished {
                    participant_id: owner,
                    track_id: track_id.to_string(),
                },
            ));
        }
        for (sub, out_mid) in subscribers {
            let Some(s) = self.participants.get_mut(&sub) else {
                continue;
            };
            s.tracks_out.remove(out_mid);
            s.queued.push(SubChange::Remove { mid: out_mid });
            self.renegotiate(sub);
        }
    }

    /// Forward one RTP packet of a publisher to every subscription of its track.
    pub(crate) fn forward(&mut self, now: Instant, id: ParticipantId, pkt: RtpPacket) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if let Some(level) = pkt.header.ext_vals.audio_level {
            p.figures.hear(level);
        }
        let ssrc = pkt.header.ssrc;
        let Some((mid, rid)) = p
            .publisher
            .rtc
            .direct_api()
            .stream_rx(&ssrc)
            .map(|s| (s.mid(), s.rid()))
        else {
            return;
        };
        let pt = pkt.header.payload_type;
        let Some(params) = p
            .publisher
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|pp| pp.pt() == pt)
            .copied()
        else {
            return;
        };
        let Some(track) = p.track_in_mut(mid) else {
            return;
        };
        let video = track.kind == TrackKind::Video;
        let key = video && starts_keyframe(params.spec().codec, &pkt.payload);
        // Taken out and put back so subscribers can be borrowed mutably meanwhile;
        // moving the Vec allocates nothing.
        let subscribers = std::mem::take(&mut track.subscribers);
        let ext = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        for &(sub, out_mid) in &subscribers {
            self.forward_to(now, sub, out_mid, &pkt, rid, params, key, video, &ext);
        }
        if let Some(t) = self
            .participants
            .get_mut(&id)
            .and_then(|p| p.track_in_mut(mid))
        {
            t.subscribers = subscribers;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_to(
        &mut self,
        now: Instant,
        sub: ParticipantId,
        out_mid: Mid,
        pkt: &RtpPacket,
        rid: Option<Rid>,
        params: PayloadParams,
        key: bool,
        video: bool,
        ext: &ExtensionValues,
    ) {
        let Some(s) = self.participants.get_mut(&sub) else {
            return;
        };
        let Participant {
            tracks_out,
            subscriber,
            ..
        } = s;
        let Some(out) = tracks_out.get_mut(out_mid) else {
            return;
        };
        if out.layer != rid {
            return;
        }
        let in_pt = params.pt();
        let out_pt = match out.pt_map.iter().find(|(i, _)| *i == in_pt) {
            Some((_, o)) => *o,
            None => {
                let o = subscriber
                    .rtc
                    .codec_config()
                    .match_params(params)
                    .map(|pp| (pp.pt(), pp.spec().codec));
                out.pt_map.push((in_pt, o));
                o
            }
        };
        let Some((out_pt, _)) = out_pt else { return };
        let rtc = &mut subscriber.rtc;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut api = rtc.direct_api();
            let known = out
                .tx_ssrc
                .is_some_and(|ssrc| api.stream_tx(&ssrc).is_some());
            if !known {
                // The first packet, or str0m made the stream anew. Until the stream
                // exists the forwarder must not move: the first packet str0m sends has to
                // be the forwarder's first, numbered below 2^16 (a receiver assumes a
                // rollover count of zero for a new stream and would fail SRTP on every
                // packet otherwise).
                let ssrc = api.stream_tx_by_mid(out_mid, None).map(|tx| tx.ssrc());
                if ssrc.is_some() && out.tx_ssrc.is_some() {
                    out.forwarder.restart();
                }
                out.tx_ssrc = ssrc;
            }
            let Some(tx) = out.tx_ssrc.and_then(|ssrc| api.stream_tx(&ssrc)) else {
                return Err(None);
            };
            let rewritten = out
                .forwarder
                .forward(now, pkt.header.ssrc, *pkt.seq_no, pkt.header.timestamp, key)
                .map_err(Some)?;
            tx.write_rtp(
                RtpWrite::new(
                    out_pt,
                    rewritten.seq_no.into(),
                    rewritten.timestamp,
                    pkt.timestamp,
                    pkt.payload.clone(),
                )
                .marker(pkt.header.marker)
                .ext_vals(ext.clone())
                .nackable(video),
            );
            Ok(())
        }));
        match result {
            Ok(Ok(())) => {
                self.stats.packets_forwarded += 1;
                self.mark_written(sub, PeerRole::Subscriber);
            }
            Ok(Err(Some(super::Skip::WaitingForKeyframe))) => {
                self.stats.packets_waiting_keyframe += 1;
            }
            // Before a switch of source, or not negotiated yet.
            Ok(Err(_)) => {}
            Err(_) => self.fail(sub),
        }
    }

    /// A subscriber asked for a keyframe (PLI/FIR): pass it up to the publisher.
    pub(crate) fn on_keyframe_request(&mut self, now: Instant, sub: ParticipantId, out_mid: Mid) {
        let Some(s) = self.participants.get_mut(&sub) else {
            return;
        };
        let Some(out) = s.track_out_mut(out_mid) else {
            return;
        };
        let (source, layer) = (out.source, out.layer);
        self.request_keyframe(now, source.0, source.1, layer);
    }

    /// Ask keyframes for every video subscription of `sub` that waits for one.
    pub(crate) fn request_keyframes_for(&mut self, now: Instant, sub: ParticipantId) {
        let Some(s) = self.participants.get(&sub) else {
            return;
        };
        let wanted: Vec<_> = s
            .tracks_out
            .iter()
            .filter(|t| t.forwarder.needs_keyframe())
            .map(|t| (t.source, t.layer))
            .collect();
        for ((publisher, mid), layer) in wanted {
            self.request_keyframe(now, publisher, mid, layer);
        }
    }

    /// Ask the publisher for a keyframe of one layer: now if allowed, else as soon as
    /// the throttle and its connection allow (see [`Sfu::flush_keyframe_requests`]).
    fn request_keyframe(
        &mut self,
        now: Instant,
        publisher: ParticipantId,
        mid: Mid,
        layer: Option<Rid>,
    ) {
        let Some(p) = self.participants.get_mut(&publisher) else {
            return;
        };
        let Some(t) = p.track_in_mut(mid) else { return };
        if t.kind != TrackKind::Video {
            return;
        }
        if !t.keyframe_pending.contains(&layer) {
            t.keyframe_pending.push(layer);
        }
        self.flush_keyframe_requests(now, publisher, mid);
    }

    /// Send the pending PLIs of a publication, at most once per [`KEYFRAME_RETRY`], and
    /// only once the publisher's connection is up (str0m would drop RTCP before).
    pub(crate) fn flush_keyframe_requests(
        &mut self,
        now: Instant,
        publisher: ParticipantId,
        mid: Mid,
    ) {
        let Some(p) = self.participants.get_mut(&publisher) else {
            return;
        };
        if !p.publisher.connected {
            return;
        }
        let Some(t) = p.track_in_mut(mid) else { return };
        if t.keyframe_pending.is_empty()
            || t.last_keyframe_request
                .is_some_and(|at| now.saturating_duration_since(at) < KEYFRAME_RETRY)
        {
            return;
        }
        t.last_keyframe_request = Some(now);
        let layers = std::mem::take(&mut t.keyframe_pending);
        let sent = self.with_rtc(publisher, PeerRole::Publisher, |rtc| {
            let mut sent = 0;
            for layer in layers {
                if let Some(rx) = rtc.direct_api().stream_rx_by_mid(mid, layer) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                    sent += 1;
                }
            }
            // str0m turns pending requests into RTCP on its next timeout.
            let _ = rtc.handle_input(str0m::Input::Timeout(now));
            sent
        });
        if let Some(n) = sent.filter(|n| *n > 0) {
            self.stats.keyframe_requests += n;
            self.mark_dirty(publisher, PeerRole::Publisher);
        }
    }
}
