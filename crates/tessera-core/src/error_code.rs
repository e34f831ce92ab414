//! The stable error codes of the API, each with its HTTP status and
//! problem title. The HTTP layer renders them; the rules that choose them live
//! here and in the access engine.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    ApiKeyInQuery,
    AmbiguousOrganization,
    MissingApiKey,
    InvalidApiKey,
    ExpiredApiKey,
    RevokedApiKey,
    InvalidApiClient,
    InvalidCredentials,
    PermissionDenied,
    FieldNotPermitted,
    IpNotAllowed,
    ApiClientRequired,
    ApiClientBlocked,
    BrowserRequestsNotSupported,
    OrganizationNotInKeys,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyKeyReused,
    CursorExpired,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 27] = [
        ErrorCode::InvalidRequest,
        ErrorCode::ApiKeyInQuery,
        ErrorCode::AmbiguousOrganization,
        ErrorCode::MissingApiKey,
        ErrorCode::InvalidApiKey,
        ErrorCode::ExpiredApiKey,
        ErrorCode::RevokedApiKey,
        ErrorCode::InvalidApiClient,
        ErrorCode::InvalidCredentials,
        ErrorCode::PermissionDenied,
        ErrorCode::FieldNotPermitted,
        ErrorCode::IpNotAllowed,
        ErrorCode::ApiClientRequired,
        ErrorCode::ApiClientBlocked,
        ErrorCode::BrowserRequestsNotSupported,
        ErrorCode::OrganizationNotInKeys,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::CursorExpired,
        ErrorCode::PreconditionFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::ServiceUnavailable,
    ];

    /// The snake_case code clients match on.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::ApiKeyInQuery => "api_key_in_query",
            ErrorCode::AmbiguousOrganization => "ambiguous_organization",
            ErrorCode::MissingApiKey => "missing_api_key",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::ExpiredApiKey => "expired_api_key",
            ErrorCode::RevokedApiKey => "revoked_api_key",
            ErrorCode::InvalidApiClient => "invalid_api_client",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::FieldNotPermitted => "field_not_permitted",
            ErrorCode::IpNotAllowed => "ip_not_allowed",
            ErrorCode::ApiClientRequired => "api_client_required",
            ErrorCode::ApiClientBlocked => "api_client_blocked",
            ErrorCode::BrowserRequestsNotSupported => "browser_requests_not_supported",
            ErrorCode::OrganizationNotInKeys => "organization_not_in_keys",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::CursorExpired => "cursor_expired",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The HTTP status this code is always sent with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest
            | ErrorCode::ApiKeyInQuery
            | ErrorCode::AmbiguousOrganization => 400,
            ErrorCode::MissingApiKey
            | ErrorCode::InvalidApiKey
            | ErrorCode::ExpiredApiKey
            | ErrorCode::RevokedApiKey
            | ErrorCode::InvalidApiClient
            | ErrorCode::InvalidCredentials => 401,
            ErrorCode::PermissionDenied
            | ErrorCode::FieldNotPermitted
            | ErrorCode::IpNotAllowed
            | ErrorCode::ApiClientRequired
            | ErrorCode::ApiClientBlocked
            | ErrorCode::BrowserRequestsNotSupported
            | ErrorCode::OrganizationNotInKeys => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::IdempotencyKeyReused => 409,
            ErrorCode::CursorExpired => 410,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::ServiceUnavailable => 503,
        }
    }

    /// A short, human title for the problem's `title` member.
    pub const fn title(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "Invalid request",
            ErrorCode::ApiKeyInQuery => "API key in query string",
            ErrorCode::AmbiguousOrganization => "Ambiguous organization",
            ErrorCode::MissingApiKey => "Missing API key",
            ErrorCode::InvalidApiKey => "Invalid API key",
            ErrorCode::ExpiredApiKey => "Expired API key",
            ErrorCode::RevokedApiKey => "Revoked API key",
            ErrorCode::InvalidApiClient => "Invalid API client",
            ErrorCode::InvalidCredentials => "Invalid credentials",
            ErrorCode::PermissionDenied => "Permission denied",
            ErrorCode::FieldNotPermitted => "Field not permitted",
            ErrorCode::IpNotAllowed => "IP address not allowed",
            ErrorCode::ApiClientRequired => "API client required",
            ErrorCode::ApiClientBlocked => "API client blocked",
            ErrorCode::BrowserRequestsNotSupported => "Browser requests not supported",
            ErrorCode::OrganizationNotInKeys => "Organization not in keys",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::IdempotencyKeyReused => "Idempotency key reused",
            ErrorCode::CursorExpired => "Cursor expired",
            ErrorCode::PreconditionFailed => "Precondition failed",
            ErrorCode::PayloadTooLarge => "Payload too large",
            ErrorCode::UnsupportedMediaType => "Unsupported media type",
            ErrorCode::RateLimited => "Too Many Requests",
            ErrorCode::InternalError => "Internal error",
            ErrorCode::ServiceUnavailable => "Service unavailable",
        }
    }

    /// The generic code for an error status produced outside Tessera's own
    /// handlers (a body-limit layer, a panic, the router itself).
    pub const fn for_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::InvalidCredentials,
            403 => ErrorCode::PermissionDenied,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            412 => ErrorCode::PreconditionFailed,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            400..=499 => ErrorCode::InvalidRequest,
            _ => ErrorCode::InternalError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_match_their_serde_names() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{} repeated", code.as_str());
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn rate_limited_title_is_exactly_the_seed_message() {
        assert_eq!(ErrorCode::RateLimited.title(), "Too Many Requests");
        assert_eq!(ErrorCode::RateLimited.status(), 429);
    }

    #[test]
    fn generic_statuses_map_back_to_codes_with_that_status() {
        for status in [400, 404, 405, 409, 412, 413, 415, 429, 500, 503] {
            assert_eq!(ErrorCode::for_status(status).status(), status);
        }
    }
}
