//! The docs pages, served from the binary so they work with no internet (air-gapped clusters):
//!
//! - `GET /v2/docs`: the REST endpoints of `dataplane.json` and the served models, each linking
//!   to its page;
//! - `GET /v2/models/{name}/docs`: that model's inputs and outputs (its metadata), an example
//!   request built from its `input_example.json` or signature ([`example`]), and a "Try it"
//!   button that posts it to `/v2/models/{name}/infer` and shows the answer;
//! - `GET /v2/models/{name}/docs/example.json`: that example request.
//!
//! The pages are one HTML file with its style and script inlined (`page.html`, `page.css`,
//! `page.js` beside this file): no request leaves the server's own origin.

pub mod example;

use std::path::Path as FsPath;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;

use crate::error::ServeError;
use crate::state::{AppState, ServedModel};

/// The largest `input_example.json` read for a docs page.
const MAX_EXAMPLE_BYTES: u64 = 1024 * 1024;

/// The page: markup, then the inlined style and script.
const PAGE: &str = concat!(
    include_str!("page.html"),
    "<style>\n",
    include_str!("page.css"),
    "</style>\n<script>\n",
    include_str!("page.js"),
    "</script>\n</body>\n</html>\n"
);

/// `GET /v2/docs` and `GET /v2/models/{name}/docs`: the page (its script reads which one it
/// is from the address).
pub async fn page() -> impl IntoResponse {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        PAGE,
    )
}

/// `GET /v2/models/{name}/docs/example.json`: the example request of the model's page.
pub async fn model_example(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ServeError> {
    let served = state.model(&name, None)?;
    let dir = state
        .registry()
        .specs()
        .into_iter()
        .find(|s| s.name == served.name && s.version == served.version)
        .map(|s| s.uri);
    let input_example = dir.and_then(|d| read_input_example(&served, FsPath::new(&d)));
    Ok(Json(example::example_request(
        &served.metadata,
        input_example.as_ref(),
    )))
}

/// The model's `input_example.json` (the path its `MLmodel` records), when its folder is local
/// and the file is small and valid JSON.
fn read_input_example(served: &ServedModel, dir: &FsPath) -> Option<Value> {
    let info = served.model.mlmodel.extra.get("saved_input_example_info")?;
    let file = info.get("artifact_path")?.as_str()?;
    let path = dir.join(file);
    // Only a file inside the model folder.
    if FsPath::new(file)
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    let size = std::fs::metadata(&path).ok()?.len();
    if size > MAX_EXAMPLE_BYTES {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        assert!(PAGE.contains("<script>"));
        for remote in ["http://", "https://", "//cdn", "src=\"", "href=\"http"] {
            assert!(!PAGE.contains(remote), "{remote}");
        }
    }
}
