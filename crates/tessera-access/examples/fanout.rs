//! Fan-out of the access change log: FOLLOWERS change followers (access
//! engines in this process, each with its own small pool, as that many
//! `tessera serve` instances would have) on one PostgreSQL database. Every
//! follower caches the same keys; then the keys are revoked one at a time,
//! each in a transaction with its change-log entry, as `tessera-ops` does,
//! and the example measures how long each follower takes to forget the key
//! (its cache no longer answers it), and the database connections in use.
//!
//! ```sh
//! cargo run --release -p tessera-access --example fanout -- on|off [FOLLOWERS] [REVOCATIONS] [POOL]
//! ```
//!
//! `on` follows with LISTEN/NOTIFY plus the poll (the default), `off` with
//! the poll alone. Defaults: 32 followers, 100 revocations, pools of 2.
//! `TESSERA_FANOUT_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) is the server: a fresh
//! database is made on it for the run and dropped after.

use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_access::keys::{AccessEngine, EngineSettings};
use tessera_core::access_change::AccessChange;
use tessera_core::id::OrganizationId;
use tessera_core::secret::{self, SecretHash, SecretKind};
use tessera_store::api_keys::{self, RevocationReason};
use tessera_store::{Backend, DatabaseUrl, Db, PoolSettings, access_changes, on_pool};

#[path = "../benches/seed.rs"]
mod seed;

struct Run {
    notifications: bool,
    followers: usize,
    revocations: usize,
    pool: u32,
}

impl Run {
    fn from_args() -> Run {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let number = |at: usize, default: usize| {
            args.get(at)
                .map(|text| text.parse().expect("counts are whole numbers"))
                .unwrap_or(default)
        };
        Run {
            notifications: match args.first().map(String::as_str) {
                Some("on") | None => true,
                Some("off") => false,
                Some(other) => panic!("the first argument is on or off, not {other}"),
            },
            followers: number(1, 32),
            revocations: number(2, 100),
            pool: u32::try_from(number(3, 2)).expect("a small pool"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(mut delays: Vec<Duration>) -> String {
    delays.sort();
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    )
}

/// A fresh database on the server, dropped when the run ends.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create() -> ScratchDatabase {
        let admin_url = std::env::var("TESSERA_FANOUT_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("tessera_fanout_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the database");
        let base = admin_url.rsplit_once('/').expect("a database URL").0;
        let url = format!("{base}/{name}");
        ScratchDatabase {
            admin_url,
            name,
            url,
        }
    }

    async fn drop_it(self) {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .expect("drop the database");
    }

    /// Connections to this database (all states), and those listening.
    async fn connections(&self) -> (i64, i64) {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE query ILIKE 'LISTEN%')
             FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&self.name)
        .fetch_one(&mut admin)
        .await
        .expect("pg_stat_activity")
    }

    /// Transactions committed in this database so far.
    async fn commits(&self) -> i64 {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
            .bind(&self.name)
            .fetch_one(&mut admin)
            .await
            .expect("pg_stat_database")
    }
}

/// Inserts `count` keys; returns their ids and hashes.
async fn seed_keys(
    db: &Db,
    organization: &str,
    owner: &str,
    count: usize,
) -> Vec<(String, SecretHash)> {
    let mut keys = Vec::with_capacity(count);
    for n in 0..count {
        let key = secret::generate(SecretKind::ApiKey);
        let id = format!("key_fanout{n:06}");
        on_pool!(db, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, organization_id, name, key_hash, hint, owner_account_id, created_by, created_at)
                 VALUES ($1, $2, 'fan-out', $3, $4, $5, $5, 0)",
            )
            .bind(&id)
            .bind(organization)
            .bind(key.hash.as_str())
            .bind(&key.hint)
            .bind(owner)
            .execute(pool)
            .await
            .expect("insert a key")
            .rows_affected()
        });
        keys.push((id, key.hash));
    }
    keys
}

async fn start_followers(run: &Run, url: &str) -> Vec<Arc<AccessEngine>> {
    let url = DatabaseUrl::parse(url).expect("database URL");
    let mut engines = Vec::with_capacity(run.followers);
    for _ in 0..run.followers {
        let pool = PoolSettings {
            max_connections: run.pool,
            ..PoolSettings::default()
        };
        let db = Db::connect(&url, &pool).await.expect("connect a follower");
        let settings = EngineSettings {
            cache_ttl: Duration::from_secs(3600),
            change_notifications: run.notifications,
            ..EngineSettings::for_backend(Backend::Postgres)
        };
        engines.push(AccessEngine::start(db, settings).0);
    }
    engines
}

/// Revokes `id` as an operation would: the key and its change-log entry in
/// one transaction. Returns when the commit returned.
async fn revoke(db: &Db, organization: &OrganizationId, id: &str) -> Instant {
    let mut tx = db.begin().await.expect("begin");
    api_keys::revoke(&mut tx, organization, id, RevocationReason::Revoked)
        .await
        .expect("revoke");
    access_changes::record(&mut tx, &AccessChange::Key(id.to_owned()))
        .await
        .expect("record the change");
    tx.commit().await.expect("commit");
    Instant::now()
}

/// How long after `committed` each follower stopped answering `hash` from
/// its cache; fails past ten seconds.
async fn until_forgotten(
    engines: &[Arc<AccessEngine>],
    hash: &SecretHash,
    committed: Instant,
) -> Vec<Duration> {
    let mut forgotten_after: Vec<Option<Duration>> = vec![None; engines.len()];
    while forgotten_after.iter().any(Option::is_none) {
        for (engine, after) in engines.iter().zip(forgotten_after.iter_mut()) {
            if after.is_none() && engine.cached(hash).is_none() {
                *after = Some(committed.elapsed());
            }
        }
        assert!(
            committed.elapsed() < Duration::from_secs(10),
            "a follower still holds a revoked key after 10 s"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    forgotten_after.into_iter().flatten().collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let run = Run::from_args();
    let scratch = ScratchDatabase::create().await;
    let (db, organization, owner) = seed::organization_with_administrator(&scratch.url).await;
    let organization = OrganizationId::from(organization);
    // One key more than revoked: the first revocation proves every
    // follower is following before anything is measured.
    let keys = seed_keys(&db, organization.as_str(), &owner, run.revocations + 1).await;
    let engines = start_followers(&run, &scratch.url).await;
    for engine in &engines {
        for (_, hash) in &keys {
            engine
                .lookup(hash)
                .await
                .expect("lookup")
                .expect("the key exists");
        }
    }
    let (warm_id, warm_hash) = &keys[0];
    until_forgotten(
        &engines,
        warm_hash,
        revoke(&db, &organization, warm_id).await,
    )
    .await;

    let idle_commits = scratch.commits().await;
    let idle_window = Duration::from_secs(5);
    tokio::time::sleep(idle_window).await;
    let idle_rate = (scratch.commits().await - idle_commits) as f64 / idle_window.as_secs_f64();

    let mut slowest = Vec::with_capacity(run.revocations);
    let mut every = Vec::with_capacity(run.revocations * run.followers);
    for (n, (id, hash)) in keys.iter().enumerate().skip(1) {
        // Spread the revocations over the poll interval's phases.
        tokio::time::sleep(Duration::from_millis((n as u64 * 37) % 100)).await;
        let delays = until_forgotten(&engines, hash, revoke(&db, &organization, id).await).await;
        slowest.push(delays.iter().copied().max().unwrap_or_default());
        every.extend(delays);
    }
    let (connections, listening) = scratch.connections().await;
    let seeding: u32 = on_pool!(&db, |pool| pool.size());
    println!(
        "followers {} (pools of {}), notifications {}, {} revocations",
        run.followers,
        run.pool,
        if run.notifications { "on" } else { "off" },
        run.revocations
    );
    println!(
        "  commit to the slowest follower forgetting the key: {}",
        summary(slowest)
    );
    println!(
        "  commit to each follower forgetting it: {}",
        summary(every)
    );
    println!(
        "  database connections of the followers: {} ({listening} listening); {seeding} more of the revoking pool",
        connections - i64::from(seeding)
    );
    println!("  database load at rest: {idle_rate:.0} transactions/s");
    drop(engines);
    db.close().await;
    scratch.drop_it().await;
}
