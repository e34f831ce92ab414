//! Verification of presented keys on every API request:
//! each rule with its exact status and code.

use crate::harness::{
    Backend, TestApp, assert_fails_with, assert_problem, assert_succeeds, basic, create_client,
    create_key, full_key, me, me_with_client, seed_organization, within,
};
use crate::{assert_audited, on_both_backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tessera_access::client_ip::TrustedProxies;
use tessera_core::audit::Actor;
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};
use tessera_server::ServerConfig;
use tessera_store::{organizations, roles};

on_both_backends!(
    requests_without_a_key_are_refused,
    x_api_key_wins_over_bearer,
    keys_in_the_query_string_are_refused,
    cross_origin_browser_requests_are_refused,
    malformed_and_unknown_keys_are_invalid,
    expired_keys_stop_at_their_expiry,
    deactivating_the_owner_disables_the_key,
    keys_follow_edits_of_their_owners_role_and_linked_role,
    ip_allow_lists_accept_ipv4_and_ipv6_ranges,
    several_keys_without_a_client_are_refused_before_any_lookup,
    with_a_client_every_presented_key_must_be_valid,
    a_request_presents_at_most_ten_keys,
    client_bound_keys_need_their_client,
    a_disabled_client_is_refused_until_enabled_again,
    a_rotated_client_credential_overlaps_then_stops,
    an_organisation_blocks_a_client_for_itself_only,
    one_client_reads_two_organisations_in_turn,
    a_key_can_revoke_itself,
    leaked_keys_are_revoked_and_reports_are_throttled,
    last_use_is_recorded_off_the_request_path,
);

async fn requests_without_a_key_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.http.get(app.url("/api/v1/me")).send().await.unwrap();
    let problem = assert_problem(response, 401, "missing_api_key").await;
    assert!(problem["detail"].as_str().unwrap().contains("X-API-KEY"));
    let basic_only = app
        .http
        .get(app.url("/api/v1/me"))
        .basic_auth("someone", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_problem(basic_only, 401, "missing_api_key").await;
}

async fn x_api_key_wins_over_bearer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let both = app
        .get_with(
            "/api/v1/me",
            &[
                ("X-Api-Key", key.as_str()),
                ("authorization", "Bearer sk_garbage"),
            ],
        )
        .await;
    assert_eq!(both.status(), 200);
    let reversed = app
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", "sk_garbage"),
                ("Authorization", format!("Bearer {key}").as_str()),
            ],
        )
        .await;
    assert_problem(reversed, 401, "invalid_api_key").await;
    let bearer = app
        .get_with(
            "/api/v1/me",
            &[("authorization", format!("bearer {key}").as_str())],
        )
        .await;
    assert_eq!(bearer.status(), 200);
}

async fn keys_in_the_query_string_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    for parameter in [
        "api_key",
        "key",
        "token",
        "API_KEY",
        "api%5Fkey",
        "apikey",
        "access_token",
        "X-Api-Key",
    ] {
        let response = app
            .get_with(
                &format!("/api/v1/me?{parameter}={key}"),
                &[("x-api-key", key.as_str())],
            )
            .await;
        assert_problem(response, 400, "api_key_in_query").await;
    }
}

async fn cross_origin_browser_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let foreign = app
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", key.as_str()),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert!(
        foreign
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-"))
    );
    assert_problem(foreign, 403, "browser_requests_not_supported").await;
    let own = app
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", key.as_str()),
                ("origin", format!("http://{}", app.address).as_str()),
            ],
        )
        .await;
    assert_eq!(own.status(), 200);
}

async fn malformed_and_unknown_keys_are_invalid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let mut mistyped = key.clone().into_bytes();
    mistyped[10] = if mistyped[10] == b'a' { b'b' } else { b'a' };
    let unknown = tessera_core::secret::generate(tessera_core::secret::SecretKind::ApiKey).raw;
    for presented in [
        String::from_utf8(mistyped).unwrap(),
        unknown,
        "hello".to_owned(),
        "3F2504E0-4F89-11D3-9A0C-0305E82C3301".to_owned(),
    ] {
        assert_problem(me(&app, &presented).await, 401, "invalid_api_key").await;
    }
}

async fn expired_keys_stop_at_their_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let expires = tessera_store::format_ms(tessera_store::now_ms() + 1500);
    let created = create_key(
        &app,
        "admin-acme",
        json!({"name": "short-lived", "expires_at": expires}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &key).await.status(), 200);
    within(Duration::from_secs(5), || async {
        me(&app, &key).await.status() == 401
    })
    .await;
    assert_problem(me(&app, &key).await, 401, "expired_api_key").await;
    let shown: Value = app
        .http
        .get(app.url(&format!(
            "/api/v1/api-keys/{}",
            created["id"].as_str().unwrap()
        )))
        .header("authorization", basic("admin-acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "expired");
}

async fn deactivating_the_owner_disables_the_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    assert_eq!(me(&app, &key).await.status(), 200);
    let organization = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    // Changed as another instance or the command line would: the change
    // log must reach this instance's cache.
    app.deactivate_elsewhere(&organization.id, "admin-acme")
        .await;
    let delay = within(Duration::from_secs(1), || async {
        me(&app, &key).await.status() == 401
    })
    .await;
    println!("owner deactivation reached the cache in {delay:?}");
    let problem = assert_problem(me(&app, &key).await, 401, "invalid_api_key").await;
    assert!(problem["detail"].as_str().unwrap().contains("deactivated"));
}

async fn keys_follow_edits_of_their_owners_role_and_linked_role(backend: Backend) {
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
    let org = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    let employee_role = roles::find_by_name(&app.db, &org.id, roles::EMPLOYEE)
        .await
        .unwrap()
        .unwrap();
    let employees_read = |fields: Value| {
        Access::Limited(
            PermissionSet::from_json(
                &json!({"employees": {"actions": ["read"], "fields": fields}}),
            )
            .unwrap(),
        )
    };

    // An employee's unrestricted key is bounded by the Employee role.
    let employee_key = create_key(&app, "employee-acme", json!({"name": "mine"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // An administrator's key linked to the Employee role follows that role.
    let linked_key = create_key(
        &app,
        "admin-acme",
        json!({"name": "linked", "role": "Employee"}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for key in [&employee_key, &linked_key] {
        let body: Value = me(&app, key).await.json().await.unwrap();
        assert_eq!(body["permissions"], json!({}));
    }

    // Changed as another instance or the command line would.
    let change_role = |access: Access| {
        let (app, org, role) = (&app, &org, &employee_role);
        async move {
            let name = DisplayName::parse(&role.name).unwrap();
            tessera_ops::roles::update(
                &app.ops_elsewhere(),
                &Actor::command_line(),
                &org.id,
                role,
                &name,
                &access,
            )
            .await
            .unwrap();
        }
    };
    change_role(employees_read(json!(["id", "first_name"]))).await;
    for key in [&employee_key, &linked_key] {
        within(Duration::from_secs(1), || async {
            let body: Value = me(&app, key).await.json().await.unwrap();
            body["permissions"]
                == json!({"employees": {"actions": ["read"], "fields": ["first_name", "id"]}})
        })
        .await;
    }
    change_role(employees_read(json!(["id"]))).await;
    within(Duration::from_secs(1), || async {
        let body: Value = me(&app, &linked_key).await.json().await.unwrap();
        body["permissions"]["employees"]["fields"] == json!(["id"])
    })
    .await;
}

async fn ip_allow_lists_accept_ipv4_and_ipv6_ranges(backend: Backend) {
    let config = ServerConfig {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = create_key(
        &app,
        "admin-acme",
        json!({"name": "office", "ip_allowlist": ["203.0.113.0/24", "2001:db8::/32"]}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = |address: &'static str| {
        app.http
            .get(app.url("/api/v1/me"))
            .header("x-api-key", &key)
            .header("x-forwarded-for", address)
            .send()
    };
    assert_eq!(from("203.0.113.9").await.unwrap().status(), 200);
    assert_eq!(from("2001:db8:1::5").await.unwrap().status(), 200);
    let problem = assert_problem(from("198.51.100.1").await.unwrap(), 403, "ip_not_allowed").await;
    assert!(problem["detail"].as_str().unwrap().contains("198.51.100.1"));
    assert_problem(from("2001:db9::1").await.unwrap(), 403, "ip_not_allowed").await;
    // Without a forwarded address, the caller is 127.0.0.1: not allowed.
    assert_problem(me(&app, &key).await, 403, "ip_not_allowed").await;

    // A server that trusts no proxy ignores X-Forwarded-For entirely.
    let direct = TestApp::spawn(backend).await;
    seed_organization(&direct, "acme").await;
    let key = create_key(
        &direct,
        "admin-acme",
        json!({"name": "office", "ip_allowlist": ["203.0.113.0/24"]}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let spoofed = direct
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", key.as_str()),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        )
        .await;
    assert_problem(spoofed, 403, "ip_not_allowed").await;
}

async fn several_keys_without_a_client_are_refused_before_any_lookup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let acme = full_key(&app, "acme").await;
    let globex = full_key(&app, "globex").await;
    let both = format!("{acme}, {globex}");
    for slug in [None, Some("acme")] {
        let mut headers = vec![("x-api-key", both.as_str())];
        headers.extend(slug.map(|slug| ("x-organization", slug)));
        let refused = app.get_with("/api/v1/me", &headers).await;
        assert_problem(refused, 403, "api_client_required").await;
    }
    // Guesses without a client are refused the same way and are never
    // looked up, so they cannot be told apart and cost no failure count.
    let guesses: Vec<String> = (0..9)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    let sprayed = format!("{acme}, {}", guesses.join(", "));
    for _ in 0..70 {
        let refused = app
            .get_with("/api/v1/me", &[("x-api-key", sprayed.as_str())])
            .await;
        assert_problem(refused, 403, "api_client_required").await;
    }
    assert_eq!(me(&app, &acme).await.status(), 200);
    // One key and a matching X-Organization is fine; a mismatching one is not.
    let single = app
        .get_with(
            "/api/v1/me",
            &[("x-api-key", acme.as_str()), ("x-organization", "globex")],
        )
        .await;
    assert_problem(single, 403, "organization_not_in_keys").await;
}

async fn with_a_client_every_presented_key_must_be_valid(backend: Backend) {
    let config = ServerConfig {
        auth_failures_per_minute: 20,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let (_, credential) = create_client(&app.test_db.url, "Payroll Co");
    let acme = full_key(&app, "acme").await;
    let revoked = full_key(&app, "globex").await;
    let revoking = app
        .http
        .delete(app.url("/api/v1/me"))
        .header("x-api-key", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(revoking.status(), 204);
    let with_client = |keys: String| {
        let request = app
            .http
            .get(app.url("/api/v1/me"))
            .header("x-api-client", &credential)
            .header("x-api-key", keys)
            .header("x-organization", "acme");
        async move { request.send().await.unwrap() }
    };
    // A revoked key of another organisation is refused exactly like a key
    // that does not exist: the answer tells nothing of other tenants.
    let unknown = "6f1c2a7e-93b4-4d0a-8f5e-2b7c9d1e3a40";
    let mut answers = Vec::new();
    for other in [revoked.as_str(), unknown] {
        let refused = with_client(format!("{acme}, {other}")).await;
        let body = assert_problem(refused, 401, "invalid_api_key").await;
        answers.push(body["detail"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0].as_str().unwrap().contains("position 2"),
        "{answers:?}"
    );
    // Each invalid key is a failed key check: with nine unknown keys a
    // request, the limit of 20 failures a minute is reached within three
    // requests (counted once a request, it would take eighteen).
    let guesses: Vec<String> = (0..9)
        .map(|n| format!("6f1c2a7e-93b4-4d0a-8f5e-{n:012}"))
        .collect();
    let sprayed = format!("{acme}, {}", guesses.join(", "));
    let mut throttled_at = None;
    for attempt in 1..=6 {
        let answer = with_client(sprayed.clone()).await;
        if answer.status() == 429 {
            throttled_at = Some(attempt);
            break;
        }
        assert_problem(answer, 401, "invalid_api_key").await;
    }
    assert!(
        throttled_at.is_some_and(|attempt| attempt <= 4),
        "throttled at {throttled_at:?}"
    );
}

async fn a_request_presents_at_most_ten_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let (_, credential) = create_client(&app.test_db.url, "Payroll Co");
    let acme = full_key(&app, "acme").await;
    let keys = [acme.as_str(); 11].join(", ");
    let refused = app
        .http
        .get(app.url("/api/v1/me"))
        .header("x-api-client", &credential)
        .header("x-api-key", keys)
        .send()
        .await
        .unwrap();
    let body = assert_problem(refused, 400, "invalid_request").await;
    assert!(body["detail"].as_str().unwrap().contains("at most 10"));
}

async fn client_bound_keys_need_their_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let out = assert_succeeds(&app.tessera(&["admin", "create-client", "--name", "Payroll Co"]));
    let mut lines = out.lines();
    let client_id = lines
        .next()
        .unwrap()
        .trim_start_matches("client_id: ")
        .to_owned();
    let credential = lines
        .next()
        .unwrap()
        .trim_start_matches("credential: ")
        .to_owned();
    let other = assert_succeeds(&app.tessera(&["admin", "create-client", "--name", "Other Co"]));
    let other_credential = other
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("credential: ")
        .to_owned();
    let key = create_key(
        &app,
        "admin-acme",
        json!({"name": "bound", "client_id": client_id}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_problem(me(&app, &key).await, 403, "api_client_required").await;
    let wrong_client = app
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", key.as_str()),
                ("x-api-client", other_credential.as_str()),
            ],
        )
        .await;
    assert_problem(wrong_client, 403, "api_client_required").await;
    let forged = app
        .get_with(
            "/api/v1/me",
            &[("x-api-key", key.as_str()), ("x-api-client", "ck_forged")],
        )
        .await;
    assert_problem(forged, 401, "invalid_api_client").await;
    let ok: Value = app
        .get_with(
            "/api/v1/me",
            &[
                ("x-api-key", key.as_str()),
                ("x-api-client", credential.as_str()),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["client"], client_id.as_str());
}

async fn a_disabled_client_is_refused_until_enabled_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let (client_id, credential) = create_client(&app.test_db.url, "Payroll Co");
    let key = create_key(&app, "admin-acme", json!({"name": "integration"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);

    let out = assert_succeeds(&app.tessera(&["admin", "disable-client", "--client", &client_id]));
    assert_eq!(out.trim(), format!("API client {client_id} disabled"));
    assert_problem(
        me_with_client(&app, &key, &credential).await,
        401,
        "invalid_api_client",
    )
    .await;
    // The key alone still works: disabling a client takes nothing from keys.
    assert_eq!(me(&app, &key).await.status(), 200);

    assert_succeeds(&app.tessera(&["admin", "enable-client", "--client", &client_id]));
    let answer: Value = me_with_client(&app, &key, &credential)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["client"], client_id.as_str());

    assert_fails_with(
        &app.tessera(&["admin", "disable-client", "--client", "cli_nobody"]),
        "there is no API client 'cli_nobody'",
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"api_client.disabled".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"api_client.enabled".to_owned()),
        "{actions:?}"
    );
}

async fn a_rotated_client_credential_overlaps_then_stops(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let line = |out: &str, name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_owned()
    };
    let (client_id, first) = create_client(&app.test_db.url, "Payroll Co");
    let key = create_key(&app, "admin-acme", json!({"name": "integration"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = assert_succeeds(&app.tessera(&[
        "admin",
        "rotate-client",
        "--client",
        &client_id,
        "--overlap-hours",
        "2",
    ]));
    let second = line(&out, "credential: ");
    assert_ne!(second, first);
    let until = line(&out, "previous credential valid until: ");
    let until = time::OffsetDateTime::parse(&until, &time::format_description::well_known::Rfc3339)
        .unwrap();
    let hours_left = (until - time::OffsetDateTime::now_utc()).as_seconds_f64() / 3600.0;
    assert!(
        (1.9..=2.0).contains(&hours_left),
        "{hours_left} hours of overlap"
    );
    // Within the overlap both credentials identify the same client.
    for credential in [&first, &second] {
        let answer: Value = me_with_client(&app, &key, credential)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["client"], client_id.as_str());
    }

    let out = assert_succeeds(&app.tessera(&[
        "admin",
        "rotate-client",
        "--client",
        &client_id,
        "--overlap-hours",
        "0",
    ]));
    let third = line(&out, "credential: ");
    for stopped in [&first, &second] {
        assert_problem(
            me_with_client(&app, &key, stopped).await,
            401,
            "invalid_api_client",
        )
        .await;
    }
    assert_eq!(me_with_client(&app, &key, &third).await.status(), 200);
    assert_fails_with(
        &app.tessera(&["admin", "rotate-client", "--client", "cli_nobody"]),
        "there is no API client 'cli_nobody'",
    );
}

async fn an_organisation_blocks_a_client_for_itself_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let (client_id, credential) = create_client(&app.test_db.url, "Payroll Co");
    let acme_key = create_key(&app, "admin-acme", json!({"name": "payroll"})).await;
    let (acme_key, acme_key_id) = (
        acme_key["key"].as_str().unwrap().to_owned(),
        acme_key["id"].as_str().unwrap().to_owned(),
    );
    let globex_key = create_key(&app, "admin-globex", json!({"name": "payroll"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        assert_eq!(
            me_with_client(&app, &acme_key, &credential).await.status(),
            200
        );
    }
    // Uses are counted off the request path, within about a second.
    let started = Instant::now();
    let connection = loop {
        let list: Value = app
            .get_json_as("/api/v1/connected-clients", "admin-acme")
            .await;
        if let Some(c) = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["request_count"] == 3)
        {
            break c.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "uses never counted: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(connection["client_id"], client_id.as_str());
    assert_eq!(connection["name"], "Payroll Co");
    assert_eq!(connection["key_ids"], json!([acme_key_id]));
    let time = |name: &str| {
        let text = connection[name].as_str().unwrap();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert!(time("first_used_at") <= time("last_used_at"));
    assert_eq!(connection["blocked"], false);

    let block_path = format!("/api/v1/connected-clients/{client_id}/block");
    let not_admin = app
        .as_user(reqwest::Method::PUT, &block_path, "employee-acme", None)
        .await;
    assert_problem(not_admin, 403, "permission_denied").await;
    let unknown = app
        .as_user(
            reqwest::Method::PUT,
            "/api/v1/connected-clients/cli_nobody/block",
            "admin-acme",
            None,
        )
        .await;
    assert_problem(unknown, 404, "not_found").await;

    let blocked = app
        .as_user(reqwest::Method::PUT, &block_path, "admin-acme", None)
        .await;
    assert_eq!(blocked.status(), 200);
    let blocked: Value = blocked.json().await.unwrap();
    assert_eq!(blocked["blocked"], true);
    assert_eq!(blocked["request_count"], 3);
    assert_problem(
        me_with_client(&app, &acme_key, &credential).await,
        403,
        "api_client_blocked",
    )
    .await;
    // The block is acme's: the same client still acts for globex, and
    // acme's key still works without the client.
    assert_eq!(
        me_with_client(&app, &globex_key, &credential)
            .await
            .status(),
        200
    );
    assert_eq!(me(&app, &acme_key).await.status(), 200);

    let unblocked = app
        .as_user(reqwest::Method::DELETE, &block_path, "admin-acme", None)
        .await;
    assert_eq!(unblocked.status(), 200);
    assert_eq!(
        me_with_client(&app, &acme_key, &credential).await.status(),
        200
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"api_client.blocked".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"api_client.unblocked".to_owned()),
        "{actions:?}"
    );
}

async fn one_client_reads_two_organisations_in_turn(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let (_, credential) = create_client(&app.test_db.url, "Payroll Co");
    let acme_key = full_key(&app, "acme").await;
    let globex_key = full_key(&app, "globex").await;
    for (key, first_name) in [(&acme_key, "Ada"), (&globex_key, "Grace")] {
        let created = app
            .http
            .post(app.url("/api/v1/employees"))
            .header("x-api-key", key)
            .json(&json!({"first_name": first_name, "last_name": "Payroll"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let both_keys = format!("{acme_key}, {globex_key}");
    let employees_of = |organization: &'static str| {
        let request = app
            .http
            .get(app.url("/api/v1/employees"))
            .header("x-api-client", &credential)
            .header("x-api-key", &both_keys)
            .header("x-organization", organization);
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            answer["data"]
                .as_array()
                .unwrap_or_else(|| panic!("no list: {answer}"))
                .iter()
                .map(|e| e["first_name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Successive requests, alternating: each sees only its organisation.
    for _ in 0..2 {
        assert_eq!(employees_of("acme").await, ["Ada"]);
        assert_eq!(employees_of("globex").await, ["Grace"]);
    }
    // The keys may also come as repeated headers.
    let repeated = app
        .http
        .get(app.url("/api/v1/employees"))
        .header("x-api-client", &credential)
        .header("x-api-key", &acme_key)
        .header("x-api-key", &globex_key)
        .header("x-organization", "globex")
        .send()
        .await
        .unwrap();
    let answer: Value = repeated.json().await.unwrap();
    assert_eq!(answer["data"][0]["first_name"], "Grace");
    assert_eq!(answer["data"].as_array().unwrap().len(), 1);
    let ambiguous = app
        .http
        .get(app.url("/api/v1/employees"))
        .header("x-api-client", &credential)
        .header("x-api-key", &both_keys)
        .send()
        .await
        .unwrap();
    assert_problem(ambiguous, 400, "ambiguous_organization").await;
}

async fn a_key_can_revoke_itself(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let response = app
        .http
        .delete(app.url("/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_problem(me(&app, &key).await, 401, "revoked_api_key").await;
    assert_audited!(
        app.audit_log().await,
        "api_key.revoked",
        actor_kind == "api_key"
    );
}

async fn leaked_keys_are_revoked_and_reports_are_throttled(backend: Backend) {
    let config = ServerConfig {
        leak_reports_per_minute: 3,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let report = |key: String| {
        app.http
            .post(app.url("/api/v1/leaked-keys"))
            .json(&json!({"key": key, "source": "https://example.com/paste/1"}))
            .send()
    };
    let real = report(key.clone()).await.unwrap();
    assert_eq!(real.status(), 202);
    let real_body: Value = real.json().await.unwrap();
    assert_problem(me(&app, &key).await, 401, "revoked_api_key").await;
    let fake = report(tessera_core::secret::generate(tessera_core::secret::SecretKind::ApiKey).raw)
        .await
        .unwrap();
    assert_eq!(fake.status(), 202);
    assert_eq!(
        fake.json::<Value>().await.unwrap(),
        real_body,
        "the answer must not reveal whether the key existed"
    );
    assert_eq!(report("whatever".to_owned()).await.unwrap().status(), 202);
    let throttled = report(key.clone()).await.unwrap();
    assert!(
        throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let problem = assert_problem(throttled, 429, "rate_limited").await;
    assert_eq!(problem["message"], "Too Many Requests");
    let entries = app.audit_log().await;
    let leaked: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "api_key.leaked")
        .collect();
    assert_eq!(leaked.len(), 1);
    assert!(
        leaked[0]
            .details
            .as_deref()
            .unwrap()
            .contains("example.com/paste/1")
    );
}

async fn last_use_is_recorded_off_the_request_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let created = create_key(&app, "admin-acme", json!({"name": "used"})).await;
    let key = created["key"].as_str().unwrap();
    let path = format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(me(&app, key).await.status(), 200);
    within(Duration::from_secs(5), || async {
        let shown: Value = app.get_json_as(&path, "admin-acme").await;
        shown["last_used_at"].is_string() && shown["last_used_ip"] == "127.0.0.1"
    })
    .await;
}
