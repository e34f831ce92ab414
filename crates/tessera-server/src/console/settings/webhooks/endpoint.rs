//! One endpoint's page: its details, a banner when it is disabled, the
//! actions (test, reveal, rotate, recover, enable, delete) and its message
//! log, newest first, filtered by status and event type, in cursor pages.

use super::{
    ShownSecret, disabled_reason, events_summary, find_endpoint, manager, secret_page, status_badge,
};
use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::time::timestamp;
use crate::console::ui::{self, cell, notice, unprocessable};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{Markup, html};
use serde::Deserialize;
use tessera_core::webhooks::events::event_types;
use tessera_ops::OpError;
use tessera_ops::webhooks::{self as ops_webhooks, EndpointRequest, MAX_OVERLAP_HOURS};
use tessera_store::webhooks::Endpoint;
use tessera_store::webhooks::delivery::{self, Message, MessageFilter};
use time::PrimitiveDateTime;
use time::macros::format_description;

const DONE: Messages = &[
    ("saved", "Endpoint saved."),
    (
        "enabled",
        "Endpoint enabled: it receives the next events, starting afresh.",
    ),
    (
        "test-sent",
        "Test event queued: it is sent at once and appears in the message log below.",
    ),
    (
        "recovered",
        "Every message that failed since then is queued again.",
    ),
];

const MESSAGE_STATUSES: [&str; 3] = ["pending", "delivered", "failed"];
const MESSAGES_PER_PAGE: usize = 25;
const DEFAULT_OVERLAP_HOURS: u32 = 24;

/// The message log's filters and cursor, from the query string.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    event_type: Option<String>,
    before: Option<String>,
}

impl LogQuery {
    /// The filter, ignoring values the log does not know (as a stale link
    /// might carry) rather than showing nothing.
    fn filter(&self) -> MessageFilter<'_> {
        let known_type = |t: &&str| event_types().iter().any(|known| known == t);
        MessageFilter {
            status: self
                .status
                .as_deref()
                .filter(|s| MESSAGE_STATUSES.contains(s)),
            event_type: self.event_type.as_deref().filter(known_type),
            before: self.before.as_deref().filter(|b| b.starts_with("msg_")),
        }
    }
}

/// What the endpoint page shows besides the endpoint.
struct EndpointView<'a> {
    endpoint: &'a Endpoint,
    messages: &'a [Message],
    filter: MessageFilter<'a>,
    /// The cursor of the next (older) page, if there is one.
    older: Option<&'a str>,
    done: Option<&'static str>,
    errors: &'a FormErrors,
}

async fn render(
    state: &AppState,
    signed_in: &SignedIn,
    endpoint: &Endpoint,
    query: &LogQuery,
    done: Option<&'static str>,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let filter = query.filter();
    let fetch = i64::try_from(MESSAGES_PER_PAGE + 1).unwrap_or(i64::MAX);
    let mut messages = delivery::list_messages(
        state.db(),
        &endpoint.organization_id,
        endpoint.id.as_str(),
        &filter,
        fetch,
    )
    .await?;
    let more = messages.len() > MESSAGES_PER_PAGE;
    messages.truncate(MESSAGES_PER_PAGE);
    let view = EndpointView {
        endpoint,
        messages: &messages,
        filter,
        older: messages.last().filter(|_| more).map(|m| m.id.as_str()),
        done,
        errors,
    };
    Ok(endpoint_page(signed_in, &view))
}

fn endpoint_page(signed_in: &SignedIn, view: &EndpointView<'_>) -> Markup {
    let endpoint = view.endpoint;
    let id = endpoint.id.as_str();
    let body = html! {
        section.card {
            p { a href=(paths::WEBHOOKS) { "← Webhooks" } }
            h1 { "Webhook endpoint" }
            (notice(view.done))
            @if let Some(reason) = disabled_reason(endpoint) {
                div.warning #disabled-banner role="alert" {
                    p { strong { "This endpoint is disabled: " (reason) "." } " Nothing is sent to it until it is enabled again; events meanwhile are not queued for it." }
                    (ui::post_form(&paths::webhook_enable(id), signed_in, html! {
                        button #enable-endpoint type="submit" { "Enable again" }
                    }))
                }
            }
            (details(endpoint))
            div.actions {
                a.button #edit-endpoint href=(paths::webhook_edit(id)) { "Edit" }
                (ui::inline_post_form(&paths::webhook_test(id), signed_in, html! {
                    button.secondary #send-test type="submit" { "Send test event" }
                }))
                (ui::inline_post_form(&paths::webhook_reveal(id), signed_in, html! {
                    button.secondary #reveal-secret type="submit" aria-describedby="reveal-hint" { "Reveal secret" }
                }))
            }
            p.hint #reveal-hint { "Revealing the signing secret is recorded in the audit log." }
        }
        (secret_and_recovery(signed_in, id, view.errors))
        (message_log(view))
        section.card.danger-zone {
            h2 { "Delete this endpoint" }
            p { "Deleting stops every delivery to it and removes its message log." }
            a.button.danger #delete-endpoint href=(paths::webhook_delete(id)) { "Delete endpoint…" }
        }
    };
    page("Webhook endpoint", signed_in, Section::Webhooks, body)
}

fn details(endpoint: &Endpoint) -> Markup {
    html! {
        dl.facts #endpoint-details {
            dt { "URL" }
            dd #endpoint-url { code { (endpoint.url) } }
            dt { "Description" }
            dd { @if endpoint.description.is_empty() { "—" } @else { (endpoint.description) } }
            dt { "Status" }
            dd #endpoint-status { (status_badge(endpoint)) }
            dt { "Events" }
            dd { (events_summary(endpoint)) }
            dt { "Fields" }
            dd {
                @match &endpoint.fields {
                    None => "Whole records",
                    Some(limits) => code { (limits) },
                }
            }
            dt { "Created" }
            dd { (timestamp(endpoint.created_at)) }
            @if let Some(until) = endpoint.previous_secret_until.filter(|t| *t > tessera_store::now_ms()) {
                dt { "Previous secret" }
                dd { "Still signs until " (timestamp(until)) }
            }
        }
    }
}

fn secret_and_recovery(signed_in: &SignedIn, id: &str, errors: &FormErrors) -> Markup {
    html! {
        section.card {
            h2 { "Rotate the signing secret" }
            (ui::post_form(&paths::webhook_rotate(id), signed_in, html! {
                (ui::field("overlap_hours", "Overlap (hours)", Some(ui::text("Until it ends every delivery carries both signatures, so receivers can switch without losing a message. 0 stops the old secret at once.")), errors, |c| html! {
                    input #overlap_hours name="overlap_hours" type="number" min="0" max=(MAX_OVERLAP_HOURS) step="1"
                        value=(DEFAULT_OVERLAP_HOURS) aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                button.secondary #rotate-secret type="submit" { "Rotate secret" }
            }))
            h2 { "Recover failed messages" }
            (ui::post_form(&paths::webhook_recover(id), signed_in, html! {
                (ui::field("since", "Recover failed since (UTC)", Some(ui::text("Every message created since then that failed is sent again.")), errors, |c| html! {
                    input #since name="since" type="datetime-local" step="1"
                        aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                button.secondary #recover type="submit" { "Recover failed since…" }
            }))
        }
    }
}

fn message_log(view: &EndpointView<'_>) -> Markup {
    let id = view.endpoint.id.as_str();
    let filter = &view.filter;
    let columns = ["Status", "Event type", "Attempts", "Created", "Message"];
    html! {
        section.card #message-log {
            h2 { "Messages" }
            form.filters method="get" action=(paths::webhook(id)) {
                (ui::select("status", "Status", None, &FormErrors::default(), html! {
                    option value="" { "Any" }
                    @for status in MESSAGE_STATUSES {
                        option value=(status) selected[filter.status == Some(status)] { (status) }
                    }
                }))
                (ui::select("event_type", "Event type", None, &FormErrors::default(), html! {
                    option value="" { "Any" }
                    @for event_type in event_types() {
                        option value=(event_type) selected[filter.event_type == Some(event_type.as_str())] { (event_type) }
                    }
                }))
                button.secondary #filter-messages type="submit" { "Filter" }
            }
            @if view.messages.is_empty() {
                p #no-messages { "No messages." }
            } @else {
                (ui::table("messages", &columns, view.messages, |message| html! {
                    tr data-message=(message.id) data-attempts=(message.attempts) {
                        (cell("Status", ui::status_badge(&message.status, &message.status)))
                        (cell("Event type", html! { code { (message.event_type) } }))
                        (cell("Attempts", html! { (message.attempts) }))
                        (cell("Created", timestamp(message.created_at)))
                        (cell("Message", html! { a href=(paths::webhook_message(id, &message.id)) { code { (message.id) } } }))
                    }
                }))
            }
            @if let Some(older) = view.older {
                p { a #older-messages href=(older_link(id, filter, older)) { "Older messages" } }
            }
        }
    }
}

/// The next page of the log, keeping its filters (whose values are known
/// words, safe in a query string as they are).
fn older_link(id: &str, filter: &MessageFilter<'_>, before: &str) -> String {
    let mut link = format!("{}?before={before}", paths::webhook(id));
    if let Some(status) = filter.status {
        link.push_str(&format!("&status={status}"));
    }
    if let Some(event_type) = filter.event_type {
        link.push_str(&format!("&event_type={event_type}"));
    }
    link
}

pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
    Query(query): Query<LogQuery>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let done = flash.message(DONE);
    let page = render(
        &state,
        &signed_in,
        &endpoint,
        &query,
        done,
        &FormErrors::default(),
    )
    .await?;
    Ok(page.into_response())
}

/// The endpoint page again, with a problem beside the field that caused it.
async fn refused(
    state: &AppState,
    signed_in: &SignedIn,
    admin: &MemberContext<'_>,
    id: &str,
    field: &'static str,
    message: String,
) -> PageResult {
    let endpoint = find_endpoint(state, admin, id).await?;
    let mut errors = FormErrors::default();
    errors.add(field, message);
    let page = render(
        state,
        signed_in,
        &endpoint,
        &LogQuery::default(),
        None,
        &errors,
    )
    .await?;
    Ok(unprocessable(page))
}

/// An operation's "no such endpoint" as the 404 page.
fn not_found_page(err: OpError) -> PageError {
    match err {
        OpError::NotFound => PageError::not_found(),
        other => other.into(),
    }
}

pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let signed_in = submitted.signed_in;
    let admin = signed_in.administrator()?;
    let actor = signed_in.actor();
    let request = EndpointRequest {
        enabled: Some(true),
        ..EndpointRequest::default()
    };
    ops_webhooks::update(state.ops(), &manager(&admin, &actor), &id, request)
        .await
        .map_err(not_found_page)?;
    Ok(flash::redirect(&paths::webhook(&id), "enabled"))
}

pub async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let signed_in = submitted.signed_in;
    let admin = signed_in.administrator()?;
    let actor = signed_in.actor();
    ops_webhooks::send_test(state.ops(), &manager(&admin, &actor), &id)
        .await
        .map_err(not_found_page)?;
    Ok(flash::redirect(&paths::webhook(&id), "test-sent"))
}

pub async fn reveal_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let signed_in = submitted.signed_in;
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let actor = signed_in.actor();
    let secret = ops_webhooks::reveal_secret(state.ops(), &manager(&admin, &actor), &id)
        .await
        .map_err(not_found_page)?;
    let shown = ShownSecret {
        endpoint: &endpoint,
        heading: "Signing secret",
        secret: &secret,
        explanation: "This reveal is recorded in the audit log. Keep the secret where only your receiver can read it.",
    };
    Ok(secret_page(&signed_in, &shown, StatusCode::OK))
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let admin = signed_in.administrator()?;
    let Some(overlap_hours) = fields
        .trimmed("overlap_hours")
        .parse::<u32>()
        .ok()
        .filter(|h| *h <= MAX_OVERLAP_HOURS)
    else {
        let message = format!("Enter a whole number of hours from 0 to {MAX_OVERLAP_HOURS}.");
        return refused(&state, &signed_in, &admin, &id, "overlap_hours", message).await;
    };
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let actor = signed_in.actor();
    let manager = manager(&admin, &actor);
    let secret = ops_webhooks::rotate_secret(state.ops(), &manager, &id, overlap_hours)
        .await
        .map_err(not_found_page)?;
    let explanation = if overlap_hours == 0 {
        "The previous secret no longer signs deliveries: give this one to your receiver now."
            .to_owned()
    } else {
        format!(
            "For the next {overlap_hours} hours every delivery is signed with both secrets; give this one to your receiver before then."
        )
    };
    let shown = ShownSecret {
        endpoint: &endpoint,
        heading: "Your new signing secret",
        secret: &secret,
        explanation: &explanation,
    };
    Ok(secret_page(&signed_in, &shown, StatusCode::OK))
}

/// A `datetime-local` value (`2027-01-31T09:30`, seconds optional), read as
/// UTC, in Unix milliseconds.
fn parse_since(value: &str) -> Option<i64> {
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let parsed = PrimitiveDateTime::parse(value, minutes)
        .or_else(|_| PrimitiveDateTime::parse(value, seconds))
        .ok()?;
    i64::try_from(parsed.assume_utc().unix_timestamp_nanos() / 1_000_000).ok()
}

pub async fn recover(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let admin = signed_in.administrator()?;
    let Some(since) = parse_since(fields.trimmed("since")) else {
        let message = "Enter the date and time (UTC) from which to recover.".to_owned();
        return refused(&state, &signed_in, &admin, &id, "since", message).await;
    };
    let actor = signed_in.actor();
    ops_webhooks::recover(state.ops(), &manager(&admin, &actor), &id, since)
        .await
        .map_err(not_found_page)?;
    Ok(flash::redirect(&paths::webhook(&id), "recovered"))
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let body = html! {
        section.card.narrow.danger-zone {
            h1 { "Delete this endpoint?" }
            p { "Nothing more is sent to " code { (endpoint.url) } ", and its message log is removed. This cannot be undone." }
            (ui::post_form(&paths::webhook_delete(&id), &signed_in, html! {
                div.actions {
                    button.danger #confirm-delete type="submit" { "Delete endpoint" }
                    a.button.secondary href=(paths::webhook(&id)) { "Cancel" }
                }
            }))
        }
    };
    let page = page("Delete endpoint", &signed_in, Section::Webhooks, body);
    Ok(page.into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let signed_in = submitted.signed_in;
    let admin = signed_in.administrator()?;
    let actor = signed_in.actor();
    ops_webhooks::delete(state.ops(), &manager(&admin, &actor), &id)
        .await
        .map_err(not_found_page)?;
    Ok(flash::redirect(paths::WEBHOOKS, "deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_times_are_read_as_utc() {
        assert_eq!(parse_since("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_since("1970-01-01T00:00:02"), Some(2_000));
        assert_eq!(parse_since("yesterday"), None);
    }

    #[test]
    fn unknown_filters_are_ignored() {
        let query = LogQuery {
            status: Some("lost".to_owned()),
            event_type: Some("employees.created".to_owned()),
            before: Some("'; drop".to_owned()),
        };
        let filter = query.filter();
        assert_eq!(filter.status, None);
        assert_eq!(filter.event_type, Some("employees.created"));
        assert_eq!(filter.before, None);
    }
}
