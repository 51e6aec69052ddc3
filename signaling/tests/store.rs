//! The registry's storage against SQLite and, when `HOINGHI_TEST_DATABASE_URL` is set,
//! PostgreSQL: the same code, the same expectations.

mod db;
#[path = "store/meetings.rs"]
mod meetings;

use db::TestDb;
use signaling::store::{
    EndpointPatch, NewEndpoint, NewStaff, NewUnit, Role, StaffPatch, StoreError, UnitPatch,
};

fn new_unit(parent: Option<&str>, name: &str) -> NewUnit {
    NewUnit {
        parent_id: parent.map(str::to_string),
        name: name.into(),
        level: "Xã".into(),
    }
}

fn new_endpoint(unit: &str, name: &str) -> NewEndpoint {
    NewEndpoint {
        unit_id: unit.into(),
        name: name.into(),
        location: "Phòng họp tầng 2".into(),
        bitrate_cap_kbps: Some(768),
    }
}

fn conflict_field(e: StoreError) -> &'static str {
    match e {
        StoreError::Conflict { field, .. } => field,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn units_form_a_tree_without_cycles() {
    for db in TestDb::all("units_form_a_tree_without_cycles").await {
        let s = &db.store;
        let province = s
            .create_unit(&new_unit(None, "Tỉnh Điện Biên"))
            .await
            .unwrap();
        let a = s
            .create_unit(&new_unit(Some(&province.id), "Xã A"))
            .await
            .unwrap();
        let b = s
            .create_unit(&new_unit(Some(&a.id), "Thôn B"))
            .await
            .unwrap();
        assert_eq!(s.units().await.unwrap().len(), 3);

        // Duplicate sibling names, at the root too.
        let dup = s.create_unit(&new_unit(Some(&province.id), "Xã A")).await;
        assert_eq!(conflict_field(dup.unwrap_err()), "name");
        let dup = s.create_unit(&new_unit(None, "Tỉnh Điện Biên")).await;
        assert_eq!(conflict_field(dup.unwrap_err()), "name");

        // Unknown parent.
        let orphan = s.create_unit(&new_unit(Some("nope"), "X")).await;
        assert!(matches!(
            orphan,
            Err(StoreError::NotFound {
                field: Some("parent_id"),
                ..
            })
        ));

        // The province under its own grandchild, or under itself: refused.
        for parent in [&b.id, &province.id] {
            let cycle = UnitPatch {
                parent_id: Some(Some(parent.clone())),
                ..Default::default()
            };
            let e = s.update_unit(&province.id, &cycle).await.unwrap_err();
            assert_eq!(conflict_field(e), "parent_id");
        }
        // Moving B up to the province and renaming is fine; A becomes a root.
        let moved = s
            .update_unit(
                &b.id,
                &UnitPatch {
                    parent_id: Some(Some(province.id.clone())),
                    name: Some("Xã B".into()),
                    level: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(moved.parent_id.as_deref(), Some(province.id.as_str()));
        let root = s
            .update_unit(
                &a.id,
                &UnitPatch {
                    parent_id: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(root.parent_id, None);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn units_with_children_or_terminals_are_not_deleted() {
    for db in TestDb::all("units_with_children_or_terminals_are_not_deleted").await {
        let s = &db.store;
        let p = s.create_unit(&new_unit(None, "Tỉnh")).await.unwrap();
        let c = s.create_unit(&new_unit(Some(&p.id), "Xã")).await.unwrap();
        let e = s
            .create_endpoint(&new_endpoint(&c.id, "Phòng 1"), "h1")
            .await
            .unwrap();

        let err = s.delete_unit(&p.id).await.unwrap_err();
        assert!(err.to_string().contains("units under it"), "{err}");
        let err = s.delete_unit(&c.id).await.unwrap_err();
        assert!(err.to_string().contains("room terminals"), "{err}");

        s.delete_endpoint(&e.id).await.unwrap();
        s.delete_unit(&c.id).await.unwrap();
        s.delete_unit(&p.id).await.unwrap();
        assert!(matches!(
            s.delete_unit(&p.id).await,
            Err(StoreError::NotFound { .. })
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn endpoints_filter_rotate_and_revoke() {
    for db in TestDb::all("endpoints_filter_rotate_and_revoke").await {
        let s = &db.store;
        let p = s.create_unit(&new_unit(None, "Tỉnh")).await.unwrap();
        let c = s.create_unit(&new_unit(Some(&p.id), "Xã")).await.unwrap();
        let top = s
            .create_endpoint(&new_endpoint(&p.id, "Hội trường"), "h-top")
            .await
            .unwrap();
        let low = s
            .create_endpoint(&new_endpoint(&c.id, "Phòng xã"), "h-low")
            .await
            .unwrap();
        assert_eq!(top.bitrate_cap_kbps, Some(768));
        assert!(!top.revoked);

        let ids =
            |v: Vec<signaling::store::Endpoint>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.endpoints(Some(&p.id), false).await.unwrap()),
            std::slice::from_ref(&top.id)
        );
        let mut all = ids(s.endpoints(Some(&p.id), true).await.unwrap());
        all.sort();
        let mut expected = vec![top.id.clone(), low.id.clone()];
        expected.sort();
        assert_eq!(all, expected);
        assert_eq!(s.endpoints(None, false).await.unwrap().len(), 2);

        // Same name in the same unit: conflict; unknown unit: not found.
        let dup = s
            .create_endpoint(&new_endpoint(&p.id, "Hội trường"), "h-dup")
            .await;
        assert_eq!(conflict_field(dup.unwrap_err()), "name");
        let nowhere = s.create_endpoint(&new_endpoint("nope", "X"), "h-x").await;
        assert!(matches!(
            nowhere,
            Err(StoreError::NotFound {
                field: Some("unit_id"),
                ..
            })
        ));

        let found = s.endpoint_by_credential("h-low").await.unwrap().unwrap();
        assert_eq!(found.id, low.id);
        s.rotate_credential(&low.id, "h-low-2").await.unwrap();
        assert!(s.endpoint_by_credential("h-low").await.unwrap().is_none());
        assert_eq!(s.credential_hash(&low.id).await.unwrap(), "h-low-2");
        assert!(s.revoke_endpoint(&low.id).await.unwrap().revoked);
        assert!(
            s.endpoint_by_credential("h-low-2")
                .await
                .unwrap()
                .unwrap()
                .revoked
        );
        assert!(
            !s.rotate_credential(&low.id, "h-low-3")
                .await
                .unwrap()
                .revoked
        );

        let patched = s
            .update_endpoint(
                &low.id,
                &EndpointPatch {
                    unit_id: Some(p.id.clone()),
                    bitrate_cap_kbps: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (patched.unit_id.as_str(), patched.bitrate_cap_kbps),
            (p.id.as_str(), None)
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn staff_usernames_are_unique_and_the_last_administrator_stays() {
    for db in TestDb::all("staff_usernames_are_unique_and_the_last_administrator_stays").await {
        let s = &db.store;
        assert!(s.ensure_first_admin("hash-1").await.unwrap());
        assert!(
            !s.ensure_first_admin("hash-2").await.unwrap(),
            "created twice"
        );
        let (admin, hash) = s.staff_login("admin").await.unwrap().unwrap();
        assert_eq!((admin.role, hash.as_str()), (Role::Administrator, "hash-1"));

        let new = NewStaff {
            username: "lan".into(),
            display_name: "Nguyễn Thị Lan".into(),
            role: Role::Scheduler,
            password_hash: "h".into(),
        };
        let lan = s.create_staff(&new).await.unwrap();
        assert_eq!(
            conflict_field(s.create_staff(&new).await.unwrap_err()),
            "username"
        );

        let demote = StaffPatch {
            role: Some(Role::Operator),
            ..Default::default()
        };
        assert_eq!(
            conflict_field(s.update_staff(&admin.id, &demote).await.unwrap_err()),
            "role"
        );
        assert_eq!(
            conflict_field(s.delete_staff(&admin.id).await.unwrap_err()),
            "id"
        );

        // With a second administrator, the first may go.
        let promote = StaffPatch {
            role: Some(Role::Administrator),
            password_hash: Some("h2".into()),
            display_name: Some("Lan".into()),
        };
        let lan = s.update_staff(&lan.id, &promote).await.unwrap();
        assert_eq!(
            (lan.role, lan.display_name.as_str()),
            (Role::Administrator, "Lan")
        );
        assert_eq!(s.staff_login("lan").await.unwrap().unwrap().1, "h2");
        s.delete_staff(&admin.id).await.unwrap();
        assert_eq!(s.staff_list().await.unwrap().len(), 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn data_survives_reopening_the_database() {
    for mut db in TestDb::all("data_survives_reopening_the_database").await {
        let p = db.store.create_unit(&new_unit(None, "Tỉnh")).await.unwrap();
        let e = db
            .store
            .create_endpoint(&new_endpoint(&p.id, "Hội trường"), "h")
            .await
            .unwrap();
        assert!(db.store.ensure_first_admin("hash").await.unwrap());
        db.reopen().await;
        assert_eq!(db.store.unit(&p.id).await.unwrap(), p);
        assert_eq!(db.store.endpoint(&e.id).await.unwrap(), e);
        assert!(!db.store.ensure_first_admin("other").await.unwrap());
        assert_eq!(
            db.store.staff_login("admin").await.unwrap().unwrap().1,
            "hash"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_demo_province_has_78_terminals_and_is_seeded_once() {
    for db in TestDb::all("the_demo_province_has_78_terminals_and_is_seeded_once").await {
        let seeded = signaling::demo::seed(&db.store).await.unwrap();
        assert_eq!(seeded.len(), signaling::demo::DEMO_ENDPOINTS);
        assert_eq!(db.store.endpoints(None, false).await.unwrap().len(), 78);
        let units = db.store.units().await.unwrap();
        let roots: Vec<_> = units.iter().filter(|u| u.parent_id.is_none()).collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].name, "Tỉnh Điện Biên");
        // Three levels deep: province → department → hospital.
        let parent = |id: &str| {
            units
                .iter()
                .find(|u| u.id == id)
                .and_then(|u| u.parent_id.clone())
        };
        let depth = |id: &str| {
            let (mut d, mut cursor) = (0, parent(id));
            while let Some(p) = cursor {
                d += 1;
                cursor = parent(&p);
            }
            d
        };
        assert_eq!(units.iter().map(|u| depth(&u.id)).max(), Some(2));
        let creds: std::collections::HashSet<_> = seeded.iter().map(|s| &s.credential).collect();
        assert_eq!(creds.len(), 78);
        let table = signaling::demo::credentials_table(&seeded);
        assert_eq!(table.lines().count(), 79);

        let again = signaling::demo::seed(&db.store).await;
        assert!(matches!(again, Err(signaling::demo::DemoError::NotEmpty)));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn attendance_records_are_kept_in_time_order_and_a_retried_write_is_not_doubled() {
    use signaling::store::{AttendanceEvent, AttendanceRecord};
    for db in TestDb::all("attendance_records_are_kept_in_time_order").await {
        let s = &db.store;
        let record = |id: &str, endpoint: &str, event, at_ms| AttendanceRecord {
            id: id.into(),
            meeting_id: "m1".into(),
            occurrence: 2,
            endpoint_id: endpoint.into(),
            name: format!("Phòng {endpoint}"),
            event,
            at_ms,
        };
        let leave = record("r3", "t1", AttendanceEvent::Leave, 3_000);
        let join = record("r1", "t1", AttendanceEvent::Join, 1_000);
        let drop = record("r2", "t2", AttendanceEvent::Drop, 2_000);
        for r in [&leave, &join, &drop, &join] {
            s.record_attendance(r).await.unwrap();
        }
        // Another occurrence's records are apart.
        let mut other = record("r4", "t1", AttendanceEvent::Join, 500);
        other.occurrence = 3;
        s.record_attendance(&other).await.unwrap();
        assert_eq!(
            s.attendance("m1", 2).await.unwrap(),
            vec![join.clone(), drop.clone(), leave.clone()],
            "{:?}",
            db.url
        );
        assert_eq!(s.attendance("m1", 3).await.unwrap(), vec![other]);
        assert!(s.attendance("m2", 2).await.unwrap().is_empty());
    }
}
