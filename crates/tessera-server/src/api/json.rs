//! The one way API answers with a JSON body are written (problems are
//! written by `problem`): always `Content-Type: application/json`, and a
//! value that fails to serialise becomes an internal error, never a broken
//! body.

use crate::ApiError;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const JSON_CONTENT_TYPE: &str = "application/json";

/// An answer whose body is `T` as JSON.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        serialized(&self.0, 128)
    }
}

/// An answer whose body is JSON already, such as a stored answer replayed.
pub struct JsonBody<B>(pub B);

impl<B: IntoResponse> IntoResponse for JsonBody<B> {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            self.0,
        )
            .into_response()
    }
}

/// `value` as a JSON answer, written into a buffer of `capacity` bytes to
/// start with: hot paths size it for their usual answer so the buffer
/// does not grow while writing.
pub fn serialized(value: &impl Serialize, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => JsonBody(body).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}
