//! Rolling a key: a replacement with the same grant, and a chosen overlap
//! before the old key stops.

use super::{issued, issuer, own_role, visible_key};
use crate::AppState;
use crate::console::form::SubmittedForm;
use crate::console::pages::{self, PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::html;
use tessera_ops::OpError;
use tessera_ops::keys;
use tessera_store::api_keys::{ApiKey, Owner};
use tessera_store::now_ms;

/// Overlaps offered when rolling a key, in hours.
const OVERLAPS: [(u32, &str); 4] = [
    (0, "None: the old key stops now"),
    (1, "1 hour"),
    (24, "24 hours"),
    (168, "7 days"),
];

/// Only a key's owner rolls a person's key (the replacement is theirs);
/// administrators roll bot users' keys.
fn may_roll(member: &MemberContext<'_>, key: &ApiKey) -> bool {
    match &key.owner {
        Owner::Account(id) => *id == member.account.id,
        Owner::Bot(_) => member.is_administrator,
    }
}

async fn rollable_key(
    state: &AppState,
    signed_in: &SignedIn,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<ApiKey, PageError> {
    let key = visible_key(state, member, id).await?;
    if !may_roll(member, &key) {
        return Err(PageError::forbidden(
            signed_in,
            "Only the key's owner can roll a person's key; revoke it instead, or ask them.",
        ));
    }
    if key.status(now_ms()) != "active" {
        return Err(PageError::forbidden(
            signed_in,
            "Only an active key can be rolled.",
        ));
    }
    Ok(key)
}

pub async fn roll_form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed_in.member()?;
    let key = rollable_key(&state, &signed_in, &member, &id).await?;
    let body = html! {
        section.card.narrow {
            h1 { "Roll “" (key.name) "”" }
            p { "Rolling creates a replacement key with the same name, permissions, expiry, IP allow-list and client binding, and retires " code { (key.hint) } "." }
            (ui::post_form(&paths::key_roll(&key.id), &signed_in, html! {
                fieldset {
                    legend { "How long may the old key keep working?" }
                    @for (hours, label) in OVERLAPS {
                        label.choice {
                            input type="radio" name="overlap_hours" value=(hours) id={ "overlap-" (hours) } checked[hours == 24];
                            (label)
                        }
                    }
                }
                div.actions {
                    button #confirm-roll type="submit" { "Roll key" }
                    a.button.secondary href=(paths::key(&key.id)) { "Cancel" }
                }
            }))
        }
    };
    Ok(page("Roll key", &signed_in, Section::ApiKeys, body).into_response())
}

pub async fn roll(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.member()?;
    let key = rollable_key(&state, &signed_in, &member, &id).await?;
    let Some(overlap_hours) = fields
        .trimmed("overlap_hours")
        .parse::<u32>()
        .ok()
        .filter(|h| OVERLAPS.iter().any(|(o, _)| o == h))
    else {
        return Ok(pages::bad_form());
    };
    let role = own_role(&state, &member).await?;
    let issuer = issuer(&signed_in, &member, &role);
    let issued = match keys::roll(state.ops(), &issuer, &key, overlap_hours).await {
        Ok(issued) => issued,
        Err(OpError::Refused(refusal)) => {
            return Err(PageError::forbidden(
                &signed_in,
                &format!("The key could not be rolled: {}", refusal.message),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    issued::issued_page(
        &state,
        &signed_in,
        &headers,
        &issued,
        "Your replacement API key",
    )
    .await
}
