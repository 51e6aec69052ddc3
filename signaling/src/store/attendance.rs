//! Attendance records: who joined, left or dropped out of a meeting occurrence, when.

use sqlx::Row;

use super::{Store, StoreError};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceEvent {
    /// It joined the room.
    Join,
    /// It left on purpose.
    Leave,
    /// Its connection was lost.
    Drop,
}

impl AttendanceEvent {
    /// As stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AttendanceEvent::Join => "join",
            AttendanceEvent::Leave => "leave",
            AttendanceEvent::Drop => "drop",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "join" => Some(AttendanceEvent::Join),
            "leave" => Some(AttendanceEvent::Leave),
            "drop" => Some(AttendanceEvent::Drop),
            _ => None,
        }
    }
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRecord {
    /// Unique, made when the event happened.
    pub id: String,
    pub meeting_id: String,
    pub occurrence: u32,
    /// The terminal (endpoint) id.
    pub endpoint_id: String,
    /// Its name then.
    pub name: String,
    pub event: AttendanceEvent,
    /// Unix milliseconds.
    pub at_ms: i64,
}

impl Store {
    /// Store a record. Storing the same record (same id) again is not an error, so a
    /// write retried after a lost answer is safe.
    pub async fn record_attendance(&self, r: &AttendanceRecord) -> Result<(), StoreError> {
        let q =
            "INSERT INTO attendance (id, meeting_id, occurrence, endpoint_id, name, event, at_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)";
        let done = sqlx::query(&self.sql(q))
            .bind(&r.id)
            .bind(&r.meeting_id)
            .bind(i64::from(r.occurrence))
            .bind(&r.endpoint_id)
            .bind(&r.name)
            .bind(r.event.as_str())
            .bind(r.at_ms)
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The records of one occurrence, in time order.
    pub async fn attendance(
        &self,
        meeting_id: &str,
        occurrence: u32,
    ) -> Result<Vec<AttendanceRecord>, StoreError> {
        let q = "SELECT id, meeting_id, occurrence, endpoint_id, name, event, at_ms \
                 FROM attendance WHERE meeting_id = ? AND occurrence = ? ORDER BY at_ms, id";
        let rows = sqlx::query(&self.sql(q))
            .bind(meeting_id)
            .bind(i64::from(occurrence))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let event: String = row.try_get("event")?;
                let occurrence: i64 = row.try_get("occurrence")?;
                Ok(AttendanceRecord {
                    id: row.try_get("id")?,
                    meeting_id: row.try_get("meeting_id")?,
                    occurrence: u32::try_from(occurrence).map_err(|_| {
                        sqlx::Error::Decode(format!("attendance.occurrence: {occurrence}").into())
                    })?,
                    endpoint_id: row.try_get("endpoint_id")?,
                    name: row.try_get("name")?,
                    event: AttendanceEvent::parse(&event).ok_or_else(|| {
                        sqlx::Error::Decode(format!("attendance.event: {event}").into())
                    })?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
