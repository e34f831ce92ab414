//! The pages a problem's `type` points at (`/problems/rate-limited`): what
//! each error code means and what to do, served by the deployment itself
//! so that no answer links to a site a self-hosted server cannot vouch for.

use crate::AppState;
use crate::console::pages::{not_found, public_page};
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use tessera_core::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/problems", get(all_problems))
        .route("/problems/{slug}", get(one_problem))
}

async fn all_problems() -> Response {
    public_page(
        "Error codes",
        html! {
            h1 { "Error codes" }
            p { "Every error answer is an RFC 9457 problem whose " code { "code" } " is one of these; match on the code, not on the wording." }
            table {
                thead { tr { th scope="col" { "Code" } th scope="col" { "Status" } th scope="col" { "Meaning" } } }
                tbody {
                    @for code in ErrorCode::ALL {
                        tr {
                            td { a href=(code.type_path()) { code { (code.as_str()) } } }
                            td { (code.status()) }
                            td { (code.explanation()) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

async fn one_problem(Path(slug): Path<String>) -> Response {
    let Some(code) = ErrorCode::from_type_slug(&slug) else {
        return not_found();
    };
    public_page(
        code.title(),
        html! {
            h1 { (code.title()) }
            p { "Code " code { (code.as_str()) } ", HTTP status " (code.status()) "." }
            p { (code.explanation()) }
            p { a href="/problems" { "All error codes" } " · " a href="/docs/" { "API documentation" } }
        },
    )
    .into_response()
}
