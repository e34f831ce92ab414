//! Starting Tessera for a test: fresh databases, an in-process server on a
//! random port, and the real binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use tessera_server::{AppState, ServerConfig};
use tessera_store::{DatabaseUrl, Db, PoolSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named scenario
/// `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::harness::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$scenario($crate::harness::Backend::Postgres).await
                }
            }
        )*
    };
}

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

/// A Tessera server running inside the test process.
pub struct TestApp {
    pub address: SocketAddr,
    pub db: Db,
    pub test_db: TestDb,
    pub http: reqwest::Client,
    /// Dropping it starts the server's graceful shutdown.
    _shutdown: tokio::sync::oneshot::Sender<()>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, ServerConfig::default()).await
    }

    pub async fn spawn_with(backend: Backend, config: ServerConfig) -> TestApp {
        let test_db = TestDb::new(backend).await;
        let db = test_db.connect().await;
        db.migrate().await.expect("migrate test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let address = listener.local_addr().expect("local address");
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(db.clone(), config).expect("valid test configuration");
        let server = tokio::spawn(tessera_server::serve(listener, state, async move {
            let _ = shutdown_rx.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        TestApp {
            address,
            db,
            test_db,
            http,
            _shutdown: shutdown,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A request as `username` (HTTP Basic with the test password), with an
    /// optional JSON body.
    pub async fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        username: &str,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("authorization", basic(username));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request to the test server")
    }

    pub async fn get_as(&self, path: &str, username: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::GET, path, username, None)
            .await
    }

    pub async fn get_json_as(&self, path: &str, username: &str) -> serde_json::Value {
        self.get_as(path, username)
            .await
            .json()
            .await
            .expect("JSON body")
    }

    /// A GET with the given headers, nothing else.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request to the test server")
    }

    /// Runs the real binary against this app's database.
    pub fn tessera(&self, args: &[&str]) -> Output {
        tessera(&self.test_db.url, args)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// Runs `tessera --database-url URL ARGS…` and returns what it did.
pub fn tessera(database_url: &str, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run the tessera binary")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the command failed with exactly one `error: …` line containing
/// `expected`, and no panic or backtrace.
pub fn assert_fails_with(output: &Output, expected: &str) {
    let err = stderr(output);
    assert!(
        !output.status.success(),
        "expected failure, got success; stdout: {}",
        stdout(output)
    );
    assert!(err.contains(expected), "stderr {err:?} lacks {expected:?}");
    assert!(
        err.starts_with("error: "),
        "stderr {err:?} is not one error line"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "stderr {err:?} has more than one line"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "stderr {err:?}"
    );
}

pub fn assert_succeeds(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: stdout {:?} stderr {:?}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

/// Creates organisation `slug` with an administrator `admin-<slug>` and an
/// employee `employee-<slug>`, both with the password `correct horse`.
pub fn seed_organization(app: &TestApp, slug: &str) {
    seed_organization_at(&app.test_db.url, slug);
}

/// [`seed_organization`] for a database no in-process app runs on.
pub fn seed_organization_at(database_url: &str, slug: &str) {
    let name = format!("{slug} Ltd");
    let admin = format!("admin-{slug}");
    let employee = format!("employee-{slug}");
    for args in [
        vec!["admin", "create-org", "--slug", slug, "--name", &name],
        vec![
            "admin",
            "create-user",
            "--org",
            slug,
            "--username",
            &admin,
            "--password",
            PASSWORD,
            "--role",
            "Administrator",
        ],
        vec![
            "admin",
            "create-user",
            "--org",
            slug,
            "--username",
            &employee,
            "--password",
            PASSWORD,
        ],
    ] {
        assert_succeeds(&tessera(database_url, &args));
    }
}

pub const PASSWORD: &str = "correct horse";

/// Creates an API client with `tessera admin create-client`: its id and
/// its credential, read from what the command prints.
pub fn create_client(database_url: &str, name: &str) -> (String, String) {
    let out = assert_succeeds(&tessera(
        database_url,
        &["admin", "create-client", "--name", name],
    ));
    let field = |label: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {out}"))
            .to_owned()
    };
    (field("client_id: "), field("credential: "))
}

/// The `Authorization` header value for `username` with the test password.
pub fn basic(username: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{PASSWORD}"))
    )
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

/// A real `tessera serve` (or `demo`) process, with its log lines.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: SocketAddr,
    pub stdout: String,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ServerProcess {
    /// Starts `tessera SUBCOMMAND --listen 127.0.0.1:0 …` and waits until it
    /// logs the address it listens on.
    pub fn start(database_url: &str, subcommand: &str, extra: &[&str]) -> ServerProcess {
        use std::io::{BufRead, BufReader, Read};
        use std::process::Stdio;
        let mut child = Command::new(binary())
            .arg(subcommand)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tessera");
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = ServerProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = process.wait_for_log("tessera listening on http://");
        let address: String = line
            .split("tessera listening on http://")
            .nth(1)
            .expect("address")
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
            .collect();
        process.address = address.parse().expect("listen address");
        if subcommand == "demo" {
            let mut stdout = process.child.stdout.take().expect("stdout");
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while !text.contains("Press Ctrl-C to stop.")
                && stdout.read(&mut byte).map(|n| n > 0).unwrap_or(false)
            {
                text.push(byte[0] as char);
            }
            process.stdout = text;
        }
        process
    }

    /// Every log line the process has written so far.
    pub fn drain_log(&mut self) -> Vec<String> {
        self.seen.extend(self.lines.try_iter());
        self.seen.clone()
    }

    /// Blocks until a log line containing `needle` appears (30 s at most).
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "tessera never logged {needle:?}; exit status {:?}",
                    self.child.try_wait()
                ),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit (30 s at most) and returns its status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "tessera did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis server of the test's own on a free port, so a test can stop and
/// restart it without touching anyone else's.
pub struct RedisProcess {
    child: std::process::Child,
    pub port: u16,
}

impl RedisProcess {
    pub fn start() -> RedisProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> RedisProcess {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (Debian package redis-server)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        RedisProcess { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The member names of a JSON object (a record's fields), as a set.
pub fn field_names(record: &serde_json::Value) -> std::collections::BTreeSet<&str> {
    record
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}
