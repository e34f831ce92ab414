//! Abuse that must not take the server down: floods of password guesses
//! (attempts counted before they are checked, Argon2 work bounded) and slow
//! or idle clients (header, body and keep-alive deadlines, connection caps).

use crate::harness::{Backend, TestApp, seed_organization};
use crate::on_both_backends;
use base64::Engine;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tessera_access::throttle::Backoff;
use tessera_server::{ConnectionSettings, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

on_both_backends!(
    concurrent_wrong_passwords_for_one_account_stop_at_the_limit,
    a_full_password_hashing_pool_answers_503_with_retry_after,
    half_a_request_head_is_closed_after_the_header_timeout,
    a_body_sent_too_slowly_is_refused_and_its_connection_closed,
    an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout,
    connections_beyond_the_cap_are_refused_while_open_ones_keep_working,
    connections_beyond_the_per_address_cap_are_refused_for_that_address_only,
);

/// Longest any scenario waits for the server to act on a deadline.
const PATIENCE: Duration = Duration::from_secs(20);

fn wrong_basic(username: &str) -> String {
    let credentials = format!("{username}:not the password");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// Sends `count` key-management requests at once with wrong passwords for
/// the usernames `username_of(n)`; returns the answers.
async fn wrong_passwords_at_once(
    app: &TestApp,
    count: usize,
    username_of: impl Fn(usize) -> String,
) -> Vec<reqwest::Response> {
    let requests = (0..count).map(|n| {
        app.http
            .get(app.url("/api/v1/api-keys"))
            .header("authorization", wrong_basic(&username_of(n)))
            .send()
    });
    all_at_once(requests).await
}

async fn all_at_once<F>(futures: impl Iterator<Item = F>) -> Vec<reqwest::Response>
where
    F: Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap().expect("request to the test server"));
    }
    responses
}

async fn concurrent_wrong_passwords_for_one_account_stop_at_the_limit(backend: Backend) {
    let config = ServerConfig {
        password_backoff: Backoff {
            free_failures: 3,
            first_wait: Duration::from_secs(60),
            longest_wait: Duration::from_secs(60),
        },
        password_failures_per_ip: 1_000,
        concurrent_password_checks: 64,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;

    let responses = wrong_passwords_at_once(&app, 20, |_| "admin-acme".to_owned()).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (3, 17), "{statuses:?}");

    let actions = app.audit_actions().await;
    let failures = actions.iter().filter(|a| *a == "login.failed").count();
    let throttled = actions.iter().filter(|a| *a == "login.throttled").count();
    assert_eq!((failures, throttled), (3, 17), "{actions:?}");
}

async fn a_full_password_hashing_pool_answers_503_with_retry_after(backend: Backend) {
    let config = ServerConfig {
        password_backoff: Backoff {
            free_failures: 1_000,
            first_wait: Duration::from_secs(1),
            longest_wait: Duration::from_secs(1),
        },
        password_failures_per_ip: 1_000,
        concurrent_password_checks: 1,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;

    let deadline = Instant::now() + PATIENCE;
    let busy = loop {
        let responses = wrong_passwords_at_once(&app, 8, |n| format!("guess-{n}")).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert!(
            statuses.iter().all(|s| *s == 401 || *s == 503),
            "{statuses:?}"
        );
        if let Some(busy) = responses.into_iter().find(|r| r.status() == 503) {
            break busy;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal while the only slot was taken"
        );
    };
    assert_eq!(busy.headers()["retry-after"], "1");
    let problem = crate::harness::assert_problem(busy, 503, "service_unavailable").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Too many sign-ins"),
        "{problem}"
    );
    // Refused for want of a slot, the attempts were neither checked nor
    // counted: only real checks were audited as failures.
    let actions = app.audit_actions().await;
    assert!(
        !actions.iter().any(|a| a == "login.throttled"),
        "{actions:?}"
    );
}

fn with_connections(connections: ConnectionSettings) -> ServerConfig {
    ServerConfig {
        connections,
        ..ServerConfig::default()
    }
}

/// Reads until the server closes the connection (end of stream or reset);
/// returns what was read. Fails if it stays open past [`PATIENCE`].
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0_u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

/// Sends a GET /healthz on an open connection and reads its whole answer.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("the connection stays open");
        assert!(n > 0, "closed before answering");
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

async fn half_a_request_head_is_closed_after_the_header_timeout(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        with_connections(ConnectionSettings {
            header_read_timeout: Duration::from_secs(1),
            ..ConnectionSettings::default()
        }),
    )
    .await;
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(
        !answer.contains("200 OK"),
        "an incomplete head was answered: {answer}"
    );

    // Someone who sends a whole request is served as ever.
    let mut prompt = TcpStream::connect(app.address).await.unwrap();
    assert!(healthz_on(&mut prompt).await.starts_with("HTTP/1.1 200"));
}

async fn a_body_sent_too_slowly_is_refused_and_its_connection_closed(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        with_connections(ConnectionSettings {
            body_read_timeout: Duration::from_secs(1),
            ..ConnectionSettings::default()
        }),
    )
    .await;
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    slow.write_all(
        b"POST /login HTTP/1.1\r\nHost: tessera\r\n\
          content-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nusername=a",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        answer.contains("The request body did not arrive in time"),
        "{answer}"
    );
}

async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        with_connections(ConnectionSettings {
            keep_alive_timeout: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(2),
            ..ConnectionSettings::default()
        }),
    )
    .await;
    let mut kept_alive = TcpStream::connect(app.address).await.unwrap();
    assert!(
        healthz_on(&mut kept_alive)
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert_eq!(read_until_closed(&mut kept_alive).await, "");
}

async fn connections_beyond_the_cap_are_refused_while_open_ones_keep_working(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        with_connections(ConnectionSettings {
            max_connections: 2,
            header_read_timeout: Duration::from_secs(60),
            ..ConnectionSettings::default()
        }),
    )
    .await;
    let mut working = TcpStream::connect(app.address).await.unwrap();
    assert!(healthz_on(&mut working).await.starts_with("HTTP/1.1 200"));
    let _idle = TcpStream::connect(app.address).await.unwrap();

    let mut over_the_cap = TcpStream::connect(app.address).await.unwrap();
    let refusal = read_until_closed(&mut over_the_cap).await;
    assert!(
        refusal.is_empty() || refusal.starts_with("HTTP/1.1 503"),
        "{refusal}"
    );

    let again = healthz_on(&mut working).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

async fn connect_from(ip: Ipv4Addr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

async fn connections_beyond_the_per_address_cap_are_refused_for_that_address_only(
    backend: Backend,
) {
    let app = TestApp::spawn_with(
        backend,
        with_connections(ConnectionSettings {
            max_connections_per_ip: 1,
            header_read_timeout: Duration::from_secs(60),
            ..ConnectionSettings::default()
        }),
    )
    .await;
    let crowded = Ipv4Addr::new(127, 0, 0, 1);
    let mut first = connect_from(crowded, app.address).await;
    assert!(healthz_on(&mut first).await.starts_with("HTTP/1.1 200"));

    let mut second = connect_from(crowded, app.address).await;
    let refusal = read_until_closed(&mut second).await;
    assert!(
        refusal.is_empty() || refusal.starts_with("HTTP/1.1 503"),
        "{refusal}"
    );

    let mut elsewhere = connect_from(Ipv4Addr::new(127, 0, 0, 2), app.address).await;
    assert!(healthz_on(&mut elsewhere).await.starts_with("HTTP/1.1 200"));
    assert!(healthz_on(&mut first).await.starts_with("HTTP/1.1 200"));
}
