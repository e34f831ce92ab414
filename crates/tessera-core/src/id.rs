//! Opaque record identifiers.
//!
//! An id is a type prefix (`org_`, `usr_`, …) followed by 26 characters of a
//! ULID-like value: 48 bits of milliseconds since the Unix epoch and 80 random
//! bits, in lowercase Crockford base32. Ids therefore sort by creation time,
//! which keeps cursor pagination "ordered by id" stable when new records are
//! inserted while a client pages through a list.

use std::sync::Mutex;
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
    WebhookEndpoint,
    WebhookEvent,
    WebhookMessage,
    AppPassword,
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
            IdKind::WebhookEndpoint => "wep",
            IdKind::WebhookEvent => "evt",
            IdKind::WebhookMessage => "msg",
            IdKind::AppPassword => "apw",
        }
    }
}

/// A new id of the given kind, stamped with the current time.
pub fn new_id(kind: IdKind) -> String {
    new_prefixed_id(kind.prefix())
}

/// A new id with a prefix of the caller's, e.g. a data API resource's
/// declared `id_prefix`.
///
/// Ids made by one process are strictly increasing, even within one
/// millisecond (the random part of a later id is the earlier one's plus
/// one, as in monotonic ULIDs): a record created while a client pages
/// through a list always sorts after the records it has already seen.
pub fn new_prefixed_id(prefix: &str) -> String {
    static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut bytes = [0u8; 16];
    crate::secret::fill_random(&mut bytes[6..]);
    let fresh = u128::from_be_bytes(bytes);
    let (millis, random) = {
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = if now > last.0 || last.1 >= RANDOM_MAX {
            (now.max(last.0 + u64::from(last.1 >= RANDOM_MAX)), fresh)
        } else {
            (last.0, last.1 + 1)
        };
        *last = next;
        next
    };
    let random_bytes = random.to_be_bytes();
    let mut random = [0u8; 10];
    random.copy_from_slice(&random_bytes[6..]);
    format_id(prefix, millis, random)
}

/// An id stamped with `millis` rather than now, for a record of something
/// that happened earlier (a request logged later by a batch writer). Ids
/// made one after another for the same millisecond increase, so records
/// of one millisecond keep the order they were made in. The random part
/// is drawn once per process and counted up from there: a batch writer
/// makes thousands a second, and a system call each would be its
/// largest cost; uniqueness across processes rests on the first draw.
pub fn prefixed_id_at(prefix: &str, millis: i64) -> String {
    static NEXT: Mutex<Option<u128>> = Mutex::new(None);
    let millis = u64::try_from(millis).unwrap_or(0);
    let random = {
        let mut next = NEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let random = next.unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            crate::secret::fill_random(&mut bytes[6..]);
            u128::from_be_bytes(bytes)
        });
        *next = Some(if random >= RANDOM_MAX { 0 } else { random + 1 });
        random
    };
    let mut random_bytes = [0u8; 10];
    random_bytes.copy_from_slice(&random.to_be_bytes()[6..]);
    format_id(prefix, millis, random_bytes)
}

/// The smallest id with `prefix` stamped at `millis`: ids compare like
/// their times, so a time range is an id range that the primary key serves.
pub fn first_id_at(prefix: &str, millis: i64) -> String {
    format_id(prefix, u64::try_from(millis).unwrap_or(0), [0; 10])
}

/// The largest 80-bit random part.
const RANDOM_MAX: u128 = (1 << 80) - 1;

fn format_id(prefix: &str, millis: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    let mut encoded = [0u8; 26];
    for slot in encoded.iter_mut().rev() {
        *slot = CROCKFORD[(value & 0x1F) as usize];
        value >>= 5;
    }
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    id.extend(encoded.iter().map(|b| *b as char));
    id
}

/// Declares an id type per kind of record, so an organisation's id cannot
/// be passed where a key's is expected. Each wraps the stored text: `new`
/// makes a fresh one, `from` takes one read from storage or a request (not
/// checked: a wrong one simply finds nothing), and it reads as a `str`.
macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident => $kind:ident,)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
            #[serde(transparent)]
            pub struct $name(String);

            impl $name {
                pub fn new() -> Self {
                    $name(new_id(IdKind::$kind))
                }

                pub fn as_str(&self) -> &str {
                    &self.0
                }

                pub fn into_string(self) -> String {
                    self.0
                }
            }

            impl Default for $name {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl From<String> for $name {
                fn from(id: String) -> Self {
                    $name(id)
                }
            }

            impl From<&str> for $name {
                fn from(id: &str) -> Self {
                    $name(id.to_owned())
                }
            }

            impl std::ops::Deref for $name {
                type Target = str;
                fn deref(&self) -> &str {
                    &self.0
                }
            }

            impl AsRef<str> for $name {
                fn as_ref(&self) -> &str {
                    &self.0
                }
            }

            impl std::borrow::Borrow<str> for $name {
                fn borrow(&self) -> &str {
                    &self.0
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }

            impl PartialEq<str> for $name {
                fn eq(&self, other: &str) -> bool {
                    self.0 == other
                }
            }

            impl PartialEq<&str> for $name {
                fn eq(&self, other: &&str) -> bool {
                    self.0 == *other
                }
            }

            impl PartialEq<String> for $name {
                fn eq(&self, other: &String) -> bool {
                    &self.0 == other
                }
            }
        )*
    };
}

typed_ids! {
    /// An organisation (tenant): `org_…`.
    OrganizationId => Organization,
    /// An account, an operator or an organisation's user: `usr_…`.
    AccountId => Account,
    /// A bot user of an organisation: `bot_…`.
    BotId => Bot,
    /// A role of an organisation: `rol_…`.
    RoleId => Role,
    /// An API key: `key_…`.
    KeyId => ApiKey,
    /// An API client: `cli_…`.
    ClientId => ApiClient,
    /// A webhook endpoint: `wep_…`.
    EndpointId => WebhookEndpoint,
    /// An event, one per change: `evt_…`.
    EventId => WebhookEvent,
    /// A webhook message, one event for one endpoint: `msg_…` (the
    /// `webhook-id` a receiver dedupes on).
    MessageId => WebhookMessage,
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
        let earlier = format_id("usr", 1_000, [0xFF; 10]);
        let later = format_id("usr", 1_001, [0x00; 10]);
        assert!(earlier < later);
    }

    #[test]
    fn ids_made_by_one_process_strictly_increase() {
        let ids: Vec<String> = (0..10_000).map(|_| new_prefixed_id("grp")).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn ids_stamped_with_a_time_sort_by_it_and_keep_their_order_within_it() {
        let same: Vec<String> = (0..100).map(|_| prefixed_id_at("req", 5_000)).collect();
        assert!(same.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(first_id_at("req", 5_000) < same[0]);
        assert!(same[99] < first_id_at("req", 5_001));
        assert!(prefixed_id_at("req", 4_999) < first_id_at("req", 5_000));
    }

    #[test]
    fn two_ids_made_in_the_same_millisecond_differ() {
        let a = new_id(IdKind::Role);
        let b = new_id(IdKind::Role);
        assert_ne!(a, b);
    }
}
