//! The REST API under `/api/v1` and its OpenAPI document at `/api/openapi.json`, both
//! made from the same handlers (utoipa): one `router()` per feature module.

mod auth;
mod board;
mod calendar;
mod endpoints;
mod error;
mod join;
mod meetings;
mod principal;
mod staff;
mod units;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub use error::{AppError, BookingConflict, ErrorBody};
pub use principal::{LoginThrottle, Principal};

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest name, location or level, in characters.
pub const MAX_NAME_CHARS: usize = 200;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hoinghi API",
        description = "Registry of organisation units, room terminals and staff; \
                       staff and room-terminal logins; meetings, their occurrences and \
                       calendars. Times are unix seconds UTC. Errors: `ErrorBody`."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The API routes and the OpenAPI document describing them.
pub fn routes() -> (Router<Arc<AppState>>, OpenApiDoc) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(units::router())
        .merge(endpoints::router())
        .merge(staff::router())
        .merge(meetings::router())
        .merge(calendar::router())
        .merge(join::router())
        .merge(board::router())
        .split_for_parts();
    let router = router
        .route("/api/{*rest}", axum::routing::any(unknown_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    (router, doc)
}

/// `/api/openapi.json`.
pub fn openapi_router(doc: OpenApiDoc) -> Router<Arc<AppState>> {
    let doc = Arc::new(doc);
    Router::new().route(
        "/api/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()).into_response() }
        }),
    )
}

async fn unknown_route() -> AppError {
    AppError::not_found("API route")
}

/// `axum::Json` whose rejections are [`AppError`]s naming the field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` whose rejections are [`AppError`]s.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|e| AppError::bad_request(e.body_text()))?;
        Ok(ApiQuery(value))
    }
}

/// A required text field: trimmed, not empty, at most `max` characters, no control
/// characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(v.to_string())
}

/// An identifier in a body: at most 64 characters (ids are 32).
pub fn id_field(field: &str, value: &str) -> Result<String, AppError> {
    text(field, value, 64)
}

/// For PATCH bodies: a field present with `null` is `Some(None)`, absent is `None`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
