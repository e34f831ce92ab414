//! One message of an endpoint: its payload, every attempt, replaying it,
//! and a curl command that sends the same request as Tessera would now.

use super::find_endpoint;
use crate::AppState;
use crate::console::form::SubmittedForm;
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::time::timestamp;
use crate::console::ui::{self, cell, notice};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_core::webhooks::signing::signature_header;
use tessera_ops::OpError;
use tessera_ops::webhooks as ops_webhooks;
use tessera_store::webhooks::Endpoint;
use tessera_store::webhooks::delivery::{self, Attempt, Message};
use tessera_store::{StoreError, now_ms};

const DONE: Messages = &[(
    "replayed",
    "Replay queued: the message is sent again now, with the same webhook-id.",
)];

/// `text` as one shell word, whatever it holds: inside single quotes
/// nothing is special but the quote itself, which is closed, escaped and
/// reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The request Tessera would send for `message` at `timestamp` (Unix
/// seconds), signed with the endpoint's current secret.
fn curl_command(
    endpoint: &Endpoint,
    message: &Message,
    timestamp: i64,
) -> Result<String, StoreError> {
    let secrets = endpoint.signing_secrets(timestamp.saturating_mul(1000))?;
    let current: Vec<_> = secrets.iter().take(1).collect();
    let signature = signature_header(&current, &message.id, timestamp, &message.body);
    let headers = [
        "content-type: application/json".to_owned(),
        format!("webhook-id: {}", message.id),
        format!("webhook-timestamp: {timestamp}"),
        format!("webhook-signature: {signature}"),
    ];
    let mut command = format!("curl -X POST {}", shell_quote(&endpoint.url));
    for header in headers {
        command.push_str(&format!(" \\\n  -H {}", shell_quote(&header)));
    }
    command.push_str(&format!(" \\\n  --data-raw {}", shell_quote(&message.body)));
    Ok(command)
}

/// The body indented two spaces a level, its keys in the order they were
/// sent (parsing into a `Value` would sort them); as sent when it is not
/// JSON.
fn pretty_payload(body: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() {
        return body.to_owned();
    }
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut out = String::with_capacity(body.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|c| matches!(c, '}' | ']')) {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ if c.is_whitespace() => {}
            _ => out.push(c),
        }
    }
    out
}

fn attempts_table(attempts: &[Attempt]) -> Markup {
    let columns = ["Time", "HTTP status", "Latency", "Error", "Response"];
    ui::table("attempts", &columns, attempts, |attempt| {
        html! {
            tr {
                (cell("Time", timestamp(attempt.at)))
                (cell("HTTP status", html! { @match attempt.status { Some(status) => (status), None => "none" } }))
                (cell("Latency", html! { (attempt.latency_ms) " ms" }))
                (cell("Error", html! { @match &attempt.error { Some(error) => code { (error) }, None => "—" } }))
                (cell("Response", html! {
                    @if attempt.response.is_empty() { "—" } @else { code.prewrap { (attempt.response) } }
                }))
            }
        }
    })
}

/// What the message page shows.
struct MessageView<'a> {
    endpoint: &'a Endpoint,
    message: &'a Message,
    attempts: &'a [Attempt],
    curl: &'a str,
    done: Option<&'static str>,
}

fn message_page(signed_in: &SignedIn, view: &MessageView<'_>) -> Markup {
    let MessageView {
        endpoint, message, ..
    } = *view;
    let endpoint_id = endpoint.id.as_str();
    let body = html! {
        section.card {
            p { a #to-endpoint href=(paths::webhook(endpoint_id)) { "← Endpoint " code { (endpoint.url) } } }
            h1 { "Message " code { (message.id) } }
            (notice(view.done))
            dl.facts #message-details {
                dt { "Event type" }
                dd { code { (message.event_type) } }
                dt { "Status" }
                dd #message-status { (ui::status_badge(&message.status, &message.status)) }
                dt { "Created" }
                dd { (timestamp(message.created_at)) }
                @if let Some(next) = message.next_attempt_at.filter(|_| message.status == "pending") {
                    dt { "Next attempt" }
                    dd { (timestamp(next)) }
                }
            }
            (ui::post_form(&paths::webhook_message_replay(endpoint_id, &message.id), signed_in, html! {
                button #replay type="submit" aria-describedby="replay-hint" { "Replay" }
                p.hint #replay-hint { "Sends it again now with the same webhook-id, so a receiver that deduplicates ignores a copy it already has." }
            }))
        }
        section.card {
            h2 { "Payload" }
            pre.code #payload { (pretty_payload(&message.body)) }
        }
        section.card {
            h2 { "Attempts" }
            @if view.attempts.is_empty() {
                p #no-attempts { "Not attempted yet." }
            } @else {
                (attempts_table(view.attempts))
            }
        }
        section.card {
            h2 { "Copy as curl" }
            p.hint #curl-hint { "The same request, signed with the endpoint's current secret for a timestamp of now (receivers accept a timestamp for a few minutes)." }
            pre.code #curl aria-describedby="curl-hint" { (view.curl) }
            button.secondary #copy-curl type="button" data-copy="curl" hidden { "Copy command" }
        }
    };
    page("Webhook message", signed_in, Section::Webhooks, body)
}

pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, message_id)): Path<(String, String)>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let endpoint = find_endpoint(&state, &admin, &id).await?;
    let (message, attempts) =
        delivery::get_message(state.db(), admin.organization_id, &id, &message_id)
            .await?
            .ok_or_else(PageError::not_found)?;
    let curl = curl_command(&endpoint, &message, now_ms() / 1000)?;
    let view = MessageView {
        endpoint: &endpoint,
        message: &message,
        attempts: &attempts,
        curl: &curl,
        done: flash.message(DONE),
    };
    Ok(message_page(&signed_in, &view).into_response())
}

pub async fn replay(
    State(state): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
    submitted: SubmittedForm,
) -> PageResult {
    let signed_in = submitted.signed_in;
    let admin = signed_in.administrator()?;
    let actor = signed_in.actor();
    let manager = super::manager(&admin, &actor);
    match ops_webhooks::replay(state.ops(), &manager, &id, &message_id).await {
        Ok(()) => Ok(flash::redirect(
            &paths::webhook_message(&id, &message_id),
            "replayed",
        )),
        Err(OpError::NotFound) => Err(PageError::not_found()),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_quote_in_the_body_stays_one_shell_word() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME `x`"), "'$HOME `x`'");
    }

    #[test]
    fn payloads_are_indented() {
        let body = r#"{"type":"a,b","data":{"z":[1,{}],"q":"say \"hi\" {x}"},"e":[]}"#;
        let pretty = pretty_payload(body);
        let expected = "{\n  \"type\": \"a,b\",\n  \"data\": {\n    \"z\": [\n      1,\n      {}\n    ],\n    \"q\": \"say \\\"hi\\\" {x}\"\n  },\n  \"e\": []\n}";
        assert_eq!(pretty, expected);
        let reparsed: Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(reparsed, serde_json::from_str::<Value>(body).unwrap());
        assert_eq!(pretty_payload("not json"), "not json");
    }
}
