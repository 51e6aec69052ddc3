//! iCalendar (RFC 5545) export of a meeting and of a room terminal's schedule, so that
//! IT staff can send the list ahead and calendars show the meetings in Hà Nội time.
//!
//! Times are written in local time with `TZID=Asia/Ho_Chi_Minh` (and the matching
//! `VTIMEZONE`), not in UTC: a weekly rule's `BYDAY` must be read in the zone where the
//! meeting is held, and a 06:30 Monday meeting is still Sunday in UTC.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use icalendar::{Calendar, Component, Event, EventStatus, Property};

use super::{local_naive, Frequency, MeetingSpec, Recurrence, PROVINCE_TZ};

/// What the export needs to know about one meeting besides its spec.
#[derive(Debug, Clone, Copy)]
pub struct IcsMeeting<'a> {
    /// The meeting's id; the event's UID is `{id}@hoinghi`.
    pub id: &'a str,
    /// The meeting.
    pub spec: &'a MeetingSpec,
    /// Display name of the host terminal.
    pub host_name: &'a str,
    /// Display names of the rostered terminals, in roster order.
    pub roster_names: &'a [String],
    /// Where to follow the meeting, if anywhere.
    pub url: Option<&'a str>,
}

/// A calendar holding one meeting as one `VEVENT` (with `RRULE` and `EXDATE` when it
/// repeats). `stamp` is the `DTSTAMP`, the time the export is made: pass "now".
pub fn meeting_ics(meeting: &IcsMeeting<'_>, stamp: DateTime<Utc>) -> String {
    let mut calendar = calendar();
    calendar.name(&one_line(&meeting.spec.title));
    render(&calendar, std::slice::from_ref(meeting), stamp)
}

/// A room terminal's schedule: one `VEVENT` per meeting, in the order given.
/// `stamp` is the `DTSTAMP`, the time the export is made: pass "now".
pub fn terminal_schedule_ics(
    terminal_name: &str,
    meetings: &[IcsMeeting<'_>],
    stamp: DateTime<Utc>,
) -> String {
    let mut calendar = calendar();
    calendar.name(&one_line(&format!("Lịch họp: {terminal_name}")));
    render(&calendar, meetings, stamp)
}

/// The zone definition every `TZID` refers to. Asia/Ho_Chi_Minh has been UTC+07:00 with
/// no daylight saving since 1975, so one `STANDARD` block describes it.
const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\n\
    TZID:Asia/Ho_Chi_Minh\r\n\
    X-LIC-LOCATION:Asia/Ho_Chi_Minh\r\n\
    BEGIN:STANDARD\r\n\
    TZOFFSETFROM:+0700\r\n\
    TZOFFSETTO:+0700\r\n\
    TZNAME:+07\r\n\
    DTSTART:19700101T000000\r\n\
    END:STANDARD\r\n\
    END:VTIMEZONE\r\n";

const END: &str = "END:VCALENDAR\r\n";

fn calendar() -> Calendar {
    let mut calendar = Calendar::empty();
    for (key, value) in [
        ("VERSION", "2.0"),
        ("PRODID", "-//hoinghi//Lich hop//VI"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
        ("X-WR-TIMEZONE", PROVINCE_TZ.name()),
    ] {
        calendar.append_property(Property::new(key, value));
    }
    calendar
}

/// The calendar's header, the zone, the events and the footer. The crate cannot write a
/// `VTIMEZONE` (it would add a `DTSTAMP` and `UID` to it), so that block is spliced in.
fn render(calendar: &Calendar, meetings: &[IcsMeeting<'_>], stamp: DateTime<Utc>) -> String {
    let head = calendar.to_string();
    let mut out = head.strip_suffix(END).unwrap_or(&head).to_owned();
    out.push_str(VTIMEZONE);
    for meeting in meetings {
        // Writing into a String cannot fail.
        event(meeting, stamp)
            .fmt_write(&mut out)
            .expect("writing to a String");
    }
    out.push_str(END);
    refold(&out)
}

/// Folds every content line to at most 75 octets, never inside a UTF-8 character.
/// icalendar 0.17 folds too, but lets a last continuation line reach 76 octets, so its
/// folds are undone and redone. Safe because [`clean`] and [`one_line`] leave no CR in
/// values: the only CRLFs are line ends and the crate's folds (CRLF + space).
fn refold(text: &str) -> String {
    const LIMIT: usize = 75;
    let unfolded = text.replace("\r\n ", "");
    let mut out = String::with_capacity(text.len() + text.len() / 64 * 3);
    for line in unfolded.split_terminator("\r\n") {
        let mut rest = line;
        // The first piece may take all 75 octets, continuations 74 after their space.
        let mut room = LIMIT;
        while rest.len() > room {
            let mut cut = room;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&rest[..cut]);
            out.push_str("\r\n ");
            rest = &rest[cut..];
            room = LIMIT - 1;
        }
        out.push_str(rest);
        out.push_str("\r\n");
    }
    out
}

/// Multi-line text as it may go into a value: line breaks as `\n` (the crate escapes
/// those) and no other control characters, which would break or inject content lines.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

/// Single-line text (ids, titles, URLs, which the crate may not escape) with every
/// control character dropped.
fn one_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

fn event(m: &IcsMeeting<'_>, stamp: DateTime<Utc>) -> Event {
    let spec = m.spec;
    let mut event = Event::new();
    event
        .uid(&one_line(&format!("{}@hoinghi", m.id)))
        .timestamp(stamp)
        .summary(&one_line(&spec.title))
        .description(&clean(&description(m)))
        .append_property(local("DTSTART", local_naive(spec.start_utc)))
        .append_property(local("DTEND", local_naive(spec.end_utc)))
        .status(if spec.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(url) = m.url {
        event.url(&one_line(url));
    }
    if let Some(rec) = &spec.recurrence {
        event.add_property("RRULE", rrule(spec, rec));
        let start_time = local_naive(spec.start_utc).time();
        for date in &spec.cancelled_occurrences {
            event.append_multi_property(local("EXDATE", date.and_time(start_time)));
        }
    }
    event.done()
}

fn description(m: &IcsMeeting<'_>) -> String {
    let mut text = String::new();
    if !m.spec.agenda.trim().is_empty() {
        text.push_str(m.spec.agenda.trim_end());
        text.push_str("\n\n");
    }
    // `write!` into a String cannot fail.
    let _ = writeln!(text, "Hình thức: {}", m.spec.mode.label_vi());
    let _ = writeln!(text, "Điểm cầu chính: {}", m.host_name);
    let _ = write!(text, "Thành phần ({} điểm cầu):", m.roster_names.len());
    for name in m.roster_names {
        let _ = write!(text, "\n- {name}");
    }
    if let Some(url) = m.url {
        let _ = write!(text, "\n\nTham gia: {url}");
    }
    text
}

/// `FREQ`, `INTERVAL`, `BYDAY` and `WKST` for weekly rules, and `UNTIL`: RFC 5545 wants
/// it in UTC when `DTSTART` has a `TZID`, so it is the last second of the local date.
fn rrule(spec: &MeetingSpec, rec: &Recurrence) -> String {
    let mut rule = match rec.freq {
        Frequency::Daily => format!("FREQ=DAILY;INTERVAL={}", rec.interval),
        Frequency::Weekly => {
            let mut days: Vec<chrono::Weekday> = if rec.weekdays.is_empty() {
                vec![local_naive(spec.start_utc).date().weekday()]
            } else {
                rec.weekdays.iter().map(|d| (*d).into()).collect()
            };
            days.sort_by_key(|d| d.num_days_from_monday());
            days.dedup();
            let days: Vec<&str> = days.into_iter().map(byday).collect();
            format!(
                "FREQ=WEEKLY;INTERVAL={};BYDAY={};WKST=MO",
                rec.interval,
                days.join(",")
            )
        }
    };
    let _ = write!(
        rule,
        ";UNTIL={}",
        until_utc(rec.until).format("%Y%m%dT%H%M%SZ")
    );
    rule
}

fn byday(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    }
}

fn until_utc(until: NaiveDate) -> DateTime<Utc> {
    let last_second = until.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("a valid time"));
    PROVINCE_TZ
        .from_local_datetime(&last_second)
        .latest()
        .map_or_else(|| last_second.and_utc(), |t| t.with_timezone(&Utc))
}

fn local(key: &str, t: NaiveDateTime) -> Property {
    let mut property = Property::new(key, t.format("%Y%m%dT%H%M%S").to_string());
    property.add_parameter("TZID", PROVINCE_TZ.name());
    property.done()
}

#[cfg(test)]
mod tests;
