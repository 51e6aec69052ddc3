//! `/api/v1/staff`: staff accounts, for administrators only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::{Administrators, RequireRole};
use super::{text, ApiJson, AppError, ErrorBody, MAX_NAME_CHARS};
use crate::credentials::hash_password;
use crate::store::{NewStaff, Role, Staff, StaffPatch};
use crate::AppState;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 hashes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 200;
/// Longest username.
pub const MAX_USERNAME_CHARS: usize = 64;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_staff, create_staff))
        .routes(routes!(update_staff, delete_staff))
}

/// An account to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    /// Letters, digits, `.`, `_`, `-`; stored in lower case.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// 10 to 200 characters.
    pub password: String,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStaff {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
}

fn username(value: &str) -> Result<String, AppError> {
    let v = text("username", value, MAX_USERNAME_CHARS)?.to_lowercase();
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(AppError::invalid(
            "username",
            "username may hold only letters a-z, digits, '.', '_' and '-'",
        ));
    }
    Ok(v)
}

async fn password_hash(value: String) -> Result<String, AppError> {
    let n = value.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AppError::invalid(
            "password",
            format!("password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    tokio::task::spawn_blocking(move || hash_password(&value))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

/// Every account.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<Staff>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_staff(
    _: RequireRole<Administrators>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<Staff>>, AppError> {
    Ok(Json(state.store.staff_list().await?))
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    request_body = CreateStaff,
    responses((status = 201, body = Staff), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "the username is taken", body = ErrorBody)))]
async fn create_staff(
    RequireRole(admin, _): RequireRole<Administrators>,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateStaff>,
) -> Result<(StatusCode, Json<Staff>), AppError> {
    let new = NewStaff {
        username: username(&body.username)?,
        display_name: text("display_name", &body.display_name, MAX_NAME_CHARS)?,
        role: body.role,
        password_hash: password_hash(body.password).await?,
    };
    let staff = state.store.create_staff(&new).await?;
    tracing::info!(by = %admin.username, username = %staff.username, role = staff.role.as_str(), "staff account created");
    Ok((StatusCode::CREATED, Json(staff)))
}

/// Change an account's display name, role or password. The last administrator keeps
/// the role.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "staff id")),
    request_body = PatchStaff,
    responses((status = 200, body = Staff), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the last administrator", body = ErrorBody)))]
async fn update_staff(
    RequireRole(admin, _): RequireRole<Administrators>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchStaff>,
) -> Result<Json<Staff>, AppError> {
    let patch = StaffPatch {
        display_name: body
            .display_name
            .map(|n| text("display_name", &n, MAX_NAME_CHARS))
            .transpose()?,
        role: body.role,
        password_hash: match body.password {
            Some(p) => Some(password_hash(p).await?),
            None => None,
        },
    };
    let staff = state.store.update_staff(&id, &patch).await?;
    tracing::info!(by = %admin.username, username = %staff.username, "staff account changed");
    Ok(Json(staff))
}

/// Delete an account (not the last administrator).
#[utoipa::path(delete, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "staff id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "the last administrator", body = ErrorBody)))]
async fn delete_staff(
    RequireRole(admin, _): RequireRole<Administrators>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.store.delete_staff(&id).await?;
    tracing::info!(by = %admin.username, staff = %id, "staff account deleted");
    Ok(StatusCode::NO_CONTENT)
}
