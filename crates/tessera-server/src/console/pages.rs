//! The console's pages. Markup is compiled into the binary (maud escapes
//! every interpolated value); styles come from `/assets/console.css`, so the
//! Content-Security-Policy can forbid inline styles and all scripts.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use tessera_store::accounts::{Account, Membership};

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tessera" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header.topbar {
                    a.brand href="/" { "Tessera" }
                }
                main { (body) }
            }
        }
    }
}

pub fn login(csrf_token: &str, username: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf_token);
                    label for="username" { "Username" }
                    input #username type="text" name="username" value=(username) autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

pub fn home(account: &Account, csrf_token: &str) -> Markup {
    layout(
        "Home",
        html! {
            section.card {
                h1 { "Welcome, " (account.username) }
                dl.facts {
                    dt { "Signed in as" }
                    dd #signed-in-user { (account.username) }
                    @match &account.membership {
                        Membership::Operator => {
                            dt { "Role" }
                            dd #role { "Operator" }
                            dt { "Scope" }
                            dd { "This deployment: organisations, API clients and rate limits." }
                        }
                        Membership::Member { organization_name, organization_slug, role_name, .. } => {
                            dt { "Organisation" }
                            dd #organization { (organization_name) " (" code { (organization_slug) } ")" }
                            dt { "Role" }
                            dd #role { (role_name) }
                        }
                    }
                }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(csrf_token);
                    button.secondary type="submit" { "Sign out" }
                }
            }
        },
    )
}

pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        layout(
            "Form expired",
            html! {
                section.card.narrow {
                    h1 { "This form has expired" }
                    p { "The form was not sent from this site or is too old. Go back, reload the page and try again." }
                    a href="/login" { "Back to sign-in" }
                }
            },
        ),
    )
        .into_response()
}

pub fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        layout(
            "Not found",
            html! {
                section.card.narrow {
                    h1 { "Page not found" }
                    a href="/" { "Go to the console" }
                }
            },
        ),
    )
        .into_response()
}
