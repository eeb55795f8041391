//! Containment (issue 17): a model's files are opened only inside its folder.
//!
//! [`inside`] resolves a path an `MLmodel` names (`model.pkl`, `data`, `model.onnx`, ...) or the
//! `MLmodel` itself against the model folder, and refuses an absolute path, a `..` component, or a
//! symlink (anywhere on the way) whose target lies outside the folder, by canonicalising both and
//! comparing. The error names the path, never its contents, so a model cannot make the server
//! read a secret and echo it in an error or in its metadata.

use std::path::{Component, Path, PathBuf};

use crate::error::LoadError;

/// `dir/relative`, once checked to stay inside `dir` (symlinks resolved).
pub fn inside(dir: &Path, relative: &Path) -> Result<PathBuf, LoadError> {
    let joined = dir.join(relative);
    let refuse = |why: &str| LoadError::Io {
        path: joined.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{why}: a model's files must be inside its folder {}",
                dir.display()
            ),
        ),
    };
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(refuse("an absolute path or a '..' component"));
    }
    let Ok(root) = dir.canonicalize() else {
        // The folder itself is missing: reading will say so.
        return Ok(joined);
    };
    match joined.canonicalize() {
        Ok(real) if real.starts_with(&root) => Ok(joined),
        Ok(_) => Err(refuse("a symlink leading outside the model folder")),
        // Missing: let the reader report it as usual (nothing outside is opened).
        Err(_) if std::fs::symlink_metadata(&joined).is_err() => Ok(joined),
        Err(_) => Err(refuse("a dangling symlink")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused_and_inner_files_pass() {
        let base = std::env::temp_dir().join(format!("ironflow-contain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("model");
        std::fs::create_dir_all(dir.join("data")).expect("dirs");
        std::fs::write(base.join("secret"), "SECRET").expect("secret");
        std::fs::write(dir.join("data/model.txt"), "x").expect("file");
        assert!(inside(&dir, Path::new("data/model.txt")).is_ok());
        assert!(inside(&dir, Path::new("./data/model.txt")).is_ok());
        assert!(
            inside(&dir, Path::new("missing.pkl")).is_ok(),
            "missing: the reader says so"
        );
        for bad in ["../secret", "data/../../secret", "/etc/passwd"] {
            let err = inside(&dir, Path::new(bad)).expect_err(bad).to_string();
            assert!(!err.contains("SECRET"), "{err}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret"), dir.join("MLmodel")).expect("link");
            std::os::unix::fs::symlink(&base, dir.join("up")).expect("link");
            assert!(inside(&dir, Path::new("MLmodel")).is_err());
            assert!(inside(&dir, Path::new("up/secret")).is_err());
            std::os::unix::fs::symlink("data/model.txt", dir.join("inner")).expect("link");
            assert!(
                inside(&dir, Path::new("inner")).is_ok(),
                "a symlink inside the folder is fine"
            );
        }
        let _ = std::fs::remove_dir_all(base);
    }
}
