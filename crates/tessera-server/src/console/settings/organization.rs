//! Settings ▸ Organisation: the organisation's rules for new API keys (who
//! may create them, how long they may live, the default IP allow-list).
//! `tessera_ops::keys::issue` enforces them for the console and the API alike.
//! Also whether administrators must use two-factor sign-in.

use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, error_summary, notice, text_input, unprocessable};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use tessera_store::StoreError;
use tessera_store::organizations::{
    self, KeyCreationPolicy, KeyPolicy, MAX_KEY_LIFETIME_DAYS, Organization,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ORGANIZATION_SETTINGS, get(show).post(save))
        .route(paths::ORGANIZATION_TWO_FACTOR, post(save_two_factor))
}

const DONE: Messages = &[
    (
        "saved",
        "Settings saved. They apply to keys created from now on.",
    ),
    (
        "two-factor",
        "Saved. Administrators without two-factor sign-in are sent to set it up at their next page.",
    ),
];

/// What the form shows: the stored settings, or what was typed.
struct Typed<'a> {
    key_creation: &'a str,
    max_key_lifetime_days: &'a str,
    default_ip_allowlist: &'a str,
}

fn settings_page(
    signed_in: &SignedIn,
    organization: &Organization,
    typed: &Typed<'_>,
    message: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let key_creation_error = errors.get("key_creation");
    let body = html! {
        section.card {
            h1 { "Organisation settings" }
            (notice(message))
            dl.facts {
                dt { "Name" } dd #organization-name { (organization.name) }
                dt { "Slug" } dd { code { (organization.slug) } }
                dt { "Rate limit" }
                dd { (organization.rate_limit.per_second) " requests/s, bursts of " (organization.rate_limit.burst) " (set by the deployment's operator)" }
            }
        }
        section.card {
            h2 { "New API keys" }
            p.hint { "These rules apply when a key is created, in the console or through the key-management API. Keys that already exist are not changed." }
            (error_summary(errors))
            (ui::checked_post_form("settings-form", paths::ORGANIZATION_SETTINGS, signed_in, html! {
                fieldset #key_creation {
                    legend { "Who may create API keys" }
                    @if let Some(error) = key_creation_error { p.field-error { (error) } }
                    label.choice {
                        input #key-creation-administrators type="radio" name="key_creation" value="administrators"
                            checked[typed.key_creation == KeyCreationPolicy::AdministratorsOnly.as_str()];
                        "Administrators only"
                    }
                    label.choice {
                        input #key-creation-everyone type="radio" name="key_creation" value="everyone"
                            checked[typed.key_creation == KeyCreationPolicy::Everyone.as_str()];
                        "Every user (each for themselves, within their role)"
                    }
                }
                (text_input(
                    "max_key_lifetime_days",
                    "Maximum key lifetime (days)",
                    typed.max_key_lifetime_days,
                    errors,
                    Some("Leave empty for no limit. With a limit (1–3650), every new key must have an expiry at most this many days away."),
                ))
                (ui::text_area("default_ip_allowlist", "Default IP allow-list", typed.default_ip_allowlist, errors,
                    Some("CIDR ranges or single addresses, IPv4 or IPv6, one per line. A new key created without its own list gets this one. Leave empty for none.")))
                button type="submit" { "Save settings" }
            }))
        }
        section.card #two-factor-card {
            h2 { "Two-factor sign-in" }
            p.hint { "When required, an administrator without two-factor sign-in is sent to set it up at their next page (sessions already open included) and can do nothing else until they have. The key-management API refuses them too." }
            (ui::post_form(paths::ORGANIZATION_TWO_FACTOR, signed_in, html! {
                label.choice {
                    input #administrators-need-two-factor type="checkbox" name="required" value="yes"
                        checked[organization.administrators_need_two_factor];
                    "Administrators must use two-factor sign-in"
                }
                button type="submit" { "Save" }
            }))
        }
    };
    page(
        "Organisation settings",
        signed_in,
        Section::Organization,
        body,
    )
}

async fn find_organization(state: &AppState, id: &str) -> Result<Organization, StoreError> {
    organizations::find_by_id(state.db(), id)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let organization = find_organization(&state, member.organization_id).await?;
    let lifetime = organization
        .max_key_lifetime_days
        .map(|d| d.to_string())
        .unwrap_or_default();
    let allowlist = organization
        .default_ip_allowlist
        .as_ref()
        .map(|list| list.join("\n"))
        .unwrap_or_default();
    let typed = Typed {
        key_creation: organization.key_creation.as_str(),
        max_key_lifetime_days: &lifetime,
        default_ip_allowlist: &allowlist,
    };
    let page = settings_page(
        &signed_in,
        &organization,
        &typed,
        flash.message(DONE),
        &FormErrors::default(),
    );
    Ok(page.into_response())
}

/// The policy the form describes, or its problems.
fn read_policy(fields: &FormFields) -> Result<KeyPolicy, FormErrors> {
    let mut errors = FormErrors::default();
    let key_creation = match fields.text("key_creation") {
        "administrators" => Some(KeyCreationPolicy::AdministratorsOnly),
        "everyone" => Some(KeyCreationPolicy::Everyone),
        _ => {
            errors.add(
                "key_creation",
                "Choose who may create API keys: administrators only, or every user.",
            );
            None
        }
    };
    let lifetime = fields.trimmed("max_key_lifetime_days");
    let max_key_lifetime_days = if lifetime.is_empty() {
        None
    } else {
        match lifetime.parse::<u32>() {
            Ok(days) if (1..=MAX_KEY_LIFETIME_DAYS).contains(&days) => Some(days),
            _ => {
                errors.add(
                    "max_key_lifetime_days",
                    format!(
                        "Enter a whole number of days from 1 to {MAX_KEY_LIFETIME_DAYS}, or leave it empty for no limit."
                    ),
                );
                None
            }
        }
    };
    let entries: Vec<&str> = fields
        .text("default_ip_allowlist")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|e| !e.is_empty())
        .collect();
    let default_ip_allowlist = if entries.is_empty() {
        None
    } else {
        match tessera_ops::keys::IpAllowlist::parse(entries) {
            Ok(ranges) => Some(ranges.into_ranges()),
            Err(bad) => {
                errors.add(
                    "default_ip_allowlist",
                    format!(
                        "These are not IP addresses or CIDR ranges (such as 203.0.113.0/24 or 2001:db8::/32): {}",
                        bad.join(", ")
                    ),
                );
                None
            }
        }
    };
    match key_creation {
        Some(key_creation) if errors.is_empty() => Ok(KeyPolicy {
            key_creation,
            max_key_lifetime_days,
            default_ip_allowlist,
        }),
        _ => Err(errors),
    }
}

async fn save(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let organization = find_organization(&state, member.organization_id).await?;
    let policy = match read_policy(&fields) {
        Ok(policy) => policy,
        Err(errors) => {
            let typed = Typed {
                key_creation: fields.text("key_creation"),
                max_key_lifetime_days: fields.text("max_key_lifetime_days"),
                default_ip_allowlist: fields.text("default_ip_allowlist"),
            };
            let page = settings_page(&signed_in, &organization, &typed, None, &errors);
            return Ok(unprocessable(page));
        }
    };
    tessera_ops::organizations::set_key_policy(
        state.ops(),
        &signed_in.actor(),
        &organization,
        &policy,
    )
    .await?;
    Ok(flash::redirect(paths::ORGANIZATION_SETTINGS, "saved"))
}

async fn save_two_factor(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let organization = find_organization(&state, member.organization_id).await?;
    let required = fields.text("required") == "yes";
    tessera_ops::organizations::set_administrators_need_two_factor(
        state.ops(),
        &signed_in.actor(),
        &organization,
        required,
    )
    .await?;
    Ok(flash::redirect(paths::ORGANIZATION_SETTINGS, "two-factor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        FormFields::from_pairs(pairs)
    }

    #[test]
    fn policies_are_read_and_normalised() {
        let policy = read_policy(&form(&[
            ("key_creation", "everyone"),
            ("max_key_lifetime_days", " 90 "),
            (
                "default_ip_allowlist",
                "203.0.113.7\r\n2001:db8::/32, 10.1.2.3/8\n\n",
            ),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(policy.key_creation, KeyCreationPolicy::Everyone);
        assert_eq!(policy.max_key_lifetime_days, Some(90));
        assert_eq!(
            policy.default_ip_allowlist,
            Some(vec![
                "203.0.113.7/32".to_owned(),
                "2001:db8::/32".to_owned(),
                "10.0.0.0/8".to_owned()
            ])
        );
        let empty = read_policy(&form(&[
            ("key_creation", "administrators"),
            ("max_key_lifetime_days", ""),
            ("default_ip_allowlist", "  "),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(empty.max_key_lifetime_days, None);
        assert_eq!(empty.default_ip_allowlist, None);
    }

    #[test]
    fn bad_settings_name_their_field() {
        for (lifetime, allowlist, field) in [
            ("0", "", "max_key_lifetime_days"),
            ("3651", "", "max_key_lifetime_days"),
            ("ninety", "", "max_key_lifetime_days"),
            ("", "10.0.0.0/33", "default_ip_allowlist"),
            ("", "intranet", "default_ip_allowlist"),
        ] {
            let errors = read_policy(&form(&[
                ("key_creation", "administrators"),
                ("max_key_lifetime_days", lifetime),
                ("default_ip_allowlist", allowlist),
            ]))
            .err()
            .unwrap_or_else(|| panic!("{lifetime:?} {allowlist:?} accepted"));
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        let errors = read_policy(&form(&[("key_creation", "robots")]))
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(errors.get("key_creation").is_some());
    }
}
