//! Extractors that turn a request into what API handlers need: a verified
//! API key, a verified username and password, a JSON body. Each refusal is
//! an [`ApiError`] with its stable error code.

use crate::middleware::ClientAddr;
use crate::usage::UsageIdentity;
use crate::{ApiError, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr};
use tessera_access::keys::{Presentation, Verdict, VerifyError};
use tessera_access::rate_limit::{Bucket, Decision};
use tessera_core::ErrorCode;
use tessera_core::audit::{Actor, ActorKind};
use tessera_core::credentials;
use tessera_core::id::OrganizationId;
use tessera_ops::auth::{self, PasswordCheck, PasswordUse};
use tessera_store::accounts::{Account, Membership};
use tessera_store::roles::{self, Role};

/// A JSON request body; malformed, mistyped or oversized bodies become
/// problems instead of axum's plain-text rejections.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with Content-Type: application/json.",
            )),
            Err(JsonRejection::BytesRejection(rejection)) if rejection.status().as_u16() == 413 => {
                Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "The request body is larger than this server accepts.",
                ))
            }
            Err(rejection) => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                rejection.body_text(),
            )),
        }
    }
}

pub fn client_addr(parts: &Parts) -> ClientAddr {
    parts
        .extensions
        .get::<ClientAddr>()
        .copied()
        .unwrap_or(ClientAddr {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            forwarded_https: false,
        })
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

/// A request authenticated with an API key (`X-API-KEY`, or a bearer token),
/// as established by [`authenticate`] for the routes it guards.
#[derive(Clone)]
pub struct ApiKeyAuth {
    pub verdict: Verdict,
    pub client: ClientAddr,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ApiKeyAuth>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal(
                    "a key-authenticated route is missing the authenticate middleware",
                )
            })
    }
}

/// Middleware for every key-authenticated route: verifies the presented
/// key, counts the request against its organisation's bucket (and the key's
/// own, if it has one), refuses with 429 when a bucket is empty, and puts
/// the IETF `RateLimit-Policy` and `RateLimit` headers on the answer.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = client_addr(&parts);
    let headers = &parts.headers;
    let presentation = Presentation {
        keys: credentials::presented_keys(
            header_values(headers, "x-api-key"),
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        ),
        organization: headers
            .get("x-organization")
            .and_then(|v| v.to_str().ok())
            .map(str::trim),
        client_credential: headers
            .get("x-api-client")
            .and_then(|v| v.to_str().ok())
            .map(str::trim),
        client_ip: client.ip,
    };
    let verdict = match state.access().verify(&presentation).await {
        Ok(verdict) => verdict,
        Err(VerifyError::Denied(denial)) => {
            let error = ApiError::new(denial.code, denial.detail);
            return match denial.retry_after {
                Some(seconds) => error.with_retry_after(seconds),
                None => error,
            }
            .into_response();
        }
        Err(VerifyError::Store(err)) => return ApiError::internal(err).into_response(),
    };

    let key = &verdict.key;
    let mut buckets = Vec::with_capacity(2);
    buckets.push((
        Bucket::Organization(key.organization_id.to_string()),
        key.organization_rate_limit,
    ));
    if let Some(limit) = key.key_rate_limit {
        buckets.push((Bucket::Key(key.id.to_string()), limit));
    }
    let decisions = state.rate_limits().check(&buckets).await;
    // A refused request charges no bucket, so every decision reads as
    // refused: the one that is empty is the limit that was hit, and the
    // refusal names it.
    let refused = decisions
        .iter()
        .filter(|d| !d.allowed)
        .max_by_key(|d| (d.remaining == 0, d.retry_after_seconds));
    let mut response = match refused {
        Some(decision) => rate_limited(decision),
        None => {
            parts.extensions.insert(ApiKeyAuth {
                verdict: verdict.clone(),
                client,
            });
            next.run(Request::from_parts(parts, body)).await
        }
    };
    if state.usage().is_recording() {
        response.extensions_mut().insert(UsageIdentity(verdict));
    }
    rate_limit_headers(response.headers_mut(), &decisions);
    response
}

/// The 429 of a refused request, naming the limit that was hit.
fn rate_limited(decision: &Decision) -> Response {
    let retry_after = decision.retry_after_seconds;
    let limit = match decision.policy {
        "key" => "this API key's own",
        _ => "this organization's",
    };
    ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "Too many requests: {limit} rate limit is reached; retry in {}.",
            tessera_core::error_code::seconds(retry_after)
        ),
    )
    .with_retry_after(retry_after)
    .into_response()
}

fn rate_limit_headers(headers: &mut HeaderMap, decisions: &[Decision]) {
    use std::fmt::Write;
    // Written into two buffers: every answer carries these headers.
    let mut policy = String::with_capacity(48 * decisions.len());
    let mut state = String::with_capacity(48 * decisions.len());
    for (n, d) in decisions.iter().enumerate() {
        let separator = if n == 0 { "" } else { ", " };
        let _ = write!(
            policy,
            "{separator}\"{}\";q={};w={}",
            d.policy, d.quota, d.window_seconds
        );
        let _ = write!(
            state,
            "{separator}\"{}\";r={};t={}",
            d.policy, d.remaining, d.reset_seconds
        );
    }
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    }
}

/// A member of an organisation authenticated with HTTP Basic username and
/// password: the only way to manage API keys.
pub struct PasswordAuth {
    pub account: Account,
    pub organization_id: OrganizationId,
    pub organization_slug: String,
    pub role: Role,
    pub client: ClientAddr,
}

impl PasswordAuth {
    pub fn is_administrator(&self) -> bool {
        self.role.is_administrator()
    }

    /// Who the audit log names for what this person does through the API.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(self.account.id.to_string()),
            name: self.account.username.clone(),
            ip: Some(self.client.ip.to_string()),
        }
    }
}

fn credentials_error(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, detail)
}

const BASIC_EXPECTED: &str = "Authenticate with your Tessera username and password using HTTP Basic authentication (an app password instead of the password for accounts with two-factor sign-in).";

/// Every refused password says the same, whether the username exists, the
/// password was wrong, or it was the right password of an account with
/// two-factor sign-in: telling the last apart would confirm a password to
/// whoever guessed it.
const BASIC_REFUSED: &str = "The username or password is incorrect. An account with two-factor sign-in must use an app password here, not its password: create one in the console under Account ▸ App passwords.";

impl FromRequestParts<AppState> for PasswordAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = client_addr(parts);
        let headers = &parts.headers;
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let presents_key = headers.contains_key("x-api-key")
            || authorization
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer "));
        if presents_key {
            return Err(credentials_error(
                "API keys cannot create, list or revoke API keys; authenticate with your username and password (HTTP Basic).",
            ));
        }
        let (username, password) =
            parse_basic(authorization).ok_or_else(|| credentials_error(BASIC_EXPECTED))?;

        let refused = || credentials_error(BASIC_REFUSED);
        let checked = auth::check_password(
            state.ops(),
            state.password_gate(),
            &username,
            password,
            client.ip,
            PasswordUse::HttpBasic,
        )
        .await?;
        let credentials = accepted(checked)?;
        let account = tessera_store::accounts::find_by_id(state.db(), &credentials.id)
            .await?
            .ok_or_else(refused)?;
        let Membership::Member {
            organization_id,
            organization_slug,
            role_id,
            ..
        } = account.membership.clone()
        else {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "Operators belong to no organization and hold no API keys.",
            ));
        };
        let role = roles::find_by_id(state.db(), &organization_id, &role_id)
            .await?
            .ok_or_else(refused)?;
        refuse_unenrolled_administrator(&account, &role)?;
        Ok(PasswordAuth {
            account,
            organization_id,
            organization_slug,
            role,
            client,
        })
    }
}

/// The checked password's credentials, or the refusal that says why not.
fn accepted(checked: PasswordCheck) -> Result<tessera_store::accounts::Credentials, ApiError> {
    match checked {
        PasswordCheck::Accepted(credentials) => Ok(credentials),
        PasswordCheck::Refused(_) => Err(credentials_error(BASIC_REFUSED)),
        PasswordCheck::Throttled {
            retry_after_seconds: seconds,
        } => Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "Too many failed sign-ins; try again in {}.",
                tessera_core::error_code::seconds(seconds)
            ),
        )
        .with_retry_after(seconds)),
        PasswordCheck::Busy {
            retry_after_seconds: seconds,
        } => Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!(
                "Too many sign-ins are being checked right now; try again in {}.",
                tessera_core::error_code::seconds(seconds)
            ),
        )
        .with_retry_after(seconds)),
    }
}

/// An administrator whose organisation requires two-factor sign-in and who
/// has not enrolled may not manage keys until they have.
fn refuse_unenrolled_administrator(account: &Account, role: &Role) -> Result<(), ApiError> {
    let required = matches!(
        account.membership,
        Membership::Member {
            administrators_need_two_factor: true,
            ..
        }
    );
    if required && role.is_administrator() && !account.two_factor {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Your organization requires administrators to use two-factor sign-in: set it up in the console (Account ▸ Two-factor sign-in), then use an app password here.",
        ));
    }
    Ok(())
}

fn parse_basic(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::parse_basic;

    #[test]
    fn basic_credentials_are_decoded() {
        assert_eq!(
            parse_basic("Basic YWRhOnNlY3JldDp3aXRoOmNvbG9ucw=="),
            Some(("ada".into(), "secret:with:colons".into()))
        );
        assert_eq!(
            parse_basic("basic YWRhOng="),
            Some(("ada".into(), "x".into()))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Bearer YWRhOng="), None);
        assert_eq!(parse_basic(""), None);
    }
}
