//! The console's components: every labelled field, form, badge and table
//! is built here, so accessibility markup (`aria-describedby`,
//! `aria-invalid`, `data-label`) and the CSRF token cannot vary per page.

pub mod flash;
pub mod time;

use super::form::FormErrors;
use super::session::SignedIn;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tessera_store::roles::Role;

/// What a form control needs from its field: which hint and error describe
/// it, and whether it is invalid.
pub struct Control {
    pub described_by: Option<String>,
    pub invalid: Option<&'static str>,
}

/// A labelled form control with its hint and error. The control is named
/// and identified by `id`; its hint is `{id}-hint`, its error `{id}-error`.
pub fn field(
    id: &'static str,
    label: &str,
    hint: Option<Markup>,
    errors: &FormErrors,
    control: impl FnOnce(Control) -> Markup,
) -> Markup {
    let error = errors.get(id);
    let described_by: Vec<String> = [
        hint.as_ref().map(|_| format!("{id}-hint")),
        error.map(|_| format!("{id}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let control = control(Control {
        described_by: (!described_by.is_empty()).then(|| described_by.join(" ")),
        invalid: error.map(|_| "true"),
    });
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(hint) = hint { p.hint id={ (id) "-hint" } { (hint) } }
            @if let Some(error) = error { p.field-error id={ (id) "-error" } { (error) } }
            (control)
        }
    }
}

/// Plain text as markup (escaped), for a field's hint.
pub fn text(words: &str) -> Markup {
    html! { (words) }
}

/// A text input that keeps its value.
pub fn text_input(
    id: &'static str,
    label: &str,
    value: &str,
    errors: &FormErrors,
    hint: Option<&str>,
) -> Markup {
    field(id, label, hint.map(text), errors, |c| {
        html! {
            input id=(id) name=(id) type="text" value=(value)
                aria-invalid=[c.invalid] aria-describedby=[c.described_by];
        }
    })
}

/// A whole number from 1 to `max`.
pub fn number_input(
    id: &'static str,
    label: &str,
    value: &str,
    max: u32,
    errors: &FormErrors,
) -> Markup {
    field(id, label, None, errors, |c| {
        html! {
            input id=(id) name=(id) type="number" min="1" max=(max) step="1" inputmode="numeric" value=(value)
                aria-invalid=[c.invalid] aria-describedby=[c.described_by];
        }
    })
}

/// A date (YYYY-MM-DD) picker.
pub fn date_input(
    id: &'static str,
    label: &str,
    value: &str,
    errors: &FormErrors,
    hint: Option<Markup>,
) -> Markup {
    field(id, label, hint, errors, |c| {
        html! {
            input id=(id) name=(id) type="date" value=(value)
                aria-invalid=[c.invalid] aria-describedby=[c.described_by];
        }
    })
}

/// A new password; what was typed is never sent back.
pub fn password_input(id: &'static str, label: &str, hint: &str, errors: &FormErrors) -> Markup {
    field(id, label, Some(text(hint)), errors, |c| {
        html! {
            input id=(id) name=(id) type="password" autocomplete="new-password"
                aria-invalid=[c.invalid] aria-describedby=[c.described_by];
        }
    })
}

/// A multi-line text that keeps its value.
pub fn text_area(
    id: &'static str,
    label: &str,
    value: &str,
    errors: &FormErrors,
    hint: Option<&str>,
) -> Markup {
    field(id, label, hint.map(text), errors, |c| {
        html! {
            textarea id=(id) name=(id) rows="4" aria-invalid=[c.invalid] aria-describedby=[c.described_by] { (value) }
        }
    })
}

/// A choice among `options` (the `option` elements).
pub fn select(
    id: &'static str,
    label: &str,
    hint: Option<&str>,
    errors: &FormErrors,
    options: Markup,
) -> Markup {
    field(id, label, hint.map(text), errors, |c| {
        html! {
            select id=(id) name=(id) aria-invalid=[c.invalid] aria-describedby=[c.described_by] {
                (options)
            }
        }
    })
}

/// A choice of the organisation's roles, by id.
pub fn role_select(
    id: &'static str,
    roles: &[Role],
    selected: &str,
    errors: &FormErrors,
) -> Markup {
    field(id, "Role", None, errors, |c| {
        html! {
            select id=(id) name=(id)
                aria-invalid=[c.invalid] aria-describedby=[c.described_by] {
                @for role in roles {
                    option value=(role.id) selected[role.id == selected] { (role.name) }
                }
            }
        }
    })
}

/// A form posted by a signed-in account, carrying their CSRF token.
pub fn post_form(action: &str, signed_in: &SignedIn, body: Markup) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_input(signed_in))
            (body)
        }
    }
}

/// Like [`post_form`], with an id and without the browser's own checks, for
/// forms whose every problem the server explains beside its field.
pub fn checked_post_form(id: &str, action: &str, signed_in: &SignedIn, body: Markup) -> Markup {
    html! {
        form id=(id) method="post" action=(action) novalidate {
            (csrf_input(signed_in))
            (body)
        }
    }
}

/// A one-button form inside a table row or a line of text.
pub fn inline_post_form(action: &str, signed_in: &SignedIn, button: Markup) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_input(signed_in))
            (button)
        }
    }
}

pub fn csrf_input(signed_in: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed_in.csrf()); }
}

/// A short state word in a coloured pill; `state` picks the colour. Every
/// badge reads with a capital first letter ("Active", "Revoked"), whatever
/// the stored word's case.
pub fn status_badge(state: &str, label: &str) -> Markup {
    html! { span class={ "status status-" (state) } { (capitalized(label)) } }
}

/// `word` with its first letter upper case.
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// "Active", or `stopped` ("Deactivated", "Disabled").
pub fn active_badge(active: bool, stopped: &str) -> Markup {
    if active {
        status_badge("active", "Active")
    } else {
        status_badge("disabled", stopped)
    }
}

/// One column of a [`table`]: its heading, which is also each cell's
/// `data-label` (shown beside the value on narrow screens).
pub type Column = &'static str;

/// A table that stacks into labelled lines on narrow screens. `row` renders
/// the cells of one item, in the order of `columns`; use [`cell`] for them.
pub fn table<T>(
    id: &str,
    columns: &[Column],
    items: impl IntoIterator<Item = T>,
    row: impl Fn(T) -> Markup,
) -> Markup {
    html! {
        div.table-wrap tabindex="0" {
            table.stack id=(id) {
                thead { tr { @for column in columns { th scope="col" { (column) } } } }
                tbody { @for item in items { (row(item)) } }
            }
        }
    }
}

/// A table cell labelled with its column.
pub fn cell(column: Column, content: Markup) -> Markup {
    html! { td data-label=(column) { (content) } }
}

/// A list of a form's problems at its top, each linking to its field.
pub fn error_summary(errors: &FormErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error #form-errors role="alert" tabindex="-1" {
                p { strong { "Please correct the following:" } }
                ul {
                    @for (field, message) in errors.iter() {
                        li { a href={ "#" (field) } { (message) } }
                    }
                }
            }
        }
    }
}

/// A short confirmation shown at the top of a page after an action.
pub fn notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.notice #notice role="status" { (message) }
        }
    }
}

/// A page re-rendered because its form had problems.
pub fn unprocessable(markup: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response()
}

/// "1 thing" / "3 things".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
