//! Rolling upgrades: a release keeps working on a schema a newer release
//! migrated (docs/scaling.md, "Rolling upgrades"), so it must also start on
//! one. scripts/rolling-upgrade.sh runs a previous commit's binary for real.

use crate::harness::{Backend, TestDb, assert_succeeds, stderr, tessera};

async fn a_database_migrated_by_a_newer_release_still_starts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let pool = db.connect().await;
    pool.migrate().await.unwrap();
    let newer =
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES ($1, 'from a newer release', $2, $3, 0)";
    tessera_store::on_pool!(&pool, |connections| {
        sqlx::query(newer)
            .bind(99_990_101_i64)
            .bind(true)
            .bind(vec![0_u8; 48])
            .execute(connections)
            .await
            .unwrap()
            .rows_affected()
    });
    pool.close().await;

    let migrated = tessera(&db.url, &["migrate"]);
    assert_eq!(assert_succeeds(&migrated).trim(), "database is up to date");
    assert!(
        stderr(&migrated).contains("the database was migrated by a newer release"),
        "no warning: {}",
        stderr(&migrated)
    );
}

crate::on_both_backends!(a_database_migrated_by_a_newer_release_still_starts);
