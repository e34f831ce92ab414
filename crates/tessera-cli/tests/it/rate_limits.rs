//! Rate limits: one bucket per organisation shared by its keys,
//! optional per-key limits, IETF headers, 429 with Retry-After, failed
//! authentication throttled per address; exact across instances with Redis.

use crate::harness::{
    Backend, RedisProcess, ServerProcess, TestApp, TestDb, assert_problem, assert_succeeds,
    assert_within_two_percent, basic, create_key, hammer, me, seed_organization,
    seed_organization_at, tessera,
};
use crate::on_both_backends;
use serde_json::json;
use std::time::{Duration, Instant};
use tessera_access::client_ip::TrustedProxies;
use tessera_server::ServerConfig;

on_both_backends!(
    burst_then_steady_rate_is_admitted_within_two_percent,
    keys_of_one_organisation_share_its_bucket,
    headers_count_down_and_refusals_say_when_to_retry,
    a_key_can_have_its_own_limit_on_top,
    failed_authentication_is_throttled_per_address,
);

async fn burst_then_steady_rate_is_admitted_within_two_percent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "100",
        "--burst",
        "50",
    ]));
    let key = create_key(&app, "admin-acme", json!({"name": "load"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (admitted, refused, elapsed) =
        hammer(&[app.url("")], &key, 4, Duration::from_secs(3)).await;
    assert!(refused > 0, "the load never reached the limit");
    assert_within_two_percent(admitted, 100.0, 50.0, elapsed);
}

async fn keys_of_one_organisation_share_its_bucket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "1",
        "--burst",
        "3",
    ]));
    let first = create_key(&app, "admin-acme", json!({"name": "one"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = create_key(&app, "admin-acme", json!({"name": "two"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = create_key(&app, "admin-globex", json!({"name": "globex"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for key in [&first, &first, &second] {
        assert_eq!(me(&app, key).await.status(), 200);
    }
    for key in [&first, &second] {
        assert_problem(me(&app, key).await, 429, "rate_limited").await;
    }
    for _ in 0..5 {
        assert_eq!(
            me(&app, &other).await.status(),
            200,
            "another organisation was limited"
        );
    }
}

async fn headers_count_down_and_refusals_say_when_to_retry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "1",
        "--burst",
        "5",
    ]));
    let key = create_key(&app, "admin-acme", json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let response = me(&app, &key).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-policy"], "\"org\";q=5;w=5");
        let state = response.headers()["ratelimit"].to_str().unwrap().to_owned();
        let r: u32 = state
            .split(";r=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let t: u64 = state.split(";t=").nth(1).unwrap().parse().unwrap();
        assert!(state.starts_with("\"org\";r="), "{state}");
        assert!((1..=5).contains(&t), "{state}");
        remaining.push(r);
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);
    let refused = me(&app, &key).await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(
        refused.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"org\";r=0;")
    );
    let problem = assert_problem(refused, 429, "rate_limited").await;
    assert_eq!(problem["message"], "Too Many Requests");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("this organization's rate limit"),
        "{detail}"
    );
}

async fn a_key_can_have_its_own_limit_on_top(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let limited = create_key(
        &app,
        "admin-acme",
        json!({"name": "slow", "rate_limit": {"per_second": 1, "burst": 2}}),
    )
    .await;
    assert_eq!(limited["rate_limit"], json!({"per_second": 1, "burst": 2}));
    let limited = limited["key"].as_str().unwrap().to_owned();
    let free = create_key(&app, "admin-acme", json!({"name": "fast"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let response = me(&app, &limited).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"org\";q=200;w=2, \"key\";q=2;w=2"
        );
    }
    // The refusal blames the key's own limit, not the organisation's.
    let problem = assert_problem(me(&app, &limited).await, 429, "rate_limited").await;
    assert_eq!(problem["message"], "Too Many Requests");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("this API key's own rate limit"), "{detail}");
    assert_eq!(me(&app, &free).await.status(), 200);
    let invalid = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&json!({"name": "x", "rate_limit": {"per_second": 0, "burst": 1}})),
        )
        .await;
    assert_problem(invalid, 400, "invalid_request").await;
}

async fn failed_authentication_is_throttled_per_address(backend: Backend) {
    let config = ServerConfig {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        auth_failures_per_minute: 5,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "real"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = |address: &'static str, key: String| {
        app.http
            .get(app.url("/api/v1/me"))
            .header("x-api-key", key)
            .header("x-forwarded-for", address)
            .send()
    };
    for _ in 0..5 {
        let sprayed = tessera_core::secret::generate(tessera_core::secret::SecretKind::ApiKey).raw;
        assert_problem(
            from("198.51.100.66", sprayed).await.unwrap(),
            401,
            "invalid_api_key",
        )
        .await;
    }
    // The spraying address is refused before any lookup, even with a real key…
    let throttled = from("198.51.100.66", key.clone()).await.unwrap();
    assert!(throttled.headers().contains_key("retry-after"));
    assert_problem(throttled, 429, "rate_limited").await;
    // …while the organisation's key keeps working from everywhere else.
    assert_eq!(from("203.0.113.10", key).await.unwrap().status(), 200);
}

struct RedisCluster {
    _db: TestDb,
    redis: RedisProcess,
    servers: Vec<ServerProcess>,
    key: String,
}

impl RedisCluster {
    async fn start(rate: &str, burst: &str) -> RedisCluster {
        let db = TestDb::new(Backend::Postgres).await;
        seed_organization_at(&db.url, "acme");
        assert_succeeds(&tessera(
            &db.url,
            &[
                "admin",
                "set-rate-limit",
                "--org",
                "acme",
                "--rate",
                rate,
                "--burst",
                burst,
            ],
        ));
        let redis = RedisProcess::start();
        let servers: Vec<_> = (0..2)
            .map(|_| ServerProcess::start(&db.url, "serve", &["--redis-url", &redis.url()]))
            .collect();
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{}/api/v1/api-keys", servers[0].address))
            .header("authorization", basic("admin-acme"))
            .json(&json!({"name": "shared"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        RedisCluster {
            _db: db,
            redis,
            key: created["key"].as_str().unwrap().to_owned(),
            servers,
        }
    }

    fn bases(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| format!("http://{}", s.address))
            .collect()
    }

    async fn metric(&self, server: usize, name: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.servers[server].address))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_with_redis_share_one_exact_limit() {
    let cluster = RedisCluster::start("50", "20").await;
    let (admitted, refused, elapsed) =
        hammer(&cluster.bases(), &cluster.key, 4, Duration::from_secs(3)).await;
    assert!(refused > 0, "the load never reached the limit");
    assert_within_two_percent(admitted, 50.0, 20.0, elapsed);
    for server in 0..2 {
        assert!(
            cluster
                .metric(
                    server,
                    "tessera_rate_limit_decisions_total{store=\"redis\"}"
                )
                .await
                > 0.0
        );
        assert_eq!(
            cluster
                .metric(server, "tessera_rate_limit_redis_fallbacks_total")
                .await,
            0.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_keep_serving_when_redis_stops_and_return_to_it() {
    let mut cluster = RedisCluster::start("1000", "1000").await;
    let bases = cluster.bases();
    let (admitted, _, _) = hammer(&bases, &cluster.key, 2, Duration::from_millis(300)).await;
    assert!(admitted > 0);

    cluster.redis.stop();
    // Every request still gets an answer: admitted under local limits.
    let (admitted, _, _) = hammer(&bases, &cluster.key, 2, Duration::from_millis(500)).await;
    assert!(admitted > 0, "nothing was served while Redis was down");
    for server in 0..2 {
        assert!(
            cluster
                .metric(server, "tessera_rate_limit_redis_fallbacks_total")
                .await
                > 0.0,
            "fallback not counted"
        );
    }

    let port = cluster.redis.port;
    cluster.redis = RedisProcess::start_on(port);
    let before: f64 = cluster
        .metric(0, "tessera_rate_limit_decisions_total{store=\"redis\"}")
        .await;
    let started = Instant::now();
    loop {
        hammer(&bases[..1], &cluster.key, 1, Duration::from_millis(200)).await;
        if cluster
            .metric(0, "tessera_rate_limit_decisions_total{store=\"redis\"}")
            .await
            > before
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the instance never returned to Redis"
        );
    }
    println!(
        "returned to Redis {:?} after it restarted",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_key_limit_holds_across_instances() {
    let cluster = RedisCluster::start("1000", "1000").await;
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!(
            "http://{}/api/v1/api-keys",
            cluster.servers[0].address
        ))
        .header("authorization", basic("admin-acme"))
        .json(&json!({"name": "slow", "rate_limit": {"per_second": 1, "burst": 3}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let mut statuses = Vec::new();
    for n in 0..4 {
        let response = http
            .get(format!(
                "http://{}/api/v1/me",
                cluster.servers[n % 2].address
            ))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}
