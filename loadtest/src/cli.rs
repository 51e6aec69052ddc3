//! The command line: which server, which scenario, how many terminals, for how long,
//! and the thresholds that make the run fail.

use std::path::PathBuf;

use crate::engine::EngineKind;
use clap::{Parser, ValueEnum};

/// Synthetic room terminals that join one meeting through the real signaling
/// protocol, send media that looks like the real thing, and measure what arrives.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadtest", version)]
pub struct Args {
    /// The server's base URL (`http://127.0.0.1:8080`, `https://host:8443`).
    #[arg(long, required_unless_present = "janus_url")]
    pub server: Option<String>,

    /// The server's join-token key ring (`DATA_DIR/jwt.key`); tokens are signed with
    /// its signing key as `hoinghi token` does.
    #[arg(long, required_unless_present = "janus_url")]
    pub jwt_key_file: Option<PathBuf>,

    /// What the terminals do.
    #[arg(long, value_enum)]
    pub scenario: Scenario,

    /// How many terminals join; terminal 0 chairs the meeting.
    #[arg(long, default_value_t = 78, value_parser = clap::value_parser!(u16).range(2..=1000))]
    pub terminals: u16,

    /// How long media flows once every terminal has joined, in seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,

    /// Terminals started per second.
    #[arg(long, default_value_t = 10.0, value_parser = positive_f64)]
    pub ramp_per_sec: f64,

    /// `discussion`: how many rooms besides the chair have the floor at once.
    #[arg(long, default_value_t = 3)]
    pub speakers: u16,

    /// `discussion`: seconds between changes of who has the floor.
    #[arg(long, default_value_t = 5.0, value_parser = positive_f64)]
    pub rotate_secs: f64,

    /// Which server is under test.
    #[arg(long, value_enum, default_value_t = TargetKind::Hoinghi)]
    pub target: TargetKind,

    /// Which webrtc-rs engine runs the terminals' connections: `async` (its tokio
    /// `PeerConnection`) or `sansio` (its sans-I/O core in one task per connection, about
    /// 0.7x the CPU and no loss of its own: what a 2-core machine needs to play 78
    /// terminals beside the server).
    #[arg(long, value_enum, default_value_t = EngineKind::Async)]
    pub engine: EngineKind,

    /// `--engine sansio`: threads the connections are spread over (each a
    /// single-threaded runtime). One receives ~100,000 packets a second here.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub media_threads: u16,

    /// Janus's WebSocket API (`--target janus`), e.g. `ws://198.18.0.1:8188` (what
    /// loadtest/janus/janus.sh prints).
    #[arg(long, required_if_eq_any([("target", "janus"), ("target", "both")]))]
    pub janus_url: Option<String>,

    /// `--target both`: the address the terminals bind for the Janus run (the host end
    /// of the veth pair janus.sh makes).
    #[arg(long, default_value = "198.18.0.2")]
    pub janus_bind_ip: std::net::IpAddr,

    /// `--target both`: Janus's process id (default: the one process named `janus`).
    #[arg(long)]
    pub janus_pid: Option<u32>,

    /// Accept any TLS certificate from the server (a self-signed one on a test host).
    /// Certificates of loopback servers are always accepted.
    #[arg(long)]
    pub insecure: bool,

    /// The server's process id, to measure its CPU time and memory; by default the
    /// process named `hoinghi` (or `janus`) when exactly one runs.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Fail (exit 3) when the fraction of packets lost is above this.
    #[arg(long, value_parser = fraction)]
    pub max_loss: Option<f64>,

    /// Fail (exit 3) when the one-way latency p99 is above this many milliseconds.
    #[arg(long)]
    pub max_p99_ms: Option<f64>,

    /// Fail (exit 3) when the fraction of expected tracks delivered is below this.
    #[arg(long, value_parser = fraction)]
    pub min_delivered: Option<f64>,

    /// Fail (exit 3) when more video freezes than this were seen.
    #[arg(long)]
    pub max_freezes: Option<u64>,

    /// Fail (exit 3) when fewer terminals than this joined (default: all of them).
    #[arg(long)]
    pub min_joined: Option<u16>,

    /// The address the terminals' peer connections bind (the server must reach it).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_ip: std::net::IpAddr,
}

/// What the terminals do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The chair speaks with simulcast video; every other room sends only silence.
    Briefing,
    /// The chair speaks with video; K rooms have the floor in turn (speech), K rooms
    /// show video all along.
    Discussion,
    /// Everyone speaks with video; everyone receives everyone.
    Grid,
}

impl Scenario {
    /// As on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Briefing => "briefing",
            Scenario::Discussion => "discussion",
            Scenario::Grid => "grid",
        }
    }
}

/// Which server is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// Ours.
    Hoinghi,
    /// Janus's VideoRoom.
    Janus,
    /// Ours, then Janus, on the same scenario; printed side by side with the ratio.
    Both,
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("loadtest").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_and_required_flags() {
        let a = parse(&[
            "--server",
            "http://127.0.0.1:1",
            "--jwt-key-file",
            "k",
            "--scenario",
            "discussion",
            "--duration",
            "5",
        ])
        .unwrap();
        assert_eq!(a.terminals, 78);
        assert_eq!(a.speakers, 3);
        assert_eq!(a.target, TargetKind::Hoinghi);
        // Our server needs its URL and key ring; Janus its API URL.
        assert!(parse(&["--scenario", "grid", "--duration", "5"]).is_err());
        assert!(parse(&["--target", "janus", "--scenario", "grid", "--duration", "5"]).is_err());
        assert!(parse(&[
            "--target",
            "janus",
            "--janus-url",
            "ws://x",
            "--scenario",
            "grid",
            "--duration",
            "5"
        ])
        .is_ok());
    }

    #[test]
    fn bad_values_are_refused() {
        let base = [
            "--server",
            "http://x",
            "--jwt-key-file",
            "k",
            "--duration",
            "5",
        ];
        let with = |extra: &[&str]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            parse(&v)
        };
        assert!(with(&["--scenario", "party"]).is_err());
        assert!(with(&["--scenario", "grid", "--max-loss", "2"]).is_err());
        assert!(with(&["--scenario", "grid", "--ramp-per-sec", "0"]).is_err());
        assert!(with(&["--scenario", "grid", "--terminals", "1"]).is_err());
    }
}
