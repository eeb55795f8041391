//! Model sources: turning a model URI into a local MLflow model directory.
//!
//! Plain paths and `file://` URIs are used in place. `s3://`, `gs://`, `az://` / `abfs[s]://`
//! prefixes are listed and every object is downloaded (at most [`CONCURRENCY`] at a time) into a
//! fresh directory under the cache root; each object's size is checked against the listing and
//! the directory is renamed into place only once complete, so a half-downloaded model is never
//! served. A URI ending in `.tar.gz`, `.tgz` or `.zip` (the only form accepted over `http(s)://`)
//! names one archive, which is downloaded and unpacked the same way, as KServe's storage
//! initializer does (see docs/compat.md 3.5).

mod archive;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};
use tokio::io::AsyncWriteExt;
use url::Url;

/// How many objects are downloaded at once.
pub const CONCURRENCY: usize = 8;

/// The cache root used when none is configured.
pub const DEFAULT_CACHE_ROOT: &str = "/tmp/ironflow-models";

/// The file, inside a downloaded model directory, recording what was downloaded (so an unchanged
/// prefix is not fetched again).
const MANIFEST: &str = ".ironflow-source.json";

/// Why a model URI could not be turned into a local directory. Every variant names the URI.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The URI does not parse, or the store rejects its form or the environment's settings.
    #[error("invalid model URI {uri}: {reason}")]
    InvalidUri {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// No store is known for the scheme.
    #[error("unsupported scheme {scheme:?} in model URI {uri} (use a path, file://, s3://, gs://, az://, abfs://, or an http(s):// .tar.gz/.tgz/.zip archive)")]
    UnsupportedScheme {
        /// The URI.
        uri: String,
        /// The scheme.
        scheme: String,
    },
    /// The store refused or failed a request.
    #[error("cannot {action} {object} for model URI {uri}{hint}: {source}")]
    Store {
        /// The URI.
        uri: String,
        /// `list` or `download`.
        action: &'static str,
        /// The object or prefix at fault.
        object: String,
        /// A hint derived from the failure (missing object or bucket, credentials).
        hint: &'static str,
        /// The store's error.
        source: Box<object_store::Error>,
    },
    /// The prefix holds no objects.
    #[error("no objects under model URI {uri} (missing bucket or prefix?)")]
    Empty {
        /// The URI.
        uri: String,
    },
    /// An object's downloaded size differs from the size listed.
    #[error("downloaded {got} bytes of {object} for model URI {uri}, expected {expected}")]
    SizeMismatch {
        /// The URI.
        uri: String,
        /// The object.
        object: String,
        /// The listed size.
        expected: u64,
        /// The bytes received.
        got: u64,
    },
    /// An object name cannot be a local file name.
    #[error("object {object} of model URI {uri} has an unsafe name")]
    UnsafeName {
        /// The URI.
        uri: String,
        /// The object.
        object: String,
    },
    /// An http(s) URI that is not an archive.
    #[error("model URI {uri}: http(s) URIs must name a .tar.gz, .tgz or .zip archive (a directory cannot be listed over HTTP)")]
    HttpNotArchive {
        /// The URI.
        uri: String,
    },
    /// The archive could not be unpacked.
    #[error("cannot unpack archive {uri}: {reason}")]
    Archive {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// A local file or directory could not be written.
    #[error("model URI {uri}: cannot write {}: {source}", path.display())]
    Io {
        /// The URI.
        uri: String,
        /// The local path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Resolving took longer than [`SourceOptions::timeout`].
    #[error("model URI {uri}: download did not finish within {after:?}")]
    Timeout {
        /// The URI.
        uri: String,
        /// The limit.
        after: Duration,
    },
}

/// Where downloads go and which settings the stores read.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// The cache root; each URI gets `<root>/<hash of the URI>`. Default [`DEFAULT_CACHE_ROOT`].
    pub cache_root: PathBuf,
    /// The environment the stores' settings are read from (`AWS_*`, `AZURE_*`, `GOOGLE_*`,
    /// `S3_ENDPOINT`...). [`SourceOptions::from_env`] takes the process environment.
    pub env: HashMap<String, String>,
    /// The limit on one HTTP request (one object download included).
    pub request_timeout: Duration,
    /// The limit on resolving the whole URI.
    pub timeout: Duration,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            cache_root: PathBuf::from(DEFAULT_CACHE_ROOT),
            env: HashMap::new(),
            request_timeout: Duration::from_secs(300),
            timeout: Duration::from_secs(1800),
        }
    }
}

impl SourceOptions {
    /// Options reading the process environment, with `cache_root` if given.
    pub fn from_env(cache_root: Option<PathBuf>) -> Self {
        let mut opts = Self {
            env: std::env::vars().collect(),
            ..Self::default()
        };
        if let Some(root) = cache_root {
            opts.cache_root = root;
        }
        opts
    }
}

/// Whether `uri` names a local path (plain or `file://`) rather than a remote store.
pub fn is_local(uri: &str) -> bool {
    !uri.contains("://") || uri.starts_with("file://")
}

/// Resolves a model URI to a local directory, downloading it first when it is remote.
pub async fn resolve(uri: &str, opts: &SourceOptions) -> Result<PathBuf, SourceError> {
    if !uri.contains("://") {
        return Ok(PathBuf::from(uri));
    }
    let url = Url::parse(uri).map_err(|e| SourceError::InvalidUri {
        uri: uri.to_owned(),
        reason: e.to_string(),
    })?;
    if url.scheme() == "file" {
        return url.to_file_path().map_err(|()| SourceError::InvalidUri {
            uri: uri.to_owned(),
            reason: "not a local absolute path".to_owned(),
        });
    }
    match tokio::time::timeout(opts.timeout, fetch(uri, &url, opts)).await {
        Ok(result) => result,
        Err(_) => Err(SourceError::Timeout {
            uri: uri.to_owned(),
            after: opts.timeout,
        }),
    }
}

async fn fetch(uri: &str, url: &Url, opts: &SourceOptions) -> Result<PathBuf, SourceError> {
    let archive = archive::Kind::of(url.path());
    if archive.is_none() && matches!(url.scheme(), "http" | "https") {
        return Err(SourceError::HttpNotArchive {
            uri: uri.to_owned(),
        });
    }
    let located = store::locate(uri, url, opts)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceError::Io {
            uri: uri.to_owned(),
            path,
            source,
        }
    };
    let root = &opts.cache_root;
    tokio::fs::create_dir_all(root).await.map_err(io(root))?;
    let final_dir = root.join(format!("{:016x}", fnv1a(uri)));

    let objects = match archive {
        Some(_) => Vec::new(),
        None => list(uri, located.store.as_ref(), &located.path).await?,
    };
    let manifest = manifest(uri, &objects);
    if archive.is_none() && read_manifest(&final_dir).await.as_deref() == Some(&manifest) {
        tracing::info!(uri, dir = %final_dir.display(), "model unchanged since last download, using the cache");
        return Ok(final_dir);
    }

    let staging = Staging::new(root.join(format!(
        ".tmp-{:016x}-{}-{}",
        fnv1a(uri),
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )));
    tokio::fs::create_dir_all(&staging.0)
        .await
        .map_err(io(&staging.0))?;
    let started = std::time::Instant::now();
    let mut model_root = None;
    match archive {
        None => {
            futures::stream::iter(objects.iter().map(|(meta, rel)| {
                download(uri, located.store.as_ref(), meta, staging.0.join(rel))
            }))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        }
        Some(kind) => {
            let file = staging.0.join(".archive");
            download_archive(uri, located.store.as_ref(), &located.path, &file).await?;
            let dest = staging.0.clone();
            let archive_uri = uri.to_owned();
            tokio::task::spawn_blocking(move || {
                archive::extract(kind, &file, &dest)?;
                std::fs::remove_file(&file).map_err(|e| e.to_string())?;
                Ok::<_, String>(inner_model_dir(&dest))
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map(|inner| model_root = inner)
            .map_err(|reason| SourceError::Archive {
                uri: archive_uri,
                reason,
            })?;
        }
    }
    let manifest_path = staging.0.join(MANIFEST);
    tokio::fs::write(&manifest_path, &manifest)
        .await
        .map_err(io(&manifest_path))?;
    staging.commit(&final_dir).await.map_err(io(&final_dir))?;
    tracing::info!(
        uri,
        dir = %final_dir.display(),
        objects = objects.len(),
        // Two decimals: a plain number in the log, not 17 digits.
        download_ms = (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
        "model downloaded"
    );
    Ok(match model_root {
        Some(inner) => final_dir.join(inner),
        None => final_dir,
    })
}

/// Lists every object under `prefix`, paired with its path relative to the prefix.
async fn list(
    uri: &str,
    store: &dyn ObjectStore,
    prefix: &ObjectPath,
) -> Result<Vec<(ObjectMeta, PathBuf)>, SourceError> {
    let prefix_arg = (!prefix.as_ref().is_empty()).then_some(prefix);
    let metas: Vec<ObjectMeta> = store
        .list(prefix_arg)
        .try_collect()
        .await
        .map_err(|source| store_error(uri, "list", prefix.to_string(), source))?;
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas {
        let Some(parts) = meta.location.prefix_match(prefix) else {
            continue;
        };
        let mut rel = PathBuf::new();
        for part in parts {
            let part = part.as_ref();
            if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
                return Err(SourceError::UnsafeName {
                    uri: uri.to_owned(),
                    object: meta.location.to_string(),
                });
            }
            rel.push(part);
        }
        // Zero-byte "folder" markers some tools create have no name below the prefix.
        if rel.as_os_str().is_empty() || rel == Path::new(MANIFEST) {
            continue;
        }
        out.push((meta, rel));
    }
    if out.is_empty() {
        return Err(SourceError::Empty {
            uri: uri.to_owned(),
        });
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Downloads one listed object to `to`, checking its size against the listing.
async fn download(
    uri: &str,
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    to: PathBuf,
) -> Result<(), SourceError> {
    let got = stream_to(uri, store, &meta.location, &to).await?;
    if got.0 != meta.size {
        return Err(SourceError::SizeMismatch {
            uri: uri.to_owned(),
            object: meta.location.to_string(),
            expected: meta.size,
            got: got.0,
        });
    }
    Ok(())
}

/// Downloads an archive object to `to`, checking its size against the response's.
async fn download_archive(
    uri: &str,
    store: &dyn ObjectStore,
    path: &ObjectPath,
    to: &Path,
) -> Result<(), SourceError> {
    let (got, expected) = stream_to(uri, store, path, to).await?;
    if got != expected {
        return Err(SourceError::SizeMismatch {
            uri: uri.to_owned(),
            object: path.to_string(),
            expected,
            got,
        });
    }
    Ok(())
}

/// Streams one object into a new file; returns the bytes written and the size the store announced.
async fn stream_to(
    uri: &str,
    store: &dyn ObjectStore,
    path: &ObjectPath,
    to: &Path,
) -> Result<(u64, u64), SourceError> {
    let fail = |source| store_error(uri, "download", path.to_string(), source);
    let io = |source| SourceError::Io {
        uri: uri.to_owned(),
        path: to.to_owned(),
        source,
    };
    let result = store.get(path).await.map_err(fail)?;
    let announced = result.meta.size;
    if let Some(parent) = to.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    let mut stream = result.into_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(fail)?;
        file.write_all(&chunk).await.map_err(io)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(io)?;
    Ok((written, announced))
}

fn store_error(
    uri: &str,
    action: &'static str,
    object: String,
    source: object_store::Error,
) -> SourceError {
    let text = source.to_string();
    let hint = match &source {
        object_store::Error::NotFound { .. } => " (missing object or bucket)",
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => " (access denied: check the credentials)",
        _ if ["NoSuchBucket", "ContainerNotFound", "404 Not Found"]
            .iter()
            .any(|s| text.contains(s)) =>
        {
            " (missing object or bucket)"
        }
        _ if [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AuthenticationFailed",
            "AuthorizationFailure",
            "403 Forbidden",
            "401 Unauthorized",
        ]
        .iter()
        .any(|s| text.contains(s)) =>
        {
            " (access denied: check the credentials)"
        }
        _ if text.contains("timed out") || text.contains("operation timed out") => " (timed out)",
        _ => "",
    };
    SourceError::Store {
        uri: uri.to_owned(),
        action,
        object,
        hint,
        source: Box::new(source),
    }
}

/// If the archive unpacked into a single directory holding the model, that directory's name.
fn inner_model_dir(dest: &Path) -> Option<PathBuf> {
    if dest.join("MLmodel").exists() {
        return None;
    }
    let mut dirs = std::fs::read_dir(dest)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".archive");
    let only = dirs.next()?;
    if dirs.next().is_some() || !only.path().join("MLmodel").exists() {
        return None;
    }
    Some(PathBuf::from(only.file_name()))
}

/// What was downloaded: the URI and each object's name, size and ETag.
fn manifest(uri: &str, objects: &[(ObjectMeta, PathBuf)]) -> String {
    let objects: Vec<_> = objects
        .iter()
        .map(|(m, _)| serde_json::json!([m.location.as_ref(), m.size, m.e_tag]))
        .collect();
    serde_json::json!({ "uri": uri, "objects": objects }).to_string()
}

async fn read_manifest(dir: &Path) -> Option<String> {
    tokio::fs::read_to_string(dir.join(MANIFEST)).await.ok()
}

/// A staging directory, removed on drop unless committed.
struct Staging(PathBuf, bool);

impl Staging {
    fn new(path: PathBuf) -> Self {
        Self(path, false)
    }

    /// Renames the complete directory into place, replacing an older download.
    async fn commit(mut self, final_dir: &Path) -> std::io::Result<()> {
        if tokio::fs::rename(&self.0, final_dir).await.is_err() {
            // The target exists (an older download): move it aside, then retry once.
            let old = self.0.with_extension("old");
            if tokio::fs::rename(final_dir, &old).await.is_ok() {
                let _ = tokio::fs::remove_dir_all(&old).await;
            }
            tokio::fs::rename(&self.0, final_dir).await?;
        }
        self.1 = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.1 {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// FNV-1a: a stable hash of the URI naming its cache directory.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_and_file_uris_resolve_in_place() {
        let opts = SourceOptions::default();
        assert_eq!(
            resolve("/mnt/models", &opts).await.ok(),
            Some(PathBuf::from("/mnt/models"))
        );
        assert_eq!(
            resolve("file:///mnt/models/m%201", &opts).await.ok(),
            Some(PathBuf::from("/mnt/models/m 1"))
        );
    }

    #[tokio::test]
    async fn http_directory_is_refused() {
        let err = resolve("http://127.0.0.1:1/model", &SourceOptions::default())
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("http://127.0.0.1:1/model"),
            "{err}"
        );
    }

    #[test]
    fn cache_names_are_stable() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a("s3://a/b"), fnv1a("s3://a/c"));
    }
}
