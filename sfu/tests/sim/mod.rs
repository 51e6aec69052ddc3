//! A simulated network for the SFU core: str0m clients and the core exchange datagrams
//! through an in-memory network with delay and seeded loss, in virtual time. No
//! sockets, no sleeping; the same seed gives the same run.
#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sfu::{Grants, Notice, ParticipantId, ParticipantInfo, Sfu, SfuConfig};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

pub const SFU_ADDR: &str = "198.18.0.1:3478";
pub const ALL: Grants = Grants {
    publish: true,
    subscribe: true,
};

/// What a client received from one remote track.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub packets: u64,
    pub seqs: BTreeSet<u16>,
    pub first_starts_keyframe: Option<bool>,
    pub keyframes: u64,
    pub first_at: Option<Instant>,
    pub first_keyframe_at: Option<Instant>,
    pub asked_keyframe: bool,
    /// The publisher's own sequence numbers, read from the payloads (the SFU rewrites
    /// the RTP ones): which of the packets it sent arrived.
    pub sent_seqs: BTreeSet<u64>,
    /// Packets whose payload is not what the publisher wrote (length or bytes).
    pub damaged: u64,
}

pub struct Client {
    pub name: String,
    pub room: String,
    pub id: ParticipantId,
    pub publisher: Rtc,
    pub subscriber: Rtc,
    pub pub_addr: SocketAddr,
    pub sub_addr: SocketAddr,
    pub_timeout: Instant,
    sub_timeout: Instant,
    pub audio_mid: Option<Mid>,
    pub video_mid: Option<Mid>,
    /// The last sequence numbers written (and carried in the payloads).
    pub audio_seq: u64,
    pub video_seq: u64,
    audio_ts: u32,
    video_ts: u32,
    next_audio: Instant,
    next_video: Instant,
    frame: u64,
    keyframe_wanted: bool,
    /// Send a keyframe every this many frames (0: only on request and at start).
    pub keyframe_every: u64,
    pub video_sent: u64,
    pub audio_sent: u64,
    /// Keyed by (publisher participant id as in msid, kind).
    pub received: HashMap<(String, MediaKind), Received>,
    pub notices: Vec<Notice>,
    pub subscriber_connected_at: Option<Instant>,
    pub keyframe_requests_seen: u64,
    pub gone: bool,
}

struct InFlight {
    at: Instant,
    n: u64,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}
impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.n) == (o.at, o.n)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    // Reversed: BinaryHeap pops the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.n).cmp(&(self.at, self.n))
    }
}

pub struct Sim {
    pub now: Instant,
    pub sfu: Sfu,
    pub clients: Vec<Client>,
    net: BinaryHeap<InFlight>,
    n: u64,
    rng: StdRng,
    pub delay: Duration,
    /// Loss on the link from the SFU to a client, by client index.
    pub loss_to: HashMap<usize, f64>,
    pub dropped_to: HashMap<usize, u64>,
    sfu_addr: SocketAddr,
    pub sent_to: HashMap<SocketAddr, u64>,
    /// Wall-clock time spent inside the SFU core's `handle_datagram`, `settle` and
    /// `handle_timeout` (for the forwarding benchmark).
    pub sfu_busy: Duration,
    /// Datagrams delivered to the SFU, receive batches they came in (one `settle` each)
    /// and the largest batch.
    pub sfu_datagrams: u64,
    pub sfu_batches: u64,
    pub largest_batch: u64,
    /// Settle in steps (`settle_some`) of this many datagrams, sending between steps,
    /// as the driver does; `None`: one `settle` per batch.
    pub settle_step: Option<usize>,
    /// `settle_some` calls that left subscribers for the next one.
    pub partial_settles: u64,
    /// Calls of the SFU's `handle_timeout`, and the shortest time between two.
    pub timer_passes: u64,
    pub closest_timer_passes: Option<Duration>,
    last_timer_pass: Option<Instant>,
    /// While set, subscriber offers wait unanswered in `held_offers` (a terminal slow
    /// to answer); `answer_held` answers them.
    pub hold_subscribe_offers: bool,
    held_offers: Vec<(usize, String)>,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let now = Instant::now();
        let sfu_addr: SocketAddr = SFU_ADDR.parse().unwrap();
        let sfu = Sfu::new(
            SfuConfig {
                candidates: vec![sfu_addr],
                dtls_cert: None,
                timer_granularity: sfu::TIMER_GRANULARITY,
            },
            now,
        )
        .unwrap();
        Sim {
            now,
            sfu,
            clients: Vec::new(),
            net: BinaryHeap::new(),
            n: 0,
            rng: StdRng::seed_from_u64(seed),
            delay: Duration::from_millis(10),
            hold_subscribe_offers: false,
            held_offers: Vec::new(),
            loss_to: HashMap::new(),
            dropped_to: HashMap::new(),
            sfu_addr,
            sent_to: HashMap::new(),
            sfu_busy: Duration::ZERO,
            sfu_datagrams: 0,
            sfu_batches: 0,
            largest_batch: 0,
            settle_step: None,
            partial_settles: 0,
            timer_passes: 0,
            closest_timer_passes: None,
            last_timer_pass: None,
        }
    }

    /// Two clients in one room, `a` publishing and `b` already showing its video:
    /// returns (sim, a, b).
    pub fn publishing_pair(seed: u64) -> (Sim, usize, usize) {
        let mut sim = Sim::new(seed);
        let a = sim.join("a", "room", ALL);
        let b = sim.join("b", "room", ALL);
        sim.publish(a);
        let shown = sim.run_until(Duration::from_secs(5), |s| {
            s.received(b, a, MediaKind::Video).keyframes > 0
        });
        assert!(shown, "b never received a's video");
        (sim, a, b)
    }

    /// Join a client; returns its index.
    pub fn join(&mut self, name: &str, room: &str, grants: Grants) -> usize {
        let i = self.clients.len();
        let info = ParticipantInfo {
            identity: name.into(),
            name: name.into(),
            grants,
        };
        let outcome = self.sfu.join(self.now, room, info).unwrap();
        let base = 10_000 + 2 * i as u16;
        let pub_addr: SocketAddr = format!("198.18.1.{}:{}", i + 1, base).parse().unwrap();
        let sub_addr: SocketAddr = format!("198.18.1.{}:{}", i + 1, base + 1).parse().unwrap();
        let mut publisher = client_rtc(self.now);
        publisher.add_local_candidate(Candidate::host(pub_addr, "udp").unwrap());
        let mut subscriber = client_rtc(self.now);
        subscriber.add_local_candidate(Candidate::host(sub_addr, "udp").unwrap());
        self.clients.push(Client {
            name: name.into(),
            room: room.into(),
            id: outcome.participant_id,
            publisher,
            subscriber,
            pub_addr,
            sub_addr,
            pub_timeout: self.now,
            sub_timeout: self.now,
            audio_mid: None,
            video_mid: None,
            audio_seq: 1000 + 100 * i as u64,
            video_seq: 5000 + 100 * i as u64,
            audio_ts: 0,
            video_ts: 0,
            next_audio: self.now,
            next_video: self.now,
            frame: 0,
            keyframe_wanted: true,
            keyframe_every: 0,
            video_sent: 0,
            audio_sent: 0,
            received: HashMap::new(),
            notices: Vec::new(),
            subscriber_connected_at: None,
            keyframe_requests_seen: 0,
            gone: false,
        });
        self.pump();
        i
    }

    /// Client `i` publishes audio and video (renegotiating its publisher connection).
    pub fn publish(&mut self, i: usize) {
        let c = &mut self.clients[i];
        let mut api = c.publisher.sdp_api();
        let a = api.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            Some(c.id.to_string()),
            None,
            None,
        );
        let v = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            Some(c.id.to_string()),
            None,
            None,
        );
        c.audio_mid = Some(a);
        c.video_mid = Some(v);
        let (offer, pending) = api.apply().unwrap();
        self.negotiate_publisher(i, offer, pending).unwrap();
    }

    /// Client `i` stops sending video (direction inactive, renegotiated).
    pub fn unpublish_video(&mut self, i: usize) {
        let c = &mut self.clients[i];
        let mid = c.video_mid.take().unwrap();
        let mut api = c.publisher.sdp_api();
        api.set_direction(mid, Direction::Inactive);
        let (offer, pending) = api.apply().unwrap();
        self.negotiate_publisher(i, offer, pending).unwrap();
    }

    pub fn negotiate_publisher(
        &mut self,
        i: usize,
        offer: SdpOffer,
        pending: SdpPendingOffer,
    ) -> Result<(), sfu::SfuError> {
        let id = self.clients[i].id;
        let answer = self
            .sfu
            .handle_publish_offer(self.now, id, &offer.to_sdp_string())?;
        let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
        self.clients[i]
            .publisher
            .sdp_api()
            .accept_answer(pending, answer)
            .unwrap();
        self.pump();
        Ok(())
    }

    pub fn leave(&mut self, i: usize) {
        let id = self.clients[i].id;
        self.sfu.leave(self.now, id, sfu::LeaveReason::Left);
        self.clients[i].gone = true;
        self.pump();
    }

    /// Drop the next `fraction` of datagrams from the SFU to client `i`.
    pub fn set_loss_to(&mut self, i: usize, fraction: f64) {
        self.loss_to.insert(i, fraction);
    }

    /// Deliver a raw datagram to the SFU now, as if from `from`.
    pub fn inject(&mut self, from: SocketAddr, data: &[u8]) {
        self.sfu
            .handle_datagram(self.now, from, self.sfu_addr, data);
        self.sfu.settle(self.now);
        self.pump();
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step(end);
        }
    }

    /// Run until `cond` holds or `limit` of virtual time passes; true if it held.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if cond(self) {
                return true;
            }
            self.step(end);
        }
        cond(self)
    }

    /// Answers the subscriber offers held so far, in order.
    pub fn answer_held(&mut self) {
        self.hold_subscribe_offers = false;
        for (i, sdp) in std::mem::take(&mut self.held_offers) {
            self.answer_offer(i, &sdp);
        }
        self.pump();
    }

    fn answer_offer(&mut self, i: usize, sdp: &str) {
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.clients[i]
            .subscriber
            .sdp_api()
            .accept_offer(offer)
            .unwrap();
        let id = self.clients[i].id;
        self.sfu
            .handle_subscribe_answer(self.now, id, &answer.to_sdp_string())
            .unwrap();
    }

    pub fn received(&self, i: usize, from: usize, kind: MediaKind) -> Received {
        let key = (self.clients[from].id.to_string(), kind);
        self.clients[i]
            .received
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    fn step(&mut self, end: Instant) {
        self.make_media();
        self.pump();
        let mut next = end.min(self.sfu.poll_timeout());
        if let Some(p) = self.net.peek() {
            next = next.min(p.at);
        }
        for c in self.clients.iter().filter(|c| !c.gone) {
            next = next.min(c.pub_timeout).min(c.sub_timeout);
            if c.audio_mid.is_some() {
                next = next.min(c.next_audio);
            }
            if c.video_mid.is_some() {
                next = next.min(c.next_video);
            }
        }
        self.now = self.now.max(next);
        // Everything due now is one receive batch for the SFU, settled once.
        let before = self.sfu_datagrams;
        while self.net.peek().is_some_and(|p| p.at <= self.now) {
            let p = self.net.pop().unwrap();
            self.deliver(p);
        }
        if self.sfu_datagrams > before {
            self.sfu_batches += 1;
            self.largest_batch = self.largest_batch.max(self.sfu_datagrams - before);
        }
        let t = Instant::now();
        match self.settle_step {
            None => self.sfu.settle(self.now),
            Some(n) => {
                while self.sfu.settle_some(self.now, n) {
                    self.partial_settles += 1;
                    self.pump();
                }
            }
        }
        self.sfu_busy += t.elapsed();
        let now = self.now;
        if self.sfu.poll_timeout() <= now {
            let t = Instant::now();
            self.sfu.handle_timeout(now);
            self.sfu_busy += t.elapsed();
            self.timer_passes += 1;
            if let Some(last) = self.last_timer_pass.replace(now) {
                let gap = now - last;
                self.closest_timer_passes =
                    Some(self.closest_timer_passes.map_or(gap, |c| c.min(gap)));
            }
        }
        for c in self.clients.iter_mut().filter(|c| !c.gone) {
            if c.pub_timeout <= now {
                c.publisher.handle_input(Input::Timeout(now)).unwrap();
            }
            if c.sub_timeout <= now {
                c.subscriber.handle_input(Input::Timeout(now)).unwrap();
            }
        }
        self.pump();
    }

    fn deliver(&mut self, p: InFlight) {
        if p.to == self.sfu_addr {
            self.sfu_datagrams += 1;
            let t = Instant::now();
            self.sfu.handle_datagram(self.now, p.from, p.to, &p.data);
            self.sfu_busy += t.elapsed();
            return;
        }
        let Some(i) = self
            .clients
            .iter()
            .position(|c| !c.gone && (c.pub_addr == p.to || c.sub_addr == p.to))
        else {
            return;
        };
        let c = &mut self.clients[i];
        let rtc = if c.pub_addr == p.to {
            &mut c.publisher
        } else {
            &mut c.subscriber
        };
        let r = Receive::new(Protocol::Udp, p.from, p.to, &p.data).unwrap();
        rtc.handle_input(Input::Receive(self.now, r)).unwrap();
        // str0m holds one received RTP packet at a time: poll before the next input.
        self.drain_client(i);
    }

    /// Drain every output: client and SFU datagrams into the network, SFU notices to
    /// the clients (signaling is instant here).
    pub fn pump(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..self.clients.len() {
                if self.clients[i].gone {
                    continue;
                }
                progressed |= self.drain_client(i);
            }
            while let Some(t) = self.sfu.poll_transmit() {
                progressed = true;
                let to = self
                    .clients
                    .iter()
                    .position(|c| c.pub_addr == t.destination || c.sub_addr == t.destination);
                if let Some(i) = to {
                    let loss = self.loss_to.get(&i).copied().unwrap_or(0.0);
                    if loss > 0.0 && self.rng.random_bool(loss) {
                        *self.dropped_to.entry(i).or_default() += 1;
                        continue;
                    }
                }
                *self.sent_to.entry(t.destination).or_default() += 1;
                self.send(t.source, t.destination, t.contents);
            }
            while let Some((id, notice)) = self.sfu.poll_notice() {
                progressed = true;
                let Some(i) = self.clients.iter().position(|c| c.id == id && !c.gone) else {
                    continue;
                };
                if let Notice::SubscribeOffer { sdp } = &notice {
                    if self.hold_subscribe_offers {
                        self.held_offers.push((i, sdp.clone()));
                    } else {
                        self.answer_offer(i, sdp);
                    }
                }
                if let Notice::Removed { .. } = &notice {
                    self.clients[i].gone = true;
                }
                self.clients[i].notices.push(notice);
            }
            if !progressed {
                break;
            }
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.n += 1;
        self.net.push(InFlight {
            at: self.now + self.delay,
            n: self.n,
            from,
            to,
            data,
        });
    }

    fn drain_client(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut progressed = false;
        let mut out = Vec::new();
        let c = &mut self.clients[i];
        for publisher in [true, false] {
            loop {
                let rtc = if publisher {
                    &mut c.publisher
                } else {
                    &mut c.subscriber
                };
                match rtc.poll_output().unwrap() {
                    Output::Timeout(t) => {
                        if publisher {
                            c.pub_timeout = t;
                        } else {
                            c.sub_timeout = t;
                        }
                        break;
                    }
                    Output::Transmit(t) => {
                        progressed = true;
                        out.push((t.source, t.destination, t.contents.into()));
                    }
                    Output::Event(e) => {
                        progressed = true;
                        on_client_event(c, publisher, now, e);
                    }
                }
            }
        }
        for (from, to, data) in out {
            self.send(from, to, data);
        }
        progressed
    }

    fn make_media(&mut self) {
        let now = self.now;
        for c in self.clients.iter_mut().filter(|c| !c.gone) {
            if let Some(mid) = c.audio_mid {
                while c.next_audio <= now {
                    c.next_audio += Duration::from_millis(20);
                    c.audio_ts = c.audio_ts.wrapping_add(960);
                    let pt = pt_of(&c.publisher, Codec::Opus);
                    if let Some(tx) = c.publisher.direct_api().stream_tx_by_mid(mid, None) {
                        c.audio_seq += 1;
                        let payload = numbered_payload(&[], c.audio_seq, AUDIO_LEN, AUDIO_FILL);
                        tx.write_rtp(
                            RtpWrite::new(pt, c.audio_seq.into(), c.audio_ts, now, payload)
                                .marker(true),
                        );
                        c.audio_sent += 1;
                    }
                }
            }
            if let Some(mid) = c.video_mid {
                while c.next_video <= now {
                    c.next_video += Duration::from_millis(33);
                    c.video_ts = c.video_ts.wrapping_add(3000);
                    let key = c.keyframe_wanted
                        || (c.keyframe_every > 0 && c.frame % c.keyframe_every == 0);
                    c.frame += 1;
                    let pt = pt_of(&c.publisher, Codec::Vp8);
                    let mut api = c.publisher.direct_api();
                    let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                        continue;
                    };
                    c.keyframe_wanted = false;
                    let count = if key { 4 } else { 1 };
                    for k in 0..count {
                        c.video_seq += 1;
                        let descriptor = [if k == 0 { 0x10 } else { 0x00 }, u8::from(!key)];
                        let len = if key { KEY_LEN } else { DELTA_LEN };
                        let payload = numbered_payload(&descriptor, c.video_seq, len, VIDEO_FILL);
                        tx.write_rtp(
                            RtpWrite::new(pt, c.video_seq.into(), c.video_ts, now, payload)
                                .marker(k == count - 1)
                                .nackable(true),
                        );
                        c.video_sent += 1;
                    }
                }
            }
        }
    }
}

const AUDIO_LEN: usize = 80;
const AUDIO_FILL: u8 = 0xf8;
const KEY_LEN: usize = 1000;
const DELTA_LEN: usize = 400;
const VIDEO_FILL: u8 = 0x55;

/// A payload of `len` bytes: `head`, the publisher's sequence number (8 bytes, little
/// endian), then `fill`, so that a receiver can tell which packet it is and that it
/// arrived unchanged.
fn numbered_payload(head: &[u8], seq: u64, len: usize, fill: u8) -> Vec<u8> {
    let mut payload = Vec::with_capacity(len);
    payload.extend_from_slice(head);
    payload.extend_from_slice(&seq.to_le_bytes());
    payload.resize(len, fill);
    payload
}

/// The sequence number of a [`numbered_payload`], if the payload is one of the allowed
/// lengths and every fill byte is intact.
fn read_numbered(payload: &[u8], head: usize, lens: &[usize], fill: u8) -> Option<u64> {
    if !lens.contains(&payload.len()) {
        return None;
    }
    let seq = u64::from_le_bytes(payload.get(head..head + 8)?.try_into().ok()?);
    payload[head + 8..]
        .iter()
        .all(|&b| b == fill)
        .then_some(seq)
}

fn client_rtc(now: Instant) -> Rtc {
    Rtc::builder()
        .set_stats_interval(Some(Duration::from_secs(1)))
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .build(now)
}

fn pt_of(rtc: &Rtc, codec: Codec) -> str0m::media::Pt {
    rtc.codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .unwrap()
}

fn on_client_event(c: &mut Client, publisher: bool, now: Instant, e: Event) {
    match e {
        Event::KeyframeRequest(_) if publisher => {
            c.keyframe_wanted = true;
            c.keyframe_requests_seen += 1;
        }
        Event::Connected if !publisher => c.subscriber_connected_at = Some(now),
        Event::RtpPacket(p) if !publisher => {
            let Some(mid) = c
                .subscriber
                .direct_api()
                .stream_rx(&p.header.ssrc)
                .map(|s| s.mid())
            else {
                return;
            };
            let Some(media) = c.subscriber.media(mid) else {
                return;
            };
            let kind = media.kind();
            let key = (media.stream_id().to_string(), kind);
            let r = c.received.entry(key).or_default();
            let starts_key = kind == MediaKind::Video
                && p.payload.len() > 1
                && p.payload[0] == 0x10
                && p.payload[1] & 1 == 0;
            if kind == MediaKind::Video && r.keyframes == 0 && !starts_key && !r.asked_keyframe {
                // Like a browser's decoder: a stream that does not start on a keyframe
                // cannot be decoded, so ask for one.
                r.asked_keyframe = true;
                if let Some(rx) = c.subscriber.direct_api().stream_rx(&p.header.ssrc) {
                    rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
                }
            }
            r.packets += 1;
            r.seqs.insert(p.header.sequence_number);
            let (head, lens, fill) = if kind == MediaKind::Video {
                (2, &[KEY_LEN, DELTA_LEN][..], VIDEO_FILL)
            } else {
                (0, &[AUDIO_LEN][..], AUDIO_FILL)
            };
            match read_numbered(&p.payload, head, lens, fill) {
                Some(seq) => {
                    r.sent_seqs.insert(seq);
                }
                None => r.damaged += 1,
            }
            r.first_starts_keyframe.get_or_insert(starts_key);
            r.first_at.get_or_insert(now);
            if starts_key {
                r.keyframes += 1;
                r.first_keyframe_at.get_or_insert(now);
            }
        }
        _ => {}
    }
}
