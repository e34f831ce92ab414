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
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The lowest zxcvbn score a new password may have: 3 is "safely
/// unguessable: moderate protection from an offline slow-hash scenario"
/// (about 10^10 guesses), which Argon2id hashes are.
pub const MIN_STRENGTH_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Why a password cannot be accepted as a new password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    /// On a list of passwords people often use (or close to one).
    #[error("the password is too common: {advice}")]
    TooCommon { advice: String },
    /// Long enough, but guessable: the estimator's own words say why.
    #[error("the password is too easy to guess: {advice}")]
    TooWeak { advice: String },
}

/// A password that satisfies the policy, ready to be hashed.
pub struct NewPassword<'a>(&'a str);

impl<'a> NewPassword<'a> {
    /// Checks a new password: its length, then its strength as zxcvbn
    /// estimates it (offline, from its dictionaries of common passwords,
    /// words and names, and keyboard, sequence, repeat and date patterns).
    /// `context` holds words an attacker would try first for this account
    /// (its username, its organisation's slug and name): a password built
    /// on them scores lower.
    pub fn parse(candidate: &'a str, context: &[&str]) -> Result<Self, PasswordPolicyError> {
        let chars = candidate.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordPolicyError::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordPolicyError::TooLong);
        }
        let words = context_words(context);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(candidate, &words);
        if estimate.score() >= MIN_STRENGTH_SCORE {
            return Ok(NewPassword(candidate));
        }
        let feedback = estimate.feedback();
        let warning = feedback.and_then(|f| f.warning());
        let mut advice: Vec<String> = warning.iter().map(ToString::to_string).collect();
        advice.extend(
            feedback
                .map(|f| f.suggestions())
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string),
        );
        if advice.is_empty() {
            advice.push("Add another word or two; uncommon words are better.".to_owned());
        }
        let advice = advice.join(" ");
        use zxcvbn::feedback::Warning;
        match warning {
            Some(
                Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword
                | Warning::ThisIsSimilarToACommonlyUsedPassword,
            ) => Err(PasswordPolicyError::TooCommon { advice }),
            _ => Err(PasswordPolicyError::TooWeak { advice }),
        }
    }
}

/// The estimator's user inputs: each context entry lowercased, run
/// together and split into its words of three letters or more, so "Acme
/// Payroll" also counts "acmepayroll" and "payroll".
fn context_words(context: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for entry in context {
        let entry = entry.to_lowercase();
        let parts: Vec<&str> = entry
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect();
        words.push(parts.concat());
        words.extend(
            parts
                .iter()
                .filter(|word| word.chars().count() >= 3)
                .map(|word| (*word).to_owned()),
        );
        words.push(entry);
    }
    words
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

/// Hashes a generated secret that is checked like a password (an app
/// password): random, so the strength policy does not apply.
pub fn hash_secret(secret: &str) -> String {
    hash_password(&NewPassword(secret))
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
        let hash = hash_password(&NewPassword::parse(STRONG, &[]).unwrap());
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC string {hash}"
        );
        assert!(verify_password(STRONG, &hash));
        assert!(!verify_password(
            "quiet lantern orbits the Tuesday kettlE",
            &hash
        ));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let password = NewPassword::parse(STRONG, &[]).unwrap();
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
            NewPassword::parse("eleven char", &[]).err(),
            Some(PasswordPolicyError::TooShort)
        );
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            NewPassword::parse(&long, &[]).err(),
            Some(PasswordPolicyError::TooLong)
        );
    }

    #[test]
    fn common_passwords_are_refused_as_common() {
        for common in ["password1234", "123456789012", "qwertyuiopas"] {
            let refused = NewPassword::parse(common, &[]).err();
            assert!(
                matches!(
                    refused,
                    Some(
                        PasswordPolicyError::TooCommon { .. } | PasswordPolicyError::TooWeak { .. }
                    )
                ),
                "{common}: {refused:?}"
            );
        }
        let refused = NewPassword::parse("password1234", &[]).err();
        let Some(PasswordPolicyError::TooCommon { advice }) = refused else {
            panic!("password1234 was not refused as common: {refused:?}");
        };
        assert!(advice.starts_with("This is"), "{advice}");
    }

    #[test]
    fn weak_passwords_are_refused_with_the_estimators_advice() {
        let refused = NewPassword::parse("aaaaaaaaaaaaaaaa", &[]).err();
        let Some(PasswordPolicyError::TooWeak { advice }) = refused else {
            panic!("a repeated letter was not refused as weak: {refused:?}");
        };
        assert!(advice.contains("Repeats"), "{advice}");
    }

    #[test]
    fn the_accounts_own_words_weaken_a_password() {
        let built_on_names = "adalovelace-acme";
        assert!(NewPassword::parse(built_on_names, &[]).is_ok());
        assert!(NewPassword::parse(built_on_names, &["adalovelace", "acme", "Acme Corp"]).is_err());
        // A name counts run together and word by word.
        assert!(NewPassword::parse("AcmePayrollAda", &[]).is_ok());
        assert!(NewPassword::parse("AcmePayrollAda", &["ada", "Acme Payroll"]).is_err());
        assert!(NewPassword::parse("acmepayroll2026", &[]).is_ok());
        assert!(NewPassword::parse("acmepayroll2026", &["Acme Payroll"]).is_err());
    }

    #[test]
    fn long_unusual_passphrases_pass() {
        assert!(NewPassword::parse(STRONG, &[]).is_ok());
        assert!(NewPassword::parse("tessera-demo-Quokka-42", &["acme-admin", "acme"]).is_ok());
    }

    const STRONG: &str = "quiet lantern orbits the Tuesday kettle";
}
