//! The format of Tessera's bearer secrets: API keys (`sk_…`) and API client
//! credentials (`ck_…`).
//!
//! A generated secret is its prefix, 37 characters drawn uniformly from the
//! base62 alphabet with the operating system's CSPRNG (37 × log2 62 ≈ 220
//! bits), and a 6-character checksum: the CRC-32 (IEEE) of the 37 random
//! characters, written in base62 (`0-9A-Za-z`), most significant digit first,
//! left-padded with `0`. The checksum lets anyone reject a mistyped or
//! fabricated secret without a database lookup.
//!
//! Only the SHA-256 of a secret is ever stored; the raw value is shown once.

use sha2::{Digest, Sha256};
use std::fmt;

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const RANDOM_LEN: usize = 37;
pub const CHECKSUM_LEN: usize = 6;
const BODY_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;

/// Which kind of secret a string is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ApiKey,
    ClientCredential,
}

impl SecretKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "sk_",
            SecretKind::ClientCredential => "ck_",
        }
    }
}

/// Why a presented string cannot be a secret of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("the value does not start with the expected prefix")]
    WrongPrefix,
    #[error("the value has the wrong length")]
    WrongLength,
    #[error("the value contains characters outside the base62 alphabet")]
    NotBase62,
    #[error("the checksum does not match: the value is mistyped or fabricated")]
    BadChecksum,
    #[error("the value is not a GUID of the form 8-4-4-4-12 hexadecimal digits")]
    NotAGuid,
}

/// A freshly generated secret: the raw value to show once, and what may be
/// stored about it.
pub struct GeneratedSecret {
    pub raw: String,
    pub hash: SecretHash,
    pub hint: String,
}

impl fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedSecret")
            .field("raw", &"<redacted>")
            .field("hash", &self.hash)
            .field("hint", &self.hint)
            .finish()
    }
}

/// SHA-256 of a secret's canonical text, as 64 lowercase hex digits: the only
/// form in which a secret is stored or used as a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn of(canonical: &str) -> Self {
        let digest = Sha256::digest(canonical.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(HEX[(byte >> 4) as usize] as char);
            hex.push(HEX[(byte & 0x0F) as usize] as char);
        }
        SecretHash(hex)
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        SecretHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    // Without the OS generator no secret can be made safely; there is no
    // sensible fallback, so this is the one place Tessera stops outright.
    getrandom::fill(buf).expect("the operating system's random number generator is unavailable");
}

/// `len` characters drawn uniformly from the base62 alphabet.
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while out.len() < len {
        fill_random(&mut pool);
        // 248 = 4 × 62: rejecting bytes above it keeps every character equally likely.
        for byte in pool.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[(*byte % 62) as usize] as char);
        }
    }
    out
}

/// The 6-character base62 CRC-32 checksum of `random`.
pub fn checksum(random: &str) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(random.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits
}

/// Generates a new secret of the given kind.
pub fn generate(kind: SecretKind) -> GeneratedSecret {
    let random = random_base62(RANDOM_LEN);
    let sum = checksum(&random);
    let mut raw = String::with_capacity(kind.prefix().len() + BODY_LEN);
    raw.push_str(kind.prefix());
    raw.push_str(&random);
    raw.extend(sum.iter().map(|b| *b as char));
    GeneratedSecret {
        hash: SecretHash::of(&raw),
        hint: hint(&raw),
        raw,
    }
}

/// Checks the shape and checksum of a generated secret without any lookup.
pub fn check_generated(kind: SecretKind, presented: &str) -> Result<(), SecretFormatError> {
    let body = presented
        .strip_prefix(kind.prefix())
        .ok_or(SecretFormatError::WrongPrefix)?;
    if body.len() != BODY_LEN {
        return Err(SecretFormatError::WrongLength);
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SecretFormatError::NotBase62);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum(random) != sum.as_bytes() {
        return Err(SecretFormatError::BadChecksum);
    }
    Ok(())
}

/// The canonical (upper-case) text of a caller-supplied GUID key, e.g.
/// `3F2504E0-4F89-11D3-9A0C-0305E82C3301`. GUIDs are compared without regard
/// to case, so the canonical form is what gets hashed.
pub fn canonical_guid(presented: &str) -> Result<String, SecretFormatError> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let parts: Vec<&str> = presented.split('-').collect();
    let well_formed = parts.len() == GROUPS.len()
        && parts
            .iter()
            .zip(GROUPS)
            .all(|(part, len)| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(SecretFormatError::NotAGuid);
    }
    Ok(presented.to_ascii_uppercase())
}

/// GUIDs anyone could guess, refused as custom keys: the example from
/// Tessera's documentation, and GUIDs with little variety — fewer than
/// eight different digits (`00000000-…-000000000042`), a digit repeated
/// seven times in a row, or eight digits counting up or down
/// (`12345678-…`). A random (version 4) GUID falls foul of these only with
/// a probability of about two in a million. Takes a canonical GUID.
pub fn is_guessable_guid(canonical: &str) -> bool {
    const DOCUMENTED_EXAMPLES: [&str; 2] = [
        "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
        "5C3A9E1F-7B2D-4F8A-9E6C-1D4B7A2F0E83",
    ];
    let digits: Vec<u8> = canonical
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| (b as char).to_digit(16).unwrap_or(0) as u8)
        .collect();
    let distinct = digits
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let longest_run = |step: i16| {
        digits
            .windows(2)
            .fold((1, 1), |(best, current), pair| {
                let next = if i16::from(pair[1]) - i16::from(pair[0]) == step {
                    current + 1
                } else {
                    1
                };
                (best.max(next), next)
            })
            .0
    };
    DOCUMENTED_EXAMPLES.contains(&canonical)
        || distinct < 8
        || longest_run(0) >= 7
        || longest_run(1) >= 8
        || longest_run(-1) >= 8
}

/// The display hint of a secret: its prefix and first four characters, an
/// ellipsis, and its last four characters. Enough to recognise a key in a
/// list, far too little to use it.
pub fn hint(raw: &str) -> String {
    let (prefix, body) = match raw.get(..3) {
        Some(p @ ("sk_" | "ck_")) => (p, &raw[3..]),
        _ => ("", raw),
    };
    let chars: Vec<char> = body.chars().collect();
    if chars.len() < 8 {
        return format!("{prefix}…");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}{head}…{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn guessable_guids_are_recognised_and_random_ones_are_not() {
        for guessable in [
            "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
            "5C3A9E1F-7B2D-4F8A-9E6C-1D4B7A2F0E83",
            "00000000-0000-0000-0000-000000000042",
            "00000000-0000-0000-0000-000000000001",
            "12345678-9ABC-DEF0-1234-56789ABCDEF0",
            "AAAAAAAA-1111-2222-3333-444455556666",
            "FEDCBA98-7654-4321-8000-0B1C2D3E4F50",
        ] {
            assert!(is_guessable_guid(guessable), "{guessable}");
        }
        for random in [
            "6F1C2A7E-93B4-4D0A-8F5E-2B7C9D1E3A40",
            "D4E8A1C3-5B7F-4E92-A6D0-3C1F8B2E7A95",
            "9B3E7F12-C4A8-4D6E-B1F5-0A2C8E4D6B37",
            "1F7C0B9A-2E4D-4A8F-9C3B-5D6E7F8A0B1C",
        ] {
            assert!(!is_guessable_guid(random), "{random}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_keys_have_the_published_shape() {
        let key = generate(SecretKind::ApiKey);
        assert!(key.raw.starts_with("sk_"));
        assert_eq!(key.raw.len(), 3 + 43);
        assert!(key.raw[3..].bytes().all(|b| BASE62.contains(&b)));
        assert_eq!(check_generated(SecretKind::ApiKey, &key.raw), Ok(()));
        assert_eq!(key.hash, SecretHash::of(&key.raw));
        assert_eq!(
            key.hint,
            format!("sk_{}…{}", &key.raw[3..7], &key.raw[42..])
        );
    }

    #[test]
    fn checksum_matches_the_published_algorithm() {
        // CRC-32/IEEE("123456789") = 0xCBF43926 = 3421780262, which is
        // "3jZRME" in base62 with the 0-9A-Za-z alphabet (computed
        // independently with Python's zlib.crc32).
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(&checksum("123456789"), b"3jZRME");
        // A CRC of zero pads to all zeros.
        assert_eq!(&checksum(""), b"000000");
    }

    #[test]
    fn client_credentials_use_their_own_prefix() {
        let credential = generate(SecretKind::ClientCredential);
        assert!(credential.raw.starts_with("ck_"));
        assert_eq!(
            check_generated(SecretKind::ClientCredential, &credential.raw),
            Ok(())
        );
        assert_eq!(
            check_generated(SecretKind::ApiKey, &credential.raw),
            Err(SecretFormatError::WrongPrefix)
        );
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_reason() {
        let key = generate(SecretKind::ApiKey).raw;
        assert_eq!(
            check_generated(SecretKind::ApiKey, &key[..40]),
            Err(SecretFormatError::WrongLength)
        );
        let mut non_base62 = key.clone();
        non_base62.replace_range(10..11, "-");
        assert_eq!(
            check_generated(SecretKind::ApiKey, &non_base62),
            Err(SecretFormatError::NotBase62)
        );
    }

    #[test]
    fn guid_keys_are_validated_and_canonicalised() {
        assert_eq!(
            canonical_guid("3f2504e0-4f89-11d3-9a0c-0305e82c3301").as_deref(),
            Ok("3F2504E0-4F89-11D3-9A0C-0305E82C3301")
        );
        for bad in [
            "3F2504E0-4F89-11D3-9A0C",
            "3F2504E04F8911D39A0C0305E82C3301",
            "3F2504E0-4F89-11D3-9A0C-0305E82C330G",
            "{3F2504E0-4F89-11D3-9A0C-0305E82C3301}",
            "",
        ] {
            assert_eq!(
                canonical_guid(bad),
                Err(SecretFormatError::NotAGuid),
                "{bad}"
            );
        }
    }

    #[test]
    fn hints_never_reveal_more_than_eight_characters() {
        assert_eq!(hint("3F2504E0-4F89-11D3-9A0C-0305E82C3301"), "3F25…3301");
        assert_eq!(hint("sk_short"), "sk_…");
    }

    #[test]
    fn random_characters_cover_the_whole_alphabet() {
        let sample = random_base62(20_000);
        for c in BASE62 {
            assert!(sample.as_bytes().contains(c), "{} never drawn", *c as char);
        }
    }

    proptest! {
        #[test]
        fn any_single_character_change_breaks_the_checksum(position in 3usize..46, replacement in 0usize..62) {
            let key = generate(SecretKind::ApiKey).raw;
            let mut bytes = key.clone().into_bytes();
            prop_assume!(bytes[position] != BASE62[replacement]);
            bytes[position] = BASE62[replacement];
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(check_generated(SecretKind::ApiKey, &tampered), Err(SecretFormatError::BadChecksum));
        }

        #[test]
        fn arbitrary_text_never_panics_the_parser(text in ".{0,64}") {
            let _ = check_generated(SecretKind::ApiKey, &text);
            let _ = canonical_guid(&text);
            let _ = hint(&text);
        }
    }
}
