//! `/openapi.json` and the interactive reference at `/docs`: Swagger UI,
//! compiled into the binary (utoipa-swagger-ui's vendored copy), so the
//! documentation works offline and loads nothing from a CDN.

mod openapi;
mod problems;
mod samples;

use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::{Arc, LazyLock};
use utoipa_swagger_ui::Config;

/// Swagger UI runs scripts from this origin only; its components set inline
/// styles and data: images, and try-it-out calls this origin's API.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The document is the same for the life of the process: built once.
static DOCUMENT: LazyLock<Vec<u8>> =
    LazyLock::new(|| serde_json::to_vec(&openapi::document()).unwrap_or_else(|_| b"{}".to_vec()));

static UI_CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::from("/openapi.json")
            .try_it_out_enabled(true)
            .display_request_duration(true)
            .request_snippets_enabled(true)
            .filter(true)
            .deep_linking(true)
            .doc_expansion("list")
            .default_models_expand_depth(0)
            .use_base_layout(),
    )
});

const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera API reference</title>
<link rel="stylesheet" href="./swagger-ui.css">
<link rel="stylesheet" href="./index.css">
<link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script src="./swagger-ui-standalone-preset.js"></script>
<script src="./swagger-initializer.js"></script>
</body>
</html>
"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(|uri: Uri| ui_file(String::new(), uri)))
        .route("/docs/{*file}", get(|Path(file), uri| ui_file(file, uri)))
        .merge(problems::router())
}

async fn openapi_json() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DOCUMENT.as_slice(),
    )
        .into_response()
}

async fn ui_file(file: String, uri: Uri) -> Response {
    match ui_asset(&file) {
        Some(mut response) => {
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            response
        }
        None => crate::problem::not_found(uri).await,
    }
}

/// The page or one of Swagger UI's files; `None` for no such file.
fn ui_asset(file: &str) -> Option<Response> {
    if file.is_empty() || file == "index.html" {
        return Some(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response());
    }
    match utoipa_swagger_ui::serve(file, UI_CONFIG.clone()) {
        Ok(Some(found)) => {
            let mut response = (
                [(header::CONTENT_TYPE, found.content_type)],
                found.bytes.into_owned(),
            )
                .into_response();
            if found.gzpipped {
                response
                    .headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Some(response)
        }
        Ok(None) => None,
        Err(err) => Some(crate::ApiError::internal(err.to_string()).into_response()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_serializes() {
        let document: serde_json::Value = serde_json::from_slice(&super::DOCUMENT).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
    }

    #[test]
    fn the_swagger_ui_assets_are_in_the_binary() {
        for file in [
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "swagger-initializer.js",
        ] {
            let found = utoipa_swagger_ui::serve(file, super::UI_CONFIG.clone()).unwrap();
            assert!(found.is_some_and(|f| !f.bytes.is_empty()), "{file}");
        }
        let initializer =
            utoipa_swagger_ui::serve("swagger-initializer.js", super::UI_CONFIG.clone())
                .unwrap()
                .unwrap();
        let text = String::from_utf8(initializer.bytes.into_owned()).unwrap();
        assert!(text.contains("/openapi.json"), "{text}");
    }
}
