//! Two real `tessera serve` processes on one PostgreSQL database: what one
//! instance changes, the other enforces within a second.

use crate::harness::{Backend, ServerProcess, TestDb, basic, create_client, seed_organization_at};

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Two instances on one PostgreSQL database with organisation `acme`
/// (administrator `admin-acme`); also used by `change_polling`.
pub(crate) struct Cluster {
    pub(crate) _db: TestDb,
    pub(crate) a: ServerProcess,
    pub(crate) b: ServerProcess,
    pub(crate) http: reqwest::Client,
}

impl Cluster {
    async fn start() -> Cluster {
        Cluster::start_with(&[]).await
    }

    /// Both instances started with `flags`.
    pub(crate) async fn start_with(flags: &[&str]) -> Cluster {
        let db = TestDb::new(Backend::Postgres).await;
        seed_organization_at(&db.url, "acme");
        let a = ServerProcess::start(&db.url, "serve", flags);
        let b = ServerProcess::start(&db.url, "serve", flags);
        Cluster {
            _db: db,
            a,
            b,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(server: &ServerProcess, path: &str) -> String {
        format!("http://{}{path}", server.address)
    }

    /// A full-access key made through instance A: (id, raw key).
    pub(crate) async fn create_key(&self) -> (String, String) {
        let created: Value = self
            .http
            .post(Self::url(&self.a, "/api/v1/api-keys"))
            .header("authorization", basic("admin-acme"))
            .json(&json!({"name": "shared"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            created["id"].as_str().unwrap().to_owned(),
            created["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes key `id` through instance A.
    pub(crate) async fn revoke(&self, id: &str) {
        let response = self
            .http
            .delete(Self::url(&self.a, &format!("/api/v1/api-keys/{id}")))
            .header("authorization", basic("admin-acme"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    pub(crate) async fn me_status(&self, server: &ServerProcess, key: &str) -> u16 {
        self.http
            .get(Self::url(server, "/api/v1/me"))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Time from `since` until `server` refuses `key`, polling without pause.
    pub(crate) async fn until_refused(
        &self,
        server: &ServerProcess,
        key: &str,
        since: Instant,
    ) -> Duration {
        loop {
            if self.me_status(server, key).await == 401 {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "the other instance still accepts the key after 5 s"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_instance_reaches_the_other_within_a_second() {
    let cluster = Cluster::start().await;
    let (id, key) = cluster.create_key().await;
    // A key made on A works on B at once, and B now holds it in its cache.
    assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);
    assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);

    let request_sent = Instant::now();
    let revoke = cluster
        .http
        .delete(Cluster::url(&cluster.a, &format!("/api/v1/api-keys/{id}")))
        .header("authorization", basic("admin-acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    let revoke_call = request_sent.elapsed();
    let revoked_at = Instant::now();
    // The instance that made the change refuses on the very next request.
    assert_eq!(cluster.me_status(&cluster.a, &key).await, 401);
    let on_b = cluster.until_refused(&cluster.b, &key, revoked_at).await;
    println!(
        "revocation measured: DELETE took {revoke_call:?}; instance B refused {on_b:?} after it returned"
    );
    assert!(on_b < Duration::from_secs(1), "instance B took {on_b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_all_on_one_instance_reaches_the_other_within_a_second() {
    let cluster = Cluster::start().await;
    let (_, first) = cluster.create_key().await;
    let (_, second) = cluster.create_key().await;
    for key in [&first, &second] {
        assert_eq!(cluster.me_status(&cluster.b, key).await, 200);
    }
    let started = Instant::now();
    let response = cluster
        .http
        .post(Cluster::url(&cluster.a, "/api/v1/api-keys/revoke-all"))
        .header("authorization", basic("admin-acme"))
        .json(&json!({"confirm": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for key in [&first, &second] {
        let delay = cluster.until_refused(&cluster.b, key, started).await;
        assert!(delay < Duration::from_secs(1), "instance B took {delay:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_notification_link_still_converges_within_a_second() {
    use sqlx::Connection;
    let cluster = Cluster::start().await;
    let (id, key) = cluster.create_key().await;
    assert_eq!(cluster.me_status(&cluster.b, &key).await, 200);

    // Cut every LISTEN connection to this database, as a network fault or
    // a connection reaper would.
    let mut admin = sqlx::PgConnection::connect(&cluster._db.url).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        cut.len() >= 2,
        "expected both instances' listeners, found {}",
        cut.len()
    );

    cluster.revoke(&id).await;
    let revoked_at = Instant::now();
    let on_b = cluster.until_refused(&cluster.b, &key, revoked_at).await;
    println!("revocation after the notification link dropped: instance B refused after {on_b:?}");
    assert!(on_b < Duration::from_secs(1), "instance B took {on_b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_block_on_one_instance_holds_on_the_other_within_a_second() {
    let cluster = Cluster::start().await;
    let (client_id, credential) = create_client(&cluster._db.url, "Payroll Co");
    let (_, key) = cluster.create_key().await;
    let status_on_b = || async {
        cluster
            .http
            .get(Cluster::url(&cluster.b, "/api/v1/me"))
            .header("x-api-key", &key)
            .header("x-api-client", &credential)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status_on_b().await, 200);
    let block_on_a = |method: reqwest::Method| {
        cluster
            .http
            .request(
                method,
                Cluster::url(
                    &cluster.a,
                    &format!("/api/v1/connected-clients/{client_id}/block"),
                ),
            )
            .header("authorization", basic("admin-acme"))
            .send()
    };

    for (method, expected) in [(reqwest::Method::PUT, 403), (reqwest::Method::DELETE, 200)] {
        assert_eq!(block_on_a(method.clone()).await.unwrap().status(), 200);
        let changed_at = Instant::now();
        while status_on_b().await != expected {
            assert!(
                changed_at.elapsed() < Duration::from_secs(5),
                "instance B still answers otherwise 5 s after {method}"
            );
        }
        let delay = changed_at.elapsed();
        println!("client {method} on A held on B after {delay:?}");
        assert!(delay < Duration::from_secs(1), "instance B took {delay:?}");
    }
}
