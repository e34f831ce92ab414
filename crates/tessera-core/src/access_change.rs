//! Changes that can alter a key's verdict, as recorded in the change log and
//! broadcast to every instance's key cache.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccessChange {
    /// One key changed (revoked, leaked).
    Key(String),
    /// Anything in an organisation that can change many keys at once: a role
    /// edit, an owner's deactivation or role change, "revoke all".
    Organization(String),
}

impl AccessChange {
    pub fn scope(&self) -> &'static str {
        match self {
            AccessChange::Key(_) => "key",
            AccessChange::Organization(_) => "organization",
        }
    }

    pub fn target(&self) -> &str {
        match self {
            AccessChange::Key(id) | AccessChange::Organization(id) => id,
        }
    }

    pub fn from_parts(scope: &str, target: &str) -> Option<AccessChange> {
        match scope {
            "key" => Some(AccessChange::Key(target.to_owned())),
            "organization" => Some(AccessChange::Organization(target.to_owned())),
            _ => None,
        }
    }

    /// Parses the `scope:target` form used in notifications.
    pub fn parse(payload: &str) -> Option<AccessChange> {
        let (scope, target) = payload.split_once(':')?;
        AccessChange::from_parts(scope, target)
    }
}

impl fmt::Display for AccessChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scope(), self.target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for change in [
            AccessChange::Key("key_1".into()),
            AccessChange::Organization("org_1".into()),
        ] {
            assert_eq!(AccessChange::parse(&change.to_string()), Some(change));
        }
        assert_eq!(AccessChange::parse("nonsense"), None);
        assert_eq!(AccessChange::parse("user:x"), None);
    }
}
