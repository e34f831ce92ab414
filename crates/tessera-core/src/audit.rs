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

/// Declares the actions once: the enum, the list of all of them and their
/// names cannot drift apart.
macro_rules! audit_actions {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened. The dotted names are stable: they are stored and shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        }
    };
}

audit_actions! {
    LoginSucceeded => "login.succeeded",
    LoginFailed => "login.failed",
    LoginThrottled => "login.throttled",
    Logout => "logout",
    OperatorCreated => "operator.created",
    OrganizationCreated => "organization.created",
    UserCreated => "user.created",
    BotCreated => "bot.created",
    RateLimitChanged => "organization.rate_limit_changed",
    ClientCreated => "api_client.created",
    ClientDisabled => "api_client.disabled",
    ClientEnabled => "api_client.enabled",
    ClientRotated => "api_client.rotated",
    ClientBlocked => "api_client.blocked",
    ClientUnblocked => "api_client.unblocked",
    ClientApplicationSubmitted => "api_client_application.submitted",
    ClientApplicationApproved => "api_client_application.approved",
    ClientApplicationRejected => "api_client_application.rejected",
    KeyCreated => "api_key.created",
    KeyRevoked => "api_key.revoked",
    KeyRolled => "api_key.rolled",
    KeysRevokedAll => "api_key.revoked_all",
    KeyLeaked => "api_key.leaked",
    KeyCreationPolicyChanged => "organization.key_creation_changed",
    RecordsImported => "records.imported",
    RoleCreated => "role.created",
    RoleUpdated => "role.updated",
    RoleDeleted => "role.deleted",
    UserDeactivated => "user.deactivated",
    UserReactivated => "user.reactivated",
    UserRoleChanged => "user.role_changed",
    UserPasswordReset => "user.password_reset",
    BotDeactivated => "bot.deactivated",
    BotReactivated => "bot.reactivated",
    BotRoleChanged => "bot.role_changed",
    OrganizationSettingsChanged => "organization.settings_changed",
}

#[cfg(test)]
mod tests {
    use super::AuditAction;
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
}
