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

    /// What the problem means and what to do about it, for the page the
    /// problem's `type` points at.
    pub fn explanation(self) -> &'static str {
        EXPLANATIONS
            .iter()
            .find(|(code, _)| *code == self)
            .map_or("", |(_, text)| text)
    }

    /// The problem's `type`: a page on this deployment explaining the code
    /// (`/problems/rate-limited`), so a self-hosted server documents itself.
    pub fn type_path(self) -> String {
        format!("/problems/{}", self.as_str().replace('_', "-"))
    }

    /// The code a `/problems/{slug}` page is about.
    pub fn from_type_slug(slug: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str().replace('_', "-") == slug)
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

/// [`ErrorCode::explanation`], one entry per code (a test checks).
const EXPLANATIONS: [(ErrorCode, &str); 27] = [
    (
        ErrorCode::InvalidRequest,
        "A parameter, header or the body is not valid. The detail says what to change; details names the parameters or fields.",
    ),
    (
        ErrorCode::ApiKeyInQuery,
        "An API key was sent in the URL, where proxies and logs keep it. Send it in the X-API-KEY header (or Authorization: Bearer) and roll the key, as it may have been logged.",
    ),
    (
        ErrorCode::AmbiguousOrganization,
        "The request carried keys of several organisations without saying which one it acts for. Send X-Organization with that organisation's slug.",
    ),
    (
        ErrorCode::MissingApiKey,
        "The request carried no API key. Send one in the X-API-KEY header or as Authorization: Bearer.",
    ),
    (
        ErrorCode::InvalidApiKey,
        "The key is not one this deployment knows: mistyped, cut short, or from another deployment. Keys are shown once, when they are created; copy the whole key.",
    ),
    (
        ErrorCode::ExpiredApiKey,
        "The key is past its expiry time. Roll it or ask an administrator for a new one.",
    ),
    (
        ErrorCode::RevokedApiKey,
        "The key was revoked and will never work again. Use another key.",
    ),
    (
        ErrorCode::InvalidApiClient,
        "The X-API-Client credential is unknown, disabled, or was rotated out. Check the credential the operator gave your integration.",
    ),
    (
        ErrorCode::InvalidCredentials,
        "The username or password is wrong, or the account may not use it here. Key management takes a console account over HTTP Basic (an app password when the account uses two-factor sign-in).",
    ),
    (
        ErrorCode::PermissionDenied,
        "The key or account may not do this to this resource. The details name the missing permission; an administrator can widen the key, or the role of its owner.",
    ),
    (
        ErrorCode::FieldNotPermitted,
        "The request names fields the key may not read or write, in the body, in fields= or in a filter. Leave them out, or use a key whose permissions cover them.",
    ),
    (
        ErrorCode::IpNotAllowed,
        "The key only works from the addresses on its allow-list, and this request came from elsewhere. Call from an allowed address, or ask an administrator to add yours.",
    ),
    (
        ErrorCode::ApiClientRequired,
        "Several keys in one request need a valid API client credential in X-API-Client.",
    ),
    (
        ErrorCode::ApiClientBlocked,
        "The organisation has blocked this API client from using its keys. Ask the organisation's administrator.",
    ),
    (
        ErrorCode::BrowserRequestsNotSupported,
        "The request came from a web page (a cross-origin browser request). API keys must not reach browsers; call the API from your server.",
    ),
    (
        ErrorCode::OrganizationNotInKeys,
        "X-Organization names an organisation that none of the keys sent belongs to.",
    ),
    (
        ErrorCode::NotFound,
        "Nothing exists at this address, or no record with this id exists in your organisation. Check the resource's name and the id.",
    ),
    (
        ErrorCode::MethodNotAllowed,
        "This address does not accept this HTTP method. The interactive documentation at /docs lists what each resource supports.",
    ),
    (
        ErrorCode::Conflict,
        "The change conflicts with what is stored, for example a record that others still refer to, or a name already taken. The detail says what to change first.",
    ),
    (
        ErrorCode::IdempotencyKeyReused,
        "This Idempotency-Key was already used for a different request. Send a new key with a new request; resend the same request to get its first answer again.",
    ),
    (
        ErrorCode::CursorExpired,
        "The events after this cursor have been pruned. Load everything again, starting from a cursor taken with after=now before the load.",
    ),
    (
        ErrorCode::PreconditionFailed,
        "The record has changed since the ETag sent in If-Match was read. Fetch it again, reapply the change and send the new ETag.",
    ),
    (
        ErrorCode::PayloadTooLarge,
        "The body is larger than this deployment accepts. Send less at a time.",
    ),
    (
        ErrorCode::UnsupportedMediaType,
        "The body's Content-Type is not one this operation accepts: application/json for records, multipart/form-data for document uploads.",
    ),
    (
        ErrorCode::RateLimited,
        "The key's own rate limit or the organisation's was reached; the detail says which. Wait the seconds in Retry-After, then retry.",
    ),
    (
        ErrorCode::InternalError,
        "Something failed on the server and nothing was changed by this request. Retry; if it keeps failing, give the operator the request_id.",
    ),
    (
        ErrorCode::ServiceUnavailable,
        "The server is too busy to take this request now, or is shutting down. Retry after the seconds in Retry-After.",
    ),
];

/// "1 second", "30 seconds": for "retry in …" in refusals.
pub fn seconds(count: u64) -> String {
    if count == 1 {
        "1 second".to_owned()
    } else {
        format!("{count} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_is_singular() {
        assert_eq!(seconds(1), "1 second");
        assert_eq!(seconds(30), "30 seconds");
    }

    #[test]
    fn every_code_has_a_type_page_that_leads_back_to_it() {
        for code in ErrorCode::ALL {
            let slug = code.type_path();
            let slug = slug.strip_prefix("/problems/").unwrap();
            assert_eq!(ErrorCode::from_type_slug(slug), Some(code));
            assert!(code.explanation().ends_with('.'), "{code:?}");
        }
        assert_eq!(ErrorCode::from_type_slug("no-such-code"), None);
    }

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
