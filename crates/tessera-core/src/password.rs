//! Password hashing with Argon2id.
//!
//! Parameters follow the OWASP recommendation for Argon2id (19 MiB of memory,
//! 2 iterations, 1 lane). They are written into each PHC hash string, so a
//! later change of parameters still verifies older hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password cannot be accepted as a new password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
}

/// A password that satisfies the policy, ready to be hashed.
pub struct NewPassword<'a>(&'a str);

impl<'a> NewPassword<'a> {
    pub fn parse(candidate: &'a str) -> Result<Self, PasswordPolicyError> {
        let chars = candidate.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err(PasswordPolicyError::TooShort)
        } else if chars > MAX_PASSWORD_CHARS {
            Err(PasswordPolicyError::TooLong)
        } else {
            Ok(NewPassword(candidate))
        }
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .expect("the compiled-in Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &NewPassword<'_>) -> String {
    let mut salt_bytes = [0u8; 16];
    crate::secret::fill_random(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt length");
    hasher()
        .hash_password(password.0.as_bytes(), &salt)
        .expect("hashing with valid parameters and salt cannot fail")
        .to_string()
}

/// Whether `password` matches the stored PHC hash. A malformed stored hash
/// never matches.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as checking a real password, for sign-in attempts
/// with an unknown username, so that response times do not reveal which
/// usernames exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password(&NewPassword("dummy password that never matches")));
    let _ = verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_documented_parameters() {
        let hash = hash_password(&NewPassword::parse("correct horse").unwrap());
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC string {hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let password = NewPassword::parse("same password").unwrap();
        assert_ne!(hash_password(&password), hash_password(&password));
    }

    #[test]
    fn malformed_stored_hashes_never_match() {
        assert!(!verify_password("anything", "not a phc string"));
        assert!(!verify_password("anything", ""));
    }

    #[test]
    fn policy_bounds_are_enforced() {
        assert_eq!(
            NewPassword::parse("short").err(),
            Some(PasswordPolicyError::TooShort)
        );
        assert!(NewPassword::parse("eight ch").is_ok());
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            NewPassword::parse(&long).err(),
            Some(PasswordPolicyError::TooLong)
        );
    }
}
