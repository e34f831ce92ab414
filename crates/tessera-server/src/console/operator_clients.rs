//! The operator's API clients pages: every client with its
//! use, disabling and enabling, creating a client, and the queue of
//! applications to approve or reject. A new client's credential is shown
//! once, on the page that answers the form that created it.

use super::apply::{field, volume_label};
use super::form::{FormErrors, SubmittedForm};
use super::pages::{self, PageError, PageResult, Section, error_summary, notice, page, text_input};
use super::session::SignedIn;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tessera_core::names::DisplayName;
use tessera_ops::OpError;
use tessera_store::Db;
use tessera_store::api_clients::{self, ClientOverview, NewClient};
use tessera_store::client_applications::{self, Application, ApplicationStatus, Decided};

/// Longest rejection reason accepted, in characters.
const REASON_MAX_CHARS: usize = 2000;
/// Decided applications listed below the pending ones.
const RECENTLY_DECIDED: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator/clients", get(list).post(create))
        .route("/operator/clients/{id}/disable", post(disable))
        .route("/operator/clients/{id}/enable", post(enable))
        .route("/operator/clients/applications/{reference}", get(review))
        .route(
            "/operator/clients/applications/{reference}/approve",
            post(approve),
        )
        .route(
            "/operator/clients/applications/{reference}/reject",
            post(reject),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    done: Option<String>,
}

/// The confirmation for an action that redirected back to the list; only
/// known codes are shown, never text from the address bar.
fn done_message(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "disabled" => Some(
            "The API client is disabled: its requests now get 401 invalid_api_client everywhere.",
        ),
        "enabled" => Some("The API client is enabled again."),
        "rejected" => Some(
            "The application is rejected; the applicant sees your reason on their status page.",
        ),
        _ => None,
    }
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> PageResult {
    signed_in.operator()?;
    let message = done_message(query.done.as_deref());
    list_page(
        &state,
        &signed_in,
        StatusCode::OK,
        message,
        "",
        &FormErrors::default(),
    )
    .await
}

async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    message: Option<&str>,
    typed_name: &str,
    errors: &FormErrors,
) -> PageResult {
    let queue = client_applications::queue(state.db(), RECENTLY_DECIDED).await?;
    let clients = api_clients::list(state.db()).await?;
    let body = html! {
        div.page-head { h1 { "API clients" } }
        (notice(message))
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
            form method="post" action="/operator/clients" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (text_input("name", "Client name", typed_name, errors, Some("Usually the integrating company's name. Names are unique.")))
                button type="submit" { "Create client" }
            }
        }
    };
    Ok((
        status,
        page("API clients", signed_in, Section::ApiClients, body),
    )
        .into_response())
}

fn applications_table(id: &str, applications: &[Application]) -> Markup {
    html! {
        div.table-wrap {
            table.stack id=(id) {
                thead { tr {
                    th { "Company" } th { "Contact" } th { "Expected volume" } th { "Submitted" } th { "Status" } th { span.hint { "Action" } }
                } }
                tbody {
                    @for application in applications {
                        tr data-reference=(application.reference) {
                            td data-label="Company" { (application.company) }
                            td data-label="Contact" { (application.contact_email) }
                            td data-label="Expected volume" { (volume_label(application.expected_volume)) }
                            td data-label="Submitted" { (pages::timestamp(application.created_at)) }
                            td data-label="Status" { (status_badge(application.status)) }
                            td {
                                a.button.small.secondary href={ "/operator/clients/applications/" (application.reference) } {
                                    @if application.status == ApplicationStatus::Pending { "Review" } @else { "Details" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn status_badge(status: ApplicationStatus) -> Markup {
    html! {
        span class={ "status status-" (status.as_str()) } {
            @match status {
                ApplicationStatus::Pending => "Pending",
                ApplicationStatus::Approved => "Approved",
                ApplicationStatus::Rejected => "Rejected",
            }
        }
    }
}

fn clients_table(signed_in: &SignedIn, clients: &[ClientOverview]) -> Markup {
    html! {
        div.table-wrap {
            table.stack #client-list {
                thead { tr {
                    th { "Name" } th { "Client id" } th { "Credential" } th { "Status" } th { "Created" } th { "Organisations" } th { span.hint { "Action" } }
                } }
                tbody {
                    @for client in clients {
                        tr data-client=(client.id) {
                            td data-label="Name" { (client.name) }
                            td data-label="Client id" { code { (client.id) } }
                            td data-label="Credential" { code { (client.credential_hint) } }
                            td data-label="Status" {
                                @if client.active { span.status.status-active { "Active" } }
                                @else { span.status.status-disabled { "Disabled" } }
                            }
                            td data-label="Created" { (pages::timestamp(client.created_at)) }
                            td data-label="Organisations" { (client.organizations) }
                            td {
                                @let (action, label) = if client.active { ("disable", "Disable") } else { ("enable", "Enable") };
                                form.inline method="post" action={ "/operator/clients/" (client.id) "/" (action) } {
                                    input type="hidden" name="csrf" value=(signed_in.csrf());
                                    @if client.active {
                                        button.small.danger type="submit" aria-label={ "Disable " (client.name) } { (label) }
                                    } @else {
                                        button.small.secondary type="submit" aria-label={ "Enable " (client.name) } { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn create(State(state): State<AppState>, form: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = form;
    signed_in.operator()?;
    let typed = fields.text("name");
    let mut errors = FormErrors::default();
    let Ok(name) = DisplayName::parse(typed.trim()) else {
        errors.add(
            "name",
            "Enter the client's name: 1 to 100 characters, no control characters.",
        );
        return list_page(
            &state,
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            typed,
            &errors,
        )
        .await;
    };
    let new = match tessera_ops::clients::create(state.ops(), &signed_in.actor(), &name).await {
        Err(OpError::Refused(_)) => {
            errors.add(
                "name",
                format!("An API client named “{name}” already exists. Choose another name."),
            );
            return list_page(
                &state,
                &signed_in,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                typed,
                &errors,
            )
            .await;
        }
        other => other?,
    };
    Ok(credential_page(&signed_in, &new, None))
}

/// The one page that shows a new client's credential; never cached, and
/// nothing shows it again.
fn credential_page(
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
            p { a href="/operator/clients" { "Back to API clients" } }
        }
    };
    let mut response =
        page("API client created", signed_in, Section::ApiClients, body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn disable(state: State<AppState>, path: Path<String>, form: SubmittedForm) -> PageResult {
    set_active(state, path, form, false).await
}

async fn enable(state: State<AppState>, path: Path<String>, form: SubmittedForm) -> PageResult {
    set_active(state, path, form, true).await
}

/// Disables or enables a client everywhere, audited like
/// `tessera admin disable-client` / `enable-client`. Credentials are looked
/// up on every request, so the change holds from the next request on every
/// instance.
async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: SubmittedForm,
    active: bool,
) -> PageResult {
    let signed_in = form.signed_in;
    signed_in.operator()?;
    let client = api_clients::find_by_id(state.db(), &id)
        .await?
        .ok_or_else(PageError::not_found)?;
    if client.active != active {
        tessera_ops::clients::set_active(state.ops(), &signed_in.actor(), &client.id, active)
            .await?;
    }
    let done = if active { "enabled" } else { "disabled" };
    Ok(Redirect::to(&format!("/operator/clients?done={done}")).into_response())
}

async fn review(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> PageResult {
    signed_in.operator()?;
    let application = find_application(state.db(), &reference).await?;
    let draft = Decision {
        client_name: application.company.clone(),
        reason: String::new(),
    };
    Ok(review_page(
        &signed_in,
        &application,
        StatusCode::OK,
        &draft,
        &FormErrors::default(),
    ))
}

async fn find_application(db: &Db, reference: &str) -> Result<Application, PageError> {
    client_applications::find(db, reference)
        .await?
        .ok_or_else(PageError::not_found)
}

/// What the operator typed into the review page's two forms.
struct Decision {
    client_name: String,
    reason: String,
}

fn review_page(
    signed_in: &SignedIn,
    application: &Application,
    status: StatusCode,
    draft: &Decision,
    errors: &FormErrors,
) -> Response {
    let base = format!("/operator/clients/applications/{}", application.reference);
    let body = html! {
        p { a href="/operator/clients" { "← API clients" } }
        section.card {
            h1 { "Application from " (application.company) }
            dl.facts {
                dt { "Reference" }
                dd { code #reference { (application.reference) } }
                dt { "Company" }
                dd { (application.company) }
                dt { "Contact e-mail" }
                dd { a href={ "mailto:" (application.contact_email) } { (application.contact_email) } }
                dt { "Expected volume" }
                dd { (volume_label(application.expected_volume)) }
                dt { "Submitted" }
                dd { (pages::timestamp(application.created_at)) }
                dt { "Status" }
                dd #application-status { (status_badge(application.status)) }
                @if let (Some(decided_at), Some(decided_by)) = (application.decided_at, &application.decided_by) {
                    dt { "Decided" }
                    dd { (pages::timestamp(decided_at)) " by " (decided_by) }
                }
                @if let Some(client_id) = &application.client_id {
                    dt { "Client id" }
                    dd { code #client-id { (client_id) } }
                }
                @if let Some(reason) = &application.rejection_reason {
                    dt { "Reason" }
                    dd.prewrap #rejection-reason { (reason) }
                }
            }
            h2 { "Purpose" }
            p.prewrap #purpose { (application.purpose) }
        }
        @if application.status == ApplicationStatus::Pending {
            (error_summary(errors))
            section.card #approve {
                h2 { "Approve" }
                p { "Approving creates the API client and shows its credential once, on the next page, for you to hand over." }
                form method="post" action={ (base) "/approve" } {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    (text_input("client_name", "Client name", &draft.client_name, errors, Some("The company's name unless you choose another. Names are unique.")))
                    button type="submit" { "Approve and create the client" }
                }
            }
            section.card.danger-zone #reject {
                h2 { "Reject" }
                form method="post" action={ (base) "/reject" } {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    (field("reason", "Reason", Some("The applicant reads it on their status page. At most 2,000 characters."), errors, |described_by, invalid| html! {
                        textarea #reason name="reason" rows="3" aria-invalid=[invalid] aria-describedby=[described_by] { (draft.reason) }
                    }))
                    button.danger type="submit" { "Reject the application" }
                }
            }
        }
    };
    (
        status,
        page(
            &format!("Application from {}", application.company),
            signed_in,
            Section::ApiClients,
            body,
        ),
    )
        .into_response()
}

async fn approve(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    form: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = form;
    signed_in.operator()?;
    let application = find_application(state.db(), &reference).await?;
    let typed = fields.text("client_name");
    let draft = Decision {
        client_name: typed.to_owned(),
        reason: String::new(),
    };
    let mut errors = FormErrors::default();
    let Ok(name) = DisplayName::parse(typed.trim()) else {
        errors.add(
            "client_name",
            "Enter the client's name: 1 to 100 characters, no control characters.",
        );
        return Ok(review_page(
            &signed_in,
            &application,
            StatusCode::UNPROCESSABLE_ENTITY,
            &draft,
            &errors,
        ));
    };
    let approved = tessera_ops::clients::approve_application(
        state.ops(),
        &signed_in.actor(),
        &application,
        &name,
    )
    .await;
    let new = match approved {
        Err(OpError::Refused(_)) => {
            errors.add(
                "client_name",
                format!(
                    "An API client named “{name}” already exists. Choose another name for this one."
                ),
            );
            return Ok(review_page(
                &signed_in,
                &application,
                StatusCode::UNPROCESSABLE_ENTITY,
                &draft,
                &errors,
            ));
        }
        Ok(Decided::Done(new)) => new,
        Ok(Decided::NotFound) => return Err(PageError::not_found()),
        Ok(Decided::AlreadyDecided(_)) => return Ok(already_decided(&reference)),
        Err(other) => return Err(other.into()),
    };
    Ok(credential_page(&signed_in, &new, Some(&application)))
}

/// Someone decided first (a second click, another operator): the review
/// page shows what was decided, without any credential.
fn already_decided(reference: &str) -> Response {
    Redirect::to(&format!("/operator/clients/applications/{reference}")).into_response()
}

async fn reject(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    form: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = form;
    signed_in.operator()?;
    let application = find_application(state.db(), &reference).await?;
    let reason = fields.trimmed("reason");
    let mut errors = FormErrors::default();
    if reason.is_empty() {
        errors.add("reason", "Give the applicant a reason for the rejection.");
    } else if reason.chars().count() > REASON_MAX_CHARS {
        errors.add(
            "reason",
            format!("Shorten the reason to at most {REASON_MAX_CHARS} characters."),
        );
    } else if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add("reason", "Remove the control characters from the reason.");
    }
    if !errors.is_empty() {
        let draft = Decision {
            client_name: application.company.clone(),
            reason: fields.text("reason").to_owned(),
        };
        return Ok(review_page(
            &signed_in,
            &application,
            StatusCode::UNPROCESSABLE_ENTITY,
            &draft,
            &errors,
        ));
    }
    let rejected = tessera_ops::clients::reject_application(
        state.ops(),
        &signed_in.actor(),
        &application,
        reason,
    )
    .await?;
    match rejected {
        Decided::Done(()) => {}
        Decided::NotFound => return Err(PageError::not_found()),
        Decided::AlreadyDecided(_) => return Ok(already_decided(&reference)),
    }
    Ok(Redirect::to("/operator/clients?done=rejected").into_response())
}
