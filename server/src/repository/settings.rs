//! MLServer's settings files, read the way `mlserver/settings.py` reads them (COMPAT §1.4, §1.5):
//! the server's `settings.json` (with `MLSERVER_<FIELD>` environment variables) and each model's
//! `model-settings.json`. As with pydantic settings, a value in the file wins over the
//! environment, and the environment over the default. Fields that only make sense for MLServer's
//! Python runtime are accepted and ignored, with one info line per field.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::codec::content_type::ContentType;
use crate::codec::metadata::{MetadataOverrides, MetadataTensor};

/// The server settings file at the repository root.
pub const SETTINGS_FILE: &str = "settings.json";
/// The per-model settings file.
pub const MODEL_SETTINGS_FILE: &str = "model-settings.json";

/// A settings file or variable that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON of the expected shape.
    #[error("invalid {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable holds a value of the wrong type.
    #[error("invalid {name}={value:?}: expected {expected}")]
    Env {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
}

/// `settings.json` fields of MLServer's Python runtime, logged once and otherwise ignored.
const PYTHON_ONLY_SERVER_FIELDS: &[&str] = &[
    "parallel_workers",
    "parallel_workers_timeout",
    "environments_dir",
    "model_repository_implementation",
    "model_repository_implementation_args",
    "model_repository_root",
    "extensions",
    "metrics_rest_server_prefix",
    "metrics_dir",
    "kafka_enabled",
    "kafka_servers",
    "kafka_topic_input",
    "kafka_topic_output",
    "cache_enabled",
    "cache_size",
];

/// `settings.json` fields ironflow acts on (besides the network ones).
const HONOURED_SERVER_FIELDS: &[&str] = &[
    "load_models_at_startup",
    "server_name",
    "server_version",
    "gzip_enabled",
    "root_path",
    "cors_settings",
    "debug",
    "use_structured_logging",
    "repository_api_enabled",
    "repository_api_token",
];

/// `model-settings.json` fields (top level and under `parameters`) that only MLServer's Python
/// runtime uses.
const PYTHON_ONLY_MODEL_FIELDS: &[&str] = &[
    "parallel_workers",
    "warm_workers",
    "cache_enabled",
    "environment_tarball",
    "environment_path",
    "inference_pool_gid",
    "autogenerate_inference_pool_gid",
    "format",
    "extra",
];

/// Logs `what` once per process: "accepted and ignored" fields would otherwise repeat per model.
fn note_ignored(what: &str, how: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = match SEEN.lock() {
        Ok(mut seen) => seen
            .get_or_insert_with(HashSet::new)
            .insert(what.to_owned()),
        Err(_) => true,
    };
    if first {
        tracing::info!("{what} is accepted and ignored: {how}");
    }
}

/// The network fields of `settings.json`, as written in the file (the command line and the
/// `MLSERVER_*` environment are applied by [`crate::config::ServeArgs::apply_settings_file`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// `host`.
    pub host: Option<std::net::IpAddr>,
    /// `http_port`.
    pub http_port: Option<u16>,
    /// `grpc_port`.
    pub grpc_port: Option<u16>,
    /// `metrics_port`.
    pub metrics_port: Option<u16>,
    /// `metrics_endpoint`; empty when the file sets it to null (no metrics server).
    pub metrics_endpoint: Option<String>,
    /// `grpc_max_message_length`.
    pub grpc_max_message_length: Option<usize>,
}

/// `cors_settings`: Starlette's `CORSMiddleware` options, with MLServer's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CorsSettings {
    /// Origins allowed (`"*"`: any).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// A regular expression origins may match instead.
    #[serde(default)]
    pub allow_origin_regex: Option<String>,
    /// Whether credentials (cookies, authorization) are allowed.
    #[serde(default)]
    pub allow_credentials: bool,
    /// Methods allowed (`"*"`: any); default `["GET"]`.
    #[serde(default = "default_cors_methods")]
    pub allow_methods: Vec<String>,
    /// Request headers allowed (`"*"`: any).
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers the browser may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long, in seconds, a preflight answer may be cached; default 600.
    #[serde(default = "default_cors_max_age")]
    pub max_age: u64,
}

fn default_cors_methods() -> Vec<String> {
    vec!["GET".to_owned()]
}

fn default_cors_max_age() -> u64 {
    600
}

/// The server settings ironflow acts on, from `settings.json` and the `MLSERVER_*` environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// `load_models_at_startup` (default true): when false, models are registered but only
    /// loaded through `POST /v2/repository/models/{m}/load`.
    pub load_models_at_startup: bool,
    /// `server_name`: the `GET /v2` name (else `ironflow`) and the CloudEvents source (else
    /// `mlserver`, as MLServer's default).
    pub server_name: Option<String>,
    /// `server_version`: the `GET /v2` version (else ironflow's).
    pub server_version: Option<String>,
    /// `gzip_enabled` (default true): whether responses are gzipped for clients that accept it.
    pub gzip_enabled: bool,
    /// `root_path`, as `/prefix` (no trailing slash); the REST API also answers under it.
    pub root_path: Option<String>,
    /// `cors_settings`: CORS is off when absent.
    pub cors: Option<CorsSettings>,
    /// `debug`: the default log level is `debug` rather than `info` (when `RUST_LOG` is unset).
    pub debug: bool,
    /// `use_structured_logging`: log lines are JSON.
    pub structured_logging: bool,
    /// `repository_api_enabled` (default true) and `repository_api_token`: who may use the
    /// repository API (see [`super::access`]).
    pub repository_api: super::RepositoryAccess,
    /// The file's network fields.
    pub network: NetworkSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            load_models_at_startup: true,
            server_name: None,
            server_version: None,
            gzip_enabled: true,
            root_path: None,
            cors: None,
            debug: false,
            structured_logging: false,
            repository_api: super::RepositoryAccess::default(),
            network: NetworkSettings::default(),
        }
    }
}

/// One `settings.json` field, or else its `MLSERVER_<FIELD>` variable.
struct Fields<'a> {
    file: &'a Map<String, Value>,
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Fields<'_> {
    fn invalid(&self, field: &str, v: &Value, expected: &str) -> SettingsError {
        SettingsError::Invalid {
            path: self.path.to_owned(),
            reason: format!("{field} must be {expected}, not {v}"),
        }
    }

    fn env_name(field: &str) -> String {
        format!("MLSERVER_{}", field.to_ascii_uppercase())
    }

    fn bool(&self, field: &str, default: bool) -> Result<bool, SettingsError> {
        match self.file.get(field) {
            Some(Value::Null) => Ok(default),
            Some(v) => json_bool(v).ok_or_else(|| self.invalid(field, v, "a boolean")),
            None => {
                let name = Self::env_name(field);
                match (self.env)(&name) {
                    Some(value) => parse_bool(&value).ok_or(SettingsError::Env {
                        name,
                        value,
                        expected: "a boolean (true/false, 1/0, yes/no, on/off)",
                    }),
                    None => Ok(default),
                }
            }
        }
    }

    /// A string field; an empty string is "not set".
    fn string(&self, field: &str) -> Result<Option<String>, SettingsError> {
        let value = match self.file.get(field) {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => return Err(self.invalid(field, v, "a string")),
            None => (self.env)(&Self::env_name(field)),
        };
        Ok(value.filter(|s| !s.is_empty()))
    }

    /// A JSON object field (the environment form holds JSON, as pydantic reads nested settings).
    fn object<T: serde::de::DeserializeOwned>(
        &self,
        field: &str,
    ) -> Result<Option<T>, SettingsError> {
        let value = match self.file.get(field) {
            Some(Value::Null) => return Ok(None),
            Some(v) => v.clone(),
            None => {
                let name = Self::env_name(field);
                match (self.env)(&name) {
                    None => return Ok(None),
                    Some(text) if text.trim().is_empty() => return Ok(None),
                    Some(text) => serde_json::from_str(&text).map_err(|_| SettingsError::Env {
                        name,
                        value: text,
                        expected: "a JSON object",
                    })?,
                }
            }
        };
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| SettingsError::Invalid {
                path: self.path.to_owned(),
                reason: format!("{field}: {e} (in {value})"),
            })
    }
}

/// `root_path` as `/prefix`: a leading slash added, trailing ones removed; `/` alone is none.
fn normalize_root_path(raw: &str, path: &Path) -> Result<Option<String>, SettingsError> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let prefix = if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    };
    if prefix.contains(['{', '}', '*', '?', '#', ' ']) || prefix.contains("//") {
        return Err(SettingsError::Invalid {
            path: path.to_owned(),
            reason: format!("root_path must be a URL path prefix such as /models, not {raw:?}"),
        });
    }
    Ok(Some(prefix))
}

/// Checks what `CorsLayer` would otherwise panic on or silently drop.
fn check_cors(cors: &CorsSettings, path: &Path) -> Result<(), SettingsError> {
    let invalid = |reason: String| SettingsError::Invalid {
        path: path.to_owned(),
        reason,
    };
    for origin in &cors.allow_origins {
        if origin != "*" && axum::http::HeaderValue::from_str(origin).is_err() {
            return Err(invalid(format!(
                "cors_settings.allow_origins: {origin:?} is not a valid origin"
            )));
        }
    }
    if let Some(re) = &cors.allow_origin_regex {
        regex::Regex::new(re).map_err(|e| {
            invalid(format!(
                "cors_settings.allow_origin_regex is not a regular expression: {e}"
            ))
        })?;
    }
    for method in &cors.allow_methods {
        if method != "*" && axum::http::Method::from_bytes(method.as_bytes()).is_err() {
            return Err(invalid(format!(
                "cors_settings.allow_methods: {method:?} is not an HTTP method"
            )));
        }
    }
    for (field, headers) in [
        ("allow_headers", &cors.allow_headers),
        ("expose_headers", &cors.expose_headers),
    ] {
        for header in headers {
            if header != "*" && axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(invalid(format!(
                    "cors_settings.{field}: {header:?} is not a header name"
                )));
            }
        }
    }
    Ok(())
}

/// `debug` and `use_structured_logging` of `dir/settings.json` (else the environment), read
/// before logging starts; anything unreadable is left to [`ServerSettings::load`] to report.
pub fn logging_settings(dir: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> (bool, bool) {
    let path = dir.map(|d| d.join(SETTINGS_FILE)).unwrap_or_default();
    let file = if path.is_file() {
        read_object(&path).unwrap_or_default()
    } else {
        Map::new()
    };
    let fields = Fields {
        file: &file,
        path: &path,
        env,
    };
    (
        fields.bool("debug", false).unwrap_or(false),
        fields
            .bool("use_structured_logging", false)
            .unwrap_or(false),
    )
}

const NETWORK_FIELDS: &[&str] = &[
    "host",
    "http_port",
    "grpc_port",
    "metrics_port",
    "metrics_endpoint",
    "grpc_max_message_length",
];

fn network(file: &Map<String, Value>, path: &Path) -> Result<NetworkSettings, SettingsError> {
    let invalid = |field: &str, v: &Value, expected: &str| SettingsError::Invalid {
        path: path.to_owned(),
        reason: format!("{field} must be {expected}, not {v}"),
    };
    let port = |field: &str| -> Result<Option<u16>, SettingsError> {
        match file.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| invalid(field, v, "a port number")),
        }
    };
    let host = match file.get("host") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| invalid("host", v, "an IP address"))?,
        ),
    };
    let metrics_endpoint = match file.get("metrics_endpoint") {
        None => None,
        // null turns the metrics server off (an empty path, for `ServeArgs`).
        Some(Value::Null) => Some(String::new()),
        Some(v) => Some(
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("metrics_endpoint", v, "a path"))?,
        ),
    };
    let grpc_max_message_length = match file.get("grpc_max_message_length") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| invalid("grpc_max_message_length", v, "a number of bytes"))?,
        ),
    };
    Ok(NetworkSettings {
        host,
        http_port: port("http_port")?,
        grpc_port: port("grpc_port")?,
        metrics_port: port("metrics_port")?,
        metrics_endpoint,
        grpc_max_message_length,
    })
}

impl ServerSettings {
    /// Reads `dir/settings.json` when there is one, filling absent fields from `env`
    /// (`MLSERVER_<FIELD>`), as MLServer's `Settings.parse_file` does.
    pub fn load(
        dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let path = dir.map(|d| d.join(SETTINGS_FILE)).unwrap_or_default();
        let file = if path.is_file() {
            read_object(&path)?
        } else {
            Map::new()
        };
        let network = network(&file, &path)?;
        for key in file.keys() {
            let key = key.as_str();
            if NETWORK_FIELDS.contains(&key) || HONOURED_SERVER_FIELDS.contains(&key) {
                continue;
            }
            let how = match key {
                _ if PYTHON_ONLY_SERVER_FIELDS.contains(&key) => {
                    "it only applies to MLServer's Python server"
                }
                "logging_settings" => {
                    "it is a Python logging configuration; use RUST_LOG, debug and use_structured_logging"
                }
                "tracing_server" => "OpenTelemetry tracing is not implemented in ironflow",
                _ => "ironflow does not know it",
            };
            note_ignored(&format!("settings.json field {key:?}"), how);
        }
        let fields = Fields {
            file: &file,
            path: &path,
            env,
        };
        let root_path = match fields.string("root_path")? {
            Some(raw) => normalize_root_path(&raw, &path)?,
            None => None,
        };
        let cors: Option<CorsSettings> = fields.object("cors_settings")?;
        if let Some(cors) = &cors {
            check_cors(cors, &path)?;
        }
        let settings = Self {
            load_models_at_startup: fields.bool("load_models_at_startup", true)?,
            server_name: fields.string("server_name")?,
            server_version: fields.string("server_version")?,
            gzip_enabled: fields.bool("gzip_enabled", true)?,
            root_path,
            cors,
            debug: fields.bool("debug", false)?,
            structured_logging: fields.bool("use_structured_logging", false)?,
            repository_api: super::RepositoryAccess {
                enabled: fields.bool("repository_api_enabled", true)?,
                token: fields.string("repository_api_token")?,
            },
            network,
        };
        for field in [
            "PARALLEL_WORKERS",
            "ENVIRONMENTS_DIR",
            "LOGGING_SETTINGS",
            "KAFKA_ENABLED",
            "TRACING_SERVER",
            "CACHE_ENABLED",
        ] {
            let name = format!("MLSERVER_{field}");
            if env(&name).is_some() {
                note_ignored(&name, "it only applies to MLServer's Python server");
            }
        }
        Ok(settings)
    }
}

/// A bool the way pydantic reads one from the environment.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

fn json_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

fn read_object(path: &Path) -> Result<Map<String, Value>, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
        path: path.to_owned(),
        source,
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(SettingsError::Invalid {
            path: path.to_owned(),
            reason: format!("expected a JSON object, found {}", kind(&other)),
        }),
        Err(e) => Err(SettingsError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of one `model-settings.json` ironflow acts on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSettingsFile {
    /// `name` (empty: the folder name).
    pub name: Option<String>,
    /// `parameters.uri`, as written (relative paths are relative to the file's folder).
    pub uri: Option<String>,
    /// `parameters.version`.
    pub version: Option<String>,
    /// `max_batch_size` (0: no batching).
    pub max_batch_size: Option<usize>,
    /// `max_batch_time` in seconds (0: no batching).
    pub max_batch_time: Option<Duration>,
    /// `platform`, `versions`, `inputs`, `outputs` and `parameters.content_type`, served as the
    /// model's metadata in place of what its signature gives.
    pub metadata: MetadataOverrides,
    /// `implementation`: the MLServer runtime (`mlserver_sklearn.SKLearnModel`, ...) that reads
    /// the model ([`ironflow_loader::runtime`]); a Python class ironflow lacks fails the load.
    pub implementation: Option<String>,
}

#[derive(Deserialize)]
struct RawModelSettings {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    implementation: Option<String>,
    #[serde(default)]
    platform: Option<Value>,
    #[serde(default)]
    versions: Option<Value>,
    #[serde(default)]
    inputs: Option<Value>,
    #[serde(default)]
    outputs: Option<Value>,
    #[serde(default)]
    max_batch_size: Option<i64>,
    #[serde(default)]
    max_batch_time: Option<f64>,
    #[serde(default)]
    parameters: Option<RawParameters>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawParameters {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    version: Option<String>,
    #[serde(default)]
    content_type: Option<Value>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// pydantic coerces a number to `str` for `version`; so does ironflow.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "version must be a string, not {}",
            kind(&other)
        ))),
    }
}

impl ModelSettingsFile {
    /// Reads and checks a `model-settings.json`.
    pub fn read(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| SettingsError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses the text of a `model-settings.json`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawModelSettings = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let max_batch_size = match raw.max_batch_size {
            Some(n) => Some(
                usize::try_from(n)
                    .map_err(|_| format!("max_batch_size must be 0 or more, not {n}"))?,
            ),
            None => None,
        };
        let max_batch_time = match raw.max_batch_time {
            Some(s) => Some(seconds(s).ok_or_else(|| {
                format!("max_batch_time must be a number of seconds, 0 or more, not {s}")
            })?),
            None => None,
        };
        let mut ignored: Vec<String> = raw.other.keys().cloned().collect();
        let (uri, version, content_type) = match raw.parameters {
            Some(p) => {
                ignored.extend(p.other.keys().map(|k| format!("parameters.{k}")));
                (p.uri, p.version, p.content_type)
            }
            None => (None, None, None),
        };
        let metadata = MetadataOverrides {
            platform: optional_string(raw.platform.as_ref(), "platform")?,
            versions: match raw.versions {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                        .ok_or("versions must be a list of strings")?,
                ),
                Some(other) => {
                    return Err(format!("versions must be a list of strings, not {other}"))
                }
            },
            inputs: tensors(raw.inputs.as_ref(), "inputs")?,
            outputs: tensors(raw.outputs.as_ref(), "outputs")?,
            content_type: match optional_string(content_type.as_ref(), "parameters.content_type")? {
                Some(ct) => Some(check_content_type(&ct, "parameters.content_type")?),
                None => None,
            },
        };
        for key in ignored {
            let field = key.trim_start_matches("parameters.");
            let how = if PYTHON_ONLY_MODEL_FIELDS.contains(&field) {
                "it only applies to MLServer's Python runtime"
            } else {
                "ironflow does not know it"
            };
            note_ignored(&format!("model-settings.json field {key:?}"), how);
        }
        Ok(Self {
            name: raw.name.filter(|n| !n.is_empty()),
            uri: uri.filter(|u| !u.is_empty()),
            version: version.filter(|v| !v.is_empty()),
            max_batch_size,
            max_batch_time,
            metadata,
            implementation: raw.implementation.filter(|i| !i.trim().is_empty()),
        })
    }
}

/// A string field that may be absent or null.
fn optional_string(value: Option<&Value>, field: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{field} must be a string, not {other}")),
    }
}

/// A `MetadataTensor` list (`inputs`, `outputs`).
fn tensors(value: Option<&Value>, field: &str) -> Result<Option<Vec<MetadataTensor>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| MetadataTensor::from_settings(v, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(format!(
            "{field} must be a list of {{name, datatype, shape}} objects, not {other}"
        )),
    }
}

/// A request content type ironflow can decode with (`field` names where it was set).
pub fn check_content_type(name: &str, field: &str) -> Result<String, String> {
    match ContentType::parse(name) {
        Some(_) => Ok(name.to_owned()),
        None => Err(format!(
            "{field} {name:?} is not a content type ironflow decodes (np, pd, dict, str, base64, datetime, pd_json)"
        )),
    }
}

/// A non-negative, finite number of seconds.
pub fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ironflow-settings-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn model_settings_read_mlserver_fields_and_ignore_python_ones() {
        let s = ModelSettingsFile::parse(
            r#"{"name": "iris", "implementation": "mlserver_mlflow.MLflowRuntime",
                "max_batch_size": 8, "max_batch_time": 0.25, "parallel_workers": 2,
                "parameters": {"uri": "./model", "version": 3, "environment_tarball": "env.tgz"}}"#,
        )
        .unwrap();
        assert_eq!(s.name.as_deref(), Some("iris"));
        assert_eq!(s.uri.as_deref(), Some("./model"));
        assert_eq!(s.version.as_deref(), Some("3"));
        assert_eq!(s.max_batch_size, Some(8));
        assert_eq!(s.max_batch_time, Some(Duration::from_millis(250)));
    }

    #[test]
    fn model_settings_may_be_empty_and_reject_bad_values() {
        assert_eq!(
            ModelSettingsFile::parse("{}").unwrap(),
            ModelSettingsFile::default()
        );
        assert!(ModelSettingsFile::parse(r#"{"max_batch_size": -1}"#)
            .unwrap_err()
            .contains("max_batch_size"));
        assert!(ModelSettingsFile::parse(r#"{"max_batch_time": -0.5}"#)
            .unwrap_err()
            .contains("max_batch_time"));
        assert!(
            ModelSettingsFile::parse(r#"{"parameters": {"version": [1]}}"#)
                .unwrap_err()
                .contains("version")
        );
        assert!(ModelSettingsFile::parse("[1, 2]").is_err());
        assert!(ModelSettingsFile::parse(r#"{"name": 5}"#).is_err());
    }

    #[test]
    fn settings_file_wins_over_the_environment_which_wins_over_the_default() {
        let no_env = env_of(&[]);
        assert!(
            ServerSettings::load(None, &no_env)
                .unwrap()
                .load_models_at_startup
        );
        let off = env_of(&[("MLSERVER_LOAD_MODELS_AT_STARTUP", "false")]);
        assert!(
            !ServerSettings::load(None, &off)
                .unwrap()
                .load_models_at_startup
        );
        let bad = env_of(&[("MLSERVER_LOAD_MODELS_AT_STARTUP", "maybe")]);
        let err = ServerSettings::load(None, &bad).unwrap_err().to_string();
        assert!(err.contains("MLSERVER_LOAD_MODELS_AT_STARTUP"), "{err}");

        let dir = scratch("precedence");
        std::fs::write(
            dir.join(SETTINGS_FILE),
            r#"{"load_models_at_startup": true, "parallel_workers": 4, "http_port": 9999}"#,
        )
        .unwrap();
        assert!(
            ServerSettings::load(Some(&dir), &off)
                .unwrap()
                .load_models_at_startup
        );
        std::fs::write(dir.join(SETTINGS_FILE), r#"{"debug": true}"#).unwrap();
        assert!(
            !ServerSettings::load(Some(&dir), &off)
                .unwrap()
                .load_models_at_startup
        );
        std::fs::write(
            dir.join(SETTINGS_FILE),
            r#"{"http_port": 9000, "grpc_port": 9001, "host": "127.0.0.1",
                "metrics_endpoint": "/prom", "grpc_max_message_length": 1048576}"#,
        )
        .unwrap();
        let network = ServerSettings::load(Some(&dir), &no_env).unwrap().network;
        assert_eq!(network.http_port, Some(9000));
        assert_eq!(network.grpc_port, Some(9001));
        assert_eq!(network.metrics_port, None);
        assert_eq!(network.host, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(network.metrics_endpoint.as_deref(), Some("/prom"));
        assert_eq!(network.grpc_max_message_length, Some(1 << 20));
        std::fs::write(dir.join(SETTINGS_FILE), r#"{"http_port": 70000}"#).unwrap();
        let err = ServerSettings::load(Some(&dir), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("http_port"), "{err}");
        std::fs::write(dir.join(SETTINGS_FILE), "not json").unwrap();
        let err = ServerSettings::load(Some(&dir), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("settings.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Loads a `settings.json` holding `json` with the environment `env`.
    fn load_with(tag: &str, json: &str, env: &[(&str, &str)]) -> Result<ServerSettings, String> {
        let dir = scratch(tag);
        std::fs::write(dir.join(SETTINGS_FILE), json).unwrap();
        let result = ServerSettings::load(Some(&dir), &env_of(env)).map_err(|e| e.to_string());
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    #[test]
    fn server_name_and_version_come_from_the_file_then_the_environment() {
        let s = load_with("identity", "{}", &[]).unwrap();
        assert_eq!((s.server_name, s.server_version), (None, None));
        let env = [
            ("MLSERVER_SERVER_NAME", "from-env"),
            ("MLSERVER_SERVER_VERSION", "9.9"),
        ];
        let s = load_with("identity-env", "{}", &env).unwrap();
        assert_eq!(s.server_name.as_deref(), Some("from-env"));
        assert_eq!(s.server_version.as_deref(), Some("9.9"));
        let s = load_with(
            "identity-file",
            r#"{"server_name": "iris-server", "server_version": "1.2.3"}"#,
            &env,
        )
        .unwrap();
        assert_eq!(s.server_name.as_deref(), Some("iris-server"));
        assert_eq!(s.server_version.as_deref(), Some("1.2.3"));
        let err = load_with("identity-bad", r#"{"server_name": 5}"#, &[]).unwrap_err();
        assert!(err.contains("server_name must be a string"), "{err}");
    }

    #[test]
    fn repository_api_switch_and_token_from_the_file_then_the_environment() {
        let open = load_with("repo-api", "{}", &[]).unwrap().repository_api;
        assert!(open.enabled && open.token.is_none());
        let file = r#"{"repository_api_enabled": false, "repository_api_token": "f"}"#;
        let s = load_with("repo-api-file", file, &[])
            .unwrap()
            .repository_api;
        assert!(!s.enabled);
        assert_eq!(s.token.as_deref(), Some("f"));
        let env = [
            ("MLSERVER_REPOSITORY_API_ENABLED", "no"),
            ("MLSERVER_REPOSITORY_API_TOKEN", "e"),
        ];
        let s = load_with("repo-api-env", "{}", &env)
            .unwrap()
            .repository_api;
        assert!(!s.enabled);
        assert_eq!(s.token.as_deref(), Some("e"));
    }

    #[test]
    fn gzip_is_on_unless_turned_off() {
        assert!(load_with("gzip", "{}", &[]).unwrap().gzip_enabled);
        assert!(
            !load_with("gzip-file", r#"{"gzip_enabled": false}"#, &[])
                .unwrap()
                .gzip_enabled
        );
        let off = [("MLSERVER_GZIP_ENABLED", "false")];
        assert!(!load_with("gzip-env", "{}", &off).unwrap().gzip_enabled);
        assert!(
            load_with("gzip-wins", r#"{"gzip_enabled": true}"#, &off)
                .unwrap()
                .gzip_enabled
        );
        let err = load_with("gzip-bad", r#"{"gzip_enabled": "sometimes"}"#, &[]).unwrap_err();
        assert!(err.contains("gzip_enabled must be a boolean"), "{err}");
        let err = load_with("gzip-bad-env", "{}", &[("MLSERVER_GZIP_ENABLED", "2")]).unwrap_err();
        assert!(err.contains("MLSERVER_GZIP_ENABLED"), "{err}");
    }

    #[test]
    fn root_path_is_normalized_to_a_prefix() {
        for (raw, want) in [
            ("/models", Some("/models")),
            ("models/", Some("/models")),
            ("/a/b/", Some("/a/b")),
            ("/", None),
            ("", None),
        ] {
            let json = serde_json::json!({ "root_path": raw }).to_string();
            let s = load_with("root", &json, &[]).unwrap();
            assert_eq!(s.root_path.as_deref(), want, "{raw:?}");
        }
        let s = load_with("root-env", "{}", &[("MLSERVER_ROOT_PATH", "/seldon")]).unwrap();
        assert_eq!(s.root_path.as_deref(), Some("/seldon"));
        let err = load_with("root-bad", r#"{"root_path": "/a/{b}"}"#, &[]).unwrap_err();
        assert!(err.contains("root_path must be a URL path prefix"), "{err}");
        let err = load_with("root-type", r#"{"root_path": 3}"#, &[]).unwrap_err();
        assert!(err.contains("root_path must be a string"), "{err}");
    }

    #[test]
    fn cors_settings_take_mlserver_defaults_and_are_checked() {
        assert_eq!(load_with("cors-none", "{}", &[]).unwrap().cors, None);
        let cors = load_with(
            "cors",
            r#"{"cors_settings": {"allow_origins": ["https://a.example"]}}"#,
            &[],
        )
        .unwrap()
        .cors
        .unwrap();
        assert_eq!(cors.allow_origins, ["https://a.example"]);
        assert_eq!(cors.allow_methods, ["GET"]);
        assert_eq!(cors.max_age, 600);
        assert!(!cors.allow_credentials);
        assert!(cors.allow_headers.is_empty() && cors.expose_headers.is_empty());
        let env = [(
            "MLSERVER_CORS_SETTINGS",
            r#"{"allow_origins": ["*"], "max_age": 5}"#,
        )];
        let cors = load_with("cors-env", "{}", &env).unwrap().cors.unwrap();
        assert_eq!((cors.allow_origins[0].as_str(), cors.max_age), ("*", 5));
        for (json, names) in [
            (
                r#"{"cors_settings": {"allow_origin_regex": "(unclosed"}}"#,
                "cors_settings.allow_origin_regex",
            ),
            (
                r#"{"cors_settings": {"allow_methods": ["NOT A METHOD"]}}"#,
                "cors_settings.allow_methods",
            ),
            (
                r#"{"cors_settings": {"allow_headers": ["bad header"]}}"#,
                "cors_settings.allow_headers",
            ),
            (
                r#"{"cors_settings": {"allow_origins": ["https://a\u0001"]}}"#,
                "cors_settings.allow_origins",
            ),
            (r#"{"cors_settings": {"max_age": -1}}"#, "cors_settings"),
            (r#"{"cors_settings": 5}"#, "cors_settings"),
        ] {
            let err = load_with("cors-bad", json, &[]).unwrap_err();
            assert!(err.contains(names), "{json}: {err}");
        }
        let err = load_with(
            "cors-bad-env",
            "{}",
            &[("MLSERVER_CORS_SETTINGS", "not json")],
        )
        .unwrap_err();
        assert!(err.contains("MLSERVER_CORS_SETTINGS"), "{err}");
    }

    #[test]
    fn metrics_endpoint_null_turns_the_metrics_server_off() {
        let s = load_with("metrics-null", r#"{"metrics_endpoint": null}"#, &[]).unwrap();
        assert_eq!(s.network.metrics_endpoint.as_deref(), Some(""));
        let s = load_with("metrics-port", r#"{"metrics_port": 9100}"#, &[]).unwrap();
        assert_eq!(s.network.metrics_port, Some(9100));
        assert_eq!(s.network.metrics_endpoint, None);
        let err = load_with("metrics-bad", r#"{"metrics_endpoint": 7}"#, &[]).unwrap_err();
        assert!(err.contains("metrics_endpoint must be a path"), "{err}");
    }

    #[test]
    fn debug_and_structured_logging_come_from_the_file_then_the_environment() {
        let s = load_with("log", "{}", &[]).unwrap();
        assert!(!s.debug && !s.structured_logging);
        let s = load_with(
            "log-file",
            r#"{"debug": true, "use_structured_logging": true, "logging_settings": "log.conf"}"#,
            &[],
        )
        .unwrap();
        assert!(s.debug && s.structured_logging);
        let env = [
            ("MLSERVER_DEBUG", "1"),
            ("MLSERVER_USE_STRUCTURED_LOGGING", "yes"),
        ];
        let s = load_with("log-env", "{}", &env).unwrap();
        assert!(s.debug && s.structured_logging);
        let err = load_with("log-bad", r#"{"debug": "very"}"#, &[]).unwrap_err();
        assert!(err.contains("debug must be a boolean"), "{err}");

        // Read before logging starts, without failing on what load reports.
        let dir = scratch("logging-settings");
        assert_eq!(logging_settings(Some(&dir), &env_of(&env)), (true, true));
        std::fs::write(dir.join(SETTINGS_FILE), r#"{"debug": false}"#).unwrap();
        assert_eq!(logging_settings(Some(&dir), &env_of(&env)), (false, true));
        std::fs::write(dir.join(SETTINGS_FILE), "not json").unwrap();
        assert_eq!(logging_settings(Some(&dir), &env_of(&[])), (false, false));
        assert_eq!(logging_settings(None, &env_of(&[])), (false, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn model_settings_metadata_fields_are_read_and_checked() {
        let s = ModelSettingsFile::parse(
            r#"{"platform": "mlflow", "versions": ["v1", "v2"],
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4],
                            "parameters": {"content_type": "np"}}],
                "outputs": [{"name": "y", "datatype": "INT64", "shape": [-1]}],
                "parameters": {"content_type": "np"}}"#,
        )
        .unwrap();
        let m = &s.metadata;
        assert_eq!(m.platform.as_deref(), Some("mlflow"));
        assert_eq!(
            m.versions.as_deref(),
            Some(&["v1".to_owned(), "v2".to_owned()][..])
        );
        assert_eq!(m.content_type.as_deref(), Some("np"));
        let inputs = m.inputs.as_ref().unwrap();
        assert_eq!(inputs[0].name, "x");
        assert_eq!(inputs[0].datatype, "FP32");
        assert_eq!(inputs[0].shape, [-1, 4]);
        assert_eq!(inputs[0].parameters["content_type"], "np");
        let outputs = m.outputs.as_ref().unwrap();
        assert_eq!(
            (outputs[0].datatype, outputs[0].parameters.len()),
            ("INT64", 0)
        );

        for (json, names) in [
            (
                r#"{"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1]}]}"#,
                "inputs[0].datatype",
            ),
            (
                r#"{"outputs": [{"name": "y", "datatype": "FP32", "shape": [1.5]}]}"#,
                "outputs[0].shape",
            ),
            (
                r#"{"inputs": [{"datatype": "FP32", "shape": [1]}]}"#,
                "inputs[0].name",
            ),
            (r#"{"inputs": {"name": "x"}}"#, "inputs must be a list"),
            (
                r#"{"parameters": {"content_type": "xml"}}"#,
                "parameters.content_type \"xml\"",
            ),
            (r#"{"platform": 3}"#, "platform must be a string"),
            (r#"{"versions": [1]}"#, "versions must be a list of strings"),
        ] {
            let err = ModelSettingsFile::parse(json).unwrap_err();
            assert!(err.contains(names), "{json}: {err}");
        }
    }

    #[test]
    fn booleans_parse_like_pydantic() {
        for t in ["1", "true", "True", "YES", "on", "t", "y"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "false", "FALSE", "no", "off", "f", "n"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("2"), None);
        assert_eq!(parse_bool(""), None);
    }
}
