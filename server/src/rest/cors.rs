//! CORS from `settings.json`'s `cors_settings`, with the meaning Starlette's `CORSMiddleware`
//! gives them in MLServer (docs/compat.md §1.1, §1.4): `"*"` allows any origin, method or header
//! (with credentials allowed, the request's own origin, method and headers are echoed, as
//! browsers refuse a wildcard then); `allow_origin_regex` must match the whole origin; the
//! CORS-safelisted headers are always allowed.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::repository::settings::CorsSettings;

/// Starlette's `ALL_METHODS`, what `allow_methods: ["*"]` allows.
const ALL_METHODS: [Method; 7] = [
    Method::DELETE,
    Method::GET,
    Method::HEAD,
    Method::OPTIONS,
    Method::PATCH,
    Method::POST,
    Method::PUT,
];

/// Starlette's `SAFELISTED_HEADERS`, always allowed.
const SAFELISTED_HEADERS: [&str; 4] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
];

/// The layer for `settings` (checked when the settings were read: values that are not origins,
/// methods, header names or a regular expression were refused there, and are skipped here).
pub fn layer(settings: &CorsSettings) -> CorsLayer {
    let credentials = settings.allow_credentials;
    let wildcard = |items: &[String]| items.iter().any(|i| i == "*");

    let origins: Vec<HeaderValue> = settings
        .allow_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let regex = settings
        .allow_origin_regex
        .as_deref()
        .and_then(|re| regex::Regex::new(&format!("^(?:{re})$")).ok());
    let allow_origin = if wildcard(&settings.allow_origins) {
        if credentials {
            AllowOrigin::mirror_request()
        } else {
            AllowOrigin::any()
        }
    } else if let Some(regex) = regex {
        AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origins.contains(origin) || origin.to_str().is_ok_and(|o| regex.is_match(o))
        })
    } else {
        AllowOrigin::list(origins)
    };

    let allow_methods = if wildcard(&settings.allow_methods) {
        AllowMethods::list(ALL_METHODS)
    } else {
        AllowMethods::list(
            settings
                .allow_methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()),
        )
    };

    let allow_headers = if wildcard(&settings.allow_headers) {
        AllowHeaders::mirror_request()
    } else {
        AllowHeaders::list(
            SAFELISTED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .chain(
                    settings
                        .allow_headers
                        .iter()
                        .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
                ),
        )
    };

    let named_exposed = settings
        .expose_headers
        .iter()
        .filter(|h| *h != "*")
        .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok());
    let expose_headers = if wildcard(&settings.expose_headers) && !credentials {
        ExposeHeaders::any()
    } else {
        ExposeHeaders::list(named_exposed)
    };

    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(allow_methods)
        .allow_headers(allow_headers)
        .expose_headers(expose_headers)
        .allow_credentials(credentials)
        .max_age(Duration::from_secs(settings.max_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> CorsSettings {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn wildcards_with_credentials_build_without_panicking() {
        // tower-http refuses "*" together with credentials; the echoing forms are used instead.
        for json in [
            r#"{"allow_origins": ["*"], "allow_credentials": true, "allow_methods": ["*"],
                "allow_headers": ["*"], "expose_headers": ["*", "x-id"]}"#,
            r#"{"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"],
                "expose_headers": ["*"]}"#,
            r#"{"allow_origin_regex": "https://.*\\.example\\.com", "allow_credentials": true}"#,
        ] {
            let _ = tower::Layer::layer(&layer(&settings(json)), ());
        }
    }
}
