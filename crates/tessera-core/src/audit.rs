//! The vocabulary of the audit log: who acted and what they did.

/// The kind of actor behind an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Operator,
    User,
    Bot,
    ApiKey,
    /// Someone at the command line of the server (`tessera admin …`).
    CommandLine,
    /// Someone not signed in (a failed sign-in, a leaked-key report).
    Anonymous,
    /// Tessera itself, e.g. disabling a webhook endpoint that is gone.
    System,
}

impl ActorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::Operator => "operator",
            ActorKind::User => "user",
            ActorKind::Bot => "bot",
            ActorKind::ApiKey => "api_key",
            ActorKind::CommandLine => "command_line",
            ActorKind::Anonymous => "anonymous",
            ActorKind::System => "system",
        }
    }
}

/// Who performed an audited action, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: String,
    /// The client address of the request that acted; `None` at the command
    /// line.
    pub ip: Option<String>,
}

impl Actor {
    pub fn command_line() -> Actor {
        Actor {
            kind: ActorKind::CommandLine,
            id: None,
            name: "tessera admin".to_owned(),
            ip: None,
        }
    }

    /// Someone not signed in, known only by what they typed or sent.
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            name: "Tessera".to_owned(),
            ip: None,
        }
    }

    pub fn anonymous(name: impl Into<String>, ip: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            id: None,
            name: name.into(),
            ip: Some(ip.into()),
        }
    }
}

/// The owner of a key as an audit entry names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OwnerName {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
}

/// A rate limit as an audit entry shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RateFigures {
    pub rate: u32,
    pub burst: u32,
}

/// A setting's value before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transition<T> {
    pub from: T,
    pub to: T,
}

impl<T: PartialEq> Transition<T> {
    /// `Some` only when the value changed.
    pub fn of(from: T, to: T) -> Option<Transition<T>> {
        (from != to).then_some(Transition { from, to })
    }
}

/// Declares every audited action once, with the details it carries: the
/// action enum, its stable names, the typed event and the stored details
/// cannot drift apart, and no call site writes details by hand.
macro_rules! audit_events {
    ($($variant:ident => $name:literal { $($field:ident : $ty:ty),* $(,)? },)*) => {
        /// What happened. The dotted names are stable: they are stored and shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in declaration order (the audit log's filter).
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }

            pub fn parse(name: &str) -> Option<AuditAction> {
                match name {
                    $($name => Some(AuditAction::$variant),)*
                    _ => None,
                }
            }
        }

        /// An audited event with its own details.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AuditEvent {
            $($variant { $($field: $ty),* },)*
        }

        impl AuditEvent {
            pub fn action(&self) -> AuditAction {
                match self {
                    $(AuditEvent::$variant { .. } => AuditAction::$variant,)*
                }
            }

            /// The details as stored: a JSON object of the event's fields
            /// that have a value (an absent optional detail is left out, not
            /// stored as null), or `None` when no field has one.
            pub fn details(&self) -> Option<serde_json::Value> {
                let fields: Vec<(&'static str, serde_json::Value)> = match self {
                    $(AuditEvent::$variant { $($field),* } => {
                        vec![$((stringify!($field), serde_json::json!($field))),*]
                    })*
                };
                let details: serde_json::Map<String, serde_json::Value> = fields
                    .into_iter()
                    .filter(|(_, value)| !value.is_null())
                    .map(|(name, value)| (name.to_owned(), value))
                    .collect();
                (!details.is_empty()).then_some(serde_json::Value::Object(details))
            }
        }
    };
}

audit_events! {
    LoginSucceeded => "login.succeeded" { second_factor: Option<&'static str> },
    LoginFailed => "login.failed" { reason: &'static str },
    LoginThrottled => "login.throttled" { retry_after_seconds: u64 },
    Logout => "logout" {},
    PasswordChanged => "account.password_changed" { other_sessions_ended: u64 },
    SessionsEnded => "account.sessions_ended" { count: u64 },
    TwoFactorEnabled => "two_factor.enabled" {},
    TwoFactorDisabled => "two_factor.disabled" { confirmed_with: &'static str },
    RecoveryCodesRegenerated => "two_factor.recovery_codes_regenerated" {},
    RecoveryCodeUsed => "two_factor.recovery_code_used" { remaining: u64 },
    AppPasswordCreated => "app_password.created" { name: String },
    AppPasswordRevoked => "app_password.revoked" { name: String },
    OperatorCreated => "operator.created" { username: String },
    OrganizationCreated => "organization.created" { slug: String, name: String, first_administrator: Option<String> },
    UserCreated => "user.created" { username: String, role: String },
    BotCreated => "bot.created" { name: String, role: String },
    RateLimitChanged => "organization.rate_limit_changed" { rate: u32, burst: u32, previous: RateFigures },
    ClientCreated => "api_client.created" { name: String, application: Option<String> },
    ClientDisabled => "api_client.disabled" { name: String },
    ClientEnabled => "api_client.enabled" { name: String },
    ClientRotated => "api_client.rotated" { overlap_hours: u32 },
    ClientBlocked => "api_client.blocked" { name: String },
    ClientUnblocked => "api_client.unblocked" { name: String },
    ClientApplicationSubmitted => "api_client_application.submitted" { company: String, expected_volume: &'static str },
    ClientApplicationApproved => "api_client_application.approved" { company: String, client_id: String },
    ClientApplicationRejected => "api_client_application.rejected" { company: String, reason: String },
    KeyCreated => "api_key.created" { name: String, owner: OwnerName },
    KeyRevoked => "api_key.revoked" { name: String, by: Option<&'static str> },
    KeyRolled => "api_key.rolled" { replaced_by: String, overlap_hours: u32 },
    KeysRevokedAll => "api_key.revoked_all" { revoked: u64 },
    KeyLeaked => "api_key.leaked" { name: String, source: Option<String> },
    KeyCreationPolicyChanged => "organization.key_creation_changed" { who: &'static str, previous: &'static str },
    RecordsImported => "records.imported" { resource: &'static str, count: usize, file: String },
    RoleCreated => "role.created" { name: String, permissions: serde_json::Value },
    RoleUpdated => "role.updated" { name: String, previous_name: String, permissions: serde_json::Value, previous_permissions: serde_json::Value },
    RoleDeleted => "role.deleted" { name: String, permissions: serde_json::Value },
    UserDeactivated => "user.deactivated" { username: String },
    UserReactivated => "user.reactivated" { username: String },
    UserRoleChanged => "user.role_changed" { username: String, role: String, previous_role: String },
    UserPasswordReset => "user.password_reset" { username: String },
    BotDeactivated => "bot.deactivated" { name: String },
    BotReactivated => "bot.reactivated" { name: String },
    BotRoleChanged => "bot.role_changed" { name: String, role: String, previous_role: String },
    WebhookEndpointCreated => "webhook_endpoint.created" { url: String, events: Vec<String> },
    WebhookEndpointUpdated => "webhook_endpoint.updated" { url: String, changed: Vec<&'static str> },
    WebhookEndpointDeleted => "webhook_endpoint.deleted" { url: String },
    WebhookEndpointDisabled => "webhook_endpoint.disabled" { url: String, reason: &'static str },
    WebhookSecretRotated => "webhook_endpoint.secret_rotated" { overlap_hours: u32 },
    WebhookSecretRevealed => "webhook_endpoint.secret_revealed" {},
    WebhookTestSent => "webhook_endpoint.test_sent" { message_id: String },
    WebhookMessageReplayed => "webhook_message.replayed" { message_id: String },
    WebhookMessagesRecovered => "webhook_endpoint.recovered" { since: String, count: u64 },
    OrganizationSettingsChanged => "organization.settings_changed" {
        key_creation: Option<Transition<&'static str>>,
        max_key_lifetime_days: Option<Transition<Option<u32>>>,
        default_ip_allowlist: Option<Transition<Option<Vec<String>>>>,
        administrators_need_two_factor: Option<Transition<bool>>,
    },
}

/// An action read back from the log: one this version knows, or the stored
/// name of one written by a newer version (never dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedAction {
    Known(AuditAction),
    Unknown(String),
}

impl LoggedAction {
    pub fn parse(name: &str) -> LoggedAction {
        AuditAction::parse(name).map_or_else(
            || LoggedAction::Unknown(name.to_owned()),
            LoggedAction::Known,
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            LoggedAction::Known(action) => action.as_str(),
            LoggedAction::Unknown(name) => name,
        }
    }
}

impl PartialEq<&str> for LoggedAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<AuditAction> for LoggedAction {
    fn eq(&self, other: &AuditAction) -> bool {
        *self == LoggedAction::Known(*other)
    }
}

impl std::fmt::Display for LoggedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{AuditAction, AuditEvent, LoggedAction, OwnerName};
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn every_listed_action_has_its_own_lowercase_dotted_name() {
        let names: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            names.len(),
            AuditAction::ALL.len(),
            "an action is listed twice"
        );
        for name in names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn names_parse_back_to_their_action() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
            assert_eq!(LoggedAction::parse(action.as_str()), *action);
        }
        assert_eq!(
            LoggedAction::parse("made.up"),
            LoggedAction::Unknown("made.up".to_owned())
        );
    }

    #[test]
    fn details_are_the_fields_of_the_event() {
        let created = AuditEvent::KeyCreated {
            name: "sync".to_owned(),
            owner: OwnerName {
                kind: "bot",
                name: "payroll".to_owned(),
            },
        };
        assert_eq!(created.action(), AuditAction::KeyCreated);
        assert_eq!(
            created.details(),
            Some(json!({"name": "sync", "owner": {"type": "bot", "name": "payroll"}}))
        );
        assert_eq!(AuditEvent::Logout {}.details(), None);
        let revoked = AuditEvent::KeyRevoked {
            name: "sync".to_owned(),
            by: None,
        };
        assert_eq!(revoked.details(), Some(json!({"name": "sync"})));
    }
}
