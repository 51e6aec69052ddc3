//! Room terminals ("điểm cầu"): where they are in the tree, their bitrate cap for weak
//! links, and the hash of their device credential.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use super::{new_id, now, unique, Store, StoreError};

/// A room terminal. The credential's hash is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub unit_id: String,
    pub name: String,
    pub location: String,
    /// The most the terminal may send and receive, in kbit/s; None: no cap.
    pub bitrate_cap_kbps: Option<i64>,
    /// A revoked terminal cannot authenticate until its credential is rotated.
    pub revoked: bool,
    /// Unix seconds, UTC.
    pub created_at: i64,
    /// Unix seconds, UTC.
    pub updated_at: i64,
}

/// A terminal to create.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub unit_id: String,
    pub name: String,
    pub location: String,
    pub bitrate_cap_kbps: Option<i64>,
}

/// Changes to a terminal; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub unit_id: Option<String>,
    pub name: Option<String>,
    pub location: Option<String>,
    /// `Some(None)` removes the cap.
    pub bitrate_cap_kbps: Option<Option<i64>>,
}

const COLUMNS: &str =
    "id, unit_id, name, location, bitrate_cap_kbps, revoked, created_at, updated_at";
const DUPLICATE: &str = "a room terminal with this name already exists in the unit";

fn endpoint(row: &AnyRow) -> Result<Endpoint, sqlx::Error> {
    Ok(Endpoint {
        id: row.try_get("id")?,
        unit_id: row.try_get("unit_id")?,
        name: row.try_get("name")?,
        location: row.try_get("location")?,
        bitrate_cap_kbps: row.try_get("bitrate_cap_kbps")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Terminals, ordered by name: all, those of one unit, or (with `subtree`) those of
    /// a unit and every unit below it.
    pub async fn endpoints(
        &self,
        unit_id: Option<&str>,
        subtree: bool,
    ) -> Result<Vec<Endpoint>, StoreError> {
        let rows = match unit_id {
            None => {
                let q = format!("SELECT {COLUMNS} FROM endpoints ORDER BY name, id");
                sqlx::query(&q).fetch_all(&self.pool).await?
            }
            Some(unit) if subtree => {
                let q = format!(
                    "WITH RECURSIVE below (id) AS ( \
                       SELECT id FROM units WHERE id = ? \
                       UNION ALL SELECT u.id FROM units u JOIN below b ON u.parent_id = b.id) \
                     SELECT {COLUMNS} FROM endpoints WHERE unit_id IN (SELECT id FROM below) \
                     ORDER BY name, id"
                );
                sqlx::query(&self.sql(&q))
                    .bind(unit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(unit) => {
                let q =
                    format!("SELECT {COLUMNS} FROM endpoints WHERE unit_id = ? ORDER BY name, id");
                sqlx::query(&self.sql(&q))
                    .bind(unit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(endpoint).collect::<Result<_, _>>()?)
    }

    /// One terminal.
    pub async fn endpoint(&self, id: &str) -> Result<Endpoint, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM endpoints WHERE id = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(endpoint(&r)?),
            None => Err(StoreError::not_found("endpoint")),
        }
    }

    /// The terminal whose credential has this hash, revoked or not.
    pub async fn endpoint_by_credential(
        &self,
        credential_hash: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM endpoints WHERE credential_hash = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(credential_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(endpoint).transpose()?)
    }

    /// The hash of a terminal's current credential.
    pub async fn credential_hash(&self, id: &str) -> Result<String, StoreError> {
        let row = sqlx::query(&self.sql("SELECT credential_hash FROM endpoints WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(r.try_get("credential_hash")?),
            None => Err(StoreError::not_found("endpoint")),
        }
    }

    async fn require_unit(&self, unit_id: &str) -> Result<(), StoreError> {
        self.unit(unit_id).await.map(|_| ()).map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::NotFound {
                what: "unit",
                field: Some("unit_id"),
            },
            e => e,
        })
    }

    /// Register a terminal with the hash of its first credential.
    pub async fn create_endpoint(
        &self,
        new: &NewEndpoint,
        credential_hash: &str,
    ) -> Result<Endpoint, StoreError> {
        self.require_unit(&new.unit_id).await?;
        let t = now();
        let e = Endpoint {
            id: new_id(),
            unit_id: new.unit_id.clone(),
            name: new.name.clone(),
            location: new.location.clone(),
            bitrate_cap_kbps: new.bitrate_cap_kbps,
            revoked: false,
            created_at: t,
            updated_at: t,
        };
        let q = "INSERT INTO endpoints (id, unit_id, name, location, bitrate_cap_kbps, \
                 credential_hash, revoked, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)";
        sqlx::query(&self.sql(q))
            .bind(&e.id)
            .bind(&e.unit_id)
            .bind(&e.name)
            .bind(&e.location)
            .bind(e.bitrate_cap_kbps)
            .bind(credential_hash)
            .bind(e.created_at)
            .bind(e.updated_at)
            .execute(&self.pool)
            .await
            .map_err(unique("name", DUPLICATE))?;
        Ok(e)
    }

    /// Change a terminal's description.
    pub async fn update_endpoint(
        &self,
        id: &str,
        patch: &EndpointPatch,
    ) -> Result<Endpoint, StoreError> {
        let mut e = self.endpoint(id).await?;
        if let Some(unit) = &patch.unit_id {
            self.require_unit(unit).await?;
            e.unit_id = unit.clone();
        }
        if let Some(name) = &patch.name {
            e.name = name.clone();
        }
        if let Some(location) = &patch.location {
            e.location = location.clone();
        }
        if let Some(cap) = patch.bitrate_cap_kbps {
            e.bitrate_cap_kbps = cap;
        }
        e.updated_at = now();
        let q = "UPDATE endpoints SET unit_id = ?, name = ?, location = ?, \
                 bitrate_cap_kbps = ?, updated_at = ? WHERE id = ?";
        sqlx::query(&self.sql(q))
            .bind(&e.unit_id)
            .bind(&e.name)
            .bind(&e.location)
            .bind(e.bitrate_cap_kbps)
            .bind(e.updated_at)
            .bind(&e.id)
            .execute(&self.pool)
            .await
            .map_err(unique("name", DUPLICATE))?;
        Ok(e)
    }

    /// Replace a terminal's credential (the old one stops working at once) and lift a
    /// revocation: rotating is how a revoked terminal is brought back.
    pub async fn rotate_credential(
        &self,
        id: &str,
        credential_hash: &str,
    ) -> Result<Endpoint, StoreError> {
        let q =
            "UPDATE endpoints SET credential_hash = ?, revoked = 0, updated_at = ? WHERE id = ?";
        let done = sqlx::query(&self.sql(q))
            .bind(credential_hash)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("endpoint"));
        }
        self.endpoint(id).await
    }

    /// Revoke a terminal: it can no longer authenticate, and its sessions end.
    pub async fn revoke_endpoint(&self, id: &str) -> Result<Endpoint, StoreError> {
        let q = "UPDATE endpoints SET revoked = 1, updated_at = ? WHERE id = ?";
        let done = sqlx::query(&self.sql(q))
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("endpoint"));
        }
        self.endpoint(id).await
    }

    /// Delete a terminal, unless a meeting's roster holds it (past meetings too: the
    /// record of who attended names the room).
    pub async fn delete_endpoint(&self, id: &str) -> Result<(), StoreError> {
        if let Some((meeting, title)) = self.meeting_rostering(id).await? {
            return Err(StoreError::conflict(
                "id",
                format!(
                    "the room terminal is on the roster of the meeting \"{title}\" ({meeting}); \
                     take it off the roster first"
                ),
            ));
        }
        let done = sqlx::query(&self.sql("DELETE FROM endpoints WHERE id = ?"))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("endpoint"));
        }
        Ok(())
    }
}
