//! Names people type: organisation slugs, usernames, display names.
//!
//! Each is a newtype that can only be built through `parse`, so code that
//! holds one knows it is valid (parse, don't validate).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// An organisation's slug: 2–63 characters of lowercase letters, digits
    /// and hyphens, starting with a letter, not ending with a hyphen. It
    /// appears in `X-Organization` headers and console URLs.
    Slug
);
name_type!(
    /// A sign-in name, unique across the deployment: 3–64 characters of
    /// letters, digits and `. _ @ -`. Compared case-sensitively as stored.
    Username
);
name_type!(
    /// A human-readable name (organisation, bot user, role, API client):
    /// 1–100 characters after trimming, no control characters.
    DisplayName
);

impl Slug {
    pub fn parse(candidate: &str) -> Result<Self, NameError> {
        let ok_len = (2..=63).contains(&candidate.len());
        let ok_chars = candidate
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends =
            candidate.starts_with(|c: char| c.is_ascii_lowercase()) && !candidate.ends_with('-');
        if ok_len && ok_chars && ok_ends {
            Ok(Slug(candidate.to_owned()))
        } else {
            Err(NameError(format!(
                "invalid organisation slug '{candidate}': use 2-63 lowercase letters, digits and hyphens, starting with a letter"
            )))
        }
    }
}

impl Username {
    pub fn parse(candidate: &str) -> Result<Self, NameError> {
        let ok_len = (3..=64).contains(&candidate.len());
        let ok_chars = candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
        if ok_len && ok_chars {
            Ok(Username(candidate.to_owned()))
        } else {
            Err(NameError(format!(
                "invalid username '{candidate}': use 3-64 letters, digits and . _ @ -"
            )))
        }
    }
}

impl DisplayName {
    pub fn parse(candidate: &str) -> Result<Self, NameError> {
        let trimmed = candidate.trim();
        let chars = trimmed.chars().count();
        if (1..=100).contains(&chars) && !trimmed.chars().any(char::is_control) {
            Ok(DisplayName(trimmed.to_owned()))
        } else {
            Err(NameError(format!(
                "invalid name '{}': use 1-100 printable characters",
                candidate.escape_debug()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a1", "acme-payroll", "x-1-y"] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "1acme",
            "acme-",
            "ac me",
            "acme_co",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        for good in ["ada", "ada.lovelace@acme", "bot_1", "A-B"] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        for bad in ["ab", "with space", "semi;colon", "é-user", &"u".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Acme Ltd ").unwrap().as_str(),
            "Acme Ltd"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("tab\tinside").is_err());
        assert!(DisplayName::parse(&"n".repeat(101)).is_err());
        assert!(DisplayName::parse("Société Générale RH").is_ok());
    }
}
