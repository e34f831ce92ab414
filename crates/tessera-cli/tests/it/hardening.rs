//! Security hardening (audit findings L4–L6): throttles that an attacker
//! cannot turn against the real user, downloads that cannot run in a
//! browser, and usernames that are one account whatever their case.

use crate::harness::{
    Backend, ConsoleSession, PASSWORD, TestApp, TestDb, assert_fails_with, assert_succeeds, basic,
    full_key, me, post, seed_organization, tessera,
};
use crate::on_both_backends;
use serde_json::Value;
use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_access::throttle::Backoff;
use tessera_server::ServerConfig;

on_both_backends!(
    a_cached_valid_key_still_works_from_an_address_over_its_failed_key_limit,
    password_failures_from_one_address_do_not_lock_the_user_out_elsewhere,
    downloads_of_active_types_are_served_as_octet_stream,
    download_names_lose_bidi_and_invisible_characters,
    usernames_that_differ_only_in_case_are_one_account,
    the_case_migration_refuses_existing_collisions_and_names_them,
);

const INVALID_KEY: &str = "sk_live_0000000000000000000000000000000000000000000000";

async fn a_cached_valid_key_still_works_from_an_address_over_its_failed_key_limit(
    backend: Backend,
) {
    let config = ServerConfig {
        auth_failures_per_minute: 3,
        // Long enough that the key stays cached however slow the machine.
        key_cache_ttl: Duration::from_secs(600),
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    assert_eq!(me(&app, &key).await.status(), 200);

    // Someone at the same address (a NAT, an untrusted proxy) sprays keys.
    for _ in 0..3 {
        assert_eq!(me(&app, INVALID_KEY).await.status(), 401);
    }
    let sprayer = me(&app, INVALID_KEY).await;
    assert_eq!(sprayer.status(), 429);
    assert!(sprayer.headers().contains_key("retry-after"));

    let real_user = me(&app, &key).await;
    assert_eq!(
        real_user.status(),
        200,
        "the valid key was refused: {}",
        real_user.text().await.unwrap()
    );
    assert_eq!(me(&app, INVALID_KEY).await.status(), 429);
}

fn behind_proxy_with_backoff_after(free_failures: u32) -> ServerConfig {
    ServerConfig {
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        password_backoff: Backoff {
            free_failures,
            first_wait: Duration::from_secs(15 * 60),
            longest_wait: Duration::from_secs(15 * 60),
        },
        ..ServerConfig::default()
    }
}

async fn password_failures_from_one_address_do_not_lock_the_user_out_elsewhere(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy_with_backoff_after(3)).await;
    seed_organization(&app, "acme").await;
    let mut attacker = ConsoleSession::new(&app);
    attacker.extra_headers = vec![("x-forwarded-for", "203.0.113.66")];
    for _ in 0..3 {
        let guess = attacker.sign_in("admin-acme", "a wrong guess").await;
        assert_eq!(guess.status(), 401);
    }
    assert_eq!(
        attacker
            .sign_in("admin-acme", "a wrong guess")
            .await
            .status(),
        429
    );
    let basic_guess = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .header("x-forwarded-for", "203.0.113.66")
        .header("authorization", basic("admin-acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic_guess.status(),
        429,
        "the attacker's address backs off"
    );

    let mut real_user = ConsoleSession::new(&app);
    real_user.extra_headers = vec![("x-forwarded-for", "198.51.100.20")];
    let signed_in = real_user.sign_in("admin-acme", PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "the real user was locked out");
    let over_basic = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .header("x-forwarded-for", "198.51.100.21")
        .header("authorization", basic("admin-acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(over_basic.status(), 200);
}

async fn an_employee(app: &TestApp, key: &str) -> String {
    let body = serde_json::json!({"first_name": "Ada", "last_name": "Lovelace"});
    let created = post(app, "/api/v1/employees", key, &body).await;
    created["id"].as_str().unwrap().to_owned()
}

async fn upload_as(
    app: &TestApp,
    key: &str,
    employee_id: &str,
    (file_name, declared_type): (&str, &str),
    bytes: &[u8],
) -> String {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(file_name.to_owned())
        .mime_str(declared_type)
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("employee_id", employee_id.to_owned())
        .text("title", "Uploaded")
        .part("file", part);
    let response = app
        .http
        .post(app.url("/api/v1/documents"))
        .header("x-api-key", key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{declared_type}");
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn download(app: &TestApp, key: &str, id: &str) -> reqwest::Response {
    let response = app
        .http
        .get(app.url(&format!("/api/v1/documents/{id}/content")))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

async fn downloads_of_active_types_are_served_as_octet_stream(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let employee = an_employee(&app, &key).await;
    for (declared, served) in [
        ("text/html", "application/octet-stream"),
        ("text/html; charset=utf-7", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/plain; charset=utf-7", "text/plain"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("application/pdf", "application/pdf"),
    ] {
        let file = ("page.txt", declared);
        let id = upload_as(&app, &key, &employee, file, b"<script>1</script>").await;
        let response = download(&app, &key, &id).await;
        assert_eq!(
            response.headers()["content-type"],
            served,
            "uploaded as {declared}"
        );
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
    }
}

async fn download_names_lose_bidi_and_invisible_characters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let employee = an_employee(&app, &key).await;
    let file = ("invoice\u{202E}fdp\u{200B}.exe", "application/pdf");
    let id = upload_as(&app, &key, &employee, file, b"%PDF-1.7").await;

    let record: Value = app
        .http
        .get(app.url(&format!("/api/v1/documents/{id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["file_name"], "invoicefdp.exe");
    let response = download(&app, &key, &id).await;
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"
    );
}

async fn usernames_that_differ_only_in_case_are_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;

    assert_fails_with(
        &app.tessera(&[
            "admin",
            "create-user",
            "--org",
            "globex",
            "--username",
            "ADMIN-ACME",
            "--password",
            "another password entirely",
            "--role",
            "Employee",
        ]),
        "the username 'ADMIN-ACME' is already taken",
    );

    let mut browser = ConsoleSession::new(&app);
    assert_eq!(browser.sign_in("Admin-Acme", PASSWORD).await.status(), 303);
    let page = browser.get("/").await.text().await.unwrap();
    assert!(
        page.contains(r#"<dd id="signed-in-user">admin-acme</dd>"#),
        "{page}"
    );
    let over_basic = app.get_as("/api/v1/api-keys", "ADMIN-acme").await;
    assert_eq!(over_basic.status(), 200);
}

/// Puts `database` back in the state of a deployment that made
/// case-colliding usernames before migration 0013: index and record gone.
async fn undo_the_case_migration_and_collide(database: &TestDb) {
    let db = database.connect().await;
    for statement in [
        "DROP INDEX accounts_username_lower",
        "DELETE FROM _sqlx_migrations WHERE version = 13",
        "UPDATE accounts SET username = 'Root-Op' WHERE username = 'other-op'",
    ] {
        execute(&db, statement).await;
    }
    db.close().await;
}

async fn execute(db: &tessera_store::Db, statement: &'static str) {
    tessera_store::on_pool!(db, |pool| {
        sqlx::query(statement).execute(pool).await.unwrap();
    })
}

async fn the_case_migration_refuses_existing_collisions_and_names_them(backend: Backend) {
    let database = TestDb::new(backend).await;
    assert_succeeds(&tessera(&database.url, &["migrate"]));
    for username in ["root-op", "other-op"] {
        let args = [
            "admin",
            "create-operator",
            "--username",
            username,
            "--password",
            PASSWORD,
        ];
        assert_succeeds(&tessera(&database.url, &args));
    }
    undo_the_case_migration_and_collide(&database).await;

    let refused = tessera(&database.url, &["migrate"]);
    assert_fails_with(
        &refused,
        "migration 0013 needs usernames to be unique regardless of case",
    );
    if backend == Backend::Postgres {
        assert_fails_with(&refused, "differ only in case: Root-Op, root-op");
    }

    // The operator's fix: rename one of them, and migrate again.
    let db = database.connect().await;
    execute(
        &db,
        "UPDATE accounts SET username = 'other-op' WHERE username = 'Root-Op'",
    )
    .await;
    db.close().await;
    assert_succeeds(&tessera(&database.url, &["migrate"]));
}
