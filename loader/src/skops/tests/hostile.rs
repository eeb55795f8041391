//! Hostile, damaged and oversized input: clean errors, never panics.

use std::io::Write;
use std::sync::Arc;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{archive, fixture};
use crate::pyobj::PyObj;
use crate::skops::archive::Limits;
use crate::skops::{read_skops, read_with_limits, SkopsError};

fn schema_error(schema: &str) -> SkopsError {
    read_skops(&archive(&[("schema.json", schema.as_bytes())])).unwrap_err()
}

fn node(loader: &str, module: &str, class: &str, extra: &str) -> String {
    format!(
        r#"{{"__class__": "{class}", "__module__": "{module}", "__loader__": "{loader}"{extra}}}"#
    )
}

fn with_protocol(node: &str) -> String {
    let body = node.strip_suffix('}').unwrap();
    format!(r#"{body}, "protocol": 2}}"#)
}

#[test]
fn hostile_types_are_named() {
    let cases = [
        (node("ObjectNode", "os", "system", ""), "os.system"),
        (
            node("FunctionNode", "builtins", "eval", ""),
            "builtins.eval",
        ),
        (
            node("TypeNode", "subprocess", "Popen", ""),
            "subprocess.Popen",
        ),
        (node("ObjectNode", "__main__", "Evil", ""), "__main__.Evil"),
        (
            node("ListNode", "collections", "UserList", r#", "content": []"#),
            "collections.UserList",
        ),
        (
            node(
                "MethodNode",
                "os",
                "X",
                r#", "content": {"func": "system", "obj": {}}"#,
            ),
            "os.X.system",
        ),
        (node("PartialNode", "os", "partial", ""), "os.partial"),
        // A partial is an inert record, but its function still passes the whitelist.
        (
            node(
                "PartialNode",
                "functools",
                "partial",
                &format!(
                    r#", "content": {{"func": {}, "args": {{"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": []}}}}"#,
                    node("FunctionNode", "os", "system", "")
                ),
            ),
            "os.system",
        ),
        (
            node("TreeNode", "sklearn.tree._tree", "Tree2", ""),
            "sklearn.tree._tree.Tree2",
        ),
    ];
    for (schema, name) in cases {
        let err = schema_error(&with_protocol(&schema));
        assert!(
            matches!(&err, SkopsError::UnsupportedType { name: n, .. } if n == name),
            "{schema}: {err}"
        );
        assert!(err
            .to_string()
            .contains(&format!("unsupported skops type '{name}'")));
    }
    let err = schema_error(&with_protocol(&node("EvalNode", "a", "b", "")));
    assert!(matches!(err, SkopsError::UnsupportedLoader { .. }), "{err}");
}

#[test]
fn malformed_schemas_are_errors() {
    let list = |content: &str, id: &str| {
        node(
            "ListNode",
            "builtins",
            "list",
            &format!(r#", "content": [{content}]{id}"#),
        )
    };
    let cycle = with_protocol(&list(&list("", r#", "__id__": 5"#), r#", "__id__": 5"#));
    assert!(matches!(schema_error(&cycle), SkopsError::Cycle { .. }));
    let cached = with_protocol(&list(&node("CachedNode", "x", "y", r#", "__id__": 9"#), ""));
    assert!(matches!(
        schema_error(&cached),
        SkopsError::UnknownId { .. }
    ));
    let json = with_protocol(&node("JsonNode", "builtins", "str", r#", "content": "{""#));
    assert!(matches!(schema_error(&json), SkopsError::Malformed { .. }));
    let missing = with_protocol(&node(
        "NdArrayNode",
        "numpy",
        "ndarray",
        r#", "type": "numpy", "file": "1.npy""#,
    ));
    assert!(
        matches!(schema_error(&missing), SkopsError::MissingEntry { entry } if entry == "1.npy")
    );
    for p in ["3", "0", "\"2\"", "true", "-1"] {
        let s = format!(
            r#"{{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": [], "protocol": {p}}}"#
        );
        assert!(matches!(schema_error(&s), SkopsError::Protocol(_)), "{p}");
    }
    assert!(matches!(schema_error("not json"), SkopsError::Json(_)));
    assert!(matches!(schema_error("[1, 2]"), SkopsError::Protocol(_)));
    let deep = format!(
        r#"{{"protocol": 2, "x": {}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(matches!(schema_error(&deep), SkopsError::Json(_)));
    let mut nested = node("ListNode", "builtins", "list", r#", "content": []"#);
    for _ in 0..200 {
        nested = list(&nested, "");
    }
    assert!(matches!(
        schema_error(&with_protocol(&nested)),
        SkopsError::Json(_)
    ));
    let no_zip = read_skops(b"PK\x03\x04 not really a zip").unwrap_err();
    assert!(matches!(no_zip, SkopsError::Zip(_)), "{no_zip}");
    assert!(matches!(
        read_skops(&archive(&[])),
        Err(SkopsError::MissingEntry { .. })
    ));
}

#[test]
fn shared_references_do_not_blow_up() {
    // Each level holds its predecessor twice: 2^60 leaves if copied, 60 nodes when shared.
    let mut inner = node(
        "JsonNode",
        "builtins",
        "str",
        r#", "content": "1", "__id__": 1"#,
    );
    for level in 2..62 {
        let prev = level - 1;
        let cached = node("CachedNode", "", "", &format!(r#", "__id__": {prev}"#));
        inner = node(
            "TupleNode",
            "builtins",
            "tuple",
            &format!(r#", "content": [{inner}, {cached}], "__id__": {level}"#),
        );
    }
    let root = read_skops(&archive(&[(
        "schema.json",
        with_protocol(&inner).as_bytes(),
    )]));
    assert!(matches!(root.unwrap().as_ref(), PyObj::Tuple(t) if Arc::ptr_eq(&t[0], &t[1])));
}

#[test]
fn huge_npy_shapes_are_refused_before_allocating() {
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&[0; 16]);
    let schema = with_protocol(&node(
        "NdArrayNode",
        "numpy",
        "ndarray",
        r#", "type": "numpy", "file": "a.npy""#,
    ));
    let err = read_skops(&archive(&[
        ("schema.json", schema.as_bytes()),
        ("a.npy", &npy),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, SkopsError::Npy { entry, .. } if entry == "a.npy"),
        "{err}"
    );
}

#[test]
fn size_limits_stop_bombs() {
    let bytes = fixture("gb");
    let tiny = Limits {
        schema: 1 << 20,
        entry: 64,
        total: 1 << 30,
    };
    assert!(matches!(
        read_with_limits(&bytes, tiny),
        Err(SkopsError::EntryTooLarge { .. })
    ));
    let small_total = Limits {
        schema: 1 << 20,
        entry: 1 << 20,
        total: 60_000,
    };
    assert!(matches!(
        read_with_limits(&bytes, small_total),
        Err(SkopsError::TotalTooLarge { .. })
    ));
    let small_schema = Limits {
        schema: 100,
        entry: 1 << 20,
        total: 1 << 30,
    };
    assert!(matches!(
        read_with_limits(&bytes, small_schema),
        Err(SkopsError::EntryTooLarge { .. })
    ));
    // A deflated entry of 8 MiB of spaces inflates past a 1 MiB schema limit.
    let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    w.start_file("schema.json", opts).unwrap();
    w.write_all(&vec![b' '; 8 << 20]).unwrap();
    let bomb = w.finish().unwrap().into_inner();
    assert!(bomb.len() < 1 << 16);
    let limits = Limits {
        schema: 1 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        read_with_limits(&bomb, limits),
        Err(SkopsError::EntryTooLarge { .. })
    ));
}

#[test]
fn truncated_archives_are_errors() {
    for name in ["logreg", "gb"] {
        let bytes = fixture(name);
        for n in (0..bytes.len()).step_by(97) {
            assert!(read_skops(&bytes[..n]).is_err(), "{name} prefix {n}");
        }
    }
}

#[test]
fn bit_flipped_archives_never_panic() {
    // A small deterministic generator (no dev-dependency needed).
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in ["dtree", "gb", "onehot"] {
        let bytes = fixture(name);
        let mut errors = 0;
        for _ in 0..400 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() % b.len() as u64) as usize;
                b[i] ^= 1 << (next() % 8);
            }
            // Either a clean error or (for a flip in an unread byte) a tree: never a panic.
            if read_skops(&b).is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0, "{name}");
    }
}

/// The entries of a fixture, to re-zip after mutating (so the zip CRC no longer hides damage).
fn entries(name: &str) -> Vec<(String, Vec<u8>)> {
    let bytes = fixture(name);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

#[test]
fn mutated_schemas_and_headers_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const BYTES: &[u8] = b"{}[]\",:0123456789-.eE ntfalsNaIy()'<>|UVfiuO_";
    for name in ["dtree", "misc", "columns"] {
        let original = entries(name);
        for round in 0..300 {
            let mut e = original.clone();
            let which = (next() % e.len() as u64) as usize;
            let is_json = e[which].0.ends_with(".json");
            let data = &mut e[which].1;
            // Mostly small edits near where structure lives; sometimes a truncation.
            let span = if data.len() > 256 && !is_json {
                256
            } else {
                data.len()
            };
            if round % 10 == 0 {
                let cut = (next() % data.len() as u64) as usize;
                data.truncate(cut);
            } else {
                for _ in 0..1 + next() % 4 {
                    let i = (next() % span as u64) as usize;
                    data[i] = BYTES[(next() % BYTES.len() as u64) as usize];
                }
            }
            let refs: Vec<(&str, &[u8])> =
                e.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            // Errors or (harmless edits) trees are both fine; a panic fails the test.
            let _ = read_skops(&archive(&refs));
        }
    }
}
