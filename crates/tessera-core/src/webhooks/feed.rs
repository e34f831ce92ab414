//! The events feed (SPEC §9, "Events feed"): the record events an API key
//! may ask for, and the cursor it follows.
//!
//! A cursor names a position in one organisation's events. It is signed
//! with a secret of the deployment, over the organisation too, so a client
//! can neither forge a position nor carry a cursor into another
//! organisation.

use super::events::{EventFilter, RECORD_ACTIONS};
use crate::resources::{RESOURCES, Resource};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

const KEY_BYTES: usize = 32;
/// A truncated HMAC: forging one still takes 2^96 guesses on average.
const TAG_BYTES: usize = 12;

/// The deployment's secret for signing cursors, shared by every instance.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn generate() -> CursorKey {
        let mut bytes = vec![0u8; KEY_BYTES];
        crate::secret::fill_random(&mut bytes);
        CursorKey(bytes)
    }

    /// The key as stored, or `None` when the text is not one.
    pub fn parse(text: &str) -> Option<CursorKey> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .filter(|bytes| bytes.len() == KEY_BYTES)
            .map(CursorKey)
    }

    pub fn expose(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    fn tag(&self, organization_id: &str, seq: i64) -> [u8; TAG_BYTES] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"tessera.events.cursor.v1\0");
        mac.update(organization_id.as_bytes());
        mac.update(b"\0");
        mac.update(&seq.to_be_bytes());
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..TAG_BYTES]);
        tag
    }

    /// The cursor that leads past event `seq` of an organisation.
    pub fn cursor(&self, organization_id: &str, seq: i64) -> String {
        let mut bytes = Vec::with_capacity(8 + TAG_BYTES);
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&self.tag(organization_id, seq));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position a cursor names, if this deployment issued it for this
    /// organisation.
    pub fn position(&self, organization_id: &str, cursor: &str) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if bytes.len() != 8 + TAG_BYTES {
            return None;
        }
        let (seq, tag) = bytes.split_at(8);
        let seq = i64::from_be_bytes(seq.try_into().ok()?);
        let expected = self.tag(organization_id, seq);
        (seq >= 0 && bool::from(expected[..].ct_eq(tag))).then_some(seq)
    }
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

/// Why a `types` list was refused: patterns naming events the feed never
/// carries (keys, clients, webhook tests), and patterns naming nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTypes {
    pub not_in_feed: Vec<String>,
    pub unknown: Vec<String>,
}

/// The event types a key asked for with `types=` (`None`: every record
/// event), as a filter over record events only.
pub fn parse_types(raw: Option<&str>) -> Result<EventFilter, BadTypes> {
    let Some(raw) = raw else {
        return Ok(EventFilter::everything());
    };
    let patterns: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut bad = BadTypes {
        not_in_feed: Vec::new(),
        unknown: Vec::new(),
    };
    for pattern in &patterns {
        let family = pattern.split('.').next().unwrap_or_default();
        if matches!(family, "api_key" | "api_client" | "webhook") {
            bad.not_in_feed.push(pattern.clone());
        } else if EventFilter::parse(std::slice::from_ref(pattern)).is_err() {
            bad.unknown.push(pattern.clone());
        }
    }
    if !bad.not_in_feed.is_empty() || !bad.unknown.is_empty() {
        return Err(bad);
    }
    EventFilter::parse(&patterns).map_err(|_| bad)
}

/// What a key's feed holds: the concrete event types it may see, and the
/// resources its `types` named explicitly but it may not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSelection {
    pub event_types: Vec<String>,
    pub unreadable: Vec<&'static str>,
}

/// Narrows a `types` filter to the resources `can_read` allows. A
/// wildcard over everything quietly leaves out what the key cannot read; a
/// pattern naming one resource it cannot read is reported, so the caller
/// can refuse it as the data API would.
pub fn select(filter: &EventFilter, can_read: impl Fn(&Resource) -> bool) -> FeedSelection {
    let mut selection = FeedSelection {
        event_types: Vec::new(),
        unreadable: Vec::new(),
    };
    for resource in RESOURCES {
        let wanted: Vec<String> = RECORD_ACTIONS
            .iter()
            .map(|action| format!("{}.{action}", resource.name))
            .filter(|event_type| filter.matches(event_type))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        if can_read(resource) {
            selection.event_types.extend(wanted);
        } else if names_resource(filter, resource) {
            selection.unreadable.push(resource.name);
        }
    }
    selection
}

fn names_resource(filter: &EventFilter, resource: &Resource) -> bool {
    filter
        .patterns()
        .iter()
        .any(|p| p.split('.').next() == Some(resource.name))
}

#[cfg(test)]
mod tests;
