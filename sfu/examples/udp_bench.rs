//! Real-UDP benchmark of the driver: one publisher (audio 50 packets/s and video) and N
//! subscribers, each a str0m peer with its own loopback UDP socket on client threads,
//! against an [`SfuHandle`], whose driver runs on a thread of its own (`sfu-media`).
//! Prints that thread's CPU time per forwarded packet (from
//! `/proc/self/task/TID/schedstat`) and the
//! forwarding delay of two driver variants, alternating in one run so that the ratio is
//! fair on a noisy machine. COMPARE picks them:
//!
//! - `settle` (default): batches of 32, the core settled after every datagram (each
//!   subscriber driven once per packet) against once per receive batch;
//! - `batch`: one system call per datagram (batch 1) against batches of 32;
//! - `timers`: a timer pass for every str0m timer (granularity 0) against passes at
//!   least [`sfu::TIMER_GRANULARITY`] apart.
//!
//! Wake-ups are the server thread's context switches (`/proc/self/task/TID/status`).
//!
//! ```text
//! cargo run --release -p sfu --example udp_bench -- [SUBSCRIBERS] [SECONDS] [ROUNDS] [VIDEO_KBPS] [COMPARE]
//! ```

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use sfu::driver::{DriverConfig, IoConfig, Settle};
use sfu::{Grants, Notice, ParticipantInfo, SfuHandle};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc::UnboundedReceiver;

const PAYLOAD: usize = 1100;

fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = arg(args.next(), 20, "SUBSCRIBERS");
    let seconds: u64 = arg(args.next(), 10, "SECONDS");
    let rounds: usize = arg(args.next(), 1, "ROUNDS");
    let video_kbps: u64 = arg(args.next(), 1500, "VIDEO_KBPS");
    let compare: String = arg(args.next(), "settle".to_string(), "COMPARE");
    let per_batch = IoConfig::default();
    let variants: [(&str, IoConfig); 2] = match compare.as_str() {
        "settle" => [
            (
                "settle per datagram",
                IoConfig {
                    settle: Settle::PerDatagram,
                    ..per_batch
                },
            ),
            ("settle per batch", per_batch),
        ],
        "timers" => [
            (
                "every timer",
                IoConfig {
                    timer_granularity: Duration::ZERO,
                    ..per_batch
                },
            ),
            ("coalesced timers", per_batch),
        ],
        "batch" => [
            (
                "batch 1",
                IoConfig {
                    batch: 1,
                    ..per_batch
                },
            ),
            ("batch 32", per_batch),
        ],
        other => {
            eprintln!("COMPARE is settle, batch or timers, not {other}");
            std::process::exit(2)
        }
    };
    println!(
        "{subscribers} subscribers, {seconds} s per run, video {video_kbps} kbps + audio 50 packets/s"
    );
    let mut results: Vec<(usize, Figures)> = Vec::new();
    for _ in 0..rounds {
        for (i, (name, io)) in variants.iter().enumerate() {
            let f = run(subscribers, Duration::from_secs(seconds), *io, video_kbps);
            println!("{name:>19}: {f}");
            results.push((i, f));
        }
    }
    let mean = |i: usize| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(x, _)| *x == i)
            .map(|(_, f)| f.cpu_us_per_packet())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (before, after) = (mean(0), mean(1));
    println!(
        "server thread CPU per forwarded packet: {} {before:.2} µs, {} {after:.2} µs, ratio {:.2}",
        variants[0].0,
        variants[1].0,
        after / before
    );
}

struct Figures {
    forwarded: u64,
    received: u64,
    cpu: Duration,
    delay_mean: Duration,
    delay_under_1ms: f64,
    /// Datagrams whose forwarding delay was recorded.
    delayed: u64,
    /// Context switches of the server thread.
    wakeups: u64,
}

impl Figures {
    fn cpu_us_per_packet(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.forwarded.max(1) as f64
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "forwarded {} packets (received {}), server thread CPU {:.3} s = {:.2} µs per forwarded packet, \
             delay mean {:.0} µs, {:.1} % under 1 ms ({} datagrams timed), {} wake-ups/s",
            self.forwarded,
            self.received,
            self.cpu.as_secs_f64(),
            self.cpu_us_per_packet(),
            self.delay_mean.as_secs_f64() * 1e6,
            self.delay_under_1ms * 100.0,
            self.delayed,
            self.wakeups
        )
    }
}

/// One measured run: a fresh server and fresh clients.
fn run(subscribers: usize, measure: Duration, io: IoConfig, video_kbps: u64) -> Figures {
    let (handle_tx, handle_rx) = std_mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::Builder::new()
        .name("sfu-start".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let h = SfuHandle::start_with_io(
                    DriverConfig {
                        bind: "127.0.0.1:0".parse().unwrap(),
                        public_ips: vec!["127.0.0.1".parse().unwrap()],
                    },
                    io,
                )
                .await
                .expect("SFU start");
                handle_tx.send(h).unwrap();
                let _ = stop_rx.await;
            });
        })
        .unwrap();
    let handle = handle_rx.recv().unwrap();
    let task = media_thread();
    let stat = task.join("schedstat");
    let status = task.join("status");

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let video_ready = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    // The publisher, then the subscribers on two threads.
    {
        let (h, stop) = (handle.clone(), stop.clone());
        let (r, v) = (received.clone(), video_ready.clone());
        clients.push(std::thread::spawn(move || {
            client_thread(h, vec!["chair".into()], true, video_kbps, stop, r, v)
        }));
    }
    let threads = 2;
    for t in 0..threads {
        let names: Vec<String> = (0..subscribers)
            .filter(|i| i % threads == t)
            .map(|i| format!("room-{i}"))
            .collect();
        let (h, stop) = (handle.clone(), stop.clone());
        let (r, v) = (received.clone(), video_ready.clone());
        clients.push(std::thread::spawn(move || {
            client_thread(h, names, false, video_kbps, stop, r, v)
        }));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while video_ready.load(Ordering::Relaxed) < subscribers as u64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {subscribers} subscribers received video",
            video_ready.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let s0 = rt.block_on(handle.stats()).unwrap();
    let cpu0 = thread_cpu(&stat);
    let switches0 = context_switches(&status);
    let r0 = received.load(Ordering::Relaxed);
    std::thread::sleep(measure);
    let s1 = rt.block_on(handle.stats()).unwrap();
    let cpu1 = thread_cpu(&stat);
    let switches1 = context_switches(&status);
    let r1 = received.load(Ordering::Relaxed);

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    drop(handle);
    let _ = stop_tx.send(());
    server.join().unwrap();

    let (d0, d1) = (&s0.forwarding_delay, &s1.forwarding_delay);
    let count = d1.count - d0.count;
    let under_1ms = |d: &sfu::DelayHistogram| d.cumulative().nth(4).map_or(0, |(_, n)| n);
    Figures {
        forwarded: s1.packets_forwarded - s0.packets_forwarded,
        received: r1 - r0,
        cpu: cpu1 - cpu0,
        delay_mean: (d1.sum - d0.sum) / count.max(1) as u32,
        delay_under_1ms: (under_1ms(d1) - under_1ms(d0)) as f64 / count.max(1) as f64,
        delayed: count,
        wakeups: (switches1 - switches0) / measure.as_secs().max(1),
    }
}

/// `/proc/self/task/TID` of the newest driver thread (`sfu-media`): the one just
/// started, those of earlier runs having ended or being older.
fn media_thread() -> std::path::PathBuf {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let tid: u64 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            (comm.trim() == "sfu-media").then(|| (tid, e.path()))
        })
        .max_by_key(|(tid, _)| *tid)
        .map(|(_, path)| path)
        .expect("no sfu-media thread: the driver did not start")
}

/// Voluntary and involuntary context switches of one thread so far.
fn context_switches(status: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(status).expect("status");
    text.lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// CPU time of one thread: the first field of its schedstat, in nanoseconds.
fn thread_cpu(schedstat: &std::path::Path) -> Duration {
    let text = std::fs::read_to_string(schedstat).expect("schedstat");
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("schedstat run time");
    Duration::from_nanos(ns)
}

/// One peer connection of a client and its socket.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    timeout: Instant,
}

struct Client {
    publisher: Peer,
    subscriber: Peer,
    participant: sfu::ParticipantHandle,
    notices: UnboundedReceiver<Notice>,
    audio: Option<Mid>,
    video: Option<Mid>,
    got_video: bool,
    keyframe_wanted: bool,
}

fn client_thread(
    sfu: SfuHandle,
    names: Vec<String>,
    publish: bool,
    video_kbps: u64,
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
    video_ready: Arc<AtomicU64>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = Instant::now();
    let mut clients: Vec<Client> = names
        .iter()
        .map(|name| {
            let info = ParticipantInfo {
                identity: name.clone(),
                name: name.clone(),
                grants: Grants {
                    publish,
                    subscribe: !publish,
                },
            };
            let (participant, _, notices) = rt.block_on(sfu.join("bench", info)).unwrap();
            Client {
                publisher: peer(now),
                subscriber: peer(now),
                participant,
                notices,
                audio: None,
                video: None,
                got_video: false,
                keyframe_wanted: true,
            }
        })
        .collect();
    if publish {
        for c in &mut clients {
            let stream = c.participant.id().to_string();
            let mut api = c.publisher.rtc.sdp_api();
            c.audio = Some(api.add_media(
                MediaKind::Audio,
                Direction::SendOnly,
                Some(stream.clone()),
                None,
                None,
            ));
            c.video = Some(api.add_media(
                MediaKind::Video,
                Direction::SendOnly,
                Some(stream),
                None,
                None,
            ));
            let (offer, pending) = api.apply().unwrap();
            let answer = rt
                .block_on(c.participant.publish_offer(offer.to_sdp_string()))
                .unwrap();
            c.publisher
                .rtc
                .sdp_api()
                .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
                .unwrap();
        }
    }
    // Video: 30 frames/s of PAYLOAD-byte packets at the given rate.
    let video_packets_per_frame = ((video_kbps * 1000 / 8 / 30) as usize)
        .div_ceil(PAYLOAD)
        .max(1);
    let (mut seq_a, mut seq_v, mut ts_a, mut ts_v, mut frame) = (0u64, 0u64, 0u32, 0u32, 0u64);
    let (mut next_audio, mut next_video) = (now, now);
    let mut buf = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        for c in &mut clients {
            while let Ok(n) = c.notices.try_recv() {
                if let Notice::SubscribeOffer { sdp } = n {
                    let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                    let answer = c.subscriber.rtc.sdp_api().accept_offer(offer).unwrap();
                    rt.block_on(c.participant.subscribe_answer(answer.to_sdp_string()))
                        .unwrap();
                }
            }
            if publish {
                let (Some(am), Some(vm)) = (c.audio, c.video) else {
                    continue;
                };
                while next_audio <= now {
                    next_audio += Duration::from_millis(20);
                    ts_a = ts_a.wrapping_add(960);
                    let pt = pt_of(&c.publisher.rtc, Codec::Opus);
                    if let Some(tx) = c.publisher.rtc.direct_api().stream_tx_by_mid(am, None) {
                        seq_a += 1;
                        tx.write_rtp(
                            RtpWrite::new(pt, seq_a.into(), ts_a, now, vec![0xf8; 100])
                                .marker(true),
                        );
                    }
                }
                while next_video <= now {
                    next_video += Duration::from_micros(33_333);
                    ts_v = ts_v.wrapping_add(3000);
                    let key = c.keyframe_wanted || frame % 60 == 0;
                    frame += 1;
                    let pt = pt_of(&c.publisher.rtc, Codec::Vp8);
                    let mut api = c.publisher.rtc.direct_api();
                    let Some(tx) = api.stream_tx_by_mid(vm, None) else {
                        continue;
                    };
                    c.keyframe_wanted = false;
                    for k in 0..video_packets_per_frame {
                        let mut payload = vec![
                            if k == 0 { 0x10 } else { 0x00 },
                            if key { 0x00 } else { 0x01 },
                        ];
                        payload.resize(PAYLOAD, 0x55);
                        seq_v += 1;
                        tx.write_rtp(
                            RtpWrite::new(pt, seq_v.into(), ts_v, now, payload)
                                .marker(k == video_packets_per_frame - 1)
                                .nackable(true),
                        );
                    }
                }
            }
            for is_pub in [true, false] {
                let p = if is_pub {
                    &mut c.publisher
                } else {
                    &mut c.subscriber
                };
                while let Ok((n, from)) = p.socket.recv_from(&mut buf) {
                    let r = Receive::new(Protocol::Udp, from, p.addr, &buf[..n]).unwrap();
                    p.rtc.handle_input(Input::Receive(now, r)).unwrap();
                    drain(
                        p,
                        is_pub,
                        (&mut c.got_video, &mut c.keyframe_wanted),
                        &received,
                        &video_ready,
                    );
                }
                if p.timeout <= now {
                    p.rtc.handle_input(Input::Timeout(now)).unwrap();
                }
                drain(
                    p,
                    is_pub,
                    (&mut c.got_video, &mut c.keyframe_wanted),
                    &received,
                    &video_ready,
                );
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Poll a peer until it asks for a timeout: send its datagrams, count media.
fn drain(
    p: &mut Peer,
    is_pub: bool,
    (got_video, keyframe_wanted): (&mut bool, &mut bool),
    received: &AtomicU64,
    video_ready: &AtomicU64,
) {
    loop {
        match p.rtc.poll_output().unwrap() {
            Output::Timeout(t) => {
                p.timeout = t;
                return;
            }
            Output::Transmit(t) => {
                let _ = p.socket.send_to(&t.contents, t.destination);
            }
            Output::Event(Event::RtpPacket(pkt)) if !is_pub => {
                received.fetch_add(1, Ordering::Relaxed);
                if !*got_video && pkt.header.payload_type != pt_of(&p.rtc, Codec::Opus) {
                    *got_video = true;
                    video_ready.fetch_add(1, Ordering::Relaxed);
                }
            }
            Output::Event(Event::KeyframeRequest(_)) if is_pub => *keyframe_wanted = true,
            Output::Event(_) => {}
        }
    }
}

fn peer(now: Instant) -> Peer {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let addr = socket.local_addr().unwrap();
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
    Peer {
        rtc,
        socket,
        addr,
        timeout: now,
    }
}

fn pt_of(rtc: &Rtc, codec: Codec) -> str0m::media::Pt {
    rtc.codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .expect("negotiated codec")
}

fn arg<T: std::str::FromStr>(v: Option<String>, default: T, name: &str) -> T {
    match v {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!(
                "usage: udp_bench [SUBSCRIBERS] [SECONDS] [ROUNDS] [VIDEO_KBPS] [COMPARE]; bad {name}: {v}"
            );
            std::process::exit(2)
        }),
    }
}
