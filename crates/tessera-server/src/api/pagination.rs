//! The list shape every collection shares: `{"data": [...], "next_cursor": …}`
//! with `limit` (1–200, default 50) and an opaque `cursor`. A cursor is the
//! last id of the previous page, base64url-encoded so that clients pass it
//! back rather than build one.

use crate::ApiError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_core::ErrorCode;
use tessera_core::records::is_record_id;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The `limit` and `cursor` of a list request.
pub struct PageQuery {
    pub limit: i64,
    cursor: Option<String>,
}

impl PageQuery {
    /// How many rows to fetch: one more than a page, to learn whether
    /// another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The id this page starts after. A cursor that is not an id with
    /// `id_prefix` did not come from this list, and is refused.
    pub fn after(&self, id_prefix: &str) -> Result<Option<String>, ApiError> {
        self.cursor
            .as_deref()
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .filter(|id| is_record_id(id_prefix, id))
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::InvalidRequest,
                            "cursor is not a cursor this list returned.",
                        )
                    })
            })
            .transpose()
    }

    /// Cuts rows fetched with [`Self::fetch_limit`] to one page, with the
    /// cursor of the next page if there is one.
    pub fn page<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        if rows.len() <= limit {
            return (rows, None);
        }
        rows.truncate(limit);
        let next_cursor = rows.last().map(|row| URL_SAFE_NO_PAD.encode(id(row)));
        (rows, next_cursor)
    }
}

#[derive(Deserialize)]
struct RawPageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<RawPageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
        let limit = match raw.limit {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}."),
                    )
                })?,
        };
        Ok(PageQuery {
            limit,
            cursor: raw.cursor.filter(|c| !c.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a list request's query string makes of `limit` and `cursor`:
    /// a page to fetch, or the status of its refusal.
    fn read_query(query: &str, id_prefix: &str) -> Option<Result<(), u16>> {
        let request = axum::http::Request::builder()
            .uri(format!("/api/v1/x?{query}"))
            .body(())
            .ok()?;
        let (mut parts, ()) = request.into_parts();
        let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
        let page = runtime.block_on(PageQuery::from_request_parts(&mut parts, &()));
        Some(
            page.and_then(|page| page.after(id_prefix).map(|_| ()))
                .map_err(|refusal| refusal.code().status()),
        )
    }

    proptest! {
        #[test]
        fn arbitrary_cursors_and_limits_are_read_or_refused_with_a_4xx(
            query in prop_oneof![
                "(limit|cursor|x)=[ -~]{0,40}(&(limit|cursor)=[ -~]{0,40})?",
                ".{0,60}",
            ],
        ) {
            if let Some(Err(status)) = read_query(&query, "emp") {
                prop_assert!((400..500).contains(&status), "{} for {:?}", status, query);
            }
        }

        #[test]
        fn a_cursor_is_taken_only_when_it_encodes_an_id_of_the_list(
            bytes in prop::collection::vec(any::<u8>(), 0..48),
        ) {
            let cursor = URL_SAFE_NO_PAD.encode(&bytes);
            match query(2, Some(cursor)).after("emp") {
                Ok(after) => {
                    let id = after.expect("a cursor was sent");
                    prop_assert!(is_record_id("emp", &id));
                    prop_assert_eq!(id.as_bytes(), &bytes[..]);
                }
                Err(refusal) => prop_assert_eq!(refusal.code().status(), 400),
            }
        }
    }

    fn query(limit: i64, cursor: Option<String>) -> PageQuery {
        PageQuery { limit, cursor }
    }

    #[test]
    fn the_next_cursor_leads_past_the_last_row_of_the_page() {
        let ids = vec![
            "grp_01jdq3k9m2x8v7c6b5n4t3r2s1".to_owned(),
            "grp_01jdq3k9m2x8v7c6b5n4t3r2s2".to_owned(),
            "grp_01jdq3k9m2x8v7c6b5n4t3r2s3".to_owned(),
        ];
        let (page, next) = query(2, None).page(ids.clone(), String::as_str);
        assert_eq!(page, ids[..2]);
        let after = query(2, next).after("grp").unwrap();
        assert_eq!(after.as_deref(), Some(ids[1].as_str()));

        let (last, none) = query(3, None).page(ids, String::as_str);
        assert_eq!((last.len(), none), (3, None));
    }

    #[test]
    fn a_cursor_of_another_list_is_refused() {
        let groups = URL_SAFE_NO_PAD.encode("grp_01jdq3k9m2x8v7c6b5n4t3r2s1");
        assert!(query(2, Some(groups)).after("emp").is_err());
        assert!(query(2, Some("not-a-cursor".into())).after("emp").is_err());
        assert_eq!(query(2, None).after("emp").unwrap(), None);
    }
}
