//! The list shape every collection shares: `{"data": [...], "next_cursor": …}`
//! with `limit` (1–200, default 50) and an opaque `cursor`.

use crate::ApiError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::ErrorCode;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Serialize)]
pub struct Page {
    pub data: Vec<Value>,
    pub next_cursor: Option<String>,
}

pub struct PageQuery {
    pub limit: i64,
    pub cursor: Option<String>,
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
