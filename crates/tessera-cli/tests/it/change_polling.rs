//! Cache invalidation without LISTEN/NOTIFY, as on CockroachDB: with
//! `--change-notifications off` no instance listens, and the change log's
//! poll alone carries a revocation to every instance within a second.

use crate::cluster::Cluster;
use crate::harness::{Backend, ServerProcess, TestDb};
use sqlx::Connection;
use std::time::{Duration, Instant};

const POLLING_ONLY: &[&str] = &["--change-notifications", "off"];

/// Connections of this database that are listening for notifications
/// (their last statement was a LISTEN).
async fn listening_connections(database_url: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(database_url).await.unwrap();
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let _ = admin.close().await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_notifications_off_a_revocation_reaches_the_other_instance_within_a_second() {
    let cluster = Cluster::start_with(POLLING_ONLY).await;
    let mut delays = Vec::new();
    // Several rounds, so the revocation lands at different points of B's
    // poll interval; the bound must hold for the worst of them.
    for _ in 0..3 {
        let (id, key) = cluster.create_key().await;
        // B verifies the key and so holds it in its cache.
        assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);
        assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);
        cluster.revoke(&id).await;
        let revoked_at = Instant::now();
        assert_eq!(cluster.me_status(&cluster.a, &key).await, 401);
        delays.push(cluster.until_refused(&cluster.b, &key, revoked_at).await);
    }
    println!("revocation with notifications off: instance B refused after {delays:?}");
    assert_eq!(listening_connections(&cluster._db.url).await, 0);
    for delay in delays {
        assert!(delay <= Duration::from_secs(1), "instance B took {delay:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_notifications_off_no_connection_listens() {
    // Once a revocation made through A has reached B, B's change follower
    // is past the point where it would have listened.
    let cluster = Cluster::start_with(POLLING_ONLY).await;
    let db = &cluster._db;
    let (id, key) = cluster.create_key().await;
    assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);
    cluster.revoke(&id).await;
    cluster
        .until_refused(&cluster.b, &key, Instant::now())
        .await;
    assert_eq!(
        listening_connections(&db.url).await,
        0,
        "an instance with notifications off listens"
    );

    // The same query sees an instance that does listen (the default).
    let _listening = ServerProcess::start(&db.url, "serve", &[]);
    let started = Instant::now();
    while listening_connections(&db.url).await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the default instance never listened"
        );
    }
}

/// How the database runs `sql` with `$1` bound to `bound`, one line per
/// plan node, after filling the log with 20,000 entries and gathering
/// statistics, so the planner chooses as it would in production.
async fn plan_on_a_full_log(backend: Backend, sql: &str, bound: i64) -> Vec<String> {
    let db = TestDb::new(backend).await;
    db.connect().await.migrate().await.unwrap();
    let fill = "INSERT INTO access_changes (scope, target, created_at)";
    match backend {
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{fill} SELECT 'key', 'key_' || n, n FROM generate_series(1, 20000) n"
            )))
            .execute(&mut connection)
            .await
            .unwrap();
            sqlx::query("ANALYZE access_changes")
                .execute(&mut connection)
                .await
                .unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
                .bind(bound)
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < 20000)
                 {fill} SELECT 'key', 'key_' || n, n FROM n"
            )))
            .execute(&mut connection)
            .await
            .unwrap();
            sqlx::query("ANALYZE")
                .execute(&mut connection)
                .await
                .unwrap();
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .bind(bound)
                    .fetch_all(&mut connection)
                    .await
                    .unwrap();
            rows.into_iter().map(|(_, _, _, detail)| detail).collect()
        }
    }
}

async fn the_poll_and_the_pruning_are_index_range_reads(backend: Backend) {
    use tessera_store::access_changes::{PRUNE_QUERY, SINCE_QUERY};
    let (poll_index, prune_index) = match backend {
        Backend::Postgres => (
            "Index Scan using access_changes_pkey",
            "access_changes_by_created_at",
        ),
        Backend::Sqlite => (
            "SEARCH access_changes USING INTEGER PRIMARY KEY (rowid>?)",
            "SEARCH access_changes USING INDEX access_changes_by_created_at (created_at<?)",
        ),
    };
    for (sql, bound, index) in [
        (SINCE_QUERY, 19_936, poll_index),
        (PRUNE_QUERY, 100, prune_index),
    ] {
        let plan = plan_on_a_full_log(backend, sql, bound).await;
        println!("{backend:?} plan of {sql}:\n  {}", plan.join("\n  "));
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{backend:?} does not read {sql} through {index}: {plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|line| line.contains("Seq Scan") || line.starts_with("SCAN")),
            "{backend:?} scans the table for {sql}: {plan:?}"
        );
    }
}

crate::on_both_backends!(the_poll_and_the_pruning_are_index_range_reads);
