//! Settings ▸ Audit log: an administrator's view of their organisation's
//! entries, and the same entries as a CSV download.

use crate::AppState;
use crate::console::audit_log::{self, RawQuery, Typed, View};
use crate::console::pages::PageResult;
use crate::console::paths;
use crate::console::session::SignedIn;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ORGANIZATION_AUDIT, get(organization_log))
        .route(paths::ORGANIZATION_AUDIT_EXPORT, get(organization_export))
}

const VIEW: View<'static> = View {
    path: paths::ORGANIZATION_AUDIT,
    export_path: paths::ORGANIZATION_AUDIT_EXPORT,
    organizations: None,
};

async fn organization_log(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): RawQuery,
) -> PageResult {
    let member = signed_in.administrator()?;
    let typed = Typed::from_query(&query, false);
    let (mut filter, errors) = typed.parse();
    // An administrator's search is always confined to their organisation,
    // whatever the query string says.
    filter.organization_id = Some(member.organization_id);
    audit_log::show(&state, &signed_in, &VIEW, &typed, filter, errors).await
}

async fn organization_export(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): RawQuery,
) -> PageResult {
    let member = signed_in.administrator()?;
    let typed = Typed::from_query(&query, false);
    let (mut filter, errors) = typed.parse();
    filter.organization_id = Some(member.organization_id);
    audit_log::export(&state, &signed_in, &VIEW, &typed, filter, errors).await
}
