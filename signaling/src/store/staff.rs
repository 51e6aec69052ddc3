//! Staff accounts: who logs in to the API, with which role. Passwords are stored as
//! argon2id PHC strings, never returned.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use super::{new_id, now, unique, Store, StoreError};

/// What a staff account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including staff accounts.
    Administrator,
    /// IT staff: units, room terminals and meetings.
    Scheduler,
    /// Read-only monitoring.
    Operator,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Scheduler => "scheduler",
            Role::Operator => "operator",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Administrator, Role::Scheduler, Role::Operator]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A staff account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Unix seconds, UTC.
    pub created_at: i64,
    /// Unix seconds, UTC.
    pub updated_at: i64,
}

/// An account to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StaffPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
}

const COLUMNS: &str = "id, username, display_name, role, created_at, updated_at";
const DUPLICATE: &str = "this username is taken";
const LAST_ADMIN: &str = "the last administrator cannot be removed or demoted";

fn staff(row: &AnyRow) -> Result<Staff, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Staff {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "role".into(),
            source: format!("unknown role {role:?}").into(),
        })?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Every account, ordered by username.
    pub async fn staff_list(&self) -> Result<Vec<Staff>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM staff ORDER BY username");
        let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(staff).collect::<Result<_, _>>()?)
    }

    /// One account.
    pub async fn staff(&self, id: &str) -> Result<Staff, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM staff WHERE id = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(staff(&r)?),
            None => Err(StoreError::not_found("staff account")),
        }
    }

    /// The account with this username and its password hash, for a login.
    pub async fn staff_login(&self, username: &str) -> Result<Option<(Staff, String)>, StoreError> {
        let q = format!("SELECT {COLUMNS}, password_hash FROM staff WHERE username = ?");
        let row = sqlx::query(&self.sql(&q))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some((staff(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    /// How many accounts there are.
    pub async fn staff_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM staff")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    async fn administrators(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query(&self.sql("SELECT COUNT(*) AS n FROM staff WHERE role = ?"))
                .bind(Role::Administrator.as_str())
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Create an account.
    pub async fn create_staff(&self, new: &NewStaff) -> Result<Staff, StoreError> {
        let t = now();
        let s = Staff {
            id: new_id(),
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            created_at: t,
            updated_at: t,
        };
        let q = "INSERT INTO staff (id, username, display_name, role, password_hash, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
        sqlx::query(&self.sql(q))
            .bind(&s.id)
            .bind(&s.username)
            .bind(&s.display_name)
            .bind(s.role.as_str())
            .bind(&new.password_hash)
            .bind(s.created_at)
            .bind(s.updated_at)
            .execute(&self.pool)
            .await
            .map_err(unique("username", DUPLICATE))?;
        Ok(s)
    }

    /// Change an account. Demoting the last administrator is refused.
    pub async fn update_staff(&self, id: &str, patch: &StaffPatch) -> Result<Staff, StoreError> {
        let mut s = self.staff(id).await?;
        if let Some(role) = patch.role {
            if s.role == Role::Administrator
                && role != Role::Administrator
                && self.administrators().await? <= 1
            {
                return Err(StoreError::conflict("role", LAST_ADMIN));
            }
            s.role = role;
        }
        if let Some(name) = &patch.display_name {
            s.display_name = name.clone();
        }
        s.updated_at = now();
        let q = "UPDATE staff SET display_name = ?, role = ?, updated_at = ? WHERE id = ?";
        sqlx::query(&self.sql(q))
            .bind(&s.display_name)
            .bind(s.role.as_str())
            .bind(s.updated_at)
            .bind(&s.id)
            .execute(&self.pool)
            .await?;
        if let Some(hash) = &patch.password_hash {
            sqlx::query(&self.sql("UPDATE staff SET password_hash = ? WHERE id = ?"))
                .bind(hash)
                .bind(&s.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(s)
    }

    /// Delete an account; the last administrator cannot be deleted.
    pub async fn delete_staff(&self, id: &str) -> Result<(), StoreError> {
        let s = self.staff(id).await?;
        if s.role == Role::Administrator && self.administrators().await? <= 1 {
            return Err(StoreError::conflict("id", LAST_ADMIN));
        }
        sqlx::query(&self.sql("DELETE FROM staff WHERE id = ?"))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// On first run (no account at all), create the administrator `admin` with this
    /// password hash. Returns whether it was created.
    pub async fn ensure_first_admin(&self, password_hash: &str) -> Result<bool, StoreError> {
        if self.staff_count().await? > 0 {
            return Ok(false);
        }
        let created = self
            .create_staff(&NewStaff {
                username: "admin".into(),
                display_name: "Quản trị hệ thống".into(),
                role: Role::Administrator,
                password_hash: password_hash.into(),
            })
            .await;
        match created {
            Ok(_) => Ok(true),
            // Another process created it meanwhile.
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
