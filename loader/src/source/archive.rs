//! Safe extraction of model archives (`.tar.gz`, `.tgz`, `.zip`), the way KServe's storage
//! initializer unpacks archive URIs: only regular files and directories, every path relative and
//! inside the destination, and bounded total size and entry count.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// The largest total size an archive may expand to.
pub(super) const MAX_EXTRACTED_BYTES: u64 = 32 * 1024 * 1024 * 1024;
/// The most entries an archive may hold.
pub(super) const MAX_ENTRIES: usize = 100_000;

/// The archive formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    TarGz,
    Zip,
}

impl Kind {
    /// The archive kind a URI or file name ends with, if any.
    pub fn of(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if lower.ends_with(".zip") {
            Some(Self::Zip)
        } else {
            None
        }
    }
}

/// Extracts `archive` into the existing directory `dest`; the error says what is wrong.
pub(super) fn extract(kind: Kind, archive: &Path, dest: &Path) -> Result<(), String> {
    let file = File::open(archive).map_err(|e| format!("cannot open: {e}"))?;
    let mut budget = Budget {
        bytes: MAX_EXTRACTED_BYTES,
        entries: MAX_ENTRIES,
    };
    match kind {
        Kind::TarGz => extract_tar(file, dest, &mut budget),
        Kind::Zip => extract_zip(file, dest, &mut budget),
    }
}

struct Budget {
    bytes: u64,
    entries: usize,
}

impl Budget {
    fn entry(&mut self) -> Result<(), String> {
        self.entries = self
            .entries
            .checked_sub(1)
            .ok_or_else(|| format!("more than {MAX_ENTRIES} entries"))?;
        Ok(())
    }

    /// Copies at most the remaining byte budget; more is an error.
    fn copy(&mut self, reader: &mut dyn Read, to: &Path) -> Result<(), String> {
        let mut out = File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
        let copied = io::copy(&mut reader.take(self.bytes + 1), &mut out)
            .map_err(|e| format!("{}: {e}", to.display()))?;
        if copied > self.bytes {
            return Err(format!("expands to more than {MAX_EXTRACTED_BYTES} bytes"));
        }
        self.bytes -= copied;
        Ok(())
    }
}

/// `name` joined under `dest`, refusing absolute paths and `..`.
fn safe_join(dest: &Path, name: &Path) -> Result<Option<PathBuf>, String> {
    let mut out = dest.to_path_buf();
    let mut any = false;
    for component in name.components() {
        match component {
            Component::Normal(part) => {
                out.push(part);
                any = true;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "entry {} escapes the extraction directory",
                    name.display()
                ))
            }
        }
    }
    Ok(any.then_some(out))
}

fn create_parent(path: &Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    Ok(())
}

fn extract_tar(file: File, dest: &Path, budget: &mut Budget) -> Result<(), String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        budget.entry()?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some(target) = safe_join(dest, &name)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        } else if kind.is_file() {
            create_parent(&target)?;
            budget.copy(&mut entry, &target)?;
        } else if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        } else {
            // Links could point outside the model directory; a model never needs them.
            return Err(format!(
                "entry {} is a {kind:?}, only files and directories are allowed",
                name.display()
            ));
        }
    }
    Ok(())
}

fn extract_zip(file: File, dest: &Path, budget: &mut Budget) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| e.to_string())?;
    for i in 0..archive.len() {
        budget.entry()?;
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let raw = entry
            .name()
            .map_or_else(|_| format!("#{i}"), |n| n.into_owned());
        let name = entry
            .enclosed_name()
            .ok_or_else(|| format!("entry {raw} escapes the extraction directory"))?;
        let Some(target) = safe_join(dest, &name)? else {
            continue;
        };
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        } else if entry.is_file() {
            create_parent(&target)?;
            budget.copy(&mut entry, &target)?;
        } else {
            return Err(format!(
                "entry {raw} is a link, only files and directories are allowed"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names() {
        assert_eq!(Kind::of("s3://b/m.tar.gz"), Some(Kind::TarGz));
        assert_eq!(Kind::of("https://h/M.TGZ"), Some(Kind::TarGz));
        assert_eq!(Kind::of("gs://b/m.zip"), Some(Kind::Zip));
        assert_eq!(Kind::of("s3://b/model"), None);
    }

    #[test]
    fn traversal_is_refused() {
        let dest = Path::new("/tmp/x");
        assert!(safe_join(dest, Path::new("../etc/passwd")).is_err());
        assert!(safe_join(dest, Path::new("/etc/passwd")).is_err());
        assert_eq!(
            safe_join(dest, Path::new("./model/MLmodel")).ok().flatten(),
            Some(PathBuf::from("/tmp/x/model/MLmodel"))
        );
        assert_eq!(safe_join(dest, Path::new(".")).ok().flatten(), None);
    }

    #[test]
    fn tar_with_parent_entry_is_refused() {
        let dir =
            std::env::temp_dir().join(format!("ironflow-archive-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let archive = dir.join("evil.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(
                File::create(&archive).expect("create"),
                flate2::Compression::fast(),
            );
            let mut builder = tar::Builder::new(gz);
            let data = b"x";
            let mut header = tar::Header::new_gnu();
            header.set_size(1);
            header.set_mode(0o644);
            // `set_path` refuses `..`, so write the name bytes directly as an attacker would.
            let name = b"../evil";
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.set_cksum();
            builder.append(&header, &data[..]).expect("append");
            builder.into_inner().expect("tar").finish().expect("gz");
        }
        let out = dir.join("out");
        std::fs::create_dir_all(&out).expect("out");
        let err = extract(Kind::TarGz, &archive, &out).expect_err("refused");
        assert!(err.contains("escapes"), "{err}");
        assert!(!dir.join("evil").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
