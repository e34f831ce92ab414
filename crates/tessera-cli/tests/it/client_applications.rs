//! Applying for an API client, the operator's approval, and the clients
//! pages of the console: over HTTP, and the approval flow once
//! in a real browser.

use crate::harness::{
    Backend, Browser, ConsoleSession, PASSWORD, TestApp, assert_fails_with, assert_problem,
    assert_succeeds, create_client, create_operator, element_text, full_key, me_with_client,
    seed_organization, within,
};
use crate::{assert_audited, on_both_backends};
use serde_json::Value;
use std::time::Duration;
use tessera_server::ServerConfig;
use tessera_store::client_applications::{self, ApplicationStatus};
use tessera_store::{api_clients, client_connections, organizations};

on_both_backends!(
    bad_applications_are_refused_and_keep_what_was_typed,
    an_applicant_gets_a_reference_and_follows_the_status,
    the_apply_form_needs_its_csrf_cookie_and_sign_in_keeps_working,
    accepted_applications_are_limited_per_address,
    an_operator_approves_and_sees_the_credential_once,
    approving_under_a_taken_name_asks_for_another,
    an_operator_rejects_with_a_reason,
    operator_pages_refuse_everyone_but_operators,
    operator_forms_need_the_csrf_token,
    an_operator_creates_disables_and_enables_clients_in_the_console,
    administrators_see_block_and_unblock_connected_clients,
    operators_decide_applications_from_the_command_line,
    the_approval_flow_works_in_a_real_browser,
);

const PURPOSE: &str = "Nightly payroll export for our customers.\nRead-only.";

/// Loads `/apply` and submits it with these values and the page's token.
async fn apply(
    session: &mut ConsoleSession<'_>,
    company: &str,
    email: &str,
    purpose: &str,
    volume: &str,
) -> reqwest::Response {
    let (_, token) = session.form_token("/apply").await;
    session
        .post(
            "/apply",
            &[
                ("company", company),
                ("contact_email", email),
                ("purpose", purpose),
                ("expected_volume", volume),
                ("csrf", &token),
            ],
        )
        .await
}

/// Applies as Payroll Co and returns the reference shown.
async fn apply_ok(app: &TestApp, company: &str) -> String {
    let mut applicant = ConsoleSession::new(app);
    let response = apply(
        &mut applicant,
        company,
        "ops@payroll.example",
        PURPOSE,
        "10k_to_100k",
    )
    .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    element_text(&page, "reference")
}

async fn operator_session(app: &TestApp) -> ConsoleSession<'_> {
    create_operator(app);
    let mut operator = ConsoleSession::new(app);
    assert_eq!(operator.sign_in("ops", PASSWORD).await.status(), 303);
    operator
}

fn review_path(reference: &str) -> String {
    format!("/operator/clients/applications/{reference}")
}

async fn status_of(app: &TestApp, reference: &str) -> ApplicationStatus {
    client_applications::find(&app.db, reference)
        .await
        .unwrap()
        .expect("application stored")
        .status
}

async fn bad_applications_are_refused_and_keep_what_was_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut applicant = ConsoleSession::new(&app);
    let form = applicant.get("/apply").await;
    assert_eq!(form.status(), 200);
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in [
        "tessera_apply_csrf=",
        "Path=/apply",
        "HttpOnly",
        "SameSite=Strict",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let too_long = "x".repeat(2001);
    let refused = apply(&mut applicant, "  ", "not-an-e-mail", &too_long, "").await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    for message in [
        "Enter your company's name",
        "Enter an e-mail address the operator can reach you at",
        "Shorten the purpose to at most 2000 characters (it has 2001)",
        "Choose how many requests a day you expect to make.",
    ] {
        assert!(page.contains(message), "{message} missing from:\n{page}");
    }
    assert!(page.contains(r#"value="not-an-e-mail""#), "{page}");
    assert!(page.contains(&too_long));

    let refused = apply(
        &mut applicant,
        "Payroll Co",
        "ops@payroll.example",
        "   ",
        "over_100k",
    )
    .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Describe what your integration will do"));
    assert!(page.contains(r#"value="Payroll Co""#));
    assert!(page.contains(r#"value="ops@payroll.example""#));
    assert!(
        page.contains(r#"<option value="over_100k" selected>"#),
        "{page}"
    );
    assert!(!page.contains("Enter your company"));

    let unknown_volume = apply(
        &mut applicant,
        "Payroll Co",
        "ops@payroll.example",
        PURPOSE,
        "a lot",
    )
    .await;
    assert_eq!(unknown_volume.status(), 422);

    let queue = client_applications::queue(&app.db, 10).await.unwrap();
    assert!(queue.pending.is_empty() && queue.decided.is_empty());
}

async fn an_applicant_gets_a_reference_and_follows_the_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut applicant = ConsoleSession::new(&app);
    let response = apply(
        &mut applicant,
        " Payroll Co ",
        "ops@payroll.example",
        PURPOSE,
        "under_10k",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let reference = element_text(&page, "reference");
    let random = reference.strip_prefix("apl_").expect("apl_ prefix");
    assert_eq!(random.len(), 24);
    assert!(
        random.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{reference}"
    );
    let status_path = format!("/apply/status?reference={reference}");
    assert!(page.contains(&format!(r#"href="{status_path}""#)), "{page}");

    let stored = client_applications::find(&app.db, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.company, "Payroll Co");
    assert_eq!(stored.purpose, PURPOSE);
    assert_eq!(stored.status, ApplicationStatus::Pending);

    let status = applicant.get(&status_path).await;
    assert_eq!(status.status(), 200);
    let page = status.text().await.unwrap();
    assert_eq!(element_text(&page, "company"), "Payroll Co");
    assert!(
        page.contains(r#"<span class="status status-pending">Pending</span>"#),
        "{page}"
    );

    // Two references apart: nothing to enumerate.
    let other = apply_ok(&app, "Other Co").await;
    assert_ne!(other, reference);

    // Any unknown value gets the same answer.
    let mut messages = Vec::new();
    for unknown in ["apl_AAAAAAAAAAAAAAAAAAAAAAAA", "nonsense", &reference[..20]] {
        let response = applicant
            .get(&format!("/apply/status?reference={unknown}"))
            .await;
        assert_eq!(response.status(), 404);
        let page = response.text().await.unwrap();
        let start = page.find(r#"id="not-found""#).expect("not-found message");
        let end = page[start..].find("</p>").unwrap() + start;
        messages.push(page[start..end].to_owned());
    }
    assert!(
        messages.windows(2).all(|pair| pair[0] == pair[1]),
        "{messages:?}"
    );
    // The bare form asks for a reference.
    let blank = applicant.get("/apply/status").await;
    assert_eq!(blank.status(), 200);
    assert!(!blank.text().await.unwrap().contains("not-found"));

    let submitted: Vec<_> = app
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e.action == "api_client_application.submitted")
        .collect();
    assert_eq!(submitted.len(), 2);
    let first = submitted
        .iter()
        .find(|e| e.target.as_deref() == Some(reference.as_str()))
        .unwrap();
    assert_eq!(first.actor_kind, "anonymous");
    assert_eq!(first.actor_name, "ops@payroll.example");
    assert_eq!(first.ip.as_deref(), Some("127.0.0.1"));
}

async fn the_apply_form_needs_its_csrf_cookie_and_sign_in_keeps_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let fields = [
        ("company", "Payroll Co"),
        ("contact_email", "ops@payroll.example"),
        ("purpose", PURPOSE),
        ("expected_volume", "under_10k"),
    ];
    // A cross-site post: no cookie, no field.
    let forged = ConsoleSession::new(&app).post("/apply", &fields).await;
    assert_eq!(forged.status(), 403);
    // A real cookie with a field that does not match it.
    let mut applicant = ConsoleSession::new(&app);
    applicant.form_token("/apply").await;
    let mut mismatched = fields.to_vec();
    mismatched.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(applicant.post("/apply", &mismatched).await.status(), 403);
    // The sign-in form's token is no good for applying, nor the other way round.
    let mut person = ConsoleSession::new(&app);
    let (_, sign_in_token) = person.form_token("/login").await;
    let mut with_sign_in_token = fields.to_vec();
    with_sign_in_token.push(("csrf", &sign_in_token));
    assert_eq!(
        person.post("/apply", &with_sign_in_token).await.status(),
        403
    );
    let (_, apply_token) = person.form_token("/apply").await;
    let crossed = person
        .post(
            "/login",
            &[
                ("username", "admin-acme"),
                ("password", PASSWORD),
                ("csrf", &apply_token),
            ],
        )
        .await;
    assert_eq!(crossed.status(), 403);
    assert!(
        client_applications::queue(&app.db, 10)
            .await
            .unwrap()
            .pending
            .is_empty()
    );
    // With both forms open in one browser, each keeps working.
    assert_eq!(person.sign_in("admin-acme", PASSWORD).await.status(), 303);
    let mut applicant = ConsoleSession::new(&app);
    applicant.form_token("/login").await;
    let accepted = apply(
        &mut applicant,
        "Payroll Co",
        "ops@payroll.example",
        PURPOSE,
        "under_10k",
    )
    .await;
    assert_eq!(accepted.status(), 200);
}

async fn accepted_applications_are_limited_per_address(backend: Backend) {
    let config = ServerConfig {
        applications_per_hour: 2,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    let mut applicant = ConsoleSession::new(&app);
    // Refused forms do not count.
    for _ in 0..3 {
        assert_eq!(apply(&mut applicant, "", "x", "", "").await.status(), 422);
    }
    for n in 0..2 {
        let company = format!("Company {n}");
        assert_eq!(
            apply(
                &mut applicant,
                &company,
                "ops@payroll.example",
                PURPOSE,
                "under_10k"
            )
            .await
            .status(),
            200
        );
    }
    let limited = apply(
        &mut applicant,
        "Company 3",
        "ops@payroll.example",
        PURPOSE,
        "under_10k",
    )
    .await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let page = limited.text().await.unwrap();
    assert!(
        page.contains("Too many applications from your address"),
        "{page}"
    );
    assert!(page.contains(r#"value="Company 3""#));
    assert_eq!(
        client_applications::queue(&app.db, 10)
            .await
            .unwrap()
            .pending
            .len(),
        2
    );
}

async fn an_operator_approves_and_sees_the_credential_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let reference = apply_ok(&app, "Payroll Co").await;
    let mut operator = operator_session(&app).await;

    let list = operator.get("/operator/clients").await;
    assert_eq!(list.status(), 200);
    let page = list.text().await.unwrap();
    assert!(page.contains("Applications (1 pending)"), "{page}");
    assert!(page.contains(&format!(r#"href="{}""#, review_path(&reference))));
    assert!(page.contains("10,000 to 100,000 requests a day"));

    let (review, token) = operator.form_token(&review_path(&reference)).await;
    assert!(review.contains("Nightly payroll export for our customers."));
    assert!(
        review.contains(r#"value="Payroll Co""#),
        "client name prefilled: {review}"
    );
    let approved = operator
        .post(
            &format!("{}/approve", review_path(&reference)),
            &[("client_name", "Payroll Co"), ("csrf", &token)],
        )
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(approved.headers()["cache-control"], "no-store");
    let page = approved.text().await.unwrap();
    let credential = element_text(&page, "credential");
    let client_id = element_text(&page, "client-id");
    assert!(
        credential.starts_with("ck_") && credential.len() == 46,
        "{credential}"
    );
    assert!(client_id.starts_with("cli_"));
    assert!(
        page.contains(
            r#"<button class="secondary small" type="button" data-copy="credential" hidden>"#
        ),
        "{page}"
    );
    assert!(page.contains("ops@payroll.example"));

    // The client is the company's, linked to the application.
    let client = api_clients::find_by_id(&app.db, &client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.name, "Payroll Co");
    let stored = client_applications::find(&app.db, &reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ApplicationStatus::Approved);
    assert_eq!(stored.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(stored.decided_by.as_deref(), Some("ops"));

    // Shown once: no later page has it, and approving again shows nothing.
    for path in ["/operator/clients".to_owned(), review_path(&reference)] {
        let again = operator.get(&path).await.text().await.unwrap();
        assert!(!again.contains(&credential), "{path} shows the credential");
        assert!(again.contains(&client_id), "{path} lacks the client id");
    }
    let (_, token) = operator.form_token("/operator/clients").await;
    let twice = operator
        .post(
            &format!("{}/approve", review_path(&reference)),
            &[("client_name", "Payroll Co"), ("csrf", &token)],
        )
        .await;
    assert_eq!(twice.status(), 303);
    assert_eq!(
        twice.headers()["location"],
        review_path(&reference).as_str()
    );
    assert_eq!(api_clients::list(&app.db).await.unwrap().len(), 1);

    // The credential works with an organisation's key at once.
    let key = full_key(&app, "acme").await;
    let me = me_with_client(&app, &key, &credential).await;
    assert_eq!(me.status(), 200);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["client"], client_id.as_str());

    // The applicant's status page says so.
    let status = ConsoleSession::new(&app)
        .get(&format!("/apply/status?reference={reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        status.contains(r#"<span class="status status-approved">Approved</span>"#),
        "{status}"
    );
    assert_eq!(element_text(&status, "client-id"), client_id);
    assert!(status.contains("The operator will hand you its credential"));
    assert!(!status.contains(&credential));

    let entries = app.audit_log().await;
    for action in ["api_client.created", "api_client_application.approved"] {
        assert_audited!(entries, action, actor_kind == "operator");
    }
}

async fn approving_under_a_taken_name_asks_for_another(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_client(&app.test_db.url, "Payroll Co");
    let reference = apply_ok(&app, "Payroll Co").await;
    let mut operator = operator_session(&app).await;
    let (_, token) = operator.form_token(&review_path(&reference)).await;
    let approve = format!("{}/approve", review_path(&reference));
    let taken = operator
        .post(&approve, &[("client_name", "Payroll Co"), ("csrf", &token)])
        .await;
    assert_eq!(taken.status(), 422);
    let page = taken.text().await.unwrap();
    assert!(
        page.contains("An API client named “Payroll Co” already exists"),
        "{page}"
    );
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Pending
    );

    let blank = operator
        .post(&approve, &[("client_name", " "), ("csrf", &token)])
        .await;
    assert_eq!(blank.status(), 422);
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Pending
    );

    let renamed = operator
        .post(
            &approve,
            &[("client_name", "Payroll Co (EU)"), ("csrf", &token)],
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let page = renamed.text().await.unwrap();
    assert_eq!(element_text(&page, "client-name"), "Payroll Co (EU)");
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Approved
    );
}

async fn an_operator_rejects_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reference = apply_ok(&app, "Payroll Co").await;
    let mut operator = operator_session(&app).await;
    let (_, token) = operator.form_token(&review_path(&reference)).await;
    let reject = format!("{}/reject", review_path(&reference));

    let empty = operator
        .post(&reject, &[("reason", "  \n "), ("csrf", &token)])
        .await;
    assert_eq!(empty.status(), 422);
    let page = empty.text().await.unwrap();
    assert!(
        page.contains("Give the applicant a reason for the rejection."),
        "{page}"
    );
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Pending
    );

    let reason = "We only admit payroll providers with an EU entity.\nReapply once you have one.";
    let rejected = operator
        .post(&reject, &[("reason", reason), ("csrf", &token)])
        .await;
    assert_eq!(rejected.status(), 303);
    assert_eq!(
        rejected.headers()["location"],
        "/operator/clients?done=rejected"
    );
    let list = operator
        .get("/operator/clients?done=rejected")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("The application is rejected"), "{list}");
    assert!(list.contains("Applications (0 pending)"));

    let status = ConsoleSession::new(&app)
        .get(&format!("/apply/status?reference={reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        status.contains(r#"<span class="status status-rejected">Rejected</span>"#),
        "{status}"
    );
    assert_eq!(element_text(&status, "rejection-reason"), reason);

    // Decided is decided: approving now creates nothing.
    let late = operator
        .post(
            &format!("{}/approve", review_path(&reference)),
            &[("client_name", "Payroll Co"), ("csrf", &token)],
        )
        .await;
    assert_eq!(late.status(), 303);
    assert!(api_clients::list(&app.db).await.unwrap().is_empty());
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Rejected
    );
    assert_audited!(
        app.audit_log().await,
        "api_client_application.rejected",
        actor_kind == "operator"
    );
}

async fn operator_pages_refuse_everyone_but_operators(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let reference = apply_ok(&app, "Payroll Co").await;
    let (client_id, _) = create_client(&app.test_db.url, "Known Co");

    let stranger = ConsoleSession::new(&app).get("/operator/clients").await;
    assert_eq!(stranger.status(), 303);
    assert_eq!(stranger.headers()["location"], "/login");

    for username in ["admin-acme", "employee-acme"] {
        let mut member = ConsoleSession::new(&app);
        member.sign_in(username, PASSWORD).await;
        for path in ["/operator/clients".to_owned(), review_path(&reference)] {
            let refused = member.get(&path).await;
            assert_eq!(refused.status(), 403, "{username} on {path}");
            assert!(
                refused
                    .text()
                    .await
                    .unwrap()
                    .contains("Only the deployment's operators")
            );
        }
        let (_, token) = member.form_token("/").await;
        let posts = [
            (
                format!("{}/approve", review_path(&reference)),
                vec![("client_name", "Mine"), ("csrf", token.as_str())],
            ),
            (
                format!("{}/reject", review_path(&reference)),
                vec![("reason", "no"), ("csrf", token.as_str())],
            ),
            (
                format!("/operator/clients/{client_id}/disable"),
                vec![("csrf", token.as_str())],
            ),
            (
                "/operator/clients".to_owned(),
                vec![("name", "Mine"), ("csrf", token.as_str())],
            ),
        ];
        for (path, form) in &posts {
            assert_eq!(
                member.post(path, form).await.status(),
                403,
                "{username} on {path}"
            );
        }
    }
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Pending
    );
    let clients = api_clients::list(&app.db).await.unwrap();
    assert_eq!(clients.len(), 1);
    assert!(clients[0].active);

    // Employees may not see connected clients; operators have no organisation.
    let mut employee = ConsoleSession::new(&app);
    employee.sign_in("employee-acme", PASSWORD).await;
    assert_eq!(
        employee.get("/settings/connected-clients").await.status(),
        403
    );
    let mut operator = operator_session(&app).await;
    assert_eq!(
        operator.get("/settings/connected-clients").await.status(),
        403
    );
    // Unknown applications and clients are 404 for operators.
    assert_eq!(
        operator.get(&review_path("apl_nothing")).await.status(),
        404
    );
}

async fn operator_forms_need_the_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reference = apply_ok(&app, "Payroll Co").await;
    let (client_id, _) = create_client(&app.test_db.url, "Known Co");
    let mut operator = operator_session(&app).await;
    let attempts = [
        (
            format!("{}/approve", review_path(&reference)),
            vec![("client_name", "Payroll Co")],
        ),
        (
            format!("{}/reject", review_path(&reference)),
            vec![("reason", "no")],
        ),
        (format!("/operator/clients/{client_id}/disable"), vec![]),
        ("/operator/clients".to_owned(), vec![("name", "Forged Co")]),
    ];
    for (path, form) in &attempts {
        let refused = operator.post(path, form).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
        let mut wrong = form.clone();
        wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert_eq!(operator.post(path, &wrong).await.status(), 403, "{path}");
    }
    assert_eq!(
        status_of(&app, &reference).await,
        ApplicationStatus::Pending
    );
    let clients = api_clients::list(&app.db).await.unwrap();
    assert_eq!(clients.len(), 1);
    assert!(clients[0].active);
}

async fn an_operator_creates_disables_and_enables_clients_in_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let mut operator = operator_session(&app).await;

    let (_, token) = operator.form_token("/operator/clients").await;
    let blank = operator
        .post("/operator/clients", &[("name", ""), ("csrf", &token)])
        .await;
    assert_eq!(blank.status(), 422);
    assert!(
        blank
            .text()
            .await
            .unwrap()
            .contains("Enter the client's name")
    );

    let created = operator
        .post(
            "/operator/clients",
            &[("name", "Console Co"), ("csrf", &token)],
        )
        .await;
    assert_eq!(created.status(), 200);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let page = created.text().await.unwrap();
    let credential = element_text(&page, "credential");
    let client_id = element_text(&page, "client-id");
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);
    let list = operator
        .get("/operator/clients")
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(&credential));
    assert!(list.contains(&client_id));

    let duplicate = operator
        .post(
            "/operator/clients",
            &[("name", "Console Co"), ("csrf", &token)],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    let page = duplicate.text().await.unwrap();
    assert!(page.contains("An API client named “Console Co” already exists"));
    assert!(page.contains(r#"value="Console Co""#));

    // Its use shows in the organisations column once written.
    within(Duration::from_secs(5), || async {
        api_clients::list(&app.db).await.unwrap()[0].organizations == 1
    })
    .await;

    let disabled = operator
        .post(
            &format!("/operator/clients/{client_id}/disable"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(disabled.status(), 303);
    assert_eq!(
        disabled.headers()["location"],
        "/operator/clients?done=disabled"
    );
    assert_problem(
        me_with_client(&app, &key, &credential).await,
        401,
        "invalid_api_client",
    )
    .await;
    let list = operator
        .get("/operator/clients?done=disabled")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("The API client is disabled"));
    assert!(list.contains(r#"<span class="status status-disabled">Disabled</span>"#));
    assert!(list.contains(&format!(r#"action="/operator/clients/{client_id}/enable""#)));

    let enabled = operator
        .post(
            &format!("/operator/clients/{client_id}/enable"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(enabled.status(), 303);
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);
    let unknown = operator
        .post("/operator/clients/cli_nothing/disable", &[("csrf", &token)])
        .await;
    assert_eq!(unknown.status(), 404);

    let entries = app.audit_log().await;
    for action in [
        "api_client.created",
        "api_client.disabled",
        "api_client.enabled",
    ] {
        let entry = entries
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} not audited"));
        assert_eq!(entry.actor_kind, "operator");
        assert_eq!(entry.actor_name, "ops");
        assert_eq!(entry.target.as_deref(), Some(client_id.as_str()));
    }
}

async fn administrators_see_block_and_unblock_connected_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let (client_id, credential) = create_client(&app.test_db.url, "Payroll Co");
    let key = full_key(&app, "acme").await;
    let mut admin = ConsoleSession::new(&app);
    admin.sign_in("admin-acme", PASSWORD).await;
    let empty = admin
        .get("/settings/connected-clients")
        .await
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No API client has used your organisation"));

    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);
    let acme = organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    // The use and the keys it used are written one after the other; wait
    // for both.
    within(Duration::from_secs(5), || async {
        client_connections::list(&app.db, &acme.id)
            .await
            .unwrap()
            .iter()
            .any(|connection| !connection.key_ids.is_empty())
    })
    .await;
    let page = admin
        .get("/settings/connected-clients")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(r#"<tr data-client="{client_id}">"#)),
        "{page}"
    );
    assert!(page.contains("Payroll Co"));
    assert!(
        page.contains("full access"),
        "the key used is named: {page}"
    );
    assert!(
        page.contains(r#"<td data-label="Requests">1</td>"#),
        "{page}"
    );

    // Blocking asks first; the confirmation page changes nothing.
    let block_path = format!("/settings/connected-clients/{client_id}/block");
    let (confirm, token) = admin.form_token(&block_path).await;
    assert!(confirm.contains("Block Payroll Co?"), "{confirm}");
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);
    // Without the token nothing happens.
    assert_eq!(admin.post(&block_path, &[]).await.status(), 403);
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);

    let blocked = admin.post(&block_path, &[("csrf", &token)]).await;
    assert_eq!(blocked.status(), 303);
    assert_eq!(
        blocked.headers()["location"],
        "/settings/connected-clients?done=blocked"
    );
    assert_problem(
        me_with_client(&app, &key, &credential).await,
        403,
        "api_client_blocked",
    )
    .await;
    let page = admin
        .get("/settings/connected-clients?done=blocked")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<span class="status status-blocked">Blocked</span>"#),
        "{page}"
    );
    assert!(page.contains(&format!(
        r#"action="/settings/connected-clients/{client_id}/unblock""#
    )));

    let unblocked = admin
        .post(
            &format!("/settings/connected-clients/{client_id}/unblock"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(unblocked.status(), 303);
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);

    // Audited exactly like the connected-clients API's block and unblock.
    let entries = app.audit_log().await;
    for action in ["api_client.blocked", "api_client.unblocked"] {
        let matching: Vec<_> = entries.iter().filter(|e| e.action == action).collect();
        assert_eq!(matching.len(), 1, "{action}");
        let entry = matching[0];
        assert_eq!(entry.actor_kind, "user");
        assert_eq!(entry.actor_name, "admin-acme");
        assert_eq!(entry.organization_id.as_deref(), Some(acme.id.as_str()));
        assert_eq!(entry.target.as_deref(), Some(client_id.as_str()));
        assert_eq!(entry.details.as_deref(), Some(r#"{"name":"Payroll Co"}"#));
    }
    assert_eq!(
        admin
            .get("/settings/connected-clients/cli_nothing/block")
            .await
            .status(),
        404
    );
}

async fn operators_decide_applications_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let approved = apply_ok(&app, "Payroll Co").await;
    let rejected = apply_ok(&app, "Other Co").await;
    let listed = assert_succeeds(&app.tessera(&["admin", "list-applications"]));
    for reference in [&approved, &rejected] {
        let line = listed
            .lines()
            .find(|line| line.starts_with(reference.as_str()))
            .unwrap_or_else(|| panic!("{reference} not listed: {listed}"));
        assert!(line.contains("\tpending\t"), "{line}");
    }

    let out =
        assert_succeeds(&app.tessera(&["admin", "approve-application", "--reference", &approved]));
    let field = |label: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {out}"))
            .to_owned()
    };
    let (client_id, credential) = (field("client_id: "), field("credential: "));
    let key = full_key(&app, "acme").await;
    assert_eq!(me_with_client(&app, &key, &credential).await.status(), 200);
    let stored = client_applications::find(&app.db, &approved)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.client_id.as_deref(), Some(client_id.as_str()));
    assert_fails_with(
        &app.tessera(&["admin", "approve-application", "--reference", &approved]),
        "is already approved",
    );

    assert_fails_with(
        &app.tessera(&[
            "admin",
            "reject-application",
            "--reference",
            &rejected,
            "--reason",
            " ",
        ]),
        "give the applicant a reason",
    );
    assert_succeeds(&app.tessera(&[
        "admin",
        "reject-application",
        "--reference",
        &rejected,
        "--reason",
        "Not a payroll provider.",
    ]));
    let status = client_applications::find(&app.db, &rejected)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status, ApplicationStatus::Rejected);
    assert_eq!(
        status.rejection_reason.as_deref(),
        Some("Not a payroll provider.")
    );
    assert_fails_with(
        &app.tessera(&[
            "admin",
            "reject-application",
            "--reference",
            "apl_nothing",
            "--reason",
            "x",
        ]),
        "there is no application 'apl_nothing'",
    );
    let entries = app.audit_log().await;
    for action in [
        "api_client_application.approved",
        "api_client_application.rejected",
    ] {
        assert_audited!(entries, action, actor_kind == "command_line");
    }
}

async fn the_approval_flow_works_in_a_real_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    create_operator(&app);
    let browser = Browser::launch().await;

    browser.go(&app.url("/apply")).await;
    browser.type_into("#company", "Payroll Co").await;
    browser
        .type_into("#contact_email", "ops@payroll.example")
        .await;
    browser
        .type_into("#purpose", "Nightly payroll export.")
        .await;
    browser
        .click("#expected_volume option[value='10k_to_100k']")
        .await;
    browser.save_screenshot("apply-1280").await;
    browser
        .click("form[action='/apply'] button[type=submit]")
        .await;
    let reference = browser.text("#reference").await;
    assert!(reference.starts_with("apl_"), "{reference}");
    browser.save_screenshot("apply-received-1280").await;
    browser.click("#status-link").await;
    assert_eq!(browser.text("#application-status").await, "Pending");

    browser.sign_in(&app, "ops").await;
    browser.go(&app.url("/operator/clients")).await;
    browser.save_screenshot("operator-clients-1280").await;
    browser
        .click(&format!(
            "a[href='/operator/clients/applications/{reference}']"
        ))
        .await;
    assert_eq!(browser.text("#purpose").await, "Nightly payroll export.");
    browser.save_screenshot("application-review-1280").await;
    browser.click("#approve button[type=submit]").await;
    let credential = browser.text("#credential").await;
    let client_id = browser.text("#client-id").await;
    assert!(credential.starts_with("ck_"), "{credential}");
    // console.js reveals the copy button.
    browser
        .wait_until(
            "!document.querySelector('button[data-copy=credential]').hidden",
            "the copy button",
        )
        .await;
    browser.save_screenshot("client-approved-1280").await;

    let key = full_key(&app, "acme").await;
    let me = me_with_client(&app, &key, &credential).await;
    assert_eq!(me.status(), 200);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["client"], client_id.as_str());

    browser
        .go(&app.url(&format!("/apply/status?reference={reference}")))
        .await;
    assert_eq!(browser.text("#application-status").await, "Approved");
    browser.quit().await;
}
