//! Reading the credentials a request presents (`X-API-KEY`, or a bearer token),
//! from plain header values, before anything is looked up.

use crate::secret::{self, SecretFormatError, SecretHash, SecretKind};

/// Query parameters that look like a key, compared after percent-decoding,
/// ignoring case and the separators `_`, `-` and `.` (`api_key`, `apiKey`,
/// `api%5Fkey`, `X-API-KEY`, `access_token` …): refused, because URLs leak
/// into logs, proxies and browser history.
pub const KEY_QUERY_PARAMETERS: [&str; 7] = [
    "apikey",
    "key",
    "token",
    "accesstoken",
    "authtoken",
    "xapikey",
    "bearer",
];

/// Whether a raw query string carries a key-like parameter.
pub fn query_carries_key(query: &str) -> bool {
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| KEY_QUERY_PARAMETERS.contains(&normalized_name(name).as_str()))
}

/// A parameter name percent-decoded, lowercased, without separators.
fn normalized_name(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded)
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
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
    use proptest::prelude::*;

    #[test]
    fn keys_in_the_query_are_found_under_any_spelling() {
        for query in [
            "api_key=x",
            "API_KEY=x",
            "apikey=x",
            "apiKey=x",
            "api-key=x",
            "api%5Fkey=x",
            "api%5fKEY=x",
            "limit=2&access_token=x",
            "x-api-key=x",
            "token",
            "Key=x",
            "auth_token=x",
        ] {
            assert!(query_carries_key(query), "{query}");
        }
        for query in [
            "limit=2",
            "status=active&fields=id",
            "monkey=1",
            "tokens=2",
            "",
        ] {
            assert!(!query_carries_key(query), "{query}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_query_strings_never_panic(query in ".{0,200}") {
            let _ = query_carries_key(&query);
        }

        /// Whatever `X-API-KEY` and `Authorization` carry, every presented
        /// key is a trimmed, non-empty piece of them, and checking its
        /// format refuses or hashes it without a panic.
        #[test]
        fn arbitrary_key_headers_are_split_and_checked_never_panic(
            x_api_key in prop::collection::vec(".{0,60}", 0..3),
            authorization in proptest::option::of(".{0,80}"),
        ) {
            let presented = presented_keys(x_api_key.iter().map(String::as_str), authorization.as_deref());
            for key in presented {
                prop_assert!(!key.is_empty() && key == key.trim());
                let _ = api_key_hash(key);
            }
        }
    }

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
