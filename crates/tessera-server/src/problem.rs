//! The one error type of the API and its rendering as RFC 9457 problem
//! details.
//!
//! Handlers return [`ApiError`]; it travels in the response's extensions to
//! [`render`], the middleware that knows the request id and writes
//! the body. The same middleware turns any bare error status produced outside
//! Tessera's handlers on an `/api` path (the body-limit layer, the router's
//! 404/405, a caught panic) into a problem too, so every API error has one
//! shape. It is also the one place an unexpected [`Failure`] is logged, API
//! or console, so each is logged once and with its request id.

use crate::console::pages;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::error::Error;
use std::sync::Arc;
use tessera_core::ErrorCode;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Whether a path belongs to the JSON API, whose answers follow its rules
/// (problems for errors, no caching, no cross-origin browsers).
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// An unexpected failure behind an answer, carried in the response's
/// extensions so that [`render`] logs it, with the request id.
/// Whoever answers with it only says that something went wrong.
#[derive(Debug, Clone)]
pub struct Failure(Arc<dyn Error + Send + Sync>);

impl Failure {
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Failure(Arc::from(source.into()))
    }

    /// Puts the failure on `response` for [`render`] to log.
    pub fn attach(self, response: &mut Response) {
        response.extensions_mut().insert(self);
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    details: Option<Value>,
    retry_after: Option<u64>,
    failure: Option<Failure>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            details: None,
            retry_after: None,
            failure: None,
        }
    }

    /// Seconds after which the client may retry (sent as `Retry-After`).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// An unexpected failure: the answer reveals nothing of it, and
    /// [`render`] logs it in full.
    pub fn internal(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        ApiError {
            failure: Some(Failure::new(source)),
            ..ApiError::new(ErrorCode::InternalError, INTERNAL_DETAIL)
        }
    }

    /// The problem document, for answers written outside the router.
    pub(crate) fn problem_json(&self, request_id: &str) -> String {
        self.body(request_id).to_string()
    }

    fn body(&self, request_id: &str) -> Value {
        let mut body = json!({
            "type": self.code.type_path(),
            "title": self.code.title(),
            "status": self.code.status(),
            "detail": self.detail,
            "message": if self.code == ErrorCode::RateLimited { self.code.title() } else { self.detail.as_str() },
            "code": self.code.as_str(),
            "request_id": request_id,
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

const INTERNAL_DETAIL: &str =
    "Something went wrong on our side. Quote the request id if you report it.";

impl From<tessera_store::StoreError> for ApiError {
    fn from(err: tessera_store::StoreError) -> Self {
        ApiError::internal(err)
    }
}

impl From<tessera_ops::Refusal> for ApiError {
    fn from(refusal: tessera_ops::Refusal) -> Self {
        let mut error = ApiError::new(refusal.code, refusal.message);
        if let Some(details) = refusal.details {
            error = error.with_details(details);
        }
        if let Some(seconds) = refusal.retry_after {
            error = error.with_retry_after(seconds);
        }
        error
    }
}

impl From<tessera_ops::OpError> for ApiError {
    fn from(err: tessera_ops::OpError) -> Self {
        match err {
            tessera_ops::OpError::NotFound => {
                ApiError::new(ErrorCode::NotFound, "No such resource exists.")
            }
            tessera_ops::OpError::Refused(refusal) => refusal.into(),
            tessera_ops::OpError::Store(err) => err.into(),
        }
    }
}

/// Carried in a response's extensions until [`render`] writes it.
#[derive(Clone)]
struct PendingProblem(Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if let Some(failure) = self.failure.clone() {
            failure.attach(&mut response);
        }
        response
            .extensions_mut()
            .insert(PendingProblem(Arc::new(self)));
        response
    }
}

/// Logs unexpected failures, writes pending problems, and converts bare
/// error statuses on API paths: the last step of every answer (see
/// `middleware::envelope`).
pub(crate) fn render(
    mut response: Response,
    request_id: &HeaderValue,
    method: &Method,
    uri: &Uri,
) -> Response {
    let request_id = request_id.to_str().unwrap_or_default();
    if let Some(Failure(source)) = response.extensions_mut().remove::<Failure>() {
        tracing::error!(%request_id, error = %source, "internal error");
    }
    let pending = response.extensions_mut().remove::<PendingProblem>();
    let problem = match pending {
        Some(PendingProblem(problem)) => problem,
        None if is_api_path(uri.path()) && is_bare_error(&response) => {
            Arc::new(generic_problem(response.status(), method, uri.path()))
        }
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(seconds) = problem.retry_after {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if problem.code == ErrorCode::InvalidCredentials {
        parts.headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Tessera\", charset=\"UTF-8\""),
        );
    }
    Response::from_parts(parts, problem.body(request_id).to_string().into())
}

fn is_bare_error(response: &Response) -> bool {
    let already_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    (response.status().is_client_error() || response.status().is_server_error()) && !already_problem
}

fn generic_problem(status: StatusCode, method: &Method, path: &str) -> ApiError {
    let code = ErrorCode::for_status(status.as_u16());
    let detail = match code {
        ErrorCode::NotFound => format!("Nothing exists at {path}."),
        ErrorCode::MethodNotAllowed => format!("{method} is not allowed on {path}."),
        ErrorCode::PayloadTooLarge => {
            "The request body is larger than this server accepts.".to_owned()
        }
        ErrorCode::UnsupportedMediaType => {
            "The request body's content type is not supported here.".to_owned()
        }
        ErrorCode::InternalError => INTERNAL_DETAIL.to_owned(),
        _ => {
            status
                .canonical_reason()
                .unwrap_or("Request refused")
                .to_owned()
                + "."
        }
    };
    ApiError::new(code, detail)
}

/// The router's fallback: a problem on API paths, a page elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if is_api_path(uri.path()) {
        let path = uri.path();
        let meant = path
            .strip_prefix("/api/v1/")
            .and_then(|rest| rest.split('/').next())
            .and_then(tessera_core::resources::closest);
        match meant {
            Some(resource) => ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "Nothing exists at {path}. Did you mean /api/v1/{}?",
                    resource.name
                ),
            )
            .with_details(serde_json::json!({"did_you_mean": resource.name})),
            None => ApiError::new(ErrorCode::NotFound, format!("Nothing exists at {path}.")),
        }
        .into_response()
    } else {
        pages::not_found().into_response()
    }
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    if is_api_path(uri.path()) {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {}.", uri.path()),
        )
        .into_response()
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::pages::PageError;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::extract::Request;
    use axum::middleware::{Next, from_fn};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn answer(path: &str) -> (Response, String) {
        let router = Router::new()
            .route(
                "/api/v1/failing",
                get(|| async { ApiError::internal("the disk is on fire") }),
            )
            .route(
                "/failing-page",
                get(|| async { PageError::internal("the disk is on fire") }),
            )
            .layer(from_fn(|request: Request, next: Next| async move {
                let (method, uri) = (request.method().clone(), request.uri().clone());
                render(
                    next.run(request).await,
                    &HeaderValue::from_static("r1"),
                    &method,
                    &uri,
                )
            }));
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let text = String::from_utf8(to_bytes(body, 1 << 16).await.unwrap().to_vec()).unwrap();
        (Response::from_parts(parts, Body::empty()), text)
    }

    #[tokio::test]
    async fn an_internal_api_error_is_a_problem_that_hides_its_source() {
        let (response, body) = answer("/api/v1/failing").await;
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
        assert!(!body.contains("fire"), "{body}");
        assert!(response.extensions().get::<Failure>().is_none());
    }

    #[tokio::test]
    async fn a_failing_console_page_is_an_html_page() {
        let (response, body) = answer("/failing-page").await;
        assert_eq!(response.status(), 500);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
        );
        assert!(body.contains("Something went wrong"), "{body}");
        assert!(!body.contains("fire"), "{body}");
    }
}
