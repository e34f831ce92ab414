//! Settings ▸ Users and bots: an organisation's users and bot users, their
//! roles, deactivation, and password resets.
//!
//! Changing someone's role or deactivating them changes their keys at once:
//! the operation logs an access change in the same transaction and this
//! instance applies it before answering. An administrator cannot change their own role
//! or deactivate themselves, so every organisation keeps at least the
//! administrator who made the last change (no lock-out).

mod bots;
mod shared;
mod users;

use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{Flash, Messages};
use crate::console::ui::{self, cell, notice, time::timestamp};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::html;
use tessera_store::accounts::UserSummary;
use tessera_store::bots::BotSummary;
use tessera_store::members;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::PEOPLE, get(list))
        .route(paths::USERS, post(users::create_user))
        .route(paths::NEW_USER, get(shared::new_form::<UserSummary>))
        .route(paths::USER, get(shared::show::<UserSummary>))
        .route(paths::USER_ROLE, post(shared::change_role::<UserSummary>))
        .route(paths::USER_PASSWORD, post(users::reset_password))
        .route(
            paths::USER_DEACTIVATE,
            post(shared::deactivate::<UserSummary>),
        )
        .route(
            paths::USER_REACTIVATE,
            post(shared::reactivate::<UserSummary>),
        )
        .route(paths::BOTS, post(bots::create_bot))
        .route(paths::NEW_BOT, get(shared::new_form::<BotSummary>))
        .route(paths::BOT, get(shared::show::<BotSummary>))
        .route(paths::BOT_ROLE, post(shared::change_role::<BotSummary>))
        .route(
            paths::BOT_DEACTIVATE,
            post(shared::deactivate::<BotSummary>),
        )
        .route(
            paths::BOT_REACTIVATE,
            post(shared::reactivate::<BotSummary>),
        )
}

const LIST_DONE: Messages = &[
    ("user-created", "User created. They can sign in now."),
    ("bot-created", "Bot user created."),
];

const COLUMNS_OF_USERS: [ui::Column; 5] = ["Username", "Role", "Status", "Live keys", "Created"];
const COLUMNS_OF_BOTS: [ui::Column; 5] = ["Name", "Role", "Status", "Live keys", "Created"];

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let users = members::list::<UserSummary>(state.db(), member.organization_id).await?;
    let bots = members::list::<BotSummary>(state.db(), member.organization_id).await?;
    let status = |active| ui::active_badge(active, "Deactivated");
    let body = html! {
        div.page-head {
            h1 { "Users and bots" }
            div.actions {
                a.button #new-user href=(paths::NEW_USER) { "New user" }
                a.button.secondary #new-bot href=(paths::NEW_BOT) { "New bot user" }
            }
        }
        (notice(flash.message(LIST_DONE)))
        h2 { "Users" }
        (ui::table("users", &COLUMNS_OF_USERS, &users, |user| html! {
            tr data-username=(user.username) {
                (cell("Username", html! { a href=(paths::user(&user.id)) { (user.username) } }))
                (cell("Role", html! { (user.role_name) }))
                (cell("Status", status(user.active)))
                (cell("Live keys", html! { (user.live_keys) }))
                (cell("Created", timestamp(user.created_at)))
            }
        }))
        h2 { "Bot users" }
        p.hint { "Bot users cannot sign in; they own keys made for integrations, bounded by their role." }
        @if bots.is_empty() {
            p #no-bots { "No bot users yet." }
        } @else {
            (ui::table("bots", &COLUMNS_OF_BOTS, &bots, |summary| html! {
                tr data-bot=(summary.bot.name) {
                    (cell("Name", html! { a href=(paths::bot(&summary.bot.id)) { (summary.bot.name) } }))
                    (cell("Role", html! { (summary.bot.role_name) }))
                    (cell("Status", status(summary.bot.active)))
                    (cell("Live keys", html! { (summary.live_keys) }))
                    (cell("Created", timestamp(summary.created_at)))
                }
            }))
        }
    };
    Ok(page("Users and bots", &signed_in, Section::People, body).into_response())
}
