//! Meetings in the store, on both databases: what is stored comes back whole after a
//! reopen, windows find what can overlap, double bookings and deleting a rostered
//! terminal are refused.

use chrono::{DateTime, NaiveDate, Utc};
use signaling::schedule::{Frequency, MeetingMode, MeetingSpec, Recurrence, Weekday};
use signaling::store::{Store, StoreError};

use super::db::TestDb;
use super::{new_endpoint, new_unit};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn spec(start: &str, end: &str, roster: &[&str]) -> MeetingSpec {
    MeetingSpec {
        title: "Giao ban tuần".into(),
        agenda: "1. Báo cáo\n2. Chỉ đạo".into(),
        start_utc: utc(start),
        end_utc: utc(end),
        host_terminal_id: roster[0].into(),
        roster: roster.iter().map(|r| r.to_string()).collect(),
        mode: MeetingMode::ControlledDiscussion,
        recurrence: None,
        cancelled_occurrences: Vec::new(),
        cancelled: false,
    }
}

async fn rooms(s: &Store) -> Vec<String> {
    let unit = s.create_unit(&new_unit(None, "Xã Na Son")).await.unwrap();
    let mut ids = Vec::new();
    for name in ["Phòng 1", "Phòng 2", "Phòng 3"] {
        let e = s
            .create_endpoint(&new_endpoint(&unit.id, name), &format!("hash-{name}"))
            .await
            .unwrap();
        ids.push(e.id);
    }
    ids
}

#[tokio::test]
async fn meetings_survive_a_reopen_whole_and_are_found_by_window() {
    for mut db in TestDb::all("meetings_survive_a_reopen_whole_and_are_found_by_window").await {
        let r = rooms(&db.store).await;
        // Mondays and Thursdays of March 2030, 08:00–10:00 Hà Nội (01:00 UTC).
        let mut weekly = spec(
            "2030-03-04T01:00:00Z",
            "2030-03-04T03:00:00Z",
            &[&r[0], &r[1]],
        );
        weekly.recurrence = Some(Recurrence {
            freq: Frequency::Weekly,
            interval: 1,
            weekdays: vec![Weekday::Mon, Weekday::Thu],
            until: date("2030-03-31"),
        });
        weekly.cancelled_occurrences = vec![date("2030-03-14")];
        weekly.validate().unwrap();
        let m = db.store.create_meeting(&weekly, "staff-1").await.unwrap();
        let one_off = spec("2030-04-10T02:00:00Z", "2030-04-10T03:00:00Z", &[&r[2]]);
        let o = db.store.create_meeting(&one_off, "staff-1").await.unwrap();

        db.reopen().await;
        let s = &db.store;
        let back = s.meeting(&m.id).await.unwrap();
        assert_eq!(back, m);
        assert_eq!(back.spec, weekly);
        assert_eq!(back.revision, 1);

        let t = |x: &str| utc(x).timestamp();
        let ids =
            |v: Vec<signaling::store::Meeting>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
        // The window of the series' last week finds only the series.
        let found = s
            .meetings_between(t("2030-03-28T00:00:00Z"), t("2030-04-01T00:00:00Z"), None)
            .await
            .unwrap();
        assert_eq!(ids(found), [m.id.as_str()]);
        // After the series' end, only the one-off; before both, nothing.
        let found = s
            .meetings_between(t("2030-04-01T00:00:00Z"), t("2030-05-01T00:00:00Z"), None)
            .await
            .unwrap();
        assert_eq!(ids(found), [o.id.as_str()]);
        let found = s
            .meetings_between(t("2030-01-01T00:00:00Z"), t("2030-03-04T01:00:00Z"), None)
            .await
            .unwrap();
        assert!(found.is_empty());
        // By terminal.
        let of_3 = s.meetings_of_endpoint(&r[2]).await.unwrap();
        assert_eq!(ids(of_3), [o.id.as_str()]);

        // Changes bump the revision and survive a reopen too.
        let mut moved = weekly.clone();
        moved.roster = vec![r[0].clone()];
        let changed = s.update_meeting(&m.id, &moved, Some(1)).await.unwrap();
        assert_eq!(changed.revision, 2);
        let stale = s.update_meeting(&m.id, &moved, Some(1)).await.unwrap_err();
        assert!(
            matches!(
                stale,
                StoreError::Conflict {
                    field: "revision",
                    ..
                }
            ),
            "{stale:?}"
        );
        s.cancel_occurrence(&m.id, date("2030-03-18"))
            .await
            .unwrap();
        s.cancel_meeting(&o.id).await.unwrap();
        db.reopen().await;
        let s = &db.store;
        let back = s.meeting(&m.id).await.unwrap();
        assert_eq!(back.spec.roster, [r[0].clone()]);
        assert_eq!(
            back.spec.cancelled_occurrences,
            [date("2030-03-14"), date("2030-03-18")]
        );
        assert_eq!(back.revision, 3);
        assert!(s.meeting(&o.id).await.unwrap().spec.cancelled);
        assert!(matches!(
            s.meeting("nope").await,
            Err(StoreError::NotFound {
                what: "meeting",
                ..
            })
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn double_bookings_and_deleting_rostered_terminals_are_refused() {
    for db in TestDb::all("double_bookings_and_deleting_rostered_terminals_are_refused").await {
        let s = &db.store;
        let r = rooms(s).await;
        let mut daily = spec(
            "2030-03-04T01:00:00Z",
            "2030-03-04T02:00:00Z",
            &[&r[0], &r[1]],
        );
        daily.recurrence = Some(Recurrence {
            freq: Frequency::Daily,
            interval: 1,
            weekdays: vec![],
            until: date("2030-03-10"),
        });
        let m = s.create_meeting(&daily, "staff-1").await.unwrap();

        // The sixth day, half an hour in, with room 2.
        let clash = spec(
            "2030-03-09T01:30:00Z",
            "2030-03-09T02:30:00Z",
            &[&r[2], &r[1]],
        );
        match s.create_meeting(&clash, "staff-1").await.unwrap_err() {
            StoreError::DoubleBooked {
                terminal,
                conflicts,
            } => {
                assert_eq!(terminal, "Phòng 2");
                assert_eq!(conflicts.len(), 1);
                assert_eq!(conflicts[0].meeting_id, m.id);
                assert_eq!(conflicts[0].terminal_id, r[1]);
                assert_eq!(
                    conflicts[0].occurrence_start_utc,
                    utc("2030-03-09T01:00:00Z")
                );
            }
            other => panic!("expected a double booking, got {other:?}"),
        }
        // Touching, or after the series, is fine; so is the series edited on its own.
        let touching = spec("2030-03-09T02:00:00Z", "2030-03-09T03:00:00Z", &[&r[1]]);
        s.create_meeting(&touching, "staff-1").await.unwrap();
        let after = spec("2030-03-11T01:00:00Z", "2030-03-11T02:00:00Z", &[&r[1]]);
        s.create_meeting(&after, "staff-1").await.unwrap();
        s.update_meeting(&m.id, &daily, None).await.unwrap();

        // Unknown terminals name their field.
        let ghost = spec(
            "2030-06-01T01:00:00Z",
            "2030-06-01T02:00:00Z",
            &[&r[0], "nope"],
        );
        assert!(matches!(
            s.create_meeting(&ghost, "staff-1").await,
            Err(StoreError::NotFound {
                field: Some("roster"),
                ..
            })
        ));

        // A rostered terminal stays; one on no roster goes.
        match s.delete_endpoint(&r[0]).await.unwrap_err() {
            StoreError::Conflict { field, message } => {
                assert_eq!(field, "id");
                assert!(
                    message.contains(&m.id) && message.contains("Giao ban tuần"),
                    "{message}"
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let unit = s.endpoint(&r[0]).await.unwrap().unit_id;
        let spare = s
            .create_endpoint(&new_endpoint(&unit, "Phòng dự phòng"), "hash-spare")
            .await
            .unwrap();
        s.delete_endpoint(&spare.id).await.unwrap();

        // Called off, the series frees its rooms.
        s.cancel_meeting(&m.id).await.unwrap();
        let its_slot = spec(
            "2030-03-09T01:00:00Z",
            "2030-03-09T02:00:00Z",
            &[&r[2], &r[1]],
        );
        s.create_meeting(&its_slot, "staff-1").await.unwrap();
        db.cleanup().await;
    }
}
