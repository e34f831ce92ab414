//! Reading and writing the console's cookies. Every cookie is HttpOnly and
//! SameSite=Strict; `Secure` when the deployment is served over https.

use crate::AppState;
use crate::middleware::ClientAddr;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use time::Duration;

pub const SESSION: &str = "tessera_session";
/// Between a right password and the code (two-factor sign-in): grants nothing else.
pub const PENDING_SIGN_IN: &str = "tessera_sign_in_pending";

/// Whether cookies for this request must be `Secure`.
pub fn secure(state: &AppState, client: ClientAddr) -> bool {
    state.config().secure_cookies || client.forwarded_https
}

pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

pub fn set(name: &str, value: &str, path: &str, secure: bool, max_age: Duration) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are base62")
}

pub fn clear(name: &str, path: &str, secure: bool) -> HeaderValue {
    set(name, "", path, secure, Duration::ZERO)
}
