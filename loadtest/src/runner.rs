//! A run, whatever the target: terminals started at the ramp rate, the scenario's
//! floor changes, a progress line every second, the server's cost sampled from
//! `/proc`, and the report at the end.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cli::{Args, Scenario};
use crate::engine::EngineKind;
use crate::media::LAYERS;
use crate::peer::Shared;
use crate::peer::{AsyncPublisher, AsyncSubscriber};
use crate::procstat::{self, Sample};
use crate::report::{JoinTimes, Percentiles, ProcessFigures, Report, ServerFigures};
use crate::sansio::{MediaThreads, SansioPublisher, SansioSubscriber};
use crate::stats::Collector;
use crate::target::{Target, TerminalSpec};
use crate::terminal::{self, Outcome, Plan};

/// How long after the last terminal started the others may take to join.
const JOIN_GRACE: Duration = Duration::from_secs(30);
/// How long terminals may take to leave at the end.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Errors listed in the report.
const MAX_ERRORS: usize = 10;

/// Who publishes video and who speaks, per terminal, at the start.
pub fn plans(args: &Args, rids: &[&'static str]) -> Vec<Plan> {
    let n = usize::from(args.terminals);
    let k = usize::from(args.speakers).min(n - 1);
    (0..n)
        .map(|i| {
            let (video, speaking) = match args.scenario {
                Scenario::Briefing => (i == 0, i == 0),
                // K rooms show video all along; who speaks rotates (see `rotate`).
                Scenario::Discussion => (i <= k, i <= k),
                Scenario::Grid => (true, true),
            };
            Plan {
                video,
                speaking: Arc::new(AtomicBool::new(speaking)),
                rids: rids.to_vec(),
            }
        })
        .collect()
}

/// `discussion`: the rooms that have the floor in round `round` (the chair always does).
pub fn speakers(n: usize, k: usize, round: usize) -> impl Iterator<Item = usize> {
    let others = n - 1;
    (0..k.min(others)).map(move |j| 1 + (round * k + j) % others)
}

/// (receiver, published track) pairs among the terminals that joined.
pub fn tracks_expected(joined: &[bool], plans: &[Plan]) -> u64 {
    let published: u64 = joined
        .iter()
        .zip(plans)
        .filter(|(j, _)| **j)
        .map(|(_, p)| 1 + u64::from(p.video))
        .sum();
    joined
        .iter()
        .zip(plans)
        .filter(|(j, _)| **j)
        .map(|(_, p)| published - (1 + u64::from(p.video)))
        .sum()
}

/// The delivered pairs that [`tracks_expected`] counts: a track that reached a
/// terminal counted as not joined (its publisher connection never came up in time),
/// or a pair the scenario does not plan, is not counted, so delivered never exceeds
/// expected.
pub fn tracks_delivered(
    delivered: &std::collections::HashSet<crate::stats::Pair>,
    joined: &[bool],
    plans: &[Plan],
) -> u64 {
    let joined_at = |i: u16| joined.get(usize::from(i)).copied().unwrap_or(false);
    delivered
        .iter()
        .filter(|&&(receiver, publisher, track)| {
            receiver != publisher
                && joined_at(receiver)
                && joined_at(publisher)
                && (track == crate::probe::TRACK_AUDIO
                    || (track == crate::probe::TRACK_VIDEO && plans[usize::from(publisher)].video))
        })
        .count() as u64
}

/// Runs the scenario of `args` against `target`.
pub async fn run<T: Target>(target: T, args: &Args) -> anyhow::Result<Report> {
    let n = usize::from(args.terminals);
    let target = Arc::new(target);
    target.prepare(n).await?;
    let server_pid = match args.server_pid {
        Some(pid) => Ok(pid),
        None => procstat::find_by_name(target.name()),
    };
    let (stop_tx, stop) = watch::channel(false);
    let shared = Arc::new(Shared {
        collector: Collector::default(),
        stop,
        bind_ip: args.bind_ip,
        joined: Default::default(),
        settled: Default::default(),
        readers: Default::default(),
        media_threads: match args.engine {
            EngineKind::Sansio => Some(MediaThreads::start(usize::from(args.media_threads))?),
            EngineKind::Async => None,
        },
    });
    // Our SFU forwards the last rid of `a=simulcast` (the highest layer); list lowest
    // first as browsers do.
    let rids: Vec<&'static str> = LAYERS.iter().map(|l| l.rid).collect();
    let plans = plans(args, &rids);

    let monitor = Monitor::start(server_pid.as_ref().ok().copied());
    let progress = tokio::spawn(progress(shared.clone(), n));
    let run_start = Instant::now();
    let ramp = Duration::from_secs_f64(1.0 / args.ramp_per_sec);
    let mut terminals = Vec::with_capacity(n);
    for (i, plan) in plans.iter().enumerate() {
        tokio::time::sleep_until((run_start + ramp * i as u32).into()).await;
        let spec = TerminalSpec {
            index: i,
            identity: format!("lt-{i:03}"),
            name: if i == 0 {
                "Chủ tọa (loadtest)".to_string()
            } else {
                format!("Phòng {i} (loadtest)")
            },
            chair: i == 0,
        };
        let (target, plan, shared) = (target.clone(), plan.clone(), shared.clone());
        terminals.push(match args.engine {
            EngineKind::Async => tokio::spawn(terminal::run::<_, AsyncPublisher, AsyncSubscriber>(
                target, spec, plan, shared,
            )),
            EngineKind::Sansio => tokio::spawn(
                terminal::run::<_, SansioPublisher, SansioSubscriber>(target, spec, plan, shared),
            ),
        });
    }
    let deadline = Instant::now() + JOIN_GRACE;
    while shared.settled.load(Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Steady state: everyone is in (or gave up); measure the media from here.
    let steady_server = monitor.server_now();
    let steady_received = shared.collector.packets_received.load(Relaxed);
    shared
        .collector
        .steady_from_ns
        .store(crate::probe::now_ns(), Relaxed);
    let media_start = Instant::now();
    let rotation = (args.scenario == Scenario::Discussion).then(|| {
        tokio::spawn(rotate(
            plans.iter().map(|p| p.speaking.clone()).collect(),
            usize::from(args.speakers),
            Duration::from_secs_f64(args.rotate_secs),
        ))
    });
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let duration_s = media_start.elapsed().as_secs_f64();
    let end_server = monitor.server_now();
    let end_received = shared.collector.packets_received.load(Relaxed);
    stop_tx.send_replace(true);
    if let Some(r) = rotation {
        r.abort();
    }

    let mut outcomes = Vec::with_capacity(n);
    for t in terminals {
        match tokio::time::timeout(LEAVE_TIMEOUT, t).await {
            Ok(Ok(o)) => outcomes.push(o),
            Ok(Err(e)) => outcomes.push(Outcome {
                join_ms: None,
                error: Some(format!("a terminal task failed: {e}")),
            }),
            Err(_) => outcomes.push(Outcome {
                join_ms: None,
                error: Some(format!("a terminal did not leave within {LEAVE_TIMEOUT:?}")),
            }),
        }
    }
    let readers_deadline = Instant::now() + Duration::from_secs(5);
    while shared.readers.load(Relaxed) > 0 && Instant::now() < readers_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    progress.abort();
    let (server_peak, own) = monitor.stop().await;

    let joined: Vec<bool> = outcomes.iter().map(|o| o.join_ms.is_some()).collect();
    let summary = shared.collector.summary();
    let c = &shared.collector;
    let received = c.packets_received.load(Relaxed);
    let lost = c.lost();
    let mut join_times: Vec<f64> = outcomes.iter().filter_map(|o| o.join_ms).collect();
    join_times.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        if join_times.is_empty() {
            0.0
        } else {
            join_times[((join_times.len() - 1) as f64 * q).round() as usize]
        }
    };
    let server = match (&server_pid, server_peak) {
        (Ok(pid), Some(peak)) => {
            let cpu = |s: Option<Sample>| s.map(|s| s.cpu_seconds);
            let steady_cpu = cpu(end_server).zip(cpu(steady_server)).map(|(e, s)| e - s);
            let forwarded = end_received.saturating_sub(steady_received);
            ServerFigures {
                pid: Some(*pid),
                cpu_seconds: cpu(end_server)
                    .zip(monitor_start_cpu(&peak))
                    .map(|(e, s)| e - s),
                peak_rss_bytes: Some(peak.peak_rss_bytes),
                cpu_us_per_forwarded_packet: steady_cpu
                    .filter(|_| forwarded > 0)
                    .map(|cpu| cpu * 1e6 / forwarded as f64),
                unavailable: None,
            }
        }
        (Ok(pid), None) => ServerFigures {
            pid: Some(*pid),
            unavailable: Some(format!("/proc/{pid} could not be read")),
            ..Default::default()
        },
        (Err(why), _) => ServerFigures {
            unavailable: Some(why.clone()),
            ..Default::default()
        },
    };
    let mut report = Report {
        target: target.name().to_string(),
        scenario: args.scenario.as_str().to_string(),
        engine: args.engine.as_str().to_string(),
        terminals: n,
        terminals_joined: joined.iter().filter(|j| **j).count(),
        duration_s,
        tracks_expected: tracks_expected(&joined, &plans),
        tracks_delivered: tracks_delivered(&summary.delivered, &joined, &plans),
        packets_sent: c.packets_sent.load(Relaxed),
        packets_received: received,
        packets_lost: lost,
        loss_fraction: if received + lost == 0 {
            0.0
        } else {
            lost as f64 / (received + lost) as f64
        },
        packets_reordered: summary.reordered,
        latency_ms: percentiles(&summary.latency_us),
        latency_with_joins_ms: percentiles(&summary.latency_all_us),
        jitter_ms: summary.jitter_ms,
        freezes: summary.freezes,
        bytes_sent: c.bytes_sent.load(Relaxed),
        bytes_received: c.bytes_received.load(Relaxed),
        join_ms: JoinTimes {
            p50: rank(0.5),
            p99: rank(0.99),
            max: join_times.last().copied().unwrap_or(0.0),
        },
        errors: outcomes
            .iter()
            .filter_map(|o| o.error.clone())
            .take(MAX_ERRORS)
            .collect(),
        server,
        loadgen: own,
        violations: vec![],
    };
    report.violations = report.check(args);
    Ok(report)
}

/// A latency histogram (µs) as percentiles in ms.
fn percentiles(h: &hdrhistogram::Histogram<u64>) -> Percentiles {
    let ms = |us: u64| us as f64 / 1000.0;
    Percentiles {
        p50: ms(h.value_at_quantile(0.5)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    }
}

fn monitor_start_cpu(peak: &ServerPeak) -> Option<f64> {
    peak.first.map(|s| s.cpu_seconds)
}

/// `discussion`: hands the floor to the next K rooms every `every`.
async fn rotate(speaking: Vec<Arc<AtomicBool>>, k: usize, every: Duration) {
    let n = speaking.len();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    for round in 1.. {
        tick.tick().await;
        let now: Vec<usize> = speakers(n, k, round).collect();
        for (i, s) in speaking.iter().enumerate().skip(1) {
            s.store(now.contains(&i), Relaxed);
        }
    }
}

/// One line a second on stderr.
async fn progress(shared: Arc<Shared>, n: usize) {
    let c = &shared.collector;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (mut sent0, mut recv0) = (0, 0);
    loop {
        tick.tick().await;
        let sent = c.packets_sent.load(Relaxed);
        let recv = c.packets_received.load(Relaxed);
        let lost = c.lost();
        eprintln!(
            "joined {}/{n}  sent {} pkt/s  received {} pkt/s  lost {} ({:.3}%)",
            shared.joined.load(Relaxed),
            sent - sent0,
            recv - recv0,
            lost,
            if recv + lost == 0 {
                0.0
            } else {
                lost as f64 * 100.0 / (recv + lost) as f64
            },
        );
        (sent0, recv0) = (sent, recv);
    }
}

/// The server's first sample and its peak memory.
#[derive(Debug, Clone, Copy)]
struct ServerPeak {
    first: Option<Sample>,
    peak_rss_bytes: u64,
}

/// Samples the server and this process every second.
struct Monitor {
    server_pid: Option<u32>,
    task: tokio::task::JoinHandle<(Option<ServerPeak>, ProcessFigures)>,
    stop: watch::Sender<bool>,
}

impl Monitor {
    fn start(server_pid: Option<u32>) -> Monitor {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let own_start = procstat::own();
            let mut server = server_pid.and_then(procstat::sample).map(|s| ServerPeak {
                first: Some(s),
                peak_rss_bytes: s.rss_bytes,
            });
            let mut own_peak = own_start.map_or(0, |s| s.rss_bytes);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = crate::peer::stopped(&mut stopped) => break,
                }
                if let (Some(peak), Some(s)) = (&mut server, server_pid.and_then(procstat::sample))
                {
                    peak.peak_rss_bytes = peak.peak_rss_bytes.max(s.rss_bytes);
                }
                if let Some(s) = procstat::own() {
                    own_peak = own_peak.max(s.rss_bytes);
                }
            }
            let own_end = procstat::own();
            let own = ProcessFigures {
                cpu_seconds: own_end
                    .zip(own_start)
                    .map_or(0.0, |(e, s)| e.cpu_seconds - s.cpu_seconds),
                peak_rss_bytes: own_peak,
            };
            (server, own)
        });
        Monitor {
            server_pid,
            task,
            stop,
        }
    }

    fn server_now(&self) -> Option<Sample> {
        self.server_pid.and_then(procstat::sample)
    }

    async fn stop(self) -> (Option<ServerPeak>, ProcessFigures) {
        self.stop.send_replace(true);
        self.task.await.unwrap_or((None, ProcessFigures::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(scenario: &str, n: &str) -> Args {
        Args::try_parse_from([
            "loadtest",
            "--server",
            "http://x",
            "--jwt-key-file",
            "k",
            "--scenario",
            scenario,
            "--terminals",
            n,
            "--duration",
            "1",
        ])
        .unwrap()
    }

    #[test]
    fn scenario_plans_and_expected_tracks() {
        let rids = ["q", "h", "f"];
        let b = plans(&args("briefing", "5"), &rids);
        assert_eq!(b.iter().filter(|p| p.video).count(), 1);
        // 4 listeners get the chair's 2 tracks; everyone gets the others' audio.
        let all = [true; 5];
        assert_eq!(tracks_expected(&all, &b), 5 * 4 + 4);
        let d = plans(&args("discussion", "10"), &rids);
        assert_eq!(d.iter().filter(|p| p.video).count(), 4, "chair + 3");
        let g = plans(&args("grid", "4"), &rids);
        assert_eq!(tracks_expected(&[true; 4], &g), 4 * 3 * 2);
        // A terminal that did not join neither receives nor is expected to send.
        assert_eq!(tracks_expected(&[true, true, false, true], &g), 3 * 2 * 2);
        // A track from or to a terminal not counted as joined is not delivered either.
        let got: std::collections::HashSet<crate::stats::Pair> =
            [(0, 1, 0), (0, 1, 1), (0, 2, 0), (2, 0, 0), (3, 3, 0)]
                .into_iter()
                .collect();
        assert_eq!(tracks_delivered(&got, &[true, true, false, true], &g), 2);
    }

    #[test]
    fn the_floor_rotates_over_every_room_but_the_chair() {
        let seen: std::collections::HashSet<usize> =
            (0..10).flat_map(|r| speakers(8, 3, r)).collect();
        assert_eq!(seen, (1..8).collect::<std::collections::HashSet<_>>());
        assert_eq!(speakers(8, 3, 0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(speakers(8, 3, 1).collect::<Vec<_>>(), vec![4, 5, 6]);
        assert_eq!(speakers(3, 5, 0).count(), 2);
    }
}
