//! The server: WebSocket signaling, join tokens, the REST API over the registry's
//! store, the web client, and the SFU embedded in-process. `main.rs` parses settings
//! and calls [`server::start`]; the Prometheus metrics have their own listener
//! ([`metrics::app`]).

pub mod access;
pub mod api;
pub mod auth;
pub mod board;
pub mod config;
pub mod credentials;
pub mod demo;
mod health;
pub mod keyring;
pub mod metrics;
pub mod protocol;
pub mod schedule;
pub mod server;
mod session;
pub mod store;
pub mod tls;
mod web;

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use access::SessionKeys;
use api::LoginThrottle;
use auth::JoinTokens;
use metrics::Metrics;
use sfu::SfuHandle;
use store::Store;

/// What every request handler shares.
pub struct AppState {
    /// The media engine.
    pub sfu: SfuHandle,
    /// Join tokens and their key ring.
    pub keys: JoinTokens,
    /// The registry's database.
    pub store: Store,
    /// API session-token keys (staff and room terminals).
    pub sessions: SessionKeys,
    /// Failed staff logins, per username.
    pub login_throttle: LoginThrottle,
    /// When rooms may join a meeting (and get its join token).
    pub join_window: schedule::JoinWindow,
    /// The signaling side's Prometheus metrics.
    pub metrics: Metrics,
    /// The operator board, the clients' reports and the attendance record.
    pub board: board::BoardService,
}

/// The whole HTTP application.
pub fn app(state: Arc<AppState>) -> Router {
    let (api, doc) = api::routes();
    Router::new()
        .route("/ws", get(websocket))
        .merge(health::router())
        .merge(api)
        .merge(api::openapi_router(doc))
        .merge(web::router())
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

async fn websocket(ws: WebSocketUpgrade, State(state): State<Arc<AppState>>) -> Response {
    // The transport allows more than the protocol so that an oversized message is
    // answered with `bad_message` by the session instead of dropping the connection.
    ws.max_message_size(protocol::MAX_TRANSPORT_BYTES)
        .max_frame_size(protocol::MAX_TRANSPORT_BYTES)
        .on_upgrade(move |socket| session::run(socket, state))
}
