//! Settings ▸ API: the key list, generating a key with a
//! role or the permission matrix, the page that shows a new key once, a
//! key's detail, revoking one key or all of them, and rolling a key.

use super::form::{FormErrors, FormFields, SubmittedForm};
use super::pages::{self, PageError, PageResult, Section, error_summary, notice, page, text_input};
use super::permission_form::{self, PermissionDraft};
use super::session::{MemberContext, SignedIn};
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tessera_core::permissions::{Access, Action};
use tessera_core::resources::RESOURCES;
use tessera_ops::OpError;
use tessera_ops::keys::{self, IpAllowlist, IssuedKey, Issuer, KeyRequest, RequestedAccess};
use tessera_store::api_keys::{self, ApiKey, Owner};
use tessera_store::audit;
use tessera_store::bots::{self, Bot};
use tessera_store::roles::{self, Role};
use tessera_store::{format_ms, now_ms, organizations};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/api", get(list))
        .route("/settings/api/new", get(new_key_form).post(create))
        .route("/settings/api/keys/{id}", get(show))
        .route(
            "/settings/api/keys/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
        .route("/settings/api/keys/{id}/roll", get(roll_form).post(roll))
        .route(
            "/settings/api/revoke-all",
            get(confirm_revoke_all).post(revoke_all),
        )
}

/// Most keys a list shows; an organisation with more is told so.
const LIST_LIMIT: i64 = 500;

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

impl Done {
    fn message(&self) -> Option<&'static str> {
        match self.done.as_deref()? {
            "revoked" => Some("The key was revoked. Requests with it are refused from now on."),
            "revoked-all" => Some("Every API key of the organisation was revoked."),
            _ => None,
        }
    }
}

/// The issuing person's role, which bounds what they may grant.
async fn own_role(state: &AppState, member: &MemberContext<'_>) -> Result<Role, PageError> {
    roles::find_by_id(state.db(), member.organization_id, member.role_id)
        .await?
        .ok_or_else(PageError::not_found)
}

fn date(ms: i64) -> String {
    format_ms(ms).get(..10).unwrap_or_default().to_owned()
}

fn date_time(ms: i64) -> String {
    let text = format_ms(ms);
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

fn key_access_summary(key: &ApiKey) -> String {
    match (&key.role_name, &key.permissions) {
        (Some(role), _) => format!("Role: {role}"),
        (None, None) => "Full access".to_owned(),
        (None, Some(set)) => permission_form::summary(&Access::Limited(set.clone())),
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

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(done): Query<Done>,
) -> PageResult {
    let member = signed_in.member()?;
    let only_own = (!member.is_administrator).then_some(member.account.id.as_str());
    let mut keys = api_keys::list(
        state.db(),
        member.organization_id,
        only_own,
        None,
        LIST_LIMIT + 1,
    )
    .await?;
    let truncated = keys.len() as i64 > LIST_LIMIT;
    keys.truncate(LIST_LIMIT as usize);
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let role = own_role(&state, &member).await?;
    let may_create = keys::may_create_keys(state.ops(), &role, member.organization_id).await?;
    let now = now_ms();
    let body = html! {
        div.page-head {
            h1 { "API keys" }
            @if may_create {
                a.button #generate-key href="/settings/api/new" { "Generate key" }
            }
        }
        (notice(done.message()))
        @if !may_create {
            p.hint #creation-policy { "Only administrators can create API keys in this organisation. Ask one if you need a key." }
        }
        @if !member.is_administrator {
            p.hint { "You see the keys you own." }
        }
        @if keys.is_empty() {
            p #no-keys { "There are no API keys yet." }
        } @else {
            div.table-wrap {
                table.stack #keys {
                    thead { tr {
                        th { "Name" } th { "Owner" } th { "Key" } th { "Permissions" }
                        th { "Created" } th { "Last used" } th { "Expires" } th { "Status" } th { "Actions" }
                    } }
                    tbody {
                        @for key in &keys {
                            @let status = key.status(now);
                            tr data-key-id=(key.id) {
                                td data-label="Name" { a href={ "/settings/api/keys/" (key.id) } { (key.name) } }
                                td data-label="Owner" { (key.owner_name) @if key.owner.kind() == "bot" { " (bot)" } }
                                td data-label="Key" { code { (key.hint) } }
                                td data-label="Permissions" { (key_access_summary(key)) }
                                td data-label="Created" { (date(key.created_at)) }
                                td data-label="Last used" { @match key.last_used_at { Some(t) => (date_time(t)), None => "Never" } }
                                td data-label="Expires" { @match key.expires_at { Some(t) => (date(t)), None => "Never" } }
                                td data-label="Status" { span class={ "status status-" (status) } { (status) } }
                                td.row-actions {
                                    a.button.secondary.small href={ "/settings/api/keys/" (key.id) } aria-label={ "Details of " (key.name) } { "Details" }
                                    " "
                                    @if status == "active" {
                                        a.button.secondary.small.revoke href={ "/settings/api/keys/" (key.id) "/revoke" } aria-label={ "Revoke " (key.name) } { "✕ Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if truncated {
                p.hint { "Showing the " (LIST_LIMIT) " oldest keys; the key-management API lists them all." }
            }
        }
        @if member.is_administrator {
            section.card.danger-zone {
                h2 { "Revoke all keys" }
                p { "Stops every API key of " (member.organization_name) " at once. Integrations stop working until they get new keys. This cannot be undone." }
                a.button.danger #revoke-all href="/settings/api/revoke-all" { "Revoke ALL keys" }
            }
        }
    };
    Ok(page("API keys", &signed_in, Section::ApiKeys, body).into_response())
}

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

fn issuer<'a>(signed_in: &SignedIn, member: &'a MemberContext<'_>, role: &'a Role) -> Issuer<'a> {
    Issuer {
        account_id: &member.account.id,
        username: &member.account.username,
        organization_id: member.organization_id,
        role,
        actor: signed_in.actor(),
    }
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
    let lifetime_limit = organizations::find_by_id(state.db(), member.organization_id)
        .await?
        .and_then(|o| o.max_key_lifetime_days);
    Ok(FormChoices {
        bots,
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

fn key_form_page(
    signed_in: &SignedIn,
    member: &MemberContext<'_>,
    choices: &FormChoices,
    form: &KeyForm,
    errors: &FormErrors,
) -> Markup {
    let body = html! {
        h1 { "Generate an API key" }
        (error_summary(errors))
        form.card method="post" action="/settings/api/new" novalidate {
            input type="hidden" name="csrf" value=(signed_in.csrf());
            (text_input("name", "Name", &form.name, errors, Some("What the key is for, so you recognise it later.")))

            @if member.is_administrator {
                div.field {
                    label for="owner" { "Owner" }
                    p.hint #owner-hint { "Keys for an integration are best owned by a bot user, so they keep working when people leave." }
                    @if let Some(error) = errors.get("owner") { p.field-error { (error) } }
                    select #owner name="owner" aria-describedby="owner-hint" {
                        option value="me" selected[form.owner == "me"] { "Me (" (member.account.username) ")" }
                        @for bot in &choices.bots {
                            option value=(bot.name) selected[form.owner == bot.name] { (bot.name) " (bot user, role " (bot.role_name) ")" }
                        }
                    }
                }
            }

            fieldset #access-choice {
                legend { "Permissions" }
                @if let Some(error) = errors.get("access-custom") { p.field-error { (error) } }
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
                div.field {
                    label for="role" { "Role" }
                    @if let Some(error) = errors.get("role") { p.field-error { (error) } }
                    select #role name="role" {
                        option value="" { "Choose a role…" }
                        @for role in &choices.roles {
                            option value=(role.name) selected[form.role == role.name] { (role.name) }
                        }
                    }
                }
                div #matrix-block {
                    h3 { "Resources and actions" }
                    @if let Some(error) = errors.get("permission-matrix") { p.field-error { (error) } }
                    (permission_form::matrix(&form.draft))
                }
            }

            div.field {
                label for="expires" { "Expires on (optional)" }
                p.hint #expires-hint {
                    "The key stops working at the end of this day (UTC). "
                    @match choices.lifetime_limit {
                        Some(days) => { "This organisation requires keys to expire within " (days) " days, by " (date(latest_expiry(days))) "." },
                        None => "Leave empty for a key that does not expire.",
                    }
                }
                @if let Some(error) = errors.get("expires") { p.field-error #expires-error { (error) } }
                input #expires type="date" name="expires" value=(form.expires) aria-describedby="expires-hint"
                    aria-invalid=[errors.get("expires").map(|_| "true")];
            }
            div.field {
                label for="ip_ranges" { "Allowed IP ranges (optional)" }
                p.hint #ip-hint { "One IPv4 or IPv6 address or CIDR range per line, e.g. 203.0.113.0/24. Leave empty to allow any address." }
                @if let Some(error) = errors.get("ip_ranges") { p.field-error { (error) } }
                textarea #ip_ranges name="ip_ranges" aria-describedby="ip-hint"
                    aria-invalid=[errors.get("ip_ranges").map(|_| "true")] { (form.ip_ranges) }
            }
            (text_input("client_id", "Bind to an API client (optional)", &form.client_id, errors,
                Some("The API client id (cli_…) of the integrating company. The key then works only together with that client's credential.")))
            details #advanced open[!form.custom_key.is_empty()] {
                summary { "Advanced" }
                (text_input("custom_key", "Use my own key (GUID)", &form.custom_key, errors,
                    Some("Only if a system you integrate with requires a key of its own in GUID form, e.g. 3F2504E0-4F89-11D3-9A0C-0305E82C3301. Otherwise Tessera generates a stronger key.")))
            }
            div.actions {
                button #create-key type="submit" { "Generate key" }
                a.button.secondary href="/settings/api" { "Cancel" }
            }
        }
    };
    page("Generate an API key", signed_in, Section::ApiKeys, body)
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

async fn new_key_form(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let member = signed_in.member()?;
    refuse_if_not_allowed(&state, &signed_in, &member).await?;
    let choices = form_choices(&state, &member).await?;
    Ok(key_form_page(
        &signed_in,
        &member,
        &choices,
        &KeyForm::blank(),
        &FormErrors::default(),
    )
    .into_response())
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.member()?;
    let role = refuse_if_not_allowed(&state, &signed_in, &member).await?;
    let (form, matrix_problems) = KeyForm::read(&fields);
    let rejected = |errors: FormErrors, choices: FormChoices| -> Response {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            key_form_page(&signed_in, &member, &choices, &form, &errors),
        )
            .into_response()
    };
    let choices = form_choices(&state, &member).await?;
    let mut request = match form.to_request(matrix_problems) {
        Ok(request) => request,
        Err(errors) => return Ok(rejected(errors, choices)),
    };
    request.expires_at = within_limit(request.expires_at, choices.lifetime_limit);
    let issuer = issuer(&signed_in, &member, &role);
    match keys::issue(state.ops(), &issuer, request).await {
        Ok(issued) => issued_page(&state, &signed_in, &headers, &issued, "Your new API key").await,
        Err(OpError::Refused(refusal)) => {
            let mut errors = FormErrors::default();
            errors.add(field_of(refusal.input), refusal.message);
            Ok(rejected(errors, choices))
        }
        Err(err) => Err(err.into()),
    }
}

/// The address examples should use: what the browser used to reach us.
fn base_url(state: &AppState, signed_in: &SignedIn, headers: &HeaderMap) -> String {
    let scheme = if state.config().secure_cookies || signed_in.client.forwarded_https {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost:8080");
    format!("{scheme}://{host}")
}

/// A curl command that works with the new key: a read of the first
/// resource the key may read.
fn curl_example(base: &str, key: &ApiKey, raw: &str, access: &Access) -> String {
    let readable = RESOURCES
        .iter()
        .find(|r| access.allows(r.name, Action::Read))
        .map_or("employees", |r| r.name);
    let fields = access
        .field_restriction(readable)
        .map(|f| {
            format!(
                "?fields={}",
                f.iter().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .unwrap_or_default();
    let client = if key.client_id.is_some() {
        " \\\n  -H 'X-API-Client: ck_…your client credential…'"
    } else {
        ""
    };
    format!("curl -H 'X-API-KEY: {raw}'{client} \\\n  '{base}/api/v1/{readable}{fields}'")
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

/// The one page that shows a raw key. It is not cached anywhere.
fn issued_page_markup(
    signed_in: &SignedIn,
    key: &ApiKey,
    raw: &str,
    heading: &str,
    curl: &str,
    access: &Access,
) -> Markup {
    let body = html! {
        section.card {
            h1 { (heading) }
            p.warning role="alert" { strong { "Copy this key now." } " It is shown only once: Tessera stores only a hash of it. If you lose it, revoke it and generate another." }
            h2 { (key.name) }
            pre.secret #new-key { (raw) }
            button.secondary #copy-key type="button" data-copy="new-key" hidden { "Copy key" }
            h2 { "Try it" }
            p { "This request reads with the new key (the key works at once):" }
            pre.secret #curl-example { (curl) }
            button.secondary #copy-curl type="button" data-copy="curl-example" hidden { "Copy command" }
            h2 { "What it can do" }
            (permission_form::detail(access))
            p.actions {
                a.button href={ "/settings/api/keys/" (key.id) } { "Key details" }
                a.button.secondary #back-to-keys href="/settings/api" { "Back to API keys" }
            }
        }
    };
    page(heading, signed_in, Section::ApiKeys, body)
}

async fn issued_page(
    state: &AppState,
    signed_in: &SignedIn,
    headers: &HeaderMap,
    issued: &IssuedKey,
    heading: &str,
) -> PageResult {
    let access = key_access(state, &issued.key).await?;
    let base = base_url(state, signed_in, headers);
    let curl = curl_example(&base, &issued.key, &issued.raw, &access);
    let mut response = (
        StatusCode::CREATED,
        issued_page_markup(signed_in, &issued.key, &issued.raw, heading, &curl, &access),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The key's owner's current role, which bounds what the key can do.
async fn owner_access(
    state: &AppState,
    key: &ApiKey,
) -> Result<Option<(String, Access)>, PageError> {
    let role_id = match &key.owner {
        Owner::Account(id) => match tessera_store::accounts::find_by_id(state.db(), id).await? {
            Some(tessera_store::accounts::Account {
                membership: tessera_store::accounts::Membership::Member { role_id, .. },
                ..
            }) => role_id,
            _ => return Ok(None),
        },
        Owner::Bot(id) => match bots::find_by_id(state.db(), &key.organization_id, id).await? {
            Some(bot) => bot.role_id,
            None => return Ok(None),
        },
    };
    Ok(
        roles::find_by_id(state.db(), &key.organization_id, &role_id)
            .await?
            .map(|role| (role.name, role.access)),
    )
}

async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed_in.member()?;
    let key = visible_key(&state, &member, &id).await?;
    let granted = key_access(&state, &key).await?;
    let bound = owner_access(&state, &key).await?;
    let effective = match &bound {
        Some((_, owner)) => granted.intersect(owner),
        None => Access::Limited(Default::default()),
    };
    let trail = audit::search(
        state.db(),
        &audit::AuditFilter {
            organization_id: Some(member.organization_id),
            target: Some(&key.id),
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    let status = key.status(now_ms());
    let body = html! {
        div.page-head {
            h1 { (key.name) }
            div.actions {
                @if status == "active" {
                    a.button.secondary #roll-key href={ "/settings/api/keys/" (key.id) "/roll" } { "Roll key" }
                    a.button.danger #revoke-key href={ "/settings/api/keys/" (key.id) "/revoke" } { "✕ Revoke" }
                }
            }
        }
        section.card {
            dl.facts #key-facts {
                dt { "Status" } dd { span class={ "status status-" (status) } #key-status { (status) } }
                dt { "Key" } dd { code { (key.hint) } }
                dt { "Id" } dd { code { (key.id) } }
                dt { "Owner" } dd { (key.owner_name) @if key.owner.kind() == "bot" { " (bot user)" } }
                dt { "Permissions" } dd { (key_access_summary(&key)) }
                dt { "Created" } dd { (date_time(key.created_at)) }
                dt { "Last used" } dd {
                    @match key.last_used_at {
                        Some(t) => { (date_time(t)) @if let Some(ip) = &key.last_used_ip { " from " code { (ip) } } },
                        None => "Never",
                    }
                }
                dt { "Expires" } dd { @match key.expires_at { Some(t) => (date_time(t)), None => "Never" } }
                @if let Some(t) = key.revoked_at {
                    dt { "Revoked" } dd { (date_time(t)) @if let Some(reason) = &key.revoked_reason { " (" (reason.replace('_', " ")) ")" } }
                }
                dt { "IP allow-list" } dd {
                    @match &key.ip_allowlist {
                        Some(list) => { @for (i, range) in list.iter().enumerate() { @if i > 0 { ", " } code { (range) } } },
                        None => "Any address",
                    }
                }
                dt { "API client" } dd { @match &key.client_id { Some(c) => code { (c) }, None => "Not bound; works without a client" } }
            }
        }
        section.card {
            h2 { "Fields it can access" }
            @match &bound {
                Some((role_name, _)) => p.hint { "What the key can reach now: its grant, limited by its owner's role (" (role_name) "). Changes to that role apply at once." },
                None => p.hint { "The key's owner no longer has a role, so the key reaches nothing." },
            }
            (permission_form::detail(&effective))
        }
        section.card {
            h2 { "Audit trail" }
            @if trail.is_empty() {
                p { "Nothing recorded for this key." }
            } @else {
                div.table-wrap {
                    table.stack #key-audit {
                        thead { tr { th { "When" } th { "Who" } th { "What" } th { "From" } } }
                        tbody {
                            @for entry in &trail {
                                tr {
                                    td data-label="When" { (date_time(entry.created_at)) }
                                    td data-label="Who" { (entry.actor_name) " (" (entry.actor_kind) ")" }
                                    td data-label="What" { code { (entry.action) } }
                                    td data-label="From" { (entry.ip.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/settings/api" { "← Back to API keys" } }
    };
    Ok(page(&key.name, &signed_in, Section::ApiKeys, body).into_response())
}

async fn confirm_revoke(
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
            form method="post" action={ "/settings/api/keys/" (key.id) "/revoke" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                div.actions {
                    button.danger #confirm-revoke type="submit" { "Revoke key" }
                    a.button.secondary href="/settings/api" { "Cancel" }
                }
            }
        }
    };
    Ok(page("Revoke key", &signed_in, Section::ApiKeys, body).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SubmittedForm { signed_in, .. }: SubmittedForm,
) -> PageResult {
    let member = signed_in.member()?;
    let key = visible_key(&state, &member, &id).await?;
    keys::revoke(state.ops(), (&key).into(), &signed_in.actor()).await?;
    Ok(Redirect::to("/settings/api?done=revoked").into_response())
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
            form method="post" action="/settings/api/revoke-all" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                label for="confirm" { "Type the organisation's slug, " code { (member.organization_slug) } ", to confirm" }
                input #confirm type="text" name="confirm" value=(typed) autocomplete="off"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "confirm-error")];
                div.actions {
                    button.danger #confirm-revoke-all type="submit" { "Revoke ALL keys" }
                    a.button.secondary href="/settings/api" { "Cancel" }
                }
            }
        }
    };
    page("Revoke all keys", signed_in, Section::ApiKeys, body)
}

async fn confirm_revoke_all(signed_in: SignedIn) -> PageResult {
    let member = signed_in.administrator()?;
    Ok(revoke_all_page(&signed_in, &member, "", None).into_response())
}

async fn revoke_all(
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
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            revoke_all_page(&signed_in, &member, typed, Some(&message)),
        )
            .into_response());
    }
    keys::revoke_all(state.ops(), member.organization_id, &signed_in.actor()).await?;
    Ok(Redirect::to("/settings/api?done=revoked-all").into_response())
}

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

async fn roll_form(
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
            form method="post" action={ "/settings/api/keys/" (key.id) "/roll" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
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
                    a.button.secondary href={ "/settings/api/keys/" (key.id) } { "Cancel" }
                }
            }
        }
    };
    Ok(page("Roll key", &signed_in, Section::ApiKeys, body).into_response())
}

async fn roll(
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
    issued_page(
        &state,
        &signed_in,
        &headers,
        &issued,
        "Your replacement API key",
    )
    .await
}
