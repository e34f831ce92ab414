//! The public "Apply for an API client" form and the applicant's status
//! page. No sign-in: the form is protected by a double-submit
//! CSRF cookie of its own, accepted applications are limited per client
//! address, and the applicant's only handle is a random reference.

use crate::AppState;
use crate::console::anonymous_form::{self, AnonymousForm};
use crate::console::form::FormErrors;
use crate::console::pages::{self, PageResult, public_page};
use crate::console::paths;
use crate::console::ui::{self, error_summary, text_input, time::timestamp};
use crate::middleware::ClientAddr;
use axum::Router;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::clock::{Clock, DefaultClock};
use maud::{Markup, html};
use serde::Deserialize;
use tessera_core::audit::Actor;
use tessera_core::names::DisplayName;
use tessera_store::client_applications::{
    self, Application, ApplicationStatus, ExpectedVolume, NewApplication,
};

/// Longest purpose accepted, in characters.
pub const PURPOSE_MAX_CHARS: usize = 2000;

const FORM: AnonymousForm = anonymous_form::APPLY;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::APPLY, get(show_form).post(submit))
        .route(paths::APPLY_STATUS, get(status))
}

/// How each expected volume reads on the form and in the operator's list.
pub fn volume_label(volume: ExpectedVolume) -> &'static str {
    match volume {
        ExpectedVolume::Under10k => "Fewer than 10,000 requests a day",
        ExpectedVolume::From10kTo100k => "10,000 to 100,000 requests a day",
        ExpectedVolume::Over100k => "More than 100,000 requests a day",
    }
}

/// An application's state, as the applicant and the operator see it.
pub fn application_badge(status: ApplicationStatus) -> Markup {
    let label = match status {
        ApplicationStatus::Pending => "Pending",
        ApplicationStatus::Approved => "Approved",
        ApplicationStatus::Rejected => "Rejected",
    };
    ui::status_badge(status.as_str(), label)
}

/// What the applicant typed, kept as typed so a refused form shows it again.
#[derive(Deserialize, Default)]
pub struct ApplyForm {
    #[serde(default)]
    company: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    expected_volume: String,
    #[serde(default)]
    csrf: String,
}

/// The request a form page answers: its cookie goes with the form's token.
struct Visit<'a> {
    state: &'a AppState,
    client: ClientAddr,
    headers: &'a HeaderMap,
}

/// What the form page shows: what was typed, and what is wrong with it.
#[derive(Clone, Copy)]
struct ApplyPage<'a> {
    form: &'a ApplyForm,
    errors: &'a FormErrors,
    /// Why an otherwise valid application was not accepted.
    refusal: Option<&'a str>,
}

async fn show_form(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let visit = Visit {
        state: &state,
        client,
        headers: &headers,
    };
    let page = ApplyPage {
        form: &ApplyForm::default(),
        errors: &FormErrors::default(),
        refusal: None,
    };
    form_page(&visit, StatusCode::OK, &page)
}

async fn submit(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> PageResult {
    if !FORM.accepts(&headers, &form.csrf) {
        return Ok(pages::csrf_refused());
    }
    let visit = Visit {
        state: &state,
        client,
        headers: &headers,
    };
    let (company, volume) = match validate(&form) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = ApplyPage {
                form: &form,
                errors: &errors,
                refusal: None,
            };
            return Ok(form_page(&visit, StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    // Only applications that would be accepted count against the limit, so
    // correcting a typo never uses it up.
    if let Err(not_until) = state.applications().check_key(&client.ip) {
        let wait = not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        let minutes = wait.div_ceil(60);
        let message = format!(
            "Too many applications from your address. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let page = ApplyPage {
            form: &form,
            errors: &FormErrors::default(),
            refusal: Some(&message),
        };
        let mut response = form_page(&visit, StatusCode::TOO_MANY_REQUESTS, &page);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    let contact_email = form.contact_email.trim();
    let applicant = Actor::anonymous(contact_email, client.ip.to_string());
    let application = tessera_ops::clients::submit_application(
        state.ops(),
        &applicant,
        &NewApplication {
            company: &company,
            contact_email,
            purpose: form.purpose.trim(),
            expected_volume: volume,
        },
    )
    .await?;
    Ok(received_page(&application))
}

/// The company's name and expected volume, or what is wrong, field by field.
fn validate(form: &ApplyForm) -> Result<(DisplayName, ExpectedVolume), FormErrors> {
    let mut errors = FormErrors::default();
    let company = DisplayName::parse(form.company.trim());
    if company.is_err() {
        errors.add(
            "company",
            "Enter your company's name: 1 to 100 characters, no control characters.",
        );
    }
    if !plausible_email(form.contact_email.trim()) {
        errors.add(
            "contact_email",
            "Enter an e-mail address the operator can reach you at, like name@example.com.",
        );
    }
    let purpose = form.purpose.trim();
    if purpose.is_empty() {
        errors.add(
            "purpose",
            "Describe what your integration will do with Tessera's API.",
        );
    } else if purpose.chars().count() > PURPOSE_MAX_CHARS {
        errors.add(
            "purpose",
            format!(
                "Shorten the purpose to at most {PURPOSE_MAX_CHARS} characters (it has {}).",
                purpose.chars().count()
            ),
        );
    } else if purpose
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add("purpose", "Remove the control characters from the purpose.");
    }
    let volume = ExpectedVolume::parse(&form.expected_volume);
    if volume.is_none() {
        errors.add(
            "expected_volume",
            "Choose how many requests a day you expect to make.",
        );
    }
    match (company, volume) {
        (Ok(company), Some(volume)) if errors.is_empty() => Ok((company, volume)),
        _ => Err(errors),
    }
}

/// The shape of an e-mail address: one `@`, a local part, and a domain of
/// dot-separated labels of letters, digits and hyphens. Whether it is
/// reachable is the operator's business.
pub fn plausible_email(candidate: &str) -> bool {
    let Some((local, domain)) = candidate.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && local.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '@' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'
                )
        })
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    candidate.len() <= 254 && local_ok && domain_ok
}

fn form_page(visit: &Visit<'_>, status: StatusCode, page: &ApplyPage<'_>) -> Response {
    let ApplyPage {
        form,
        errors,
        refusal,
    } = *page;
    let token = FORM.token(visit.headers);
    let body = html! {
        section.card.narrow {
            h1 { "Apply for an API client" }
            p { "Companies that build one integration used by several Tessera organisations apply here. "
                "The operator of this deployment reviews each application; once it is approved, they hand you your client credential." }
            @if let Some(refusal) = refusal { p.error #refusal role="alert" { (refusal) } }
            (error_summary(errors))
            form method="post" action=(paths::APPLY) {
                input type="hidden" name="csrf" value=(token);
                (text_input("company", "Company name", &form.company, errors, None))
                (ui::field("contact_email", "Contact e-mail", Some(ui::text("Where the operator can reach you about this application.")), errors, |c| html! {
                    input #contact_email name="contact_email" type="email" value=(form.contact_email)
                        autocomplete="email" aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                (ui::text_area("purpose", "Purpose", &form.purpose, errors, Some("What will your integration do with the organisations' data? At most 2,000 characters.")))
                (ui::select("expected_volume", "Expected volume", None, errors, html! {
                    option value="" selected[ExpectedVolume::parse(&form.expected_volume).is_none()] { "Choose…" }
                    @for volume in ExpectedVolume::ALL {
                        option value=(volume.as_str()) selected[form.expected_volume == volume.as_str()] { (volume_label(volume)) }
                    }
                }))
                button type="submit" { "Submit application" }
            }
            p.aside { "Already applied? " a href=(paths::APPLY_STATUS) { "Check your application's status" } "." }
        }
    };
    let mut response = (status, public_page("Apply for an API client", body)).into_response();
    FORM.attach(&mut response, &token, visit.state, visit.client);
    response
}

fn received_page(application: &Application) -> Response {
    let status_url = paths::application_status(&application.reference);
    let body = html! {
        section.card.narrow {
            h1 { "Application received" }
            p { "Thank you. The operator of this deployment will review your application for "
                strong { (application.company) } "." }
            p.label { "Your reference" }
            p.reference { code #reference { (application.reference) } " "
                button.secondary.small type="button" data-copy="reference" hidden { "Copy" } }
            p.warning { "Keep this reference: it is the only way to follow your application, and it cannot be looked up again." }
            p { a #status-link href=(status_url) { "Check the status of your application" } }
        }
    };
    let mut response = public_page("Application received", body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct StatusQuery {
    #[serde(default)]
    reference: String,
}

async fn status(State(state): State<AppState>, Query(query): Query<StatusQuery>) -> PageResult {
    let reference = query.reference.trim();
    let found = if reference.is_empty() || reference.len() > 100 {
        None
    } else {
        client_applications::find(state.db(), reference).await?
    };
    let code = if !reference.is_empty() && found.is_none() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let body = html! {
        section.card.narrow {
            h1 { "Your application" }
            form method="get" action=(paths::APPLY_STATUS) {
                label for="reference" { "Reference" }
                p.hint #reference-hint { "The reference shown when you applied, starting with " code { "apl_" } "." }
                input #reference name="reference" type="text" value=(reference) autocomplete="off"
                    spellcheck="false" aria-describedby="reference-hint";
                button type="submit" { "Check status" }
            }
            @if !reference.is_empty() {
                @match &found {
                    None => p.error #not-found role="alert" {
                        "No application has this reference. Check that you copied all of it, including " code { "apl_" } "."
                    },
                    Some(application) => (application_status(application)),
                }
            }
            p.aside { "Not applied yet? " a href=(paths::APPLY) { "Apply for an API client" } "." }
        }
    };
    let mut response = (code, public_page("Application status", body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn application_status(application: &Application) -> Markup {
    html! {
        h2 { "Status" }
        dl.facts {
            dt { "Company" }
            dd #company { (application.company) }
            dt { "Submitted" }
            dd { (timestamp(application.created_at)) }
            dt { "Status" }
            dd #application-status { (application_badge(application.status)) }
            @if let Some(decided_at) = application.decided_at {
                dt { "Decided" }
                dd { (timestamp(decided_at)) }
            }
            @if let Some(client_id) = &application.client_id {
                dt { "Client id" }
                dd { code #client-id { (client_id) } }
            }
        }
        @match application.status {
            ApplicationStatus::Pending => p #status-message { "The operator has not decided yet. Come back to this page later." },
            ApplicationStatus::Approved => p #status-message {
                "Your application is approved and your API client exists. The operator will hand you its credential ("
                code { "ck_…" } ") over a safe channel: Tessera shows it only once, to them. "
                "Send it in the " code { "X-API-Client" } " header together with an organisation's API key."
            },
            ApplicationStatus::Rejected => {
                p #status-message { "Your application was rejected. The operator's reason:" }
                blockquote.prewrap #rejection-reason { (application.rejection_reason.as_deref().unwrap_or("")) }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plausible_email;

    #[test]
    fn e_mail_addresses_need_a_local_part_and_a_dotted_domain() {
        for good in [
            "ada@example.com",
            "ops+tessera@payroll.example.co.uk",
            "first.last@xn--bcher-kva.example",
        ] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "ada@exa mple.com",
            "ada@-example.com",
            "ada@example..com",
            ".ada@example.com",
            "<ada@example.com>",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
