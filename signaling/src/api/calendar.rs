//! A meeting's and a room terminal's calendar (`.ics`), and a terminal's next meeting
//! with its join window, which the kiosk polls.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::meetings::{
    may_read, meeting_view, now_utc, occurrence_view, MeetingView, OccurrenceView,
};
use super::{AppError, ErrorBody, Principal};
use crate::schedule::{meeting_ics, next_occurrence, terminal_schedule_ics, IcsMeeting};
use crate::store::Meeting;
use crate::AppState;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(meeting_calendar))
        .routes(routes!(endpoint_calendar))
        .routes(routes!(next_meeting))
}

/// A terminal's next meeting: the occurrence whose join window is open, or else the
/// next one to start.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextMeeting {
    pub meeting: MeetingView,
    pub occurrence: OccurrenceView,
    /// When the terminal may join (the technician's test window), unix seconds UTC.
    pub join_opens: i64,
    /// Until when it may (re)join, unix seconds UTC.
    pub join_closes: i64,
    /// Whether the window is open now.
    pub joinable: bool,
}

const CALENDAR: &str = "text/calendar; charset=utf-8";

fn calendar(body: String) -> Response {
    ([(header::CONTENT_TYPE, CALENDAR)], body).into_response()
}

/// Display names of every terminal, by id, for the calendars.
async fn names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .endpoints(None, false)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect())
}

struct Named<'a> {
    meeting: &'a Meeting,
    host: String,
    roster: Vec<String>,
}

fn named<'a>(meeting: &'a Meeting, names: &HashMap<String, String>) -> Named<'a> {
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    Named {
        meeting,
        host: name(&meeting.spec.host_terminal_id),
        roster: meeting.spec.roster.iter().map(name).collect(),
    }
}

impl Named<'_> {
    fn ics(&self) -> IcsMeeting<'_> {
        IcsMeeting {
            id: &self.meeting.id,
            spec: &self.meeting.spec,
            host_name: &self.host,
            roster_names: &self.roster,
            url: None,
        }
    }
}

/// The meeting as an iCalendar file (times in Asia/Ho_Chi_Minh, repeats as `RRULE`,
/// cancelled occurrences as `EXDATE`).
#[utoipa::path(get, path = "/api/v1/meetings/{id}/calendar.ics", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 401, body = ErrorBody),
        (status = 403, description = "a terminal not on the roster", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn meeting_calendar(
    principal: Principal,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let m = state.store.meeting(&id).await?;
    may_read(&principal, &m)?;
    let names = names(&state).await?;
    Ok(calendar(meeting_ics(&named(&m, &names).ics(), now_utc())))
}

/// Every meeting of a room terminal as one iCalendar file. Staff may fetch any
/// terminal's; a terminal only its own.
#[utoipa::path(get, path = "/api/v1/endpoints/{id}/calendar.ics", tag = "endpoints", security(("bearer" = [])),
    params(("id" = String, Path, description = "endpoint id")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn endpoint_calendar(
    principal: Principal,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if let Principal::Device(e) = &principal {
        if e.id != id {
            return Err(AppError::forbidden());
        }
    }
    let endpoint = state.store.endpoint(&id).await?;
    let meetings = state.store.meetings_of_endpoint(&id).await?;
    let names = names(&state).await?;
    let named: Vec<Named<'_>> = meetings.iter().map(|m| named(m, &names)).collect();
    let ics: Vec<IcsMeeting<'_>> = named.iter().map(Named::ics).collect();
    Ok(calendar(terminal_schedule_ics(
        &endpoint.name,
        &ics,
        now_utc(),
    )))
}

/// The calling room terminal's next meeting (the one it may join now, or else the next
/// to start) with its join window; 204 when none is left. Room terminals only.
#[utoipa::path(get, path = "/api/v1/me/meetings/next", tag = "meetings", security(("bearer" = [])),
    responses((status = 200, body = NextMeeting), (status = 204, description = "no meeting ahead"),
        (status = 401, body = ErrorBody), (status = 403, description = "not a room terminal", body = ErrorBody)))]
async fn next_meeting(
    principal: Principal,
    State(state): State<Arc<AppState>>,
) -> Result<Response, AppError> {
    let Principal::Device(endpoint) = principal else {
        return Err(AppError::forbidden());
    };
    let now = now_utc();
    let window = state.join_window;
    let since = now.timestamp() - i64::from(window.grace_minutes) * 60;
    let meetings = state
        .store
        .meetings_between(since, i64::MAX, Some(&endpoint.id))
        .await?;
    let best = meetings
        .into_iter()
        .filter(|m| !m.spec.cancelled)
        .filter_map(|m| {
            let o = window
                .joinable(&m.spec, now)
                .or_else(|| next_occurrence(&m.spec, now))?;
            Some((o, m))
        })
        .min_by_key(|(o, m)| (o.start_utc, m.id.clone()));
    let Some((o, m)) = best else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let (opens, closes) = window.of(&o);
    Ok(Json(NextMeeting {
        occurrence: occurrence_view(false, &o, now),
        meeting: meeting_view(m, now),
        join_opens: opens.timestamp(),
        join_closes: closes.timestamp(),
        joinable: opens <= now && now < closes,
    })
    .into_response())
}
