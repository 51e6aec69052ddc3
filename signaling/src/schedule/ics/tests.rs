//! Tests of the iCalendar export: structure, rules, folding and Vietnamese text.

use icalendar::{Calendar, Component};

use super::*;
use crate::schedule::fixtures::{date, single, utc, weekly};
use crate::schedule::Weekday::{Mon, Wed};

fn stamp() -> DateTime<Utc> {
    utc("2025-02-28T09:00:00Z")
}

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("UBND xã Số {i}")).collect()
}

fn export(spec: &MeetingSpec, roster_names: &[String]) -> String {
    meeting_ics(
        &IcsMeeting {
            id: "m42",
            spec,
            host_name: "UBND tỉnh",
            roster_names,
            url: Some("https://hoinghi.example.vn/meetings/m42"),
        },
        stamp(),
    )
}

/// Physical lines, checking that every one ends in CRLF and none is longer than
/// 75 octets (RFC 5545 §3.1).
fn lines(ics: &str) -> Vec<&str> {
    assert!(ics.ends_with("\r\n"), "must end with CRLF");
    assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF in {ics}");
    assert!(!ics.replace("\r\n", "").contains('\r'), "bare CR in {ics}");
    let lines: Vec<&str> = ics.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &lines {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    lines
}

/// Logical lines: continuation lines (starting with a space) joined back on.
fn unfolded(ics: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines(ics) {
        match line.strip_prefix(' ') {
            Some(rest) => out.last_mut().expect("a line to continue").push_str(rest),
            None => out.push(line.to_owned()),
        }
    }
    out
}

fn has(ics: &str, line: &str) -> bool {
    unfolded(ics).iter().any(|l| l == line)
}

#[test]
fn one_off_meeting_is_one_event_in_local_time() {
    let spec = single(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["t1", "t2"],
    );
    let ics = export(&spec, &names(2));
    let all = unfolded(&ics);
    assert_eq!(all.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(all.last().map(String::as_str), Some("END:VCALENDAR"));
    for line in [
        "VERSION:2.0",
        "METHOD:PUBLISH",
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Ho_Chi_Minh",
        "TZOFFSETTO:+0700",
        "UID:m42@hoinghi",
        "DTSTAMP:20250228T090000Z",
        "DTSTART;TZID=Asia/Ho_Chi_Minh:20250303T080000",
        "DTEND;TZID=Asia/Ho_Chi_Minh:20250303T100000",
        "SUMMARY:Họp giao ban",
        "STATUS:CONFIRMED",
        "URL:https://hoinghi.example.vn/meetings/m42",
    ] {
        assert!(has(&ics, line), "missing {line:?} in\n{ics}");
    }
    assert_eq!(all.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
    assert!(!all
        .iter()
        .any(|l| l.starts_with("RRULE") || l.starts_with("EXDATE")));
    // The zone block carries no event properties.
    let tz: Vec<&String> = all
        .iter()
        .skip_while(|l| *l != "BEGIN:VTIMEZONE")
        .take_while(|l| *l != "END:VTIMEZONE")
        .collect();
    assert!(
        !tz.iter()
            .any(|l| l.starts_with("UID") || l.starts_with("DTSTAMP")),
        "{tz:?}"
    );
}

#[test]
fn export_reads_no_clock_and_no_randomness() {
    let spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["t1"]);
    assert_eq!(export(&spec, &names(1)), export(&spec, &names(1)));
}

#[test]
fn weekly_monday_wednesday_rule_with_until_and_exdate() {
    let mut spec = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["t1"],
        &[Wed, Mon],
        "2025-03-31",
    );
    spec.cancelled_occurrences = vec![date("2025-03-10"), date("2025-03-19")];
    let ics = export(&spec, &names(1));
    // 23:59:59 on 31 March in Hà Nội is 16:59:59 UTC.
    assert!(
        has(
            &ics,
            "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;WKST=MO;UNTIL=20250331T165959Z"
        ),
        "{ics}"
    );
    assert!(
        has(&ics, "EXDATE;TZID=Asia/Ho_Chi_Minh:20250310T080000"),
        "{ics}"
    );
    assert!(
        has(&ics, "EXDATE;TZID=Asia/Ho_Chi_Minh:20250319T080000"),
        "{ics}"
    );
}

#[test]
fn daily_rule_and_default_weekday() {
    let mut spec = weekly(
        "2025-03-06T01:00:00Z",
        "2025-03-06T03:00:00Z",
        &["t1"],
        &[],
        "2025-04-30",
    );
    spec.recurrence.as_mut().unwrap().interval = 2;
    assert!(has(
        &export(&spec, &names(1)),
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;WKST=MO;UNTIL=20250430T165959Z"
    ));
    let daily = crate::schedule::fixtures::daily(
        "2025-03-01T01:00:00Z",
        "2025-03-01T02:00:00Z",
        &["t1"],
        3,
        "2025-03-10",
    );
    assert!(has(
        &export(&daily, &names(1)),
        "RRULE:FREQ=DAILY;INTERVAL=3;UNTIL=20250310T165959Z"
    ));
}

#[test]
fn cancelled_meeting_says_so() {
    let mut spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["t1"]);
    spec.cancelled = true;
    let ics = export(&spec, &names(1));
    assert!(has(&ics, "STATUS:CANCELLED"));
    assert!(!has(&ics, "STATUS:CONFIRMED"));
}

#[test]
fn vietnamese_text_survives_folding_and_parsing_back() {
    let mut spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["t1"]);
    spec.title = "Hội nghị trực tuyến triển khai nhiệm vụ phát triển kinh tế – xã hội, bảo đảm quốc phòng, an ninh năm 2025".into();
    spec.agenda =
        "1. Báo cáo tình hình; 2. Ý kiến các địa phương\n3. Kết luận của Chủ tịch UBND tỉnh".into();
    let roster = names(40);
    let ics = export(&spec, &roster);
    lines(&ics); // folded to ≤ 75 octets, CRLF only
    assert!(
        ics.lines().count() > unfolded(&ics).len(),
        "long lines were folded"
    );

    let calendar: Calendar = ics.parse().expect("parses");
    let event = calendar.events().next().expect("one event");
    assert_eq!(event.get_summary(), Some(spec.title.as_str()));
    let description = event.get_description().expect("a description");
    assert!(
        description.contains("1. Báo cáo tình hình; 2. Ý kiến các địa phương\n3. Kết luận"),
        "{description}"
    );
    assert!(
        description.contains("Điểm cầu chính: UBND tỉnh"),
        "{description}"
    );
    assert!(
        description.contains("Thành phần (40 điểm cầu):\n- UBND xã Số 1\n"),
        "{description}"
    );
    assert!(description.contains("- UBND xã Số 40"), "{description}");
    assert!(
        description.contains("Hình thức: Chỉ đạo, điều hành"),
        "{description}"
    );
    assert_eq!(event.get_uid(), Some("m42@hoinghi"));
}

#[test]
fn lines_of_every_length_fold_within_75_octets() {
    // Titles of every length around the fold points, in ASCII and in multi-byte letters,
    // so that a fold falls on each byte position, including the exact boundaries.
    for unit in ["a", "ệ", "ư ", "Ỹ"] {
        for n in 60..240 {
            let mut spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["t1"]);
            spec.title = unit.repeat(n / unit.len()).trim().to_owned();
            let ics = export(&spec, &names(1));
            let expected = format!("SUMMARY:{}", spec.title);
            assert!(has(&ics, &expected), "title of {n} octets");
        }
    }
}

#[test]
fn terminal_schedule_has_one_event_per_meeting() {
    let a = weekly(
        "2025-03-03T01:00:00Z",
        "2025-03-03T03:00:00Z",
        &["t1", "t2"],
        &[Mon],
        "2025-06-30",
    );
    let mut b = single(
        "2025-03-05T07:00:00Z",
        "2025-03-05T09:00:00Z",
        &["t3", "t1"],
    );
    b.title = "Họp chuyên đề chuyển đổi số".into();
    let roster_a = names(2);
    let roster_b = names(2);
    let meetings = [
        IcsMeeting {
            id: "a",
            spec: &a,
            host_name: "UBND tỉnh",
            roster_names: &roster_a,
            url: None,
        },
        IcsMeeting {
            id: "b",
            spec: &b,
            host_name: "Sở TT&TT",
            roster_names: &roster_b,
            url: None,
        },
    ];
    let ics = terminal_schedule_ics("UBND xã Số 1", &meetings, stamp());
    assert!(has(&ics, "X-WR-CALNAME:Lịch họp: UBND xã Số 1"), "{ics}");
    let all = unfolded(&ics);
    assert_eq!(all.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 2);
    assert_eq!(all.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1);
    assert!(has(&ics, "UID:a@hoinghi") && has(&ics, "UID:b@hoinghi"));
    assert!(has(&ics, "DTSTART;TZID=Asia/Ho_Chi_Minh:20250305T140000"));
    let calendar: Calendar = ics.parse().expect("parses");
    assert_eq!(calendar.events().count(), 2);

    let empty = terminal_schedule_ics("UBND xã Số 2", &[], stamp());
    assert!(has(&empty, "BEGIN:VTIMEZONE") && !has(&empty, "BEGIN:VEVENT"));
    assert!(empty.parse::<Calendar>().is_ok());
}

#[test]
fn carriage_returns_and_control_characters_cannot_break_lines() {
    let mut spec = single("2025-03-03T01:00:00Z", "2025-03-03T03:00:00Z", &["t1"]);
    spec.agenda = "Dòng 1\r\nDòng 2\rDòng 3\u{7}".into();
    let ics = meeting_ics(
        &IcsMeeting {
            id: "m1",
            spec: &spec,
            host_name: "UBND\r\nSTATUS:CANCELLED",
            roster_names: &names(1),
            url: Some("https://hoinghi.example.vn/\r\nATTENDEE:mailto:x@y"),
        },
        stamp(),
    );
    lines(&ics); // no bare CR or LF
    assert!(!has(&ics, "STATUS:CANCELLED"), "{ics}");
    assert!(
        !unfolded(&ics).iter().any(|l| l.starts_with("ATTENDEE")),
        "{ics}"
    );
    assert!(
        has(&ics, "URL:https://hoinghi.example.vn/ATTENDEE:mailto:x@y"),
        "{ics}"
    );
    let calendar: Calendar = ics.parse().expect("parses");
    let description = calendar
        .events()
        .next()
        .unwrap()
        .get_description()
        .unwrap()
        .to_owned();
    assert!(
        description.starts_with("Dòng 1\nDòng 2\nDòng 3\n\n"),
        "{description:?}"
    );
}
