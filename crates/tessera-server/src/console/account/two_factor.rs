//! Account ▸ Two-factor sign-in: enrolment (a secret shown as a QR code and
//! as text, confirmed with a code before it takes effect), recovery codes
//! (shown once, regenerated on request) and turning it off.

use super::{own, own_account};
use crate::AppState;
use crate::console::form::{FormErrors, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, error_summary, unprocessable};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use tessera_core::two_factor::{RecoveryCode, TotpSecret};
use tessera_ops::OpError;
use tessera_ops::auth::{self, PasswordCheck, PasswordUse};
use tessera_store::two_factor::{self, TwoFactorState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::TWO_FACTOR, get(show).post(confirm))
        .route(paths::TWO_FACTOR_RECOVERY_CODES, post(regenerate))
        .route(paths::TWO_FACTOR_DISABLE, post(disable))
}

/// The name authenticator apps show above the code.
const ISSUER: &str = "Tessera";

fn now_seconds() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

async fn state_of(state: &AppState, signed_in: &SignedIn) -> Result<TwoFactorState, PageError> {
    two_factor::state(state.db(), signed_in.account().id.as_str())
        .await?
        .ok_or_else(PageError::not_found)
}

async fn show(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let current = state_of(&state, &signed_in).await?;
    if current.totp_secret.is_some() {
        return manage_page(&state, &signed_in, &FormErrors::default()).await;
    }
    // The pending secret survives reloads (an app may have scanned it
    // already); a new one is made only when there is none.
    let secret = match current
        .totp_pending_secret
        .as_deref()
        .and_then(TotpSecret::from_base32)
    {
        Some(secret) => secret,
        None => {
            let secret = TotpSecret::generate();
            two_factor::set_pending_secret(
                state.db(),
                signed_in.account().id.as_str(),
                &secret.to_base32(),
            )
            .await?;
            secret
        }
    };
    Ok(no_store(enrol_page(
        &signed_in,
        &secret,
        &FormErrors::default(),
    )))
}

/// The QR code of the `otpauth://` address, as inline SVG made here (no
/// image request, no third party sees the secret).
fn qr_code(uri: &str) -> Result<Markup, PageError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(PageError::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let svg = svg
        .strip_prefix(r#"<?xml version="1.0" standalone="yes"?>"#)
        .unwrap_or(&svg)
        .to_owned();
    Ok(PreEscaped(svg))
}

fn enrol_page(signed_in: &SignedIn, secret: &TotpSecret, errors: &FormErrors) -> Markup {
    let uri = secret.otpauth_uri(ISSUER, &signed_in.account().username);
    let qr = qr_code(&uri).unwrap_or_else(
        |_| html! { p { "The QR code could not be drawn; type the key below instead." } },
    );
    let body = html! {
        section.card {
            h1 { "Set up two-factor sign-in" }
            @if signed_in.session.must_enrol() {
                p.warning #two-factor-required role="alert" {
                    "Your organisation requires administrators to use two-factor sign-in. Set it up to continue."
                }
            }
            (error_summary(errors))
            ol {
                li { "Open an authenticator app (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis) and add an account." }
                li { "Scan this code, or type the key below." }
                li { "Enter the 6-digit code the app shows." }
            }
            figure.qr-code #totp-qr role="img" aria-label="QR code for your authenticator app" { (qr) }
            dl.facts {
                dt { "Key" } dd { code #totp-secret { (secret.to_base32()) } }
                dt { "Type" } dd { "Time-based (TOTP), 6 digits, every 30 seconds" }
            }
            (ui::checked_post_form("enrol-form", paths::TWO_FACTOR, signed_in, html! {
                input type="hidden" name="secret" value=(secret.to_base32());
                (ui::field("code", "Code from the app", None, errors, |c| html! {
                    input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                button type="submit" { "Turn on two-factor sign-in" }
            }))
        }
    };
    page("Two-factor sign-in", signed_in, Section::Account, body)
}

async fn confirm(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let current = state_of(&state, &signed_in).await?;
    if current.totp_secret.is_some() {
        return Ok(Redirect::to(paths::TWO_FACTOR).into_response());
    }
    let shown = fields.trimmed("secret");
    let pending = current
        .totp_pending_secret
        .as_deref()
        .filter(|pending| *pending == shown)
        .and_then(TotpSecret::from_base32);
    let Some(secret) = pending else {
        // Another tab made a new secret, or the form was tampered with.
        return Ok(Redirect::to(paths::TWO_FACTOR).into_response());
    };
    let Some(step) = secret.verify(fields.text("code"), now_seconds(), None) else {
        let mut errors = FormErrors::default();
        errors.add(
            "code",
            "That code does not match. Check that the app added this key and that the device's clock is right, then enter the current code.",
        );
        return Ok(no_store(unprocessable(enrol_page(
            &signed_in, &secret, &errors,
        ))));
    };
    let codes = RecoveryCode::generate();
    let actor = signed_in.actor();
    let enabled = own_account::enable_two_factor(
        state.ops(),
        own(&signed_in, &actor),
        &secret.to_base32(),
        i64::try_from(step).unwrap_or(i64::MAX),
        &hashes(&codes),
    )
    .await;
    match enabled {
        Err(OpError::Refused(_)) => Ok(Redirect::to(paths::TWO_FACTOR).into_response()),
        other => {
            other?;
            Ok(no_store(codes_page(
                &signed_in,
                "Two-factor sign-in is on",
                &codes,
            )))
        }
    }
}

fn hashes(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| RecoveryCode::hash(code))
        .map(|hash| hash.as_str().to_owned())
        .collect()
}

/// The one page that shows recovery codes.
fn codes_page(signed_in: &SignedIn, heading: &str, codes: &[String]) -> Response {
    let listed = codes.join("\n");
    let body = html! {
        section.card {
            h1 { (heading) }
            p.warning role="alert" {
                strong { "Save these recovery codes now." }
                " Each signs you in once if you lose your authenticator. They are shown only this once."
            }
            pre.secret #recovery-codes { (listed) }
            button.secondary #copy-recovery-codes type="button" data-copy="recovery-codes" hidden { "Copy codes" }
            p.actions {
                a.button #continue href=(paths::ACCOUNT) { "I have saved them" }
            }
        }
    };
    page(heading, signed_in, Section::Account, body).into_response()
}

fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the person may turn two-factor sign-in off: not an
/// administrator of an organisation that requires it.
fn may_disable(signed_in: &SignedIn) -> bool {
    !matches!(
        signed_in.account().membership,
        tessera_store::accounts::Membership::Member {
            is_administrator: true,
            administrators_need_two_factor: true,
            ..
        }
    )
}

async fn manage_page(state: &AppState, signed_in: &SignedIn, errors: &FormErrors) -> PageResult {
    let account_id = signed_in.account().id.as_str();
    let current = state_of(state, signed_in).await?;
    let remaining = two_factor::unused_recovery_codes(state.db(), account_id).await?;
    let body = html! {
        section.card {
            h1 { "Two-factor sign-in" }
            (error_summary(errors))
            dl.facts {
                dt { "Status" } dd #two-factor-on { (ui::status_badge("active", "On")) }
                @if let Some(since) = current.totp_enabled_at {
                    dt { "Since" } dd { (ui::time::timestamp(since)) }
                }
                dt { "Recovery codes left" } dd #recovery-codes-left { (remaining) }
            }
            p.hint { "Signing in to the console takes a code from your app after your password. For the key-management API (HTTP Basic), create an app password on " a href=(paths::ACCOUNT) { "your account page" } "." }
        }
        section.card #recovery-card {
            h2 { "Recovery codes" }
            p.hint { "New codes replace every old one, used or not." }
            (ui::inline_post_form(paths::TWO_FACTOR_RECOVERY_CODES, signed_in, html! {
                button.secondary #regenerate-codes type="submit" { "Make new recovery codes" }
            }))
        }
        section.card #disable-card {
            h2 { "Turn off two-factor sign-in" }
            @if may_disable(signed_in) {
                p.hint { "Your app passwords and recovery codes are deleted too." }
                (ui::checked_post_form("disable-form", paths::TWO_FACTOR_DISABLE, signed_in, html! {
                    (ui::field("confirmation", "A current code or your password", None, errors, |c| html! {
                        input #confirmation name="confirmation" type="password" autocomplete="off"
                            aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                    }))
                    button.danger type="submit" { "Turn off" }
                }))
            } @else {
                p.hint #disable-refused { "Your organisation requires administrators to use two-factor sign-in, so you cannot turn it off." }
            }
        }
    };
    let markup = page("Two-factor sign-in", signed_in, Section::Account, body);
    Ok(if errors.is_empty() {
        markup.into_response()
    } else {
        unprocessable(markup)
    })
}

async fn regenerate(
    State(state): State<AppState>,
    SubmittedForm { signed_in, .. }: SubmittedForm,
) -> PageResult {
    if state_of(&state, &signed_in).await?.totp_secret.is_none() {
        return Ok(Redirect::to(paths::TWO_FACTOR).into_response());
    }
    let codes = RecoveryCode::generate();
    let actor = signed_in.actor();
    own_account::regenerate_recovery_codes(state.ops(), own(&signed_in, &actor), &hashes(&codes))
        .await?;
    Ok(no_store(codes_page(
        &signed_in,
        "New recovery codes",
        &codes,
    )))
}

async fn disable(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let current = state_of(&state, &signed_in).await?;
    let Some(secret) = current
        .totp_secret
        .as_deref()
        .and_then(TotpSecret::from_base32)
    else {
        return Ok(Redirect::to(paths::TWO_FACTOR).into_response());
    };
    if !may_disable(&signed_in) {
        return Err(PageError::forbidden(
            &signed_in,
            "Your organisation requires administrators to use two-factor sign-in.",
        ));
    }
    let typed = fields.text("confirmation");
    let account_id = signed_in.account().id.as_str();
    let last_step = current.totp_last_step.and_then(|s| u64::try_from(s).ok());
    let confirmed_with = match secret.verify(typed, now_seconds(), last_step) {
        Some(step) => two_factor::use_step(
            state.db(),
            account_id,
            i64::try_from(step).unwrap_or(i64::MAX),
        )
        .await?
        .then_some("code"),
        None if typed.is_empty() => None,
        None => {
            let checked = auth::check_password(
                state.ops(),
                state.password_gate(),
                &signed_in.account().username,
                typed.to_owned(),
                signed_in.client.ip,
                PasswordUse::ConsoleSignIn,
            )
            .await?;
            matches!(checked, PasswordCheck::Accepted(_)).then_some("password")
        }
    };
    let Some(confirmed_with) = confirmed_with else {
        let mut errors = FormErrors::default();
        errors.add(
            "confirmation",
            "Enter the current code from your app (one not used yet) or your password.",
        );
        return manage_page(&state, &signed_in, &errors).await;
    };
    let actor = signed_in.actor();
    own_account::disable_two_factor(state.ops(), own(&signed_in, &actor), confirmed_with).await?;
    Ok(ui::flash::redirect(paths::ACCOUNT, "two-factor-off"))
}
