//! Test builders for meetings, shared by the scheduling tests.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Frequency, MeetingMode, MeetingSpec, Recurrence, Weekday};

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A one-off meeting between two UTC instants with the given rooms (the first chairs).
pub fn single(start: &str, end: &str, roster: &[&str]) -> MeetingSpec {
    MeetingSpec {
        title: "Họp giao ban".into(),
        agenda: String::new(),
        start_utc: utc(start),
        end_utc: utc(end),
        host_terminal_id: roster[0].to_string(),
        roster: roster.iter().map(|t| t.to_string()).collect(),
        mode: MeetingMode::Directive,
        recurrence: None,
        cancelled_occurrences: Vec::new(),
        cancelled: false,
    }
}

/// The same meeting repeating weekly on `days` until `until` (a local date).
pub fn weekly(
    start: &str,
    end: &str,
    roster: &[&str],
    days: &[Weekday],
    until: &str,
) -> MeetingSpec {
    repeating(start, end, roster, Frequency::Weekly, 1, days, until)
}

/// The same meeting repeating every `interval` days until `until` (a local date).
pub fn daily(start: &str, end: &str, roster: &[&str], interval: u32, until: &str) -> MeetingSpec {
    repeating(start, end, roster, Frequency::Daily, interval, &[], until)
}

pub fn repeating(
    start: &str,
    end: &str,
    roster: &[&str],
    freq: Frequency,
    interval: u32,
    days: &[Weekday],
    until: &str,
) -> MeetingSpec {
    MeetingSpec {
        recurrence: Some(Recurrence {
            freq,
            interval,
            weekdays: days.to_vec(),
            until: date(until),
        }),
        ..single(start, end, roster)
    }
}
