//! Databases that exist for one test: a SQLite file in a temporary
//! directory, or a PostgreSQL database created for the test and dropped after.

use super::Backend;
use tessera_store::{DatabaseUrl, Db, PoolSettings};

/// The PostgreSQL server tests create their databases on. It must be
/// reachable: PostgreSQL tests fail rather than skip when it is not.
fn postgres_admin_url() -> String {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "TESSERA_TEST_POSTGRES_URL must be set in CI (e.g. postgres://postgres@127.0.0.1:5432/test)"
            )
        }
        _ => "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin_url = postgres_admin_url();
                let name = format!(
                    "tessera_t_{}",
                    tessera_core::secret::random_base62(12).to_lowercase()
                );
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|err| {
                    panic!("PostgreSQL at {admin_url} is unreachable ({err}); start it or set TESSERA_TEST_POSTGRES_URL")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                TestDb {
                    url: with_database(&admin_url, &name),
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }

    pub async fn connect(&self) -> Db {
        let url = DatabaseUrl::parse(&self.url).expect("test database URL");
        Db::connect(&url, &PoolSettings::default())
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we could borrow, so the
        // database is removed from a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .ok()
            })
        })
        .join();
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[test]
fn database_names_are_swapped_in_postgres_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/test", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// One column of a migrated table, as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// The declared type, as the database spells it.
    pub declared_type: String,
    pub not_null: bool,
    /// The default expression, as the database spells it.
    pub default: Option<String>,
    pub primary_key: bool,
}

impl TestDb {
    /// Every column of every table the migrations made (not sqlx's own
    /// bookkeeping), by table name and then in declaration order.
    pub async fn columns(&self) -> Vec<Column> {
        use sqlx::{Connection, Row};
        if self.postgres.is_some() {
            let mut connection = sqlx::PgConnection::connect(&self.url).await.unwrap();
            let primary_keys: Vec<(String, String)> = sqlx::query_as(
                "SELECT k.table_name::text, k.column_name::text
                 FROM information_schema.table_constraints t
                 JOIN information_schema.key_column_usage k
                   ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema
                 WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = 'public'",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            sqlx::query(
                "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                        c.is_nullable::text, c.column_default::text
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                   AND c.table_name <> '_sqlx_migrations'
                 ORDER BY c.table_name, c.ordinal_position",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let table: String = row.get(0);
                let name: String = row.get(1);
                Column {
                    primary_key: primary_keys.contains(&(table.clone(), name.clone())),
                    table,
                    name,
                    declared_type: row.get(2),
                    not_null: row.get::<String, _>(3) == "NO",
                    default: row.get(4),
                }
            })
            .collect()
        } else {
            let mut connection = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query(
                "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                   AND m.name <> '_sqlx_migrations'
                 ORDER BY m.name, p.cid",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap()
            .into_iter()
            .map(|row| Column {
                table: row.get(0),
                name: row.get(1),
                declared_type: row.get(2),
                not_null: row.get::<i64, _>(3) != 0,
                default: row.get(4),
                primary_key: row.get::<i64, _>(5) != 0,
            })
            .collect()
        }
    }
}
