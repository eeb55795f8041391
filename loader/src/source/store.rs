//! Building an [`ObjectStore`] for a remote model URI from the environment, reading credentials
//! and endpoints under the names each cloud's SDK (and KServe's storage initializer) uses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use url::Url;

use super::{SourceError, SourceOptions};

/// A store and the path inside it that the URI names (a prefix, or one archive object).
pub(super) struct Located {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
}

/// Connects to the store a remote URI names. Nothing is requested yet: credentials and
/// buckets are checked by the first listing or download.
pub(super) fn locate(uri: &str, url: &Url, opts: &SourceOptions) -> Result<Located, SourceError> {
    let invalid = |reason: String| SourceError::InvalidUri {
        uri: uri.to_owned(),
        reason,
    };
    let client = ClientOptions::new()
        .with_timeout(opts.request_timeout)
        .with_connect_timeout(Duration::from_secs(10));
    // Fail within about a minute rather than object_store's default of ten retries over three.
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
    };
    let env = &opts.env;
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(
            s3_builder(env, client)
                .with_retry(retry)
                .with_url(uri)
                .build()
                .map_err(|e| invalid(e.to_string()))?,
        ),
        "gs" => {
            let mut b = GoogleCloudStorageBuilder::new()
                .with_client_options(client)
                .with_retry(retry);
            for (key, value) in prefixed(env, "GOOGLE_") {
                if let Ok(k) = key.parse::<GoogleConfigKey>() {
                    b = b.with_config(k, value);
                }
            }
            Arc::new(
                b.with_url(uri)
                    .build()
                    .map_err(|e| invalid(e.to_string()))?,
            )
        }
        "az" | "azure" | "abfs" | "abfss" | "adl" => Arc::new(
            azure_builder(env, client)
                .map_err(invalid)?
                .with_retry(retry)
                .with_url(uri)
                .build()
                .map_err(|e| invalid(e.to_string()))?,
        ),
        "http" | "https" => {
            let origin = url.origin().ascii_serialization();
            let store = HttpBuilder::new()
                .with_url(origin)
                .with_client_options(client.with_allow_http(true))
                .with_retry(retry)
                .build()
                .map_err(|e| invalid(e.to_string()))?;
            let path = Path::from_url_path(url.path()).map_err(|e| invalid(e.to_string()))?;
            return Ok(Located {
                store: Arc::new(store),
                path,
            });
        }
        other => {
            return Err(SourceError::UnsupportedScheme {
                uri: uri.to_owned(),
                scheme: other.to_owned(),
            })
        }
    };
    // For bucket URIs the path is everything after the bucket / container.
    let path = Path::from_url_path(url.path()).map_err(|e| invalid(e.to_string()))?;
    Ok(Located { store, path })
}

/// The `(lowercased key, value)` pairs of `env` whose key starts with `prefix`.
fn prefixed<'a>(
    env: &'a HashMap<String, String>,
    prefix: &'a str,
) -> impl Iterator<Item = (String, &'a str)> + 'a {
    env.iter()
        .filter(move |(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
}

/// S3 and S3-compatible stores: every `AWS_*` variable object_store knows (keys, session token,
/// region, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`...), plus `AWS_ENDPOINT_URL_S3` and KServe's
/// `S3_ENDPOINT` / `S3_USE_HTTPS` / `AWS_ANONYMOUS_CREDENTIAL`.
fn s3_builder(env: &HashMap<String, String>, client: ClientOptions) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new().with_client_options(client);
    for (key, value) in prefixed(env, "AWS_") {
        if let Ok(k) = key.parse::<AmazonS3ConfigKey>() {
            b = b.with_config(k, value);
        }
    }
    let use_https = env
        .get("S3_USE_HTTPS")
        .is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "False"));
    let endpoint = env
        .get("AWS_ENDPOINT_URL_S3")
        .cloned()
        .or_else(|| env.get("AWS_ENDPOINT_URL").cloned())
        .or_else(|| env.get("AWS_ENDPOINT").cloned())
        .or_else(|| {
            env.get("S3_ENDPOINT").map(|e| {
                if e.contains("://") {
                    e.clone()
                } else {
                    format!("{}://{e}", if use_https { "https" } else { "http" })
                }
            })
        });
    if let Some(endpoint) = endpoint {
        // An endpoint spelled `http://` is an explicit choice of plain HTTP (MinIO, moto, ...).
        if endpoint.starts_with("http://") {
            b = b.with_allow_http(true);
        }
        b = b.with_endpoint(endpoint);
    }
    if !use_https {
        b = b.with_allow_http(true);
    }
    if env
        .get("AWS_ANONYMOUS_CREDENTIAL")
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"))
    {
        b = b.with_skip_signature(true);
    }
    if !env.contains_key("AWS_REGION") && !env.contains_key("AWS_DEFAULT_REGION") {
        b = b.with_region("us-east-1");
    }
    b
}

/// Azure Blob Storage / ADLS Gen2: the `AZURE_STORAGE_*` variables object_store knows (account
/// name and key, SAS, token, `AZURE_STORAGE_USE_EMULATOR` for Azurite...), plus
/// `AZURE_STORAGE_CONNECTION_STRING`.
fn azure_builder(
    env: &HashMap<String, String>,
    client: ClientOptions,
) -> Result<MicrosoftAzureBuilder, String> {
    let mut b = MicrosoftAzureBuilder::new().with_client_options(client);
    if let Some(conn) = env.get("AZURE_STORAGE_CONNECTION_STRING") {
        b = apply_connection_string(b, conn)?;
    }
    // Explicit variables win over the connection string.
    for (key, value) in prefixed(env, "AZURE_") {
        if let Ok(k) = key.parse::<AzureConfigKey>() {
            b = b.with_config(k, value);
        }
    }
    Ok(b)
}

/// Applies an Azure Storage connection string
/// (`DefaultEndpointsProtocol=..;AccountName=..;AccountKey=..;BlobEndpoint=..`).
fn apply_connection_string(
    mut b: MicrosoftAzureBuilder,
    conn: &str,
) -> Result<MicrosoftAzureBuilder, String> {
    let mut fields = HashMap::new();
    for part in conn.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            "AZURE_STORAGE_CONNECTION_STRING: expected key=value pairs separated by ';'".to_owned()
        })?;
        fields.insert(k.to_ascii_lowercase(), v.to_owned());
    }
    if fields
        .get("usedevelopmentstorage")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(b.with_use_emulator(true));
    }
    let account = fields.get("accountname");
    if let Some(account) = account {
        b = b.with_account(account);
    }
    if let Some(key) = fields.get("accountkey") {
        b = b.with_access_key(key);
    }
    if let Some(sas) = fields.get("sharedaccesssignature") {
        b = b.with_config(AzureConfigKey::SasKey, sas);
    }
    let endpoint = fields.get("blobendpoint").cloned().or_else(|| {
        let protocol = fields
            .get("defaultendpointsprotocol")
            .map_or("https", String::as_str);
        let suffix = fields
            .get("endpointsuffix")
            .map_or("core.windows.net", String::as_str);
        account.map(|a| format!("{protocol}://{a}.blob.{suffix}"))
    });
    if let Some(endpoint) = endpoint {
        if endpoint.starts_with("http://") {
            b = b.with_allow_http(true);
        }
        b = b.with_endpoint(endpoint);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scheme_is_refused() {
        let opts = SourceOptions::default();
        let url = Url::parse("ftp://host/model").expect("url");
        let Err(err) = locate("ftp://host/model", &url, &opts) else {
            panic!("ftp accepted");
        };
        assert!(err.to_string().contains("ftp"), "{err}");
    }

    #[test]
    fn bad_connection_string_is_reported() {
        let b = MicrosoftAzureBuilder::new();
        let Err(err) = apply_connection_string(b, "nonsense") else {
            panic!("nonsense accepted");
        };
        assert!(err.contains("AZURE_STORAGE_CONNECTION_STRING"), "{err}");
    }
}
