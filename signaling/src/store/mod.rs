//! Storage of the registry (organisation units, room terminals, staff) in SQLite (a file
//! in the data directory, the default) or PostgreSQL (`DATABASE_URL`), through one
//! `sqlx::AnyPool` and one set of queries. The SQL is portable: `?` placeholders
//! (rewritten to `$n` for PostgreSQL), TEXT ids made in Rust, BIGINT unix seconds and
//! 0/1 flags. There is no storage trait: both databases run the same code, and tests use
//! SQLite in a temp dir (and PostgreSQL when `HOINGHI_TEST_DATABASE_URL` is set).

mod attendance;
mod endpoints;
mod meetings;
mod staff;
mod units;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;

pub use attendance::{AttendanceEvent, AttendanceRecord};
pub use endpoints::{Endpoint, EndpointPatch, NewEndpoint};
pub use meetings::Meeting;
pub use staff::{NewStaff, Role, Staff, StaffPatch};
pub use units::{NewUnit, Unit, UnitPatch};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The database file's name in the data directory.
pub const SQLITE_FILE: &str = "hoinghi.db";

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record, or one it refers to, does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for ("unit", "endpoint", "staff").
        what: &'static str,
        /// The request field that named it, when it was a reference.
        field: Option<&'static str>,
    },
    /// A uniqueness or integrity rule refused the change.
    #[error("{message}")]
    Conflict {
        /// The field at fault.
        field: &'static str,
        /// Why, for people.
        message: String,
    },
    /// A room terminal would be in two meetings at once.
    #[error("room terminal {terminal} is already booked at that time")]
    DoubleBooked {
        /// The first terminal in conflict, by name.
        terminal: String,
        /// Every clash, sorted by time (at least one).
        conflicts: Vec<crate::schedule::Conflict>,
    },
    /// The database URL names no supported database.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    fn not_found(what: &'static str) -> Self {
        StoreError::NotFound { what, field: None }
    }

    fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            field,
            message: message.into(),
        }
    }
}

/// Map a unique-constraint violation to a conflict on `field`.
fn unique(field: &'static str, message: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::conflict(field, message),
        _ => StoreError::Database(e),
    }
}

/// The registry's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Held by every meeting write: see `meetings.rs`.
    meeting_writes: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Open `database_url` if given, else `DATA_DIR/hoinghi.db` (created on first run),
    /// and bring its schema up to date.
    pub async fn open_in(data_dir: &Path, database_url: Option<&str>) -> Result<Store, StoreError> {
        match database_url {
            Some(url) => Store::open(url).await,
            None => {
                std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                let file = data_dir.join(SQLITE_FILE);
                Store::open(&format!("sqlite://{}?mode=rwc", file.display())).await
            }
        }
    }

    /// Open the database at `url` (`sqlite://…` or `postgres://…`) and migrate it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .connect(url)
            .await?;
        if backend == Backend::Sqlite {
            // Readers do not wait for the writer; persistent in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            meeting_writes: Arc::default(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query (the readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool (tests reopen the same database).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `query` with `?` placeholders in this database's dialect.
    fn sql<'q>(&self, query: &'q str) -> Cow<'q, str> {
        match self.backend {
            Backend::Sqlite => Cow::Borrowed(query),
            Backend::Postgres => Cow::Owned(numbered_placeholders(query)),
        }
    }
}

/// `?` → `$1`, `$2`, …, outside string literals.
fn numbered_placeholders(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    let mut n = 0;
    let mut in_string = false;
    for c in query.chars() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A new random id: 128 bits, hex.
pub fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn now() -> i64 {
    crate::access::unix_now() as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_outside_strings() {
        assert_eq!(
            super::numbered_placeholders("SELECT '?' FROM t WHERE a = ? AND b = ?"),
            "SELECT '?' FROM t WHERE a = $1 AND b = $2"
        );
    }
}
