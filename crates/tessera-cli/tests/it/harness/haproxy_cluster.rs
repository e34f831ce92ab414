//! Four real `tessera serve` instances behind HAProxy, started and stopped
//! with `scripts/cluster.sh` exactly as an operator would, and a steady
//! load through HAProxy that counts every answer that was not a success.

use super::process::binary;
use super::{Backend, TestDb, basic};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One cluster at a time: each runs five processes and a load on a
/// machine shared with the rest of the suite, and measures delays.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct HaproxyCluster {
    pub db: TestDb,
    /// HAProxy's base URL.
    pub url: String,
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    port: u16,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

pub const INSTANCES: usize = 4;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cluster.sh")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl HaproxyCluster {
    /// `scripts/cluster.sh up [--redis]` on a fresh PostgreSQL database,
    /// with `env` passed to every instance.
    pub async fn up(redis: bool, env: &[(&str, &str)]) -> HaproxyCluster {
        let turn = ONE_AT_A_TIME.lock().await;
        let db = TestDb::new(Backend::Postgres).await;
        let port = free_port();
        let cluster = HaproxyCluster {
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            dir: tempfile::tempdir().expect("a state directory"),
            db,
            port,
            _turn: turn,
        };
        let mut args = vec!["up"];
        if redis {
            args.push("--redis");
        }
        let output = cluster.run_script(&args, env).await;
        assert!(
            output.status.success(),
            "cluster.sh up failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster
    }

    fn script_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(script())
            .args(args)
            .env("TESSERA_BIN", binary())
            .env("TESSERA_CLUSTER_DIR", self.dir.path())
            .env("TESSERA_CLUSTER_PORT", self.port.to_string())
            .env("TESSERA_DATABASE_URL", &self.db.url)
            .env("TESSERA_LOG", "info")
            .env_remove("TESSERA_REDIS_URL");
        command
    }

    /// Runs `cluster.sh ARGS…` off the async workers (a rolling restart
    /// takes seconds while the load keeps running).
    pub async fn run_script(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.script_command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        tokio::task::spawn_blocking(move || command.output().expect("run scripts/cluster.sh"))
            .await
            .expect("the script's thread")
    }

    /// The base URL of instance `n` (1 to 4), bypassing HAProxy.
    pub fn instance_url(&self, n: usize) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.state_file(&format!("instance-{n}.port"))
        )
    }

    pub fn instance_pid(&self, n: usize) -> String {
        self.state_file(&format!("instance-{n}.pid"))
    }

    fn state_file(&self, name: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
            .trim()
            .to_owned()
    }

    /// What HAProxy's health checks say of instance `n` (`UP`, `DOWN`…),
    /// read from `cluster.sh status`.
    pub async fn haproxy_state(&self, n: usize) -> String {
        let output = self.run_script(&["status"], &[]).await;
        let status = String::from_utf8_lossy(&output.stdout).into_owned();
        let prefix = format!("  tessera-{n} ");
        status
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no HAProxy line for tessera-{n} in:\n{status}"))
            .to_owned()
    }

    /// Creates an organisation with its administrator and employee, and
    /// gives it `rate` requests a second (burst as large) so a steady load
    /// does not meet its limit.
    pub fn seed(&self, slug: &str, rate: u32, burst: u32) {
        super::seed_organization_at(&self.db.url, slug);
        let (rate, burst) = (rate.to_string(), burst.to_string());
        super::assert_succeeds(&super::tessera(
            &self.db.url,
            &[
                "admin",
                "set-rate-limit",
                "--org",
                slug,
                "--rate",
                &rate,
                "--burst",
                &burst,
            ],
        ));
    }

    /// A new key of `org`'s administrator, made through HAProxy: its id
    /// and the raw key.
    pub async fn create_key(&self, org: &str, name: &str) -> (String, String) {
        let response = self
            .http
            .post(format!("{}/api/v1/api-keys", self.url))
            .header("authorization", basic(&format!("admin-{org}")))
            .json(&json!({"name": name}))
            .send()
            .await
            .expect("create a key through HAProxy");
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.expect("the created key");
        (
            created["id"].as_str().expect("id").to_owned(),
            created["key"].as_str().expect("key").to_owned(),
        )
    }
}

impl Drop for HaproxyCluster {
    fn drop(&mut self) {
        let _ = self.script_command(&["down"]).output();
    }
}

/// What one kind of request in the load does.
#[derive(Debug, Clone, Copy)]
pub enum LoadStep {
    /// `GET /api/v1/me` and a page of employees, in turn.
    Read,
    /// `POST /api/v1/employees` without an idempotency key: a create that
    /// fails is not retried by HAProxy.
    Create,
}

/// Requests from a few tasks through HAProxy, each task paced at
/// `per_second`, until stopped; every answer other than 2xx (and every
/// transport error) is counted and the first few are kept for the message.
pub struct SteadyLoad {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SteadyLoad {
    pub fn start(base: &str, key: &str, steps: &[LoadStep], per_second: u32) -> SteadyLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let tasks = steps
            .iter()
            .enumerate()
            .map(|(worker, step)| {
                let worker = LoadWorker {
                    http: reqwest::Client::new(),
                    base: base.to_owned(),
                    key: key.to_owned(),
                    step: *step,
                    name: format!("load-{worker}"),
                    stop: stop.clone(),
                    answered: answered.clone(),
                    failures: failures.clone(),
                };
                tokio::spawn(worker.run(per_second))
            })
            .collect();
        SteadyLoad {
            stop,
            answered,
            failures,
            tasks,
        }
    }

    /// Answers so far, and the failures among them.
    pub fn counts(&self) -> (u64, Vec<String>) {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        (self.answered.load(Ordering::Relaxed), failures.clone())
    }

    /// Stops the tasks and returns the final counts.
    pub async fn stop(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            task.await.expect("a load task panicked");
        }
        self.counts()
    }
}

impl Drop for SteadyLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct LoadWorker {
    http: reqwest::Client,
    base: String,
    key: String,
    step: LoadStep,
    name: String,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
}

impl LoadWorker {
    async fn run(self, per_second: u32) {
        let mut pace = tokio::time::interval(Duration::from_secs(1) / per_second.max(1));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            pace.tick().await;
            sent += 1;
            let request = match (self.step, sent % 2) {
                (LoadStep::Read, 0) => self.http.get(format!("{}/api/v1/me", self.base)),
                (LoadStep::Read, _) => self
                    .http
                    .get(format!("{}/api/v1/employees?limit=5", self.base)),
                (LoadStep::Create, _) => self
                    .http
                    .post(format!("{}/api/v1/employees", self.base))
                    .json(&json!({"first_name": self.name, "last_name": format!("Number {sent}")})),
            };
            let outcome = request.header("x-api-key", &self.key).send().await;
            self.answered.fetch_add(1, Ordering::Relaxed);
            let failure = match outcome {
                Ok(response) if response.status().is_success() => continue,
                Ok(response) => format!("{:?}: {}", self.step, response.status()),
                Err(err) => format!("{:?}: {err}", self.step),
            };
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            failures.push(failure);
        }
    }
}
