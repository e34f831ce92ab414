//! Signing in and out, and the signed-in landing page.

use super::pages::{self, PageError};
use super::session::{self, CurrentSession, SignedIn};
use super::{anonymous_form, cookies};
use crate::AppState;
use crate::middleware::ClientAddr;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tessera_core::audit::{ActorKind, AuditAction};
use tessera_core::secret::{SecretHash, random_base62};
use tessera_store::accounts::Credentials;
use tessera_store::audit::{self, Actor, NewEntry};

pub async fn home(signed_in: SignedIn) -> Response {
    pages::home(&signed_in).into_response()
}

pub async fn show_form(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if session::current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(login_form(
        &state,
        client,
        &headers,
        StatusCode::OK,
        "",
        None,
    ))
}

/// The sign-in form, with its double-submit CSRF token.
fn login_form(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let token = anonymous_form::SIGN_IN.token(headers);
    let mut response = (status, pages::login(&token, username, error)).into_response();
    anonymous_form::SIGN_IN.attach(&mut response, &token, state, client);
    response
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    if !anonymous_form::SIGN_IN.accepts(&headers, &form.csrf) {
        return Ok(pages::csrf_refused().into_response());
    }
    let ip = client.ip.to_string();
    let username = form.username.trim();
    let attempted_by = Actor {
        kind: ActorKind::Anonymous,
        id: None,
        name: username.chars().take(64).collect(),
    };

    if let Err(throttled) = state.password_throttle().check(username, client.ip) {
        audit::record(
            state.db(),
            NewEntry {
                organization_id: None,
                actor: &attempted_by,
                action: AuditAction::LoginThrottled,
                target: None,
                ip: Some(&ip),
                details: Some(json!({"retry_after_seconds": throttled.retry_after_seconds()})),
            },
        )
        .await?;
        let retry = throttled.retry_after_seconds();
        let message = format!("Too many sign-in attempts. Try again in {retry} seconds.");
        let mut response = login_form(
            &state,
            client,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            username,
            Some(&message),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return Ok(response);
    }

    let credentials =
        tessera_store::accounts::credentials_by_username(state.db(), username).await?;
    let verdict = check_password(credentials, form.password).await?;
    match verdict {
        SignIn::Accepted(account) => {
            let token = random_base62(43);
            let token_hash = SecretHash::of(&token);
            let csrf_token = random_base62(32);
            let ttl = state.config().session_ttl;
            tessera_store::sessions::create(
                state.db(),
                &tessera_store::sessions::NewSession {
                    token_hash: token_hash.as_str(),
                    account_id: &account.id,
                    csrf_token: &csrf_token,
                    ip: Some(&ip),
                    expires_at: tessera_store::now_ms() + ttl.as_millis() as i64,
                },
            )
            .await?;
            let actor = actor_of(&account);
            audit::record(
                state.db(),
                NewEntry {
                    organization_id: account.organization_id.as_deref(),
                    actor: &actor,
                    action: AuditAction::LoginSucceeded,
                    target: None,
                    ip: Some(&ip),
                    details: None,
                },
            )
            .await?;
            let max_age = time::Duration::seconds(ttl.as_secs() as i64);
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(
                    cookies::SESSION,
                    &token,
                    "/",
                    cookies::secure(&state, client),
                    max_age,
                ),
            );
            Ok(response)
        }
        SignIn::Refused { reason, account } => {
            state
                .password_throttle()
                .record_failure(username, client.ip);
            audit::record(
                state.db(),
                NewEntry {
                    organization_id: account.as_ref().and_then(|a| a.organization_id.as_deref()),
                    actor: &account.as_ref().map_or(attempted_by.clone(), actor_of),
                    action: AuditAction::LoginFailed,
                    target: None,
                    ip: Some(&ip),
                    details: Some(json!({"reason": reason})),
                },
            )
            .await?;
            Ok(login_form(
                &state,
                client,
                &headers,
                StatusCode::UNAUTHORIZED,
                username,
                Some("Incorrect username or password."),
            ))
        }
    }
}

enum SignIn {
    Accepted(Credentials),
    Refused {
        reason: &'static str,
        account: Option<Credentials>,
    },
}

/// Verifies the password off the async workers (Argon2 is deliberately
/// slow). Unknown usernames cost the same as wrong passwords.
async fn check_password(
    credentials: Option<Credentials>,
    password: String,
) -> Result<SignIn, PageError> {
    tokio::task::spawn_blocking(move || match credentials {
        None => {
            tessera_core::password::verify_against_dummy(&password);
            SignIn::Refused {
                reason: "unknown_username",
                account: None,
            }
        }
        Some(account) => {
            let matches =
                tessera_core::password::verify_password(&password, &account.password_hash);
            match (matches, account.active) {
                (true, true) => SignIn::Accepted(account),
                (true, false) => SignIn::Refused {
                    reason: "account_deactivated",
                    account: Some(account),
                },
                (false, _) => SignIn::Refused {
                    reason: "wrong_password",
                    account: Some(account),
                },
            }
        }
    })
    .await
    .map_err(PageError::from)
}

fn actor_of(account: &Credentials) -> Actor {
    Actor {
        kind: if account.is_operator {
            ActorKind::Operator
        } else {
            ActorKind::User
        },
        id: Some(account.id.clone()),
        name: account.username.clone(),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Result<Response, PageError> {
    let Some(current) = session::current(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !current.accepts_csrf(&form.csrf) {
        return Ok(pages::csrf_refused().into_response());
    }
    end_session(&state, &current, client).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", cookies::secure(&state, client)),
    );
    Ok(response)
}

async fn end_session(
    state: &AppState,
    current: &CurrentSession,
    client: ClientAddr,
) -> Result<(), PageError> {
    tessera_store::sessions::delete(state.db(), current.token_hash.as_str()).await?;
    let account = &current.account;
    let (kind, organization_id) = match &account.membership {
        tessera_store::accounts::Membership::Operator => (ActorKind::Operator, None),
        tessera_store::accounts::Membership::Member {
            organization_id, ..
        } => (ActorKind::User, Some(organization_id.as_str())),
    };
    audit::record(
        state.db(),
        NewEntry {
            organization_id,
            actor: &Actor {
                kind,
                id: Some(account.id.clone()),
                name: account.username.clone(),
            },
            action: AuditAction::Logout,
            target: None,
            ip: Some(&client.ip.to_string()),
            details: None,
        },
    )
    .await?;
    Ok(())
}
