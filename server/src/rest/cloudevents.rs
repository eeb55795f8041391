//! CloudEvents headers on v2 REST inference responses, as MLServer sets them
//! (`mlserver/cloudevents.py`, docs/compat.md §1.3). A leaf: the values are built once per server and
//! the REST inference adapter (`rest/infer.rs`) adds them to each response.
//!
//! The server name (`Ce-Source`, `Ce-Inferenceservicename`) is `settings.json`'s `server_name`
//! (or `MLSERVER_SERVER_NAME`), default `mlserver` as MLServer's; the namespace is `POD_NAMESPACE`, else the service account's
//! namespace file Kubernetes mounts, else none.

use std::sync::{LazyLock, Mutex};

use axum::http::header::{CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderName, HeaderValue};

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

/// How many models' JSON response headers [`CloudEvents::json_headers`] keeps; past that, the
/// headers of further models are built per response.
const TEMPLATE_LIMIT: usize = 256;

/// The CloudEvents header values every inference response of one server shares, built once
/// from its name (`AppState::cloudevents_name`) and the pod's namespace.
#[derive(Debug)]
pub struct CloudEvents {
    /// `ce-source`: `io.seldon.serving.deployment.<server>[.<namespace>]`.
    source: Option<HeaderValue>,
    /// `ce-inferenceservicename`: the server name.
    service: Option<HeaderValue>,
    /// `ce-namespace`, when the pod has one.
    namespace: Option<HeaderValue>,
    /// Per model: the whole header map of its JSON responses, with a placeholder id, built the
    /// first time the model answers, so a response clones it and sets only its id.
    templates: Mutex<Vec<Template>>,
}

/// The JSON response headers of one model, without and with `Vary`.
#[derive(Debug)]
struct Template {
    model: Box<str>,
    plain: HeaderMap,
    vary: HeaderMap,
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
            templates: Mutex::default(),
        }
    }

    /// The headers of a JSON inference response of `model_name` with id `response_id`:
    /// `Content-Type: application/json`, the CloudEvents headers as [`Self::insert`] adds them,
    /// then `Vary: accept-encoding` when `vary` is set, in that order.
    pub fn json_headers(&self, model_name: &str, response_id: &str, vary: bool) -> HeaderMap {
        let Ok(id) = HeaderValue::from_str(response_id) else {
            // Without the id headers: built in full, as removing them would reorder the map.
            return self.build_json_headers(model_name, response_id, vary);
        };
        let mut map = self.template(model_name, vary);
        if let Some(value) = map.get_mut(ID) {
            *value = id.clone();
        }
        if let Some(value) = map.get_mut(REQUESTID) {
            *value = id;
        }
        map
    }

    /// [`Self::json_headers`] built header by header.
    fn build_json_headers(&self, model_name: &str, response_id: &str, vary: bool) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(12);
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.insert(&mut map, model_name, response_id);
        if vary {
            map.append(VARY, HeaderValue::from_static("accept-encoding"));
        }
        map
    }

    /// A copy of `model_name`'s template (placeholder id), built and kept the first time.
    fn template(&self, model_name: &str, vary: bool) -> HeaderMap {
        let pick = |t: &Template| {
            if vary {
                t.vary.clone()
            } else {
                t.plain.clone()
            }
        };
        // A panic while holding the lock leaves complete templates behind: still usable.
        let mut templates = self
            .templates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(t) = templates.iter().find(|t| &*t.model == model_name) {
            return pick(t);
        }
        let t = Template {
            model: model_name.into(),
            plain: self.build_json_headers(model_name, PLACEHOLDER_ID, false),
            vary: self.build_json_headers(model_name, PLACEHOLDER_ID, true),
        };
        let map = pick(&t);
        if templates.len() < TEMPLATE_LIMIT {
            templates.push(t);
        }
        map
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

/// The id a template carries until a response sets its own (any valid header value).
const PLACEHOLDER_ID: &str = "0";

const SPECVERSION: HeaderName = HeaderName::from_static("ce-specversion");
const SOURCE: HeaderName = HeaderName::from_static("ce-source");
const TYPE: HeaderName = HeaderName::from_static("ce-type");
const MODELID: HeaderName = HeaderName::from_static("ce-modelid");
const SERVICE: HeaderName = HeaderName::from_static("ce-inferenceservicename");
const ENDPOINT: HeaderName = HeaderName::from_static("ce-endpoint");
const ID: HeaderName = HeaderName::from_static("ce-id");
const REQUESTID: HeaderName = HeaderName::from_static("ce-requestid");
const NAMESPACE_HEADER: HeaderName = HeaderName::from_static("ce-namespace");

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

    /// The map a template gives is the one built header by header, in the same order.
    #[test]
    fn json_headers_from_templates_equal_built_ones() {
        let events = CloudEvents::new("my server");
        for (model, id) in [
            ("iris", "req-1"),
            ("iris", "00000000-0000-4000-8000-000000000000"),
            ("other", "x"),
            ("iris", "bad\nid"),
            ("bad\nmodel", "y"),
            ("bad\nmodel", "z"),
        ] {
            for vary in [false, true] {
                let built = events.build_json_headers(model, id, vary);
                let templated = events.json_headers(model, id, vary);
                let pairs = |m: &HeaderMap| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(pairs(&templated), pairs(&built), "{model} {id} {vary}");
            }
        }
        let mut old = HeaderMap::new();
        old.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        events.insert(&mut old, "iris", "req-2");
        assert_eq!(events.json_headers("iris", "req-2", false), old);
    }
}
