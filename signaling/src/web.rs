//! The web client, embedded in the binary so a fresh machine needs nothing else:
//! `/` the landing page, `/join` the call page, `/kiosk` the room terminal that joins
//! its meetings by itself, `/scheduler` the IT staff's scheduler, `/board` the operators'
//! live board, everything else by path.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

use crate::AppState;

#[derive(RustEmbed)]
#[folder = "../web-client/"]
#[exclude = "node_modules/*"]
#[exclude = "test/*"]
#[exclude = "package*.json"]
#[exclude = "tsconfig.json"]
#[exclude = ".*"]
struct Assets;

/// Routes of the web client.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/join", get(|| async { asset("join.html") }))
        .route("/kiosk", get(|| async { asset("kiosk.html") }))
        .route("/scheduler", get(|| async { asset("scheduler.html") }))
        .route("/board", get(|| async { asset("board.html") }))
        .route(
            "/{*path}",
            get(|Path(path): Path<String>| async move { asset(&path) }),
        )
}

fn asset(path: &str) -> Response {
    // Debug builds read the folder from disk: no way out of it, and no way around the
    // exclusions through `..` or empty segments.
    if path.contains('\\')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let mut res = Body::from(file.data.into_owned()).into_response();
            if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
                res.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            // Room terminals run for months: always revalidate so an upgrade reaches them.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
