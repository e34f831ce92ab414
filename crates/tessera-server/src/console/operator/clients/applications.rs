//! One application for an API client: reviewing it, approving it (which
//! creates the client) or rejecting it with a reason.

use super::list::credential_page;
use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::public::apply::{application_badge, volume_label};
use crate::console::session::SignedIn;
use crate::console::ui::{self, error_summary, flash, text_input, time::timestamp};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use tessera_core::names::DisplayName;
use tessera_ops::OpError;
use tessera_store::Db;
use tessera_store::client_applications::{self, Application, ApplicationStatus, Decided};

/// Longest rejection reason accepted, in characters.
const REASON_MAX_CHARS: usize = 2000;

pub async fn review(
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
    let body = html! {
        p { a href=(paths::CLIENTS) { "← API clients" } }
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
                dd { (timestamp(application.created_at)) }
                dt { "Status" }
                dd #application-status { (application_badge(application.status)) }
                @if let (Some(decided_at), Some(decided_by)) = (application.decided_at, &application.decided_by) {
                    dt { "Decided" }
                    dd { (timestamp(decided_at)) " by " (decided_by) }
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
                (ui::post_form(&paths::application_approve(&application.reference), signed_in, html! {
                    (text_input("client_name", "Client name", &draft.client_name, errors, Some("The company's name unless you choose another. Names are unique.")))
                    button type="submit" { "Approve and create the client" }
                }))
            }
            section.card.danger-zone #reject {
                h2 { "Reject" }
                (ui::post_form(&paths::application_reject(&application.reference), signed_in, html! {
                    (ui::text_area("reason", "Reason", &draft.reason, errors, Some("The applicant reads it on their status page. At most 2,000 characters.")))
                    button.danger type="submit" { "Reject the application" }
                }))
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

pub async fn approve(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    signed_in.operator()?;
    let application = find_application(state.db(), &reference).await?;
    let typed = fields.text("client_name");
    let rejected = |field_error: String| {
        let mut errors = FormErrors::default();
        errors.add("client_name", field_error);
        let draft = Decision {
            client_name: typed.to_owned(),
            reason: String::new(),
        };
        review_page(
            &signed_in,
            &application,
            StatusCode::UNPROCESSABLE_ENTITY,
            &draft,
            &errors,
        )
    };
    let Ok(name) = DisplayName::parse(typed.trim()) else {
        return Ok(rejected(
            "Enter the client's name: 1 to 100 characters, no control characters.".to_owned(),
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
            return Ok(rejected(format!(
                "An API client named “{name}” already exists. Choose another name for this one."
            )));
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
    Redirect::to(&paths::application(reference)).into_response()
}

pub async fn reject(
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
    Ok(flash::redirect(paths::CLIENTS, "rejected"))
}
