//! Account ▸ App passwords: for an account with two-factor sign-in, the
//! only passwords HTTP Basic on the key-management API accepts. Created
//! with a name, shown once, listed, revoked; every change audited.

use super::{own, own_account, render};
use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, cell, flash, unprocessable};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::post;
use maud::{Markup, html};
use tessera_core::names::DisplayName;
use tessera_ops::OpError;
use tessera_store::app_passwords::AppPassword;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::APP_PASSWORDS, post(create))
        .route(paths::APP_PASSWORD_REVOKE, post(revoke))
}

/// The app passwords card of the account page.
pub fn card(signed_in: &SignedIn, app_passwords: &[AppPassword], errors: &FormErrors) -> Markup {
    html! {
        section.card #app-passwords-card {
            h2 { "App passwords" }
            @if signed_in.account().two_factor {
                p.hint { "With two-factor sign-in on, the key-management API (HTTP Basic) refuses your password: give each script or tool its own app password instead, and revoke it when it is no longer used." }
                @if app_passwords.is_empty() {
                    p #no-app-passwords { "No app passwords yet." }
                } @else {
                    (ui::table("app-passwords", &["Name", "Created", "Last used", ""], app_passwords, |p| html! {
                        tr {
                            (cell("Name", html! { (p.name) }))
                            (cell("Created", ui::time::timestamp(p.created_at)))
                            (cell("Last used", html! {
                                @match p.last_used_at {
                                    Some(used) => { (ui::time::timestamp(used)) }
                                    None => { "Never" }
                                }
                            }))
                            (cell("", ui::inline_post_form(&paths::app_password_revoke(&p.id), signed_in, html! {
                                button.danger.small type="submit" aria-label={ "Revoke " (p.name) } { "✕ Revoke" }
                            })))
                        }
                    }))
                }
                (ui::checked_post_form("app-password-form", paths::APP_PASSWORDS, signed_in, html! {
                    (ui::text_input("name", "Name", "", errors, Some("What will use it, such as “payroll sync”.")))
                    button type="submit" { "Create app password" }
                }))
            } @else {
                p.hint #app-passwords-off { "Without two-factor sign-in, the key-management API takes your username and password. Once two-factor sign-in is on, it takes app passwords instead, which you create here." }
            }
        }
    }
}

async fn create(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let mut errors = FormErrors::default();
    if !signed_in.account().two_factor {
        errors.add(
            "name",
            "App passwords are for accounts with two-factor sign-in; turn it on first.",
        );
        return Ok(unprocessable(
            render(&state, &signed_in, None, &errors).await?,
        ));
    }
    let name = match DisplayName::parse(fields.text("name")) {
        Ok(name) => name,
        Err(_) => {
            errors.add("name", "Name the app password: 1–100 printable characters.");
            return Ok(unprocessable(
                render(&state, &signed_in, None, &errors).await?,
            ));
        }
    };
    let actor = signed_in.actor();
    let created =
        own_account::create_app_password(state.ops(), own(&signed_in, &actor), name.as_str()).await;
    let created = match created {
        Err(OpError::Refused(refusal)) => {
            errors.add("name", refusal.message);
            return Ok(unprocessable(
                render(&state, &signed_in, None, &errors).await?,
            ));
        }
        other => other?,
    };
    let body = html! {
        section.card {
            h1 { "App password created" }
            p.warning role="alert" {
                strong { "Copy this app password now." }
                " It is shown only once: Tessera stores only a hash of it. Use it with your username for HTTP Basic on the key-management API."
            }
            h2 { (name.as_str()) }
            pre.secret #new-app-password { (created.password) }
            button.secondary #copy-app-password type="button" data-copy="new-app-password" hidden { "Copy app password" }
            p.actions { a.button #back-to-account href=(paths::ACCOUNT) { "Back to your account" } }
        }
    };
    let mut response =
        page("App password created", &signed_in, Section::Account, body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SubmittedForm { signed_in, .. }: SubmittedForm,
) -> PageResult {
    let actor = signed_in.actor();
    match own_account::revoke_app_password(state.ops(), own(&signed_in, &actor), &id).await {
        Err(OpError::NotFound) => Err(crate::console::pages::PageError::not_found()),
        other => {
            other?;
            Ok(flash::redirect(paths::ACCOUNT, "app-password-revoked"))
        }
    }
}
