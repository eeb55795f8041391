//! Tests of the skops reader: fixtures made by `loader/tests/fixtures/skops/make_fixtures.py`
//! (checked against `expected.json` and against the pickle reader), every skops model of the
//! shared corpus, and hostile or damaged archives, which must give errors and never panic.

mod corpus;
mod fixtures;
mod hostile;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::pyobj::{ArrayData, Obj, PyObj};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/skops")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(format!("{name}.skops"))).unwrap()
}

/// Follows a check path: strings are attributes / dict keys, numbers index sequences and object
/// arrays, `#args` steps into an instance's constructor arguments.
fn walk(root: &Obj, path: &[Value]) -> Obj {
    let mut cur = root.clone();
    let mut in_args = false;
    for step in path {
        let next = match (step, cur.as_ref()) {
            (Value::String(s), PyObj::Instance(_)) if s == "#args" => {
                in_args = true;
                continue;
            }
            (Value::Number(n), PyObj::Instance(i)) if in_args => {
                i.args[n.as_u64().unwrap() as usize].clone()
            }
            (Value::String(s), PyObj::Instance(i)) => i
                .attr(s)
                .or_else(|| crate::pyobj::dict_get(&i.dict_items, s))
                .unwrap_or_else(|| panic!("no attribute {s} in {path:?}"))
                .clone(),
            (Value::String(s), PyObj::Dict(items)) => crate::pyobj::dict_get(items, s)
                .unwrap_or_else(|| panic!("no key {s} in {path:?}"))
                .clone(),
            (Value::Number(n), PyObj::List(items) | PyObj::Tuple(items)) => {
                items[n.as_u64().unwrap() as usize].clone()
            }
            (Value::Number(n), PyObj::Array(a)) => match &a.data {
                ArrayData::Objects(items) => items[n.as_u64().unwrap() as usize].clone(),
                ArrayData::Raw(_) => panic!("indexing a raw array at {path:?}"),
            },
            (step, obj) => panic!("cannot step {step} into {obj:?}"),
        };
        in_args = false;
        cur = next;
    }
    cur
}

/// A stored zip of the given entries.
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}
