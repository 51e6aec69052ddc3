//! Tests of recurrence expansion in the province's calendar.

use super::*;
use crate::schedule::fixtures::{daily, date, single, utc, weekly};
use crate::schedule::Weekday::{Fri, Mon, Wed};

fn starts(occ: &[Occurrence]) -> Vec<String> {
    occ.iter().map(|o| o.start_utc.to_rfc3339()).collect()
}

#[test]
fn weekly_monday_morning_through_march_gives_five_mondays_at_one_utc() {
    // 08:00–10:00 in Hà Nội is 01:00–03:00 UTC.
    let spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["a"],
        &[Mon],
        "2025-12-31",
    );
    let march = occurrences(
        &spec,
        utc("2025-03-01T00:00:00+07:00"),
        utc("2025-04-01T00:00:00+07:00"),
    );
    assert_eq!(
        starts(&march),
        [
            "2025-03-03T01:00:00+00:00",
            "2025-03-10T01:00:00+00:00",
            "2025-03-17T01:00:00+00:00",
            "2025-03-24T01:00:00+00:00",
            "2025-03-31T01:00:00+00:00",
        ]
    );
    assert_eq!(
        march.iter().map(|o| o.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert!(march
        .iter()
        .all(|o| o.end_utc - o.start_utc == TimeDelta::hours(2)));

    // April has four Mondays; the index keeps counting from March.
    let april = occurrences(
        &spec,
        utc("2025-04-01T00:00:00+07:00"),
        utc("2025-05-01T00:00:00+07:00"),
    );
    assert_eq!(april.len(), 4);
    assert_eq!(april[0].index, 5);
    assert_eq!(april[0].start_utc, utc("2025-04-07T01:00:00Z"));
}

#[test]
fn local_start_never_shifts_over_a_year() {
    // Europe would move by an hour in March and October; Vietnam keeps +07:00.
    let spec = weekly(
        "2025-01-06T01:00:00Z",
        "2025-01-06T02:00:00Z",
        &["a"],
        &[Mon],
        "2025-12-31",
    );
    let year = occurrences(
        &spec,
        utc("2025-01-01T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    assert_eq!(year.len(), 52);
    for o in &year {
        let local = o.start_utc.with_timezone(&PROVINCE_TZ);
        assert_eq!(local.format("%a %H:%M").to_string(), "Mon 08:00", "{o:?}");
        assert_eq!(local.offset().to_string(), "+07");
    }
}

#[test]
fn weekly_on_several_days_and_every_other_week() {
    let mut spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T02:00:00Z",
        &["a"],
        &[Mon, Wed, Fri],
        "2025-03-31",
    );
    let all = occurrences(
        &spec,
        utc("2025-01-01T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    assert_eq!(all.len(), 13); // 4 full weeks of 3, then Monday 31.
    assert_eq!(all[1].start_utc, utc("2025-03-05T01:00:00Z"));
    assert_eq!(
        all.iter().map(|o| o.index).collect::<Vec<_>>(),
        (0..13).collect::<Vec<_>>()
    );

    spec.recurrence.as_mut().unwrap().interval = 2;
    let every_other = occurrences(
        &spec,
        utc("2025-01-01T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    let days: Vec<String> = every_other
        .iter()
        .map(|o| {
            o.start_utc
                .with_timezone(&PROVINCE_TZ)
                .format("%d")
                .to_string()
        })
        .collect();
    assert_eq!(days, ["03", "05", "07", "17", "19", "21", "31"]);
}

#[test]
fn weekly_starting_midweek_skips_earlier_days_of_the_first_week() {
    // Starts Wednesday 5 March; Monday 3 March is before the start.
    let spec = weekly(
        "2025-03-05T01:00:00Z",
        "2025-03-05T02:00:00Z",
        &["a"],
        &[Mon, Wed],
        "2025-03-17",
    );
    let all = occurrences(
        &spec,
        utc("2025-03-01T00:00:00Z"),
        utc("2025-04-01T00:00:00Z"),
    );
    assert_eq!(
        starts(&all),
        [
            "2025-03-05T01:00:00+00:00",
            "2025-03-10T01:00:00+00:00",
            "2025-03-12T01:00:00+00:00",
            "2025-03-17T01:00:00+00:00"
        ]
    );
    assert_eq!(
        all.iter().map(|o| o.index).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}

#[test]
fn daily_every_second_day_until_inclusive() {
    let spec = daily(
        "2025-03-01T07:30:00Z",
        "2025-03-01T08:30:00Z",
        &["a"],
        2,
        "2025-03-09",
    );
    let all = occurrences(
        &spec,
        utc("2025-02-01T00:00:00Z"),
        utc("2025-04-01T00:00:00Z"),
    );
    let local: Vec<String> = all
        .iter()
        .map(|o| super::super::format_local(o.start_utc))
        .collect();
    assert_eq!(
        local,
        [
            "01/03/2025 14:30",
            "03/03/2025 14:30",
            "05/03/2025 14:30",
            "07/03/2025 14:30",
            "09/03/2025 14:30"
        ]
    );
    // A window in the middle starts counting at the right index.
    let mid = occurrences(
        &spec,
        utc("2025-03-04T00:00:00Z"),
        utc("2025-03-06T00:00:00Z"),
    );
    assert_eq!(mid.iter().map(|o| o.index).collect::<Vec<_>>(), [2]);
}

#[test]
fn until_is_a_local_date() {
    // 23:00 local on the until date is 16:00 UTC the same day; 06:00 local on the
    // until date is still the previous day in UTC. Both are included.
    let late = daily(
        "2025-03-01T16:00:00Z",
        "2025-03-01T16:30:00Z",
        &["a"],
        1,
        "2025-03-03",
    );
    let early = daily(
        "2025-02-28T23:00:00Z",
        "2025-02-28T23:30:00Z",
        &["a"],
        1,
        "2025-03-03",
    );
    let window = (utc("2025-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"));
    assert_eq!(occurrences(&late, window.0, window.1).len(), 3);
    let early = occurrences(&early, window.0, window.1);
    assert_eq!(early.len(), 3);
    assert_eq!(early[2].start_utc, utc("2025-03-02T23:00:00Z"));
}

#[test]
fn cancelled_occurrence_is_left_out_and_others_keep_their_index() {
    let mut spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["a"],
        &[Mon],
        "2025-03-31",
    );
    spec.cancelled_occurrences = vec![date("2025-03-17")];
    let all = occurrences(
        &spec,
        utc("2025-03-01T00:00:00Z"),
        utc("2025-04-01T00:00:00Z"),
    );
    assert_eq!(
        all.iter().map(|o| o.index).collect::<Vec<_>>(),
        [0, 1, 3, 4]
    );
    assert!(all
        .iter()
        .all(|o| o.start_utc != utc("2025-03-17T01:00:00Z")));
}

#[test]
fn occurrences_overlapping_the_window_edges_count_and_touching_ones_do_not() {
    let spec = daily(
        "2025-03-01T01:00:00Z",
        "2025-03-01T03:00:00Z",
        &["a"],
        1,
        "2025-03-31",
    );
    // Window opens in the middle of the 2 March sitting and closes in the middle of 4 March's.
    let w = occurrences(
        &spec,
        utc("2025-03-02T02:00:00Z"),
        utc("2025-03-04T02:00:00Z"),
    );
    assert_eq!(w.iter().map(|o| o.index).collect::<Vec<_>>(), [1, 2, 3]);
    // A window that begins when a sitting ends, and ends when the next begins, holds nothing.
    assert!(occurrences(
        &spec,
        utc("2025-03-02T03:00:00Z"),
        utc("2025-03-03T01:00:00Z")
    )
    .is_empty());
    // Empty and reversed windows.
    assert!(occurrences(
        &spec,
        utc("2025-03-02T02:00:00Z"),
        utc("2025-03-02T02:00:00Z")
    )
    .is_empty());
    assert!(occurrences(
        &spec,
        utc("2025-03-05T00:00:00Z"),
        utc("2025-03-02T00:00:00Z")
    )
    .is_empty());
}

#[test]
fn one_off_meeting_has_one_occurrence() {
    let spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
    let o = occurrences(&spec, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    assert_eq!(
        o,
        [Occurrence {
            index: 0,
            start_utc: spec.start_utc,
            end_utc: spec.end_utc
        }]
    );
    assert!(occurrences(
        &spec,
        utc("2025-03-03T03:00:00Z"),
        utc("2025-03-04T00:00:00Z")
    )
    .is_empty());
}

#[test]
fn next_occurrence_is_the_running_or_the_coming_one() {
    let spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["a"],
        &[Mon],
        "2025-03-17",
    );
    let next = |t| next_occurrence(&spec, utc(t)).map(|o| o.index);
    assert_eq!(next("2025-01-01T00:00:00Z"), Some(0));
    assert_eq!(next("2025-03-03T02:59:59Z"), Some(0));
    assert_eq!(next("2025-03-03T03:00:00Z"), Some(1));
    assert_eq!(next("2025-03-17T02:00:00Z"), Some(2));
    assert_eq!(next("2025-03-17T03:00:00Z"), None);
}

#[test]
fn series_helpers() {
    let spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["a"],
        &[Mon, Wed],
        "2025-03-31",
    );
    let series = Series::new(&spec);
    assert_eq!(series.count_up_to(1000), 9);
    assert_eq!(series.count_up_to(4), 4);
    assert!(series.contains(date("2025-03-12")));
    assert!(!series.contains(date("2025-03-13")));
    assert!(!series.contains(date("2025-04-02")));
    assert_eq!(series.last_end(), utc("2025-03-31T03:00:00Z"));
    let one = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["a"]);
    assert_eq!(Series::new(&one).last_end(), one.end_utc);
}

#[test]
fn extreme_instants_do_not_panic() {
    let spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["a"],
        &[Mon],
        "2025-03-31",
    );
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    assert_eq!(next_occurrence(&spec, max), None);
    assert_eq!(next_occurrence(&spec, min).map(|o| o.index), Some(0));
    assert!(occurrences(&spec, max - TimeDelta::days(1), max).is_empty());
    assert_eq!(occurrences(&spec, min, max).len(), 5);
}
