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
use tessera_ops::auth::{self, CodeCheck, PasswordCheck, PasswordUse};
use tessera_store::accounts::Credentials;
use tessera_store::sessions::NewSession;

/// How long the code step waits after a right password.
const PENDING_SIGN_IN: time::Duration = time::Duration::minutes(5);

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
        PasswordUse::ConsoleSignIn,
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
            format!(
                "Too many sign-in attempts. Try again in {}.",
                tessera_core::error_code::seconds(retry)
            ),
            retry,
        )),
        PasswordCheck::Busy {
            retry_after_seconds: retry,
        } => Ok(refused_for_now(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Too many people are signing in right now. Try again in {}.",
                tessera_core::error_code::seconds(retry)
            ),
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
        PasswordCheck::Accepted(account) if account.two_factor => {
            ask_for_code(&state, client, &account).await
        }
        PasswordCheck::Accepted(account) => {
            start_session(&state, client, &headers, &account, None).await
        }
    }
}

/// The password was right and the account uses two-factor sign-in: no
/// session yet, only a pending sign-in bound to a random token in a
/// short-lived cookie, which the code form needs.
async fn ask_for_code(state: &AppState, client: ClientAddr, account: &Credentials) -> PageResult {
    let token = random_base62(43);
    let expires_at = tessera_store::now_ms() + PENDING_SIGN_IN.whole_milliseconds() as i64;
    tessera_store::two_factor::create_pending(
        state.db(),
        SecretHash::of(&token).as_str(),
        &account.id,
        expires_at,
    )
    .await?;
    let mut response = Redirect::to(paths::LOGIN_CODE).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::PENDING_SIGN_IN,
            &token,
            paths::LOGIN,
            cookies::secure(state, client),
            PENDING_SIGN_IN,
        ),
    );
    Ok(response)
}

/// The code form, for a browser with a pending sign-in.
pub async fn show_code_form(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
) -> PageResult {
    let pending = pending_token_hash(&headers);
    let live = match &pending {
        Some(hash) => tessera_store::two_factor::find_pending(state.db(), hash.as_str())
            .await?
            .is_some(),
        None => false,
    };
    if !live {
        return Ok(Redirect::to(paths::LOGIN).into_response());
    }
    Ok(code_form(&state, client, &headers, StatusCode::OK, None))
}

fn pending_token_hash(headers: &HeaderMap) -> Option<SecretHash> {
    cookies::read(headers, cookies::PENDING_SIGN_IN)
        .filter(|t| !t.is_empty())
        .map(|t| SecretHash::of(&t))
}

fn code_form(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let token = anonymous_form::SIGN_IN.token(headers);
    let mut response = (status, pages::login_code(&token, error)).into_response();
    anonymous_form::SIGN_IN.attach(&mut response, &token, state, client);
    response
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit_code(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    if !anonymous_form::SIGN_IN.accepts(&headers, &form.csrf) {
        return Ok(pages::csrf_refused().into_response());
    }
    let Some(pending) = pending_token_hash(&headers) else {
        return Ok(Redirect::to(paths::LOGIN).into_response());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let checked = auth::check_code(
        state.ops(),
        state.password_gate(),
        pending.as_str(),
        &form.code,
        client.ip,
        u64::try_from(now).unwrap_or(0),
    )
    .await?;
    match checked {
        CodeCheck::Accepted {
            account,
            second_factor,
        } => {
            let mut response =
                start_session(&state, client, &headers, &account, Some(second_factor)).await?;
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::clear(
                    cookies::PENDING_SIGN_IN,
                    paths::LOGIN,
                    cookies::secure(&state, client),
                ),
            );
            Ok(response)
        }
        CodeCheck::Refused => Ok(code_form(
            &state,
            client,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some(
                "That code is not right (or was already used). Enter the current code from your authenticator app, or a recovery code.",
            ),
        )),
        CodeCheck::Throttled {
            retry_after_seconds: retry,
        } => {
            let message = format!(
                "Too many wrong codes. Try again in {}.",
                tessera_core::error_code::seconds(retry)
            );
            let mut response = code_form(
                &state,
                client,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&message),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry));
            Ok(response)
        }
        CodeCheck::Expired => Ok(login_form(
            &state,
            client,
            &headers,
            StatusCode::UNAUTHORIZED,
            "",
            Some(
                "Your sign-in expired or had too many wrong codes. Sign in again with your password.",
            ),
        )),
    }
}

/// Creates the session of an account whose password was accepted and sets
/// its cookie.
async fn start_session(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
    account: &Credentials,
    second_factor: Option<&'static str>,
) -> PageResult {
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
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        expires_at: tessera_store::now_ms() + ttl.as_millis() as i64,
    };
    auth::start_session(state.ops(), account, &session, client.ip, second_factor).await?;
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
