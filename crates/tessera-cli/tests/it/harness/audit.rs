//! Reading the audit log, the one way every scenario does it.

use super::TestApp;
use tessera_store::Db;
use tessera_store::audit::{self, Entry};

/// More entries than any one test writes, so a test sees all of its own.
const WHOLE_LOG: i64 = 10_000;

/// Every audit entry of the deployment, newest first.
pub async fn audit_log(db: &Db) -> Vec<Entry> {
    audit::recent(db, WHOLE_LOG)
        .await
        .expect("read the audit log")
}

impl TestApp {
    /// Every audit entry of the deployment, newest first.
    pub async fn audit_log(&self) -> Vec<Entry> {
        audit_log(&self.db).await
    }

    /// The actions of the deployment's audit entries, newest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        self.audit_log()
            .await
            .into_iter()
            .map(|entry| entry.action.as_str().to_owned())
            .collect()
    }
}

/// Asserts that the entries (newest first) hold one with `action` whose
/// named fields equal the given values, and evaluates to the newest such
/// entry: `assert_audited!(entries, "api_key.revoked", actor_kind == "api_key")`.
#[macro_export]
macro_rules! assert_audited {
    ($entries:expr, $action:expr $(, $field:ident == $value:expr)* $(,)?) => {{
        let entries: &[tessera_store::audit::Entry] = &$entries;
        let action: &str = $action;
        let newest_match = entries
            .iter()
            .find(|entry| entry.action == action $(&& entry.$field == $value)*)
            .unwrap_or_else(|| {
                panic!(
                    "no {action} audited with {}; newest first: {:?}",
                    stringify!($($field == $value),*),
                    entries
                        .iter()
                        .map(|entry| (&entry.action, &entry.actor_kind, &entry.actor_name))
                        .collect::<Vec<_>>()
                )
            })
            .clone();
        newest_match
    }};
}
