//! Arranging a deployment: in process through the operations layer, or
//! through the real binary's admin commands for a server of its own.

use super::{PASSWORD, TestApp, assert_succeeds, tessera};
use std::sync::OnceLock;
use tessera_core::audit::Actor;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::password::{self, NewPassword};
use tessera_ops::{organizations, people};
use tessera_store::roles;

/// The test password's hash, computed once: Argon2 is slow on purpose.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_password(&NewPassword::parse(PASSWORD, &[]).unwrap()))
}

/// Creates organisation `slug` with an administrator `admin-<slug>` and an
/// employee `employee-<slug>`, both with the test password, through the
/// server's own operations (the command line's are tested in admin_cli).
pub async fn seed_organization(app: &TestApp, slug: &str) {
    let actor = Actor::command_line();
    let hash = tokio::task::spawn_blocking(password_hash).await.unwrap();
    let created = organizations::create(
        &app.ops,
        &actor,
        &Slug::parse(slug).unwrap(),
        &DisplayName::parse(&format!("{slug} Ltd")).unwrap(),
        Some((&Username::parse(&format!("admin-{slug}")).unwrap(), hash)),
    )
    .await
    .unwrap();
    let employee = tessera_store::roles::find_by_name(&app.db, &created.id, roles::EMPLOYEE)
        .await
        .unwrap()
        .unwrap();
    people::create_user(
        &app.ops,
        &actor,
        &created.id,
        &employee,
        &Username::parse(&format!("employee-{slug}")).unwrap(),
        hash,
    )
    .await
    .unwrap();
}

/// Creates organisation `slug` like [`seed_organization`], with the
/// binary's admin commands, for a database no in-process app runs on.
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

/// Creates the operator `ops` with the test password.
pub fn create_operator(app: &TestApp) {
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-operator",
        "--username",
        "ops",
        "--password",
        PASSWORD,
    ]));
}
