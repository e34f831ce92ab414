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
    ClientApplicationSubmitted,
    ClientApplicationApproved,
    ClientApplicationRejected,
    KeyCreated,
    KeyRevoked,
    KeyRolled,
    KeysRevokedAll,
    KeyLeaked,
    KeyCreationPolicyChanged,
    RecordsImported,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
    UserPasswordReset,
    BotDeactivated,
    BotReactivated,
    BotRoleChanged,
    OrganizationSettingsChanged,
}

impl AuditAction {
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
            AuditAction::ClientApplicationSubmitted => "api_client_application.submitted",
            AuditAction::ClientApplicationApproved => "api_client_application.approved",
            AuditAction::ClientApplicationRejected => "api_client_application.rejected",
            AuditAction::KeyCreated => "api_key.created",
            AuditAction::KeyRevoked => "api_key.revoked",
            AuditAction::KeyRolled => "api_key.rolled",
            AuditAction::KeysRevokedAll => "api_key.revoked_all",
            AuditAction::KeyLeaked => "api_key.leaked",
            AuditAction::KeyCreationPolicyChanged => "organization.key_creation_changed",
            AuditAction::RecordsImported => "records.imported",
            AuditAction::RoleCreated => "role.created",
            AuditAction::RoleUpdated => "role.updated",
            AuditAction::RoleDeleted => "role.deleted",
            AuditAction::UserDeactivated => "user.deactivated",
            AuditAction::UserReactivated => "user.reactivated",
            AuditAction::UserRoleChanged => "user.role_changed",
            AuditAction::UserPasswordReset => "user.password_reset",
            AuditAction::BotDeactivated => "bot.deactivated",
            AuditAction::BotReactivated => "bot.reactivated",
            AuditAction::BotRoleChanged => "bot.role_changed",
            AuditAction::OrganizationSettingsChanged => "organization.settings_changed",
        }
    }
}
