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
        }
    }
}

/// What happened. The dotted names are stable: they are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    OperatorCreated,
    OrganizationCreated,
    UserCreated,
    BotCreated,
    RateLimitChanged,
    ClientCreated,
    ClientDisabled,
    ClientEnabled,
    ClientRotated,
    ClientBlocked,
    ClientUnblocked,
    KeyCreated,
    KeyRevoked,
    KeysRevokedAll,
    KeyLeaked,
    KeyCreationPolicyChanged,
    RecordsImported,
}

impl AuditAction {
    /// Every action, for the audit log page's filter. A new variant belongs
    /// here too (the test below stops compiling until it is looked at).
    pub const ALL: &'static [AuditAction] = &[
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::LoginThrottled,
        AuditAction::Logout,
        AuditAction::OperatorCreated,
        AuditAction::OrganizationCreated,
        AuditAction::UserCreated,
        AuditAction::BotCreated,
        AuditAction::RateLimitChanged,
        AuditAction::ClientCreated,
        AuditAction::ClientDisabled,
        AuditAction::ClientEnabled,
        AuditAction::ClientRotated,
        AuditAction::ClientBlocked,
        AuditAction::ClientUnblocked,
        AuditAction::KeyCreated,
        AuditAction::KeyRevoked,
        AuditAction::KeysRevokedAll,
        AuditAction::KeyLeaked,
        AuditAction::KeyCreationPolicyChanged,
        AuditAction::RecordsImported,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::LoginSucceeded => "login.succeeded",
            AuditAction::LoginFailed => "login.failed",
            AuditAction::LoginThrottled => "login.throttled",
            AuditAction::Logout => "logout",
            AuditAction::OperatorCreated => "operator.created",
            AuditAction::OrganizationCreated => "organization.created",
            AuditAction::UserCreated => "user.created",
            AuditAction::BotCreated => "bot.created",
            AuditAction::RateLimitChanged => "organization.rate_limit_changed",
            AuditAction::ClientCreated => "api_client.created",
            AuditAction::ClientDisabled => "api_client.disabled",
            AuditAction::ClientEnabled => "api_client.enabled",
            AuditAction::ClientRotated => "api_client.rotated",
            AuditAction::ClientBlocked => "api_client.blocked",
            AuditAction::ClientUnblocked => "api_client.unblocked",
            AuditAction::KeyCreated => "api_key.created",
            AuditAction::KeyRevoked => "api_key.revoked",
            AuditAction::KeysRevokedAll => "api_key.revoked_all",
            AuditAction::KeyLeaked => "api_key.leaked",
            AuditAction::KeyCreationPolicyChanged => "organization.key_creation_changed",
            AuditAction::RecordsImported => "records.imported",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AuditAction;
    use std::collections::BTreeSet;

    /// Exhaustive, so it stops compiling when a variant is added: whoever
    /// adds one is pointed at `AuditAction::ALL`.
    fn a_new_variant_belongs_in_all(action: AuditAction) {
        match action {
            AuditAction::LoginSucceeded
            | AuditAction::LoginFailed
            | AuditAction::LoginThrottled
            | AuditAction::Logout
            | AuditAction::OperatorCreated
            | AuditAction::OrganizationCreated
            | AuditAction::UserCreated
            | AuditAction::BotCreated
            | AuditAction::RateLimitChanged
            | AuditAction::ClientCreated
            | AuditAction::ClientDisabled
            | AuditAction::ClientEnabled
            | AuditAction::ClientRotated
            | AuditAction::ClientBlocked
            | AuditAction::ClientUnblocked
            | AuditAction::KeyCreated
            | AuditAction::KeyRevoked
            | AuditAction::KeysRevokedAll
            | AuditAction::KeyLeaked
            | AuditAction::KeyCreationPolicyChanged
            | AuditAction::RecordsImported => {}
        }
    }

    #[test]
    fn every_listed_action_has_its_own_lowercase_dotted_name() {
        AuditAction::ALL
            .iter()
            .for_each(|a| a_new_variant_belongs_in_all(*a));
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
}
