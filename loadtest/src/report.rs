//! The end of a run: the figures as a table and as JSON, and which thresholds they
//! break.

use serde::Serialize;

use crate::cli::Args;

/// Everything a run measured. Field names are the JSON report's.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `hoinghi` or `janus`.
    pub target: String,
    /// `briefing`, `discussion` or `grid`.
    pub scenario: String,
    /// The load generator's WebRTC engine: `async` or `sansio`.
    pub engine: String,
    /// Terminals started.
    pub terminals: usize,
    /// Terminals whose publisher connection came up.
    pub terminals_joined: usize,
    /// Seconds of media after the ramp-up.
    pub duration_s: f64,
    /// (receiver, published track) pairs the scenario should deliver among the
    /// terminals that joined.
    pub tracks_expected: u64,
    /// Of those, the pairs that brought at least one packet.
    pub tracks_delivered: u64,
    /// RTP packets sent by all terminals (every simulcast layer).
    pub packets_sent: u64,
    /// Probed packets received by all terminals.
    pub packets_received: u64,
    /// Missing from the streams received (per forwarded layer, from each stream's first
    /// packet to its highest sequence number).
    pub packets_lost: u64,
    /// `packets_lost / (packets_received + packets_lost)`.
    pub loss_fraction: f64,
    /// Packets that arrived after a later one of their stream.
    pub packets_reordered: u64,
    /// One-way latency sender → server → receiver on the shared clock, of the packets
    /// received once every terminal had joined (the steady state, like the server's
    /// CPU per forwarded packet).
    pub latency_ms: Percentiles,
    /// The same over the whole run, the joins (DTLS handshakes, renegotiations,
    /// keyframe requests) included.
    pub latency_with_joins_ms: Percentiles,
    /// Mean RFC 3550 interarrival jitter of the received streams.
    pub jitter_ms: f64,
    /// Video gaps over 500 ms in tracks that had started (also a track silent at the
    /// end for that long).
    pub freezes: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP payload bytes received.
    pub bytes_received: u64,
    /// Time from opening signaling to the publisher connection being up.
    pub join_ms: JoinTimes,
    /// Why terminals failed (the first few).
    pub errors: Vec<String>,
    /// The server process.
    pub server: ServerFigures,
    /// The load generator's own process.
    pub loadgen: ProcessFigures,
    /// Threshold flags the run broke.
    pub violations: Vec<String>,
}

/// Latency percentiles, ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} / {:.2} / {:.2} / {:.2}",
            self.p50, self.p95, self.p99, self.max
        )
    }
}

/// Join times, ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct JoinTimes {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// What the server process cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerFigures {
    /// Its pid, if it was found.
    pub pid: Option<u32>,
    /// CPU seconds (user + system) from the first terminal's start to the end of
    /// the media.
    pub cpu_seconds: Option<f64>,
    /// Largest resident set seen, sampled every second.
    pub peak_rss_bytes: Option<u64>,
    /// Server CPU microseconds over the steady part of the run (every terminal in,
    /// to the end of the media) divided by the packets all terminals received in the
    /// same interval. Server-agnostic: the same definition measures Janus.
    pub cpu_us_per_forwarded_packet: Option<f64>,
    /// Why there are no server figures, if there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// What a process cost.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcessFigures {
    /// CPU seconds (user + system) over the run.
    pub cpu_seconds: f64,
    /// Largest resident set seen.
    pub peak_rss_bytes: u64,
}

impl Report {
    /// The thresholds of `args` this report breaks, as sentences.
    pub fn check(&self, args: &Args) -> Vec<String> {
        let mut broken = Vec::new();
        if let Some(max) = args.max_loss {
            if self.loss_fraction > max {
                broken.push(format!(
                    "loss {:.4}% is above --max-loss {:.4}%",
                    self.loss_fraction * 100.0,
                    max * 100.0
                ));
            }
        }
        if let Some(max) = args.max_p99_ms {
            if self.latency_ms.p99 > max {
                broken.push(format!(
                    "latency p99 {:.2} ms is above --max-p99-ms {max}",
                    self.latency_ms.p99
                ));
            }
        }
        if let Some(min) = args.min_delivered {
            let delivered = self.delivered_fraction();
            if delivered < min {
                broken.push(format!(
                    "{} of {} tracks delivered ({:.2}%) is below --min-delivered {:.2}%",
                    self.tracks_delivered,
                    self.tracks_expected,
                    delivered * 100.0,
                    min * 100.0
                ));
            }
        }
        if let Some(max) = args.max_freezes {
            if self.freezes > max {
                broken.push(format!(
                    "{} freezes is above --max-freezes {max}",
                    self.freezes
                ));
            }
        }
        let min_joined = args.min_joined.map_or(self.terminals, usize::from);
        if self.terminals_joined < min_joined {
            broken.push(format!(
                "{} of {} terminals joined, fewer than {min_joined}",
                self.terminals_joined, self.terminals
            ));
        }
        broken
    }

    fn delivered_fraction(&self) -> f64 {
        if self.tracks_expected == 0 {
            1.0
        } else {
            self.tracks_delivered as f64 / self.tracks_expected as f64
        }
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            out.push_str(&format!("{k:<width$}  {v}\n"));
        }
        if let Some(why) = &self.server.unavailable {
            out.push_str(&format!("(no server figures: {why})\n"));
        }
        out
    }

    /// The table's rows: a label and this run's figure.
    fn rows(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
        };
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        vec![
            ("target", self.target.clone()),
            ("scenario", self.scenario.clone()),
            ("engine", self.engine.clone()),
            (
                "terminals joined",
                format!("{} / {}", self.terminals_joined, self.terminals),
            ),
            ("media duration", format!("{:.1} s", self.duration_s)),
            (
                "tracks delivered",
                format!(
                    "{} / {} ({:.2}%)",
                    self.tracks_delivered,
                    self.tracks_expected,
                    self.delivered_fraction() * 100.0
                ),
            ),
            ("packets sent", self.packets_sent.to_string()),
            ("packets received", self.packets_received.to_string()),
            (
                "packets lost",
                format!("{} ({:.4}%)", self.packets_lost, self.loss_fraction * 100.0),
            ),
            ("packets reordered", self.packets_reordered.to_string()),
            ("latency ms p50/p95/p99/max", self.latency_ms.to_string()),
            ("  with the joins", self.latency_with_joins_ms.to_string()),
            ("jitter ms", format!("{:.3}", self.jitter_ms)),
            ("video freezes (>500 ms)", self.freezes.to_string()),
            (
                "MiB sent / received",
                format!(
                    "{:.1} / {:.1}",
                    mib(self.bytes_sent),
                    mib(self.bytes_received)
                ),
            ),
            (
                "join ms p50/p99/max",
                format!(
                    "{:.0} / {:.0} / {:.0}",
                    self.join_ms.p50, self.join_ms.p99, self.join_ms.max
                ),
            ),
            (
                "server pid",
                self.server
                    .pid
                    .map_or_else(|| "not found".to_string(), |p| p.to_string()),
            ),
            ("server CPU s", opt(self.server.cpu_seconds, 2)),
            (
                "server peak RSS MiB",
                opt(self.server.peak_rss_bytes.map(mib), 1),
            ),
            (
                "server CPU µs / forwarded packet",
                opt(self.server.cpu_us_per_forwarded_packet, 2),
            ),
            (
                "load generator CPU s / peak RSS MiB",
                format!(
                    "{:.2} / {:.1}",
                    self.loadgen.cpu_seconds,
                    mib(self.loadgen.peak_rss_bytes)
                ),
            ),
        ]
    }
}

/// Two runs of the same scenario side by side, ours first, with the ratio of the
/// server's cost (the other server's over ours: 2.0 means ours costs half).
pub fn side_by_side(ours: &Report, theirs: &Report) -> String {
    let (a, b) = (ours.rows(), theirs.rows());
    let width = a.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let col = a.iter().map(|(_, v)| v.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for ((k, v), (_, w)) in a.iter().zip(&b) {
        out.push_str(&format!("{k:<width$}  {v:<col$}  {w}\n"));
    }
    if let Some(r) = cost_ratio(ours, theirs) {
        out.push_str(&format!(
            "{:<width$}  {r:.2} ({} / {})\n",
            "CPU per forwarded packet ratio", theirs.target, ours.target
        ));
    }
    for (name, r) in [(&ours.target, ours), (&theirs.target, theirs)] {
        if let Some(why) = &r.server.unavailable {
            out.push_str(&format!("({name}: no server figures: {why})\n"));
        }
    }
    out
}

/// The other server's CPU per forwarded packet over ours, when both are known.
pub fn cost_ratio(ours: &Report, theirs: &Report) -> Option<f64> {
    let (a, b) = (
        ours.server.cpu_us_per_forwarded_packet?,
        theirs.server.cpu_us_per_forwarded_packet?,
    );
    (a > 0.0).then(|| b / a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn report() -> Report {
        Report {
            target: "hoinghi".into(),
            scenario: "grid".into(),
            engine: "async".into(),
            terminals: 4,
            terminals_joined: 4,
            duration_s: 5.0,
            tracks_expected: 24,
            tracks_delivered: 24,
            packets_sent: 1000,
            packets_received: 990,
            packets_lost: 10,
            loss_fraction: 0.01,
            packets_reordered: 0,
            latency_ms: Percentiles {
                p50: 1.0,
                p95: 2.0,
                p99: 3.0,
                max: 4.0,
            },
            latency_with_joins_ms: Percentiles {
                p50: 1.0,
                p95: 2.0,
                p99: 30.0,
                max: 40.0,
            },
            jitter_ms: 0.1,
            freezes: 0,
            bytes_sent: 1,
            bytes_received: 1,
            join_ms: JoinTimes::default(),
            errors: vec![],
            server: ServerFigures::default(),
            loadgen: ProcessFigures::default(),
            violations: vec![],
        }
    }

    fn args(extra: &[&str]) -> Args {
        let base = [
            "loadtest",
            "--server",
            "http://x",
            "--jwt-key-file",
            "k",
            "--scenario",
            "grid",
            "--duration",
            "5",
        ];
        Args::try_parse_from(base.iter().chain(extra)).unwrap()
    }

    #[test]
    fn thresholds() {
        let r = report();
        assert!(r.check(&args(&[])).is_empty());
        assert!(r
            .check(&args(&["--max-loss", "0.02", "--max-p99-ms", "3"]))
            .is_empty());
        let broken = r.check(&args(&["--max-loss", "0.001", "--max-p99-ms", "2.5"]));
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(broken[0].contains("--max-loss"));
        let mut short = report();
        short.tracks_delivered = 20;
        short.terminals_joined = 3;
        let broken = short.check(&args(&["--min-delivered", "0.9"]));
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(short.check(&args(&["--min-joined", "3"])).is_empty());
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v = serde_json::to_value(report()).unwrap();
        for key in [
            "terminals_joined",
            "tracks_expected",
            "tracks_delivered",
            "packets_sent",
            "packets_received",
            "packets_lost",
            "jitter_ms",
            "freezes",
            "bytes_received",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in ["p50", "p95", "p99", "max"] {
            assert!(v["latency_ms"].get(key).is_some(), "latency_ms.{key}");
            assert!(
                v["latency_with_joins_ms"].get(key).is_some(),
                "latency_with_joins_ms.{key}"
            );
        }
        for key in ["p50", "p99"] {
            assert!(v["join_ms"].get(key).is_some(), "join_ms.{key}");
        }
        for key in [
            "cpu_seconds",
            "peak_rss_bytes",
            "cpu_us_per_forwarded_packet",
        ] {
            assert!(v["server"].get(key).is_some(), "server.{key}");
        }
        assert!(report().table().contains("tracks delivered"));
    }

    #[test]
    fn side_by_side_gives_the_cost_ratio() {
        let mut ours = report();
        ours.server.cpu_us_per_forwarded_packet = Some(5.0);
        let mut janus = report();
        janus.target = "janus".into();
        janus.server.cpu_us_per_forwarded_packet = Some(20.0);
        assert_eq!(cost_ratio(&ours, &janus), Some(4.0));
        let text = side_by_side(&ours, &janus);
        assert!(text.contains("4.00 (janus / hoinghi)"), "{text}");
        assert_eq!(text.lines().count(), ours.table().lines().count() + 1);
        janus.server.cpu_us_per_forwarded_packet = None;
        assert_eq!(cost_ratio(&ours, &janus), None);
    }
}
