//! Settings ▸ Bot users: creating one, and its page. Bot users cannot sign
//! in; they own keys made for integrations, bounded by their role.

use super::shared::{
    self, Activation, Creation, CreationStart, Kind, KindPaths, PersonPage, chosen_role,
};
use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Messages};
use crate::console::ui::{self, count, error_summary, notice, role_select};
use axum::extract::State;
use maud::{Markup, html};
use tessera_core::names::DisplayName;
use tessera_ops::OpError;
use tessera_ops::people::{self, Person};
use tessera_store::bots::{self, BotSummary};

impl Kind for BotSummary {
    const PATHS: KindPaths = KindPaths {
        page: paths::bot,
        deactivate: paths::bot_deactivate,
        reactivate: paths::bot_reactivate,
    };

    const CREATION: Creation = Creation {
        title: "New bot user",
        form_id: "bot-form",
        action: paths::BOTS,
        intro: Some(
            "A bot user cannot sign in. Administrators create keys it owns for integrations (key-management API: \"bot\": \"<name>\").",
        ),
        name_field: "name",
        name_label: "Name",
        name_hint: "Unique in your organisation, e.g. “calendar-sync”.",
        with_password: false,
        submit: "Create bot user",
    };

    const DONE: Messages = &[
        (
            "role",
            "Role changed. The bot's keys follow the new role from the next request.",
        ),
        (
            "deactivated",
            "Bot user deactivated. Its keys stopped working.",
        ),
        ("reactivated", "Bot user reactivated. Its keys work again."),
    ];

    fn person(&self) -> Person<'_> {
        (&self.bot).into()
    }

    fn render(&self, signed_in: &SignedIn, page: &PersonPage<'_>) -> Markup {
        bot_page(signed_in, self, page)
    }
}

const MALFORMED: &str = "Give the bot user a name of 1–100 printable characters.";

fn taken(name: &str) -> String {
    format!("Your organisation already has a bot user called “{name}”; choose another name.")
}

fn bot_page(signed_in: &SignedIn, summary: &BotSummary, view: &PersonPage<'_>) -> Markup {
    let bot = &summary.bot;
    let body = html! {
        section.card {
            p { a href=(paths::PEOPLE) { "← Users and bots" } }
            div.page-head {
                h1 { (bot.name) }
                (ui::active_badge(bot.active, "Deactivated"))
            }
            (notice(view.message))
            (error_summary(view.errors))
            dl.facts {
                dt { "Kind" } dd { "Bot user (cannot sign in)" }
                dt { "Role" } dd #bot-role { (bot.role_name) }
                dt { "Created" } dd { (ui::time::timestamp(summary.created_at)) }
                dt { "Live keys" } dd { (count(summary.live_keys, "key", "keys")) }
            }
        }
        section.card #role-card {
            h2 { "Role" }
            p.hint { "The bot's keys are bounded by its role from the next request." }
            (ui::post_form(&paths::bot_role(&bot.id), signed_in, html! {
                (role_select("role", view.roles, &bot.role_id, view.errors))
                button type="submit" { "Change role" }
            }))
        }
        (shared::activation_card(signed_in, summary, &Activation {
            noun: "bot user",
            deactivating: "Every key this bot user owns stops working at once, and no new key can be made for it. You can reactivate it later.",
            reactivating: "Its keys that are not revoked or expired work again.",
            refused: None,
        }))
    };
    page(&bot.name, signed_in, Section::People, body)
}

pub async fn create_bot(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let typed = fields.text("name");
    let CreationStart {
        member,
        roles,
        name,
        mut errors,
    } = shared::creation_start(
        &state,
        &signed_in,
        &BotSummary::CREATION,
        DisplayName::parse(typed),
        MALFORMED,
    )
    .await?;
    if let Some(name) = &name
        && bots::find_by_name(state.db(), member.organization_id, name.as_str())
            .await?
            .is_some()
    {
        errors.add("name", taken(name.as_str()));
    }
    let role = chosen_role(&roles, &fields, &mut errors);
    let rejected = |role_id: &str, errors: &FormErrors| {
        shared::creation_refused::<BotSummary>(&signed_in, &roles, typed, role_id, errors)
    };
    let (Some(name), Some(role), true) = (name, role, errors.is_empty()) else {
        return Ok(rejected(fields.text("role"), &errors));
    };
    let created = people::create_bot(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        role,
        &name,
    )
    .await;
    if let Err(OpError::Refused(_)) = created {
        errors.add("name", taken(name.as_str()));
        return Ok(rejected(&role.id, &errors));
    }
    created?;
    Ok(flash::redirect(paths::PEOPLE, "bot-created"))
}
