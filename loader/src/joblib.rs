//! joblib files (`joblib.dump`, what KServe's scikit-learn examples store as `model.joblib`):
//! one pickle stream whose numpy arrays are `NumpyArrayWrapper` records followed by their raw
//! bytes, read by the restricted pickle VM ([`crate::pickle::read_joblib_stream`]), so nothing
//! is executed. With `compress=`, joblib compresses the whole stream, and the first bytes tell
//! the method (joblib's `compressor.py` prefixes): zlib `x`, gzip `1f 8b`, bz2 `BZh`, xz
//! `fd 37 7a 58 5a 00`, lzma-alone `5d 00 00`, lz4 frame `04 22 4d 18`; an uncompressed stream
//! starts with the pickle `PROTO` opcode `80`.
//!
//! Decompression is bounded: at most [`max_decompressed`] bytes are produced (a small multiple
//! of the file size, with a floor), so a compression bomb fails after a bounded amount of work
//! and memory.

use std::io::Read;

use crate::pickle::PickleError;
use crate::pyobj::Obj;

/// The fewest decompressed bytes always allowed, whatever the file size.
pub const MIN_DECOMPRESSED_LIMIT: usize = 64 << 20;

/// The largest expansion ratio allowed above the floor (real models compress 2x-30x).
pub const MAX_EXPANSION: usize = 200;

/// The largest decompressed stream ever accepted.
pub const MAX_DECOMPRESSED_LIMIT: usize = 4 << 30;

/// Why a joblib file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JoblibError {
    /// The compressed stream is corrupt.
    #[error("cannot decompress the {method} joblib stream: {message}")]
    Decompress {
        /// The compression method.
        method: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// Decompression produced more than the limit.
    #[error("the {method} joblib stream expands beyond {limit} bytes (from {compressed} bytes): refused as a compression bomb")]
    TooLarge {
        /// The compression method.
        method: &'static str,
        /// The limit that was reached.
        limit: usize,
        /// The compressed size.
        compressed: usize,
    },
    /// A file format joblib no longer writes (joblib < 0.10: `ZF` compressed or `.npy` side files).
    #[error("{0}")]
    Legacy(&'static str),
    /// The pickle inside is invalid or refers to something the reader refuses.
    #[error(transparent)]
    Pickle(#[from] PickleError),
}

/// The compression method a joblib file's first bytes name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression: the pickle stream itself.
    None,
    /// zlib (`compress=True`, `compress=('zlib', n)`).
    Zlib,
    /// gzip.
    Gzip,
    /// bz2.
    Bz2,
    /// xz.
    Xz,
    /// lzma-alone (`.lzma`).
    Lzma,
    /// lz4 frame.
    Lz4,
}

impl Compression {
    /// Tells the method from the first bytes (joblib's own `_detect_compressor`).
    pub fn sniff(bytes: &[u8]) -> Self {
        match bytes {
            [0x1f, 0x8b, ..] => Self::Gzip,
            [b'B', b'Z', b'h', ..] => Self::Bz2,
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Self::Xz,
            [0x5d, 0x00, 0x00, ..] => Self::Lzma,
            [0x04, 0x22, 0x4d, 0x18, ..] => Self::Lz4,
            [b'x', ..] => Self::Zlib,
            _ => Self::None,
        }
    }

    /// The method's name, as joblib spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "uncompressed",
            Self::Zlib => "zlib",
            Self::Gzip => "gzip",
            Self::Bz2 => "bz2",
            Self::Xz => "xz",
            Self::Lzma => "lzma",
            Self::Lz4 => "lz4",
        }
    }
}

/// The most bytes a `compressed`-byte file may expand to.
pub fn max_decompressed(compressed: usize) -> usize {
    compressed
        .saturating_mul(MAX_EXPANSION)
        .clamp(MIN_DECOMPRESSED_LIMIT, MAX_DECOMPRESSED_LIMIT)
}

/// Whether `bytes` look like a joblib file rather than a plain pickle: compressed, or a pickle
/// mentioning joblib's array record.
pub fn is_joblib(bytes: &[u8]) -> bool {
    Compression::sniff(bytes) != Compression::None
        || memchr_all(bytes, b"joblib.numpy_pickle")
        || bytes.starts_with(b"ZF")
}

fn memchr_all(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a joblib file (any compression) into an object tree, executing no code. A plain pickle
/// (no wrapped arrays) reads the same way.
pub fn read_joblib(bytes: &[u8]) -> Result<Obj, JoblibError> {
    read_joblib_limited(bytes, max_decompressed(bytes.len()))
}

/// [`read_joblib`] with an explicit decompression limit.
pub fn read_joblib_limited(bytes: &[u8], limit: usize) -> Result<Obj, JoblibError> {
    if bytes.starts_with(b"ZF") {
        return Err(JoblibError::Legacy(
            "this is joblib's pre-0.10 compressed format ('ZF'); load it with joblib and save it again with joblib.dump",
        ));
    }
    let stream = decompress(bytes, limit)?;
    let obj = crate::pickle::read_joblib_stream(&stream).map_err(|e| match e {
        PickleError::Joblib(found) if found.ends_with("NDArrayWrapper") => JoblibError::Legacy(
            "this joblib file keeps its arrays in separate .npy files (joblib < 0.10); load it with joblib and save it again with joblib.dump",
        ),
        other => JoblibError::Pickle(other),
    })?;
    Ok(obj)
}

/// The pickle stream inside a joblib file: decompressed (at most `limit` bytes), or the bytes
/// themselves when uncompressed.
pub fn decompress(bytes: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>, JoblibError> {
    let method = Compression::sniff(bytes);
    let fail = |message: String| JoblibError::Decompress {
        method: method.name(),
        message,
    };
    let mut out = Vec::new();
    let bounded = |r: &mut dyn Read, out: &mut Vec<u8>| -> std::io::Result<()> {
        r.take(limit as u64 + 1).read_to_end(out).map(drop)
    };
    match method {
        Compression::None => return Ok(std::borrow::Cow::Borrowed(bytes)),
        Compression::Zlib => bounded(&mut flate2::read::ZlibDecoder::new(bytes), &mut out),
        Compression::Gzip => bounded(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out),
        Compression::Bz2 => bounded(&mut bzip2::read::MultiBzDecoder::new(bytes), &mut out),
        Compression::Lz4 => bounded(&mut lz4_flex::frame::FrameDecoder::new(bytes), &mut out),
        Compression::Xz | Compression::Lzma => {
            let options = lzma_rs::decompress::Options {
                memlimit: Some(limit.min(1 << 30)),
                ..Default::default()
            };
            let mut writer = LimitedWriter {
                out: &mut out,
                limit,
            };
            let mut input = std::io::BufReader::new(bytes);
            let result = if method == Compression::Xz {
                lzma_rs::xz_decompress(&mut input, &mut writer).map_err(|e| e.to_string())
            } else {
                lzma_rs::lzma_decompress_with_options(&mut input, &mut writer, &options)
                    .map_err(|e| e.to_string())
            };
            match result {
                Err(_) if out.len() > limit => Ok(()),
                Err(message) => return Err(fail(message)),
                Ok(()) => Ok(()),
            }
        }
    }
    .map_err(|e| fail(e.to_string()))?;
    if out.len() > limit {
        return Err(JoblibError::TooLarge {
            method: method.name(),
            limit,
            compressed: bytes.len(),
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// A writer that refuses to grow past `limit` (+1 byte, to tell "over" from "exactly").
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = (self.limit + 1).saturating_sub(self.out.len());
        if room == 0 {
            return Err(std::io::Error::other("decompression limit reached"));
        }
        let n = buf.len().min(room);
        self.out.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
