//! Double-booking detection: a room terminal cannot sit in two overlapping occurrences.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::recurrence::Series;
use super::{occurrences, MeetingSpec, Occurrence};

/// One terminal booked twice: the existing meeting it is already in, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    /// The existing meeting.
    pub meeting_id: String,
    /// Its title, to name it to the scheduler.
    pub title: String,
    /// The terminal in both.
    pub terminal_id: String,
    /// Start of the existing meeting's occurrence that overlaps.
    #[schema(value_type = String, format = DateTime)]
    pub occurrence_start_utc: DateTime<Utc>,
    /// Start of the candidate's occurrence that overlaps it.
    #[schema(value_type = String, format = DateTime)]
    pub candidate_start_utc: DateTime<Utc>,
}

/// Every (terminal, occurrence) of `existing` meetings that would overlap `candidate`.
///
/// `existing` holds `(meeting id, title, spec)`. Overlap is of half-open intervals: one
/// occurrence ending exactly when another starts is not a conflict. Cancelled meetings and
/// cancelled occurrences never conflict, and the meeting `candidate_id` names (the one
/// being edited) is skipped. Each existing meeting is expanded only over the span the
/// candidate covers, and only if it shares a terminal with it. The result is sorted by
/// time, then meeting, then terminal.
pub fn conflicts(
    candidate: &MeetingSpec,
    candidate_id: Option<&str>,
    existing: &[(String, String, MeetingSpec)],
) -> Vec<Conflict> {
    if candidate.cancelled {
        return Vec::new();
    }
    let span_start = candidate.start_utc;
    let span_end = Series::new(candidate).last_end();
    // Validated specs expand to at most MAX_OCCURRENCES, so this stays small.
    let mine = occurrences(candidate, span_start, span_end);
    let roster: HashSet<&str> = candidate.roster.iter().map(String::as_str).collect();

    let mut found = Vec::new();
    for (id, title, other) in existing {
        if other.cancelled || candidate_id == Some(id.as_str()) {
            continue;
        }
        let shared: Vec<&String> = other
            .roster
            .iter()
            .filter(|t| roster.contains(t.as_str()))
            .collect();
        if shared.is_empty() || other.start_utc >= span_end {
            continue;
        }
        let theirs = occurrences(other, span_start, span_end);
        for (my, their) in overlapping_pairs(&mine, &theirs) {
            found.extend(shared.iter().map(|terminal| Conflict {
                meeting_id: id.clone(),
                title: title.clone(),
                terminal_id: (*terminal).clone(),
                occurrence_start_utc: their.start_utc,
                candidate_start_utc: my.start_utc,
            }));
        }
    }
    found.sort_by(|a, b| {
        (
            a.occurrence_start_utc,
            &a.meeting_id,
            &a.terminal_id,
            a.candidate_start_utc,
        )
            .cmp(&(
                b.occurrence_start_utc,
                &b.meeting_id,
                &b.terminal_id,
                b.candidate_start_utc,
            ))
    });
    found
}

/// Pairs of overlapping occurrences from two lists, each sorted and free of
/// self-overlap (a meeting's occurrences never overlap each other: a sitting lasts at
/// most a day and they fall on different days). Linear in the two lengths.
fn overlapping_pairs<'a>(
    a: &'a [Occurrence],
    b: &'a [Occurrence],
) -> Vec<(&'a Occurrence, &'a Occurrence)> {
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::new();
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        if x.start_utc < y.end_utc && y.start_utc < x.end_utc {
            pairs.push((x, y));
        }
        // Drop whichever ends first: it cannot overlap anything later in the other list.
        if x.end_utc <= y.end_utc {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::fixtures::{daily, date, single, utc, weekly};
    use crate::schedule::Weekday::{Fri, Mon, Wed};

    fn named(specs: Vec<(&str, MeetingSpec)>) -> Vec<(String, String, MeetingSpec)> {
        specs
            .into_iter()
            .map(|(id, s)| (id.to_string(), format!("Họp {id}"), s))
            .collect()
    }

    fn summary(c: &[Conflict]) -> Vec<(String, String, String)> {
        c.iter()
            .map(|c| {
                (
                    c.meeting_id.clone(),
                    c.terminal_id.clone(),
                    c.occurrence_start_utc.to_rfc3339(),
                )
            })
            .collect()
    }

    #[test]
    fn single_meetings_overlap_only_when_sharing_a_terminal_and_time() {
        let existing = named(vec![
            (
                "m1",
                single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a", "b"]),
            ),
            (
                "m2",
                single("2025-03-03T02:00:00Z", "2025-03-03T04:00:00Z", &["c"]),
            ),
            (
                "m3",
                single("2025-03-03T03:00:00Z", "2025-03-03T04:00:00Z", &["b"]),
            ),
        ]);
        let candidate = single("2025-03-03T02:30:00Z", "2025-03-03T03:00:00Z", &["b", "d"]);
        let c = conflicts(&candidate, None, &existing);
        // m2 shares no terminal; m3 starts exactly when the candidate ends.
        assert_eq!(
            summary(&c),
            [("m1".into(), "b".into(), "2025-03-03T01:00:00+00:00".into())]
        );
        assert_eq!(c[0].title, "Họp m1");
        assert_eq!(c[0].candidate_start_utc, candidate.start_utc);
    }

    #[test]
    fn touching_meetings_do_not_conflict() {
        let existing = named(vec![(
            "m1",
            single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]),
        )]);
        let before = single("2025-03-02T23:00:00Z", "2025-03-03T01:00:00Z", &["a"]);
        let after = single("2025-03-03T03:00:00Z", "2025-03-03T05:00:00Z", &["a"]);
        assert!(conflicts(&before, None, &existing).is_empty());
        assert!(conflicts(&after, None, &existing).is_empty());
    }

    #[test]
    fn weekly_series_against_a_one_off() {
        let existing = named(vec![(
            "weekly",
            weekly(
                "2025-03-03T01:00:00Z",
                "2025-03-03T03:00:00Z",
                &["a", "b", "c"],
                &[Mon],
                "2025-12-29",
            ),
        )]);
        // A one-off on Monday 17 March at 09:00 local, with two of the same rooms.
        let candidate = single(
            "2025-03-17T02:00:00Z",
            "2025-03-17T04:00:00Z",
            &["c", "a", "z"],
        );
        let c = conflicts(&candidate, None, &existing);
        assert_eq!(
            summary(&c),
            [
                (
                    "weekly".into(),
                    "a".into(),
                    "2025-03-17T01:00:00+00:00".into()
                ),
                (
                    "weekly".into(),
                    "c".into(),
                    "2025-03-17T01:00:00+00:00".into()
                ),
            ]
        );
        // The same one-off on a Tuesday is free.
        let tuesday = single("2025-03-18T02:00:00Z", "2025-03-18T04:00:00Z", &["a"]);
        assert!(conflicts(&tuesday, None, &existing).is_empty());
    }

    #[test]
    fn one_off_against_a_series_and_cancelled_occurrences() {
        let existing = named(vec![(
            "once",
            single("2025-03-19T01:30:00Z", "2025-03-19T02:00:00Z", &["x"]),
        )]);
        let mut candidate = weekly(
            "2025-03-03T01:00:00Z",
            "2025-03-03T03:00:00Z",
            &["x"],
            &[Mon, Wed],
            "2025-03-31",
        );
        let c = conflicts(&candidate, None, &existing);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].candidate_start_utc, utc("2025-03-19T01:00:00Z"));
        // Cancelling that one sitting of the series clears the conflict.
        candidate.cancelled_occurrences = vec![date("2025-03-19")];
        assert!(conflicts(&candidate, None, &existing).is_empty());
    }

    #[test]
    fn series_against_series() {
        let existing = named(vec![
            // Monday/Wednesday/Friday 08:00–10:00 local through March.
            (
                "mwf",
                weekly(
                    "2025-03-03T01:00:00Z",
                    "2025-03-03T03:00:00Z",
                    &["a"],
                    &[Mon, Wed, Fri],
                    "2025-03-31",
                ),
            ),
            // Every day 14:00–15:00 local: never overlaps a morning meeting.
            (
                "pm",
                daily(
                    "2025-03-01T07:00:00Z",
                    "2025-03-01T08:00:00Z",
                    &["a"],
                    1,
                    "2025-03-31",
                ),
            ),
        ]);
        // Every other day 09:30–10:30 local from 1 March to 10 March.
        let candidate = daily(
            "2025-03-01T02:30:00Z",
            "2025-03-01T03:30:00Z",
            &["a"],
            2,
            "2025-03-10",
        );
        let c = conflicts(&candidate, None, &existing);
        // Candidate days 1,3,5,7,9; MWF days 3,5,7,10 → 3, 5, 7 collide.
        assert_eq!(
            summary(&c),
            [
                ("mwf".into(), "a".into(), "2025-03-03T01:00:00+00:00".into()),
                ("mwf".into(), "a".into(), "2025-03-05T01:00:00+00:00".into()),
                ("mwf".into(), "a".into(), "2025-03-07T01:00:00+00:00".into()),
            ]
        );
    }

    #[test]
    fn editing_skips_itself_and_cancelled_meetings_never_conflict() {
        let mut cancelled = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
        cancelled.cancelled = true;
        let existing = named(vec![
            (
                "me",
                single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]),
            ),
            ("off", cancelled),
        ]);
        // Moving "me" by half an hour overlaps only its old self.
        let moved = single("2025-03-03T01:30:00Z", "2025-03-03T03:30:00Z", &["a"]);
        assert!(conflicts(&moved, Some("me"), &existing).is_empty());
        assert_eq!(summary(&conflicts(&moved, None, &existing)).len(), 1);
        assert_eq!(
            conflicts(&moved, Some("other"), &existing)[0].meeting_id,
            "me"
        );
        // A cancelled candidate books nothing.
        let mut off = moved.clone();
        off.cancelled = true;
        assert!(conflicts(&off, None, &existing).is_empty());
    }

    #[test]
    fn a_province_year_is_checked_quickly() {
        // 78 rooms, each in a weekly series for a year at a different hour of the week,
        // plus a candidate with every room in a weekly series that hits one of them.
        let rooms: Vec<String> = (0..78).map(|i| format!("t{i:02}")).collect();
        let mut existing = Vec::new();
        for (i, room) in rooms.iter().enumerate() {
            let start = utc("2025-01-06T00:00:00Z") + chrono::TimeDelta::hours(i as i64 * 2);
            let mut s = single(
                "2025-01-06T00:00:00Z",
                "2025-01-06T01:00:00Z",
                &[room.as_str()],
            );
            s.start_utc = start;
            s.end_utc = start + chrono::TimeDelta::hours(1);
            let day = crate::schedule::to_local(start).date_naive();
            s.recurrence = Some(crate::schedule::Recurrence {
                freq: crate::schedule::Frequency::Weekly,
                interval: 1,
                weekdays: vec![],
                until: day + chrono::Days::new(364),
            });
            s.validate().unwrap();
            existing.push((format!("m{i}"), format!("Họp {i}"), s));
        }
        let roster: Vec<&str> = rooms.iter().map(String::as_str).collect();
        let candidate = weekly(
            "2025-01-06T00:30:00Z",
            "2025-01-06T01:30:00Z",
            &roster,
            &[Mon],
            "2025-12-29",
        );
        candidate.validate().unwrap();
        let started = std::time::Instant::now();
        let c = conflicts(&candidate, None, &existing);
        let took = started.elapsed();
        // Only room t00 (Monday 07:00 local) collides, every week of the year.
        assert_eq!(c.len(), 52);
        assert!(c
            .iter()
            .all(|c| c.terminal_id == "t00" && c.meeting_id == "m0"));
        assert!(
            took < std::time::Duration::from_millis(500),
            "took {took:?}"
        );
    }
}
