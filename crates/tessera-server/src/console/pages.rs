//! The console's page frame and shared pieces. Markup is compiled into the
//! binary (maud escapes every interpolated value); styles and the one small
//! script come from `/assets/`, so the Content-Security-Policy can forbid
//! inline styles and inline scripts.

use super::session::SignedIn;
use super::{paths, ui};
use crate::problem::Failure;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use tessera_store::accounts::{Account, Membership};

/// The console's sections, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    ApiKeys,
    Roles,
    People,
    ConnectedClients,
    Webhooks,
    AuditLog,
    Usage,
    Organization,
    Organizations,
    ApiClients,
    /// The signed-in person's own account (password, sessions, two-factor).
    Account,
}

struct NavLink {
    section: Section,
    href: &'static str,
    label: &'static str,
}

const ADMINISTRATOR_LINKS: &[NavLink] = &[
    NavLink {
        section: Section::ApiKeys,
        href: paths::API_KEYS,
        label: "API keys",
    },
    NavLink {
        section: Section::Roles,
        href: paths::ROLES,
        label: "Roles",
    },
    NavLink {
        section: Section::People,
        href: paths::PEOPLE,
        label: "Users and bots",
    },
    NavLink {
        section: Section::ConnectedClients,
        href: paths::CONNECTED_CLIENTS,
        label: "Connected clients",
    },
    NavLink {
        section: Section::Webhooks,
        href: paths::WEBHOOKS,
        label: "Webhooks",
    },
    NavLink {
        section: Section::AuditLog,
        href: paths::ORGANIZATION_AUDIT,
        label: "Audit log",
    },
    NavLink {
        section: Section::Usage,
        href: paths::USAGE,
        label: "Usage",
    },
    NavLink {
        section: Section::Organization,
        href: paths::ORGANIZATION_SETTINGS,
        label: "Organisation",
    },
];

const MEMBER_LINKS: &[NavLink] = &[NavLink {
    section: Section::ApiKeys,
    href: paths::API_KEYS,
    label: "API keys",
}];

const OPERATOR_LINKS: &[NavLink] = &[
    NavLink {
        section: Section::Organizations,
        href: paths::ORGANIZATIONS,
        label: "Organisations",
    },
    NavLink {
        section: Section::ApiClients,
        href: paths::CLIENTS,
        label: "API clients",
    },
    NavLink {
        section: Section::AuditLog,
        href: paths::DEPLOYMENT_AUDIT,
        label: "Audit log",
    },
    NavLink {
        section: Section::Usage,
        href: paths::DEPLOYMENT_USAGE,
        label: "Usage",
    },
];

fn links_for(account: &Account) -> &'static [NavLink] {
    match account.membership {
        Membership::Operator => OPERATOR_LINKS,
        Membership::Member {
            is_administrator: true,
            ..
        } => ADMINISTRATOR_LINKS,
        Membership::Member { .. } => MEMBER_LINKS,
    }
}

fn document(title: &str, topbar: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tessera" }
                link rel="stylesheet" href=(paths::STYLESHEET);
                script src=(paths::SCRIPT) defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.topbar { (topbar) }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A page for someone not signed in (sign-in, applying for an API client).
pub fn public_page(title: &str, body: Markup) -> Markup {
    document(
        title,
        html! { a.brand href=(paths::HOME) { "Tessera" } },
        body,
    )
}

/// A page for a signed-in account, with the navigation their role allows.
pub fn page(title: &str, viewer: &SignedIn, current: Section, body: Markup) -> Markup {
    let account = viewer.account();
    let topbar = html! {
        a.brand href=(paths::HOME) aria-current=[(current == Section::Home).then_some("page")] { "Tessera" }
        nav aria-label="Console" {
            ul.nav {
                @for link in links_for(account) {
                    li {
                        a href=(link.href) aria-current=[(link.section == current).then_some("page")] { (link.label) }
                    }
                }
            }
        }
        form.signout method="post" action=(paths::LOGOUT) {
            (ui::csrf_input(viewer))
            a.who href=(paths::ACCOUNT) title="Your account: password, sessions, two-factor sign-in"
                aria-current=[(current == Section::Account).then_some("page")] { (account.username) }
            button.secondary.small type="submit" { "Sign out" }
        }
    };
    document(title, topbar, body)
}

pub fn login(csrf_token: &str, username: &str, error: Option<&str>) -> Markup {
    public_page(
        "Sign in",
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action=(paths::LOGIN) {
                    input type="hidden" name="csrf" value=(csrf_token);
                    label for="username" { "Username" }
                    input #username type="text" name="username" value=(username) autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
                p.aside { "Integrating with Tessera for your company? " a href=(paths::APPLY) { "Apply for an API client" } "." }
            }
        },
    )
}

/// The second step of signing in with two-factor: a code from the
/// authenticator app, or a recovery code.
pub fn login_code(csrf_token: &str, error: Option<&str>) -> Markup {
    public_page(
        "Two-factor sign-in",
        html! {
            section.card.narrow {
                h1 { "Enter your code" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action=(paths::LOGIN_CODE) {
                    input type="hidden" name="csrf" value=(csrf_token);
                    label for="code" { "Code" }
                    p.hint #code-hint { "The 6-digit code your authenticator app shows now, or one of your recovery codes." }
                    input #code type="text" name="code" autocomplete="one-time-code" inputmode="text"
                        aria-describedby="code-hint" required autofocus;
                    button type="submit" { "Sign in" }
                }
                p.aside { a href=(paths::LOGIN) { "Start again" } }
            }
        },
    )
}

/// A page that explains why a request went nowhere, with a link home
/// labelled `back`.
fn message_page(status: StatusCode, title: &str, message: &str, back: &str) -> Response {
    (
        status,
        public_page(
            title,
            html! {
                section.card.narrow {
                    h1 { (title) }
                    p { (message) }
                    a href=(paths::HOME) { (back) }
                }
            },
        ),
    )
        .into_response()
}

pub fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site or is too old. Go back, reload the page and try again.",
        "Back to the console",
    )
}

pub fn bad_form() -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "The form could not be read",
        "The browser sent a form this page does not understand. Reload the page and try again.",
        "Back to the console",
    )
}

pub fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
        "Go to the console",
    )
}

pub fn internal_error() -> Response {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side and nothing was changed by this request. Try again in a moment.",
        "Back to the console",
    )
}

/// Why a console page could not be shown, rendered as a page (boxed: a
/// response is large and most results are not errors).
pub struct PageError(Box<Response>);

impl PageError {
    /// An unexpected failure: the page only says something went wrong, and
    /// `problem::render` logs the failure with the request id.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> PageError {
        let mut response = internal_error();
        Failure::new(source).attach(&mut response);
        PageError(Box::new(response))
    }

    pub fn forbidden(viewer: &SignedIn, message: &str) -> PageError {
        PageError(Box::new(
            (
                StatusCode::FORBIDDEN,
                page(
                    "Not allowed",
                    viewer,
                    Section::Home,
                    html! {
                        section.card.narrow {
                            h1 { "Not allowed" }
                            p #forbidden { (message) }
                            a href=(paths::HOME) { "Back to the console" }
                        }
                    },
                ),
            )
                .into_response(),
        ))
    }

    pub fn not_found() -> PageError {
        PageError(Box::new(not_found()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<tessera_store::StoreError> for PageError {
    fn from(err: tessera_store::StoreError) -> Self {
        PageError::internal(err)
    }
}

impl From<tokio::task::JoinError> for PageError {
    fn from(err: tokio::task::JoinError) -> Self {
        PageError::internal(err)
    }
}

/// For operations whose refusals the handler has already ruled out or
/// handled; what remains is a failure.
impl From<tessera_ops::OpError> for PageError {
    fn from(err: tessera_ops::OpError) -> Self {
        PageError::internal(err)
    }
}

pub type PageResult = Result<Response, PageError>;
