//! The deployment's audit log, for operators, optionally narrowed to one
//! organisation.

use crate::AppState;
use crate::console::audit_log::{self, RawQuery, Typed, View};
use crate::console::pages::PageResult;
use crate::console::paths;
use crate::console::session::SignedIn;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use tessera_store::organizations;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DEPLOYMENT_AUDIT, get(deployment_log))
        .route(paths::DEPLOYMENT_AUDIT_EXPORT, get(deployment_export))
}

async fn deployment_log(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): RawQuery,
) -> PageResult {
    deployment(state, signed_in, query, false).await
}

async fn deployment_export(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): RawQuery,
) -> PageResult {
    deployment(state, signed_in, query, true).await
}

/// The page, or with `export` its CSV.
async fn deployment(
    state: AppState,
    signed_in: SignedIn,
    query: std::collections::HashMap<String, String>,
    export: bool,
) -> PageResult {
    signed_in.operator()?;
    let organizations = organizations::list(state.db()).await?;
    let typed = Typed::from_query(&query, true);
    let (mut filter, mut errors) = typed.parse();
    if !typed.organization.is_empty() {
        match organizations.iter().find(|o| o.slug == typed.organization) {
            Some(organization) => filter.organization_id = Some(&organization.id),
            None => errors.add(
                "organization",
                format!(
                    "There is no organisation with the slug '{}'. Choose one from the list.",
                    typed.organization
                ),
            ),
        }
    }
    let view = View {
        path: paths::DEPLOYMENT_AUDIT,
        export_path: paths::DEPLOYMENT_AUDIT_EXPORT,
        organizations: Some(&organizations),
    };
    if export {
        audit_log::export(&state, &signed_in, &view, &typed, filter, errors).await
    } else {
        audit_log::show(&state, &signed_in, &view, &typed, filter, errors).await
    }
}
