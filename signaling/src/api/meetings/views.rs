//! What the meetings API answers: a meeting, an occurrence with its status, and an
//! occurrence in a listed window; times as unix seconds plus Hà Nội display strings.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::schedule::{
    format_local, next_occurrence, status_at, to_local, MeetingMode, MeetingStatus, Occurrence,
    Recurrence,
};
use crate::store::Meeting;

/// One occurrence ("sitting") of a meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceView {
    /// Position in the series from 0, cancelled occurrences counted.
    pub index: u32,
    /// Unix seconds UTC.
    pub start: i64,
    /// Unix seconds UTC.
    pub end: i64,
    /// `dd/mm/yyyy HH:MM`, Hà Nội time.
    pub start_local: String,
    /// `dd/mm/yyyy HH:MM`, Hà Nội time.
    pub end_local: String,
    /// The local date naming it, e.g. to cancel it: `YYYY-MM-DD`.
    pub local_date: String,
    /// `scheduled`, `live`, `ended`, or `cancelled` when the whole meeting is.
    pub status: MeetingStatus,
}

/// A stored meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    pub id: String,
    pub title: String,
    pub agenda: String,
    /// First occurrence's start, unix seconds UTC.
    pub start: i64,
    /// First occurrence's end, unix seconds UTC.
    pub end: i64,
    /// `dd/mm/yyyy HH:MM`, Hà Nội time.
    pub start_local: String,
    /// `dd/mm/yyyy HH:MM`, Hà Nội time.
    pub end_local: String,
    pub host_endpoint_id: String,
    pub roster: Vec<String>,
    pub mode: MeetingMode,
    pub recurrence: Option<Recurrence>,
    /// Local dates (`YYYY-MM-DD`) of the occurrences called off.
    #[schema(value_type = Vec<String>)]
    pub cancelled_occurrences: Vec<NaiveDate>,
    /// The whole meeting is called off.
    pub cancelled: bool,
    /// Where the meeting stands now (for a series: its current or next occurrence).
    pub status: MeetingStatus,
    /// The occurrence under way or next, if any is left.
    pub next_occurrence: Option<OccurrenceView>,
    /// The staff account that scheduled it.
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Send it back with PUT or PATCH to refuse a change made meanwhile.
    pub revision: i64,
}

/// An occurrence in a time window, with the meeting it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledOccurrence {
    pub meeting_id: String,
    pub title: String,
    pub mode: MeetingMode,
    pub host_endpoint_id: String,
    pub roster: Vec<String>,
    pub occurrence: OccurrenceView,
}

pub(in crate::api) fn now_utc() -> DateTime<Utc> {
    DateTime::from_timestamp(crate::access::unix_now() as i64, 0).unwrap_or_default()
}

/// Where one occurrence stands at `now`.
fn occurrence_status(cancelled: bool, o: &Occurrence, now: DateTime<Utc>) -> MeetingStatus {
    if cancelled {
        MeetingStatus::Cancelled
    } else if now < o.start_utc {
        MeetingStatus::Scheduled
    } else if now < o.end_utc {
        MeetingStatus::Live
    } else {
        MeetingStatus::Ended
    }
}

pub(in crate::api) fn occurrence_view(
    cancelled: bool,
    o: &Occurrence,
    now: DateTime<Utc>,
) -> OccurrenceView {
    OccurrenceView {
        index: o.index,
        start: o.start_utc.timestamp(),
        end: o.end_utc.timestamp(),
        start_local: format_local(o.start_utc),
        end_local: format_local(o.end_utc),
        local_date: to_local(o.start_utc).date_naive().to_string(),
        status: occurrence_status(cancelled, o, now),
    }
}

pub(in crate::api) fn meeting_view(m: Meeting, now: DateTime<Utc>) -> MeetingView {
    let s = m.spec;
    let next = next_occurrence(&s, now).map(|o| occurrence_view(s.cancelled, &o, now));
    MeetingView {
        id: m.id,
        status: status_at(&s, now),
        start: s.start_utc.timestamp(),
        end: s.end_utc.timestamp(),
        start_local: format_local(s.start_utc),
        end_local: format_local(s.end_utc),
        title: s.title,
        agenda: s.agenda,
        host_endpoint_id: s.host_terminal_id,
        roster: s.roster,
        mode: s.mode,
        recurrence: s.recurrence,
        cancelled_occurrences: s.cancelled_occurrences,
        cancelled: s.cancelled,
        next_occurrence: next,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
        revision: m.revision,
    }
}
