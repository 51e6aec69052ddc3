//! `/api/v1/meetings`: scheduling, changing and calling off meetings, and the
//! occurrences in a time window. Schedulers and administrators write, operators read,
//! and a room terminal reads only the meetings whose roster holds it. The rules of a
//! meeting are [`MeetingSpec::validate`]'s and the double-booking check the store's;
//! times are unix seconds UTC, with `*_local` strings in Hà Nội time for display.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::{RequireRole, Schedulers};
use super::{present, ApiJson, ApiQuery, AppError, ErrorBody, Principal};
use crate::schedule::{occurrences, MeetingMode, MeetingSpec, Recurrence, ScheduleError};
use crate::store::Meeting;
use crate::AppState;

/// The widest window `GET /api/v1/meetings` expands, in seconds (366 days).
pub const MAX_WINDOW_SECS: i64 = 366 * 86_400;
/// The window listed when `to` is not given, in seconds (7 days).
pub const DEFAULT_WINDOW_SECS: i64 = 7 * 86_400;

mod views;

use views::ScheduledOccurrence;
pub(super) use views::{meeting_view, now_utc, occurrence_view, MeetingView, OccurrenceView};

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_meetings, create_meeting))
        .routes(routes!(get_meeting, replace_meeting, patch_meeting))
        .routes(routes!(cancel_meeting))
        .routes(routes!(cancel_occurrence))
}

/// A meeting as a scheduler enters it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    /// 1–200 characters, one line.
    pub title: String,
    /// Up to 4000 characters.
    #[serde(default)]
    pub agenda: String,
    /// Start of the (first) occurrence, unix seconds UTC.
    pub start: i64,
    /// Its end, unix seconds UTC; every occurrence lasts `end - start` (at most 24 h).
    pub end: i64,
    /// The chair's room terminal; must be in `roster`.
    pub host_endpoint_id: String,
    /// Every invited room terminal, the host included (1–200, no repeats).
    pub roster: Vec<String>,
    pub mode: MeetingMode,
    /// Absent or null for a one-off meeting.
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// With PUT: refuse (409, field `revision`) if the meeting changed since this
    /// revision was read.
    #[serde(default)]
    pub revision: Option<i64>,
}

/// Changes to a meeting; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingChanges {
    pub title: Option<String>,
    pub agenda: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub host_endpoint_id: Option<String>,
    pub roster: Option<Vec<String>>,
    pub mode: Option<MeetingMode>,
    /// `null` makes it a one-off meeting.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Recurrence>)]
    pub recurrence: Option<Option<Recurrence>>,
    /// Refuse (409, field `revision`) if the meeting changed since this revision.
    pub revision: Option<i64>,
}

/// Which occurrences to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingFilter {
    /// Window start, unix seconds UTC (default: now).
    pub from: Option<i64>,
    /// Window end, unix seconds UTC (default: `from` + 7 days; at most 366 days after).
    pub to: Option<i64>,
    /// Only meetings whose roster holds this terminal.
    pub endpoint_id: Option<String>,
}

/// The local date of an occurrence to call off.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceDate {
    /// `YYYY-MM-DD`, Hà Nội calendar.
    pub date: String,
}

/// The API's name for a field of [`MeetingSpec`].
fn api_field(field: &str) -> String {
    field
        .replace("start_utc", "start")
        .replace("end_utc", "end")
        .replace("host_terminal_id", "host_endpoint_id")
}

/// 400 `invalid_field` naming the field as the API calls it.
pub(super) fn invalid(e: ScheduleError) -> AppError {
    let ScheduleError::Invalid { field, message } = e;
    let field = api_field(&field);
    AppError::invalid(&field, format!("{field} {}", api_field(&message)))
}

fn instant(field: &str, secs: i64) -> Result<DateTime<Utc>, AppError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| AppError::invalid(field, format!("{field} is not a valid time")))
}

/// Validate `spec`, keeping of its cancelled dates those that still fall in the series
/// (an edit that moves the series drops the others).
fn checked(mut spec: MeetingSpec) -> Result<MeetingSpec, AppError> {
    spec.title = spec.title.trim().to_string();
    let cancelled = std::mem::take(&mut spec.cancelled_occurrences);
    spec.validate().map_err(invalid)?;
    spec.cancelled_occurrences = cancelled
        .into_iter()
        .filter(|d| {
            let mut one = spec.clone();
            one.cancelled_occurrences = vec![*d];
            one.validate().is_ok()
        })
        .collect();
    Ok(spec)
}

fn spec_of(body: MeetingInput, keep: Option<&MeetingSpec>) -> Result<MeetingSpec, AppError> {
    checked(MeetingSpec {
        title: body.title,
        agenda: body.agenda,
        start_utc: instant("start", body.start)?,
        end_utc: instant("end", body.end)?,
        host_terminal_id: body.host_endpoint_id,
        roster: body.roster,
        mode: body.mode,
        recurrence: body.recurrence,
        cancelled_occurrences: keep
            .map(|k| k.cancelled_occurrences.clone())
            .unwrap_or_default(),
        cancelled: keep.is_some_and(|k| k.cancelled),
    })
}

/// A device may read a meeting only if its roster holds it.
pub(super) fn may_read(principal: &Principal, m: &Meeting) -> Result<(), AppError> {
    match principal {
        Principal::Staff(_) => Ok(()),
        Principal::Device(e) if m.spec.roster.contains(&e.id) => Ok(()),
        Principal::Device(_) => Err(AppError::forbidden()),
    }
}

/// The occurrences overlapping a window, in order of start; a room terminal sees only
/// its own meetings (naming another terminal in `endpoint_id` is 403).
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings", security(("bearer" = [])),
    params(MeetingFilter),
    responses((status = 200, body = Vec<ScheduledOccurrence>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_meetings(
    principal: Principal,
    State(state): State<Arc<AppState>>,
    ApiQuery(filter): ApiQuery<MeetingFilter>,
) -> Result<Json<Vec<ScheduledOccurrence>>, AppError> {
    let now = now_utc();
    let from = filter.from.unwrap_or(now.timestamp());
    let to = filter
        .to
        .unwrap_or(from.saturating_add(DEFAULT_WINDOW_SECS));
    let (from_t, to_t) = (instant("from", from)?, instant("to", to)?);
    if to <= from {
        return Err(AppError::invalid("to", "to must be after from"));
    }
    if to - from > MAX_WINDOW_SECS {
        return Err(AppError::invalid("to", "the window is at most 366 days"));
    }
    let endpoint = match (&principal, filter.endpoint_id) {
        (Principal::Device(e), Some(asked)) if asked != e.id => return Err(AppError::forbidden()),
        (Principal::Device(e), _) => Some(e.id.clone()),
        (Principal::Staff(_), asked) => asked,
    };
    let meetings = state
        .store
        .meetings_between(from, to, endpoint.as_deref())
        .await?;
    let mut out = Vec::new();
    for m in meetings {
        for o in occurrences(&m.spec, from_t, to_t) {
            out.push(ScheduledOccurrence {
                meeting_id: m.id.clone(),
                title: m.spec.title.clone(),
                mode: m.spec.mode,
                host_endpoint_id: m.spec.host_terminal_id.clone(),
                roster: m.spec.roster.clone(),
                occurrence: occurrence_view(m.spec.cancelled, &o, now),
            });
        }
    }
    out.sort_by(|a, b| {
        (a.occurrence.start, &a.meeting_id).cmp(&(b.occurrence.start, &b.meeting_id))
    });
    Ok(Json(out))
}

/// Schedule a meeting. 409 `conflict` (field `roster`, with `conflicts`) when a
/// terminal is already in an overlapping meeting.
#[utoipa::path(post, path = "/api/v1/meetings", tag = "meetings", security(("bearer" = [])),
    request_body = MeetingInput,
    responses((status = 201, body = MeetingView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no such terminal (field host_endpoint_id or roster)", body = ErrorBody),
        (status = 409, description = "a terminal is double-booked", body = ErrorBody)))]
async fn create_meeting(
    RequireRole(staff, _): RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<MeetingInput>,
) -> Result<(StatusCode, Json<MeetingView>), AppError> {
    if body.revision.is_some() {
        return Err(AppError::invalid(
            "revision",
            "revision is for changing a meeting",
        ));
    }
    let spec = spec_of(body, None)?;
    let m = state.store.create_meeting(&spec, &staff.id).await?;
    tracing::info!(meeting = %m.id, by = %staff.username, "meeting scheduled");
    Ok((StatusCode::CREATED, Json(meeting_view(m, now_utc()))))
}

/// One meeting.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    responses((status = 200, body = MeetingView), (status = 401, body = ErrorBody),
        (status = 403, description = "a terminal not on the roster", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_meeting(
    principal: Principal,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, AppError> {
    let m = state.store.meeting(&id).await?;
    may_read(&principal, &m)?;
    Ok(Json(meeting_view(m, now_utc())))
}

/// Replace a meeting (its cancelled dates that still fall in the series are kept).
#[utoipa::path(put, path = "/api/v1/meetings/{id}", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    request_body = MeetingInput,
    responses((status = 200, body = MeetingView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "a terminal is double-booked, or the revision is stale", body = ErrorBody)))]
async fn replace_meeting(
    RequireRole(staff, _): RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MeetingInput>,
) -> Result<Json<MeetingView>, AppError> {
    let old = state.store.meeting(&id).await?;
    let revision = body.revision;
    let spec = spec_of(body, Some(&old.spec))?;
    let m = state.store.update_meeting(&id, &spec, revision).await?;
    tracing::info!(meeting = %id, by = %staff.username, "meeting changed");
    Ok(Json(meeting_view(m, now_utc())))
}

/// Change some of a meeting's fields.
#[utoipa::path(patch, path = "/api/v1/meetings/{id}", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    request_body = MeetingChanges,
    responses((status = 200, body = MeetingView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "a terminal is double-booked, or the revision is stale", body = ErrorBody)))]
async fn patch_meeting(
    RequireRole(staff, _): RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MeetingChanges>,
) -> Result<Json<MeetingView>, AppError> {
    let old = state.store.meeting(&id).await?.spec;
    let spec = checked(MeetingSpec {
        title: body.title.unwrap_or(old.title),
        agenda: body.agenda.unwrap_or(old.agenda),
        start_utc: body
            .start
            .map_or(Ok(old.start_utc), |s| instant("start", s))?,
        end_utc: body.end.map_or(Ok(old.end_utc), |s| instant("end", s))?,
        host_terminal_id: body.host_endpoint_id.unwrap_or(old.host_terminal_id),
        roster: body.roster.unwrap_or(old.roster),
        mode: body.mode.unwrap_or(old.mode),
        recurrence: body.recurrence.unwrap_or(old.recurrence),
        cancelled_occurrences: old.cancelled_occurrences,
        cancelled: old.cancelled,
    })?;
    let m = state
        .store
        .update_meeting(&id, &spec, body.revision)
        .await?;
    tracing::info!(meeting = %id, by = %staff.username, "meeting changed");
    Ok(Json(meeting_view(m, now_utc())))
}

/// Call off the whole meeting (every occurrence). It stays listed, as `cancelled`,
/// and its terminals are free for other meetings.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/cancel", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    responses((status = 200, body = MeetingView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn cancel_meeting(
    RequireRole(staff, _): RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, AppError> {
    let m = state.store.cancel_meeting(&id).await?;
    tracing::info!(meeting = %id, by = %staff.username, "meeting cancelled");
    Ok(Json(meeting_view(m, now_utc())))
}

/// Call off one occurrence, named by its local date (`{"date": "YYYY-MM-DD"}`).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/cancellations", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    request_body = OccurrenceDate,
    responses((status = 200, body = MeetingView),
        (status = 400, description = "not a date, or no occurrence falls on it (field date)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn cancel_occurrence(
    RequireRole(staff, _): RequireRole<Schedulers>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OccurrenceDate>,
) -> Result<Json<MeetingView>, AppError> {
    let date: NaiveDate = body
        .date
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("date", "date must be YYYY-MM-DD"))?;
    let m = state.store.meeting(&id).await?;
    let mut one = m.spec.clone();
    one.cancelled_occurrences = vec![date];
    if one.validate().is_err() {
        return Err(AppError::invalid(
            "date",
            format!("no occurrence of the meeting falls on {date}"),
        ));
    }
    let m = state.store.cancel_occurrence(&id, date).await?;
    tracing::info!(meeting = %id, %date, by = %staff.username, "occurrence cancelled");
    Ok(Json(meeting_view(m, now_utc())))
}
