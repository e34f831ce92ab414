//! Revoking one key, or every key of the organisation.

use super::visible_key;
use crate::AppState;
use crate::console::form::SubmittedForm;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::{self, flash, unprocessable};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_ops::keys;

pub async fn confirm_revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed_in.member()?;
    let key = visible_key(&state, &member, &id).await?;
    let body = html! {
        section.card.narrow {
            h1 { "Revoke “" (key.name) "”?" }
            p { "The key " code { (key.hint) } " stops working immediately, on every server. Anything using it gets 401 from its next request. This cannot be undone." }
            (ui::post_form(&paths::key_revoke(&key.id), &signed_in, html! {
                div.actions {
                    button.danger #confirm-revoke type="submit" { "Revoke key" }
                    a.button.secondary href=(paths::API_KEYS) { "Cancel" }
                }
            }))
        }
    };
    Ok(page("Revoke key", &signed_in, Section::ApiKeys, body).into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SubmittedForm { signed_in, .. }: SubmittedForm,
) -> PageResult {
    let member = signed_in.member()?;
    let key = visible_key(&state, &member, &id).await?;
    keys::revoke(state.ops(), (&key).into(), &signed_in.actor()).await?;
    Ok(flash::redirect(paths::API_KEYS, "revoked"))
}

fn revoke_all_page(
    signed_in: &SignedIn,
    member: &MemberContext<'_>,
    typed: &str,
    error: Option<&str>,
) -> Markup {
    let body = html! {
        section.card.narrow.danger-zone {
            h1 { "Revoke ALL API keys" }
            p { "Every API key of " strong { (member.organization_name) } " stops working immediately, including keys of bot users and integrations. This cannot be undone." }
            @if let Some(error) = error { p.error #confirm-error role="alert" { (error) } }
            (ui::post_form(paths::REVOKE_ALL_KEYS, signed_in, html! {
                label for="confirm" { "Type the organisation's slug, " code { (member.organization_slug) } ", to confirm" }
                input #confirm type="text" name="confirm" value=(typed) autocomplete="off"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "confirm-error")];
                div.actions {
                    button.danger #confirm-revoke-all type="submit" { "Revoke ALL keys" }
                    a.button.secondary href=(paths::API_KEYS) { "Cancel" }
                }
            }))
        }
    };
    page("Revoke all keys", signed_in, Section::ApiKeys, body)
}

pub async fn confirm_revoke_all(signed_in: SignedIn) -> PageResult {
    let member = signed_in.administrator()?;
    Ok(revoke_all_page(&signed_in, &member, "", None).into_response())
}

pub async fn revoke_all(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.administrator()?;
    let typed = fields.trimmed("confirm");
    if typed != member.organization_slug {
        let message = format!(
            "That is not the slug. Type {} exactly to revoke every key.",
            member.organization_slug
        );
        return Ok(unprocessable(revoke_all_page(
            &signed_in,
            &member,
            typed,
            Some(&message),
        )));
    }
    keys::revoke_all(state.ops(), member.organization_id, &signed_in.actor()).await?;
    Ok(flash::redirect(paths::API_KEYS, "revoked-all"))
}
