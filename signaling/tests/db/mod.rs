//! Databases for tests: SQLite in a temp dir always, and PostgreSQL when
//! `HOINGHI_TEST_DATABASE_URL` is set (CI sets it), each test in a fresh schema of its
//! own so that tests run in parallel.

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use signaling::store::Store;

/// The variable naming the PostgreSQL server for tests.
pub const PG_ENV: &str = "HOINGHI_TEST_DATABASE_URL";

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "hoinghi-{tag}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One test's database.
pub struct TestDb {
    pub store: Store,
    /// None: SQLite in `dir`.
    pub url: Option<String>,
    pub dir: TempDir,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// SQLite in a new temp dir, as the server opens it by default.
    pub async fn sqlite() -> TestDb {
        let dir = TempDir::new("db");
        let store = Store::open_in(dir.path(), None).await.expect("open SQLite");
        TestDb {
            store,
            url: None,
            dir,
            schema: None,
        }
    }

    /// A fresh schema on the PostgreSQL server of `HOINGHI_TEST_DATABASE_URL`, or None
    /// (with a line saying so) when it is not set.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(base) = std::env::var(PG_ENV) else {
            println!("{test}: PostgreSQL skipped ({PG_ENV} is not set)");
            return None;
        };
        let schema = format!("t{:016x}", rand::random::<u64>());
        let admin = sqlx::PgPool::connect(&base)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = Store::open(&url).await.expect("open PostgreSQL");
        Some(TestDb {
            store,
            url: Some(url),
            dir: TempDir::new("pgdb"),
            schema: Some((base, schema)),
        })
    }

    /// Both databases this run can test.
    pub async fn all(test: &str) -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        dbs.extend(TestDb::postgres(test).await);
        dbs
    }

    /// Close the pool and open the same database again.
    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = match &self.url {
            Some(url) => Store::open(url).await,
            None => Store::open_in(self.dir.path(), None).await,
        }
        .expect("reopen the database");
    }

    /// Drop the PostgreSQL schema.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((base, schema)) = &self.schema {
            let admin = sqlx::PgPool::connect(base).await.expect("connect");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await
                .expect("drop schema");
            admin.close().await;
        }
    }
}
