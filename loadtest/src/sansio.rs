//! The cheaper engine (`--engine sansio`): webrtc-rs's sans-I/O core (the `rtc` crate,
//! the same ICE, DTLS, SRTP and SDP code the async engine runs) driven by one task per
//! connection that owns the connection, its UDP socket and, on a publisher, its media
//! sources. Per wake-up it reads every datagram waiting on the socket, measures each
//! received packet where the core hands it over, and writes media packets straight
//! into the core: no driver task, no per-track channel or task, no lock.
//!
//! The async engine costs the load generator 12-15 µs of CPU per received packet on
//! these machines, which is what one 2-core machine cannot afford beside the server at
//! 78 terminals; see docs/benchmarks.md for what this one costs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use bytes::BytesMut;
use nix::sys::socket::{setsockopt, sockopt};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpSenderId, RTCRtpTransceiverId};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::engine;
use crate::media::{AudioSource, Payload, VideoSource, AUDIO_PACKETS_PER_SEC, FPS, LAYERS};
use crate::peer::{
    keyframes_owed, local_track, reach_connected, rtp_packet, stack_settings, Negotiated, Shared,
};
use crate::probe::{self, Probe};
use crate::stats::TrackStats;
use crate::terminal::Plan;

/// Kernel receive buffer each connection's socket asks for: a subscriber in a
/// 78-room discussion receives ~1,100 datagrams a second, and the default 208 KiB
/// (~100 of them) overflows whenever its task waits ~0.1 s for a core on a machine
/// shared with the server. Granted up to `net.core.rmem_max` (beyond it as root).
const SOCKET_RECEIVE_BUFFER: usize = 2 << 20;
/// Receive buffer: WebRTC datagrams stay under the path MTU.
const DATAGRAM_BUF: usize = 2048;
/// Most datagrams read per wake-up before the connection's timers get a turn.
const READS_PER_WAKE: usize = 64;
/// A media clock that fell this far behind (a starved machine) skips ahead instead of
/// sending the backlog in a burst.
const MAX_MEDIA_LAG: Duration = Duration::from_millis(200);
/// Wake-up when neither the core nor the media asks for one sooner.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// Threads of their own for the connections (`--media-threads`): each runs a
/// single-threaded tokio runtime, so a datagram wakes the one thread that owns its
/// connection, and connections on a thread are polled one after another without the
/// cross-thread wake-ups of a work-stealing scheduler. Dropping this stops the threads
/// (and the connections left on them).
pub struct MediaThreads {
    runtimes: Vec<tokio::runtime::Handle>,
    next: AtomicUsize,
    _stop: Vec<oneshot::Sender<()>>,
}

impl MediaThreads {
    /// Starts `n` threads (at least one).
    pub fn start(n: usize) -> anyhow::Result<Self> {
        let mut runtimes = Vec::new();
        let mut stop = Vec::new();
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting a media thread's runtime")?;
            runtimes.push(rt.handle().clone());
            let (tx, rx) = oneshot::channel::<()>();
            stop.push(tx);
            std::thread::Builder::new()
                .name(format!("media-{i}"))
                .spawn(move || rt.block_on(async move { rx.await.unwrap_or(()) }))
                .context("starting a media thread")?;
        }
        Ok(MediaThreads {
            runtimes,
            next: AtomicUsize::new(0),
            _stop: stop,
        })
    }

    /// The runtime for the next connection, in turn.
    fn next(&self) -> tokio::runtime::Handle {
        let i = self.next.fetch_add(1, Relaxed) % self.runtimes.len();
        self.runtimes[i].clone()
    }
}

/// What a terminal asks of its connection's task.
enum Command {
    Offer(oneshot::Sender<anyhow::Result<String>>),
    AcceptAnswer(String, oneshot::Sender<anyhow::Result<()>>),
    Answer(String, oneshot::Sender<anyhow::Result<String>>),
    StartMedia(Arc<AtomicBool>),
    Close(oneshot::Sender<()>),
}

/// The terminal's side of a connection task.
struct Handle {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

impl Handle {
    /// Binds a socket, starts the task that owns `pc` and `role` (on one of the media
    /// threads, if the run has them).
    fn spawn(shared: &Arc<Shared>, pc: RTCPeerConnection, role: Role) -> anyhow::Result<Self> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(shared.bind_ip, 0))
            .with_context(|| format!("binding a UDP socket on {}", shared.bind_ip))?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let buffer = &SOCKET_RECEIVE_BUFFER;
        if setsockopt(&socket, sockopt::RcvBufForce, buffer).is_err() {
            setsockopt(&socket, sockopt::RcvBuf, buffer)
                .context("sizing the socket's receive buffer")?;
        }
        let (commands, inbox) = mpsc::channel(8);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let shared = shared.clone();
        let runtime = match &shared.media_threads {
            Some(threads) => threads.next(),
            None => tokio::runtime::Handle::current(),
        };
        runtime.spawn(async move {
            // Registered with the reactor of the runtime the connection runs on.
            let socket = match UdpSocket::from_std(socket) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("registering a connection's socket: {e}");
                    state_tx.send_replace(RTCPeerConnectionState::Failed);
                    return;
                }
            };
            let conn = Conn {
                pc,
                socket,
                local,
                candidates_added: false,
                state: state_tx,
                shared,
                role,
            };
            conn.run(inbox).await
        });
        Ok(Handle { commands, state })
    }

    /// Sends the command `make` builds and waits for its reply.
    async fn call<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command) -> anyhow::Result<R> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| anyhow!("the connection's task has ended"))?;
        rx.await
            .map_err(|_| anyhow!("the connection's task ended before replying"))
    }

    async fn close(&self) {
        // A task already gone has nothing left to close.
        let _ = self.call(Command::Close).await;
    }
}

/// The sans-I/O engine's publisher.
pub struct SansioPublisher(Handle);

impl engine::Publisher for SansioPublisher {
    async fn open(shared: &Arc<Shared>, index: u16, plan: &Plan) -> anyhow::Result<Self> {
        let mut pc = new_peer_connection(shared)?;
        let add = |pc: &mut RTCPeerConnection, kind, rids: &[&str]| {
            let (track, ssrcs) = local_track(index, kind, rids);
            let track_id = track.track_id().clone();
            let sender = pc
                .add_track(track)
                .map_err(|e| anyhow!("adding the {kind} track: {e}"))?;
            anyhow::Ok(LocalTrack {
                sender,
                track_id,
                ssrcs,
            })
        };
        let audio = add(&mut pc, RtpCodecKind::Audio, &[""])?;
        let video = if plan.video {
            Some(add(&mut pc, RtpCodecKind::Video, &plan.rids)?)
        } else {
            None
        };
        let role = Role::Publisher(Box::new(Sending {
            index,
            rids: plan.rids.clone(),
            audio,
            video,
            live: None,
        }));
        Ok(SansioPublisher(Handle::spawn(shared, pc, role)?))
    }

    async fn offer(&self) -> anyhow::Result<String> {
        self.0.call(Command::Offer).await?
    }

    async fn accept_answer(&self, sdp: String) -> anyhow::Result<()> {
        self.0.call(|tx| Command::AcceptAnswer(sdp, tx)).await?
    }

    async fn connected(&self, within: Duration) -> anyhow::Result<()> {
        reach_connected(&self.0.state, within).await
    }

    fn start_media(
        &self,
        index: u16,
        plan: &Plan,
        _shared: &Arc<Shared>,
    ) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>> {
        // The connection's own task sends the media. Its inbox cannot be full here (the
        // terminal awaits every other command's reply), and a task that ended has
        // reported its connection failed already.
        if let Err(e) = self
            .0
            .commands
            .try_send(Command::StartMedia(plan.speaking.clone()))
        {
            tracing::warn!("terminal {index}: media not started: {e}");
        }
        Vec::new()
    }

    async fn close(&self) {
        self.0.close().await
    }
}

/// The sans-I/O engine's subscriber.
pub struct SansioSubscriber(Handle);

impl engine::Subscriber for SansioSubscriber {
    async fn open(shared: &Arc<Shared>, index: u16) -> anyhow::Result<Self> {
        let pc = new_peer_connection(shared)?;
        let role = Role::Subscriber {
            receiver: index,
            tracks: HashMap::new(),
        };
        Ok(SansioSubscriber(Handle::spawn(shared, pc, role)?))
    }

    async fn answer(&self, sdp: String) -> anyhow::Result<String> {
        self.0.call(|tx| Command::Answer(sdp, tx)).await?
    }

    async fn close(&self) {
        self.0.close().await
    }
}

/// A connection configured as the async engine configures its own.
fn new_peer_connection(shared: &Shared) -> anyhow::Result<RTCPeerConnection> {
    let (media, registry, settings) = stack_settings(shared)?;
    RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .build(Instant::now())
        .map_err(|e| anyhow!("creating a peer connection: {e}"))
}

/// A track added to a publisher connection.
struct LocalTrack {
    sender: RTCRtpSenderId,
    track_id: String,
    /// SSRC per simulcast layer (one for audio).
    ssrcs: Vec<u32>,
}

/// What a connection does besides ICE and DTLS.
enum Role {
    Publisher(Box<Sending>),
    Subscriber {
        /// The terminal whose figures these are.
        receiver: u16,
        /// Per remote track, created by its first packet.
        tracks: HashMap<String, TrackStats>,
    },
}

/// A publisher's tracks and, once the connection is up, its media clocks.
struct Sending {
    index: u16,
    rids: Vec<&'static str>,
    audio: LocalTrack,
    video: Option<LocalTrack>,
    live: Option<Live>,
}

/// Media being sent.
struct Live {
    speaking: Arc<AtomicBool>,
    audio: AudioSource,
    audio_header: Negotiated,
    next_audio: Instant,
    video: Option<LiveVideo>,
}

struct LiveVideo {
    header: Negotiated,
    /// (SSRC, rid, source) per layer, in the offer's order.
    layers: Vec<(u32, &'static str, VideoSource)>,
    next_frame: Instant,
    /// Bit i set: layer i owes a keyframe.
    owed: u8,
    frame: Vec<Payload>,
}

/// One connection's state, owned by its task.
struct Conn {
    pc: RTCPeerConnection,
    socket: UdpSocket,
    local: SocketAddr,
    candidates_added: bool,
    state: watch::Sender<RTCPeerConnectionState>,
    shared: Arc<Shared>,
    role: Role,
}

impl Conn {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        let mut buf = vec![0u8; DATAGRAM_BUF];
        let timer = tokio::time::sleep(IDLE_WAKE);
        tokio::pin!(timer);
        let mut closed = None;
        while closed.is_none() {
            if let Err(e) = self.flush().await {
                tracing::debug!("a connection stops: {e:#}");
                self.state.send_replace(RTCPeerConnectionState::Failed);
                break;
            }
            timer.as_mut().reset(self.next_wake().into());
            tokio::select! {
                biased;
                command = inbox.recv() => match command {
                    Some(Command::Close(reply)) => closed = Some(Some(reply)),
                    Some(c) => self.command(c),
                    None => closed = Some(None),
                },
                ready = self.socket.readable() => match ready {
                    Ok(()) => self.read_waiting(&mut buf),
                    Err(e) => {
                        tracing::debug!("a connection's socket failed: {e}");
                        self.state.send_replace(RTCPeerConnectionState::Failed);
                        break;
                    }
                },
                _ = &mut timer => self.on_time(Instant::now()),
            }
        }
        if let Err(e) = self.pc.close() {
            tracing::debug!("closing a peer connection: {e}");
        }
        // Send what closing queued (DTLS close_notify); the far end may be gone already.
        let _ = self.flush().await;
        self.finish();
        if let Some(Some(reply)) = closed {
            let _ = reply.send(());
        }
        // Commands that raced with the close get their reply channel dropped: "ended".
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Offer(reply) => {
                let _ = reply.send(self.offer());
            }
            Command::AcceptAnswer(sdp, reply) => {
                let _ = reply.send(self.accept_answer(sdp));
            }
            Command::Answer(sdp, reply) => {
                let _ = reply.send(self.answer(sdp));
            }
            Command::StartMedia(speaking) => {
                if let Err(e) = self.start_media(speaking) {
                    tracing::warn!("starting media: {e:#}");
                }
            }
            Command::Close(_) => unreachable!("handled by the loop"),
        }
    }

    fn offer(&mut self) -> anyhow::Result<String> {
        let offer = self
            .pc
            .create_offer(None)
            .map_err(|e| anyhow!("create_offer: {e}"))?;
        self.pc
            .set_local_description(Instant::now(), offer)
            .map_err(|e| anyhow!("setting the local offer: {e}"))?;
        self.add_candidates()?;
        self.local_sdp()
    }

    fn accept_answer(&mut self, sdp: String) -> anyhow::Result<()> {
        let answer = RTCSessionDescription::answer(sdp)
            .map_err(|e| anyhow!("parsing the server's answer: {e}"))?;
        self.pc
            .set_remote_description(Instant::now(), answer)
            .map_err(|e| anyhow!("setting the server's answer: {e}"))
    }

    fn answer(&mut self, sdp: String) -> anyhow::Result<String> {
        let offer = RTCSessionDescription::offer(sdp)
            .map_err(|e| anyhow!("parsing the server's offer: {e}"))?;
        self.pc
            .set_remote_description(Instant::now(), offer)
            .map_err(|e| anyhow!("setting the server's offer: {e}"))?;
        self.add_candidates()?;
        let answer = self
            .pc
            .create_answer(None)
            .map_err(|e| anyhow!("create_answer: {e}"))?;
        self.pc
            .set_local_description(Instant::now(), answer)
            .map_err(|e| anyhow!("setting the local answer: {e}"))?;
        self.local_sdp()
    }

    /// The socket's address as the one host candidate, then end-of-candidates: the
    /// description carries them all, so the server needs no trickle.
    fn add_candidates(&mut self) -> anyhow::Result<()> {
        if self.candidates_added {
            return Ok(());
        }
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: self.local.ip().to_string(),
                port: self.local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(|e| anyhow!("making the host candidate: {e}"))?;
        let init = RTCIceCandidate::from(&candidate)
            .to_json()
            .map_err(|e| anyhow!("writing the host candidate: {e}"))?;
        self.pc
            .add_local_candidate(init)
            .map_err(|e| anyhow!("adding the host candidate: {e}"))?;
        self.pc
            .add_local_candidate(RTCIceCandidateInit::default())
            .map_err(|e| anyhow!("ending the candidates: {e}"))?;
        self.candidates_added = true;
        Ok(())
    }

    fn local_sdp(&self) -> anyhow::Result<String> {
        Ok(self
            .pc
            .local_description()
            .ok_or_else(|| anyhow!("no local description after setting one"))?
            .sdp)
    }

    /// Reads the negotiated headers and starts the media clocks.
    fn start_media(&mut self, speaking: Arc<AtomicBool>) -> anyhow::Result<()> {
        let Role::Publisher(sending) = &mut self.role else {
            return Ok(());
        };
        let audio_header = negotiated(&mut self.pc, &sending.audio, MIME_TYPE_OPUS)?;
        let video = match &sending.video {
            None => None,
            Some(v) => {
                let header = negotiated(&mut self.pc, v, MIME_TYPE_VP8)?;
                let layer_of =
                    |rid: &str| LAYERS.iter().position(|l| l.rid == rid).unwrap_or(0) as u8;
                let layers = sending
                    .rids
                    .iter()
                    .zip(&v.ssrcs)
                    .map(|(&rid, &ssrc)| {
                        (ssrc, rid, VideoSource::new(sending.index, layer_of(rid)))
                    })
                    .collect();
                Some(LiveVideo {
                    header,
                    layers,
                    next_frame: Instant::now(),
                    owed: 0,
                    frame: Vec::with_capacity(16),
                })
            }
        };
        sending.live = Some(Live {
            speaking,
            audio: AudioSource::new(sending.index),
            audio_header,
            next_audio: Instant::now(),
            video,
        });
        Ok(())
    }

    /// Feeds every datagram waiting on the socket (up to [`READS_PER_WAKE`]) to the core.
    fn read_waiting(&mut self, buf: &mut [u8]) {
        let now = Instant::now();
        for _ in 0..READS_PER_WAKE {
            let (n, peer_addr) = match self.socket.try_recv_from(buf) {
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!("receiving: {e}");
                    break;
                }
            };
            let datagram = TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.local,
                    peer_addr,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                },
                message: BytesMut::from(&buf[..n]),
            };
            // A datagram the core refuses (a stray, a replay) is only that datagram.
            if let Err(e) = self.pc.handle_read(datagram) {
                tracing::trace!("datagram refused: {e}");
            }
            self.take_reads();
        }
    }

    /// Measures received media, and turns keyframe requests into owed keyframes.
    fn take_reads(&mut self) {
        while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
            match (message, &mut self.role) {
                (RTCMessage::RtpPacket(track, packet), Role::Subscriber { receiver, tracks }) => {
                    let Some(probe) = Probe::read_tail(&packet.payload) else {
                        continue;
                    };
                    let stats = match tracks.get_mut(&track) {
                        Some(s) => s,
                        None => tracks.entry(track).or_insert(TrackStats::new(*receiver)),
                    };
                    stats.on_packet(
                        &self.shared.collector,
                        &probe,
                        packet.payload.len(),
                        probe::now_ns(),
                    );
                }
                (RTCMessage::RtcpPacket(track, packets), Role::Publisher(sending)) => {
                    let video = sending.video.as_ref().filter(|v| v.track_id == track);
                    let live = sending.live.as_mut().and_then(|l| l.video.as_mut());
                    if let (Some(v), Some(live)) = (video, live) {
                        live.owed |= keyframes_owed(&packets, &v.ssrcs);
                    }
                }
                _ => {}
            }
        }
    }

    /// Sends what the core queued and follows its state.
    async fn flush(&mut self) -> anyhow::Result<()> {
        while let Some(event) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) = event {
                self.state.send_replace(s);
            }
        }
        while let Some(datagram) = self.pc.poll_write() {
            let to = datagram.transport.peer_addr;
            if let Err(e) = self.socket.send_to(&datagram.message, to).await {
                // One datagram lost; the connection goes on (as UDP would).
                tracing::debug!("sending to {to}: {e}");
            }
        }
        Ok(())
    }

    fn next_wake(&mut self) -> Instant {
        let mut wake = self
            .pc
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + IDLE_WAKE);
        if let Role::Publisher(sending) = &self.role {
            if let Some(live) = &sending.live {
                wake = wake.min(live.next_audio);
                if let Some(v) = &live.video {
                    wake = wake.min(v.next_frame);
                }
            }
        }
        wake
    }

    fn on_time(&mut self, now: Instant) {
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(e) = self.pc.handle_timeout(now) {
                tracing::debug!("connection timer: {e}");
            }
            self.take_reads();
        }
        if *self.shared.stop.borrow() {
            if let Role::Publisher(sending) = &mut self.role {
                sending.live = None;
            }
            return;
        }
        self.send_media(now);
    }

    /// Writes every media packet whose time has come.
    fn send_media(&mut self, now: Instant) {
        let Role::Publisher(sending) = &mut self.role else {
            return;
        };
        let Some(live) = &mut sending.live else {
            return;
        };
        let collector = &self.shared.collector;
        let audio_every = Duration::from_secs(1) / AUDIO_PACKETS_PER_SEC;
        catch_up(&mut live.next_audio, now);
        while live.next_audio <= now {
            live.next_audio += audio_every;
            if let Some(p) = live.audio.next_frame(live.speaking.load(Relaxed)) {
                let len = p.bytes.len();
                if write(
                    &mut self.pc,
                    sending.audio.sender,
                    &live.audio_header,
                    sending.audio.ssrcs[0],
                    None,
                    p,
                ) {
                    collector.sent(len);
                }
            }
        }
        let (Some(v), Some(track)) = (&mut live.video, &sending.video) else {
            return;
        };
        catch_up(&mut v.next_frame, now);
        while v.next_frame <= now {
            v.next_frame += Duration::from_secs(1) / FPS;
            let owed = std::mem::take(&mut v.owed);
            for (i, (ssrc, rid, source)) in v.layers.iter_mut().enumerate() {
                source.next_frame(owed & (1 << i) != 0, &mut v.frame);
                for p in v.frame.drain(..) {
                    let len = p.bytes.len();
                    if write(&mut self.pc, track.sender, &v.header, *ssrc, Some(rid), p) {
                        collector.sent(len);
                    }
                }
            }
        }
    }

    /// Adds what the connection's tracks received to the run's figures.
    fn finish(&mut self) {
        if let Role::Subscriber { tracks, .. } = &mut self.role {
            let end = probe::now_ns();
            for (_, mut stats) in tracks.drain() {
                stats.finish(end);
                self.shared.collector.merge(stats);
            }
        }
    }
}

/// Moves a media clock that fell more than [`MAX_MEDIA_LAG`] behind up to `now`.
fn catch_up(next: &mut Instant, now: Instant) {
    if now.saturating_duration_since(*next) > MAX_MEDIA_LAG {
        *next = now;
    }
}

/// Writes one media packet; false (and a debug line) if the core refused it.
fn write(
    pc: &mut RTCPeerConnection,
    sender: RTCRtpSenderId,
    header: &Negotiated,
    ssrc: u32,
    rid: Option<&'static str>,
    payload: Payload,
) -> bool {
    let packet = match rtp_packet(header, ssrc, rid, payload) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!("building an RTP packet: {e:#}");
            return false;
        }
    };
    let Some(mut s) = pc.rtp_sender(sender) else {
        return false;
    };
    match s.write_rtp(Instant::now(), packet) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!("writing RTP: {e}");
            false
        }
    }
}

/// The payload type, mid and rid extensions the server accepted for `track`.
fn negotiated(
    pc: &mut RTCPeerConnection,
    track: &LocalTrack,
    mime: &str,
) -> anyhow::Result<Negotiated> {
    let mid = pc
        .rtp_transceiver(RTCRtpTransceiverId::from(track.sender))
        .and_then(|t| t.mid().clone());
    let mut sender = pc
        .rtp_sender(track.sender)
        .ok_or_else(|| anyhow!("the {mime} sender is gone"))?;
    Negotiated::from_parameters(sender.get_parameters(), mime, mid)
}
