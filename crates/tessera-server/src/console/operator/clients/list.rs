//! Every API client with its use; creating, disabling and enabling one.

use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::public::apply::{application_badge, volume_label};
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, cell, error_summary, notice, text_input, time::timestamp};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tessera_core::names::DisplayName;
use tessera_ops::OpError;
use tessera_store::api_clients::{self, ClientOverview, NewClient};
use tessera_store::client_applications::{self, Application, ApplicationStatus};

/// Decided applications listed below the pending ones.
const RECENTLY_DECIDED: i64 = 50;

pub const DONE: Messages = &[
    (
        "disabled",
        "The API client is disabled: its requests now get 401 invalid_api_client everywhere.",
    ),
    ("enabled", "The API client is enabled again."),
    (
        "rejected",
        "The application is rejected; the applicant sees your reason on their status page.",
    ),
];

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    signed_in.operator()?;
    let page = ListPage {
        status: StatusCode::OK,
        message: flash.message(DONE),
        typed_name: "",
        errors: &FormErrors::default(),
    };
    list_page(&state, &signed_in, &page).await
}

/// What the list shows besides the clients: a confirmation, or the
/// creation form's name and problems.
struct ListPage<'a> {
    status: StatusCode,
    message: Option<&'a str>,
    typed_name: &'a str,
    errors: &'a FormErrors,
}

async fn list_page(state: &AppState, signed_in: &SignedIn, view: &ListPage<'_>) -> PageResult {
    let queue = client_applications::queue(state.db(), RECENTLY_DECIDED).await?;
    let clients = api_clients::list(state.db()).await?;
    let errors = view.errors;
    let body = html! {
        div.page-head { h1 { "API clients" } }
        (notice(view.message))
        section.card #applications {
            h2 { "Applications (" (queue.pending.len()) " pending)" }
            @if queue.pending.is_empty() {
                p #no-pending { "No application is waiting for a decision." }
            } @else {
                (applications_table("pending-applications", &queue.pending))
            }
            @if !queue.decided.is_empty() {
                details {
                    summary { "Recently decided (" (queue.decided.len()) ")" }
                    (applications_table("decided-applications", &queue.decided))
                }
            }
        }
        section.card #clients {
            h2 { "Clients" }
            @if clients.is_empty() {
                p { "No API client exists yet." }
            } @else {
                (clients_table(signed_in, &clients))
            }
        }
        section.card #create-client {
            h2 { "Create a client" }
            p.hint { "For a company you already know. Its credential is shown once, on the next page." }
            (error_summary(errors))
            (ui::post_form(paths::CLIENTS, signed_in, html! {
                (text_input("name", "Client name", view.typed_name, errors, Some("Usually the integrating company's name. Names are unique.")))
                button type="submit" { "Create client" }
            }))
        }
    };
    Ok((
        view.status,
        page("API clients", signed_in, Section::ApiClients, body),
    )
        .into_response())
}

const APPLICATION_COLUMNS: [ui::Column; 6] = [
    "Company",
    "Contact",
    "Expected volume",
    "Submitted",
    "Status",
    "Action",
];

fn applications_table(id: &str, applications: &[Application]) -> Markup {
    ui::table(id, &APPLICATION_COLUMNS, applications, |application| {
        html! {
            tr data-reference=(application.reference) {
                (cell("Company", html! { (application.company) }))
                (cell("Contact", html! { (application.contact_email) }))
                (cell("Expected volume", html! { (volume_label(application.expected_volume)) }))
                (cell("Submitted", timestamp(application.created_at)))
                (cell("Status", application_badge(application.status)))
                td {
                    a.button.small.secondary href=(paths::application(&application.reference)) {
                        @if application.status == ApplicationStatus::Pending { "Review" } @else { "Details" }
                    }
                }
            }
        }
    })
}

const CLIENT_COLUMNS: [ui::Column; 7] = [
    "Name",
    "Client id",
    "Credential",
    "Status",
    "Created",
    "Organisations",
    "Action",
];

fn clients_table(signed_in: &SignedIn, clients: &[ClientOverview]) -> Markup {
    ui::table("client-list", &CLIENT_COLUMNS, clients, |client| {
        html! {
            tr data-client=(client.id) {
                (cell("Name", html! { (client.name) }))
                (cell("Client id", html! { code { (client.id) } }))
                (cell("Credential", html! { code { (client.credential_hint) } }))
                (cell("Status", ui::active_badge(client.active, "Disabled")))
                (cell("Created", timestamp(client.created_at)))
                (cell("Organisations", html! { (client.organizations) }))
                td {
                    @if client.active {
                        (ui::inline_post_form(&paths::client_disable(&client.id), signed_in, html! {
                            button.small.danger type="submit" aria-label={ "Disable " (client.name) } { "Disable" }
                        }))
                    } @else {
                        (ui::inline_post_form(&paths::client_enable(&client.id), signed_in, html! {
                            button.small.secondary type="submit" aria-label={ "Enable " (client.name) } { "Enable" }
                        }))
                    }
                }
            }
        }
    })
}

pub async fn create(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    signed_in.operator()?;
    let typed = fields.text("name");
    let mut errors = FormErrors::default();
    let created = match DisplayName::parse(typed.trim()) {
        Err(_) => {
            errors.add(
                "name",
                "Enter the client's name: 1 to 100 characters, no control characters.",
            );
            None
        }
        Ok(name) => {
            match tessera_ops::clients::create(state.ops(), &signed_in.actor(), &name).await {
                Err(OpError::Refused(_)) => {
                    errors.add(
                        "name",
                        format!(
                            "An API client named “{name}” already exists. Choose another name."
                        ),
                    );
                    None
                }
                other => Some(other?),
            }
        }
    };
    let Some(new) = created else {
        let page = ListPage {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: None,
            typed_name: typed,
            errors: &errors,
        };
        return list_page(&state, &signed_in, &page).await;
    };
    Ok(credential_page(&signed_in, &new, None))
}

/// The one page that shows a new client's credential; never cached, and
/// nothing shows it again.
pub fn credential_page(
    signed_in: &SignedIn,
    new: &NewClient,
    application: Option<&Application>,
) -> Response {
    let body = html! {
        section.card {
            h1 { "API client created" }
            @if let Some(application) = application {
                p.notice #notice role="status" { "The application of " strong { (application.company) } " is approved." }
            }
            p.warning { strong { "Copy the credential now." } " Tessera keeps only its hash and cannot show it again; if it is lost, rotate it with " code { "tessera admin rotate-client" } "." }
            dl.facts {
                dt { "Name" }
                dd #client-name { (new.client.name) }
                dt { "Client id" }
                dd { code #client-id { (new.client.id) } }
                dt { "Credential" }
                dd {
                    pre.secret #credential { (new.credential.raw) }
                    button.secondary.small type="button" data-copy="credential" hidden { "Copy credential" }
                }
            }
            @if let Some(application) = application {
                p { "Hand the client id and the credential to "
                    a href={ "mailto:" (application.contact_email) } { (application.contact_email) }
                    " over a safe channel, for example the credential through a password manager's sharing rather than in plain e-mail. "
                    "Their status page (reference " code { (application.reference) } ") already shows that they are approved and their client id." }
            } @else {
                p { "Hand the client id and the credential to the integrating company over a safe channel." }
            }
            p { "The integration sends the credential in the " code { "X-API-Client" } " header together with an organisation's API key in " code { "X-API-KEY" } "." }
            p { a href=(paths::CLIENTS) { "Back to API clients" } }
        }
    };
    let mut response =
        page("API client created", signed_in, Section::ApiClients, body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SubmittedForm,
) -> PageResult {
    set_active(&state, &id, form, false).await
}

pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SubmittedForm,
) -> PageResult {
    set_active(&state, &id, form, true).await
}

/// Disables or enables a client everywhere, audited like
/// `tessera admin disable-client` / `enable-client`. Credentials are looked
/// up on every request, so the change holds from the next request on every
/// instance.
async fn set_active(state: &AppState, id: &str, form: SubmittedForm, active: bool) -> PageResult {
    let signed_in = form.signed_in;
    signed_in.operator()?;
    let client = api_clients::find_by_id(state.db(), id)
        .await?
        .ok_or_else(PageError::not_found)?;
    if client.active != active {
        tessera_ops::clients::set_active(state.ops(), &signed_in.actor(), &client.id, active)
            .await?;
    }
    let done = if active { "enabled" } else { "disabled" };
    Ok(flash::redirect(paths::CLIENTS, done))
}
