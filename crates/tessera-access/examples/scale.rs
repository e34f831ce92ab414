//! Key verification at scale: 1,000,000 keys in a SQLite database, a
//! bounded cache, and cache misses that are one indexed lookup.
//!
//! `cargo run --release -p tessera-access --example scale -- [KEYS] [CACHE_CAPACITY] [LOOKUPS]`
//!
//! Prints the insert time, the query plan of the verification lookup, the
//! latency of cache misses, and the process's resident memory as the cache
//! fills to its bound and stays there.

use std::time::{Duration, Instant};
use tessera_access::keys::{AccessEngine, EngineSettings};
use tessera_core::secret::{self, SecretHash, SecretKind};
use tessera_store::{Backend, on_pool};

#[path = "../benches/seed.rs"]
mod seed;

fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let keys = args.first().copied().unwrap_or(1_000_000);
    let capacity = args.get(1).copied().unwrap_or(10_000);
    let lookups = args.get(2).copied().unwrap_or(50_000);
    let dir = std::env::temp_dir().join(format!("tessera-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("scale.db").display());
    let (db, org_id, owner) = seed::organization_with_administrator(&url).await;

    // Keep the raw value of only the keys we will look up; the rest exist
    // in the database alone, as in production.
    let started = Instant::now();
    let mut sample: Vec<String> = Vec::with_capacity(lookups as usize);
    let batch = 500;
    let mut made = 0u64;
    while made < keys {
        let n = batch.min(keys - made);
        let mut sql = String::from(
            "INSERT INTO api_keys (id, organization_id, name, key_hash, hint, owner_account_id, created_by, created_at) VALUES ",
        );
        let mut rows = Vec::with_capacity(n as usize);
        for i in 0..n {
            let key = secret::generate(SecretKind::ApiKey);
            if (sample.len() as u64) < lookups && (made + i).is_multiple_of((keys / lookups).max(1))
            {
                sample.push(key.raw.clone());
            }
            rows.push((
                format!("key_{:012}", made + i),
                key.hash.as_str().to_owned(),
                key.hint,
            ));
        }
        for (i, _) in rows.iter().enumerate() {
            let base = i * 3;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, '{}', 'k', ${}, ${}, '{}', '{}', 0)",
                base + 1,
                org_id,
                base + 2,
                base + 3,
                owner,
                owner
            ));
        }
        on_pool!(&db, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (id, hash, hint) in &rows {
                query = query.bind(id).bind(hash).bind(hint);
            }
            query.execute(pool).await.expect("insert");
        });
        made += n;
    }
    println!(
        "inserted {keys} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let explained: Vec<(i64, i64, i64, String)> = on_pool!(&db, |pool| {
        sqlx::query_as("EXPLAIN QUERY PLAN SELECT id FROM api_keys WHERE key_hash = $1")
            .bind("x")
            .fetch_all(pool)
            .await
            .expect("explain")
    });
    for (_, _, _, detail) in explained {
        println!("query plan: {detail}");
    }

    let settings = EngineSettings {
        cache_capacity: capacity,
        cache_ttl: Duration::from_secs(3600),
        ..EngineSettings::for_backend(Backend::Sqlite)
    };
    let (engine, _tasks) = AccessEngine::start(db.clone(), settings);
    let before = resident_mib();
    let mut misses = Vec::with_capacity(sample.len());
    for (n, raw) in sample.iter().enumerate() {
        let hash = SecretHash::of(raw);
        let started = Instant::now();
        let found = engine.lookup(&hash).await.expect("lookup");
        misses.push(started.elapsed());
        assert!(found.is_some());
        if (n + 1) % (sample.len() / 5).max(1) == 0 {
            println!(
                "after {:>6} distinct lookups: {:>6} cached entries (capacity {capacity}), resident memory {:.1} MiB",
                n + 1,
                engine.cached_entries(),
                resident_mib()
            );
        }
    }
    misses.sort();
    let total: Duration = misses.iter().sum();
    println!(
        "cache-miss lookups: n={} mean {:?} p50 {:?} p99 {:?} max {:?}",
        misses.len(),
        total / misses.len() as u32,
        percentile(&misses, 0.5),
        percentile(&misses, 0.99),
        misses.last().copied().unwrap_or_default()
    );
    println!(
        "resident memory: {before:.1} MiB before lookups, {:.1} MiB after",
        resident_mib()
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
