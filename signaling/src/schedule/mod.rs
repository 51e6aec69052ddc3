//! Meeting scheduling as pure logic: the meeting types, validation, recurrence in the
//! province's time zone, double-booking detection, join windows and iCalendar export.
//!
//! Nothing here touches a database, the network or the clock: "now" is always an argument.
//! Times are stored and compared in UTC; the calendar (weekdays, `until`, cancelled dates,
//! the wall-clock start) is reckoned in [`PROVINCE_TZ`], where officials live. Vietnam has
//! kept UTC+07:00 without daylight saving since 1975, so a meeting at 08:00 local stays at
//! 08:00 local (01:00 UTC) all year; the code still converts through the zone database
//! rather than hard-coding the offset.

mod conflict;
mod ics;
mod recurrence;
mod validate;
mod window;

#[cfg(test)]
mod fixtures;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use conflict::{conflicts, Conflict};
pub use ics::{meeting_ics, terminal_schedule_ics, IcsMeeting};
pub use recurrence::{next_occurrence, occurrences};
pub use validate::{
    MAX_AGENDA_CHARS, MAX_DURATION_HOURS, MAX_INTERVAL, MAX_OCCURRENCES, MAX_ROSTER,
    MAX_TERMINAL_ID_CHARS, MAX_TITLE_CHARS,
};
pub use window::{
    join_window, joinable_occurrence, status_at, JoinWindow, DEFAULT_GRACE_MINUTES,
    DEFAULT_PRE_MINUTES, MAX_WINDOW_MINUTES,
};

/// The province's time zone: every local date and wall-clock time means this zone.
pub const PROVINCE_TZ: Tz = Tz::Asia__Ho_Chi_Minh;

/// How the chair runs the meeting; decides who may speak without being given the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingMode {
    /// Only the chair speaks; other rooms ask for the floor.
    Directive,
    /// The chair gives the floor to one or a few rooms at a time.
    ControlledDiscussion,
    /// Every room may speak.
    Open,
}

impl MeetingMode {
    /// The Vietnamese name shown to officials.
    pub fn label_vi(self) -> &'static str {
        match self {
            MeetingMode::Directive => "Chỉ đạo, điều hành",
            MeetingMode::ControlledDiscussion => "Thảo luận có điều phối",
            MeetingMode::Open => "Thảo luận mở",
        }
    }
}

/// Where a meeting (or, when recurring, its current or next occurrence) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Not started yet.
    Scheduled,
    /// Under way.
    Live,
    /// The last occurrence is over.
    Ended,
    /// Called off, whatever the time.
    Cancelled,
}

/// How often a meeting repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every `interval` days.
    Daily,
    /// On the chosen weekdays of every `interval`-th week (weeks start on Monday).
    Weekly,
}

/// A day of the week, as scheduled in the province's calendar.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    /// Thứ Hai.
    Mon,
    /// Thứ Ba.
    Tue,
    /// Thứ Tư.
    Wed,
    /// Thứ Năm.
    Thu,
    /// Thứ Sáu.
    Fri,
    /// Thứ Bảy.
    Sat,
    /// Chủ Nhật.
    Sun,
}

impl From<Weekday> for chrono::Weekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        match day {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }
}

fn default_interval() -> u32 {
    1
}

/// A repetition rule. The first occurrence is always the meeting's own start; later ones
/// keep its local wall-clock start time and its duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recurrence {
    /// Daily or weekly.
    pub freq: Frequency,
    /// Every how many days or weeks (1–366, default 1).
    #[serde(default = "default_interval")]
    pub interval: u32,
    /// Weekly only: the days it falls on. Empty means the start's weekday; otherwise it
    /// must include the start's weekday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<Weekday>,
    /// The last local date an occurrence may fall on (inclusive), e.g. `2025-12-31`.
    #[schema(value_type = String, format = Date)]
    pub until: NaiveDate,
}

/// A meeting as the scheduler enters it. Check it with `MeetingSpec::validate` before
/// storing it; the other functions here assume a valid spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingSpec {
    /// Shown on every screen and in calendars (1–200 characters, one line).
    pub title: String,
    /// The programme (up to 4000 characters).
    #[serde(default)]
    pub agenda: String,
    /// Start of the (first) occurrence.
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    /// End of the (first) occurrence; every occurrence lasts `end_utc - start_utc`.
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    /// The chair's room terminal (điểm cầu chính); must be in the roster.
    pub host_terminal_id: String,
    /// Every invited room terminal, the host included (1–200, no repeats).
    pub roster: Vec<String>,
    /// How the floor is run.
    pub mode: MeetingMode,
    /// Absent for a one-off meeting.
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// Local dates (`YYYY-MM-DD`) of single occurrences called off; at most one
    /// occurrence falls on a local date, so the date names it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub cancelled_occurrences: Vec<NaiveDate>,
    /// The whole meeting (every occurrence) is called off.
    #[serde(default)]
    pub cancelled: bool,
}

/// One concrete sitting of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Occurrence {
    /// Position in the series, from 0, counting cancelled occurrences too, so that
    /// cancelling one never renumbers the others.
    pub index: u32,
    /// When it starts.
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    /// When it ends.
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
}

/// Why a meeting cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A field breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field, as named in the JSON body (`roster[3]`, `recurrence.until`).
        field: String,
        /// What is wrong, for a person.
        message: String,
    },
}

impl ScheduleError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ScheduleError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// When the last occurrence of a (valid) meeting ends, cancelled occurrences included:
/// the end of the span a store must look at to find every meeting that can overlap.
pub fn series_end(spec: &MeetingSpec) -> DateTime<Utc> {
    recurrence::Series::new(spec).last_end()
}

/// A UTC instant as the province's clock shows it.
pub fn to_local(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&PROVINCE_TZ)
}

/// A UTC instant written the Vietnamese way in local time: `dd/mm/yyyy HH:MM`.
pub fn format_local(t: DateTime<Utc>) -> String {
    local_naive(t).format("%d/%m/%Y %H:%M").to_string()
}

/// The province's wall-clock reading of `t`. Unlike `DateTime::naive_local`, it does not
/// panic at the very ends of chrono's range (it keeps the UTC reading there).
pub(crate) fn local_naive(t: DateTime<Utc>) -> NaiveDateTime {
    let utc = t.naive_utc();
    let offset = PROVINCE_TZ.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc)
}

#[cfg(test)]
mod tests {
    use super::fixtures::utc;
    use super::*;

    #[test]
    fn local_format_is_day_month_year_in_vietnam_time() {
        assert_eq!(
            format_local(utc("2025-03-03T01:00:00Z")),
            "03/03/2025 08:00"
        );
        // 17:30 UTC is already the next morning in Hà Nội.
        assert_eq!(
            format_local(utc("2025-12-31T17:30:00Z")),
            "01/01/2026 00:30"
        );
    }

    #[test]
    fn spec_json_is_snake_case_with_defaults() {
        let json = r#"{
            "title": "Giao ban tuần",
            "start_utc": "2025-03-03T01:00:00Z",
            "end_utc": "2025-03-03T03:00:00Z",
            "host_terminal_id": "t-ubnd",
            "roster": ["t-ubnd", "t-xa1"],
            "mode": "controlled_discussion",
            "recurrence": {"freq": "weekly", "weekdays": ["mon", "wed"], "until": "2025-03-31"}
        }"#;
        let spec: MeetingSpec = serde_json::from_str(json).unwrap();
        assert_eq!(spec.mode, MeetingMode::ControlledDiscussion);
        assert_eq!(spec.agenda, "");
        assert!(!spec.cancelled);
        let rec = spec.recurrence.as_ref().unwrap();
        assert_eq!(rec.interval, 1);
        assert_eq!(rec.weekdays, vec![Weekday::Mon, Weekday::Wed]);
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["mode"], "controlled_discussion");
        assert_eq!(back["recurrence"]["freq"], "weekly");
        assert_eq!(back["recurrence"]["until"], "2025-03-31");
    }

    #[test]
    fn unknown_mode_is_refused() {
        let err = serde_json::from_str::<MeetingMode>(r#""chaotic""#).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }
}
