//! The console's operator pages (organisations, rate limits) and the audit
//! log page, over plain HTTP with a cookie-holding client.

use crate::harness::{
    Backend, ConsoleSession, PASSWORD, ServerProcess, TestApp, all_between, create_key,
    create_operator, me, newer_entries_link, older_entries_link, rows, seed_organization,
};
use crate::on_both_backends;
use serde_json::json;
use std::time::{Duration, Instant};
use tessera_core::audit::AuditEvent;
use tessera_store::audit::{self, Actor, AuditFilter, NewEntry};
use tessera_store::organizations;

on_both_backends!(
    an_operator_creates_an_organisation_whose_administrator_signs_in,
    bad_creation_input_is_shown_beside_its_field_and_kept,
    a_rate_limit_set_in_the_console_applies_to_the_next_request,
    a_rate_limit_set_in_the_console_reaches_another_instance,
    operator_pages_are_for_operators_and_their_forms_need_the_csrf_token,
    the_audit_log_filters_by_actor_action_and_date_within_one_organisation,
    the_audit_log_pages_through_older_entries,
    operators_see_the_whole_deployment_log_or_one_organisation,
);

async fn an_operator_creates_an_organisation_whose_administrator_signs_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;

    let (status, list) = ops.page("/operator/organizations").await;
    assert_eq!(status, 200);
    assert!(list.contains("No organisations yet"), "{list}");

    let created = ops
        .post_from_page(
            "/operator/organizations",
            "/operator/organizations",
            &[
                ("slug", "initech"),
                ("name", "Initech Corp"),
                ("admin_username", "boss-initech"),
                ("admin_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    assert_eq!(
        created.headers()["location"],
        "/operator/organizations/initech?done=created"
    );
    let (status, detail) = ops
        .page("/operator/organizations/initech?done=created")
        .await;
    assert_eq!(status, 200);
    assert!(detail.contains("The organisation was created."), "{detail}");
    assert!(detail.contains("<h1>Initech Corp</h1>"), "{detail}");
    assert!(
        detail.contains(
            r#"<td data-label="Username">boss-initech</td><td data-label="Role">Administrator</td>"#
        ),
        "{detail}"
    );
    assert!(
        detail.contains(r#"<dd id="rate-limit">100/s, burst 200</dd>"#),
        "{detail}"
    );

    // Without a first administrator, an organisation is created alone.
    let alone = ops
        .post_from_page(
            "/operator/organizations",
            "/operator/organizations",
            &[
                ("slug", "hooli"),
                ("name", "Hooli"),
                ("admin_username", ""),
                ("admin_password", ""),
            ],
        )
        .await;
    assert_eq!(alone.status(), 303);
    let (_, hooli) = ops.page("/operator/organizations/hooli").await;
    assert!(hooli.contains("No users yet."), "{hooli}");

    // The first administrator signs in, sees their organisation and role,
    // and can create keys at once.
    let mut boss = ConsoleSession::signed_in(&app, "boss-initech", PASSWORD).await;
    let (_, home) = boss.page("/").await;
    assert!(
        home.contains(r#"<dd id="organization">Initech Corp (<code>initech</code>)</dd>"#),
        "{home}"
    );
    assert!(
        home.contains(r#"<dd id="role">Administrator</dd>"#),
        "{home}"
    );
    create_key(&app, "boss-initech", json!({"name": "first"})).await;

    // The list counts users and active keys.
    let (_, list) = ops.page("/operator/organizations").await;
    let row = all_between(&list, "<tr id=\"org-initech\">", "</tr>")[0];
    assert!(row.contains(r#"<td data-label="Users">1</td>"#), "{row}");
    assert!(
        row.contains(r#"<td data-label="Active keys">1</td>"#),
        "{row}"
    );
    assert!(row.contains("100/s, burst 200"), "{row}");
    assert!(row.contains("Administrators only"), "{row}");

    // Both creations are audited as the operator's, in the organisation's
    // log, where its administrator sees them.
    let organization = organizations::find_by_slug(&app.db, "initech")
        .await
        .unwrap()
        .unwrap();
    let entries = audit::search(
        &app.db,
        &AuditFilter {
            organization_id: Some(&organization.id),
            actor: Some("ops"),
            limit: 10,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.created", "organization.created"]);
    assert!(entries.iter().all(|e| e.actor_kind == "operator"));
    assert!(entries.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));
    assert!(
        entries[1]
            .details
            .as_deref()
            .unwrap()
            .contains("boss-initech")
    );
    let (_, log) = boss
        .page("/settings/audit?action=organization.created")
        .await;
    assert_eq!(rows(&log).len(), 1, "{log}");
}

async fn bad_creation_input_is_shown_beside_its_field_and_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    seed_organization(&app, "acme").await;
    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;

    let duplicate = ops
        .post_from_page(
            "/operator/organizations",
            "/operator/organizations",
            &[
                ("slug", "acme"),
                ("name", "Another Acme"),
                ("admin_username", "new-boss"),
                ("admin_password", "a secret password"),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    let page_text = duplicate.text().await.unwrap();
    assert!(
        page_text.contains(r#"<p class="field-error" id="slug-error">An organisation with the slug 'acme' already exists. Choose another slug.</p>"#),
        "{page_text}"
    );
    for kept in [
        r#"value="acme""#,
        r#"value="Another Acme""#,
        r#"value="new-boss""#,
    ] {
        assert!(page_text.contains(kept), "{kept} not kept: {page_text}");
    }
    assert!(
        !page_text.contains("a secret password"),
        "the password came back"
    );

    let everything_wrong = ops
        .post_from_page(
            "/operator/organizations",
            "/operator/organizations",
            &[
                ("slug", "Bad Slug"),
                ("name", ""),
                ("admin_username", "admin-acme"),
                ("admin_password", "short"),
            ],
        )
        .await;
    assert_eq!(everything_wrong.status(), 422);
    let page_text = everything_wrong.text().await.unwrap();
    for (field, message) in [
        ("slug", "Use 2-63 lowercase letters"),
        ("name", "Enter the organisation&#39;s name."),
        (
            "admin_username",
            "The username &#39;admin-acme&#39; is already taken.",
        ),
        (
            "admin_password",
            "The password must be at least 12 characters long.",
        ),
    ] {
        let beside = format!(r#"<p class="field-error" id="{field}-error">{message}"#);
        let beside_unescaped = beside.replace("&#39;", "'");
        assert!(
            page_text.contains(&beside) || page_text.contains(&beside_unescaped),
            "no {beside} in {page_text}"
        );
    }
    assert!(page_text.contains(r#"value="Bad Slug""#));

    // A username without a password is refused too.
    let half = ops
        .post_from_page(
            "/operator/organizations",
            "/operator/organizations",
            &[
                ("slug", "initech"),
                ("name", "Initech"),
                ("admin_username", "boss"),
            ],
        )
        .await;
    assert_eq!(half.status(), 422);
    assert!(
        half.text()
            .await
            .unwrap()
            .contains("Enter a password for the first administrator.")
    );

    // Nothing was created by any of these.
    let slugs: Vec<String> = organizations::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.slug)
        .collect();
    assert_eq!(slugs, ["acme"]);
}

async fn a_rate_limit_set_in_the_console_applies_to_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    seed_organization(&app, "acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // The key is verified and cached with the old limit.
    let before = me(&app, &key).await;
    assert_eq!(before.headers()["ratelimit-policy"], "\"org\";q=200;w=2");

    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;
    let changed = ops
        .post_from_page(
            "/operator/organizations/acme",
            "/operator/organizations/acme/rate-limit",
            &[("per_second", "3"), ("burst", "7")],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(
        changed.headers()["location"],
        "/operator/organizations/acme?done=rate-limit"
    );
    // The very next request: no waiting for the change log.
    let after = me(&app, &key).await;
    assert_eq!(after.status(), 200);
    assert_eq!(after.headers()["ratelimit-policy"], "\"org\";q=7;w=3");
    let body: serde_json::Value = after.json().await.unwrap();
    assert_eq!(body["rate_limit"], json!({"per_second": 3, "burst": 7}));
    let (_, detail) = ops
        .page("/operator/organizations/acme?done=rate-limit")
        .await;
    assert!(detail.contains(r#"<dd id="rate-limit">3/s, burst 7</dd>"#));
    assert!(detail.contains("It applies from the next request."));

    // Bad values are refused beside their field, kept, and change nothing.
    for (per_second, burst, field, message) in [
        (
            "0",
            "7",
            "per_second",
            "Enter the requests per second as a whole number from 1 to 1000000.",
        ),
        (
            "3",
            "lots",
            "burst",
            "Enter the burst as a whole number from 1 to 1000000.",
        ),
        ("2.5", "7", "per_second", "as a whole number"),
        ("3", "1000001", "burst", "from 1 to 1000000"),
        ("", "7", "per_second", "Enter the requests per second."),
    ] {
        let refused = ops
            .post_from_page(
                "/operator/organizations/acme",
                "/operator/organizations/acme/rate-limit",
                &[("per_second", per_second), ("burst", burst)],
            )
            .await;
        assert_eq!(refused.status(), 422);
        let page_text = refused.text().await.unwrap();
        assert!(
            page_text.contains(&format!(r#"<p class="field-error" id="{field}-error">"#))
                && page_text.contains(message),
            "{per_second}/{burst}: {page_text}"
        );
        assert!(page_text.contains(&format!(r#"id="per_second" name="per_second" type="number" min="1" max="1000000" step="1" inputmode="numeric" value="{per_second}""#)), "{page_text}");
        assert!(page_text.contains(&format!(r#"value="{burst}""#)));
    }
    let organization = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            organization.rate_limit.per_second,
            organization.rate_limit.burst
        ),
        (3, 7)
    );

    let entries = audit::search(
        &app.db,
        &AuditFilter {
            action: Some("organization.rate_limit_changed"),
            limit: 10,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_name, "ops");
    assert_eq!(entries[0].target.as_deref(), Some(organization.id.as_str()));
    let details: serde_json::Value =
        serde_json::from_str(entries[0].details.as_deref().unwrap()).unwrap();
    assert_eq!(
        details,
        json!({"rate": 3, "burst": 7, "previous": {"rate": 100, "burst": 200}})
    );
}

async fn a_rate_limit_set_in_the_console_reaches_another_instance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    seed_organization(&app, "acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = ServerProcess::start(&app.test_db.url, "serve", &[]);
    let http = reqwest::Client::new();
    let policy_on_other = async || {
        let response = http
            .get(format!("http://{}/api/v1/me", other.address))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.headers()["ratelimit-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    // The other instance has the key cached with the old limit.
    assert_eq!(policy_on_other().await, "\"org\";q=200;w=2");

    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;
    let changed = ops
        .post_from_page(
            "/operator/organizations/acme",
            "/operator/organizations/acme/rate-limit",
            &[("per_second", "5"), ("burst", "20")],
        )
        .await;
    assert_eq!(changed.status(), 303);
    let changed_at = Instant::now();
    loop {
        if policy_on_other().await == "\"org\";q=20;w=4" {
            break;
        }
        assert!(
            changed_at.elapsed() < Duration::from_secs(1),
            "the other instance kept the old limit for more than a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "the other instance applied the new limit after {:?}",
        changed_at.elapsed()
    );
}

async fn operator_pages_are_for_operators_and_their_forms_need_the_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    seed_organization(&app, "acme").await;

    let mut nobody = ConsoleSession::new(&app);
    let redirected = nobody.get("/operator/organizations").await;
    assert_eq!(redirected.status(), 303);
    assert_eq!(redirected.headers()["location"], "/login");

    for member in ["admin-acme", "employee-acme"] {
        let mut browser = ConsoleSession::signed_in(&app, member, PASSWORD).await;
        for path in [
            "/operator/organizations",
            "/operator/organizations/acme",
            "/operator/audit",
        ] {
            let (status, text) = browser.page(path).await;
            assert_eq!(status, 403, "{member} reached {path}");
            assert!(
                text.contains("Only the deployment&#39;s operators can use this page.")
                    || text.contains("Only the deployment's operators can use this page."),
                "{text}"
            );
        }
        // Even with their own valid CSRF token, posts are refused.
        for (action, form) in [
            (
                "/operator/organizations",
                vec![("slug", "evil"), ("name", "Evil")],
            ),
            (
                "/operator/organizations/acme/rate-limit",
                vec![("per_second", "1000000"), ("burst", "1000000")],
            ),
        ] {
            let refused = browser.post_from_page("/", action, &form).await;
            assert_eq!(refused.status(), 403, "{member} posted to {action}");
        }
    }
    // The audit log page is for administrators of an organisation.
    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    assert_eq!(employee.page("/settings/audit").await.0, 403);

    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;
    assert_eq!(ops.page("/settings/audit").await.0, 403);
    assert_eq!(ops.page("/operator/organizations/nowhere").await.0, 404);
    for token in [None, Some("forged-token")] {
        let mut form = vec![("slug", "evil"), ("name", "Evil")];
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let refused = ops.post("/operator/organizations", &form).await;
        assert_eq!(refused.status(), 403);
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
        let mut form = vec![("per_second", "1"), ("burst", "1")];
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let refused = ops
            .post("/operator/organizations/acme/rate-limit", &form)
            .await;
        assert_eq!(refused.status(), 403);
    }
    // Nothing changed.
    let organizations = organizations::list(&app.db).await.unwrap();
    assert_eq!(organizations.len(), 1);
    assert_eq!(organizations[0].rate_limit.per_second, 100);
}

async fn the_audit_log_filters_by_actor_action_and_date_within_one_organisation(backend: Backend) {
    let first_day = time::OffsetDateTime::now_utc().date();
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;

    // Activity in both organisations: sign-ins, a sign-out, keys.
    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    let (_, token) = employee.form_token("/").await;
    assert_eq!(
        employee.post("/logout", &[("csrf", &token)]).await.status(),
        303
    );
    let acme_keys = [
        create_key(&app, "admin-acme", json!({"name": "one"})).await,
        create_key(&app, "admin-acme", json!({"name": "two"})).await,
    ];
    let globex_key = create_key(&app, "admin-globex", json!({"name": "globex"})).await;
    let mut globex = ConsoleSession::signed_in(&app, "admin-globex", PASSWORD).await;
    assert_eq!(globex.page("/settings/audit").await.0, 200);
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let last_day = time::OffsetDateTime::now_utc().date();

    let (status, everything) = admin.page("/settings/audit").await;
    assert_eq!(status, 200);
    let all = rows(&everything);
    let actions: Vec<&str> = all.iter().map(|(_, _, action)| action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "login.succeeded",
            "api_key.created",
            "api_key.created",
            "logout",
            "login.succeeded",
            "user.created",
            "user.created",
            "organization.created",
        ],
        "{everything}"
    );
    // Never another organisation's entries.
    assert!(!everything.contains("admin-globex"), "{everything}");
    assert!(!everything.contains(globex_key["id"].as_str().unwrap()));
    for key in &acme_keys {
        assert!(everything.contains(key["id"].as_str().unwrap()));
    }
    assert!(everything.contains(r#"<span class="hint actor-kind">(user)</span>"#));

    // By actor, ignoring case.
    let (_, by_actor) = admin.page("/settings/audit?actor=EMPLOYEE-acme").await;
    let by_actor = rows(&by_actor);
    assert_eq!(by_actor.len(), 2);
    assert!(
        by_actor
            .iter()
            .all(|(_, actor, _)| actor == "employee-acme")
    );
    // Another organisation's actor finds nothing.
    let (_, foreign) = admin.page("/settings/audit?actor=admin-globex").await;
    assert!(rows(&foreign).is_empty());
    assert!(foreign.contains("No entries match these filters."));

    // By action, exactly or by family.
    let (_, created) = admin.page("/settings/audit?action=api_key.created").await;
    let created = rows(&created);
    assert_eq!(created.len(), 2);
    assert!(
        created
            .iter()
            .all(|(_, actor, action)| actor == "admin-acme" && action == "api_key.created")
    );
    let (_, family) = admin.page("/settings/audit?action=login.%2A").await;
    assert_eq!(rows(&family).len(), 2);
    assert!(
        family.contains(r#"<option value="login.*" selected>"#),
        "{family}"
    );

    // By date: the days of the activity hold it all, the days around none.
    let day = |d: time::Date| d.to_string();
    let (_, within) = admin
        .page(&format!(
            "/settings/audit?from={}&to={}",
            day(first_day),
            day(last_day)
        ))
        .await;
    assert_eq!(rows(&within).len(), all.len());
    let (_, later) = admin
        .page(&format!(
            "/settings/audit?from={}",
            day(last_day.next_day().unwrap())
        ))
        .await;
    assert!(rows(&later).is_empty());
    let (_, earlier) = admin
        .page(&format!(
            "/settings/audit?to={}",
            day(first_day.previous_day().unwrap())
        ))
        .await;
    assert!(rows(&earlier).is_empty());
    // Filters combine.
    let (_, combined) = admin
        .page(&format!(
            "/settings/audit?actor=admin-acme&action=login.succeeded&from={}",
            day(first_day)
        ))
        .await;
    assert_eq!(rows(&combined).len(), 1);

    // Bad filters: a message beside the field, what was typed kept.
    let (status, impossible) = admin.page("/settings/audit?from=2025-02-30&actor=x").await;
    assert_eq!(status, 422);
    assert!(
        impossible.contains(r#"<p class="field-error" id="from-error">"#),
        "{impossible}"
    );
    assert!(impossible.contains("is not a date. Enter the start date as YYYY-MM-DD"));
    assert!(impossible.contains(r#"value="2025-02-30""#));
    assert!(impossible.contains(r#"value="x""#));
    let (status, reversed) = admin
        .page("/settings/audit?from=2025-03-02&to=2025-03-01")
        .await;
    assert_eq!(status, 422);
    assert!(
        reversed.contains(
            r#"<p class="field-error" id="to-error">The end date is before the start date."#
        ),
        "{reversed}"
    );
    assert!(
        reversed.contains(r#"value="2025-03-02""#) && reversed.contains(r#"value="2025-03-01""#)
    );
    let (status, unknown) = admin.page("/settings/audit?action=made.up").await;
    assert_eq!(status, 422);
    assert!(unknown.contains("Choose an action from the list."));
    assert!(unknown.contains(r#"<option value="made.up" selected>"#));
    let (status, damaged) = admin.page("/settings/audit?before=not-an-id").await;
    assert_eq!(status, 422);
    assert!(damaged.contains("This page link is damaged."));
}

async fn record_many(
    app: &TestApp,
    organization_id: &tessera_core::id::OrganizationId,
    count: usize,
) {
    let actor = Actor::command_line();
    for n in 0..count {
        let mut tx = app.db.begin().await.unwrap();
        let event = AuditEvent::BotCreated {
            name: format!("bot {n}"),
            role: "Employee".to_owned(),
        };
        audit::record(
            &mut tx,
            NewEntry {
                organization_id: Some(organization_id),
                actor: &actor,
                target: Some(&format!("bot_{n}")),
                event: &event,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn the_audit_log_pages_through_older_entries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let acme = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    let globex = organizations::find_by_slug(&app.db, "globex")
        .await
        .unwrap()
        .unwrap();
    record_many(&app, &acme.id, 120).await;
    record_many(&app, &globex.id, 60).await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;

    let mut seen = Vec::new();
    let mut next = Some("/settings/audit?action=bot.created".to_owned());
    let mut pages = 0;
    let mut page_ids: Vec<Vec<String>> = Vec::new();
    let mut last_page = String::new();
    while let Some(path) = next {
        let (status, text) = admin.page(&path).await;
        assert_eq!(status, 200);
        let rows = rows(&text);
        assert!(rows.len() <= 50);
        page_ids.push(rows.iter().map(|(id, _, _)| id.clone()).collect());
        seen.extend(rows.into_iter().map(|(id, _, action)| {
            assert_eq!(action, "bot.created");
            id
        }));
        next = older_entries_link(&text);
        last_page = text.clone();
        if let Some(link) = &next {
            // The link keeps the filter.
            assert!(link.contains("action=bot.created"), "{link}");
        }
        if pages > 0 {
            assert!(
                text.contains(r#"id="newest-entries" href="/settings/audit?action=bot.created""#)
            );
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120, "every entry once, only acme's");
    // And back again: "Newer entries" from the last page shows the same
    // pages in reverse, keeping the filter, until the newest has none.
    let mut back = newer_entries_link(&last_page);
    let mut revisited = Vec::new();
    while let Some(path) = back {
        assert!(path.contains("action=bot.created"), "{path}");
        let (status, text) = admin.page(&path).await;
        assert_eq!(status, 200);
        revisited.push(
            rows(&text)
                .into_iter()
                .map(|(id, _, _)| id)
                .collect::<Vec<_>>(),
        );
        back = newer_entries_link(&text);
    }
    page_ids.pop();
    page_ids.reverse();
    assert_eq!(revisited, page_ids);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no entry twice");
    // The store agrees: the oldest entry is the first recorded.
    let oldest = audit::search(
        &app.db,
        &AuditFilter {
            organization_id: Some(&acme.id),
            target: Some("bot_0"),
            limit: 5,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(oldest.len(), 1);
    assert_eq!(seen.last(), Some(&oldest[0].id));
}

async fn operators_see_the_whole_deployment_log_or_one_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let mut ops = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;

    let (status, everything) = ops
        .page("/operator/audit?action=organization.created")
        .await;
    assert_eq!(status, 200);
    let created = rows(&everything);
    assert_eq!(created.len(), 2, "{everything}");
    assert!(
        everything
            .contains(r#"<td data-label="Organisation"><code class="nowrap">globex</code></td>"#)
    );
    assert!(
        everything
            .contains(r#"<td data-label="Organisation"><code class="nowrap">acme</code></td>"#)
    );
    // The operator's own sign-in belongs to no organisation.
    let (_, signins) = ops.page("/operator/audit?actor=ops").await;
    assert_eq!(rows(&signins).len(), 1);
    assert!(
        signins.contains(r#"<span class="hint">deployment</span>"#),
        "{signins}"
    );

    let (_, one) = ops.page("/operator/audit?organization=globex").await;
    let one_rows = rows(&one);
    assert!(!one_rows.is_empty());
    assert!(
        !one.contains("<code class=\"nowrap\">acme</code></td>"),
        "{one}"
    );
    assert!(one.contains(r#"<option value="globex" selected>"#), "{one}");

    let (status, unknown) = ops.page("/operator/audit?organization=nowhere").await;
    assert_eq!(status, 422);
    assert!(
        unknown.contains("There is no organisation with the slug &#39;nowhere&#39;")
            || unknown.contains("There is no organisation with the slug 'nowhere'")
    );
}
