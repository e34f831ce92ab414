//! Every console address, defined once. Routers register the patterns;
//! links, form actions and redirects use the functions, which fill the
//! same patterns, so a link cannot point where no route is.

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const LOGIN_CODE: &str = "/login/code";
pub const LOGOUT: &str = "/logout";

pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_SIGN_OUT_OTHERS: &str = "/account/sessions/sign-out-others";
pub const TWO_FACTOR: &str = "/account/two-factor";
pub const TWO_FACTOR_RECOVERY_CODES: &str = "/account/two-factor/recovery-codes";
pub const TWO_FACTOR_DISABLE: &str = "/account/two-factor/disable";
pub const APP_PASSWORDS: &str = "/account/app-passwords";
pub const APP_PASSWORD_REVOKE: &str = "/account/app-passwords/{id}/revoke";
pub const STYLESHEET: &str = "/assets/console.css";
pub const SCRIPT: &str = "/assets/console.js";

pub const APPLY: &str = "/apply";
pub const APPLY_STATUS: &str = "/apply/status";

pub const API_KEYS: &str = "/settings/api";
pub const NEW_KEY: &str = "/settings/api/new";
pub const KEY: &str = "/settings/api/keys/{id}";
pub const KEY_REVOKE: &str = "/settings/api/keys/{id}/revoke";
pub const KEY_ROLL: &str = "/settings/api/keys/{id}/roll";
pub const REVOKE_ALL_KEYS: &str = "/settings/api/revoke-all";

pub const ROLES: &str = "/settings/roles";
pub const NEW_ROLE: &str = "/settings/roles/new";
pub const ROLE: &str = "/settings/roles/{id}";
pub const ROLE_DELETE: &str = "/settings/roles/{id}/delete";

pub const PEOPLE: &str = "/settings/people";
pub const USERS: &str = "/settings/people/users";
pub const NEW_USER: &str = "/settings/people/users/new";
pub const USER: &str = "/settings/people/users/{id}";
pub const USER_ROLE: &str = "/settings/people/users/{id}/role";
pub const USER_PASSWORD: &str = "/settings/people/users/{id}/password";
pub const USER_DEACTIVATE: &str = "/settings/people/users/{id}/deactivate";
pub const USER_REACTIVATE: &str = "/settings/people/users/{id}/reactivate";
pub const BOTS: &str = "/settings/people/bots";
pub const NEW_BOT: &str = "/settings/people/bots/new";
pub const BOT: &str = "/settings/people/bots/{id}";
pub const BOT_ROLE: &str = "/settings/people/bots/{id}/role";
pub const BOT_DEACTIVATE: &str = "/settings/people/bots/{id}/deactivate";
pub const BOT_REACTIVATE: &str = "/settings/people/bots/{id}/reactivate";

pub const CONNECTED_CLIENTS: &str = "/settings/connected-clients";
pub const CONNECTED_CLIENT_BLOCK: &str = "/settings/connected-clients/{client_id}/block";
pub const CONNECTED_CLIENT_UNBLOCK: &str = "/settings/connected-clients/{client_id}/unblock";

pub const WEBHOOKS: &str = "/settings/webhooks";
pub const NEW_WEBHOOK: &str = "/settings/webhooks/new";
pub const WEBHOOK: &str = "/settings/webhooks/{id}";
pub const WEBHOOK_EDIT: &str = "/settings/webhooks/{id}/edit";
pub const WEBHOOK_ENABLE: &str = "/settings/webhooks/{id}/enable";
pub const WEBHOOK_TEST: &str = "/settings/webhooks/{id}/test";
pub const WEBHOOK_ROTATE: &str = "/settings/webhooks/{id}/rotate-secret";
pub const WEBHOOK_REVEAL: &str = "/settings/webhooks/{id}/reveal-secret";
pub const WEBHOOK_RECOVER: &str = "/settings/webhooks/{id}/recover";
pub const WEBHOOK_DELETE: &str = "/settings/webhooks/{id}/delete";
pub const WEBHOOK_MESSAGE: &str = "/settings/webhooks/{id}/messages/{message_id}";
pub const WEBHOOK_MESSAGE_REPLAY: &str = "/settings/webhooks/{id}/messages/{message_id}/replay";

pub const ORGANIZATION_SETTINGS: &str = "/settings/organization";
pub const ORGANIZATION_TWO_FACTOR: &str = "/settings/organization/two-factor";
pub const ORGANIZATION_AUDIT: &str = "/settings/audit";
pub const ORGANIZATION_AUDIT_EXPORT: &str = "/settings/audit/export";

pub const USAGE: &str = "/settings/usage";
pub const UNUSED_KEYS: &str = "/settings/usage/unused-keys";
pub const FIELD_ACCESS: &str = "/settings/usage/field-access";
pub const DEPLOYMENT_USAGE: &str = "/operator/usage";

pub const ORGANIZATIONS: &str = "/operator/organizations";
pub const ORGANIZATION: &str = "/operator/organizations/{slug}";
pub const ORGANIZATION_RATE_LIMIT: &str = "/operator/organizations/{slug}/rate-limit";

pub const CLIENTS: &str = "/operator/clients";
pub const CLIENT_DISABLE: &str = "/operator/clients/{id}/disable";
pub const CLIENT_ENABLE: &str = "/operator/clients/{id}/enable";
pub const APPLICATION: &str = "/operator/clients/applications/{reference}";
pub const APPLICATION_APPROVE: &str = "/operator/clients/applications/{reference}/approve";
pub const APPLICATION_REJECT: &str = "/operator/clients/applications/{reference}/reject";

pub const DEPLOYMENT_AUDIT: &str = "/operator/audit";
pub const DEPLOYMENT_AUDIT_EXPORT: &str = "/operator/audit/export";

/// A query-string value: everything but RFC 3986's unreserved characters
/// percent-encoded.
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `pattern` with its first `{…}` segment replaced by `value`.
fn fill(pattern: &str, value: &str) -> String {
    match (pattern.find('{'), pattern.find('}')) {
        (Some(open), Some(close)) => {
            format!("{}{value}{}", &pattern[..open], &pattern[close + 1..])
        }
        _ => pattern.to_owned(),
    }
}

pub fn application_status(reference: &str) -> String {
    format!("{APPLY_STATUS}?reference={reference}")
}

pub fn key(id: &str) -> String {
    fill(KEY, id)
}

pub fn key_revoke(id: &str) -> String {
    fill(KEY_REVOKE, id)
}

pub fn key_roll(id: &str) -> String {
    fill(KEY_ROLL, id)
}

pub fn role(id: &str) -> String {
    fill(ROLE, id)
}

pub fn role_delete(id: &str) -> String {
    fill(ROLE_DELETE, id)
}

pub fn user(id: &str) -> String {
    fill(USER, id)
}

pub fn user_role(id: &str) -> String {
    fill(USER_ROLE, id)
}

pub fn user_password(id: &str) -> String {
    fill(USER_PASSWORD, id)
}

pub fn user_deactivate(id: &str) -> String {
    fill(USER_DEACTIVATE, id)
}

pub fn user_reactivate(id: &str) -> String {
    fill(USER_REACTIVATE, id)
}

pub fn bot(id: &str) -> String {
    fill(BOT, id)
}

pub fn bot_role(id: &str) -> String {
    fill(BOT_ROLE, id)
}

pub fn bot_deactivate(id: &str) -> String {
    fill(BOT_DEACTIVATE, id)
}

pub fn bot_reactivate(id: &str) -> String {
    fill(BOT_REACTIVATE, id)
}

pub fn connected_client_block(client_id: &str) -> String {
    fill(CONNECTED_CLIENT_BLOCK, client_id)
}

pub fn connected_client_unblock(client_id: &str) -> String {
    fill(CONNECTED_CLIENT_UNBLOCK, client_id)
}

pub fn webhook(id: &str) -> String {
    fill(WEBHOOK, id)
}

pub fn webhook_edit(id: &str) -> String {
    fill(WEBHOOK_EDIT, id)
}

pub fn webhook_enable(id: &str) -> String {
    fill(WEBHOOK_ENABLE, id)
}

pub fn webhook_test(id: &str) -> String {
    fill(WEBHOOK_TEST, id)
}

pub fn webhook_rotate(id: &str) -> String {
    fill(WEBHOOK_ROTATE, id)
}

pub fn webhook_reveal(id: &str) -> String {
    fill(WEBHOOK_REVEAL, id)
}

pub fn webhook_recover(id: &str) -> String {
    fill(WEBHOOK_RECOVER, id)
}

pub fn webhook_delete(id: &str) -> String {
    fill(WEBHOOK_DELETE, id)
}

pub fn webhook_message(id: &str, message_id: &str) -> String {
    fill(&fill(WEBHOOK_MESSAGE, id), message_id)
}

pub fn webhook_message_replay(id: &str, message_id: &str) -> String {
    fill(&fill(WEBHOOK_MESSAGE_REPLAY, id), message_id)
}

pub fn organization(slug: &str) -> String {
    fill(ORGANIZATION, slug)
}

pub fn organization_rate_limit(slug: &str) -> String {
    fill(ORGANIZATION_RATE_LIMIT, slug)
}

/// The deployment's audit log narrowed to one organisation.
pub fn deployment_audit_of(slug: &str) -> String {
    format!("{DEPLOYMENT_AUDIT}?organization={slug}")
}

pub fn client_disable(id: &str) -> String {
    fill(CLIENT_DISABLE, id)
}

pub fn client_enable(id: &str) -> String {
    fill(CLIENT_ENABLE, id)
}

pub fn application(reference: &str) -> String {
    fill(APPLICATION, reference)
}

pub fn application_approve(reference: &str) -> String {
    fill(APPLICATION_APPROVE, reference)
}

pub fn application_reject(reference: &str) -> String {
    fill(APPLICATION_REJECT, reference)
}

pub fn app_password_revoke(id: &str) -> String {
    fill(APP_PASSWORD_REVOKE, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fill_the_route_patterns() {
        assert_eq!(user("acc_1"), "/settings/people/users/acc_1");
        assert_eq!(bot_role("bot_2"), "/settings/people/bots/bot_2/role");
        assert_eq!(organization("acme"), "/operator/organizations/acme");
        assert_eq!(
            connected_client_block("cli_3"),
            "/settings/connected-clients/cli_3/block"
        );
        assert_eq!(
            application_reject("apl_4"),
            "/operator/clients/applications/apl_4/reject"
        );
        assert_eq!(
            webhook_message_replay("wep_5", "msg_6"),
            "/settings/webhooks/wep_5/messages/msg_6/replay"
        );
        assert_eq!(fill(API_KEYS, "x"), API_KEYS);
    }
}
