//! Meetings: the series as the scheduler entered it ([`MeetingSpec`]), its roster and
//! cancelled dates, and the double-booking check made on every write.
//!
//! Writes are serialised inside the process (one `Mutex`), so that the check for a
//! terminal booked twice and the write it allows are not interleaved with another
//! scheduler's. One server process per database is the deployment this assumes.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{new_id, now, Store, StoreError};
use crate::schedule::{conflicts, series_end, MeetingMode, MeetingSpec, Recurrence};

/// A stored meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: String,
    /// Terminal ids (`host_terminal_id`, `roster`) are endpoint ids.
    pub spec: MeetingSpec,
    /// The staff account that scheduled it.
    pub created_by: String,
    /// Unix seconds, UTC.
    pub created_at: i64,
    /// Unix seconds, UTC.
    pub updated_at: i64,
    /// 1 at creation, one more at every change.
    pub revision: i64,
}

const COLUMNS: &str = "id, title, agenda, start_at, end_at, host_endpoint_id, mode, \
                       recurrence, cancelled, created_by, created_at, updated_at, revision";

fn mode_text(mode: MeetingMode) -> &'static str {
    match mode {
        MeetingMode::Directive => "directive",
        MeetingMode::ControlledDiscussion => "controlled_discussion",
        MeetingMode::Open => "open",
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("meetings.{what}: {detail}").into())
}

fn instant(secs: i64, what: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| corrupt(what, secs))
}

/// A row without its roster and cancelled dates.
fn meeting(row: &AnyRow) -> Result<Meeting, sqlx::Error> {
    let mode: String = row.try_get("mode")?;
    let recurrence: Option<String> = row.try_get("recurrence")?;
    let recurrence: Option<Recurrence> = recurrence
        .map(|r| serde_json::from_str(&r))
        .transpose()
        .map_err(|e| corrupt("recurrence", e))?;
    Ok(Meeting {
        id: row.try_get("id")?,
        spec: MeetingSpec {
            title: row.try_get("title")?,
            agenda: row.try_get("agenda")?,
            start_utc: instant(row.try_get("start_at")?, "start_at")?,
            end_utc: instant(row.try_get("end_at")?, "end_at")?,
            host_terminal_id: row.try_get("host_endpoint_id")?,
            roster: Vec::new(),
            mode: serde_json::from_value(serde_json::Value::String(mode.clone()))
                .map_err(|_| corrupt("mode", mode))?,
            recurrence,
            cancelled_occurrences: Vec::new(),
            cancelled: row.try_get::<i64, _>("cancelled")? != 0,
        },
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        revision: row.try_get("revision")?,
    })
}

impl Store {
    /// One meeting.
    pub async fn meeting(&self, id: &str) -> Result<Meeting, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM meetings WHERE id = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(self.complete(meeting(&r)?).await?),
            None => Err(StoreError::not_found("meeting")),
        }
    }

    /// The meetings that can have an occurrence overlapping `[from, to)` (cancelled ones
    /// too), in order of first start; with `endpoint`, only those it is rostered in.
    pub async fn meetings_between(
        &self,
        from: i64,
        to: i64,
        endpoint: Option<&str>,
    ) -> Result<Vec<Meeting>, StoreError> {
        let rows = match endpoint {
            None => {
                let q = format!(
                    "SELECT {COLUMNS} FROM meetings WHERE start_at < ? AND last_end_at > ? \
                     ORDER BY start_at, id"
                );
                sqlx::query(&self.sql(&q))
                    .bind(to)
                    .bind(from)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(e) => {
                let q = format!(
                    "SELECT {COLUMNS} FROM meetings WHERE start_at < ? AND last_end_at > ? \
                     AND id IN (SELECT meeting_id FROM meeting_roster WHERE endpoint_id = ?) \
                     ORDER BY start_at, id"
                );
                sqlx::query(&self.sql(&q))
                    .bind(to)
                    .bind(from)
                    .bind(e)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        self.complete_all(&rows).await
    }

    /// Every meeting `endpoint` is rostered in, in order of first start.
    pub async fn meetings_of_endpoint(&self, endpoint: &str) -> Result<Vec<Meeting>, StoreError> {
        self.meetings_between(i64::MIN, i64::MAX, Some(endpoint))
            .await
    }

    /// Store a new meeting, `spec` already validated. Every terminal must exist, and none
    /// may be in another meeting at the same time ([`StoreError::DoubleBooked`]).
    pub async fn create_meeting(
        &self,
        spec: &MeetingSpec,
        created_by: &str,
    ) -> Result<Meeting, StoreError> {
        let _write = self.meeting_writes.lock().await;
        self.require_terminals(spec).await?;
        self.refuse_double_booking(spec, None).await?;
        let t = now();
        let m = Meeting {
            id: new_id(),
            spec: spec.clone(),
            created_by: created_by.to_string(),
            created_at: t,
            updated_at: t,
            revision: 1,
        };
        let mut tx = self.pool.begin().await?;
        let q = format!(
            "INSERT INTO meetings ({COLUMNS}, last_end_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        sqlx::query(&self.sql(&q))
            .bind(&m.id)
            .bind(&spec.title)
            .bind(&spec.agenda)
            .bind(spec.start_utc.timestamp())
            .bind(spec.end_utc.timestamp())
            .bind(&spec.host_terminal_id)
            .bind(mode_text(spec.mode))
            .bind(recurrence_json(spec))
            .bind(i64::from(spec.cancelled))
            .bind(&m.created_by)
            .bind(m.created_at)
            .bind(m.updated_at)
            .bind(m.revision)
            .bind(series_end(spec).timestamp())
            .execute(&mut *tx)
            .await?;
        self.write_lists(&mut tx, &m.id, spec).await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Replace a meeting's spec (validated). With `revision`, refuse the change if the
    /// meeting changed since that revision was read.
    pub async fn update_meeting(
        &self,
        id: &str,
        spec: &MeetingSpec,
        revision: Option<i64>,
    ) -> Result<Meeting, StoreError> {
        let _write = self.meeting_writes.lock().await;
        let old = self.meeting(id).await?;
        if revision.is_some_and(|r| r != old.revision) {
            return Err(StoreError::conflict(
                "revision",
                format!(
                    "the meeting was changed meanwhile (now at revision {}); reload it",
                    old.revision
                ),
            ));
        }
        self.require_terminals(spec).await?;
        self.refuse_double_booking(spec, Some(id)).await?;
        let m = Meeting {
            spec: spec.clone(),
            updated_at: now(),
            revision: old.revision + 1,
            ..old
        };
        let mut tx = self.pool.begin().await?;
        let q = "UPDATE meetings SET title = ?, agenda = ?, start_at = ?, end_at = ?, \
                 last_end_at = ?, host_endpoint_id = ?, mode = ?, recurrence = ?, \
                 cancelled = ?, updated_at = ?, revision = ? WHERE id = ?";
        sqlx::query(&self.sql(q))
            .bind(&spec.title)
            .bind(&spec.agenda)
            .bind(spec.start_utc.timestamp())
            .bind(spec.end_utc.timestamp())
            .bind(series_end(spec).timestamp())
            .bind(&spec.host_terminal_id)
            .bind(mode_text(spec.mode))
            .bind(recurrence_json(spec))
            .bind(i64::from(spec.cancelled))
            .bind(m.updated_at)
            .bind(m.revision)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for table in ["meeting_roster", "meeting_cancelled_occurrences"] {
            let q = format!("DELETE FROM {table} WHERE meeting_id = ?");
            sqlx::query(&self.sql(&q))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        self.write_lists(&mut tx, id, spec).await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Call off the whole meeting (idempotent). It stays in the store, for the record.
    pub async fn cancel_meeting(&self, id: &str) -> Result<Meeting, StoreError> {
        let _write = self.meeting_writes.lock().await;
        let q = "UPDATE meetings SET cancelled = 1, updated_at = ?, revision = revision + 1 \
                 WHERE id = ? AND cancelled = 0";
        sqlx::query(&self.sql(q))
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.meeting(id).await
    }

    /// Call off the occurrence on local date `date`; the caller has checked that one
    /// falls on it. Idempotent.
    pub async fn cancel_occurrence(
        &self,
        id: &str,
        date: NaiveDate,
    ) -> Result<Meeting, StoreError> {
        let _write = self.meeting_writes.lock().await;
        let m = self.meeting(id).await?;
        if m.spec.cancelled_occurrences.contains(&date) {
            return Ok(m);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(&self.sql(
            "INSERT INTO meeting_cancelled_occurrences (meeting_id, local_date) VALUES (?, ?)",
        ))
        .bind(id)
        .bind(date.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            &self.sql("UPDATE meetings SET updated_at = ?, revision = revision + 1 WHERE id = ?"),
        )
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.meeting(id).await
    }

    /// The first meeting (by start) whose roster holds `endpoint`, if any: a terminal on
    /// a roster is not deleted, so that meetings and their record keep their rooms.
    pub(super) async fn meeting_rostering(
        &self,
        endpoint: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let q = "SELECT m.id AS id, m.title AS title FROM meetings m \
                 JOIN meeting_roster r ON r.meeting_id = m.id \
                 WHERE r.endpoint_id = ? ORDER BY m.start_at, m.id LIMIT 1";
        let row = sqlx::query(&self.sql(q))
            .bind(endpoint)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("title")?)))
            .transpose()?)
    }

    /// 404 naming the field for a host or roster terminal that does not exist.
    async fn require_terminals(&self, spec: &MeetingSpec) -> Result<(), StoreError> {
        let named = std::iter::once(("host_endpoint_id", &spec.host_terminal_id))
            .chain(spec.roster.iter().map(|id| ("roster", id)));
        for (field, id) in named {
            if let Err(StoreError::NotFound { .. }) = self.endpoint(id).await {
                return Err(StoreError::NotFound {
                    what: "endpoint",
                    field: Some(field),
                });
            }
        }
        Ok(())
    }

    /// Load the stored meetings sharing a terminal with `spec` whose span can meet its
    /// span, and refuse `spec` if one of their occurrences overlaps one of its own.
    async fn refuse_double_booking(
        &self,
        spec: &MeetingSpec,
        editing: Option<&str>,
    ) -> Result<(), StoreError> {
        if spec.cancelled {
            return Ok(());
        }
        let marks = vec!["?"; spec.roster.len()].join(", ");
        let q = format!(
            "SELECT {COLUMNS} FROM meetings WHERE cancelled = 0 AND start_at < ? \
             AND last_end_at > ? AND id IN \
             (SELECT meeting_id FROM meeting_roster WHERE endpoint_id IN ({marks})) \
             ORDER BY start_at, id"
        );
        let q = self.sql(&q);
        let mut query = sqlx::query(&q)
            .bind(series_end(spec).timestamp())
            .bind(spec.start_utc.timestamp());
        for id in &spec.roster {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let existing: Vec<(String, String, MeetingSpec)> = self
            .complete_all(&rows)
            .await?
            .into_iter()
            .map(|m| (m.id, m.spec.title.clone(), m.spec))
            .collect();
        let found = conflicts(spec, editing, &existing);
        if found.is_empty() {
            return Ok(());
        }
        let first = &found[0];
        let terminal = self
            .endpoint(&first.terminal_id)
            .await
            .map_or_else(|_| first.terminal_id.clone(), |e| e.name);
        Err(StoreError::DoubleBooked {
            terminal,
            conflicts: found,
        })
    }

    async fn write_lists(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
        spec: &MeetingSpec,
    ) -> Result<(), StoreError> {
        for (position, endpoint) in spec.roster.iter().enumerate() {
            sqlx::query(&self.sql(
                "INSERT INTO meeting_roster (meeting_id, endpoint_id, position) VALUES (?, ?, ?)",
            ))
            .bind(id)
            .bind(endpoint)
            .bind(position as i64)
            .execute(&mut **tx)
            .await?;
        }
        for date in &spec.cancelled_occurrences {
            sqlx::query(&self.sql(
                "INSERT INTO meeting_cancelled_occurrences (meeting_id, local_date) VALUES (?, ?)",
            ))
            .bind(id)
            .bind(date.to_string())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    async fn complete_all(&self, rows: &[AnyRow]) -> Result<Vec<Meeting>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.complete(meeting(row)?).await?);
        }
        Ok(out)
    }

    /// Add the roster (in the order entered) and the cancelled dates to a row's meeting.
    async fn complete(&self, mut m: Meeting) -> Result<Meeting, StoreError> {
        let roster =
            sqlx::query(&self.sql(
                "SELECT endpoint_id FROM meeting_roster WHERE meeting_id = ? ORDER BY position",
            ))
            .bind(&m.id)
            .fetch_all(&self.pool)
            .await?;
        m.spec.roster = roster
            .iter()
            .map(|r| r.try_get("endpoint_id"))
            .collect::<Result<_, _>>()?;
        let dates = sqlx::query(&self.sql(
            "SELECT local_date FROM meeting_cancelled_occurrences WHERE meeting_id = ? \
             ORDER BY local_date",
        ))
        .bind(&m.id)
        .fetch_all(&self.pool)
        .await?;
        for r in &dates {
            let text: String = r.try_get("local_date")?;
            let date = text
                .parse()
                .map_err(|_| corrupt("cancelled local_date", &text))?;
            m.spec.cancelled_occurrences.push(date);
        }
        Ok(m)
    }
}

fn recurrence_json(spec: &MeetingSpec) -> Option<String> {
    spec.recurrence
        .as_ref()
        // A derived Serialize of plain fields cannot fail.
        .map(|r| serde_json::to_string(r).expect("recurrence serialises"))
}
