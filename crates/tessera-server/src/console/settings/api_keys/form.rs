//! Generating a key: the form, its checks, and issuing the key.

use super::{issued, issuer, own_role};
use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::permission_form::{self, PermissionDraft};
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::{self, error_summary, text_input, time::date, unprocessable};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tessera_ops::OpError;
use tessera_ops::keys::{self, IpAllowlist, KeyRequest, RequestedAccess};
use tessera_store::api_clients::{self, ClientOverview};
use tessera_store::bots::{self, Bot};
use tessera_store::roles::{self, Role};
use tessera_store::{now_ms, organizations};

/// What the key form holds, as typed.
struct KeyForm {
    name: String,
    /// `me`, or a bot user's name.
    owner: String,
    /// `custom`, `role` or `everything`.
    access: String,
    role: String,
    draft: PermissionDraft,
    expires: String,
    ip_ranges: String,
    client_id: String,
    custom_key: String,
}

impl KeyForm {
    fn blank() -> KeyForm {
        KeyForm {
            name: String::new(),
            owner: "me".to_owned(),
            access: "custom".to_owned(),
            role: String::new(),
            draft: PermissionDraft::default(),
            expires: String::new(),
            ip_ranges: String::new(),
            client_id: String::new(),
            custom_key: String::new(),
        }
    }

    fn read(fields: &FormFields) -> (KeyForm, Vec<String>) {
        let (draft, problems) = PermissionDraft::from_form(fields);
        let form = KeyForm {
            name: fields.trimmed("name").to_owned(),
            owner: match fields.trimmed("owner") {
                "" => "me".to_owned(),
                other => other.to_owned(),
            },
            access: fields.trimmed("access").to_owned(),
            role: fields.trimmed("role").to_owned(),
            draft,
            expires: fields.trimmed("expires").to_owned(),
            ip_ranges: fields.text("ip_ranges").to_owned(),
            client_id: fields.trimmed("client_id").to_owned(),
            custom_key: fields.trimmed("custom_key").to_owned(),
        };
        (form, problems)
    }

    /// The request this form asks for, or what is wrong with it.
    fn to_request(&self, matrix_problems: Vec<String>) -> Result<KeyRequest, FormErrors> {
        let mut errors = FormErrors::default();
        if self.name.is_empty() {
            errors.add("name", "Give the key a name, e.g. “Calendar integration”.");
        }
        let access = match self.access.as_str() {
            "everything" => Some(RequestedAccess::Everything),
            "role" if self.role.is_empty() => {
                errors.add("role", "Choose the role the key follows.");
                None
            }
            "role" => Some(RequestedAccess::Role(self.role.clone())),
            "custom" => {
                for problem in matrix_problems {
                    errors.add("permission-matrix", problem);
                }
                let set = self.draft.to_set();
                if set.is_empty() {
                    errors.add(
                        "permission-matrix",
                        "Tick at least one permission, or choose “Everything I can do”.",
                    );
                }
                Some(RequestedAccess::Inline(set))
            }
            _ => {
                errors.add("access-custom", "Choose what the key may do.");
                None
            }
        };
        let expires_at = match self.expires.as_str() {
            "" => None,
            text => match parse_day(text) {
                Some(ms) => Some(ms),
                None => {
                    errors.add("expires", "Enter the expiry as a date, e.g. 2027-06-30.");
                    None
                }
            },
        };
        let ranges: Vec<&str> = self
            .ip_ranges
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        let ip_allowlist = if ranges.is_empty() {
            None
        } else {
            match IpAllowlist::parse(ranges) {
                Ok(list) => Some(list),
                Err(bad) => {
                    errors.add(
                        "ip_ranges",
                        format!(
                            "These are not IP addresses or CIDR ranges: {}.",
                            bad.join(", ")
                        ),
                    );
                    None
                }
            }
        };
        match (errors.is_empty(), access) {
            (true, Some(access)) => Ok(KeyRequest {
                name: self.name.clone(),
                bot: (self.owner != "me").then(|| self.owner.clone()),
                access,
                expires_at,
                ip_allowlist,
                client_id: (!self.client_id.is_empty()).then(|| self.client_id.clone()),
                custom_key: (!self.custom_key.is_empty()).then(|| self.custom_key.clone()),
                rate_limit: None,
            }),
            _ => Err(errors),
        }
    }
}

/// A key chosen to expire "on" a day works through that day (UTC).
fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, format).ok()?;
    let end = day.next_day()?.midnight().assume_utc();
    Some((end.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Which form field a refusal from the issuing rules belongs beside.
fn field_of(input: &str) -> &'static str {
    match input {
        "owner" => "owner",
        "access" => "access-custom",
        "expires_at" => "expires",
        "ip_allowlist" => "ip_ranges",
        "client_id" => "client_id",
        "custom_key" => "custom_key",
        _ => "name",
    }
}

struct FormChoices {
    bots: Vec<Bot>,
    /// The deployment's active API clients, by name, to bind a key to.
    clients: Vec<ClientOverview>,
    roles: Vec<Role>,
    /// The organisation's maximum key lifetime in days, if it has one.
    lifetime_limit: Option<u32>,
}

async fn form_choices(
    state: &AppState,
    member: &MemberContext<'_>,
) -> Result<FormChoices, PageError> {
    let bots = if member.is_administrator {
        bots::list(state.db(), member.organization_id)
            .await?
            .into_iter()
            .filter(|b| b.active)
            .collect()
    } else {
        Vec::new()
    };
    let roles = roles::list(state.db(), member.organization_id).await?;
    let mut clients: Vec<ClientOverview> = api_clients::list(state.db())
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect();
    clients.sort_by_key(|c| c.name.to_lowercase());
    let lifetime_limit = organizations::find_by_id(state.db(), member.organization_id)
        .await?
        .and_then(|o| o.max_key_lifetime_days);
    Ok(FormChoices {
        bots,
        clients,
        roles,
        lifetime_limit,
    })
}

/// The latest expiry the organisation's lifetime limit allows now.
fn latest_expiry(days: u32) -> i64 {
    now_ms() + i64::from(days) * keys::DAY_MS
}

/// A date picked in the form lasts through that day, which can be hours
/// past the organisation's limit when it is the last allowed day; that day
/// then ends at the limit instead of being refused.
fn within_limit(expires_at: Option<i64>, lifetime_limit: Option<u32>) -> Option<i64> {
    match (expires_at, lifetime_limit) {
        (Some(at), Some(days)) => {
            let latest = latest_expiry(days);
            if at > latest && date(at - 1) == date(latest) {
                Some(latest)
            } else {
                Some(at)
            }
        }
        (at, _) => at,
    }
}

/// What the key form page shows.
struct KeyFormPage<'a> {
    member: &'a MemberContext<'a>,
    choices: &'a FormChoices,
    form: &'a KeyForm,
    errors: &'a FormErrors,
}

fn key_form_page(signed_in: &SignedIn, view: &KeyFormPage<'_>) -> Markup {
    let KeyFormPage {
        member,
        choices,
        form,
        errors,
    } = *view;
    let body = html! {
        h1 { "Generate an API key" }
        (error_summary(errors))
        form.card method="post" action=(paths::NEW_KEY) novalidate {
            (ui::csrf_input(signed_in))
            (text_input("name", "Name", &form.name, errors, Some("What the key is for, so you recognise it later.")))
            @if member.is_administrator {
                (owner_select(member, choices, form, errors))
            }
            (access_choice(choices, form, errors))
            (ui::date_input("expires", "Expires on (optional)", &form.expires, errors, Some(expiry_hint(choices.lifetime_limit))))
            (ui::text_area("ip_ranges", "Allowed IP ranges (optional)", &form.ip_ranges, errors,
                Some("One IPv4 or IPv6 address or CIDR range per line, e.g. 203.0.113.0/24. Leave empty to allow any address.")))
            (client_select(choices, form, errors))
            details #advanced open[!form.custom_key.is_empty()] {
                summary { "Advanced" }
                (text_input("custom_key", "Use my own key (GUID)", &form.custom_key, errors,
                    Some("Only if a system you integrate with requires a key of its own in GUID form: a randomly generated (version 4) GUID, such as 5C3A9E1F-7B2D-4F8A-9E6C-1D4B7A2F0E83 but not that one. Guessable GUIDs are refused. Otherwise Tessera generates a stronger key.")))
            }
            div.actions {
                button #create-key type="submit" { "Generate key" }
                a.button.secondary href=(paths::API_KEYS) { "Cancel" }
            }
        }
    };
    page("Generate an API key", signed_in, Section::ApiKeys, body)
}

fn owner_select(
    member: &MemberContext<'_>,
    choices: &FormChoices,
    form: &KeyForm,
    errors: &FormErrors,
) -> Markup {
    let hint = "Keys for an integration are best owned by a bot user, so they keep working when people leave.";
    ui::select(
        "owner",
        "Owner",
        Some(hint),
        errors,
        html! {
            option value="me" selected[form.owner == "me"] { "Me (" (member.account.username) ")" }
            @for bot in &choices.bots {
                option value=(bot.name) selected[form.owner == bot.name] { (bot.name) " (bot user, role " (bot.role_name) ")" }
            }
        },
    )
}

/// "None" or one of the deployment's API clients, by name; a key bound to
/// a client works only together with that client's credential.
fn client_select(choices: &FormChoices, form: &KeyForm, errors: &FormErrors) -> Markup {
    let listed = choices
        .clients
        .iter()
        .any(|c| c.id.as_str() == form.client_id);
    ui::select(
        "client_id",
        "Bind to an API client (optional)",
        Some(
            "Choose the integrating company's API client to make the key work only together with that client's credential.",
        ),
        errors,
        html! {
            option value="" selected[form.client_id.is_empty()] { "None: any caller with the key" }
            @if !listed && !form.client_id.is_empty() {
                option value=(form.client_id) selected { (form.client_id) }
            }
            @for client in &choices.clients {
                option value=(client.id) selected[client.id.as_str() == form.client_id] { (client.name) }
            }
        },
    )
}

/// The three permission modes. Each mode's controls follow the radio
/// buttons, and the stylesheet shows only the chosen mode's (CSS `:has`,
/// so without JavaScript too; a browser without `:has` shows all three).
fn access_choice(choices: &FormChoices, form: &KeyForm, errors: &FormErrors) -> Markup {
    html! {
        fieldset #access-choice {
            legend { "Permissions" }
            @if let Some(error) = errors.get("access-custom") { p.field-error #access-custom-error { (error) } }
            label.choice {
                input #access-custom type="radio" name="access" value="custom" checked[form.access == "custom"];
                "Choose resources, actions and fields"
            }
            label.choice {
                input #access-role type="radio" name="access" value="role" checked[form.access == "role"];
                "Follow a role (later edits of the role apply to the key)"
            }
            label.choice {
                input #access-everything type="radio" name="access" value="everything" checked[form.access == "everything"];
                "Everything I can do (all resources and fields)"
            }
            div.mode-role #role-block {
                (ui::select("role", "Role", None, errors, html! {
                    option value="" { "Choose a role…" }
                    @for role in &choices.roles {
                        option value=(role.name) selected[form.role == role.name] { (role.name) }
                    }
                }))
            }
            p.mode-everything.hint #everything-block {
                "The key may do whatever its owner's role allows, including resources and fields added later."
            }
            div.mode-custom #matrix-block {
                h3 { "Resources and actions" }
                @if let Some(error) = errors.get("permission-matrix") { p.field-error #permission-matrix-error { (error) } }
                (permission_form::matrix(&form.draft, "key"))
            }
        }
    }
}

fn expiry_hint(lifetime_limit: Option<u32>) -> Markup {
    html! {
        "The key stops working at the end of this day (UTC). "
        @match lifetime_limit {
            Some(days) => { "This organisation requires keys to expire within " (days) " days, by " (date(latest_expiry(days))) "." },
            None => "Leave empty for a key that does not expire.",
        }
    }
}

async fn refuse_if_not_allowed(
    state: &AppState,
    signed_in: &SignedIn,
    member: &MemberContext<'_>,
) -> Result<Role, PageError> {
    let role = own_role(state, member).await?;
    if keys::may_create_keys(state.ops(), &role, member.organization_id).await? {
        Ok(role)
    } else {
        Err(PageError::forbidden(
            signed_in,
            "Only administrators can create API keys in this organisation.",
        ))
    }
}

pub async fn new_key_form(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let member = signed_in.member()?;
    refuse_if_not_allowed(&state, &signed_in, &member).await?;
    let choices = form_choices(&state, &member).await?;
    let view = KeyFormPage {
        member: &member,
        choices: &choices,
        form: &KeyForm::blank(),
        errors: &FormErrors::default(),
    };
    Ok(key_form_page(&signed_in, &view).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.member()?;
    let role = refuse_if_not_allowed(&state, &signed_in, &member).await?;
    let (form, matrix_problems) = KeyForm::read(&fields);
    let rejected = |errors: FormErrors, choices: FormChoices| -> Response {
        let view = KeyFormPage {
            member: &member,
            choices: &choices,
            form: &form,
            errors: &errors,
        };
        unprocessable(key_form_page(&signed_in, &view))
    };
    let choices = form_choices(&state, &member).await?;
    let mut request = match form.to_request(matrix_problems) {
        Ok(request) => request,
        Err(errors) => return Ok(rejected(errors, choices)),
    };
    request.expires_at = within_limit(request.expires_at, choices.lifetime_limit);
    let issuer = issuer(&signed_in, &member, &role);
    match keys::issue(state.ops(), &issuer, request).await {
        Ok(issued) => {
            issued::issued_page(&state, &signed_in, &headers, &issued, "Your new API key").await
        }
        Err(OpError::Refused(refusal)) => {
            let mut errors = FormErrors::default();
            errors.add(field_of(refusal.input), refusal.message);
            Ok(rejected(errors, choices))
        }
        Err(err) => Err(err.into()),
    }
}
