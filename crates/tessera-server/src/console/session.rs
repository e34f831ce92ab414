//! Finding the signed-in account of a console request.

use super::cookies;
use super::pages::{self, PageError};
use super::paths;
use crate::AppState;
use crate::middleware::ClientAddr;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use tessera_core::audit::ActorKind;
use tessera_core::id::OrganizationId;
use tessera_core::secret::SecretHash;
use tessera_store::accounts::{Account, Membership};
use tessera_store::audit::Actor;

pub struct CurrentSession {
    pub account: Account,
    pub token_hash: SecretHash,
    /// The stored session: its CSRF token and its "last seen" record.
    pub stored: tessera_store::sessions::Session,
}

impl CurrentSession {
    /// An administrator of an organisation that requires two-factor
    /// sign-in, who has not enrolled: they may use the enrolment pages only.
    pub fn must_enrol(&self) -> bool {
        matches!(
            self.account.membership,
            Membership::Member {
                is_administrator: true,
                administrators_need_two_factor: true,
                ..
            }
        ) && !self.account.two_factor
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn accepts_csrf(&self, submitted: &str) -> bool {
        tokens_match(&self.stored.csrf_token, submitted)
    }
}

/// The live session the request's cookie points at, if any.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, PageError> {
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
    if !account.active {
        return Ok(None);
    }
    Ok(Some(CurrentSession {
        account,
        token_hash,
        stored: session,
    }))
}

/// Constant-time comparison of two CSRF tokens; an empty token never matches.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// A console request from a signed-in account. Extracting it sends anyone
/// without a live session to the sign-in page.
pub struct SignedIn {
    pub session: CurrentSession,
    pub client: ClientAddr,
}

/// The organisation a member acts in, and whether they administer it.
pub struct MemberContext<'a> {
    pub account: &'a Account,
    pub organization_id: &'a OrganizationId,
    pub organization_slug: &'a str,
    pub organization_name: &'a str,
    pub role_id: &'a str,
    pub is_administrator: bool,
}

impl SignedIn {
    pub fn account(&self) -> &Account {
        &self.session.account
    }

    pub fn csrf(&self) -> &str {
        &self.session.stored.csrf_token
    }

    pub fn ip(&self) -> String {
        self.client.ip.to_string()
    }

    /// Who the audit log names for this person's actions.
    pub fn actor(&self) -> Actor {
        let account = self.account();
        Actor {
            kind: match account.membership {
                Membership::Operator => ActorKind::Operator,
                Membership::Member { .. } => ActorKind::User,
            },
            id: Some(account.id.to_string()),
            name: account.username.clone(),
            ip: Some(self.ip()),
        }
    }

    /// The member's organisation; operators are refused with a page saying
    /// these pages belong to organisations.
    pub fn member(&self) -> Result<MemberContext<'_>, PageError> {
        let account = self.account();
        match &account.membership {
            Membership::Member {
                organization_id,
                organization_slug,
                organization_name,
                role_id,
                is_administrator,
                ..
            } => Ok(MemberContext {
                account,
                organization_id,
                organization_slug,
                organization_name,
                role_id,
                is_administrator: *is_administrator,
            }),
            Membership::Operator => Err(PageError::forbidden(
                self,
                "This page belongs to an organisation's members; operators manage organisations from the Operator pages.",
            )),
        }
    }

    /// The member's organisation, if they administer it.
    pub fn administrator(&self) -> Result<MemberContext<'_>, PageError> {
        let member = self.member()?;
        if member.is_administrator {
            Ok(member)
        } else {
            Err(PageError::forbidden(
                self,
                "Only administrators of your organisation can use this page.",
            ))
        }
    }

    /// Refuses anyone but an operator.
    pub fn operator(&self) -> Result<(), PageError> {
        match self.account().membership {
            Membership::Operator => Ok(()),
            Membership::Member { .. } => Err(PageError::forbidden(
                self,
                "Only the deployment's operators can use this page.",
            )),
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let client = parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| pages::internal_error().into_response())?;
        match current(state, &parts.headers).await {
            Ok(Some(session)) if session.must_enrol() && !enrolment_page(parts.uri.path()) => {
                Err(Redirect::to(paths::TWO_FACTOR).into_response())
            }
            Ok(Some(session)) => {
                // Only for pages the person opens (not the sign-out form):
                // "last seen" and the address on the sessions page.
                let ip = client.ip.to_string();
                if session.stored.needs_touch(&ip)
                    && let Err(err) =
                        tessera_store::sessions::touch(state.db(), session.token_hash.as_str(), &ip)
                            .await
                {
                    tracing::warn!(error = %err, "could not record when a console session was last used");
                }
                Ok(SignedIn { session, client })
            }
            Ok(None) => Err(Redirect::to(paths::LOGIN).into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// The pages an administrator who must enrol in two-factor sign-in may use.
fn enrolment_page(path: &str) -> bool {
    path == paths::TWO_FACTOR || path.starts_with(&format!("{}/", paths::TWO_FACTOR))
}
