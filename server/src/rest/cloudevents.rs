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

/// The CloudEvents header values every inference response of one server shares, built once
/// from its name ([`AppState::cloudevents_name`]) and the pod's namespace.
#[derive(Debug, Clone)]
pub struct CloudEvents {
    /// `ce-source`: `io.seldon.serving.deployment.<server>[.<namespace>]`.
    source: Option<HeaderValue>,
    /// `ce-inferenceservicename`: the server name.
    service: Option<HeaderValue>,
    /// `ce-namespace`, when the pod has one.
    namespace: Option<HeaderValue>,
}

impl CloudEvents {
    /// The shared values for the server called `server_name`. A name that is not a valid header
    /// value leaves its headers out rather than failing every inference.
    pub fn new(server_name: &str) -> Self {
        let namespace = NAMESPACE.as_deref();
        let source = match namespace {
            Some(ns) => format!("io.seldon.serving.deployment.{server_name}.{ns}"),
            None => format!("io.seldon.serving.deployment.{server_name}"),
        };
        Self {
            source: HeaderValue::from_str(&source).ok(),
            service: HeaderValue::from_str(server_name).ok(),
            namespace: namespace.and_then(|ns| HeaderValue::from_str(ns).ok()),
        }
    }

    /// Adds the CloudEvents headers of an inference response of `model_name` with id
    /// `response_id` to `map`. A value a client chose (the request id) that is not a valid
    /// header value is left out rather than failing the inference.
    pub fn insert(&self, map: &mut HeaderMap, model_name: &str, response_id: &str) {
        map.reserve(9);
        map.insert(SPECVERSION, HeaderValue::from_static("0.3"));
        if let Some(source) = &self.source {
            map.insert(SOURCE, source.clone());
        }
        map.insert(
            TYPE,
            HeaderValue::from_static("io.seldon.serving.inference.response"),
        );
        if let Ok(model) = HeaderValue::from_str(model_name) {
            map.insert(MODELID, model.clone());
            map.insert(ENDPOINT, model);
        }
        if let Some(service) = &self.service {
            map.insert(SERVICE, service.clone());
        }
        if let Ok(id) = HeaderValue::from_str(response_id) {
            map.insert(ID, id.clone());
            map.insert(REQUESTID, id);
        }
        if let Some(namespace) = &self.namespace {
            map.insert(NAMESPACE_HEADER, namespace.clone());
        }
    }

    /// The CloudEvents headers of one response, as a new map.
    pub fn headers(&self, model_name: &str, response_id: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        self.insert(&mut map, model_name, response_id);
        map
    }
}

const SPECVERSION: HeaderName = HeaderName::from_static("ce-specversion");
const SOURCE: HeaderName = HeaderName::from_static("ce-source");
const TYPE: HeaderName = HeaderName::from_static("ce-type");
const MODELID: HeaderName = HeaderName::from_static("ce-modelid");
const SERVICE: HeaderName = HeaderName::from_static("ce-inferenceservicename");
const ENDPOINT: HeaderName = HeaderName::from_static("ce-endpoint");
const ID: HeaderName = HeaderName::from_static("ce-id");
const REQUESTID: HeaderName = HeaderName::from_static("ce-requestid");
const NAMESPACE_HEADER: HeaderName = HeaderName::from_static("ce-namespace");

/// Counts an inference's metrics and answers it with the CloudEvents headers.
pub(super) fn answer(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    started: Instant,
    result: Result<InferResponse, ServeError>,
) -> Result<Response, ServeError> {
    metrics::record_infer(name, version, result.is_ok(), started.elapsed());
    Ok(binary::respond(result?, &state.cloudevents))
}

/// `POST /v2/models/{name}/infer`, with CloudEvents headers and inference metrics.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request_headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ServeError> {
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
) -> Result<Response, ServeError> {
    let started = Instant::now();
    let result = binary::infer(&state, &name, Some(&version), &request_headers, body).await;
    answer(&state, &name, Some(&version), started, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_model_and_id() {
        let h = CloudEvents::new("mlserver").headers("iris", "req-1");
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
        assert!(CloudEvents::new("mlserver")
            .headers("iris", "bad\nid")
            .get("ce-id")
            .is_none());
    }
}
