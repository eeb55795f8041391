//! Who may use the repository API (`/v2/repository/*` and gRPC `Repository*`, issue 17 item 4):
//! it can be turned off (`repository_api_enabled: false`) or protected by a bearer token
//! (`repository_api_token`), from `settings.json`, its `MLSERVER_REPOSITORY_API_*` environment
//! variables, or the `--repository-api-enabled` / `--repository-api-token` flags (which win).
//!
//! On by default and open, as MLServer's is (KServe's multi-model serving loads and unloads
//! through it); an operator who does not need it turns it off, one who does sets a token.

/// Why a repository API call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// `repository_api_enabled` is false.
    #[error("the repository API is turned off on this server (repository_api_enabled)")]
    Disabled,
    /// A token is set and the request carries no `Authorization: Bearer` with it.
    #[error("the repository API needs 'Authorization: Bearer <repository_api_token>'")]
    Unauthorized,
}

/// The repository API's switch and token.
#[derive(Clone, PartialEq, Eq)]
pub struct RepositoryAccess {
    /// Whether the API answers at all.
    pub enabled: bool,
    /// The bearer token every call must carry, if any.
    pub token: Option<String>,
}

impl Default for RepositoryAccess {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
        }
    }
}

impl std::fmt::Debug for RepositoryAccess {
    // The token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryAccess")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl RepositoryAccess {
    /// Whether a call whose `Authorization` header (or gRPC `authorization` metadata) is
    /// `authorization` may go on.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), AccessError> {
        if !self.enabled {
            return Err(AccessError::Disabled);
        }
        let Some(token) = &self.token else {
            return Ok(());
        };
        let presented = authorization.and_then(bearer).unwrap_or_default();
        if constant_time_eq(presented, token.as_bytes()) {
            Ok(())
        } else {
            Err(AccessError::Unauthorized)
        }
    }
}

/// The credentials of a `Bearer` authorization value (the scheme is case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, rest) = value.split_at_checked(6)?;
    (scheme.eq_ignore_ascii_case(b"bearer") && rest.first() == Some(&b' '))
        .then(|| rest.trim_ascii())
}

/// Compares without stopping at the first difference (the time does not tell how much of a
/// guess was right; the length may show).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_by_default_off_when_disabled() {
        assert_eq!(RepositoryAccess::default().check(None), Ok(()));
        let off = RepositoryAccess {
            enabled: false,
            token: None,
        };
        assert_eq!(off.check(Some(b"Bearer x")), Err(AccessError::Disabled));
    }

    #[test]
    fn a_token_needs_the_exact_bearer_credentials() {
        let access = RepositoryAccess {
            enabled: true,
            token: Some("s3cret".into()),
        };
        assert_eq!(access.check(Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(access.check(Some(b"bearer  s3cret ")), Ok(()));
        for wrong in [
            None,
            Some(&b""[..]),
            Some(b"s3cret"),
            Some(b"Bearer"),
            Some(b"Bearer s3cre"),
            Some(b"Bearer s3cret2"),
            Some(b"Basic s3cret"),
            Some(b"Bearers3cret"),
        ] {
            assert_eq!(
                access.check(wrong),
                Err(AccessError::Unauthorized),
                "{wrong:?}"
            );
        }
        assert!(!format!("{access:?}").contains("s3cret"));
    }
}
