//! `loadtest`: synthetic room terminals that join one meeting through the real
//! signaling protocol, each a real WebRTC peer (webrtc-rs), send media that looks like
//! the real thing, and measure what arrives. See `loadtest/README.md`.

mod cli;
mod engine;
mod hoinghi;
mod janus;
mod media;
mod peer;
mod probe;
mod procstat;
mod report;
mod runner;
mod sansio;
mod stats;
mod target;
mod terminal;
mod tls;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Args, TargetKind};

/// Exit status when a threshold flag is broken.
const EXIT_THRESHOLD: u8 = 3;

fn main() -> ExitCode {
    // Clap prints usage and exits with 2 on bad flags.
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,rtc_dtls=error,rtc_ice=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadtest: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_THRESHOLD),
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the scenario; `Ok(false)` when a threshold was broken.
async fn run(args: &Args) -> anyhow::Result<bool> {
    let report = match args.target {
        TargetKind::Hoinghi => run_ours(args).await?,
        TargetKind::Janus => run_janus(args).await?,
        TargetKind::Both => {
            let ours = run_ours(args).await?;
            eprintln!(
                "loadtest: {} done; the same scenario against Janus",
                ours.target
            );
            let mut janus_args = args.clone();
            janus_args.bind_ip = args.janus_bind_ip;
            janus_args.server_pid = args.janus_pid;
            let janus = run_janus(&janus_args).await?;
            print!("{}", report::side_by_side(&ours, &janus));
            if let Some(path) = &args.json {
                let json = serde_json::json!({
                    "hoinghi": ours,
                    "janus": janus,
                    "cpu_us_per_forwarded_packet_ratio": report::cost_ratio(&ours, &janus),
                });
                write_json(path, &json)?;
            }
            // Thresholds judge our server; Janus's figures are for comparison.
            return Ok(report_violations(&ours));
        }
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(report_violations(&report))
}

async fn run_ours(args: &Args) -> anyhow::Result<report::Report> {
    let (Some(server), Some(keys)) = (&args.server, &args.jwt_key_file) else {
        anyhow::bail!("--target hoinghi and --target both need --server and --jwt-key-file");
    };
    let target = hoinghi::HoinghiTarget::new(server, keys, args.insecure)?;
    runner::run(target, args).await
}

async fn run_janus(args: &Args) -> anyhow::Result<report::Report> {
    let Some(url) = &args.janus_url else {
        anyhow::bail!("--target janus and --target both need --janus-url");
    };
    let target = janus::JanusTarget::new(url)?;
    runner::run(target, args).await
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(value)?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("writing the report to {}", path.display()))
}

/// Prints the broken thresholds; true when there are none.
fn report_violations(report: &report::Report) -> bool {
    for v in &report.violations {
        eprintln!("loadtest: threshold broken: {v}");
    }
    report.violations.is_empty()
}
