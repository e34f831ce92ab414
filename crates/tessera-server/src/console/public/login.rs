//! Signing in and out.

use crate::AppState;
use crate::console::pages::{PageError, PageResult};
use crate::console::session::{self, CurrentSession};
use crate::console::{anonymous_form, cookies, pages, paths};
use crate::middleware::ClientAddr;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tessera_core::audit::{Actor, ActorKind};
use tessera_core::secret::{SecretHash, random_base62};
use tessera_ops::auth::{self, PasswordCheck};
use tessera_store::accounts::Credentials;
use tessera_store::sessions::NewSession;

pub async fn show_form(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
) -> PageResult {
    if session::current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(paths::HOME).into_response());
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
) -> PageResult {
    if !anonymous_form::SIGN_IN.accepts(&headers, &form.csrf) {
        return Ok(pages::csrf_refused().into_response());
    }
    let username = form.username.trim();
    let checked = auth::check_password(
        state.ops(),
        state.password_gate(),
        username,
        form.password,
        client.ip,
    )
    .await?;
    let refused_for_now = |status: StatusCode, message: String, retry: u64| {
        let mut response = login_form(&state, client, &headers, status, username, Some(&message));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        response
    };
    match checked {
        PasswordCheck::Throttled {
            retry_after_seconds: retry,
        } => Ok(refused_for_now(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many sign-in attempts. Try again in {retry} seconds."),
            retry,
        )),
        PasswordCheck::Busy {
            retry_after_seconds: retry,
        } => Ok(refused_for_now(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Too many people are signing in right now. Try again in {retry} seconds."),
            retry,
        )),
        PasswordCheck::Refused(_) => Ok(login_form(
            &state,
            client,
            &headers,
            StatusCode::UNAUTHORIZED,
            username,
            Some("Incorrect username or password."),
        )),
        PasswordCheck::Accepted(account) => start_session(&state, client, &account).await,
    }
}

/// Creates the session of an account whose password was accepted and sets
/// its cookie.
async fn start_session(state: &AppState, client: ClientAddr, account: &Credentials) -> PageResult {
    let token = random_base62(43);
    let token_hash = SecretHash::of(&token);
    let csrf_token = random_base62(32);
    let ttl = state.config().session_ttl;
    let ip = client.ip.to_string();
    let session = NewSession {
        token_hash: token_hash.as_str(),
        account_id: &account.id,
        csrf_token: &csrf_token,
        ip: Some(&ip),
        expires_at: tessera_store::now_ms() + ttl.as_millis() as i64,
    };
    auth::start_session(state.ops(), account, &session, client.ip).await?;
    let max_age = time::Duration::seconds(ttl.as_secs() as i64);
    let mut response = Redirect::to(paths::HOME).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION,
            &token,
            paths::HOME,
            cookies::secure(state, client),
            max_age,
        ),
    );
    Ok(response)
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
) -> PageResult {
    let Some(current) = session::current(&state, &headers).await? else {
        return Ok(Redirect::to(paths::LOGIN).into_response());
    };
    if !current.accepts_csrf(&form.csrf) {
        return Ok(pages::csrf_refused().into_response());
    }
    end_session(&state, &current, client).await?;
    let mut response = Redirect::to(paths::LOGIN).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(
            cookies::SESSION,
            paths::HOME,
            cookies::secure(&state, client),
        ),
    );
    Ok(response)
}

async fn end_session(
    state: &AppState,
    current: &CurrentSession,
    client: ClientAddr,
) -> Result<(), PageError> {
    let account = &current.account;
    let (kind, organization_id) = match &account.membership {
        tessera_store::accounts::Membership::Operator => (ActorKind::Operator, None),
        tessera_store::accounts::Membership::Member {
            organization_id, ..
        } => (ActorKind::User, Some(organization_id)),
    };
    let actor = Actor {
        kind,
        id: Some(account.id.to_string()),
        name: account.username.clone(),
        ip: Some(client.ip.to_string()),
    };
    auth::end_session(
        state.ops(),
        current.token_hash.as_str(),
        &actor,
        organization_id,
    )
    .await?;
    Ok(())
}
