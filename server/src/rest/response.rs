//! The HTTP answer of a v2 inference: JSON, or (binary tensor extension) the JSON followed by the
//! binary outputs' data as `application/octet-stream` with `Inference-Header-Content-Length`
//! giving the JSON's length; with MLServer's CloudEvents headers (`rest/cloudevents.rs`).

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::binary::HEADER_LENGTH;
use super::cloudevents::CloudEvents;
use super::layers::VARY_MIN_SIZE;
use crate::codec::InferResponse;
use crate::error::ServeError;

/// The response: JSON, or the JSON followed by the binary outputs' data, with the CloudEvents
/// headers of `cloudevents`, then `Vary: accept-encoding` when `vary` is set and the router's
/// compression layer would add it (`layers::vary`: its predicate passes both content types,
/// so only its size rule is left to check).
pub fn respond(
    mut response: InferResponse,
    cloudevents: &CloudEvents,
    vary: bool,
) -> Result<Response, ServeError> {
    let (body, headers) = match response.binary.take() {
        None => {
            let mut json = Vec::with_capacity(json_capacity(&response));
            crate::codec::write_response(&mut json, &response)
                .map_err(|e| ServeError::Internal(e.to_string()))?;
            let vary = vary && json.len() >= VARY_MIN_SIZE;
            let headers = cloudevents.json_headers(&response.model_name, &response.id, vary);
            (json, headers)
        }
        Some(binary) => {
            // Content type, binary length, nine CloudEvents headers, `Vary`.
            let mut headers = HeaderMap::with_capacity(12);
            let mut body = Vec::with_capacity(json_capacity(&response) + binary.len());
            crate::codec::write_response(&mut body, &response)
                .map_err(|e| ServeError::Internal(e.to_string()))?;
            let length = body.len();
            body.extend_from_slice(&binary);
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(HEADER_LENGTH, HeaderValue::from(length));
            cloudevents.insert(&mut headers, &response.model_name, &response.id);
            if vary && body.len() >= VARY_MIN_SIZE {
                headers.append(VARY, HeaderValue::from_static("accept-encoding"));
            }
            (body, headers)
        }
    };
    let mut answer = Response::new(Body::from(body));
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// A guess at a JSON response's size, so it is written without regrowing its buffer: a fixed
/// part, then per output its name and up to 24 bytes per element (capped at 64 MiB).
fn json_capacity(response: &InferResponse) -> usize {
    let outputs: usize = response
        .outputs
        .iter()
        .map(|o| {
            let elements = o.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            let data = if o.data.is_some() {
                elements.unwrap_or(0)
            } else {
                0
            };
            128 + o.name.len() + data.saturating_mul(24)
        })
        .fold(0usize, usize::saturating_add);
    (192 + response.model_name.len() + response.id.len())
        .saturating_add(outputs)
        .min(64 << 20)
}
