//! Settings ▸ API: the key list, generating a key with a role or the
//! permission matrix, the page that shows a new key once, a key's detail,
//! revoking one key or all of them, and rolling a key.

mod detail;
mod form;
mod issued;
mod list;
mod revoke;
mod roll;

use crate::AppState;
use crate::console::pages::PageError;
use crate::console::paths;
use crate::console::permission_form;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui;
use axum::Router;
use axum::routing::get;
use maud::{Markup, html};
use tessera_core::permissions::Access;
use tessera_ops::keys::{self, Issuer};
use tessera_store::api_keys::{self, ApiKey, Owner};
use tessera_store::roles::{self, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::API_KEYS, get(list::list))
        .route(paths::NEW_KEY, get(form::new_key_form).post(form::create))
        .route(paths::KEY, get(detail::show))
        .route(
            paths::KEY_REVOKE,
            get(revoke::confirm_revoke).post(revoke::revoke),
        )
        .route(paths::KEY_ROLL, get(roll::roll_form).post(roll::roll))
        .route(
            paths::REVOKE_ALL_KEYS,
            get(revoke::confirm_revoke_all).post(revoke::revoke_all),
        )
}

/// The issuing person's role, which bounds what they may grant.
async fn own_role(state: &AppState, member: &MemberContext<'_>) -> Result<Role, PageError> {
    roles::find_by_id(state.db(), member.organization_id, member.role_id)
        .await?
        .ok_or_else(PageError::not_found)
}

pub(super) fn key_access_summary(key: &ApiKey) -> String {
    match (&key.role_name, &key.permissions) {
        (Some(role), _) => format!("Role: {role}"),
        (None, None) => "Full access".to_owned(),
        (None, Some(set)) => permission_form::summary(&Access::Limited(set.clone())),
    }
}

/// How close an expiry must be for a live key to be marked "Expires soon".
pub(crate) const EXPIRING_SOON_DAYS: i64 = 14;

/// Whether `key` works now and stops working within [`EXPIRING_SOON_DAYS`].
pub(crate) fn expires_soon(key: &ApiKey, now: i64) -> bool {
    key.status(now) == "active"
        && key
            .expires_at
            .is_some_and(|at| at <= now + EXPIRING_SOON_DAYS * keys::DAY_MS)
}

/// The key's status badge, and "Expires soon" beside it when it does.
pub(crate) fn status_badges(key: &ApiKey, now: i64) -> Markup {
    let status = key.status(now);
    html! {
        (ui::status_badge(status, status))
        @if expires_soon(key, now) {
            " " span.status.status-expiring title={ "Expires within " (EXPIRING_SOON_DAYS) " days" } { "Expires soon" }
        }
    }
}

fn may_see(member: &MemberContext<'_>, key: &ApiKey) -> bool {
    member.is_administrator || key.owner == Owner::Account(member.account.id.clone())
}

async fn visible_key(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<ApiKey, PageError> {
    api_keys::find(state.db(), member.organization_id, id)
        .await?
        .filter(|key| may_see(member, key))
        .ok_or_else(PageError::not_found)
}

fn issuer<'a>(signed_in: &SignedIn, member: &'a MemberContext<'_>, role: &'a Role) -> Issuer<'a> {
    Issuer {
        account_id: &member.account.id,
        username: &member.account.username,
        organization_id: member.organization_id,
        role,
        actor: signed_in.actor(),
    }
}

async fn key_access(state: &AppState, key: &ApiKey) -> Result<Access, PageError> {
    Ok(match (&key.role_id, &key.permissions) {
        (Some(role_id), _) => roles::find_by_id(state.db(), &key.organization_id, role_id)
            .await?
            .map_or(Access::Limited(Default::default()), |r| r.access),
        (None, Some(set)) => Access::Limited(set.clone()),
        (None, None) => Access::Full,
    })
}
