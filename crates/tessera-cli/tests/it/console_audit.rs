//! Settings ▸ Audit log as a newcomer reads it, in a real browser: targets
//! by name (a deleted one by its id), details in words, action codes and
//! ids that never break mid-word, one aligned row of filters, and the CSV
//! download holding exactly the page's rows.

use crate::harness::{
    Backend, Browser, ConsoleSession, PASSWORD, TestApp, all_between, create_key, rows,
    seed_organization,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use tessera_core::audit::AuditEvent;
use tessera_store::audit::{self, Actor, NewEntry};

on_both_backends!(the_audit_log_reads_as_names_and_words_and_exports_its_rows);

/// Every element matching `css` lies on one line (an inline element that
/// wraps has more than one client rectangle).
async fn on_one_line(browser: &Browser, css: &str) -> Value {
    browser
        .execute(
            "const broken = Array.from(document.querySelectorAll(arguments[0]))
                 .filter(e => e.getClientRects().length !== 1)
                 .map(e => e.textContent);
             return {count: document.querySelectorAll(arguments[0]).length, broken};",
            vec![json!(css)],
        )
        .await
}

async fn the_audit_log_reads_as_names_and_words_and_exports_its_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let organization_id = app.organization_id("acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "payroll sync"})).await;
    let key_id = key["id"].as_str().unwrap().to_owned();
    // An entry whose target no longer exists keeps its id.
    let gone = "bot_01kbx3k9m2x8v7c6b5n4t3r2s1";
    let mut tx = app.db.begin().await.unwrap();
    audit::record(
        &mut tx,
        NewEntry {
            organization_id: Some(&organization_id),
            actor: &Actor::command_line(),
            target: Some(gone),
            event: &AuditEvent::BotCreated {
                name: "retired-bot".to_owned(),
                role: "Employee".to_owned(),
            },
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/audit")).await;
    browser
        .wait_until(
            "document.getElementById('audit-entries')",
            "the audit table",
        )
        .await;
    browser.save_screenshot("audit-log-names-1280").await;
    let created = browser
        .execute(
            "const row = Array.from(document.querySelectorAll('#audit-entries tbody tr'))
                 .find(r => r.querySelector('code.action').textContent === 'api_key.created');
             const name = row.querySelector('.target-name');
             return {name: name.textContent, title: name.title,
                     details: row.querySelector('td[data-label=Details]').textContent.trim()};",
            vec![],
        )
        .await;
    assert_eq!(created["name"], "payroll sync");
    assert_eq!(
        created["title"],
        key_id.as_str(),
        "the id is in the tooltip"
    );
    assert_eq!(
        created["details"],
        "name: payroll sync; owner: admin-acme (user)"
    );
    let deleted = browser
        .execute(
            "const row = Array.from(document.querySelectorAll('#audit-entries tbody tr'))
                 .find(r => r.querySelector('code.action').textContent === 'bot.created'
                            && r.textContent.includes('retired-bot'));
             return {target: row.querySelector('td.target').textContent.trim(),
                     named: row.querySelector('.target-name') !== null};",
            vec![],
        )
        .await;
    assert_eq!(deleted, json!({"target": gone, "named": false}));
    let raw_json = browser
        .execute(
            "return Array.from(document.querySelectorAll('td[data-label=Details]'))
                 .map(d => d.textContent).filter(t => t.includes('{') || t.includes('\"'));",
            vec![],
        )
        .await;
    assert_eq!(raw_json, json!([]), "details read as words, not JSON");

    for width in [1280, 390] {
        browser.resize(width, 900).await;
        for css in ["code.action", "code.target-id", "td[data-label=Time] time"] {
            let lines = on_one_line(&browser, css).await;
            assert!(lines["count"].as_u64().unwrap() > 0, "{css}");
            assert_eq!(lines["broken"], json!([]), "{css} wraps at {width} px");
        }
        let form = browser
            .execute(
                "const form = document.getElementById('audit-filters');
                 const button = form.querySelector('button[type=submit]').getBoundingClientRect();
                 const clear = form.querySelector('a.button').getBoundingClientRect();
                 const tops = Array.from(form.querySelectorAll('label'))
                     .map(l => Math.round(l.getBoundingClientRect().top));
                 return {tops: [...new Set(tops)].length,
                         same_buttons: Math.abs(button.height - clear.height) < 1
                             && Math.abs(button.top - clear.top) < 1,
                         overflow: form.scrollWidth > form.clientWidth,
                         page_overflow: document.documentElement.scrollWidth > window.innerWidth};",
                vec![],
            )
            .await;
        if width == 1280 {
            assert_eq!(form["tops"], 1, "one row of labels at 1280 px: {form}");
        }
        assert_eq!(
            form["same_buttons"], true,
            "Filter and Clear at {width} px: {form}"
        );
        assert_eq!(form["overflow"], false, "{form}");
        assert_eq!(form["page_overflow"], false, "{form}");
    }
    browser.resize(1280, 900).await;
    browser.quit().await;

    // The download holds exactly the page's rows, in its order, with the
    // same names and words.
    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let (status, page) = admin.page("/settings/audit?action=api_key.*").await;
    assert_eq!(status, 200);
    let shown = rows(&page);
    assert!(!shown.is_empty());
    let export = all_between(&page, "id=\"export-csv\" href=\"", "\"")[0].replace("&amp;", "&");
    assert_eq!(export, "/settings/audit/export?action=api_key.%2A");
    let response = admin.get(&export).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(lines.len(), shown.len(), "{csv}");
    for (line, (id, actor, action)) in lines.iter().zip(&shown) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (cells[0], cells[2], cells[4]),
            (id.as_str(), actor.as_str(), action.as_str())
        );
    }
    assert!(csv.contains(&format!(",{key_id},payroll sync,")), "{csv}");
    assert!(
        csv.contains("name: payroll sync; owner: admin-acme (user)"),
        "{csv}"
    );
    // Another organisation's administrator cannot export acme's entries.
    seed_organization(&app, "globex").await;
    let mut globex = ConsoleSession::signed_in(&app, "admin-globex", PASSWORD).await;
    let theirs = globex
        .get("/settings/audit/export")
        .await
        .text()
        .await
        .unwrap();
    assert!(!theirs.contains("payroll sync"), "{theirs}");
    // Members are not administrators.
    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    assert_eq!(employee.get("/settings/audit/export").await.status(), 403);
}
