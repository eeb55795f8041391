//! CloudEvents headers on v2 REST inference responses, as MLServer sets them
//! (`mlserver/cloudevents.py`, COMPAT.md §1.3), and the model inference metrics
//! (`model_infer_request_*`, COMPAT.md §1.8) counted around the same handlers.
//!
//! The server name (`Ce-Source`, `Ce-Inferenceservicename`) is `settings.json`'s `server_name`
//! (or `MLSERVER_SERVER_NAME`), default `mlserver` as MLServer's; the namespace is `POD_NAMESPACE`, else the service account's
//! namespace file Kubernetes mounts, else none.

use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

use super::binary;
use super::body::RawBody;
use crate::codec::InferResponse;
use crate::error::ServeError;
use crate::metrics;
use crate::state::AppState;

/// Where Kubernetes mounts the pod's namespace.
const NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The pod's namespace, read once.
static NAMESPACE: LazyLock<Option<String>> = LazyLock::new(|| {
    std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| std::fs::read_to_string(NAMESPACE_FILE).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
});

/// The CloudEvents headers of an inference response from the server called `server_name`
/// ([`AppState::cloudevents_name`]).
pub fn headers(server_name: &str, model_name: &str, response_id: &str) -> HeaderMap {
    let namespace = &*NAMESPACE;
    let ce_source = match namespace {
        Some(ns) => format!("io.seldon.serving.deployment.{server_name}.{ns}"),
        None => format!("io.seldon.serving.deployment.{server_name}"),
    };
    let mut pairs: Vec<(&'static str, &str)> = vec![
        ("ce-specversion", "0.3"),
        ("ce-source", &ce_source),
        ("ce-type", "io.seldon.serving.inference.response"),
        ("ce-modelid", model_name),
        ("ce-inferenceservicename", server_name),
        ("ce-endpoint", model_name),
        ("ce-id", response_id),
        ("ce-requestid", response_id),
    ];
    if let Some(ns) = namespace {
        pairs.push(("ce-namespace", ns));
    }
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        // A value a client chose (the request id) that is not a valid header value is left out
        // rather than failing the inference.
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    map
}

fn answer(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    started: Instant,
    result: Result<InferResponse, ServeError>,
) -> Result<(HeaderMap, Response), ServeError> {
    metrics::record_infer(name, version, result.is_ok(), started.elapsed());
    let response = result?;
    let headers = headers(state.cloudevents_name(), &response.model_name, &response.id);
    Ok((headers, binary::respond(response)))
}

/// `POST /v2/models/{name}/infer`, with CloudEvents headers and inference metrics.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request_headers: HeaderMap,
    body: RawBody,
) -> Result<(HeaderMap, Response), ServeError> {
    let started = Instant::now();
    let result = binary::infer(&state, &name, None, &request_headers, body).await;
    answer(&state, &name, None, started, result)
}

/// `POST /v2/models/{name}/versions/{version}/infer`, with CloudEvents headers and metrics.
pub async fn version_infer(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    request_headers: HeaderMap,
    body: RawBody,
) -> Result<(HeaderMap, Response), ServeError> {
    let started = Instant::now();
    let result = binary::infer(&state, &name, Some(&version), &request_headers, body).await;
    answer(&state, &name, Some(&version), started, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_model_and_id() {
        let h = headers("mlserver", "iris", "req-1");
        assert_eq!(h["ce-inferenceservicename"], "mlserver");
        assert!(h["ce-source"]
            .to_str()
            .unwrap()
            .starts_with("io.seldon.serving.deployment.mlserver"));
        assert_eq!(h["ce-modelid"], "iris");
        assert_eq!(h["ce-endpoint"], "iris");
        assert_eq!(h["ce-id"], "req-1");
        assert_eq!(h["ce-requestid"], "req-1");
        assert_eq!(h["ce-specversion"], "0.3");
        assert_eq!(h["ce-type"], "io.seldon.serving.inference.response");
        assert!(headers("mlserver", "iris", "bad\nid")
            .get("ce-id")
            .is_none());
    }
}
