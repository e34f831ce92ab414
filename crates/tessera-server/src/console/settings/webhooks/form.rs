//! Creating and changing an endpoint: its URL, description, the events it
//! subscribes to (picked per resource, for keys and clients, or every
//! event), the record fields its payloads carry (the role form's field
//! picker) and whether it is enabled. The operations layer checks the URL
//! against the SSRF rules; its refusals are shown beside their field.

use super::{ShownSecret, disabled_reason, event_patterns, find_endpoint, manager, secret_page};
use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::permission_form::{field_choice, field_picker};
use crate::console::session::SignedIn;
use crate::console::ui::{self, error_summary, flash, text_input, unprocessable};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{Markup, html};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::resources::RESOURCES;
use tessera_core::webhooks::events::{ACCESS_EVENTS, RECORD_ACTIONS};
use tessera_ops::OpError;
use tessera_ops::webhooks::{self as ops_webhooks, EndpointRequest};
use tessera_store::StoreError;
use tessera_store::webhooks::Endpoint;

const EVERY_EVENT: &str = "*";
/// The families of key and client events, with their titles.
const ACCESS_FAMILIES: [(&str, &str); 2] = [("api_key", "API keys"), ("api_client", "API clients")];

/// What the form shows: the endpoint as stored, or as typed.
struct EndpointDraft {
    url: String,
    description: String,
    /// Event types and wildcards, in the order they are listed.
    events: Vec<String>,
    /// Per resource, the only fields payloads carry; absent = all fields.
    fields: BTreeMap<&'static str, BTreeSet<String>>,
    enabled: bool,
}

impl EndpointDraft {
    fn new() -> EndpointDraft {
        EndpointDraft {
            url: String::new(),
            description: String::new(),
            events: vec![EVERY_EVENT.to_owned()],
            fields: BTreeMap::new(),
            enabled: true,
        }
    }

    fn from_endpoint(endpoint: &Endpoint) -> Result<EndpointDraft, StoreError> {
        let limits = endpoint.field_limits()?;
        Ok(EndpointDraft {
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: event_patterns(endpoint),
            fields: RESOURCES
                .iter()
                .filter_map(|r| limits.for_resource(r.name).map(|f| (r.name, f.clone())))
                .collect(),
            enabled: endpoint.enabled,
        })
    }

    /// Reads the posted form; problems the operations layer would only
    /// word less helpfully are caught here.
    fn from_form(form: &FormFields) -> (EndpointDraft, FormErrors) {
        let mut errors = FormErrors::default();
        let draft = EndpointDraft {
            url: form.trimmed("url").to_owned(),
            description: form.trimmed("description").to_owned(),
            events: form.all("events").map(str::to_owned).collect(),
            fields: RESOURCES
                .iter()
                .filter_map(|r| field_choice(form, r).map(|f| (r.name, f)))
                .collect(),
            enabled: form.text("enabled") == "on",
        };
        if draft.url.is_empty() {
            errors.add(
                "url",
                "Enter the https:// address that should receive the events.",
            );
        }
        if draft.events.is_empty() {
            errors.add("events", "Choose at least one event, or “Every event”.");
        }
        let unpicked: Vec<&str> = RESOURCES
            .iter()
            .filter(|r| draft.fields.get(r.name).is_some_and(BTreeSet::is_empty))
            .map(|r| r.title)
            .collect();
        if !unpicked.is_empty() {
            errors.add(
                "fields",
                format!(
                    "Tick at least one field, or choose “All fields”, for: {}.",
                    unpicked.join(", ")
                ),
            );
        }
        (draft, errors)
    }

    /// The field limits as the API spells them; `None` for none.
    fn fields_json(&self) -> Option<Value> {
        (!self.fields.is_empty()).then(|| json!(self.fields))
    }

    fn to_request(&self) -> EndpointRequest {
        EndpointRequest {
            url: Some(self.url.clone()),
            description: Some(self.description.clone()),
            events: Some(self.events.clone()),
            // Always present, so clearing every limit removes them.
            fields: Some(self.fields_json()),
            enabled: Some(self.enabled),
        }
    }

    fn subscribes(&self, pattern: &str) -> bool {
        self.events.iter().any(|e| e == pattern)
    }
}

/// The `id` of the checkbox for `pattern`: `event-all`,
/// `event-employees-all`, `event-employees-created`.
fn event_input_id(pattern: &str) -> String {
    let readable = pattern.replace('*', "all").replace('.', "-");
    format!("event-{readable}")
}

/// Every pattern the picker offers, in its order.
fn offered_patterns() -> Vec<String> {
    let mut offered = vec![EVERY_EVENT.to_owned()];
    for resource in RESOURCES {
        offered.push(format!("{}.*", resource.name));
        offered.extend(RECORD_ACTIONS.map(|a| format!("{}.{a}", resource.name)));
    }
    for (family, _) in ACCESS_FAMILIES {
        offered.push(format!("{family}.*"));
    }
    offered.extend(ACCESS_EVENTS.iter().map(|e| (*e).to_owned()));
    offered
}

/// "created" → "Created", for column headings.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn event_checkbox(draft: &EndpointDraft, pattern: &str, label: &str) -> Markup {
    html! {
        input type="checkbox" id=(event_input_id(pattern)) name="events" value=(pattern)
            aria-label=(label) checked[draft.subscribes(pattern)];
    }
}

/// The event picker: every event, or per resource all its events or some
/// actions, and the key and client events.
fn event_picker(draft: &EndpointDraft, errors: &FormErrors) -> Markup {
    let offered = offered_patterns();
    html! {
        div #events tabindex="-1" {
            h2 { "Events" }
            @if let Some(error) = errors.get("events") {
                p.field-error #events-error { (error) }
            }
            p.hint { "Every endpoint also receives the test events you send it." }
            label.choice {
                input type="checkbox" id=(event_input_id(EVERY_EVENT)) name="events" value=(EVERY_EVENT)
                    checked[draft.subscribes(EVERY_EVENT)];
                strong { "Every event" } " (including kinds added later)"
            }
            div.table-wrap tabindex="0" {
                table.matrix #event-picker {
                    caption.hint { "Or tick the changes of each kind of record to send." }
                    thead { tr {
                        th scope="col" { "Resource" }
                        th scope="col" { "All events" }
                        @for action in RECORD_ACTIONS { th scope="col" { (capitalised(action)) } }
                    } }
                    tbody {
                        @for resource in RESOURCES {
                            tr {
                                th scope="row" { (resource.title) }
                                td { (event_checkbox(draft, &format!("{}.*", resource.name), &format!("{}: all events", resource.title))) }
                                @for action in RECORD_ACTIONS {
                                    td { (event_checkbox(draft, &format!("{}.{action}", resource.name), &format!("{}: {action}", resource.title))) }
                                }
                            }
                        }
                    }
                }
            }
            @for (family, title) in ACCESS_FAMILIES {
                fieldset {
                    legend { (title) }
                    div.choices {
                        @let all = format!("{family}.*");
                        label.choice { (event_checkbox(draft, &all, &format!("{title}: all events"))) "All events" }
                        @for event in ACCESS_EVENTS.iter().filter(|e| e.starts_with(&format!("{family}."))) {
                            label.choice { (event_checkbox(draft, event, event)) code { (event) } }
                        }
                    }
                }
            }
            // Patterns set over the API that the picker does not offer
            // (`webhook.*`) are kept as they are.
            @for kept in draft.events.iter().filter(|e| !offered.contains(e)) {
                input type="hidden" name="events" value=(kept);
            }
        }
    }
}

fn field_limits(draft: &EndpointDraft, errors: &FormErrors) -> Markup {
    html! {
        div #fields tabindex="-1" {
            h2 { "Fields in payloads" }
            @if let Some(error) = errors.get("fields") {
                p.field-error #fields-error { (error) }
            }
            p.hint { "A payload carries the whole record by default. Choose “Only these fields” to send less of one kind of record." }
            @for resource in RESOURCES {
                (field_picker(resource, draft.fields.get(resource.name)))
            }
        }
    }
}

fn form_page(
    signed_in: &SignedIn,
    editing: Option<&Endpoint>,
    draft: &EndpointDraft,
    errors: &FormErrors,
) -> Markup {
    let (title, action, submit, back, back_label) = match editing {
        None => (
            "New webhook endpoint",
            paths::WEBHOOKS.to_owned(),
            "Create endpoint",
            paths::WEBHOOKS.to_owned(),
            "← Webhooks",
        ),
        Some(endpoint) => (
            "Edit webhook endpoint",
            paths::webhook_edit(endpoint.id.as_str()),
            "Save endpoint",
            paths::webhook(endpoint.id.as_str()),
            "← Endpoint",
        ),
    };
    let body = html! {
        section.card {
            p { a href=(back) { (back_label) } }
            h1 { (title) }
            (error_summary(errors))
            (ui::checked_post_form("endpoint-form", &action, signed_in, html! {
                (text_input("url", "URL", &draft.url, errors, Some("The https:// address Tessera POSTs events to. Private and loopback addresses are refused.")))
                (text_input("description", "Description", &draft.description, errors, Some("Optional, e.g. “Payroll sync”.")))
                (event_picker(draft, errors))
                (field_limits(draft, errors))
                h2 { "Delivery" }
                label.choice {
                    input type="checkbox" #enabled name="enabled" value="on" checked[draft.enabled];
                    "Enabled: send events to this endpoint"
                }
                @if let Some(reason) = editing.filter(|e| e.enabled).and_then(disabled_reason) {
                    p.hint #disabled-hint { "Tessera disabled it: " (reason) ". Enable it again from its page." }
                }
                div.actions {
                    button #save-endpoint type="submit" { (submit) }
                    a.button.secondary href=(back) { "Cancel" }
                }
            }))
        }
    };
    page(title, signed_in, Section::Webhooks, body)
}

pub async fn new_form(signed_in: SignedIn) -> PageResult {
    signed_in.administrator()?;
    let page = form_page(
        &signed_in,
        None,
        &EndpointDraft::new(),
        &FormErrors::default(),
    );
    Ok(page.into_response())
}

pub async fn create(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let admin = signed_in.administrator()?;
    let (draft, mut errors) = EndpointDraft::from_form(&fields);
    if errors.is_empty() {
        let actor = signed_in.actor();
        let request = draft.to_request();
        match ops_webhooks::create(state.ops(), &manager(&admin, &actor), request).await {
            Ok(created) => {
                let shown = ShownSecret {
                    endpoint: &created.endpoint,
                    heading: "Your new webhook endpoint",
                    secret: &created.secret,
                    explanation: "Your receiver needs it to verify signatures. An administrator can reveal it again on the endpoint's page; each reveal is recorded in the audit log.",
                };
                return Ok(secret_page(&signed_in, &shown, StatusCode::CREATED));
            }
            Err(OpError::Refused(refusal)) => errors.add(refusal.input, refusal.message),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(unprocessable(form_page(&signed_in, None, &draft, &errors)))
}

pub async fn edit_form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let draft = EndpointDraft::from_endpoint(&endpoint)?;
    let page = form_page(&signed_in, Some(&endpoint), &draft, &FormErrors::default());
    Ok(page.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let (draft, mut errors) = EndpointDraft::from_form(&fields);
    if errors.is_empty() {
        let actor = signed_in.actor();
        let manager = manager(&admin, &actor);
        let mut request = draft.to_request();
        // Only a changed tick counts: saving an endpoint Tessera disabled
        // does not quietly enable it again (its page's banner does that).
        request.enabled = request.enabled.filter(|e| *e != endpoint.enabled);
        match ops_webhooks::update(state.ops(), &manager, &id, request).await {
            Ok(_) => return Ok(flash::redirect(&paths::webhook(&id), "saved")),
            Err(OpError::Refused(refusal)) => errors.add(refusal.input, refusal.message),
            // Deleted by someone else meanwhile.
            Err(OpError::NotFound) => return Err(PageError::not_found()),
            Err(err) => return Err(err.into()),
        }
    }
    let page = form_page(&signed_in, Some(&endpoint), &draft, &errors);
    Ok(unprocessable(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picker_reads_back_what_it_offers() {
        let form = FormFields::from_pairs(&[
            ("url", " https://hooks.example.com/tessera "),
            ("events", "employees.*"),
            ("events", "api_key.revoked"),
            ("scope.employees", "chosen"),
            ("field.employees", "first_name"),
        ]);
        let (draft, errors) = EndpointDraft::from_form(&form);
        assert!(errors.is_empty());
        assert_eq!(draft.url, "https://hooks.example.com/tessera");
        assert_eq!(draft.events, ["employees.*", "api_key.revoked"]);
        assert_eq!(
            draft.fields_json(),
            Some(json!({"employees": ["first_name"]}))
        );
        assert!(!draft.enabled);
        assert_eq!(event_input_id("employees.*"), "event-employees-all");
        assert_eq!(capitalised("created"), "Created");
    }

    #[test]
    fn an_empty_choice_is_explained() {
        let form = FormFields::from_pairs(&[("scope.employees", "chosen")]);
        let (_, errors) = EndpointDraft::from_form(&form);
        assert!(errors.get("url").is_some());
        assert!(errors.get("events").is_some());
        assert!(
            errors
                .get("fields")
                .is_some_and(|e| e.contains("Employees"))
        );
    }
}
