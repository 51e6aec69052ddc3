//! Probes for orchestrators and load balancers: `/healthz` (the process answers) and
//! `/readyz` (the database and the media engine answer).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;

/// How long each dependency may take to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// `/healthz` and `/readyz`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// 200 `ready`, or 503 with `{"ready": false, "not_ready": ["database", "media"]}`
/// naming what did not answer; the cause is logged, not returned.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let (database, media) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, state.sfu.stats()),
    );
    let mut not_ready = Vec::new();
    match database {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!("readiness: the database failed: {e}");
            not_ready.push("database");
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within a second");
            not_ready.push("database");
        }
    }
    match media {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!("readiness: the media engine failed: {e}");
            not_ready.push("media");
        }
        Err(_) => {
            tracing::warn!("readiness: the media engine did not answer within a second");
            not_ready.push("media");
        }
    }
    if not_ready.is_empty() {
        "ready".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "ready": false, "not_ready": not_ready })),
        )
            .into_response()
    }
}
