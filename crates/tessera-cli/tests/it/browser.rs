//! The console in a real browser: headless Chromium driven through
//! ChromeDriver's W3C WebDriver protocol (plain JSON over HTTP).
//! Requires Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

use crate::harness::{Backend, Browser, PASSWORD, TestApp, seed_organization};
use crate::on_both_backends;

on_both_backends!(a_person_signs_in_and_out_in_a_real_browser);

async fn a_person_signs_in_and_out_in_a_real_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let browser = Browser::launch().await;

    browser.go(&app.url("/")).await;
    assert!(
        browser.current_url().await.ends_with("/login"),
        "not sent to sign-in"
    );
    browser.type_into("#username", "admin-acme").await;
    browser.type_into("#password", "wrong password").await;
    browser.click("button[type=submit]").await;
    assert_eq!(
        browser.text("p.error").await,
        "Incorrect username or password."
    );

    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(&app.url("/")).await;
    assert_eq!(browser.text("#signed-in-user").await, "admin-acme");
    assert_eq!(browser.text("#organization").await, "acme Ltd (acme)");
    assert_eq!(browser.text("#role").await, "Administrator");
    browser.save_screenshot("console-home").await;

    browser.click("form[action='/logout'] button").await;
    browser.wait_for_url(&app.url("/login")).await;
    browser.go(&app.url("/")).await;
    assert!(
        browser.current_url().await.ends_with("/login"),
        "still signed in after signing out"
    );
    browser.quit().await;
}
