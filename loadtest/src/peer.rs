//! A terminal's two webrtc-rs peer connections: the publisher, whose synthetic RTP
//! is written by its own tasks (one per track, answering PLI/FIR with keyframes), and
//! the subscriber, whose every remote track is read by its own task so that the
//! driver's per-track channel never fills (see WEBRTC-NOTES.md).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::peer_connection::configuration::setting_engine::{SettingEngine, SettingEngineBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RTCRtpSendParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SrtpProtectionProfile,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::engine;
use crate::media::{AudioSource, Payload, VideoSource, LAYERS};
use crate::probe::{self, Probe};
use crate::stats::{Collector, TrackStats};
use crate::terminal::Plan;

pub(crate) const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub(crate) const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
pub(crate) const OPUS_PT: u8 = 111;
pub(crate) const VP8_PT: u8 = 96;
/// How long ICE gathering may take (host candidates on one address: instant).
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);

/// What every task of a run shares.
pub struct Shared {
    /// The totals.
    pub collector: Collector,
    /// Turns true when the run stops.
    pub stop: watch::Receiver<bool>,
    /// The address peer connections bind.
    pub bind_ip: IpAddr,
    /// Terminals whose publisher connection is up.
    pub joined: AtomicUsize,
    /// Terminals that joined or gave up joining.
    pub settled: AtomicUsize,
    /// Remote-track readers still running (their figures not merged yet).
    pub readers: AtomicUsize,
    /// The sans-I/O engine's threads (`None`: connections run on the main runtime).
    pub media_threads: Option<crate::sansio::MediaThreads>,
}

/// Resolves once the run stops (or its controller is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    // Holding the guard across an await would make the future !Send; drop it at once.
    let _ = stop.wait_for(|s| *s).await.map(drop);
}

/// A peer connection and what its event handler reports.
pub struct Peer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<bool>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

struct Events {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    /// Set on the subscriber: (receiving terminal, run state) for its track readers.
    receiver: Option<(u16, Arc<Shared>)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some((receiver, shared)) = &self.receiver {
            shared.readers.fetch_add(1, Relaxed);
            tokio::spawn(read_track(track, *receiver, shared.clone()));
        }
    }
}

impl Peer {
    /// A connection bound to `shared.bind_ip`; with `receiver`, its remote tracks are
    /// measured as that terminal's.
    pub async fn new(shared: &Arc<Shared>, receiver: Option<u16>) -> anyhow::Result<Peer> {
        let (media, registry, settings) = stack_settings(shared)?;
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let events = Arc::new(Events {
            gathered: gathered_tx,
            state: state_tx,
            receiver: receiver.map(|r| (r, shared.clone())),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(events)
            .with_udp_addrs(vec![format!("{}:0", shared.bind_ip)])
            .build()
            .await
            .context("creating a peer connection")?;
        Ok(Peer {
            pc: Arc::new(pc),
            gathered,
            state,
        })
    }

    /// Our offer with every candidate in it.
    pub async fn offer(&self) -> anyhow::Result<String> {
        let offer = self.pc.create_offer(None).await.context("create_offer")?;
        self.pc
            .set_local_description(offer)
            .await
            .context("setting the local offer")?;
        self.complete_local().await
    }

    /// Applies the remote answer.
    pub async fn accept_answer(&self, sdp: String) -> anyhow::Result<()> {
        let answer = RTCSessionDescription::answer(sdp).context("parsing the server's answer")?;
        self.pc
            .set_remote_description(answer)
            .await
            .context("setting the server's answer")
    }

    /// Applies the remote offer and returns our answer with every candidate in it.
    pub async fn answer(&self, sdp: String) -> anyhow::Result<String> {
        let offer = RTCSessionDescription::offer(sdp).context("parsing the server's offer")?;
        self.pc
            .set_remote_description(offer)
            .await
            .context("setting the server's offer")?;
        let answer = self.pc.create_answer(None).await.context("create_answer")?;
        self.pc
            .set_local_description(answer)
            .await
            .context("setting the local answer")?;
        self.complete_local().await
    }

    async fn complete_local(&self) -> anyhow::Result<String> {
        let mut gathered = self.gathered.clone();
        tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|g| *g))
            .await
            .map_err(|_| anyhow!("ICE gathering did not complete in {GATHER_TIMEOUT:?}"))?
            .map_err(|_| anyhow!("the peer connection closed while gathering"))?;
        Ok(self
            .pc
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description after setting one"))?
            .sdp)
    }

    /// Waits until the connection is up (ICE and DTLS), or says how it failed.
    pub async fn connected(&self, within: Duration) -> anyhow::Result<()> {
        reach_connected(&self.state, within).await
    }

    /// Closes the connection.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!("closing a peer connection: {e}");
        }
    }
}

/// What both engines configure the same way: codecs and header extensions, the
/// interceptor that hands keyframe requests to the sender, candidates on
/// `shared.bind_ip` (loopback included when that is loopback), AES-GCM SRTP first.
pub(crate) fn stack_settings(
    shared: &Shared,
) -> anyhow::Result<(MediaEngine, Registry, SettingEngine)> {
    let mut media = MediaEngine::default();
    register_codecs(&mut media)?;
    let registry = Registry::new().with(Slot::from(14_000), KeyframeRequests::default());
    let settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(shared.bind_ip.is_loopback())
        .with_srtp_protection_profiles(vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ])
        .build();
    Ok((media, registry, settings))
}

/// Waits until the connection state `state` follows is `Connected`, or says how it
/// failed (failed, closed, or not there `within`).
pub(crate) async fn reach_connected(
    state: &watch::Receiver<RTCPeerConnectionState>,
    within: Duration,
) -> anyhow::Result<()> {
    let mut state = state.clone();
    let reached = tokio::time::timeout(
        within,
        state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Closed
            )
        }),
    )
    .await
    .map_err(|_| anyhow!("not connected within {within:?}"))?
    .map_err(|_| anyhow!("the peer connection went away"))?
    .to_owned();
    match reached {
        RTCPeerConnectionState::Connected => Ok(()),
        other => Err(anyhow!("the peer connection is {other}")),
    }
}

/// The async engine's publisher: the connection and, until media starts, its tracks.
pub struct AsyncPublisher {
    peer: Arc<Peer>,
    tracks: std::sync::Mutex<Option<(LocalTrack, Option<LocalTrack>)>>,
}

impl engine::Publisher for AsyncPublisher {
    async fn open(shared: &Arc<Shared>, index: u16, plan: &Plan) -> anyhow::Result<Self> {
        let peer = Peer::new(shared, None).await?;
        let audio = add_audio(&peer, index).await?;
        let video = if plan.video {
            Some(add_video(&peer, index, &plan.rids).await?)
        } else {
            None
        };
        Ok(AsyncPublisher {
            peer: Arc::new(peer),
            tracks: std::sync::Mutex::new(Some((audio, video))),
        })
    }

    async fn offer(&self) -> anyhow::Result<String> {
        self.peer.offer().await
    }

    async fn accept_answer(&self, sdp: String) -> anyhow::Result<()> {
        self.peer.accept_answer(sdp).await
    }

    async fn connected(&self, within: Duration) -> anyhow::Result<()> {
        self.peer.connected(within).await
    }

    fn start_media(
        &self,
        index: u16,
        plan: &Plan,
        shared: &Arc<Shared>,
    ) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>> {
        let Some((audio, video)) = self.tracks.lock().ok().and_then(|mut t| t.take()) else {
            return Vec::new();
        };
        let mut tasks = vec![tokio::spawn(send_audio(
            self.peer.clone(),
            audio,
            index,
            plan.speaking.clone(),
            shared.clone(),
        ))];
        if let Some(video) = video {
            tasks.push(tokio::spawn(send_video(
                self.peer.clone(),
                video,
                index,
                plan.rids.clone(),
                shared.clone(),
            )));
        }
        tasks
    }

    async fn close(&self) {
        self.peer.close().await
    }
}

/// The async engine's subscriber: every remote track read by its own task.
pub struct AsyncSubscriber(Peer);

impl engine::Subscriber for AsyncSubscriber {
    async fn open(shared: &Arc<Shared>, index: u16) -> anyhow::Result<Self> {
        Ok(AsyncSubscriber(Peer::new(shared, Some(index)).await?))
    }

    async fn answer(&self, sdp: String) -> anyhow::Result<String> {
        self.0.answer(sdp).await
    }

    async fn close(&self) {
        self.0.close().await
    }
}

fn register_codecs(media: &mut MediaEngine) -> anyhow::Result<()> {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    };
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.into(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
            },
            payload_type: VP8_PT,
        },
        RtpCodecKind::Video,
    )?;
    for (uri, kind) in [
        (MID_URI, RtpCodecKind::Audio),
        (MID_URI, RtpCodecKind::Video),
        (RID_URI, RtpCodecKind::Video),
    ] {
        media.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: uri.into() },
            kind,
            None,
        )?;
    }
    Ok(())
}

/// Hands PLI and FIR received on the publisher connection to the application (the
/// video sender's task), and nothing else: other RTCP stops here.
#[derive(Default)]
struct KeyframeRequests {
    read: std::collections::VecDeque<TaggedPacket>,
    write: std::collections::VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &mut msg.message.packet {
            packets.retain(|p| {
                let any = p.as_any();
                any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
            });
            if packets.is_empty() {
                return Ok(());
            }
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

/// A track added to the publisher connection, before negotiation.
struct LocalTrack {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    /// SSRC per simulcast layer (one entry for audio).
    ssrcs: Vec<u32>,
}

/// Adds the terminal's audio track (Opus).
async fn add_audio(peer: &Peer, terminal: u16) -> anyhow::Result<LocalTrack> {
    add_track(peer, terminal, RtpCodecKind::Audio, &[""]).await
}

/// Adds the terminal's camera: VP8 in the three simulcast layers, listed in `rids`
/// order (the SDP's `a=simulcast` order).
async fn add_video(peer: &Peer, terminal: u16, rids: &[&str]) -> anyhow::Result<LocalTrack> {
    add_track(peer, terminal, RtpCodecKind::Video, rids).await
}

async fn add_track(
    peer: &Peer,
    terminal: u16,
    kind: RtpCodecKind,
    rids: &[&str],
) -> anyhow::Result<LocalTrack> {
    let (track, ssrcs) = local_track(terminal, kind, rids);
    let label = track.label().clone();
    let track = Arc::new(TrackLocalStaticRTP::new(track));
    let sender = peer
        .pc
        .add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .with_context(|| format!("adding the {label} track"))?;
    Ok(LocalTrack {
        track,
        sender,
        ssrcs,
    })
}

/// Terminal `terminal`'s `kind` track (Opus audio, or VP8 in the simulcast layers
/// `rids`, lowest first) and its SSRC per layer (one for audio). Its id is
/// `lt-NNN-audio` or `lt-NNN-video`.
pub(crate) fn local_track(
    terminal: u16,
    kind: RtpCodecKind,
    rids: &[&str],
) -> (MediaStreamTrack, Vec<u32>) {
    let (mime, clock_rate, channels) = match kind {
        RtpCodecKind::Audio => (MIME_TYPE_OPUS, 48_000, 2),
        _ => (MIME_TYPE_VP8, 90_000, 0),
    };
    let ssrcs: Vec<u32> = rids.iter().map(|_| rand::random()).collect();
    let codings = rids
        .iter()
        .zip(&ssrcs)
        .map(|(rid, &ssrc)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: rid.to_string(),
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec: RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate,
                channels,
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    let label = if kind == RtpCodecKind::Audio {
        "audio"
    } else {
        "video"
    };
    let track = MediaStreamTrack::new(
        format!("lt-{terminal:03}"),
        format!("lt-{terminal:03}-{label}"),
        label.into(),
        kind,
        codings,
    );
    (track, ssrcs)
}

/// What the RTP headers of a negotiated track carry.
pub(crate) struct Negotiated {
    pt: u8,
    mid: Option<(u8, Bytes)>,
    rid_ext: Option<u8>,
}

async fn negotiated(peer: &Peer, t: &LocalTrack, mime: &str) -> anyhow::Result<Negotiated> {
    let params = t
        .sender
        .get_parameters()
        .await
        .context("reading the negotiated sender parameters")?;
    let mut mid = None;
    for tr in peer.pc.get_transceivers().await {
        if let Ok(Some(s)) = tr.sender().await {
            if Arc::ptr_eq(&s, &t.sender) {
                mid = tr.mid().await.ok().flatten();
            }
        }
    }
    Negotiated::from_parameters(&params, mime, mid)
}

impl Negotiated {
    /// What the sender with these negotiated `params` and `mid` puts in its headers.
    pub(crate) fn from_parameters(
        params: &RTCRtpSendParameters,
        mime: &str,
        mid: Option<String>,
    ) -> anyhow::Result<Negotiated> {
        let pt = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
            .map(|c| c.payload_type)
            .ok_or_else(|| anyhow!("the server did not accept {mime}"))?;
        let ext = |uri: &str| {
            params
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == uri)
                .map(|e| e.id as u8)
        };
        Ok(Negotiated {
            pt,
            mid: ext(MID_URI).zip(mid.map(Bytes::from)),
            rid_ext: ext(RID_URI),
        })
    }
}

pub(crate) fn rtp_packet(
    n: &Negotiated,
    ssrc: u32,
    rid: Option<&'static str>,
    p: Payload,
) -> anyhow::Result<rtc::rtp::Packet> {
    let mut header = rtc::rtp::header::Header {
        version: 2,
        marker: p.marker,
        payload_type: n.pt,
        sequence_number: p.seq,
        timestamp: p.timestamp,
        ssrc,
        ..Default::default()
    };
    if let Some((id, mid)) = &n.mid {
        header.set_extension(*id, mid.clone())?;
    }
    if let (Some(id), Some(rid)) = (n.rid_ext, rid) {
        header.set_extension(id, Bytes::from_static(rid.as_bytes()))?;
    }
    Ok(rtc::rtp::Packet {
        header,
        payload: p.bytes,
    })
}

/// Sends the terminal's audio until the run stops: speech while `speaking`, DTX
/// otherwise.
async fn send_audio(
    peer: Arc<Peer>,
    t: LocalTrack,
    terminal: u16,
    speaking: Arc<AtomicBool>,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let n = negotiated(&peer, &t, MIME_TYPE_OPUS).await?;
    let mut source = AudioSource::new(terminal);
    let mut tick =
        tokio::time::interval(Duration::from_secs(1) / crate::media::AUDIO_PACKETS_PER_SEC);
    let mut stop = shared.stop.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => return Ok(()),
        }
        if let Some(p) = source.next_frame(speaking.load(Relaxed)) {
            let len = p.bytes.len();
            t.track
                .write_rtp(rtp_packet(&n, t.ssrcs[0], None, p)?)
                .await?;
            shared.collector.sent(len);
        }
    }
}

/// Sends the terminal's simulcast camera until the run stops, with a keyframe on
/// every PLI or FIR for a layer.
async fn send_video(
    peer: Arc<Peer>,
    t: LocalTrack,
    terminal: u16,
    rids: Vec<&'static str>,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let n = negotiated(&peer, &t, MIME_TYPE_VP8).await?;
    // Bit i set: layer i owes a keyframe.
    let wanted = Arc::new(AtomicU8::new(0));
    tokio::spawn(keyframe_requests(
        t.track.clone(),
        t.ssrcs.clone(),
        wanted.clone(),
    ));
    let layer_of = |rid: &str| LAYERS.iter().position(|l| l.rid == rid).unwrap_or(0) as u8;
    let mut sources: Vec<(u32, &'static str, VideoSource)> = rids
        .iter()
        .zip(&t.ssrcs)
        .map(|(&rid, &ssrc)| (ssrc, rid, VideoSource::new(terminal, layer_of(rid))))
        .collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / crate::media::FPS);
    let mut stop = shared.stop.clone();
    let mut frame = Vec::with_capacity(16);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => return Ok(()),
        }
        let owed = wanted.swap(0, Relaxed);
        for (i, (ssrc, rid, source)) in sources.iter_mut().enumerate() {
            source.next_frame(owed & (1 << i) != 0, &mut frame);
            for p in frame.drain(..) {
                let len = p.bytes.len();
                t.track
                    .write_rtp(rtp_packet(&n, *ssrc, Some(rid), p)?)
                    .await?;
                shared.collector.sent(len);
            }
        }
    }
}

/// Marks the layer a PLI or FIR names as owing a keyframe.
async fn keyframe_requests(
    track: Arc<TrackLocalStaticRTP>,
    ssrcs: Vec<u32>,
    wanted: Arc<AtomicU8>,
) {
    while let Some(event) = track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        wanted.fetch_or(keyframes_owed(&packets, &ssrcs), Relaxed);
    }
}

/// The layers (bit i: `ssrcs[i]`) that PLIs and FIRs among `packets` ask a keyframe of;
/// a request naming none of ours refreshes every layer.
pub(crate) fn keyframes_owed(packets: &[Box<dyn rtc::rtcp::Packet>], ssrcs: &[u32]) -> u8 {
    let mut owed = 0u8;
    for p in packets {
        let any = p.as_any();
        let media: Vec<u32> = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            vec![pli.media_ssrc]
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            fir.fir.iter().map(|e| e.ssrc).collect()
        } else {
            continue;
        };
        for ssrc in media {
            owed |= match ssrcs.iter().position(|&s| s == ssrc) {
                Some(i) => 1 << i,
                None => 0xff,
            };
        }
    }
    owed
}

/// Reads one remote track until it ends or the run stops, measuring every packet.
async fn read_track(track: Arc<dyn TrackRemote>, receiver: u16, shared: Arc<Shared>) {
    let mut stats = TrackStats::new(receiver);
    let mut stop = shared.stop.clone();
    loop {
        let event = tokio::select! {
            e = track.poll() => e,
            _ = stopped(&mut stop) => break,
        };
        match event {
            Some(TrackRemoteEvent::OnRtpPacket(p)) => {
                if let Some(probe) = Probe::read_tail(&p.payload) {
                    stats.on_packet(&shared.collector, &probe, p.payload.len(), probe::now_ns());
                }
            }
            Some(TrackRemoteEvent::OnEnded) | None => break,
            Some(_) => {}
        }
    }
    stats.finish(probe::now_ns());
    shared.collector.merge(stats);
    shared.readers.fetch_sub(1, Relaxed);
}
