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
    "debug",
    "parallel_workers",
    "parallel_workers_timeout",
    "environments_dir",
    "model_repository_implementation",
    "model_repository_implementation_args",
    "model_repository_root",
    "server_name",
    "server_version",
    "extensions",
    "root_path",
    "cors_settings",
    "metrics_rest_server_prefix",
    "metrics_dir",
    "use_structured_logging",
    "logging_settings",
    "kafka_enabled",
    "kafka_servers",
    "kafka_topic_input",
    "kafka_topic_output",
    "tracing_server",
    "cache_enabled",
    "cache_size",
    "gzip_enabled",
];

/// `model-settings.json` fields (top level and under `parameters`) that only MLServer's Python
/// runtime uses.
const PYTHON_ONLY_MODEL_FIELDS: &[&str] = &[
    "implementation",
    "platform",
    "versions",
    "inputs",
    "outputs",
    "parallel_workers",
    "warm_workers",
    "cache_enabled",
    "environment_tarball",
    "environment_path",
    "inference_pool_gid",
    "autogenerate_inference_pool_gid",
    "format",
    "content_type",
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
    /// `metrics_endpoint`.
    pub metrics_endpoint: Option<String>,
    /// `grpc_max_message_length`.
    pub grpc_max_message_length: Option<usize>,
}

/// The server settings ironflow acts on, from `settings.json` and the `MLSERVER_*` environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// `load_models_at_startup` (default true): when false, models are registered but only
    /// loaded through `POST /v2/repository/models/{m}/load`.
    pub load_models_at_startup: bool,
    /// The file's network fields.
    pub network: NetworkSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            load_models_at_startup: true,
            network: NetworkSettings::default(),
        }
    }
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
        Some(Value::Null) => {
            note_ignored(
                "settings.json metrics_endpoint null",
                "ironflow always serves metrics",
            );
            None
        }
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
        let mut settings = Self {
            network: network(&file, &path)?,
            ..Self::default()
        };
        for key in file.keys() {
            if NETWORK_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if PYTHON_ONLY_SERVER_FIELDS.contains(&key.as_str()) {
                note_ignored(
                    &format!("settings.json field {key:?}"),
                    "it only applies to MLServer's Python server",
                );
            } else if key != "load_models_at_startup" {
                note_ignored(
                    &format!("settings.json field {key:?}"),
                    "ironflow does not know it",
                );
            }
        }
        settings.load_models_at_startup = match file.get("load_models_at_startup") {
            Some(v) => json_bool(v).ok_or_else(|| SettingsError::Invalid {
                path: path.clone(),
                reason: format!("load_models_at_startup must be a boolean, not {v}"),
            })?,
            None => match env("MLSERVER_LOAD_MODELS_AT_STARTUP") {
                Some(value) => parse_bool(&value).ok_or(SettingsError::Env {
                    name: "MLSERVER_LOAD_MODELS_AT_STARTUP".to_owned(),
                    value,
                    expected: "a boolean (true/false, 1/0, yes/no, on/off)",
                })?,
                None => true,
            },
        };
        for field in ["PARALLEL_WORKERS", "DEBUG", "ENVIRONMENTS_DIR"] {
            let name = format!("MLSERVER_{field}");
            if env(&name).is_some() {
                note_ignored(&name, "inference runs in ironflow's own thread pool");
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
}

#[derive(Deserialize)]
struct RawModelSettings {
    #[serde(default)]
    name: Option<String>,
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
        let (uri, version) = match raw.parameters {
            Some(p) => {
                ignored.extend(p.other.keys().map(|k| format!("parameters.{k}")));
                (p.uri, p.version)
            }
            None => (None, None),
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
        })
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
