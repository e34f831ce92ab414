//! Reading the credentials a request presents (`X-API-KEY`, or a bearer token),
//! from plain header values, before anything is looked up.

use crate::secret::{self, SecretFormatError, SecretHash, SecretKind};

/// Query parameters that look like a key: refused, because URLs leak into
/// logs, proxies and browser history.
pub const KEY_QUERY_PARAMETERS: [&str; 3] = ["api_key", "key", "token"];

/// Whether a raw query string carries a key-like parameter.
pub fn query_carries_key(query: &str) -> bool {
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| {
            KEY_QUERY_PARAMETERS
                .iter()
                .any(|k| name.eq_ignore_ascii_case(k))
        })
}

/// The keys a request presents: every `X-API-KEY` value (repeated headers
/// and comma-separated lists alike) if there is one, otherwise the token of
/// an `Authorization: Bearer` header. `X-API-KEY` wins when both are sent.
pub fn presented_keys<'a>(
    x_api_key: impl IntoIterator<Item = &'a str>,
    authorization: Option<&'a str>,
) -> Vec<&'a str> {
    let from_header: Vec<&str> = x_api_key
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .collect();
    if !from_header.is_empty() {
        return from_header;
    }
    authorization
        .and_then(bearer_token)
        .map(|token| vec![token])
        .unwrap_or_default()
}

fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The storage hash of a presented API key, if it is well-formed: a
/// generated `sk_` key with a valid checksum, or a GUID key. Everything else
/// is refused here, with no lookup.
pub fn api_key_hash(presented: &str) -> Result<SecretHash, SecretFormatError> {
    if presented.starts_with(SecretKind::ApiKey.prefix()) {
        secret::check_generated(SecretKind::ApiKey, presented)?;
        Ok(SecretHash::of(presented))
    } else {
        secret::canonical_guid(presented).map(|guid| SecretHash::of(&guid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_api_key_wins_over_bearer() {
        assert_eq!(presented_keys(["sk_a"], Some("Bearer sk_b")), ["sk_a"]);
        assert_eq!(presented_keys([], Some("Bearer sk_b")), ["sk_b"]);
        assert_eq!(presented_keys([], Some("bearer   sk_b ")), ["sk_b"]);
        assert_eq!(presented_keys(["  "], Some("Bearer sk_b")), ["sk_b"]);
    }

    #[test]
    fn several_keys_come_comma_separated_or_repeated() {
        assert_eq!(
            presented_keys(["sk_a, sk_b", "sk_c"], None),
            ["sk_a", "sk_b", "sk_c"]
        );
    }

    #[test]
    fn other_authorization_schemes_present_no_key() {
        assert!(presented_keys([], Some("Basic dXNlcjpwYXNz")).is_empty());
        assert!(presented_keys([], Some("Bearer")).is_empty());
        assert!(presented_keys([], None).is_empty());
    }

    #[test]
    fn keys_in_the_query_string_are_spotted() {
        assert!(query_carries_key("api_key=sk_x"));
        assert!(query_carries_key("limit=5&Token=abc"));
        assert!(query_carries_key("key"));
        assert!(!query_carries_key("keys=1&monkey=2"));
        assert!(!query_carries_key(""));
    }

    #[test]
    fn generated_and_guid_keys_hash_and_junk_does_not() {
        let key = secret::generate(SecretKind::ApiKey);
        assert_eq!(api_key_hash(&key.raw), Ok(key.hash));
        assert_eq!(
            api_key_hash("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            api_key_hash("3F2504E0-4F89-11D3-9A0C-0305E82C3301")
        );
        assert!(api_key_hash("sk_definitelynotakey").is_err());
        assert!(api_key_hash("password123").is_err());
    }
}
