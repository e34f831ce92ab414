//! Two-factor sign-in: time-based one-time passwords (TOTP, RFC 6238 over
//! HOTP, RFC 4226: HMAC-SHA-1, 6 digits, 30-second steps) and one-time
//! recovery codes. Pure: the caller passes the time and remembers the last
//! step used, so a code cannot be replayed.

use crate::secret::{SecretHash, fill_random};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one (clock drift, typing time).
pub const WINDOW_STEPS: u64 = 1;
/// Bytes of a shared secret: 160 bits, the length RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads base32 (case-insensitive; spaces, dashes and padding ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        if matches!(c, b' ' | b'-' | b'=') {
            continue;
        }
        let value = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A TOTP shared secret, kept as its base32 text (how it is shown and stored).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        fill_random(&mut bytes);
        TotpSecret { bytes }
    }

    /// A stored or typed secret; `None` unless it is base32 of at least
    /// 80 bits (RFC 4226's minimum is 128; shorter ones are refused).
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let bytes = base32_decode(text)?;
        (bytes.len() >= 16).then_some(TotpSecret { bytes })
    }

    pub fn to_base32(&self) -> String {
        base32_encode(&self.bytes)
    }

    /// The `otpauth://` address authenticator apps read from the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", percent_encode(issuer), percent_encode(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.to_base32(),
            percent_encode(issuer)
        )
    }

    /// The code for one step (RFC 4226's HOTP with the step as counter).
    pub fn code_at_step(&self, step: u64) -> u32 {
        hotp(&self.bytes, step, DIGITS)
    }

    /// The code for a Unix time in seconds.
    pub fn code_at(&self, unix_seconds: u64) -> u32 {
        self.code_at_step(step_of(unix_seconds))
    }

    /// The step a typed code matches within the window around `unix_seconds`,
    /// if it is later than `last_used_step` (a used code, or an older
    /// one, is never accepted again). The caller stores the returned step.
    pub fn verify(
        &self,
        typed: &str,
        unix_seconds: u64,
        last_used_step: Option<u64>,
    ) -> Option<u64> {
        let code = parse_code(typed)?;
        let now = step_of(unix_seconds);
        let mut matched = None;
        // Every step of the window is computed, so the time taken does not
        // tell which one matched.
        for step in now.saturating_sub(WINDOW_STEPS)..=now + WINDOW_STEPS {
            let fresh = last_used_step.is_none_or(|last| step > last);
            let equal: bool = subtle::ConstantTimeEq::ct_eq(&self.code_at_step(step), &code).into();
            if equal && fresh && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }
}

pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// Six digits, spaces allowed between them ("123 456").
fn parse_code(typed: &str) -> Option<u32> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the big-endian counter, dynamic
/// truncation, modulo 10^digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Recovery codes: ten characters of base32 (50 bits) shown as
/// `xxxxx-xxxxx`; stored as SHA-256 of the normalised code (they are
/// random, so a fast hash suffices, like API keys).
pub struct RecoveryCode;

impl RecoveryCode {
    /// Ten new codes, as shown to the person once.
    pub fn generate() -> Vec<String> {
        (0..RECOVERY_CODES)
            .map(|_| {
                let mut bytes = [0u8; 10];
                fill_random(&mut bytes);
                let text: String = base32_encode(&bytes)
                    .to_ascii_lowercase()
                    .chars()
                    .take(10)
                    .collect();
                format!("{}-{}", &text[..5], &text[5..])
            })
            .collect()
    }

    /// The stored hash of a code as shown or as typed (case, spaces and
    /// dashes do not matter); `None` when it cannot be a recovery code.
    pub fn hash(typed: &str) -> Option<SecretHash> {
        let normalised: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let well_formed = normalised.len() == 10
            && normalised
                .bytes()
                .all(|b| BASE32.contains(&b.to_ascii_uppercase()));
        well_formed.then(|| SecretHash::of(&normalised))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_test_vectors() {
        let vectors: [(u64, u32); 6] = [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        for (time, expected) in vectors {
            assert_eq!(hotp(RFC_SEED, step_of(time), 8), expected, "T = {time}");
            let secret = TotpSecret {
                bytes: RFC_SEED.to_vec(),
            };
            assert_eq!(secret.code_at(time), expected % 1_000_000, "T = {time}");
        }
    }

    #[test]
    fn rfc_4226_hotp_test_vectors() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), code, "counter {counter}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZ1"), None);
        let secret = TotpSecret::generate();
        assert_eq!(secret.to_base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&secret.to_base32()),
            Some(secret.clone())
        );
    }

    #[test]
    fn codes_within_one_step_either_side_are_accepted_once() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015;
        let code = |t: u64| format!("{:06}", secret.code_at(t));
        let step = step_of(now);
        assert_eq!(secret.verify(&code(now), now, None), Some(step));
        assert_eq!(secret.verify(&code(now - 30), now, None), Some(step - 1));
        assert_eq!(secret.verify(&code(now + 30), now, None), Some(step + 1));
        assert_eq!(secret.verify(&code(now - 60), now, None), None);
        assert_eq!(secret.verify(&code(now + 60), now, None), None);
        // Replays: the step used, and any before it, are refused.
        assert_eq!(secret.verify(&code(now), now, Some(step)), None);
        assert_eq!(secret.verify(&code(now - 30), now, Some(step)), None);
        assert_eq!(
            secret.verify(&code(now + 30), now, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = TotpSecret::generate();
        for typed in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(secret.verify(typed, 1_700_000_000, None), None, "{typed}");
        }
        let code = format!("{:06}", secret.code_at(1_700_000_000));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(secret.verify(&spaced, 1_700_000_000, None).is_some());
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_as_typed() {
        let codes = RecoveryCode::generate();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        let hash = RecoveryCode::hash(code).unwrap();
        assert_eq!(
            RecoveryCode::hash(&code.to_ascii_uppercase().replace('-', " ")),
            Some(hash)
        );
        assert_eq!(RecoveryCode::hash("not-a-code!"), None);
        assert_eq!(RecoveryCode::hash("123456"), None);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(
            secret.otpauth_uri("Tessera", "ada@acme"),
            "otpauth://totp/Tessera:ada%40acme?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera&algorithm=SHA1&digits=6&period=30"
        );
    }
}
