//! Accounts (issue 16): the password policy in the console, self-service
//! password change, the session list, two-factor sign-in (enrolment, the
//! code step, replays, recovery codes, throttling, the organisation's rule)
//! and app passwords for HTTP Basic. Over HTTP as a browser without
//! JavaScript uses the console, and one enrolment in headless Chromium.
//! TOTP codes are computed from the secret the enrolment page shows.

use crate::harness::{
    Backend, Browser, ConsoleSession, PASSWORD, TestApp, assert_problem, create_operator,
    element_text, seed_organization,
};
use crate::{assert_audited, on_both_backends};
use std::time::Duration;
use tessera_access::throttle::Backoff;
use tessera_core::two_factor::TotpSecret;
use tessera_server::ServerConfig;

on_both_backends!(
    changing_ones_password_refuses_weak_ones_and_signs_out_other_sessions,
    the_session_list_marks_this_session_and_signs_out_everywhere_else,
    enrolment_then_signing_in_needs_a_code_that_cannot_be_replayed,
    a_recovery_code_signs_in_once,
    wrong_codes_are_refused_and_throttled,
    the_organisation_can_require_administrators_to_enrol,
    basic_auth_of_a_two_factor_account_takes_only_app_passwords,
    turning_two_factor_off_needs_a_code_or_the_password,
    operators_enrol_too,
    enrolment_and_code_sign_in_in_a_browser,
);

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An enrolment: the secret the page showed, the step whose code confirmed
/// it (used: never accepted again) and the recovery codes.
struct Enrolled {
    secret: TotpSecret,
    step: u64,
    recovery_codes: Vec<String>,
}

impl Enrolled {
    /// The code of `steps` 30-second steps after the enrolment's, as typed.
    /// The server accepts one step either side of its clock, so the next
    /// step's code is fresh for a minute after enrolling.
    fn code(&self, steps: u64) -> String {
        format!("{:06}", self.secret.code_at_step(self.step + steps))
    }
}

/// Enrols the signed-in `session` in two-factor sign-in through the
/// enrolment page, with a code computed from the secret it shows.
async fn enrol(session: &mut ConsoleSession<'_>) -> Enrolled {
    let (status, page) = session.page("/account/two-factor").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg"), "no QR code: {page}");
    let shown = element_text(&page, "totp-secret");
    let secret = TotpSecret::from_base32(&shown).expect("a base32 secret on the page");
    // A wrong code is refused beside the field and nothing changes.
    let wrong = session
        .refused(
            "/account/two-factor",
            &[("secret", &shown), ("code", "000000")],
            422,
        )
        .await;
    assert!(wrong.contains("That code does not match"), "{wrong}");
    // The page's secret survives a reload until it is confirmed.
    let (_, again) = session.page("/account/two-factor").await;
    assert_eq!(element_text(&again, "totp-secret"), shown);
    let step = now() / 30;
    let response = session
        .post_with_csrf(
            "/account/two-factor",
            &[
                ("secret", &shown),
                ("code", &format!("{:06}", secret.code_at_step(step))),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let codes: Vec<String> = element_text(&page, "recovery-codes")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    Enrolled {
        secret,
        step,
        recovery_codes: codes,
    }
}

/// Signs in with the password, which must lead to the code step; returns
/// the session, half signed in.
async fn password_step<'a>(app: &'a TestApp, username: &str) -> ConsoleSession<'a> {
    let mut session = ConsoleSession::new(app);
    let response = session.sign_in(username, PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login/code");
    assert!(
        !session.cookies.contains_key("tessera_session"),
        "a session before the code"
    );
    session
}

/// Posts a code on the code step; returns the answer.
async fn code_step(session: &mut ConsoleSession<'_>, typed: &str) -> reqwest::Response {
    session
        .post_from_page("/login/code", "/login/code", &[("code", typed)])
        .await
}

async fn changing_ones_password_refuses_weak_ones_and_signs_out_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut here = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let mut elsewhere = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let mut colleague = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;

    let change = |current: &'static str, new: &'static str, again: &'static str| {
        [
            ("current_password", current),
            ("new_password", new),
            ("new_password_again", again),
        ]
    };
    let refusals = [
        (
            change(PASSWORD, "short one", "short one"),
            "at least 12 characters",
        ),
        (
            change(PASSWORD, "password1234", "password1234"),
            "The password is too common: This is",
        ),
        (
            change(PASSWORD, "admin-acme-acme", "admin-acme-acme"),
            "The password is too",
        ),
        (
            change(PASSWORD, "ochre falcon teapot", "ochre falcon teapots"),
            "The two new passwords differ",
        ),
        (
            change(
                "not the password",
                "ochre falcon teapot",
                "ochre falcon teapot",
            ),
            "That is not your current password.",
        ),
    ];
    for (fields, message) in refusals {
        let page = here.refused("/account/password", &fields, 422).await;
        assert!(page.contains(message), "{message}: {page}");
        assert!(!page.contains("ochre falcon"), "a password came back");
    }
    assert!(elsewhere.is_signed_in().await);

    let done = here
        .submit(
            "/account/password",
            &change(PASSWORD, "ochre falcon teapot", "ochre falcon teapot"),
        )
        .await;
    assert_eq!(done, "/account?done=password");
    assert!(
        here.is_signed_in().await,
        "the session that changed it stays"
    );
    assert!(!elsewhere.is_signed_in().await, "other sessions end");
    assert!(colleague.is_signed_in().await, "other people are untouched");
    assert_eq!(
        ConsoleSession::new(&app)
            .sign_in("admin-acme", PASSWORD)
            .await
            .status(),
        401
    );
    ConsoleSession::signed_in(&app, "admin-acme", "ochre falcon teapot").await;
    let entry = assert_audited!(
        app.audit_log().await,
        "account.password_changed",
        actor_name == "admin-acme"
    );
    assert_eq!(
        entry.details.as_deref(),
        Some(r#"{"other_sessions_ended":1}"#)
    );
}

async fn the_session_list_marks_this_session_and_signs_out_everywhere_else(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let mut sessions = Vec::new();
    for agent in [firefox, safari] {
        let mut session = ConsoleSession::new(&app);
        session.extra_headers.push(("user-agent", agent));
        assert_eq!(session.sign_in("admin-acme", PASSWORD).await.status(), 303);
        sessions.push(session);
    }
    let mut here = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let mut colleague = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;

    let (status, page) = here.page("/account").await;
    assert_eq!(status, 200);
    let table = &page[page.find(r#"id="sessions""#).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr").count(), 1 + 3, "{table}");
    assert_eq!(table.matches("This session").count(), 1, "{table}");
    assert!(table.contains("Firefox on Linux"), "{table}");
    assert!(table.contains("Safari on iOS"), "{table}");
    assert!(table.contains("127.0.0.1"), "{table}");
    assert!(
        !table.contains("employee"),
        "another person's session: {table}"
    );

    let done = here.submit("/account/sessions/sign-out-others", &[]).await;
    assert_eq!(done, "/account?done=signed-out");
    for mut other in sessions {
        assert!(!other.is_signed_in().await);
    }
    assert!(here.is_signed_in().await);
    assert!(colleague.is_signed_in().await);
    let (_, page) = here.page("/account").await;
    assert!(page.contains(r#"id="no-other-sessions""#), "{page}");
    let entry = assert_audited!(
        app.audit_log().await,
        "account.sessions_ended",
        actor_name == "admin-acme"
    );
    assert_eq!(entry.details.as_deref(), Some(r#"{"count":2}"#));
}

async fn enrolment_then_signing_in_needs_a_code_that_cannot_be_replayed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let enrolled = enrol(&mut admin).await;
    assert_audited!(
        app.audit_log().await,
        "two_factor.enabled",
        actor_name == "admin-acme"
    );
    let (_, account) = admin.page("/account").await;
    assert!(account.contains(r#"id="two-factor-status""#), "{account}");

    // The password alone grants nothing: no session, every page sends the
    // browser to sign in.
    let mut half = password_step(&app, "admin-acme").await;
    for page in ["/", "/account", "/settings/api", "/account/two-factor"] {
        let response = half.get(page).await;
        assert_eq!(response.status(), 303, "{page}");
        assert_eq!(response.headers()["location"], "/login", "{page}");
    }
    let (status, form) = half.page("/login/code").await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"autocomplete="one-time-code""#), "{form}");
    // The code step without a pending sign-in goes back to the password.
    let (_, token) = ConsoleSession::new(&app).form_token("/login").await;
    let mut stranger = ConsoleSession::new(&app);
    stranger.form_token("/login").await;
    let response = stranger
        .post("/login/code", &[("code", "123456"), ("csrf", &token)])
        .await;
    assert_eq!(response.status(), 403, "another browser's form token");

    // The code that confirmed the enrolment is used: refused.
    let response = code_step(&mut half, &enrolled.code(0)).await;
    assert_eq!(response.status(), 401);
    let fresh = enrolled.code(1);
    let response = code_step(&mut half, &fresh).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    assert!(half.is_signed_in().await);
    let success = assert_audited!(
        app.audit_log().await,
        "login.succeeded",
        actor_name == "admin-acme"
    );
    assert_eq!(
        success.details.as_deref(),
        Some(r#"{"second_factor":"totp"}"#)
    );

    // The same code again (another sign-in within its window) is refused,
    // and so is an older one.
    let mut replay = password_step(&app, "admin-acme").await;
    assert_eq!(code_step(&mut replay, &fresh).await.status(), 401);
    assert_eq!(
        code_step(&mut replay, &enrolled.code(0)).await.status(),
        401
    );
    assert!(!replay.is_signed_in().await);
}

async fn a_recovery_code_signs_in_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let codes = enrol(&mut admin).await.recovery_codes;

    let mut first = password_step(&app, "admin-acme").await;
    let typed = codes[3].to_ascii_uppercase();
    let response = code_step(&mut first, &typed).await;
    assert_eq!(response.status(), 303);
    assert!(first.is_signed_in().await);
    let used = assert_audited!(
        app.audit_log().await,
        "two_factor.recovery_code_used",
        actor_name == "admin-acme"
    );
    assert_eq!(used.details.as_deref(), Some(r#"{"remaining":9}"#));
    let (_, page) = first.page("/account/two-factor").await;
    assert_eq!(element_text(&page, "recovery-codes-left"), "9");

    let mut second = password_step(&app, "admin-acme").await;
    assert_eq!(code_step(&mut second, &codes[3]).await.status(), 401);
    assert!(!second.is_signed_in().await);

    // New codes replace the old ones.
    let response = first
        .post_from_page(
            "/account/two-factor",
            "/account/two-factor/recovery-codes",
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let fresh: Vec<String> = element_text(&page, "recovery-codes")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(fresh.len(), 10);
    assert_audited!(
        app.audit_log().await,
        "two_factor.recovery_codes_regenerated",
        actor_name == "admin-acme"
    );
    let mut old = password_step(&app, "admin-acme").await;
    assert_eq!(code_step(&mut old, &codes[0]).await.status(), 401);
    assert_eq!(code_step(&mut old, &fresh[0]).await.status(), 303);
}

async fn wrong_codes_are_refused_and_throttled(backend: Backend) {
    let config = ServerConfig {
        password_backoff: Backoff {
            free_failures: 3,
            first_wait: Duration::from_secs(15 * 60),
            longest_wait: Duration::from_secs(15 * 60),
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let enrolled = enrol(&mut admin).await;

    let mut guesser = password_step(&app, "admin-acme").await;
    let right = enrolled.code(1);
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..2 {
        let response = code_step(&mut guesser, wrong).await;
        assert_eq!(response.status(), 401);
        let page = response.text().await.unwrap();
        assert!(page.contains("That code is not right"), "{page}");
    }
    let response = code_step(&mut guesser, wrong).await;
    assert_eq!(response.status(), 401, "the third failure is still checked");
    // From now on the account's codes back off from this address: even the
    // right code is not checked, and a right password does not reset it.
    let response = code_step(&mut guesser, &right).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let mut again = password_step(&app, "admin-acme").await;
    assert_eq!(code_step(&mut again, &right).await.status(), 429);
    assert!(!again.is_signed_in().await);
    let failures = app
        .audit_log()
        .await
        .into_iter()
        .filter(|e| {
            e.action == "login.failed" && e.details.as_deref() == Some(r#"{"reason":"wrong_code"}"#)
        })
        .count();
    assert_eq!(failures, 3);
    assert_audited!(
        app.audit_log().await,
        "login.throttled",
        actor_name == "admin-acme"
    );
}

async fn the_organisation_can_require_administrators_to_enrol(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let mut other_admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    let mut globex = ConsoleSession::signed_in(&app, "admin-globex", PASSWORD).await;

    let done = admin
        .submit("/settings/organization/two-factor", &[("required", "yes")])
        .await;
    assert_eq!(done, "/settings/organization?done=two-factor");
    let changed = assert_audited!(
        app.audit_log().await,
        "organization.settings_changed",
        actor_name == "admin-acme"
    );
    assert_eq!(
        changed.details.as_deref(),
        Some(r#"{"administrators_need_two_factor":{"from":false,"to":true}}"#)
    );

    // Every administrator session, new or already open, is sent to enrol
    // and can do nothing else; posts are refused the same way.
    for session in [&mut admin, &mut other_admin] {
        for page in ["/", "/settings/api", "/account", "/settings/organization"] {
            let response = session.get(page).await;
            assert_eq!(response.status(), 303, "{page}");
            assert_eq!(response.headers()["location"], "/account/two-factor");
        }
        let response = session
            .post_with_csrf("/settings/organization/two-factor", &[])
            .await;
        assert_eq!(response.headers()["location"], "/account/two-factor");
    }
    let (status, page) = admin.page("/account/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="two-factor-required""#), "{page}");
    // The key-management API refuses them too.
    let response = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .basic_auth("admin-acme", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 403, "permission_denied").await;
    assert!(problem["detail"].as_str().unwrap().contains("two-factor"));
    // Employees and other organisations are not affected.
    assert!(employee.is_signed_in().await);
    assert!(globex.is_signed_in().await);

    enrol(&mut admin).await;
    assert_eq!(admin.page("/settings/api").await.0, 200);
    // The rule keeps them from turning it off.
    let (_, manage) = admin.page("/account/two-factor").await;
    assert!(manage.contains(r#"id="disable-refused""#), "{manage}");
    let response = admin
        .post_with_csrf("/account/two-factor/disable", &[("confirmation", PASSWORD)])
        .await;
    assert_eq!(response.status(), 403);
}

async fn basic_auth_of_a_two_factor_account_takes_only_app_passwords(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let list_keys = |password: String| {
        let request = app
            .http
            .get(app.url("/api/v1/api-keys"))
            .basic_auth("admin-acme", Some(password));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(list_keys(PASSWORD.to_owned()).await.status(), 200);

    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let (_, page) = admin.page("/account").await;
    assert!(page.contains(r#"id="app-passwords-off""#), "{page}");
    enrol(&mut admin).await;

    let problem = assert_problem(
        list_keys(PASSWORD.to_owned()).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("app password"),
        "{problem}"
    );
    let refused = assert_audited!(
        app.audit_log().await,
        "login.failed",
        actor_name == "admin-acme"
    );
    assert_eq!(
        refused.details.as_deref(),
        Some(r#"{"reason":"app_password_required"}"#)
    );

    let response = admin
        .post_with_csrf("/account/app-passwords", &[("name", "payroll sync")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let app_password = element_text(&page, "new-app-password");
    assert!(app_password.starts_with("tap_"), "{app_password}");
    assert_eq!(list_keys(app_password.clone()).await.status(), 200);
    assert_audited!(
        app.audit_log().await,
        "app_password.created",
        actor_name == "admin-acme",
        details == Some(r#"{"name":"payroll sync"}"#.to_owned())
    );
    // A duplicate name is refused beside the field.
    let page = admin
        .refused("/account/app-passwords", &[("name", "payroll sync")], 422)
        .await;
    assert!(
        page.contains("already have an app password named"),
        "{page}"
    );
    // The console does not take app passwords.
    assert_eq!(
        ConsoleSession::new(&app)
            .sign_in("admin-acme", &app_password)
            .await
            .status(),
        401
    );

    let (_, page) = admin.page("/account").await;
    assert!(page.contains("payroll sync"), "{page}");
    assert!(!page.contains(&app_password), "shown again");
    let action = page
        .split("action=\"/account/app-passwords/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let location = admin
        .submit(&format!("/account/app-passwords/{action}"), &[])
        .await;
    assert_eq!(location, "/account?done=app-password-revoked");
    assert_eq!(list_keys(app_password).await.status(), 401);
    assert_audited!(
        app.audit_log().await,
        "app_password.revoked",
        actor_name == "admin-acme"
    );
}

async fn turning_two_factor_off_needs_a_code_or_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let enrolled = enrol(&mut admin).await;
    for wrong in ["", "not the password", "000000"] {
        let page = admin
            .refused(
                "/account/two-factor/disable",
                &[("confirmation", wrong)],
                422,
            )
            .await;
        assert!(page.contains("Enter the current code"), "{page}");
    }
    let location = admin
        .submit(
            "/account/two-factor/disable",
            &[("confirmation", &enrolled.code(1))],
        )
        .await;
    assert_eq!(location, "/account?done=two-factor-off");
    assert_audited!(
        app.audit_log().await,
        "two_factor.disabled",
        actor_name == "admin-acme",
        details == Some(r#"{"confirmed_with":"code"}"#.to_owned())
    );
    ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;

    // Again, confirmed with the password this time.
    enrol(&mut admin).await;
    admin
        .submit("/account/two-factor/disable", &[("confirmation", PASSWORD)])
        .await;
    assert_audited!(
        app.audit_log().await,
        "two_factor.disabled",
        details == Some(r#"{"confirmed_with":"password"}"#.to_owned())
    );
    let response = app
        .http
        .get(app.url("/api/v1/api-keys"))
        .basic_auth("admin-acme", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn operators_enrol_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app);
    let mut operator = ConsoleSession::signed_in(&app, "ops", PASSWORD).await;
    let enrolled = enrol(&mut operator).await;
    let mut again = password_step(&app, "ops").await;
    assert_eq!(code_step(&mut again, &enrolled.code(1)).await.status(), 303);
    assert_eq!(again.page("/operator/organizations").await.0, 200);
    let enabled = assert_audited!(
        app.audit_log().await,
        "two_factor.enabled",
        actor_name == "ops"
    );
    assert_eq!(enabled.actor_kind, "operator");
}

async fn enrolment_and_code_sign_in_in_a_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.click("a.who").await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.click("#two-factor-status a").await;
    browser.wait_for_url(&app.url("/account/two-factor")).await;
    assert!(browser.exists("#totp-qr svg").await, "no QR code drawn");
    browser.save_screenshot("two-factor-enrol-1280").await;
    let secret = TotpSecret::from_base32(&browser.text("#totp-secret").await).unwrap();
    let step = now() / 30;
    browser
        .type_into("#code", &format!("{:06}", secret.code_at_step(step)))
        .await;
    browser.click("#enrol-form button[type=submit]").await;
    browser
        .wait_until(
            "document.getElementById('recovery-codes')",
            "the recovery codes",
        )
        .await;
    assert_eq!(browser.text("#recovery-codes").await.lines().count(), 10);
    browser.click("#continue").await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.click("form.signout button").await;
    browser.wait_for_url(&app.url("/login")).await;

    browser.type_into("#username", "admin-acme").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(&app.url("/login/code")).await;
    // A code of the next step: the enrolment used this one.
    browser
        .type_into("#code", &format!("{:06}", secret.code_at_step(step + 1)))
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(&app.url("/")).await;
    assert_eq!(browser.text("#signed-in-user").await, "admin-acme");
    browser.quit().await;
}
