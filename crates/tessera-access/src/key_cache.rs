//! The key verification cache: keys as last read from the database, kept
//! fresh by invalidation.
//!
//! A lookup reads the database and then caches what it read. An
//! invalidation (a revocation, a role change) can land while it does, and
//! what it read may then be stale. moka's `invalidate_entries_if` only
//! removes entries that existed when it was called, so a stale entry
//! inserted just after an invalidation would survive until its time to
//! live. The generation counter closes that gap: every invalidation bumps it
//! before removing entries, and an insert whose generation moved on, checked
//! both before and after it lands, is taken back.

use crate::keys::VerifiedKey;
use moka::sync::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tessera_core::access_change::AccessChange;

pub(crate) struct KeyCache {
    entries: Cache<String, Arc<VerifiedKey>>,
    /// Bumped by every invalidation. Sequentially consistent, so an insert
    /// either sees a bump or lands before the entries are swept.
    generation: AtomicU64,
    /// Runs between an insert's first generation check and the insert
    /// itself: where a concurrent invalidation can land.
    #[cfg(test)]
    before_insert: Option<Box<InsertHook>>,
}

/// What a test runs at the point where a concurrent invalidation can land.
#[cfg(test)]
type InsertHook = dyn Fn(&KeyCache) + Send + Sync;

/// The cache's generation when a database read started; what the read
/// found may be cached only if no invalidation happened since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadStarted(u64);

impl KeyCache {
    pub(crate) fn new(capacity: u64, time_to_live: Duration) -> Self {
        KeyCache {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(time_to_live)
                .support_invalidation_closures()
                .build(),
            generation: AtomicU64::new(0),
            #[cfg(test)]
            before_insert: None,
        }
    }

    pub(crate) fn get(&self, hash: &str) -> Option<Arc<VerifiedKey>> {
        self.entries.get(hash)
    }

    /// Call before reading a key from the database.
    pub(crate) fn read_started(&self) -> ReadStarted {
        ReadStarted(self.generation.load(Ordering::SeqCst))
    }

    /// Caches what a read that started at `started` found, unless an
    /// invalidation happened since: one before the insert is seen by the
    /// first check; one between the check and the insert registered its
    /// sweep before the entry existed, so the second check takes the entry
    /// back; one after the insert sweeps it.
    pub(crate) fn insert_read(&self, hash: &str, key: Arc<VerifiedKey>, started: ReadStarted) {
        if self.read_started() != started {
            return;
        }
        #[cfg(test)]
        if let Some(hook) = &self.before_insert {
            hook(self);
        }
        self.entries.insert(hash.to_owned(), key);
        if self.read_started() != started {
            self.entries.invalidate(hash);
        }
    }

    /// Forgets whatever `change` may have made stale.
    pub(crate) fn invalidate(&self, change: &AccessChange) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let target = change.target().to_owned();
        let registered = match change {
            AccessChange::Key(_) => self
                .entries
                .invalidate_entries_if(move |_, key| key.id == target),
            AccessChange::Organization(_) => self
                .entries
                .invalidate_entries_if(move |_, key| key.organization_id == target),
        };
        if registered.is_err() {
            self.entries.invalidate_all();
        }
    }

    pub(crate) fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    pub(crate) fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::id::{AccountId, KeyId, OrganizationId};
    use tessera_core::permissions::Access;
    use tessera_store::api_keys::{KeyForVerification, Owner};
    use tessera_store::organizations::RateLimit;

    fn key_read_before_revocation(id: &KeyId) -> Arc<VerifiedKey> {
        Arc::new(VerifiedKey::from(KeyForVerification {
            id: id.clone(),
            name: "payroll export".into(),
            organization_id: OrganizationId::new(),
            organization_slug: "acme".into(),
            owner: Owner::Account(AccountId::new()),
            owner_name: "ada".into(),
            owner_active: true,
            owner_access: Access::Full,
            key_access: Access::Full,
            expires_at: None,
            revoked_at: None,
            ip_allowlist: None,
            client_id: None,
            organization_rate_limit: RateLimit {
                per_second: 10,
                burst: 20,
            },
            key_rate_limit: None,
        }))
    }

    #[test]
    fn an_invalidation_landing_just_before_the_insert_does_not_leave_the_stale_key() {
        let id = KeyId::new();
        let revocation = AccessChange::Key(id.as_str().to_owned());
        let mut cache = KeyCache::new(100, Duration::from_secs(30));
        cache.before_insert = Some(Box::new(move |cache| cache.invalidate(&revocation)));

        let started = cache.read_started();
        cache.insert_read("hash", key_read_before_revocation(&id), started);

        cache.entries.run_pending_tasks();
        assert!(
            cache.get("hash").is_none(),
            "the key read before its revocation is still cached"
        );
    }

    #[test]
    fn a_read_that_an_invalidation_overtook_is_not_cached() {
        let id = KeyId::new();
        let cache = KeyCache::new(100, Duration::from_secs(30));
        let started = cache.read_started();
        cache.invalidate(&AccessChange::Key(id.as_str().to_owned()));
        cache.insert_read("hash", key_read_before_revocation(&id), started);
        assert!(cache.get("hash").is_none());
    }

    #[test]
    fn an_undisturbed_read_is_cached_until_its_key_changes() {
        let id = KeyId::new();
        let cache = KeyCache::new(100, Duration::from_secs(30));
        let started = cache.read_started();
        cache.insert_read("hash", key_read_before_revocation(&id), started);
        assert!(cache.get("hash").is_some());

        cache.invalidate(&AccessChange::Key(KeyId::new().as_str().to_owned()));
        cache.entries.run_pending_tasks();
        assert!(cache.get("hash").is_some(), "another key's change kept it");

        cache.invalidate(&AccessChange::Key(id.as_str().to_owned()));
        cache.entries.run_pending_tasks();
        assert!(cache.get("hash").is_none());
    }
}
