//! `hoinghi`: the server binary, `hoinghi token` to make join tokens, `hoinghi keys` to
//! rotate their signing keys, and `hoinghi demo-data` to seed a demonstration province.

use anyhow::Context;
use clap::Parser;
use signaling::auth::JoinTokens;
use signaling::config::{Cli, Command, KeysCommand, LogFormat, Settings};
use signaling::keyring::KeyRing;
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
            role,
        }) => {
            let keys = JoinTokens::open(&settings.jwt_key_file)?;
            let grants = GrantsWire {
                publish: !no_publish,
                subscribe: !no_subscribe,
            };
            let token = keys.issue_with_role(&room, &identity, &name, role.into(), grants, ttl)?;
            println!("{token}");
            Ok(())
        }
        Some(Command::Keys { action }) => keys(&settings.jwt_key_file, action),
        Some(Command::DemoData { credentials_file }) => {
            demo_data(&settings, credentials_file.as_deref()).await
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
    if let Some(password) = &running.first_admin_password {
        // Printed, never logged: logs are kept and shipped, this is shown once.
        println!(
            "hoinghi: first administrator created: username admin, password {password} \
             (shown only now; change it after logging in)"
        );
    }
    println!("hoinghi: serving on {}", running.url);
    println!("hoinghi: media on udp {}", running.media_addr);
    if let Some(addr) = running.metrics_addr {
        println!("hoinghi: Prometheus metrics on http://{addr}/metrics");
    }
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

fn keys(path: &std::path::Path, action: KeysCommand) -> anyhow::Result<()> {
    let mut ring = KeyRing::load_or_create(path)?;
    match action {
        KeysCommand::List => {
            let signer = ring.signer().kid.clone();
            println!("{:<20} {:<8} {:<20} SIGNS", "KID", "STATUS", "CREATED");
            for k in ring.keys() {
                println!(
                    "{:<20} {:<8} {:<20} {}",
                    k.kid,
                    k.status.as_str(),
                    k.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    if k.kid == signer { "yes" } else { "" }
                );
            }
        }
        KeysCommand::Rotate => {
            let kid = ring.rotate().kid.clone();
            ring.save(path)?;
            println!(
                "hoinghi: {kid} signs new join tokens; the older keys still verify until \
                 you retire them (hoinghi keys retire KID)"
            );
        }
        KeysCommand::Retire { kid } => {
            ring.retire(&kid)?;
            ring.save(path)?;
            println!(
                "hoinghi: retired {kid}; tokens signed with it are refused from now on \
                 (a running server notices within a second)"
            );
        }
    }
    Ok(())
}

async fn demo_data(
    settings: &Settings,
    credentials_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store = signaling::store::Store::open_in(
        &settings.data_dir,
        settings.database_url.as_ref().map(|u| u.0.as_str()),
    )
    .await
    .context("opening the database")?;
    let seeded = signaling::demo::seed(&store).await?;
    let table = signaling::demo::credentials_table(&seeded);
    match credentials_file {
        Some(path) => {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            f.write_all(table.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            println!(
                "hoinghi: seeded Tỉnh Điện Biên with {} room terminals; their credentials are in {}",
                seeded.len(),
                path.display()
            );
        }
        None => {
            print!("{table}");
            eprintln!(
                "hoinghi: seeded Tỉnh Điện Biên with {} room terminals; the credentials above are shown only now",
                seeded.len()
            );
        }
    }
    store.close().await;
    Ok(())
}
