//! Every `tessera admin` subcommand: success, idempotent repetition, and
//! each error, through the real binary.

use crate::harness::{
    Backend, PASSWORD, TestDb, assert_fails_with, assert_succeeds, audit_log, tessera, tessera_fed,
};
use crate::{assert_audited, on_both_backends};
use tessera_core::secret::{SecretKind, check_generated};
use tessera_store::{accounts, bots, organizations, roles};

on_both_backends!(
    passwords_come_from_stdin_or_the_environment,
    weak_short_and_common_passwords_are_refused_with_the_reason,
    create_operator_is_idempotent_and_refuses_taken_usernames,
    create_org_is_idempotent_and_validates,
    create_user_checks_organisation_role_and_username,
    create_bot_is_idempotent_per_role,
    set_rate_limit_stores_the_limit,
    create_client_prints_id_and_credential_once,
    set_key_creation_stores_the_policy,
);

async fn set_key_creation_stores_the_policy(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);
    assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme",
    ]));
    let out = assert_succeeds(&run(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "everyone",
    ]));
    assert_eq!(out.trim(), "in acme, everyone may now create API keys");
    assert_fails_with(
        &run(&[
            "admin",
            "set-key-creation",
            "--org",
            "nope",
            "--who",
            "everyone",
        ]),
        "no organisation with the slug 'nope'",
    );
    let bad = run(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "nobody",
    ]);
    assert!(!bad.status.success());
    assert!(crate::harness::stderr(&bad).contains("invalid value 'nobody'"));

    let store = db.connect().await;
    let org = organizations::find_by_slug(&store, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.key_creation, organizations::KeyCreationPolicy::Everyone);
    assert_audited!(
        audit_log(&store).await,
        "organization.key_creation_changed",
        organization_id == Some(org.id.clone())
    );
}

/// Whether `password` is the stored password of `username`.
async fn has_password(db: &TestDb, username: &str, password: &str) -> bool {
    let store = db.connect().await;
    let credentials = accounts::credentials_by_username(&store, username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no account {username}"));
    tessera_core::password::verify_password(password, &credentials.password_hash)
}

async fn passwords_come_from_stdin_or_the_environment(backend: Backend) {
    let db = TestDb::new(backend).await;
    assert_succeeds(&tessera(
        &db.url,
        &["admin", "create-org", "--slug", "acme", "--name", "Acme"],
    ));
    let create_user = |username: &'static str| {
        vec![
            "admin",
            "create-user",
            "--org",
            "acme",
            "--username",
            username,
        ]
    };

    // --password-stdin: the first line, without its line ending.
    let mut args = create_user("from-stdin");
    args.push("--password-stdin");
    let piped = tessera_fed(&db.url, &args, &[], &format!("{PASSWORD}\r\nignored\n"));
    assert_eq!(
        assert_succeeds(&piped).trim(),
        "created user from-stdin in acme with role Employee"
    );
    assert!(has_password(&db, "from-stdin", PASSWORD).await);

    // TESSERA_PASSWORD.
    let from_env = tessera_fed(
        &db.url,
        &create_user("from-env"),
        &[("TESSERA_PASSWORD", "velvet compass meadow tram")],
        "",
    );
    assert_succeeds(&from_env);
    assert!(has_password(&db, "from-env", "velvet compass meadow tram").await);

    // The flag wins over the environment, and still works.
    let mut args = create_user("from-flag");
    args.extend(["--password", PASSWORD]);
    assert_succeeds(&tessera_fed(
        &db.url,
        &args,
        &[("TESSERA_PASSWORD", "velvet compass meadow tram")],
        "",
    ));
    assert!(has_password(&db, "from-flag", PASSWORD).await);

    // Operators too.
    let operator = tessera_fed(
        &db.url,
        &[
            "admin",
            "create-operator",
            "--username",
            "ops-stdin",
            "--password-stdin",
        ],
        &[],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(
        assert_succeeds(&operator).trim(),
        "created operator ops-stdin"
    );
    assert!(has_password(&db, "ops-stdin", PASSWORD).await);

    // Nothing given and no terminal to ask on: a clear refusal, nothing created.
    assert_fails_with(
        &tessera_fed(&db.url, &create_user("nobody"), &[], ""),
        "no password given: use --password-stdin, set TESSERA_PASSWORD",
    );
    let mut args = create_user("empty-stdin");
    args.push("--password-stdin");
    assert_fails_with(
        &tessera_fed(&db.url, &args, &[], "\n"),
        "--password-stdin read an empty password",
    );
    let mut args = create_user("both");
    args.extend(["--password", PASSWORD, "--password-stdin"]);
    let both = tessera_fed(&db.url, &args, &[], PASSWORD);
    assert!(!both.status.success());
    let store = db.connect().await;
    for absent in ["nobody", "empty-stdin", "both"] {
        assert!(
            accounts::find_by_username(&store, absent)
                .await
                .unwrap()
                .is_none(),
            "{absent} was created"
        );
    }
    let help = assert_succeeds(&tessera(&db.url, &["admin", "create-user", "--help"]));
    assert!(help.contains("shell history"), "{help}");
}

async fn weak_short_and_common_passwords_are_refused_with_the_reason(backend: Backend) {
    let db = TestDb::new(backend).await;
    assert_succeeds(&tessera(
        &db.url,
        &[
            "admin",
            "create-org",
            "--slug",
            "acme",
            "--name",
            "Acme Payroll",
        ],
    ));
    let create = |username: &str, password: &str| {
        tessera(
            &db.url,
            &[
                "admin",
                "create-user",
                "--org",
                "acme",
                "--username",
                username,
                "--password",
                password,
            ],
        )
    };
    assert_fails_with(&create("ada", "tiny pass"), "at least 12 characters");
    assert_fails_with(
        &create("ada", "password1234"),
        "the password is too common: This is",
    );
    assert_fails_with(
        &create("ada", "aaaaaaaaaaaaaaaa"),
        "the password is too easy to guess: Repeats like \"aaa\" are easy to guess.",
    );
    // The account's own names count against it ("acmepayroll2026" alone
    // passes).
    assert_fails_with(
        &create("adalovelace", "acmepayroll2026"),
        "the password is too easy to guess",
    );
    assert_fails_with(
        &tessera(
            &db.url,
            &[
                "admin",
                "create-operator",
                "--username",
                "ops",
                "--password",
                "qwertyuiop123",
            ],
        ),
        "the password is too",
    );
    let store = db.connect().await;
    for absent in ["ada", "adalovelace", "ops"] {
        assert!(
            accounts::find_by_username(&store, absent)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_succeeds(&create("ada", PASSWORD));
}

async fn create_operator_is_idempotent_and_refuses_taken_usernames(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);

    let out = assert_succeeds(&run(&[
        "admin",
        "create-operator",
        "--username",
        "root-op",
        "--password",
        PASSWORD,
    ]));
    assert_eq!(out.trim(), "created operator root-op");
    let again = assert_succeeds(&run(&[
        "admin",
        "create-operator",
        "--username",
        "root-op",
        "--password",
        PASSWORD,
    ]));
    assert_eq!(again.trim(), "operator root-op already exists");
    assert_fails_with(
        &run(&[
            "admin",
            "create-operator",
            "--username",
            "root-op",
            "--password",
            "another password",
        ]),
        "the username 'root-op' is already taken",
    );
    assert_fails_with(
        &run(&[
            "admin",
            "create-operator",
            "--username",
            "x",
            "--password",
            PASSWORD,
        ]),
        "invalid username 'x'",
    );
    assert_fails_with(
        &run(&[
            "admin",
            "create-operator",
            "--username",
            "short-pw",
            "--password",
            "12345678901",
        ]),
        "at least 12 characters",
    );

    let store = db.connect().await;
    let operator = accounts::find_by_username(&store, "root-op")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(operator.membership, accounts::Membership::Operator);
    let credentials = accounts::credentials_by_username(&store, "root-op")
        .await
        .unwrap()
        .unwrap();
    assert!(
        credentials
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!credentials.password_hash.contains(PASSWORD));
    let entries = audit_log(&store).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "operator.created")
            .count(),
        1
    );
}

async fn create_org_is_idempotent_and_validates(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);

    let out = assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme Ltd",
    ]));
    assert!(out.starts_with("created organisation acme (org_"), "{out}");
    let again = assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme Ltd",
    ]));
    assert!(
        again.starts_with("organisation acme already exists"),
        "{again}"
    );
    assert_fails_with(
        &run(&[
            "admin",
            "create-org",
            "--slug",
            "acme",
            "--name",
            "Other Name",
        ]),
        "organisation 'acme' already exists with the name 'Acme Ltd'",
    );
    assert_fails_with(
        &run(&["admin", "create-org", "--slug", "Not A Slug", "--name", "X"]),
        "invalid organisation slug",
    );

    let store = db.connect().await;
    let org = organizations::find_by_slug(&store, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.rate_limit,
        organizations::RateLimit {
            per_second: 100,
            burst: 200
        }
    );
    assert_eq!(
        org.key_creation,
        organizations::KeyCreationPolicy::AdministratorsOnly
    );
    let role_names: Vec<_> = roles::list(&store, &org.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.access))
        .collect();
    assert_eq!(
        role_names,
        [
            (
                "Administrator".to_owned(),
                tessera_core::permissions::Access::Full
            ),
            (
                "Employee".to_owned(),
                tessera_core::permissions::Access::Limited(Default::default())
            ),
        ]
    );
}

async fn create_user_checks_organisation_role_and_username(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);
    assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme",
    ]));
    assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "globex",
        "--name",
        "Globex",
    ]));

    assert_fails_with(
        &run(&[
            "admin",
            "create-user",
            "--org",
            "nope",
            "--username",
            "ada",
            "--password",
            PASSWORD,
        ]),
        "no organisation with the slug 'nope'",
    );
    assert_fails_with(
        &run(&[
            "admin",
            "create-user",
            "--org",
            "acme",
            "--username",
            "ada",
            "--password",
            PASSWORD,
            "--role",
            "Wizard",
        ]),
        "organisation acme has no role 'Wizard' (roles: Administrator, Employee)",
    );
    let out = assert_succeeds(&run(&[
        "admin",
        "create-user",
        "--org",
        "acme",
        "--username",
        "ada",
        "--password",
        PASSWORD,
        "--role",
        "Administrator",
    ]));
    assert_eq!(
        out.trim(),
        "created user ada in acme with role Administrator"
    );
    let again = assert_succeeds(&run(&[
        "admin",
        "create-user",
        "--org",
        "acme",
        "--username",
        "ada",
        "--password",
        PASSWORD,
        "--role",
        "Administrator",
    ]));
    assert_eq!(
        again.trim(),
        "user ada already exists in acme with role Administrator"
    );
    // Usernames are unique across the deployment, not per organisation.
    assert_fails_with(
        &run(&[
            "admin",
            "create-user",
            "--org",
            "globex",
            "--username",
            "ada",
            "--password",
            PASSWORD,
        ]),
        "the username 'ada' is already taken",
    );
    assert_succeeds(&run(&[
        "admin",
        "create-operator",
        "--username",
        "ops",
        "--password",
        PASSWORD,
    ]));
    assert_fails_with(
        &run(&[
            "admin",
            "create-user",
            "--org",
            "acme",
            "--username",
            "ops",
            "--password",
            PASSWORD,
        ]),
        "the username 'ops' is already taken",
    );
    let default_role = assert_succeeds(&run(&[
        "admin",
        "create-user",
        "--org",
        "acme",
        "--username",
        "bob",
        "--password",
        PASSWORD,
    ]));
    assert_eq!(
        default_role.trim(),
        "created user bob in acme with role Employee"
    );

    let store = db.connect().await;
    let ada = accounts::find_by_username(&store, "ada")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        ada.membership,
        accounts::Membership::Member { ref organization_slug, ref role_name, is_administrator: true, .. }
            if organization_slug == "acme" && role_name == "Administrator"
    ));
}

async fn create_bot_is_idempotent_per_role(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);
    assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme",
    ]));

    let out = assert_succeeds(&run(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "calendar sync",
    ]));
    assert_eq!(
        out.trim(),
        "created bot user calendar sync in acme with role Employee"
    );
    let again = assert_succeeds(&run(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "calendar sync",
    ]));
    assert_eq!(
        again.trim(),
        "bot user calendar sync already exists in acme with role Employee"
    );
    assert_fails_with(
        &run(&[
            "admin",
            "create-bot",
            "--org",
            "acme",
            "--name",
            "calendar sync",
            "--role",
            "Administrator",
        ]),
        "already exists in acme with the role 'Employee', not 'Administrator'",
    );
    assert_fails_with(
        &run(&["admin", "create-bot", "--org", "nope", "--name", "x"]),
        "no organisation with the slug 'nope'",
    );
    assert_fails_with(
        &run(&["admin", "create-bot", "--org", "acme", "--name", "   "]),
        "invalid name",
    );

    let store = db.connect().await;
    let org = organizations::find_by_slug(&store, "acme")
        .await
        .unwrap()
        .unwrap();
    let all = bots::list(&store, &org.id).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0].name.as_str(),
            all[0].role_name.as_str(),
            all[0].active
        ),
        ("calendar sync", "Employee", true)
    );
}

async fn set_rate_limit_stores_the_limit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);
    assert_succeeds(&run(&[
        "admin",
        "create-org",
        "--slug",
        "acme",
        "--name",
        "Acme",
    ]));

    let out = assert_succeeds(&run(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "25",
        "--burst",
        "50",
    ]));
    assert_eq!(
        out.trim(),
        "rate limit of acme set to 25 requests/s with a burst of 50"
    );
    assert_fails_with(
        &run(&[
            "admin",
            "set-rate-limit",
            "--org",
            "nope",
            "--rate",
            "1",
            "--burst",
            "1",
        ]),
        "no organisation with the slug 'nope'",
    );
    let zero = run(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "0",
        "--burst",
        "1",
    ]);
    assert!(!zero.status.success());
    assert!(
        crate::harness::stderr(&zero).contains("0 is not in 1.."),
        "{}",
        crate::harness::stderr(&zero)
    );

    let store = db.connect().await;
    let org = organizations::find_by_slug(&store, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.rate_limit,
        organizations::RateLimit {
            per_second: 25,
            burst: 50
        }
    );
    assert_audited!(
        audit_log(&store).await,
        "organization.rate_limit_changed",
        organization_id == Some(org.id.clone())
    );
}

async fn create_client_prints_id_and_credential_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = |args: &[&str]| tessera(&db.url, args);

    let out = assert_succeeds(&run(&[
        "admin",
        "create-client",
        "--name",
        "Payroll Connect",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let client_id = lines[0]
        .strip_prefix("client_id: ")
        .expect("client_id line");
    let credential = lines[1]
        .strip_prefix("credential: ")
        .expect("credential line");
    assert!(client_id.starts_with("cli_"));
    assert_eq!(
        check_generated(SecretKind::ClientCredential, credential),
        Ok(())
    );

    assert_fails_with(
        &run(&["admin", "create-client", "--name", "Payroll Connect"]),
        "an API client named 'Payroll Connect' already exists",
    );

    let store = db.connect().await;
    let hash = tessera_core::secret::SecretHash::of(credential);
    let stored = tessera_store::api_clients::find_by_credential(&store, &hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, client_id);
    assert!(credential.starts_with(&stored.credential_hint[..7]));
}

#[test]
fn malformed_database_url_is_one_clear_line() {
    let out = tessera("mysql://root@localhost/db", &["migrate"]);
    assert_fails_with(&out, "invalid database URL 'mysql://root@localhost/db'");
}

#[test]
fn unreachable_postgres_is_one_clear_line_without_the_password() {
    let out = tessera(
        "postgres://tessera:hunter2@127.0.0.1:1/tessera",
        &["admin", "create-org", "--slug", "a1", "--name", "A"],
    );
    assert_fails_with(
        &out,
        "cannot connect to the database at postgres://tessera:***@127.0.0.1:1/tessera",
    );
    assert!(!crate::harness::stderr(&out).contains("hunter2"));
}
