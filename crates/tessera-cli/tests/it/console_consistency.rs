//! The console's shared look in a real browser: the generate-key form
//! shows one permission mode at a time and selects whole rows and columns,
//! binds to a client chosen by name; every page starts with a skip link
//! and follows the colour scheme; badges, dates and primary buttons look
//! the same everywhere; one's own role cannot be "changed".

use crate::harness::{
    Backend, Browser, TestApp, create_client, create_operator, seed_organization,
};
use serde_json::{Value, json};

/// Which of the three permission modes' controls are displayed.
async fn shown_modes(browser: &Browser) -> Value {
    browser
        .execute(
            "const shown = id => getComputedStyle(document.getElementById(id)).display !== 'none';
             return [shown('matrix-block'), shown('role-block'), shown('everything-block')];",
            vec![],
        )
        .await
}

#[tokio::test]
async fn the_generate_key_form_shows_one_permission_mode_at_a_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    seed_organization(&app, "acme").await;
    let (client_id, _) = create_client(&app.test_db.url, "Payroll Co");
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/api/new")).await;
    browser
        .wait_until("document.getElementById('access-choice')", "the key form")
        .await;
    assert_eq!(shown_modes(&browser).await, json!([true, false, false]));
    browser.click("#access-role").await;
    assert_eq!(shown_modes(&browser).await, json!([false, true, false]));
    browser.click("#access-everything").await;
    assert_eq!(shown_modes(&browser).await, json!([false, false, true]));
    browser.click("#access-custom").await;
    assert_eq!(shown_modes(&browser).await, json!([true, false, false]));

    // Select-all per row and per column.
    browser.click("input[data-select-row=employees]").await;
    let employees = browser
        .execute(
            "return Array.from(document.querySelectorAll('input[name=\"action.employees\"]')).map(b => b.checked);",
            vec![],
        )
        .await;
    assert!(
        employees.as_array().unwrap().iter().all(|c| c == true),
        "{employees}"
    );
    browser.click("input[data-select-column=read]").await;
    let reads = browser
        .execute(
            "return Array.from(document.querySelectorAll('input[name^=\"action.\"][value=read]')).map(b => b.checked);",
            vec![],
        )
        .await;
    assert!(reads.as_array().unwrap().len() > 3);
    assert!(
        reads.as_array().unwrap().iter().all(|c| c == true),
        "{reads}"
    );
    let cells_without_action = browser
        .execute(
            "return Array.from(document.querySelectorAll('#permission-matrix span[aria-label]')).length;",
            vec![],
        )
        .await;
    assert_eq!(cells_without_action, 0, "no aria-label on a bare span");

    // The client binding is a choice by name.
    let options = browser
        .execute(
            "return Array.from(document.querySelectorAll('select#client_id option')).map(o => [o.value, o.textContent]);",
            vec![],
        )
        .await;
    assert_eq!(options[0][0], "");
    assert!(
        options
            .as_array()
            .unwrap()
            .contains(&json!([client_id, "Payroll Co"])),
        "{options}"
    );

    // The error summary stands apart from the form card.
    browser.click("#create-key").await;
    browser
        .wait_until(
            "document.getElementById('form-errors')",
            "the error summary",
        )
        .await;
    let gap = browser
        .execute(
            "return document.querySelector('form.card').getBoundingClientRect().top
                  - document.getElementById('form-errors').getBoundingClientRect().bottom;",
            vec![],
        )
        .await;
    assert!(gap.as_f64().unwrap() >= 8.0, "gap {gap}");
    browser.save_screenshot("generate-key-errors-1280").await;
    browser.quit().await;
}

/// Loads `url`: the first element in the tab order (document order, as no
/// page sets a positive `tabindex`), and whether `main#main` exists.
async fn first_focus(browser: &Browser, url: &str) -> Value {
    browser.go(url).await;
    browser
        .wait_until("document.readyState === 'complete'", "the page to load")
        .await;
    browser
        .execute(
            "const focusable = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]):not([hidden]), select, textarea, [tabindex]:not([tabindex=\"-1\"])';
             const a = document.querySelector(focusable);
             const main = document.getElementById('main');
             return {text: a.textContent, href: a.getAttribute('href'),
                     main: main ? main.tagName : null};",
            vec![],
        )
        .await
}

#[tokio::test]
async fn every_page_starts_with_a_skip_link_and_follows_the_colour_scheme() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    seed_organization(&app, "acme").await;
    let browser = Browser::launch().await;
    let skip = json!({"text": "Skip to main content", "href": "#main", "main": "MAIN"});
    assert_eq!(first_focus(&browser, &app.url("/login")).await, skip);
    browser.sign_in(&app, "admin-acme").await;
    for path in [
        "/",
        "/settings/api",
        "/settings/api/new",
        "/settings/roles",
        "/settings/people",
        "/settings/webhooks",
        "/settings/audit",
        "/settings/usage",
        "/settings/organization",
    ] {
        assert_eq!(first_focus(&browser, &app.url(path)).await, skip, "{path}");
    }
    // On a page without autofocus, the first Tab reaches it, and it is
    // visible once focused.
    browser.go(&app.url("/settings/api")).await;
    browser.press_key("\u{E004}").await;
    let focused = browser
        .execute(
            "const a = document.activeElement;
             return [a.className, a.getBoundingClientRect().top >= 0];",
            vec![],
        )
        .await;
    assert_eq!(focused, json!(["skip-link", true]));

    // Dark and light: the page's colours follow the scheme, and body text
    // keeps at least 4.5:1 contrast in both.
    let colours = "const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
        const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                           return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const card = document.querySelector('.card');
        const bg = lum(rgb(getComputedStyle(card).backgroundColor));
        const fg = lum(rgb(getComputedStyle(card).color));
        const contrast = (Math.max(bg, fg) + 0.05) / (Math.min(bg, fg) + 0.05);
        return {dark: matchMedia('(prefers-color-scheme: dark)').matches, background: bg, contrast};";
    browser.emulate_color_scheme("dark").await;
    browser.go(&app.url("/settings/api")).await;
    let dark = browser.execute(colours, vec![]).await;
    assert_eq!(dark["dark"], true, "{dark}");
    assert!(dark["background"].as_f64().unwrap() < 0.05, "{dark}");
    assert!(dark["contrast"].as_f64().unwrap() >= 4.5, "{dark}");
    browser.save_screenshot("api-keys-dark-1280").await;
    browser.emulate_color_scheme("light").await;
    browser.go(&app.url("/settings/api")).await;
    let light = browser.execute(colours, vec![]).await;
    assert_eq!(light["dark"], false, "{light}");
    assert!(light["background"].as_f64().unwrap() > 0.9, "{light}");
    assert!(light["contrast"].as_f64().unwrap() >= 4.5, "{light}");
    browser.quit().await;
}

/// Every badge's text and every `time` element on the page, and the
/// primary button's height in its heading.
async fn looks(browser: &Browser, url: &str) -> Value {
    browser.go(url).await;
    browser
        .wait_until("document.readyState === 'complete'", "the page to load")
        .await;
    browser
        .execute(
            "const primary = document.querySelector('.page-head .button:not(.secondary)');
             return {
               badges: Array.from(document.querySelectorAll('.status')).map(b => b.textContent),
               times: Array.from(document.querySelectorAll('time')).map(t => [t.textContent, t.title === t.getAttribute('datetime')]),
               primary: primary ? primary.getBoundingClientRect().height : null,
             };",
            vec![],
        )
        .await
}

#[tokio::test]
async fn badges_dates_and_buttons_look_the_same_on_every_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    seed_organization(&app, "acme").await;
    create_operator(&app);
    crate::harness::create_key(&app, "admin-acme", json!({"name": "sync"})).await;
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    let date = regex_like_date();
    let mut primaries = Vec::new();
    for path in [
        "/settings/api",
        "/settings/roles",
        "/settings/people",
        "/settings/webhooks",
        "/settings/audit",
    ] {
        let seen = looks(&browser, &app.url(path)).await;
        for badge in seen["badges"].as_array().unwrap() {
            let text = badge.as_str().unwrap();
            assert!(
                text.chars().next().is_some_and(char::is_uppercase),
                "badge {text:?} on {path}"
            );
        }
        for time in seen["times"].as_array().unwrap() {
            assert!(date(time[0].as_str().unwrap()), "{time} on {path}");
            assert_eq!(time[1], true, "the exact time is the tooltip on {path}");
        }
        if let Some(height) = seen["primary"].as_f64() {
            primaries.push((path, height));
        }
    }
    assert!(primaries.len() >= 3, "{primaries:?}");
    assert!(
        primaries
            .iter()
            .all(|(_, h)| (h - primaries[0].1).abs() < 1.0),
        "primary buttons differ: {primaries:?}"
    );

    // The role editor speaks of the role.
    browser.go(&app.url("/settings/roles/new")).await;
    assert!(
        browser
            .text("#permission-matrix caption")
            .await
            .contains("Tick what the role may do")
    );
    // One's own page offers no role change; another user's does.
    let own = app.account_id("admin-acme").await;
    browser
        .go(&app.url(&format!("/settings/people/users/{own}")))
        .await;
    assert!(browser.exists("#own-role").await);
    assert!(!browser.exists("#role-card button").await);
    let other = app.account_id("employee-acme").await;
    browser
        .go(&app.url(&format!("/settings/people/users/{other}")))
        .await;
    assert!(browser.exists("#role-card button").await);
    browser.quit().await;

    // Operator pages use the same badges and dates.
    let operator = Browser::launch().await;
    operator.sign_in(&app, "ops").await;
    for path in [
        "/operator/organizations",
        "/operator/organizations/acme",
        "/operator/clients",
        "/operator/audit",
    ] {
        let seen = looks(&operator, &app.url(path)).await;
        for badge in seen["badges"].as_array().unwrap() {
            let text = badge.as_str().unwrap();
            assert!(
                text.chars().next().is_some_and(char::is_uppercase),
                "badge {text:?} on {path}"
            );
        }
        for time in seen["times"].as_array().unwrap() {
            assert!(date(time[0].as_str().unwrap()), "{time} on {path}");
        }
    }
    operator.quit().await;
}

/// Whether a text reads `2026-12-01 21:17 UTC`.
fn regex_like_date() -> impl Fn(&str) -> bool {
    |text: &str| {
        let bytes = text.as_bytes();
        text.len() == 20
            && text.ends_with(" UTC")
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b' ',
                13 => *b == b':',
                16..=19 => true,
                _ => b.is_ascii_digit(),
            })
    }
}
