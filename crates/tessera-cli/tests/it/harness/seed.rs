//! Arranging a deployment through the real binary's admin commands.

use super::{PASSWORD, TestApp, assert_succeeds, tessera};

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
