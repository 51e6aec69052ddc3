//! Starting the server: data directory, database, keys, first administrator, media
//! engine, HTTP(S) listener, metrics listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use sfu::driver::DriverConfig;
use sfu::SfuHandle;

use crate::access::SessionKeys;
use crate::api::LoginThrottle;
use crate::auth::{JoinTokens, KeyError};
use crate::config::Settings;
use crate::credentials::{hash_password, new_password};
use crate::keyring::KeyRingError;
use crate::store::{Store, StoreError};
use crate::tls::{self, TlsError};
use crate::{app, AppState};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The session-token key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The join-token key ring.
    #[error(transparent)]
    KeyRing(#[from] KeyRingError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing the first administrator's password.
    #[error("hashing the first administrator's password: {0}")]
    Password(String),
    /// The certificate.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The certificate files could not be loaded.
    #[error("loading the TLS certificate: {0}")]
    TlsLoad(std::io::Error),
    /// A socket could not be bound.
    #[error("binding {what} {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// Where.
        addr: SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
}

/// A started server.
pub struct Running {
    /// Where HTTP(S) listens.
    pub http_addr: SocketAddr,
    /// Where the Prometheus metrics are served, if they are.
    pub metrics_addr: Option<SocketAddr>,
    /// The advertised media address.
    pub media_addr: SocketAddr,
    /// The URL to open (loopback when listening on all interfaces is reachable there).
    pub url: String,
    /// The media engine, for tests and metrics.
    pub sfu: SfuHandle,
    /// The registry's database.
    pub store: Store,
    /// The password of the first administrator `admin` when this start created it with
    /// a random password: to be shown once to whoever started the server.
    pub first_admin_password: Option<String>,
}

/// The file of the API session-token key, in the data directory.
pub const SESSION_KEY_FILE: &str = "session.key";

/// Create the administrator `admin` if there is no staff account at all. Returns the
/// password when it was made up here.
pub async fn ensure_first_admin(
    store: &Store,
    password: Option<&str>,
) -> Result<Option<String>, StartError> {
    if store.staff_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (new_password(), true),
    };
    let hash = hash_password(&password).map_err(|e| StartError::Password(e.to_string()))?;
    let created = store.ensure_first_admin(&hash).await?;
    if created {
        tracing::info!("created the first administrator, admin");
    }
    Ok((created && generated).then_some(password))
}

/// Bind everything and return the server and the future that serves HTTP until it fails.
pub async fn start(
    settings: &Settings,
) -> Result<(Running, impl Future<Output = std::io::Result<()>>), StartError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let keys = JoinTokens::open(&settings.jwt_key_file)?;
    let sessions = SessionKeys::load_or_create(&settings.data_dir.join(SESSION_KEY_FILE))?;
    let store = Store::open_in(
        &settings.data_dir,
        settings.database_url.as_ref().map(|u| u.0.as_str()),
    )
    .await?;
    let first_admin_password = ensure_first_admin(
        &store,
        settings.admin_password.as_ref().map(|p| p.0.as_str()),
    )
    .await?;
    let media_ips = settings.media_ips();
    let media_bind = SocketAddr::new(
        if settings.listen.ip().is_loopback() {
            settings.listen.ip()
        } else {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        },
        settings.media_port,
    );
    let sfu = SfuHandle::start(DriverConfig {
        bind: media_bind,
        public_ips: media_ips.clone(),
    })
    .await
    .map_err(|source| StartError::Bind {
        what: "media UDP port",
        addr: media_bind,
        source,
    })?;

    let listener =
        std::net::TcpListener::bind(settings.listen).map_err(|source| StartError::Bind {
            what: "HTTP listener",
            addr: settings.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Bind {
            what: "HTTP listener",
            addr: settings.listen,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Bind {
        what: "HTTP listener",
        addr: settings.listen,
        source,
    })?;
    let metrics_listener = match settings.metrics_listen {
        Some(addr) => Some(bind_tcp(addr, "metrics listener").await?),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr().map_err(|source| StartError::Bind {
            what: "metrics listener",
            addr: settings.metrics_listen.unwrap_or(settings.listen),
            source,
        })?),
        None => None,
    };
    let state = Arc::new(AppState {
        sfu: sfu.clone(),
        keys,
        store: store.clone(),
        sessions,
        login_throttle: LoginThrottle::default(),
        join_window: settings.join_window,
        metrics: Default::default(),
        board: crate::board::BoardService::new(settings.alarms),
    });
    crate::board::BoardService::start(state.clone());
    let metrics_router = crate::metrics::app(state.clone());
    let router = app(state).into_make_service();
    let tls = settings.use_tls();
    let host = if http_addr.ip().is_unspecified() {
        media_ips[0]
    } else {
        http_addr.ip()
    };
    let url = format!(
        "{}://{}/",
        if tls { "https" } else { "http" },
        SocketAddr::new(host, http_addr.port())
    );
    let running = Running {
        http_addr,
        metrics_addr,
        media_addr: sfu.media_addr(),
        url,
        sfu,
        store,
        first_admin_password,
    };

    let serve: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = if tls {
        let (cert, key) = match &settings.tls_files {
            Some((c, k)) => (c.clone(), k.clone()),
            None => {
                let p = tls::self_signed(&settings.data_dir, &media_ips)?;
                (p.cert, p.key)
            }
        };
        let config = RustlsConfig::from_pem_file(cert, key)
            .await
            .map_err(StartError::TlsLoad)?;
        let server = axum_server::from_tcp_rustls(listener, config);
        Box::pin(server.serve(router))
    } else {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| StartError::Bind {
                what: "HTTP listener",
                addr: http_addr,
                source,
            })?;
        Box::pin(async move { axum::serve(listener, router).await })
    };
    let serve = async move {
        match metrics_listener {
            // Either ending is the server failing.
            Some(l) => tokio::select! {
                r = serve => r,
                r = axum::serve(l, metrics_router) => r,
            },
            None => serve.await,
        }
    };
    Ok((running, serve))
}

async fn bind_tcp(
    addr: SocketAddr,
    what: &'static str,
) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { what, addr, source })
}
