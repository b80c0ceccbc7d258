//! `ApiJson<T>`: a JSON request body, rejected in the API's one error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body of type `T`. Not the expected JSON (syntax, a wrong type, a missing field): a 400
/// `bad_request` saying why. Over the router's body limit: axum's 413, which
/// `json_for_framework_errors` puts in our shape. The content type is not checked: clients and
/// the web pages send JSON without always saying so.
///
/// A handler that must refuse something else first (an unknown path parameter, say) takes
/// `Result<ApiJson<T>, ApiError>` and applies `?` when it gets to the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(ApiError::Body)?;
        serde_json::from_slice(&body)
            .map(ApiJson)
            .map_err(|e| ApiError::BadRequest(format!("body is not the expected JSON: {e}")))
    }
}
