//! The hot path every API request pays for: verifying a presented key.
//!
//! `cargo bench -p tessera-access --bench verify`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use tessera_access::keys::{AccessEngine, EngineSettings, Presentation};
use tessera_core::credentials;
use tessera_core::permissions::Action;
use tessera_core::secret::{self, SecretKind};
use tessera_store::Backend;
use tessera_store::api_keys::{self, NewApiKey, Owner};

mod seed;

/// A database with one organisation, one administrator and one key; the
/// engine has the key in its cache.
async fn engine_with_one_key() -> (std::sync::Arc<AccessEngine>, String) {
    let (db, org_id, account) = seed::organization_with_administrator("sqlite::memory:").await;
    let mut tx = db.begin().await.expect("begin");
    let key = secret::generate(SecretKind::ApiKey);
    api_keys::create(
        &mut tx,
        &NewApiKey {
            organization_id: &org_id,
            name: "bench",
            key_hash: &key.hash,
            hint: &key.hint,
            owner: &Owner::Account(account.clone().into()),
            created_by: &account,
            permissions: None,
            role_id: None,
            expires_at: None,
            ip_allowlist: None,
            client_id: None,
            rate_limit: None,
        },
    )
    .await
    .expect("key");
    tx.commit().await.expect("commit");
    let (engine, _tasks) = AccessEngine::start(db, EngineSettings::for_backend(Backend::Sqlite));
    engine
        .lookup(&key.hash)
        .await
        .expect("warm")
        .expect("found");
    (engine, key.raw)
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (engine, raw) = runtime.block_on(engine_with_one_key());
    let client_ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

    c.bench_function(
        "verify: valid key, cache hit (parse + hash + lookup + checks + permission)",
        |b| {
            b.to_async(&runtime).iter(|| async {
                let presented = Presentation {
                    keys: vec![black_box(raw.as_str())],
                    organization: None,
                    client_credential: None,
                    client_ip,
                };
                let verdict = engine.verify(&presented).await.expect("valid");
                black_box(verdict.key.effective.allows("employees", Action::Read))
            })
        },
    );

    let mut tampered = raw.clone().into_bytes();
    tampered[20] = if tampered[20] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    c.bench_function("verify: bad checksum rejected", |b| {
        b.to_async(&runtime).iter(|| async {
            let presented = Presentation {
                keys: vec![black_box(tampered.as_str())],
                organization: None,
                client_credential: None,
                client_ip,
            };
            black_box(engine.verify(&presented).await.is_err())
        })
    });

    c.bench_function("parse: bad checksum rejected (no engine)", |b| {
        b.iter(|| black_box(credentials::api_key_hash(black_box(tampered.as_str())).is_err()))
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
