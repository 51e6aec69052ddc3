//! When a room may join an occurrence (the technician's test window before the start
//! and a grace period after the end), and where a meeting stands at a given instant.

use chrono::{DateTime, TimeDelta, Utc};

use super::recurrence::Series;
use super::{next_occurrence, MeetingSpec, MeetingStatus, Occurrence};

/// Minutes before the start a room may join: the technician arrives an hour early to
/// test camera, microphone and network.
pub const DEFAULT_PRE_MINUTES: u32 = 60;
/// Minutes after the end a room may still (re)join, for a meeting that runs over.
pub const DEFAULT_GRACE_MINUTES: u32 = 15;
/// Longest pre-meeting window or grace period a server may be configured with, in
/// minutes (one day).
pub const MAX_WINDOW_MINUTES: u32 = 24 * 60;

/// The join-window policy: how long before an occurrence's start, and after its end,
/// its rooms may join (and get a join token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    /// Minutes before the start (the technician's test).
    pub before_minutes: u32,
    /// Minutes after the end (a meeting that runs over).
    pub grace_minutes: u32,
}

impl Default for JoinWindow {
    fn default() -> Self {
        JoinWindow {
            before_minutes: DEFAULT_PRE_MINUTES,
            grace_minutes: DEFAULT_GRACE_MINUTES,
        }
    }
}

impl JoinWindow {
    /// [`join_window`] under this policy.
    pub fn of(&self, occurrence: &Occurrence) -> (DateTime<Utc>, DateTime<Utc>) {
        join_window(occurrence, self.before_minutes, self.grace_minutes)
    }

    /// [`joinable_occurrence`] under this policy.
    pub fn joinable(&self, spec: &MeetingSpec, now: DateTime<Utc>) -> Option<Occurrence> {
        joinable_occurrence(spec, now, self.before_minutes, self.grace_minutes)
    }
}

/// The half-open interval `[open, close)` in which rooms may join `occurrence`:
/// `pre_minutes` before its start to `grace_minutes` after its end.
pub fn join_window(
    occurrence: &Occurrence,
    pre_minutes: u32,
    grace_minutes: u32,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let open = occurrence
        .start_utc
        .checked_sub_signed(TimeDelta::minutes(i64::from(pre_minutes)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let close = occurrence
        .end_utc
        .checked_add_signed(TimeDelta::minutes(i64::from(grace_minutes)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (open, close)
}

/// The occurrence whose join window contains `now` (the earliest if windows of two
/// occurrences overlap), or `None`, also for a cancelled meeting or occurrence.
pub fn joinable_occurrence(
    spec: &MeetingSpec,
    now: DateTime<Utc>,
    pre_minutes: u32,
    grace_minutes: u32,
) -> Option<Occurrence> {
    if spec.cancelled {
        return None;
    }
    let grace = TimeDelta::minutes(i64::from(grace_minutes));
    let pre = TimeDelta::minutes(i64::from(pre_minutes));
    // Occurrences still within their grace period at `now`, in order; the first one
    // whose window has opened is the answer, and a later one cannot have opened first.
    let since = now.checked_sub_signed(grace)?;
    Series::new(spec)
        .from(since)
        .skip_while(|o| o.end_utc <= since)
        .take_while(|o| {
            o.start_utc
                .checked_sub_signed(pre)
                .is_some_and(|open| open <= now)
        })
        .find(|o| {
            let (open, close) = join_window(o, pre_minutes, grace_minutes);
            open <= now && now < close
        })
}

/// Where the meeting stands at `now`: `cancelled` if called off; otherwise `live` during
/// an occurrence, `scheduled` before one (for a series, between occurrences too), and
/// `ended` after the last. A series whose every occurrence was cancelled is `cancelled`.
pub fn status_at(spec: &MeetingSpec, now: DateTime<Utc>) -> MeetingStatus {
    if spec.cancelled {
        return MeetingStatus::Cancelled;
    }
    match next_occurrence(spec, now) {
        Some(o) if o.start_utc <= now => MeetingStatus::Live,
        Some(_) => MeetingStatus::Scheduled,
        None if has_any_occurrence(spec) => MeetingStatus::Ended,
        None => MeetingStatus::Cancelled,
    }
}

fn has_any_occurrence(spec: &MeetingSpec) -> bool {
    next_occurrence(spec, spec.start_utc).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::fixtures::{daily, date, single, utc, weekly};
    use crate::schedule::Weekday::Mon;

    const PRE: u32 = DEFAULT_PRE_MINUTES;
    const GRACE: u32 = DEFAULT_GRACE_MINUTES;

    #[test]
    fn window_opens_an_hour_early_and_closes_fifteen_minutes_late() {
        let spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
        let occ = next_occurrence(&spec, spec.start_utc).unwrap();
        assert_eq!(
            join_window(&occ, PRE, GRACE),
            (utc("2025-03-03T00:00:00Z"), utc("2025-03-03T03:15:00Z"))
        );
        assert_eq!(join_window(&occ, 0, 0), (spec.start_utc, spec.end_utc));
    }

    #[test]
    fn joinable_only_inside_the_window() {
        let spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
        let at = |t| joinable_occurrence(&spec, utc(t), PRE, GRACE).map(|o| o.index);
        assert_eq!(at("2025-03-02T23:59:59Z"), None);
        assert_eq!(at("2025-03-03T00:00:00Z"), Some(0));
        assert_eq!(at("2025-03-03T02:00:00Z"), Some(0));
        assert_eq!(at("2025-03-03T03:14:59Z"), Some(0));
        assert_eq!(at("2025-03-03T03:15:00Z"), None);
        // A custom policy: 30 minutes before, no grace.
        assert_eq!(
            joinable_occurrence(&spec, utc("2025-03-03T00:29:00Z"), 30, 0),
            None
        );
        assert!(joinable_occurrence(&spec, utc("2025-03-03T00:30:00Z"), 30, 0).is_some());
        assert_eq!(
            joinable_occurrence(&spec, utc("2025-03-03T03:00:00Z"), 30, 0),
            None
        );
    }

    #[test]
    fn series_picks_the_right_sitting_and_the_earliest_when_windows_overlap() {
        let spec = weekly(
            "2025-03-03T01:00:00Z",
            "2025-03-03T03:00:00Z",
            &["a"],
            &[Mon],
            "2025-03-31",
        );
        let at = |t| joinable_occurrence(&spec, utc(t), PRE, GRACE).map(|o| o.index);
        assert_eq!(at("2025-03-17T00:30:00Z"), Some(2));
        assert_eq!(at("2025-03-12T00:30:00Z"), None);
        assert_eq!(at("2025-04-07T00:30:00Z"), None); // after `until`

        // A daily meeting lasting 23 h 30 min: its 15-minute grace overlaps
        // the next sitting's pre-window, and the earlier sitting wins.
        let long = daily(
            "2025-03-01T01:00:00Z",
            "2025-03-02T00:30:00Z",
            &["a"],
            1,
            "2025-03-05",
        );
        let o = joinable_occurrence(&long, utc("2025-03-02T00:40:00Z"), PRE, GRACE).unwrap();
        assert_eq!(o.index, 0);
        let o = joinable_occurrence(&long, utc("2025-03-02T00:46:00Z"), PRE, GRACE).unwrap();
        assert_eq!(o.index, 1);
    }

    #[test]
    fn cancelled_meetings_and_sittings_are_never_joinable() {
        let mut spec = weekly(
            "2025-03-03T01:00:00Z",
            "2025-03-03T03:00:00Z",
            &["a"],
            &[Mon],
            "2025-03-31",
        );
        spec.cancelled_occurrences = vec![date("2025-03-10")];
        assert_eq!(
            joinable_occurrence(&spec, utc("2025-03-10T01:30:00Z"), PRE, GRACE),
            None
        );
        assert!(joinable_occurrence(&spec, utc("2025-03-17T01:30:00Z"), PRE, GRACE).is_some());
        spec.cancelled = true;
        assert_eq!(
            joinable_occurrence(&spec, utc("2025-03-17T01:30:00Z"), PRE, GRACE),
            None
        );
    }

    #[test]
    fn status_follows_the_clock() {
        let spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
        let at = |t| status_at(&spec, utc(t));
        assert_eq!(at("2025-03-03T00:59:59Z"), MeetingStatus::Scheduled);
        assert_eq!(at("2025-03-03T01:00:00Z"), MeetingStatus::Live);
        assert_eq!(at("2025-03-03T02:59:59Z"), MeetingStatus::Live);
        assert_eq!(at("2025-03-03T03:00:00Z"), MeetingStatus::Ended);
        let mut off = spec.clone();
        off.cancelled = true;
        assert_eq!(
            status_at(&off, utc("2025-03-03T01:30:00Z")),
            MeetingStatus::Cancelled
        );
        assert_eq!(
            status_at(&off, utc("2025-04-01T00:00:00Z")),
            MeetingStatus::Cancelled
        );
    }

    #[test]
    fn series_status_is_that_of_the_current_or_next_sitting() {
        let mut spec = weekly(
            "2025-03-03T01:00:00Z",
            "2025-03-03T03:00:00Z",
            &["a"],
            &[Mon],
            "2025-03-17",
        );
        let at = |s: &MeetingSpec, t| status_at(s, utc(t));
        assert_eq!(at(&spec, "2025-03-10T02:00:00Z"), MeetingStatus::Live);
        assert_eq!(at(&spec, "2025-03-12T00:00:00Z"), MeetingStatus::Scheduled);
        assert_eq!(at(&spec, "2025-03-17T03:00:00Z"), MeetingStatus::Ended);
        // With the last sitting cancelled, the series ends after the second one.
        spec.cancelled_occurrences = vec![date("2025-03-17")];
        assert_eq!(at(&spec, "2025-03-12T00:00:00Z"), MeetingStatus::Ended);
        // With every sitting cancelled, nothing is left to have ended.
        spec.cancelled_occurrences =
            vec![date("2025-03-03"), date("2025-03-10"), date("2025-03-17")];
        assert_eq!(at(&spec, "2025-03-01T00:00:00Z"), MeetingStatus::Cancelled);
    }
}
