//! Settings ▸ Audit log: an administrator's view of their organisation's
//! entries.

use crate::AppState;
use crate::console::audit_log::{self, RawQuery, Typed, View};
use crate::console::pages::PageResult;
use crate::console::paths;
use crate::console::session::SignedIn;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::ORGANIZATION_AUDIT, get(organization_log))
}

async fn organization_log(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): RawQuery,
) -> PageResult {
    let member = signed_in.administrator()?;
    let view = View {
        path: paths::ORGANIZATION_AUDIT,
        organizations: None,
    };
    let typed = Typed::from_query(&query, false);
    let (mut filter, errors) = typed.parse();
    // An administrator's search is always confined to their organisation,
    // whatever the query string says.
    filter.organization_id = Some(member.organization_id);
    audit_log::show(&state, &signed_in, &view, &typed, filter, errors).await
}
