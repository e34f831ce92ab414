//! Everything scenarios share: fresh databases, an in-process server on a
//! random port ([`TestApp`]), the real binary, and helpers for the API, the
//! console and the audit log. Scenario files hold only scenarios.

mod api;
mod audit;
mod browser;
mod console;
mod db;
mod hammer;
mod haproxy_cluster;
mod node_tools;
mod process;
mod python_tools;
mod receiver;
mod seed;

pub use api::{
    assert_problem, basic, call_with_key, create_key, full_key, get_json, get_with_key, me,
    me_with_client, post, status_with_key, within,
};
pub use audit::audit_log;
pub use browser::Browser;
pub use console::{
    ConsoleSession, all_between, element_text, is_checked, newer_entries_link, older_entries_link,
    rows,
};
pub use db::{Column, TestDb};
pub use hammer::{assert_within_two_percent, hammer};
pub use haproxy_cluster::{HaproxyCluster, INSTANCES, LoadStep, SteadyLoad};
pub use node_tools::{axe_source, node_tool};
pub use process::{
    RedisProcess, ServerProcess, assert_fails_with, assert_succeeds, stderr, stdout, tessera,
    tessera_fed,
};
pub use python_tools::{python_tool, run_tool, tool_report, verified_by_standard_webhooks};
pub use receiver::{Delivery, Receiver, Reply};
pub use seed::{create_client, create_operator, seed_organization, seed_organization_at};

use std::net::SocketAddr;
use std::process::Output;
use tessera_core::id::OrganizationId;
use tessera_ops::Ops;
use tessera_server::{AppState, ServerConfig};
use tessera_store::{Db, accounts, organizations, roles};

/// The password of every account the tests create.
pub const PASSWORD: &str = "tangerine orbit lantern";

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

/// A Tessera server running inside the test process.
pub struct TestApp {
    pub address: SocketAddr,
    pub db: Db,
    /// The server's own operations: a change made through them reaches its
    /// key cache at once, as one made through the API would.
    pub ops: Ops,
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
        let ops = state.ops().clone();
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
            ops,
            test_db,
            http,
            _shutdown: shutdown,
            server: Some(server),
        }
    }

    /// Operations as the command line or another instance makes them: the
    /// change reaches this server only through the access-change log.
    pub fn ops_elsewhere(&self) -> Ops {
        Ops::without_cache(self.db.clone())
    }

    /// Deactivates an organisation user the way the command line or another
    /// instance would: the change reaches this server only through the
    /// access-change log.
    pub async fn deactivate_elsewhere(&self, organization_id: &OrganizationId, username: &str) {
        let account = accounts::find_by_username(&self.db, username)
            .await
            .unwrap()
            .unwrap();
        let user: accounts::UserSummary =
            tessera_store::members::find(&self.db, organization_id, &account.id)
                .await
                .unwrap()
                .unwrap();
        tessera_ops::people::set_active(
            &self.ops_elsewhere(),
            &tessera_core::audit::Actor::command_line(),
            organization_id,
            (&user).into(),
            false,
        )
        .await
        .unwrap();
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

    /// The id of the organisation `slug`.
    pub async fn organization_id(&self, slug: &str) -> OrganizationId {
        organizations::find_by_slug(&self.db, slug)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no organisation {slug}"))
            .id
    }

    /// The id of the role `name` of the organisation `slug`.
    pub async fn role_id(&self, slug: &str, name: &str) -> tessera_core::id::RoleId {
        let organization = self.organization_id(slug).await;
        roles::find_by_name(&self.db, &organization, name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no role {name}"))
            .id
    }

    /// The id of the account `username`.
    pub async fn account_id(&self, username: &str) -> tessera_core::id::AccountId {
        accounts::find_by_username(&self.db, username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no account {username}"))
            .id
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

/// The member names of a JSON object (a record's fields), as a set.
pub fn field_names(record: &serde_json::Value) -> std::collections::BTreeSet<&str> {
    record
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}
