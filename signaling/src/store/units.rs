//! Organisation units: a tree of any depth, kept as rows with a parent id. Levels are
//! free text ("Tỉnh", "Sở", "Xã"): structures change, so none is hard-coded.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use super::{new_id, now, unique, Store, StoreError};

/// An organisation unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Unit {
    pub id: String,
    /// None for a root (the province).
    pub parent_id: Option<String>,
    pub name: String,
    /// Free text: "Tỉnh", "Sở", "Xã", "Phường", …
    pub level: String,
    /// Unix seconds, UTC.
    pub created_at: i64,
    /// Unix seconds, UTC.
    pub updated_at: i64,
}

/// A unit to create.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub parent_id: Option<String>,
    pub name: String,
    pub level: String,
}

/// Changes to a unit; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UnitPatch {
    /// `Some(None)` makes the unit a root.
    pub parent_id: Option<Option<String>>,
    pub name: Option<String>,
    pub level: Option<String>,
}

const COLUMNS: &str = "id, parent_id, name, level, created_at, updated_at";
const DUPLICATE: &str = "a unit with this name already exists under the same parent";

fn unit(row: &AnyRow) -> Result<Unit, sqlx::Error> {
    Ok(Unit {
        id: row.try_get("id")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        level: row.try_get("level")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Every unit, ordered by name.
    pub async fn units(&self) -> Result<Vec<Unit>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM units ORDER BY name, id");
        let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(unit).collect::<Result<_, _>>()?)
    }

    /// One unit.
    pub async fn unit(&self, id: &str) -> Result<Unit, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM units WHERE id = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(unit(&r)?),
            None => Err(StoreError::not_found("unit")),
        }
    }

    /// Whether a unit with this name exists under this parent (NULL parents are never
    /// equal in a UNIQUE constraint, so roots are checked here).
    async fn sibling_named(
        &self,
        parent_id: Option<&str>,
        name: &str,
        except: Option<&str>,
    ) -> Result<bool, StoreError> {
        let rows = match parent_id {
            Some(p) => {
                let q = "SELECT id FROM units WHERE name = ? AND parent_id = ?";
                sqlx::query(&self.sql(q))
                    .bind(name)
                    .bind(p)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let q = "SELECT id FROM units WHERE name = ? AND parent_id IS NULL";
                sqlx::query(&self.sql(q))
                    .bind(name)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("id").ok())
            .any(|id| Some(id.as_str()) != except))
    }

    /// Create a unit under an existing parent (or as a root).
    pub async fn create_unit(&self, new: &NewUnit) -> Result<Unit, StoreError> {
        if let Some(parent) = &new.parent_id {
            self.unit(parent).await.map_err(|_| StoreError::NotFound {
                what: "parent unit",
                field: Some("parent_id"),
            })?;
        }
        if self
            .sibling_named(new.parent_id.as_deref(), &new.name, None)
            .await?
        {
            return Err(StoreError::conflict("name", DUPLICATE));
        }
        let t = now();
        let u = Unit {
            id: new_id(),
            parent_id: new.parent_id.clone(),
            name: new.name.clone(),
            level: new.level.clone(),
            created_at: t,
            updated_at: t,
        };
        let q = format!("INSERT INTO units ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)");
        sqlx::query(&self.sql(&q))
            .bind(&u.id)
            .bind(u.parent_id.clone())
            .bind(&u.name)
            .bind(&u.level)
            .bind(u.created_at)
            .bind(u.updated_at)
            .execute(&self.pool)
            .await?;
        Ok(u)
    }

    /// Change a unit. Moving it under itself or one of its descendants is refused.
    pub async fn update_unit(&self, id: &str, patch: &UnitPatch) -> Result<Unit, StoreError> {
        let mut u = self.unit(id).await?;
        if let Some(parent) = &patch.parent_id {
            if let Some(p) = parent {
                self.unit(p).await.map_err(|_| StoreError::NotFound {
                    what: "parent unit",
                    field: Some("parent_id"),
                })?;
                // Walk up from the new parent: meeting the unit itself means a cycle.
                let mut cursor = Some(p.clone());
                while let Some(c) = cursor {
                    if c == u.id {
                        return Err(StoreError::conflict(
                            "parent_id",
                            "a unit cannot be placed under itself or one of its own units",
                        ));
                    }
                    cursor = self.unit(&c).await?.parent_id;
                }
            }
            u.parent_id = parent.clone();
        }
        if let Some(name) = &patch.name {
            u.name = name.clone();
        }
        if let Some(level) = &patch.level {
            u.level = level.clone();
        }
        if self
            .sibling_named(u.parent_id.as_deref(), &u.name, Some(&u.id))
            .await?
        {
            return Err(StoreError::conflict("name", DUPLICATE));
        }
        u.updated_at = now();
        let q = "UPDATE units SET parent_id = ?, name = ?, level = ?, updated_at = ? WHERE id = ?";
        sqlx::query(&self.sql(q))
            .bind(u.parent_id.clone())
            .bind(&u.name)
            .bind(&u.level)
            .bind(u.updated_at)
            .bind(&u.id)
            .execute(&self.pool)
            .await
            .map_err(unique("name", DUPLICATE))?;
        Ok(u)
    }

    /// Delete a unit that has neither units nor terminals under it.
    pub async fn delete_unit(&self, id: &str) -> Result<(), StoreError> {
        self.unit(id).await?;
        for (table, column, why) in [
            (
                "units",
                "parent_id",
                "the unit has units under it; move or delete them first",
            ),
            (
                "endpoints",
                "unit_id",
                "the unit has room terminals; move or delete them first",
            ),
        ] {
            let q = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?");
            let n: i64 = sqlx::query(&self.sql(&q))
                .bind(id)
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
            if n > 0 {
                return Err(StoreError::conflict("id", why));
            }
        }
        sqlx::query(&self.sql("DELETE FROM units WHERE id = ?"))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                // Something was added under it meanwhile.
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                    StoreError::conflict("id", "the unit is no longer empty")
                }
                _ => StoreError::Database(e),
            })?;
        Ok(())
    }
}
