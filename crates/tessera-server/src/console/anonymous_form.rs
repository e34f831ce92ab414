//! CSRF protection for forms shown to someone not signed in (sign-in,
//! applying for an API client): a double-submit token, the same random
//! value in a cookie and in a hidden field. A cross-site form cannot read
//! the cookie, so it cannot send a matching field. Each form has a cookie
//! of its own, scoped to the form's path, so one form never disturbs
//! another's token.

use super::session::tokens_match;
use super::{cookies, paths};
use crate::AppState;
use crate::middleware::ClientAddr;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use tessera_core::secret::random_base62;

const TOKEN_LEN: usize = 32;
const LIFETIME: time::Duration = time::Duration::hours(2);

pub struct AnonymousForm {
    cookie: &'static str,
    path: &'static str,
}

pub const SIGN_IN: AnonymousForm = AnonymousForm {
    cookie: "tessera_login_csrf",
    path: paths::LOGIN,
};

pub const APPLY: AnonymousForm = AnonymousForm {
    cookie: "tessera_apply_csrf",
    path: paths::APPLY,
};

impl AnonymousForm {
    /// The token to put in the form: the browser's current one when it
    /// has a well-formed one (several open tabs keep working), else a new one.
    pub fn token(&self, headers: &HeaderMap) -> String {
        cookies::read(headers, self.cookie)
            .filter(|t| t.len() == TOKEN_LEN && t.bytes().all(|b| b.is_ascii_alphanumeric()))
            .unwrap_or_else(|| random_base62(TOKEN_LEN))
    }

    /// Sets the cookie that goes with a form rendered with `token`.
    pub fn attach(
        &self,
        response: &mut Response,
        token: &str,
        state: &AppState,
        client: ClientAddr,
    ) {
        let cookie = cookies::set(
            self.cookie,
            token,
            self.path,
            cookies::secure(state, client),
            LIFETIME,
        );
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }

    /// Whether a submitted form's field matches the browser's cookie.
    pub fn accepts(&self, headers: &HeaderMap, submitted: &str) -> bool {
        let cookie_token = cookies::read(headers, self.cookie).unwrap_or_default();
        tokens_match(&cookie_token, submitted)
    }
}
