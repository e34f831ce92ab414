//! Arbitrary bytes in the headers and bodies a write reads: each is taken
//! or refused with a 4xx, never a panic.

use super::{idempotency_key, if_match, write_refusal};
use axum::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::Value;
use tessera_core::records::{self, FieldGrant, WriteMode};
use tessera_store::records::StoredRecord;

fn headers(name: &'static str, bytes: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(bytes).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

fn record(version: i64) -> StoredRecord {
    StoredRecord {
        id: "emp_01jdq3k9m2x8v7c6b5n4t3r2s1".to_owned(),
        data: records::Data::new(),
        version,
        created_at: 0,
        updated_at: 0,
    }
}

proptest! {
    #[test]
    fn arbitrary_idempotency_keys_are_taken_or_refused_with_a_400(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        if let Some(headers) = headers("idempotency-key", &bytes) {
            match idempotency_key(&headers) {
                Ok(key) => prop_assert_eq!(key.map(str::as_bytes), Some(&bytes[..])),
                Err(refusal) => prop_assert_eq!(refusal.code().status(), 400),
            }
        }
    }

    #[test]
    fn arbitrary_if_match_values_match_or_are_refused_with_a_400(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            "(\\*|\"[0-9]{1,3}\"|W/\"1\"|[ -~]{0,8})(, ?\"[0-9]{1,3}\"){0,3}".prop_map(String::into_bytes),
        ],
        version in 1i64..1000,
    ) {
        if let Some(headers) = headers("if-match", &bytes) {
            match if_match(&headers, &record(version)) {
                Ok(matched) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let named = text.split(',').map(str::trim).any(|t| t == "*" || t == format!("\"{version}\""));
                    prop_assert_eq!(matched, named);
                }
                Err(refusal) => prop_assert_eq!(refusal.code().status(), 400),
            }
        }
    }

    #[test]
    fn arbitrary_json_bodies_are_refused_with_a_4xx(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        text in "\\{(\"[a-z_]{1,12}\": ?(null|true|-?[0-9]{1,20}(\\.[0-9]{1,4})?|\"[ -~]{0,20}\"|\\[\\]|\\{\\}), ?){0,4}\\}",
    ) {
        for body in [serde_json::from_slice::<Value>(&bytes).ok(), serde_json::from_str::<Value>(&text).ok()].into_iter().flatten() {
            for resource in tessera_core::resources::RESOURCES {
                for mode in [WriteMode::Create, WriteMode::Update] {
                    let existing = records::Data::new();
                    let existing = (mode == WriteMode::Update).then_some(&existing);
                    if let Err(err) = records::check_write(resource, &body, mode, FieldGrant::FULL, existing) {
                        let status = write_refusal(resource, err).code().status();
                        prop_assert!((400..500).contains(&status), "{} for {}", status, body);
                    }
                }
            }
        }
    }
}
