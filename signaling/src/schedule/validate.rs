//! Validation of a meeting as entered: each rule names the JSON field it concerns.

use std::collections::HashSet;

use chrono::{Datelike, TimeDelta};

use super::recurrence::Series;
use super::{local_naive, Frequency, MeetingSpec, ScheduleError};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest agenda, in characters.
pub const MAX_AGENDA_CHARS: usize = 4000;
/// Longest single occurrence, in hours.
pub const MAX_DURATION_HOURS: i64 = 24;
/// Most terminals on one roster.
pub const MAX_ROSTER: usize = 200;
/// Longest terminal id, in characters.
pub const MAX_TERMINAL_ID_CHARS: usize = 200;
/// Most occurrences a recurring meeting may expand to (cancelled ones included).
pub const MAX_OCCURRENCES: usize = 400;
/// Largest recurrence interval (days or weeks).
pub const MAX_INTERVAL: u32 = 366;
/// Earliest and latest years a meeting may fall in; keeps date arithmetic far from
/// chrono's limits whatever the input.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl MeetingSpec {
    /// Checks every rule and returns the first one broken, naming its field.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        self.validate_text()?;
        self.validate_times()?;
        self.validate_roster()?;
        self.validate_recurrence()
    }

    fn validate_text(&self) -> Result<(), ScheduleError> {
        if self.title.trim().is_empty() {
            return Err(ScheduleError::invalid("title", "must not be empty"));
        }
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(ScheduleError::invalid(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        if self.title.chars().any(char::is_control) {
            return Err(ScheduleError::invalid("title", "must be a single line"));
        }
        if self.agenda.chars().count() > MAX_AGENDA_CHARS {
            return Err(ScheduleError::invalid(
                "agenda",
                format!("must be at most {MAX_AGENDA_CHARS} characters"),
            ));
        }
        Ok(())
    }

    fn validate_times(&self) -> Result<(), ScheduleError> {
        if !YEARS.contains(&self.start_utc.year()) {
            return Err(ScheduleError::invalid(
                "start_utc",
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            ));
        }
        if self.end_utc <= self.start_utc {
            return Err(ScheduleError::invalid("end_utc", "must be after start_utc"));
        }
        if self.end_utc - self.start_utc > TimeDelta::hours(MAX_DURATION_HOURS) {
            return Err(ScheduleError::invalid(
                "end_utc",
                format!("a meeting lasts at most {MAX_DURATION_HOURS} hours"),
            ));
        }
        Ok(())
    }

    fn validate_roster(&self) -> Result<(), ScheduleError> {
        if self.roster.is_empty() {
            return Err(ScheduleError::invalid(
                "roster",
                "must list at least one terminal",
            ));
        }
        if self.roster.len() > MAX_ROSTER {
            return Err(ScheduleError::invalid(
                "roster",
                format!("must list at most {MAX_ROSTER} terminals"),
            ));
        }
        let mut seen = HashSet::with_capacity(self.roster.len());
        for (i, id) in self.roster.iter().enumerate() {
            if id.trim().is_empty() || id.chars().count() > MAX_TERMINAL_ID_CHARS {
                return Err(ScheduleError::invalid(
                    format!("roster[{i}]"),
                    format!("must be a terminal id of 1 to {MAX_TERMINAL_ID_CHARS} characters"),
                ));
            }
            if !seen.insert(id.as_str()) {
                return Err(ScheduleError::invalid(
                    format!("roster[{i}]"),
                    format!("terminal {id} is listed twice"),
                ));
            }
        }
        if !seen.contains(self.host_terminal_id.as_str()) {
            return Err(ScheduleError::invalid(
                "host_terminal_id",
                "the host terminal must be in the roster",
            ));
        }
        Ok(())
    }

    fn validate_recurrence(&self) -> Result<(), ScheduleError> {
        let first_date = local_naive(self.start_utc).date();
        if let Some(rec) = &self.recurrence {
            if !(1..=MAX_INTERVAL).contains(&rec.interval) {
                return Err(ScheduleError::invalid(
                    "recurrence.interval",
                    format!("must be between 1 and {MAX_INTERVAL}"),
                ));
            }
            match rec.freq {
                Frequency::Daily if !rec.weekdays.is_empty() => {
                    return Err(ScheduleError::invalid(
                        "recurrence.weekdays",
                        "only a weekly recurrence has weekdays",
                    ));
                }
                Frequency::Weekly if !rec.weekdays.is_empty() => {
                    let start_day = first_date.weekday();
                    if !rec
                        .weekdays
                        .iter()
                        .any(|d| chrono::Weekday::from(*d) == start_day)
                    {
                        return Err(ScheduleError::invalid(
                            "recurrence.weekdays",
                            format!("must include the weekday of the first meeting ({start_day})"),
                        ));
                    }
                }
                _ => {}
            }
            if rec.until < first_date {
                return Err(ScheduleError::invalid(
                    "recurrence.until",
                    format!("must not be before the first meeting's date ({first_date})"),
                ));
            }
            if !YEARS.contains(&rec.until.year()) {
                return Err(ScheduleError::invalid(
                    "recurrence.until",
                    format!("must be between {} and {}", YEARS.start(), YEARS.end()),
                ));
            }
        }
        let series = Series::new(self);
        if series.count_up_to(MAX_OCCURRENCES + 1) > MAX_OCCURRENCES {
            return Err(ScheduleError::invalid(
                "recurrence.until",
                format!("the meeting would repeat more than {MAX_OCCURRENCES} times"),
            ));
        }
        for (i, date) in self.cancelled_occurrences.iter().enumerate() {
            let field = || format!("cancelled_occurrences[{i}]");
            if !series.contains(*date) {
                return Err(ScheduleError::invalid(
                    field(),
                    format!("no occurrence falls on {date}"),
                ));
            }
            if self.cancelled_occurrences[..i].contains(date) {
                return Err(ScheduleError::invalid(
                    field(),
                    format!("{date} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::schedule::fixtures::{daily, date, single, utc, weekly};
    use crate::schedule::Weekday::{Mon, Tue, Wed};
    use crate::schedule::{Frequency, MeetingSpec, ScheduleError};

    fn base() -> MeetingSpec {
        weekly(
            "2025-03-03T01:00:00Z",
            "2025-03-03T03:00:00Z",
            &["host", "xa-1", "xa-2"],
            &[Mon, Wed],
            "2025-06-30",
        )
    }

    fn field_of(spec: &MeetingSpec) -> String {
        match spec.validate() {
            Err(ScheduleError::Invalid { field, .. }) => field,
            Ok(()) => panic!("accepted: {spec:?}"),
        }
    }

    fn broken(f: impl FnOnce(&mut MeetingSpec)) -> String {
        let mut spec = base();
        f(&mut spec);
        field_of(&spec)
    }

    #[test]
    fn a_sound_meeting_passes() {
        base().validate().unwrap();
        single("2025-03-03T01:00:00Z", "2025-03-04T01:00:00Z", &["a"])
            .validate()
            .unwrap();
        let mut s = base();
        s.cancelled_occurrences = vec![date("2025-03-05"), date("2025-03-10")];
        s.title = "Ư".repeat(200);
        s.agenda = "Nội dung\n".repeat(400);
        s.validate().unwrap();
    }

    #[test]
    fn text_rules_name_their_field() {
        assert_eq!(broken(|s| s.title = "   ".into()), "title");
        assert_eq!(broken(|s| s.title = "Ư".repeat(201)), "title");
        assert_eq!(broken(|s| s.title = "Họp\nbáo".into()), "title");
        assert_eq!(broken(|s| s.agenda = "a".repeat(4001)), "agenda");
    }

    #[test]
    fn time_rules_name_their_field() {
        assert_eq!(broken(|s| s.end_utc = s.start_utc), "end_utc");
        assert_eq!(
            broken(|s| s.end_utc = utc("2025-03-02T01:00:00Z")),
            "end_utc"
        );
        assert_eq!(
            broken(|s| s.end_utc = utc("2025-03-04T01:00:01Z")),
            "end_utc"
        );
        assert_eq!(
            broken(|s| s.start_utc = utc("1970-01-01T00:00:00Z")),
            "start_utc"
        );
    }

    #[test]
    fn roster_rules_name_their_field() {
        assert_eq!(broken(|s| s.roster.clear()), "roster");
        assert_eq!(
            broken(|s| s.roster = (0..201).map(|i| format!("t{i}")).collect()),
            "roster"
        );
        assert_eq!(broken(|s| s.roster.push("xa-1".into())), "roster[3]");
        assert_eq!(broken(|s| s.roster[1] = "".into()), "roster[1]");
        assert_eq!(
            broken(|s| s.host_terminal_id = "elsewhere".into()),
            "host_terminal_id"
        );
        let mut full = base();
        full.roster = (0..200).map(|i| format!("t{i}")).collect();
        full.host_terminal_id = "t0".into();
        full.validate().unwrap();
    }

    #[test]
    fn recurrence_rules_name_their_field() {
        let rec = |s: &mut MeetingSpec| s.recurrence.as_mut().unwrap().clone();
        assert_eq!(
            broken(|s| s.recurrence.as_mut().unwrap().interval = 0),
            "recurrence.interval"
        );
        assert_eq!(
            broken(|s| s.recurrence.as_mut().unwrap().weekdays = vec![Tue]),
            "recurrence.weekdays"
        );
        assert_eq!(
            broken(|s| {
                let mut r = rec(s);
                r.freq = Frequency::Daily;
                s.recurrence = Some(r);
            }),
            "recurrence.weekdays"
        );
        // The start is 08:00 on 3 March in Hà Nội: until 2 March is too early, 3 March is fine.
        assert_eq!(
            broken(|s| s.recurrence.as_mut().unwrap().until = date("2025-03-02")),
            "recurrence.until"
        );
        let mut same_day = base();
        same_day.recurrence.as_mut().unwrap().until = date("2025-03-03");
        same_day.validate().unwrap();
        // Twice a week for five years is more than 400 sittings.
        assert_eq!(
            broken(|s| s.recurrence.as_mut().unwrap().until = date("2030-03-01")),
            "recurrence.until"
        );
        assert_eq!(
            broken(|s| s.recurrence.as_mut().unwrap().until = date("9999-12-31")),
            "recurrence.until"
        );
        let ok = daily(
            "2025-01-01T01:00:00Z",
            "2025-01-01T02:00:00Z",
            &["a"],
            1,
            "2026-02-04",
        );
        ok.validate().unwrap(); // exactly 400 days
        let too_many = daily(
            "2025-01-01T01:00:00Z",
            "2025-01-01T02:00:00Z",
            &["a"],
            1,
            "2026-02-05",
        );
        assert_eq!(field_of(&too_many), "recurrence.until");
    }

    #[test]
    fn cancelled_dates_must_be_occurrences_listed_once() {
        assert_eq!(
            broken(|s| s.cancelled_occurrences = vec![date("2025-03-04")]),
            "cancelled_occurrences[0]"
        );
        assert_eq!(
            broken(|s| s.cancelled_occurrences = vec![date("2025-03-05"), date("2025-03-05")]),
            "cancelled_occurrences[1]"
        );
        assert_eq!(
            broken(|s| s.cancelled_occurrences = vec![date("2025-07-02")]),
            "cancelled_occurrences[0]"
        );
    }

    #[test]
    fn error_message_reads_well() {
        let mut s = base();
        s.host_terminal_id = "x".into();
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "host_terminal_id: the host terminal must be in the roster"
        );
    }
}
