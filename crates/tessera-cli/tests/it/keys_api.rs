//! The key-management API: HTTP Basic only, every create
//! option, visibility, revocation and revoke-all.

use crate::harness::{
    Backend, PASSWORD, TestApp, assert_problem, assert_succeeds, basic, create_key, me,
    seed_organization,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use tessera_core::secret::{SecretKind, check_generated};

on_both_backends!(
    an_administrator_creates_a_key_that_works_at_once,
    only_username_and_password_manage_keys,
    create_validates_every_option_and_names_the_problem,
    a_key_cannot_exceed_its_creator,
    who_may_create_keys_is_an_organisation_setting,
    people_see_and_revoke_only_their_own_keys_unless_administrators,
    bot_owned_role_linked_and_guid_keys,
    lists_are_paginated_with_a_cursor,
    revoke_all_needs_the_typed_slug,
    custom_keys_must_be_hard_to_guess_and_probing_them_is_throttled,
);

async fn an_administrator_creates_a_key_that_works_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let response = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&json!({"name": "calendar sync"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let raw = created["key"].as_str().unwrap();
    assert_eq!(check_generated(SecretKind::ApiKey, raw), Ok(()));
    assert_eq!(
        location,
        format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(
        created["hint"],
        format!("sk_{}…{}", &raw[3..7], &raw[raw.len() - 4..])
    );
    assert_eq!(
        created["owner"],
        json!({"type": "user", "name": "admin-acme"})
    );
    assert_eq!(created["permissions"], Value::Null);
    for member in ["role", "expires_at", "ip_allowlist", "client_id"] {
        assert_eq!(created[member], Value::Null, "{member}");
    }
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    // Usable the instant creation returns: no activation delay.
    let me = me(&app, raw).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["organization"], "acme");
    assert_eq!(me["name"], "calendar sync");
    assert_eq!(
        me["permissions"]["employees"]["actions"],
        json!(["create", "read", "update", "delete"])
    );
    assert_eq!(
        me["permissions"]["documents"]["actions"],
        json!(["create", "read", "delete", "download"])
    );
    assert_eq!(me["rate_limit"], json!({"per_second": 100, "burst": 200}));

    // The raw key appears only in the creation response.
    let shown: Value = app.get_json_as(&location, "admin-acme").await;
    assert!(shown.get("key").is_none());
    assert_eq!(shown["status"], "active");
    assert!(!shown.to_string().contains(raw));
    let entries = app.audit_log().await;
    assert!(
        entries
            .iter()
            .any(|e| e.action == "api_key.created" && e.actor_name == "admin-acme")
    );
    assert!(
        entries
            .iter()
            .all(|e| !e.details.clone().unwrap_or_default().contains(raw))
    );
}

async fn only_username_and_password_manage_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let with_key = app
        .get_with("/api/v1/api-keys", &[("x-api-key", key.as_str())])
        .await;
    assert_eq!(
        with_key.headers()["www-authenticate"],
        "Basic realm=\"Tessera\", charset=\"UTF-8\""
    );
    assert_problem(with_key, 401, "invalid_credentials").await;
    let bearer = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({"name": "minted by a key"}))
        .send()
        .await
        .unwrap();
    assert_problem(bearer, 401, "invalid_credentials").await;
    let nothing = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .send()
        .await
        .unwrap();
    assert_problem(nothing, 401, "invalid_credentials").await;
    let wrong = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .basic_auth("admin-acme", Some("not the password"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "invalid_credentials").await;

    crate::harness::assert_succeeds(&app.tessera(&[
        "admin",
        "create-operator",
        "--username",
        "ops",
        "--password",
        PASSWORD,
    ]));
    let operator = app.get_as("/api/v1/api-keys", "ops").await;
    assert_problem(operator, 403, "permission_denied").await;
}

async fn create_validates_every_option_and_names_the_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let cases = [
        (json!({}), 400, "invalid_request", "name"),
        (
            json!({"name": "x", "colour": "red"}),
            400,
            "invalid_request",
            "colour",
        ),
        (
            json!({"name": "x", "permissions": {"employes": {"actions": ["read"]}}}),
            400,
            "invalid_request",
            "unknown resource 'employes'",
        ),
        (
            json!({"name": "x", "permissions": {"employees": {"actions": ["read"], "fields": ["salary"]}}}),
            400,
            "invalid_request",
            "salary",
        ),
        (
            json!({"name": "x", "permissions": {"employees": {"actions": ["fly"]}}}),
            400,
            "invalid_request",
            "fly",
        ),
        (
            json!({"name": "x", "permissions": {}, "role": "Employee"}),
            400,
            "invalid_request",
            "not both",
        ),
        (
            json!({"name": "x", "role": "Wizard"}),
            400,
            "invalid_request",
            "Wizard",
        ),
        (
            json!({"name": "x", "bot": "ghost"}),
            400,
            "invalid_request",
            "ghost",
        ),
        (
            json!({"name": "x", "expires_at": "tomorrow"}),
            400,
            "invalid_request",
            "RFC 3339",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            400,
            "invalid_request",
            "future",
        ),
        (
            json!({"name": "x", "ip_allowlist": ["10.0.0.0/8", "not-an-ip"]}),
            400,
            "invalid_request",
            "not-an-ip",
        ),
        (
            json!({"name": "x", "ip_allowlist": []}),
            400,
            "invalid_request",
            "at least one",
        ),
        (
            json!({"name": "x", "client_id": "cli_nope"}),
            400,
            "invalid_request",
            "cli_nope",
        ),
        (
            json!({"name": "x", "custom_key": "not-a-guid"}),
            400,
            "invalid_request",
            "GUID",
        ),
    ];
    for (body, status, code, mention) in cases {
        let response = app
            .as_user(
                reqwest::Method::POST,
                "/api/v1/api-keys",
                "admin-acme",
                Some(&body),
            )
            .await;
        let problem = assert_problem(response, status, code).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(mention),
            "{body} -> {problem}"
        );
    }
    let not_json = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .header("authorization", basic("admin-acme"))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "unsupported_media_type").await;
    let malformed = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .header("authorization", basic("admin-acme"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "invalid_request").await;
}

async fn a_key_cannot_exceed_its_creator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "everyone",
    ]));
    // Employees hold nothing until granted, so any explicit grant exceeds them.
    let response = app.as_user(reqwest::Method::POST, "/api/v1/api-keys", "employee-acme", Some(&json!({"name": "x", "permissions": {"employees": {"actions": ["read"], "fields": null}}}))).await;
    let problem = assert_problem(response, 403, "permission_denied").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("more than its creator holds")
    );
    // A key without a grant follows its owner: for an employee, nothing.
    let own = create_key(&app, "employee-acme", json!({"name": "mine"})).await;
    let me: Value = me(&app, own["key"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["permissions"], json!({}));
}

async fn who_may_create_keys_is_an_organisation_setting(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let refused = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "employee-acme",
            Some(&json!({"name": "mine"})),
        )
        .await;
    let problem = assert_problem(refused, 403, "permission_denied").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Only administrators")
    );

    let out = assert_succeeds(&app.tessera(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "everyone",
    ]));
    assert_eq!(out.trim(), "in acme, everyone may now create API keys");
    create_key(&app, "employee-acme", json!({"name": "mine"})).await;
    // Even then, only administrators create keys for bot users.
    assert_succeeds(&app.tessera(&["admin", "create-bot", "--org", "acme", "--name", "sync-bot"]));
    let for_bot = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "employee-acme",
            Some(&json!({"name": "bot key", "bot": "sync-bot"})),
        )
        .await;
    assert_problem(for_bot, 403, "permission_denied").await;
}

async fn people_see_and_revoke_only_their_own_keys_unless_administrators(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "everyone",
    ]));
    let admins = create_key(&app, "admin-acme", json!({"name": "admin's"})).await;
    let employees = create_key(&app, "employee-acme", json!({"name": "employee's"})).await;
    let other_org = create_key(&app, "admin-globex", json!({"name": "globex's"})).await;

    let list = |user: &'static str| {
        let app = &app;
        async move {
            let page: Value = app.get_json_as("/api/v1/api-keys", user).await;
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let mut seen_by_admin = list("admin-acme").await;
    seen_by_admin.sort();
    assert_eq!(seen_by_admin, ["admin's", "employee's"]);
    assert_eq!(list("employee-acme").await, ["employee's"]);

    let path = |key: &Value| format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    for (user, key) in [("employee-acme", &admins), ("admin-acme", &other_org)] {
        let response = app
            .as_user(reqwest::Method::DELETE, &path(key), user, None)
            .await;
        assert_problem(response, 404, "not_found").await;
    }
    let revoked = app
        .as_user(
            reqwest::Method::DELETE,
            &path(&employees),
            "admin-acme",
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    assert_problem(
        me(&app, employees["key"].as_str().unwrap()).await,
        401,
        "revoked_api_key",
    )
    .await;
    let again = app
        .as_user(
            reqwest::Method::DELETE,
            &path(&employees),
            "admin-acme",
            None,
        )
        .await;
    assert_eq!(again.status(), 204, "revoking twice is harmless");
    let shown: Value = app.get_json_as(&path(&employees), "employee-acme").await;
    assert_eq!(shown["status"], "revoked");
    assert!(shown["revoked_at"].is_string());
    let entries = app.audit_log().await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "api_key.revoked")
            .count(),
        1
    );
}

async fn bot_owned_role_linked_and_guid_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "payroll-bot",
        "--role",
        "Administrator",
    ]));
    let client = assert_succeeds(&app.tessera(&["admin", "create-client", "--name", "Payroll Co"]));
    let client_id = client
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("client_id: ")
        .to_owned();

    let guid = "6f1c2a7e-93b4-4d0a-8f5e-2b7c9d1e3a40";
    let created = create_key(
        &app,
        "admin-acme",
        json!({
            "name": "payroll export",
            "bot": "payroll-bot",
            "role": "Employee",
            "expires_at": "2099-01-01T00:00:00Z",
            "ip_allowlist": ["203.0.113.7", "2001:db8::/32"],
            "client_id": client_id,
            "custom_key": guid,
        }),
    )
    .await;
    assert_eq!(created["key"], guid.to_uppercase());
    assert_eq!(created["hint"], "6F1C…3A40");
    assert_eq!(
        created["owner"],
        json!({"type": "bot", "name": "payroll-bot"})
    );
    assert_eq!(created["role"], "Employee");
    assert_eq!(created["permissions"], Value::Null);
    assert_eq!(created["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(
        created["ip_allowlist"],
        json!(["203.0.113.7/32", "2001:db8::/32"])
    );
    assert_eq!(created["client_id"], client_id.as_str());

    let duplicate = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&json!({"name": "again", "custom_key": guid.to_uppercase()})),
        )
        .await;
    assert_problem(duplicate, 409, "conflict").await;
}

async fn lists_are_paginated_with_a_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    for n in 0..5 {
        create_key(&app, "admin-acme", json!({"name": format!("key {n}")})).await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/api-keys?limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .http
            .get(url)
            .header("authorization", basic("admin-acme"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        names.extend(data.iter().map(|k| k["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["key 0", "key 1", "key 2", "key 3", "key 4"]);
    for bad in ["0", "201", "ten"] {
        let response = app
            .get_as(&format!("/api/v1/api-keys?limit={bad}"), "admin-acme")
            .await;
        assert_problem(response, 400, "invalid_request").await;
    }
}

async fn revoke_all_needs_the_typed_slug(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let keys: Vec<String> = {
        let mut keys = Vec::new();
        for n in 0..3 {
            keys.push(
                create_key(&app, "admin-acme", json!({"name": format!("k{n}")})).await["key"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        keys
    };
    let survivor = create_key(&app, "admin-globex", json!({"name": "globex"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke_all = |user: &'static str, confirm: &'static str| {
        app.http
            .post(app.url("/api/v1/api-keys/revoke-all"))
            .header("authorization", basic(user))
            .json(&json!({"confirm": confirm}))
            .send()
    };
    assert_problem(
        revoke_all("admin-acme", "ACME").await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        revoke_all("employee-acme", "acme").await.unwrap(),
        403,
        "permission_denied",
    )
    .await;
    for key in &keys {
        assert_eq!(me(&app, key).await.status(), 200);
    }
    let done = revoke_all("admin-acme", "acme").await.unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(done.json::<Value>().await.unwrap()["revoked"], 3);
    for key in &keys {
        assert_problem(me(&app, key).await, 401, "revoked_api_key").await;
    }
    assert_eq!(me(&app, &survivor).await.status(), 200);
    assert!(
        app.audit_log()
            .await
            .iter()
            .any(|e| e.action == "api_key.revoked_all")
    );
}

async fn custom_keys_must_be_hard_to_guess_and_probing_them_is_throttled(backend: Backend) {
    let config = tessera_server::ServerConfig {
        auth_failures_per_minute: 3,
        ..tessera_server::ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let app = &app;
    let create = |guid: &'static str| async move {
        let body = json!({"name": "legacy", "custom_key": guid});
        app.as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&body),
        )
        .await
    };
    for guessable in [
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "00000000-0000-0000-0000-000000000042",
        "12345678-9abc-def0-1234-56789abcdef0",
    ] {
        let body = assert_problem(create(guessable).await, 400, "invalid_request").await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("too easy to guess"),
            "{body}"
        );
    }
    let taken = "d4e8a1c3-5b7f-4e92-a6d0-3c1f8b2e7a95";
    assert_eq!(create(taken).await.status(), 201);
    // Probing for taken keys counts as failed key checks: three refusals,
    // then the address is throttled, with Retry-After.
    for _ in 0..3 {
        assert_problem(create(taken).await, 409, "conflict").await;
    }
    let throttled = create(taken).await;
    assert!(throttled.headers().contains_key("retry-after"));
    assert_problem(throttled, 429, "rate_limited").await;
}
