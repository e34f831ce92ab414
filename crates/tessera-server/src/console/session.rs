//! Finding the signed-in account of a console request.

use super::cookies;
use crate::{ApiError, AppState};
use axum::http::HeaderMap;
use subtle::ConstantTimeEq;
use tessera_core::secret::SecretHash;
use tessera_store::accounts::Account;

pub struct CurrentSession {
    pub account: Account,
    pub csrf_token: String,
    pub token_hash: SecretHash,
}

impl CurrentSession {
    /// Whether a submitted form carries this session's CSRF token.
    pub fn accepts_csrf(&self, submitted: &str) -> bool {
        tokens_match(&self.csrf_token, submitted)
    }
}

/// The live session the request's cookie points at, if any.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, ApiError> {
    let Some(token) = cookies::read(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let token_hash = SecretHash::of(&token);
    let Some(session) = tessera_store::sessions::find_live(state.db(), token_hash.as_str()).await?
    else {
        return Ok(None);
    };
    let Some(account) =
        tessera_store::accounts::find_by_id(state.db(), &session.account_id).await?
    else {
        return Ok(None);
    };
    Ok(Some(CurrentSession {
        account,
        csrf_token: session.csrf_token,
        token_hash,
    }))
}

/// Constant-time comparison of two CSRF tokens; an empty token never matches.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}
