//! The HTTP routes of `app()`, called in-process with `tower::ServiceExt::oneshot`: the
//! embedded web client, the health check, what is not served, and the security headers.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use sfu::driver::DriverConfig;
use sfu::SfuHandle;
use signaling::access::SessionKeys;
use signaling::api::LoginThrottle;
use signaling::auth::JoinTokens;
use signaling::store::Store;
use signaling::AppState;
use tower::ServiceExt;

async fn app() -> Router {
    let sfu = SfuHandle::start(DriverConfig {
        bind: (Ipv4Addr::LOCALHOST, 0).into(),
        public_ips: vec![Ipv4Addr::LOCALHOST.into()],
    })
    .await
    .expect("the SFU starts");
    let dir = std::env::temp_dir().join(format!("hoinghi-http-{:016x}", rand::random::<u64>()));
    let store = Store::open_in(&dir, None).await.expect("the store opens");
    signaling::app(Arc::new(AppState {
        sfu,
        keys: JoinTokens::from_secret(&[7; 32]),
        store,
        sessions: SessionKeys::from_secret("k", &[9; 32]),
        login_throttle: LoginThrottle::default(),
        join_window: signaling::schedule::JoinWindow::default(),
        metrics: Default::default(),
        board: Default::default(),
    }))
}

async fn get(app: &Router, uri: &str) -> Response<Body> {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    app.clone().oneshot(request).await.expect("infallible")
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

fn content_type(res: &Response<Body>) -> &str {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Every response, found or not, forbids MIME sniffing and leaking the URL (which may
/// carry a join token) to other sites.
fn assert_security_headers(uri: &str, res: &Response<Body>) {
    let h = res.headers();
    assert_eq!(
        h.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{uri}"
    );
    assert_eq!(
        h.get(header::REFERRER_POLICY).map(|v| v.as_bytes()),
        Some(&b"no-referrer"[..]),
        "{uri}"
    );
}

#[tokio::test]
async fn the_pages_are_served_in_vietnamese() {
    let app = app().await;
    for (uri, says) in [
        ("/", "Mã truy cập hoặc đường dẫn tham gia"),
        ("/join", "Rời phòng"),
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_security_headers(uri, &res);
        assert!(content_type(&res).starts_with("text/html"), "{uri}");
        let body = text(res).await;
        assert!(body.contains(r#"<html lang="vi">"#), "{uri}: {body}");
        assert!(body.contains("Hội nghị truyền hình trực tuyến"), "{uri}");
        assert!(body.contains(says), "{uri} lacks {says:?}");
    }
    // The two pages are different pages.
    let landing = text(get(&app, "/").await).await;
    let join = text(get(&app, "/join").await).await;
    assert!(landing.contains("/js/landing.js") && join.contains("/js/main.js"));
}

#[tokio::test]
async fn scripts_and_styles_are_served_with_their_types() {
    let app = app().await;
    let res = get(&app, "/js/session.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_security_headers("/js/session.js", &res);
    assert!(
        content_type(&res).contains("javascript"),
        "{}",
        content_type(&res)
    );
    let body = text(res).await;
    assert!(body.contains("export "), "an ES module: {body}");

    let res = get(&app, "/css/style.css").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(content_type(&res).starts_with("text/css"));
}

#[tokio::test]
async fn health_check_answers_ok() {
    let app = app().await;
    let res = get(&app, "/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_security_headers("/healthz", &res);
    assert_eq!(text(res).await, "ok");
}

#[tokio::test]
async fn unknown_and_excluded_paths_are_not_found() {
    let app = app().await;
    for uri in [
        "/nope",
        "/js/nope.js",
        "/package.json",
        "/package-lock.json",
        "/tsconfig.json",
        "/.gitignore",
        "/test/e2e.test.mjs",
        "/node_modules/typescript/package.json",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/js/%2e%2e/%2e%2e/Cargo.toml",
        "/./package.json",
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_security_headers(uri, &res);
    }
}

#[tokio::test]
async fn dot_dot_segments_do_not_reach_excluded_files() {
    // Debug builds of rust-embed read the folder at run time and check the exclude
    // globs against the path as requested; the server refuses such paths itself.
    let app = app().await;
    for uri in [
        "/js/../package.json",
        "/js/%2e%2e/test/e2e.test.mjs",
        "/css/../node_modules/typescript/package.json",
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}
