//! Logins: staff by username and password, room terminals by device credential; and
//! `GET /api/v1/me`. Every failure gets the same 401, whatever its cause.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::Principal;
use super::{ApiJson, AppError, ErrorBody};
use crate::access::{credential_tag, Audience};
use crate::credentials::{credential_hash, verify_nothing, verify_password};
use crate::store::{Endpoint, Role, Staff};
use crate::AppState;

const BAD_LOGIN: &str = "wrong username or password";
const BAD_CREDENTIAL: &str = "this device credential is not valid";
/// Longer inputs are refused before hashing anything.
const MAX_SECRET_CHARS: usize = 1024;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(device_login))
        .routes(routes!(me))
}

/// A staff login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// A staff session.
#[derive(Serialize, ToSchema)]
pub struct StaffSession {
    /// Bearer token for the API, valid for one hour.
    pub token: String,
    /// Unix seconds, UTC.
    pub expires_at: u64,
    pub role: Role,
    pub display_name: String,
}

/// A room terminal's login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceLogin {
    /// The device credential shown when the terminal was registered or re-keyed.
    pub credential: String,
}

/// A room terminal's session.
#[derive(Serialize, ToSchema)]
pub struct DeviceSession {
    /// Bearer token for the API, valid for one hour.
    pub token: String,
    /// Unix seconds, UTC.
    pub expires_at: u64,
    pub endpoint: Endpoint,
}

/// Who the caller is.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Me {
    /// A staff account.
    Staff(Staff),
    /// A room terminal.
    Endpoint(Endpoint),
}

/// Log in as staff.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = Login,
    responses(
        (status = 200, body = StaffSession),
        (status = 400, body = ErrorBody),
        (status = 401, description = "wrong username or password", body = ErrorBody),
        (status = 429, description = "too many failed logins for this username", body = ErrorBody),
    ))]
async fn login(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Login>,
) -> Result<Json<StaffSession>, AppError> {
    let username = body.username.trim().to_lowercase();
    if username.chars().count() > MAX_SECRET_CHARS || body.password.len() > MAX_SECRET_CHARS {
        return Err(AppError::unauthorized(BAD_LOGIN));
    }
    if state.login_throttle.locked(&username) {
        return Err(AppError::too_many_attempts());
    }
    let found = state.store.staff_login(&username).await?;
    let password = body.password;
    // Hashing is slow on purpose: off the async workers.
    let staff = tokio::task::spawn_blocking(move || match found {
        Some((staff, hash)) if verify_password(&password, &hash) => Some(staff),
        Some(_) => None,
        None => {
            verify_nothing(&password);
            None
        }
    })
    .await
    .map_err(AppError::internal)?;
    let Some(staff) = staff else {
        state.login_throttle.failed(&username);
        tracing::info!(%username, "staff login refused");
        return Err(AppError::unauthorized(BAD_LOGIN));
    };
    state.login_throttle.succeeded(&username);
    let (token, expires_at) = state
        .sessions
        .issue(Audience::Staff, &staff.id, None)
        .map_err(AppError::internal)?;
    tracing::info!(%username, role = staff.role.as_str(), "staff logged in");
    Ok(Json(StaffSession {
        token,
        expires_at,
        role: staff.role,
        display_name: staff.display_name,
    }))
}

/// Log in as a room terminal.
#[utoipa::path(post, path = "/api/v1/auth/device", tag = "auth",
    request_body = DeviceLogin,
    responses(
        (status = 200, body = DeviceSession),
        (status = 400, body = ErrorBody),
        (status = 401, description = "unknown, rotated or revoked credential", body = ErrorBody),
    ))]
async fn device_login(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<DeviceLogin>,
) -> Result<Json<DeviceSession>, AppError> {
    if body.credential.len() > MAX_SECRET_CHARS {
        return Err(AppError::unauthorized(BAD_CREDENTIAL));
    }
    let hash = credential_hash(body.credential.trim());
    let endpoint = match state.store.endpoint_by_credential(&hash).await? {
        Some(e) if !e.revoked => e,
        _ => {
            tracing::info!("room terminal login refused");
            return Err(AppError::unauthorized(BAD_CREDENTIAL));
        }
    };
    let (token, expires_at) = state
        .sessions
        .issue(Audience::Device, &endpoint.id, Some(credential_tag(&hash)))
        .map_err(AppError::internal)?;
    tracing::info!(endpoint = %endpoint.id, "room terminal logged in");
    Ok(Json(DeviceSession {
        token,
        expires_at,
        endpoint,
    }))
}

/// Who the caller is: a staff account or a room terminal.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(principal: Principal) -> Json<Me> {
    Json(match principal {
        Principal::Staff(s) => Me::Staff(s),
        Principal::Device(e) => Me::Endpoint(e),
    })
}
