//! `hoinghi`: the server binary, and `hoinghi token` to make join tokens.

use anyhow::Context;
use clap::Parser;
use signaling::auth::JwtKeys;
use signaling::config::{Cli, Command, LogFormat, Settings};
use signaling::protocol::GrantsWire;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::resolve(&cli.common, &cli.serve)?;
    match cli.command {
        Some(Command::Token {
            room,
            identity,
            name,
            no_publish,
            no_subscribe,
            ttl,
        }) => {
            let keys = JwtKeys::load_or_create(&settings.jwt_key_file)?;
            let grants = GrantsWire {
                publish: !no_publish,
                subscribe: !no_subscribe,
            };
            let token = keys.issue(&room, &identity, &name, grants, ttl)?;
            println!("{token}");
            Ok(())
        }
        None => serve(settings).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,dimpl=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    let (running, serving) = signaling::server::start(&settings)
        .await
        .context("starting the server")?;
    tracing::info!(http = %running.http_addr, media = %running.media_addr, "started");
    println!("hoinghi: serving on {}", running.url);
    println!("hoinghi: media on udp {}", running.media_addr);
    println!(
        "hoinghi: make a join link with: hoinghi token --data-dir {} --room ROOM --identity ID --name NAME",
        settings.data_dir.display()
    );
    println!("hoinghi: then open {}join#token=TOKEN", running.url);
    tokio::select! {
        r = serving => r.context("serving HTTP")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}
