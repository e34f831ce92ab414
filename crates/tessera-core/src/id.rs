//! Opaque record identifiers.
//!
//! An id is a type prefix (`org_`, `usr_`, …) followed by 26 characters of a
//! ULID-like value: 48 bits of milliseconds since the Unix epoch and 80 random
//! bits, in lowercase Crockford base32. Ids therefore sort by creation time,
//! which keeps cursor pagination "ordered by id" stable when new records are
//! inserted while a client pages through a list.

use std::time::{SystemTime, UNIX_EPOCH};

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The kinds of record that carry an id, each with its own prefix so an id
/// pasted into the wrong place is recognisable at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Organization,
    Account,
    Bot,
    Role,
    AuditEntry,
    ApiClient,
    ApiKey,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Organization => "org",
            IdKind::Account => "usr",
            IdKind::Bot => "bot",
            IdKind::Role => "rol",
            IdKind::AuditEntry => "aud",
            IdKind::ApiClient => "cli",
            IdKind::ApiKey => "key",
        }
    }
}

/// A new id of the given kind, stamped with the current time.
pub fn new_id(kind: IdKind) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut random = [0u8; 10];
    crate::secret::fill_random(&mut random);
    format_id(kind, millis, random)
}

fn format_id(kind: IdKind, millis: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    let mut encoded = [0u8; 26];
    for slot in encoded.iter_mut().rev() {
        *slot = CROCKFORD[(value & 0x1F) as usize];
        value >>= 5;
    }
    let mut id = String::with_capacity(kind.prefix().len() + 27);
    id.push_str(kind.prefix());
    id.push('_');
    id.extend(encoded.iter().map(|b| *b as char));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_fixed_length() {
        let id = new_id(IdKind::Organization);
        assert!(id.starts_with("org_"), "{id}");
        assert_eq!(id.len(), 4 + 26);
        assert!(id[4..].bytes().all(|b| CROCKFORD.contains(&b)));
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let earlier = format_id(IdKind::Account, 1_000, [0xFF; 10]);
        let later = format_id(IdKind::Account, 1_001, [0x00; 10]);
        assert!(earlier < later);
    }

    #[test]
    fn two_ids_made_in_the_same_millisecond_differ() {
        let a = new_id(IdKind::Role);
        let b = new_id(IdKind::Role);
        assert_ne!(a, b);
    }
}
