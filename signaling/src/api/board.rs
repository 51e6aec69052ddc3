//! The operator board (`/api/v1/board`, and its live feed `/api/v1/board/events` as
//! server-sent events) and a meeting occurrence's attendance record (JSON and CSV).
//! The board is for operators and administrators; attendance for every staff role.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::principal::{AnyStaff, Operators, RequireRole};
use super::{ApiQuery, AppError, ErrorBody, Principal};
use crate::board::service::{load_registry, unix_ms, Latest};
use crate::board::Board;
use crate::schedule::to_local;
use crate::store::{AttendanceEvent, AttendanceRecord};
use crate::AppState;

pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(board))
        .routes(routes!(board_events))
        .routes(routes!(attendance))
        .routes(routes!(attendance_csv))
}

/// The board now: live meetings and those within 24 h, every rostered terminal's
/// presence, figures and quality, and the alarms. Sampled every second.
#[utoipa::path(get, path = "/api/v1/board", tag = "board", security(("bearer" = [])),
    responses((status = 200, body = Board), (status = 401, body = ErrorBody),
        (status = 403, description = "not an operator or administrator", body = ErrorBody)))]
async fn board(_: RequireRole<Operators>, State(state): State<Arc<AppState>>) -> Response {
    json_text(&state.board.latest())
}

fn json_text(latest: &Latest) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        latest.json.clone(),
    )
        .into_response()
}

/// The board as server-sent events: an event `board` carrying the whole board at once
/// and then at every sample (each second). Send the session token in the
/// `Authorization` header (read the stream with `fetch`); the stream ends when the
/// token expires or the account loses its role.
#[utoipa::path(get, path = "/api/v1/board/events", tag = "board", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream",
            description = "events `board` (data: the `Board` JSON), comments `: keep-alive`"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not an operator or administrator", body = ErrorBody)))]
async fn board_events(
    _: RequireRole<Operators>,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The extractor has checked it: present.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let rx = state.board.subscribe();
    let stream = futures_util::stream::unfold(
        (state, token, rx, true),
        |(state, token, mut rx, first)| async move {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            // Each event is for a caller still entitled to it.
            let entitled = Principal::from_token(&state, &token)
                .await
                .and_then(|p| p.admitted::<Operators>());
            if entitled.is_err() {
                return None;
            }
            let latest = rx.borrow_and_update().clone();
            let event = Event::default().event("board").data(latest.json.as_str());
            Some((Ok(event), (state, token, rx, false)))
        },
    );
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}

/// Which occurrence.
#[derive(Deserialize, IntoParams)]
pub struct OccurrenceQuery {
    /// The occurrence's index in the series (0 for a one-off meeting).
    pub occurrence: u32,
}

/// One join, leave or drop.
#[derive(Serialize, ToSchema)]
pub struct AttendanceRow {
    pub terminal_id: String,
    /// The terminal's name when it happened.
    pub name: String,
    /// Its unit's name now ("" if it is no longer registered).
    pub unit: String,
    pub event: AttendanceEvent,
    /// Unix seconds.
    pub at: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// One terminal's attendance.
#[derive(Serialize, ToSchema)]
pub struct AttendanceSummary {
    pub terminal_id: String,
    pub name: String,
    pub unit: String,
    /// On the meeting's roster.
    pub rostered: bool,
    /// First join, unix seconds.
    pub first_join: Option<i64>,
    /// Last leave or drop, unix seconds.
    pub last_leave: Option<i64>,
    /// Seconds present (a stay still open counts until now).
    pub present_seconds: i64,
    /// Times its connection was lost.
    pub drops: u32,
}

/// An occurrence's attendance record.
#[derive(Serialize, ToSchema)]
pub struct AttendanceView {
    pub meeting_id: String,
    pub occurrence: u32,
    pub title: String,
    /// In time order.
    pub records: Vec<AttendanceRow>,
    /// The roster in its order, then the other terminals that joined.
    pub summary: Vec<AttendanceSummary>,
}

/// The attendance record of one occurrence: every join, leave and drop, and a summary
/// per terminal.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attendance", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id"), OccurrenceQuery),
    responses((status = 200, body = AttendanceView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn attendance(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<OccurrenceQuery>,
) -> Result<Json<AttendanceView>, AppError> {
    Ok(Json(attendance_view(&state, &id, q.occurrence).await?))
}

/// The same as CSV for spreadsheets: UTF-8 with a byte-order mark, columns
/// `terminal_id,terminal,unit,event,time`, times in Hà Nội time (ISO 8601 with offset),
/// one line per join, leave or drop in time order.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attendance.csv", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "meeting id"), OccurrenceQuery),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn attendance_csv(
    _: RequireRole<AnyStaff>,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<OccurrenceQuery>,
) -> Result<Response, AppError> {
    let view = attendance_view(&state, &id, q.occurrence).await?;
    let body = attendance_csv_text(&view.records).map_err(AppError::internal)?;
    let filename = format!("attendance-{}-{}.csv", view.meeting_id, view.occurrence);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The CSV text, byte-order mark first.
pub fn attendance_csv_text(records: &[AttendanceRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["terminal_id", "terminal", "unit", "event", "time"])?;
    for r in records {
        let time = chrono::DateTime::from_timestamp(r.at, 0)
            .map(|t| to_local(t).format("%Y-%m-%dT%H:%M:%S%:z").to_string())
            .unwrap_or_default();
        w.write_record([
            r.terminal_id.as_str(),
            r.name.as_str(),
            r.unit.as_str(),
            r.event.as_str(),
            time.as_str(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    // Every field written is a Rust string: the output is UTF-8.
    let text = String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8");
    Ok(format!("\u{FEFF}{text}"))
}

async fn attendance_view(
    state: &AppState,
    id: &str,
    occurrence: u32,
) -> Result<AttendanceView, AppError> {
    let meeting = state.store.meeting(id).await?;
    let records = state.store.attendance(id, occurrence).await?;
    let registry = load_registry(&state.store).await?;
    let unit = |t: &str| registry.get(t).map(|i| i.unit.clone()).unwrap_or_default();
    let mut ids: Vec<(String, bool)> = meeting
        .spec
        .roster
        .iter()
        .map(|t| (t.clone(), true))
        .collect();
    for r in &records {
        if !ids.iter().any(|(t, _)| *t == r.endpoint_id) {
            ids.push((r.endpoint_id.clone(), false));
        }
    }
    let now = unix_ms().div_euclid(1000);
    let summary = ids
        .into_iter()
        .map(|(t, rostered)| {
            let mine: Vec<&AttendanceRecord> =
                records.iter().filter(|r| r.endpoint_id == t).collect();
            let name = registry
                .get(&t)
                .map(|i| i.name.clone())
                .or_else(|| mine.last().map(|r| r.name.clone()))
                .unwrap_or_else(|| t.clone());
            summarize(t.clone(), name, unit(&t), rostered, &mine, now)
        })
        .collect();
    Ok(AttendanceView {
        meeting_id: meeting.id,
        occurrence,
        title: meeting.spec.title,
        records: records
            .iter()
            .map(|r| AttendanceRow {
                terminal_id: r.endpoint_id.clone(),
                name: r.name.clone(),
                unit: unit(&r.endpoint_id),
                event: r.event,
                at: r.at_ms.div_euclid(1000),
                at_ms: r.at_ms,
            })
            .collect(),
        summary,
    })
}

/// One terminal's records (in time order) summed up; a stay still open counts until
/// `now` (unix seconds).
fn summarize(
    terminal_id: String,
    name: String,
    unit: String,
    rostered: bool,
    records: &[&AttendanceRecord],
    now: i64,
) -> AttendanceSummary {
    let mut in_since: Option<i64> = None;
    let mut present_ms = 0i64;
    let mut s = AttendanceSummary {
        terminal_id,
        name,
        unit,
        rostered,
        first_join: None,
        last_leave: None,
        present_seconds: 0,
        drops: 0,
    };
    for r in records {
        match r.event {
            AttendanceEvent::Join => {
                s.first_join.get_or_insert(r.at_ms.div_euclid(1000));
                in_since.get_or_insert(r.at_ms);
            }
            AttendanceEvent::Leave | AttendanceEvent::Drop => {
                if r.event == AttendanceEvent::Drop {
                    s.drops += 1;
                }
                s.last_leave = Some(r.at_ms.div_euclid(1000));
                if let Some(since) = in_since.take() {
                    present_ms += r.at_ms - since;
                }
            }
        }
    }
    if let Some(since) = in_since {
        present_ms += (now * 1000 - since).max(0);
    }
    s.present_seconds = present_ms.div_euclid(1000);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event: AttendanceEvent, at_ms: i64) -> AttendanceRecord {
        AttendanceRecord {
            id: format!("{at_ms}"),
            meeting_id: "m".into(),
            occurrence: 0,
            endpoint_id: "t".into(),
            name: "Phòng, \"A\"".into(),
            event,
            at_ms,
        }
    }

    #[test]
    fn stays_are_summed_and_drops_counted() {
        let r = [
            record(AttendanceEvent::Join, 1_000_000),
            record(AttendanceEvent::Drop, 1_060_000),
            record(AttendanceEvent::Join, 1_070_000),
            record(AttendanceEvent::Leave, 1_100_000),
            record(AttendanceEvent::Join, 1_200_000),
        ];
        let refs: Vec<&AttendanceRecord> = r.iter().collect();
        let s = summarize("t".into(), "n".into(), "u".into(), true, &refs, 1_210);
        assert_eq!(s.first_join, Some(1000));
        assert_eq!(s.last_leave, Some(1100));
        assert_eq!(s.drops, 1);
        assert_eq!(s.present_seconds, 60 + 30 + 10);
    }

    #[test]
    fn csv_has_a_bom_a_header_and_local_times_and_quotes_what_needs_it() {
        let rows = [AttendanceRow {
            terminal_id: "t".into(),
            name: "Phòng, \"A\"".into(),
            unit: "Sở".into(),
            event: AttendanceEvent::Join,
            at: 1_764_036_005,
            at_ms: 1_764_036_005_000,
        }];
        let text = attendance_csv_text(&rows).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("\u{FEFF}terminal_id,terminal,unit,event,time")
        );
        assert_eq!(
            lines.next(),
            Some("t,\"Phòng, \"\"A\"\"\",Sở,join,2025-11-25T09:00:05+07:00")
        );
    }
}
