//! `/api/v1/endpoints`: room terminals and their device credentials. A credential is
//! shown in the answer that creates it (registration, rotation) and never again.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::{AnyStaff, RequireRole, Schedulers};
use super::{id_field, present, text, ApiJson, ApiQuery, AppError, ErrorBody, MAX_NAME_CHARS};
use crate::credentials::{credential_hash, new_credential};
use crate::store::{Endpoint, EndpointPatch, NewEndpoint};
use crate::AppState;

/// Accepted bitrate caps, in kbit/s.
pub const BITRATE_CAP_KBPS: std::ops::RangeInclusive<i64> = 64..=20_000;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_credential))
        .routes(routes!(revoke_endpoint))
}

/// Which terminals to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndpointFilter {
    /// Only the terminals of this unit.
    pub unit_id: Option<String>,
    /// With `unit_id`: also those of every unit below it.
    #[serde(default)]
    pub subtree: bool,
}

/// A terminal to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    pub unit_id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    /// 64 to 20000 kbit/s; absent or null: no cap.
    #[serde(default)]
    pub bitrate_cap_kbps: Option<i64>,
}

/// Changes to a terminal; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEndpoint {
    pub unit_id: Option<String>,
    pub name: Option<String>,
    pub location: Option<String>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub bitrate_cap_kbps: Option<Option<i64>>,
}

/// A terminal with its new credential, shown this once.
#[derive(Serialize, ToSchema)]
pub struct EndpointWithCredential {
    pub endpoint: Endpoint,
    /// The device credential: give it to the room terminal now; it is not shown again.
    pub credential: String,
}

fn bitrate(cap: Option<i64>) -> Result<Option<i64>, AppError> {
    match cap {
        Some(c) if !BITRATE_CAP_KBPS.contains(&c) => Err(AppError::invalid(
            "bitrate_cap_kbps",
            format!(
                "bitrate_cap_kbps must be between {} and {} kbit/s",
                BITRATE_CAP_KBPS.start(),
                BITRATE_CAP_KBPS.end()
            ),
        )),
        c => Ok(c),
    }
}

fn location(value: &str) -> Result<String, AppError> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    text("location", value, MAX_NAME_CHARS)
}

/// Terminals, ordered by name.
#[utoipa::path(get, path = "/api/v1/endpoints", tag = "endpoints", security(("bearer" = [])),
    params(EndpointFilter),
    responses((status = 200, body = Vec<Endpoint>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_endpoints(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
    ApiQuery(filter): ApiQuery<EndpointFilter>,
) -> Result<Json<Vec<Endpoint>>, AppError> {
    Ok(Json(
        state
            .store
            .endpoints(filter.unit_id.as_deref(), filter.subtree)
            .await?,
    ))
}

/// One terminal (never its credential).
#[utoipa::path(get, path = "/api/v1/endpoints/{id}", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, body = Endpoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_endpoint(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, AppError> {
    Ok(Json(state.store.endpoint(&id).await?))
}

/// Register a terminal; the answer holds its credential, shown this once.
#[utoipa::path(post, path = "/api/v1/endpoints", tag = "endpoints", security(("bearer" = [])),
    request_body = CreateEndpoint,
    responses((status = 201, body = EndpointWithCredential), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no such unit", body = ErrorBody),
        (status = 409, description = "the unit has a terminal with this name", body = ErrorBody)))]
async fn create_endpoint(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithCredential>), AppError> {
    let new = NewEndpoint {
        unit_id: id_field("unit_id", &body.unit_id)?,
        name: text("name", &body.name, MAX_NAME_CHARS)?,
        location: location(&body.location)?,
        bitrate_cap_kbps: bitrate(body.bitrate_cap_kbps)?,
    };
    let credential = new_credential();
    let endpoint = state
        .store
        .create_endpoint(&new, &credential_hash(&credential))
        .await?;
    tracing::info!(endpoint = %endpoint.id, "room terminal registered");
    Ok((
        StatusCode::CREATED,
        Json(EndpointWithCredential {
            endpoint,
            credential,
        }),
    ))
}

/// Change a terminal's unit, name, location or bitrate cap.
#[utoipa::path(patch, path = "/api/v1/endpoints/{id}", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    request_body = PatchEndpoint,
    responses((status = 200, body = Endpoint), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_endpoint(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchEndpoint>,
) -> Result<Json<Endpoint>, AppError> {
    let patch = EndpointPatch {
        unit_id: body.unit_id.map(|u| id_field("unit_id", &u)).transpose()?,
        name: body
            .name
            .map(|n| text("name", &n, MAX_NAME_CHARS))
            .transpose()?,
        location: body.location.map(|l| location(&l)).transpose()?,
        bitrate_cap_kbps: body.bitrate_cap_kbps.map(bitrate).transpose()?,
    };
    Ok(Json(state.store.update_endpoint(&id, &patch).await?))
}

/// Delete a terminal.
#[utoipa::path(delete, path = "/api/v1/endpoints/{id}", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_endpoint(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.store.delete_endpoint(&id).await?;
    tracing::info!(endpoint = %id, "room terminal deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Give a terminal a new credential (shown this once): the old one and the sessions
/// opened with it stop working; a revoked terminal is reinstated.
#[utoipa::path(post, path = "/api/v1/endpoints/{id}/credential", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, body = EndpointWithCredential), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_credential(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithCredential>, AppError> {
    let credential = new_credential();
    let endpoint = state
        .store
        .rotate_credential(&id, &credential_hash(&credential))
        .await?;
    tracing::info!(endpoint = %id, "room terminal credential rotated");
    Ok(Json(EndpointWithCredential {
        endpoint,
        credential,
    }))
}

/// Revoke a terminal: it can no longer log in, and its sessions end.
#[utoipa::path(post, path = "/api/v1/endpoints/{id}/revoke", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, body = Endpoint), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_endpoint(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, AppError> {
    let endpoint = state.store.revoke_endpoint(&id).await?;
    tracing::info!(endpoint = %id, "room terminal revoked");
    Ok(Json(endpoint))
}
