//! `GET /api/v1/{resource}`: one page of records, filtered by the
//! resource's filterable fields and `updated_since`.

use super::{
    ApiKeyAuth, Served, fields_read, invalid, organization, requested_fields, require, times, view,
};
use crate::api::json::Json;
use crate::api::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};
use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeSet;
use tessera_core::ErrorCode;
use tessera_core::permissions::Action;
use tessera_core::records;
use tessera_core::resources::{Field, Resource};
use tessera_store::records::{self as store, ListQuery, RecordText};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const LIST_PARAMETERS: [&str; 4] = ["limit", "cursor", "updated_since", "fields"];

pub(super) async fn list(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    page: PageQuery,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let readable = require(&auth, resource, Action::Read)?;
    let params = ListParams::parse(resource, readable, &params)?;
    let after = page.after(resource.id_prefix)?;
    let rows = store::list(
        state.db(),
        &ListQuery {
            organization_id: organization(&auth),
            resource: resource.name,
            after: after.as_deref(),
            updated_since: params.updated_since,
            filters: &params.filters,
            limit: page.fetch_limit(),
        },
    )
    .await?;
    let (rows, next_cursor) = page.page(rows, |r| &r.id);
    let visible = records::visible_fields(resource, readable, params.fields.as_ref());
    let all_times: Vec<_> = rows
        .iter()
        .map(|r| times(r.created_at, r.updated_at))
        .collect();
    let all_fields = rows
        .iter()
        .map(RecordText::fields)
        .collect::<Result<Vec<_>, _>>()?;
    let data = rows
        .iter()
        .zip(&all_fields)
        .zip(&all_times)
        .map(|((record, fields), t)| view(&visible, &record.id, fields, t))
        .collect::<Vec<_>>();
    let returned = (!data.is_empty()).then(|| fields_read(resource, &visible));
    let mut response = Json(Page { data, next_cursor }).into_response();
    if let Some(returned) = returned {
        response.extensions_mut().insert(returned);
    }
    Ok(response)
}

/// A list request's query parameters besides `limit` and `cursor`, checked
/// against the resource and what the key may read.
struct ListParams {
    /// Equality filters: (field, value in its indexed form).
    filters: Vec<(&'static str, String)>,
    /// Only records updated at or after this time (Unix ms).
    updated_since: Option<i64>,
    /// The `fields=` asked for; `None`: every readable field.
    fields: Option<BTreeSet<String>>,
}

impl ListParams {
    /// Refuses a parameter given twice, an unknown parameter, a malformed
    /// value, and filters on fields the key may not read (all of those
    /// named at once).
    fn parse(
        resource: &Resource,
        readable: Option<&BTreeSet<String>>,
        params: &[(String, String)],
    ) -> Result<ListParams, ApiError> {
        let mut seen = BTreeSet::new();
        let mut filters = Vec::new();
        let mut not_readable = Vec::new();
        let mut updated_since = None;
        let mut fields: Option<String> = None;
        for (name, value) in params {
            // Generated clients send a list as the parameter repeated
            // (`fields=a&fields=b`): the same as `fields=a,b`.
            if name == "fields" {
                fields = Some(match fields {
                    Some(earlier) => format!("{earlier},{value}"),
                    None => value.clone(),
                });
                continue;
            }
            if !seen.insert(name.as_str()) {
                return Err(invalid(format!(
                    "The query parameter '{name}' is given more than once."
                )));
            }
            match name.as_str() {
                "limit" | "cursor" => {}
                "updated_since" => updated_since = Some(parse_timestamp("updated_since", value)?),
                _ => {
                    let field = filter_field(resource, name)?;
                    if readable.is_some_and(|r| !r.contains(field.name)) {
                        not_readable.push(field.name);
                        continue;
                    }
                    let value = records::normalize_filter(field, value)
                        .map_err(|problem| invalid(format!("The filter {name} {problem}.")))?;
                    filters.push((field.name, value));
                }
            }
        }
        if !not_readable.is_empty() {
            return Err(ApiError::new(
                ErrorCode::FieldNotPermitted,
                format!(
                    "This API key may not read, and so may not filter on: {}.",
                    not_readable.join(", ")
                ),
            )
            .with_details(json!({"fields": not_readable})));
        }
        Ok(ListParams {
            filters,
            updated_since,
            fields: requested_fields(resource, readable, fields.as_deref())?,
        })
    }
}

/// The filterable field a query parameter names, or a 400 listing what the
/// list accepts.
fn filter_field(resource: &Resource, name: &str) -> Result<&'static Field, ApiError> {
    resource
        .field(name)
        .filter(|f| f.filterable)
        .ok_or_else(|| {
            let filterable: Vec<&str> = resource
                .fields
                .iter()
                .filter(|f| f.filterable)
                .map(|f| f.name)
                .collect();
            invalid(format!(
                "Unknown query parameter '{name}'. Use {}{}{}.",
                LIST_PARAMETERS.join(", "),
                if filterable.is_empty() {
                    ""
                } else {
                    ", or a filter on "
                },
                filterable.join(", ")
            ))
        })
}

fn parse_timestamp(name: &str, value: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            // A `+` in a query string means a space: an offset such as
            // +02:00 sent unencoded arrives as " 02:00".
            let hint = if value.contains(' ') {
                " A + in the URL is read as a space: send it as %2B (or use Z)."
            } else {
                ""
            };
            invalid(format!(
                "{name} must be an RFC 3339 date and time like 2026-01-31T09:30:00Z.{hint}"
            ))
        })
}
