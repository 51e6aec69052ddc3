//! `loadtest`: synthetic room terminals that join one meeting through the real
//! signaling protocol, each a real WebRTC peer (webrtc-rs), send media that looks like
//! the real thing, and measure what arrives. See `loadtest/README.md`.

mod cli;
mod hoinghi;
mod janus;
mod media;
mod peer;
mod probe;
mod procstat;
mod report;
mod runner;
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
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,rtc_dtls=error,rtc_ice=error")),
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
        TargetKind::Hoinghi => {
            // Clap requires both for this target.
            let (Some(server), Some(keys)) = (&args.server, &args.jwt_key_file) else {
                anyhow::bail!("--target hoinghi needs --server and --jwt-key-file");
            };
            let target = hoinghi::HoinghiTarget::new(server, keys, args.insecure)?;
            runner::run(target, args).await?
        }
        TargetKind::Janus => {
            let Some(url) = &args.janus_url else {
                anyhow::bail!("--target janus needs --janus-url");
            };
            let target = janus::JanusTarget::new(url)?;
            runner::run(target, args).await?
        }
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    for v in &report.violations {
        eprintln!("loadtest: threshold broken: {v}");
    }
    Ok(report.violations.is_empty())
}
