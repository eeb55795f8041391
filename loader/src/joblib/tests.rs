//! joblib reading: every compression of the generated fixtures reads to the same object tree,
//! and hostile files (broken array records, compression bombs) fail with clear errors after
//! bounded work.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kserve/models")
}

fn forest(compression: &str) -> Vec<u8> {
    std::fs::read(
        models()
            .join(format!("sklearn-forest-joblib-{compression}"))
            .join("model.joblib"),
    )
    .expect("fixture")
}

#[test]
fn every_compression_is_sniffed_and_reads_to_the_same_tree() {
    let plain = read_joblib(&forest("none")).expect("uncompressed");
    let classes = plain.attr("classes_").expect("classes_").clone();
    assert_eq!(
        classes
            .as_array()
            .expect("array")
            .to_strings()
            .expect("strings"),
        ["setosa", "versicolor", "virginica"]
    );
    for (tag, method) in [
        ("zlib", Compression::Zlib),
        ("gzip", Compression::Gzip),
        ("bz2", Compression::Bz2),
        ("lzma", Compression::Lzma),
        ("xz", Compression::Xz),
        ("lz4", Compression::Lz4),
    ] {
        let bytes = forest(tag);
        assert_eq!(Compression::sniff(&bytes), method, "{tag}");
        let tree = read_joblib(&bytes).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(format!("{tree:?}"), format!("{plain:?}"), "{tag}");
    }
}

/// `n` zero bytes compressed with `method`, written in chunks (the test never holds them all).
fn zeros(method: Compression, n: usize) -> Vec<u8> {
    let chunk = vec![0u8; 1 << 16];
    let mut out = Vec::new();
    {
        let mut writer: Box<dyn Write + '_> = match method {
            Compression::Zlib => Box::new(flate2::write::ZlibEncoder::new(
                &mut out,
                flate2::Compression::best(),
            )),
            Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                &mut out,
                flate2::Compression::best(),
            )),
            Compression::Bz2 => Box::new(bzip2::write::BzEncoder::new(
                &mut out,
                bzip2::Compression::best(),
            )),
            Compression::Lz4 => {
                Box::new(lz4_flex::frame::FrameEncoder::new(&mut out).auto_finish())
            }
            _ => unreachable!(),
        };
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            writer.write_all(&chunk[..k]).expect("write");
            left -= k;
        }
        writer.flush().expect("flush");
    }
    out
}

#[test]
fn compression_bombs_stop_at_the_limit() {
    let limit = 1 << 20;
    for method in [
        Compression::Zlib,
        Compression::Gzip,
        Compression::Bz2,
        Compression::Lz4,
    ] {
        let bomb = zeros(method, 4 << 20);
        assert!(bomb.len() < 1 << 20, "{method:?}: {} bytes", bomb.len());
        let err = read_joblib_limited(&bomb, limit).expect_err("bomb");
        assert!(
            matches!(err, JoblibError::TooLarge { limit: l, .. } if l == limit),
            "{method:?}: {err}"
        );
        assert!(err.to_string().contains("compression bomb"), "{err}");
    }
    // xz and lzma: a bomb made with lzma-rs.
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut std::io::Cursor::new(vec![0u8; 2 << 20]), &mut xz).expect("xz");
    let err = read_joblib_limited(&xz, limit).expect_err("xz bomb");
    assert!(matches!(err, JoblibError::TooLarge { .. }), "{err}");
    let mut lzma = Vec::new();
    lzma_rs::lzma_compress(&mut std::io::Cursor::new(vec![0u8; 2 << 20]), &mut lzma).expect("lzma");
    // lzma-alone also declares its dictionary size, which the decoder's memory limit (the same
    // bound) may refuse first.
    let err = read_joblib_limited(&lzma, limit).expect_err("lzma bomb");
    assert!(
        matches!(err, JoblibError::TooLarge { .. }) || err.to_string().contains("memory limit"),
        "{err}"
    );
    // The default limit scales with the file, with a floor.
    assert_eq!(max_decompressed(10), MIN_DECOMPRESSED_LIMIT);
    assert_eq!(max_decompressed(1 << 20), 200 << 20);
    assert_eq!(max_decompressed(usize::MAX), MAX_DECOMPRESSED_LIMIT);
}

#[test]
fn corrupt_and_truncated_streams_are_errors() {
    let mut gz = forest("gzip");
    gz.truncate(gz.len() / 2);
    let err = read_joblib(&gz).expect_err("truncated gzip");
    assert!(err.to_string().contains("gzip"), "{err}");
    let plain = forest("none");
    let err = read_joblib(&plain[..plain.len() / 2]).expect_err("truncated");
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = read_joblib(b"ZF0x12345\nxyz").expect_err("legacy");
    assert!(err.to_string().contains("pre-0.10"), "{err}");
}

#[test]
fn hostile_array_records_get_clear_errors() {
    let cases = [
        ("huge-shape", "overflows"),
        ("short-data", "truncated pickle: joblib array data"),
        ("negative-shape", "negative shape dimension"),
        ("bad-order", "order must be 'C' or 'F'"),
        ("matrix-subclass", "matrix"),
        ("padding-past-end", "truncated pickle: joblib array padding"),
    ];
    for (name, message) in cases {
        let bytes = std::fs::read(models().join("hostile").join(format!("{name}.joblib")))
            .expect("fixture");
        let err = read_joblib(&bytes).expect_err(name);
        assert!(err.to_string().contains(message), "{name}: {err}");
        // The plain pickle reader refuses joblib streams by name.
        let err = crate::pickle::read_pickle(&bytes).expect_err(name);
        assert!(err.to_string().contains("joblib"), "{name}: {err}");
    }
}
