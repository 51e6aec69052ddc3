//! `/api/v1/units`: the organisation tree.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::{AnyStaff, RequireRole, Schedulers};
use super::{id_field, present, text, ApiJson, AppError, ErrorBody, MAX_NAME_CHARS};
use crate::store::{NewUnit, Unit, UnitPatch};
use crate::AppState;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_units, create_unit))
        .routes(routes!(unit_tree))
        .routes(routes!(get_unit, update_unit, delete_unit))
}

/// A unit to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    /// None or absent: a root.
    #[serde(default)]
    pub parent_id: Option<String>,
    pub name: String,
    /// Free text, e.g. "Tỉnh", "Sở", "Xã".
    pub level: String,
}

/// Changes to a unit; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUnit {
    /// `null` makes the unit a root.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<String>>,
    pub name: Option<String>,
    pub level: Option<String>,
}

/// A unit with the units under it.
#[derive(Serialize, ToSchema)]
pub struct UnitNode {
    #[serde(flatten)]
    pub unit: Unit,
    #[schema(no_recursion)]
    pub children: Vec<UnitNode>,
}

/// Every unit, flat, ordered by name.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", security(("bearer" = [])),
    responses((status = 200, body = Vec<Unit>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_units(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<Unit>>, AppError> {
    Ok(Json(state.store.units().await?))
}

/// The units as a forest: the roots, each with its units below.
#[utoipa::path(get, path = "/api/v1/units/tree", tag = "units", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnitNode>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn unit_tree(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<UnitNode>>, AppError> {
    let units = state.store.units().await?;
    let mut children: HashMap<Option<String>, Vec<Unit>> = HashMap::new();
    for u in units {
        children.entry(u.parent_id.clone()).or_default().push(u);
    }
    fn build(
        parent: Option<String>,
        children: &mut HashMap<Option<String>, Vec<Unit>>,
    ) -> Vec<UnitNode> {
        let mine = children.remove(&parent).unwrap_or_default();
        mine.into_iter()
            .map(|unit| {
                let below = build(Some(unit.id.clone()), children);
                UnitNode {
                    unit,
                    children: below,
                }
            })
            .collect()
    }
    Ok(Json(build(None, &mut children)))
}

/// One unit.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "units", security(("bearer" = [])),
    params(("id" = String, Path, description = "unit id")),
    responses((status = 200, body = Unit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_unit(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Unit>, AppError> {
    Ok(Json(state.store.unit(&id).await?))
}

/// Create a unit.
#[utoipa::path(post, path = "/api/v1/units", tag = "units", security(("bearer" = [])),
    request_body = CreateUnit,
    responses((status = 201, body = Unit), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "no such parent", body = ErrorBody),
        (status = 409, description = "a sibling has this name", body = ErrorBody)))]
async fn create_unit(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateUnit>,
) -> Result<(StatusCode, Json<Unit>), AppError> {
    let new = NewUnit {
        parent_id: body
            .parent_id
            .map(|p| id_field("parent_id", &p))
            .transpose()?,
        name: text("name", &body.name, MAX_NAME_CHARS)?,
        level: text("level", &body.level, MAX_NAME_CHARS)?,
    };
    let unit = state.store.create_unit(&new).await?;
    Ok((StatusCode::CREATED, Json(unit)))
}

/// Rename, relabel or move a unit.
#[utoipa::path(patch, path = "/api/v1/units/{id}", tag = "units", security(("bearer" = [])),
    params(("id" = String, Path, description = "unit id")),
    request_body = PatchUnit,
    responses((status = 200, body = Unit), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "a cycle, or a sibling has this name", body = ErrorBody)))]
async fn update_unit(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchUnit>,
) -> Result<Json<Unit>, AppError> {
    let patch = UnitPatch {
        parent_id: match body.parent_id {
            Some(Some(p)) => Some(Some(id_field("parent_id", &p)?)),
            other => other,
        },
        name: body
            .name
            .map(|n| text("name", &n, MAX_NAME_CHARS))
            .transpose()?,
        level: body
            .level
            .map(|l| text("level", &l, MAX_NAME_CHARS))
            .transpose()?,
    };
    Ok(Json(state.store.update_unit(&id, &patch).await?))
}

/// Delete a unit with nothing under it.
#[utoipa::path(delete, path = "/api/v1/units/{id}", tag = "units", security(("bearer" = [])),
    params(("id" = String, Path, description = "unit id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the unit has units or terminals under it", body = ErrorBody)))]
async fn delete_unit(
    _: RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.store.delete_unit(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
