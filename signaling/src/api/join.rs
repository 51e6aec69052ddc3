//! A room terminal's join token for one of its meetings: issued only to a rostered
//! terminal, only while the join window of one of the meeting's occurrences is open,
//! and valid exactly for that window. Each occurrence is a room of its own
//! (`MEETING_ID:INDEX`), so different meetings and sittings never share media.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::meetings::now_utc;
use super::{AppError, ErrorBody, Principal};
use crate::auth::Role;
use crate::protocol::GrantsWire;
use crate::schedule::{format_local, next_occurrence};
use crate::AppState;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(join_token))
}

/// A join token for the occurrence whose window is open now.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinTokenView {
    /// The JWT to send in the WebSocket `join` message.
    pub token: String,
    /// The room it admits to: `MEETING_ID:OCCURRENCE_INDEX`.
    pub room: String,
    /// `host` for the meeting's host terminal, else `participant`.
    pub role: String,
    pub meeting_id: String,
    /// The occurrence's start, unix seconds UTC.
    pub occurrence_start: i64,
    /// The occurrence's end, unix seconds UTC.
    pub occurrence_end: i64,
    /// The token's `nbf`: the window's opening, unix seconds UTC.
    pub not_before: i64,
    /// The token's `exp`: the window's close, unix seconds UTC.
    pub expires_at: i64,
    /// The room-terminal page with the token in its fragment: `/join#token=…`.
    pub join_url: String,
}

/// A join token for the calling room terminal in this meeting, valid from the opening
/// of the current occurrence's join window (the technician's test, before the start)
/// to its close (the grace after the end). Room terminals only.
#[utoipa::path(post, path = "/api/v1/me/meetings/{id}/join-token", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    responses((status = 200, body = JoinTokenView), (status = 401, body = ErrorBody),
        (status = 403, description = "not a room terminal (`forbidden`), or one not on the roster (`not_rostered`)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`outside_window`: the meeting is cancelled or none of its join windows is open now; `opens_at`/`closes_at` give the next one", body = ErrorBody)))]
async fn join_token(
    principal: Principal,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<JoinTokenView>, AppError> {
    let Principal::Device(endpoint) = principal else {
        return Err(AppError::forbidden());
    };
    let m = state.store.meeting(&id).await?;
    if !m.spec.roster.contains(&endpoint.id) {
        return Err(AppError::not_rostered(&m.id));
    }
    if m.spec.cancelled {
        return Err(AppError::outside_window(
            format!("meeting {} is cancelled", m.id),
            None,
        ));
    }
    let now = now_utc();
    let window = state.join_window;
    let Some(o) = window.joinable(&m.spec, now) else {
        return Err(match next_occurrence(&m.spec, now) {
            Some(next) => {
                let (opens, closes) = window.of(&next);
                AppError::outside_window(
                    format!(
                        "meeting {} cannot be joined now: its next join window opens at {} \
                         (Asia/Ho_Chi_Minh)",
                        m.id,
                        format_local(opens)
                    ),
                    Some((opens.timestamp(), closes.timestamp())),
                )
            }
            None => AppError::outside_window(
                format!("meeting {} has no occurrence left to join", m.id),
                None,
            ),
        });
    };
    let (opens, closes) = window.of(&o);
    let room = format!("{}:{}", m.id, o.index);
    let role = if m.spec.host_terminal_id == endpoint.id {
        Role::Host
    } else {
        Role::Participant
    };
    let grants = GrantsWire {
        publish: true,
        subscribe: true,
    };
    let token = state
        .keys
        .issue_for_meeting(
            &m.id,
            &room,
            &endpoint.id,
            &endpoint.name,
            role,
            grants,
            opens,
            closes,
        )
        .map_err(AppError::internal)?;
    tracing::info!(meeting = %m.id, %room, endpoint = %endpoint.id, role = role.as_str(), "join token issued");
    Ok(Json(JoinTokenView {
        join_url: format!("/join#token={token}"),
        token,
        room,
        role: role.as_str().to_string(),
        meeting_id: m.id,
        occurrence_start: o.start_utc.timestamp(),
        occurrence_end: o.end_utc.timestamp(),
        not_before: opens.timestamp(),
        expires_at: closes.timestamp(),
    }))
}
