//! Fixtures against `expected.json`, and the same models through the pickle reader.

use std::sync::Arc;

use serde_json::Value;

use super::archive;
use super::{fixture, fixture_dir, walk};
use crate::pyobj::{ArrayData, Obj, PyObj};
use crate::skops::read_skops;

/// Equal up to serde_json's last-digit float parsing (it does not round-trip without its
/// `float_roundtrip` feature); the decoded side is exact.
fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-14 * a.abs().max(b.abs())
}

fn check(root: &Obj, check: &Value) {
    let path = check["path"].as_array().unwrap();
    let obj = walk(root, path);
    let what = format!("{path:?}");
    match check["type"].as_str().unwrap() {
        "instance" => {
            let PyObj::Instance(i) = obj.as_ref() else {
                panic!("{what}: not an instance: {obj:?}")
            };
            assert_eq!(i.class.path(), check["class"].as_str().unwrap(), "{what}");
        }
        "int" => assert_eq!(*obj, PyObj::Int(check["value"].as_i64().unwrap()), "{what}"),
        "float" => assert_eq!(
            *obj,
            PyObj::Float(check["value"].as_f64().unwrap()),
            "{what}"
        ),
        "bool" => assert_eq!(
            *obj,
            PyObj::Bool(check["value"].as_bool().unwrap()),
            "{what}"
        ),
        "str" => assert_eq!(
            *obj,
            PyObj::Str(check["value"].as_str().unwrap().into()),
            "{what}"
        ),
        "none" => assert_eq!(*obj, PyObj::None, "{what}"),
        "len" => {
            let n = match obj.as_ref() {
                PyObj::List(v) | PyObj::Tuple(v) => v.len(),
                other => panic!("{what}: no length: {other:?}"),
            };
            assert_eq!(n as u64, check["value"].as_u64().unwrap(), "{what}");
        }
        "class" => {
            let PyObj::Class(c) = obj.as_ref() else {
                panic!("{what}: not a class")
            };
            assert_eq!(c.path(), check["value"].as_str().unwrap(), "{what}");
        }
        "dtype" => {
            let PyObj::DType(d) = obj.as_ref() else {
                panic!("{what}: not a dtype")
            };
            assert_eq!((d.kind, d.itemsize), ('f', 8), "{what}");
        }
        "slice" => {
            let PyObj::Instance(i) = obj.as_ref() else {
                panic!("{what}: not a slice")
            };
            assert_eq!(i.class.path(), "builtins.slice");
            let want: Vec<PyObj> = check["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().map_or(PyObj::None, PyObj::Int))
                .collect();
            let got: Vec<PyObj> = i.args.iter().map(|a| a.as_ref().clone()).collect();
            assert_eq!(got, want, "{what}");
        }
        "objects" => {
            let PyObj::Array(a) = obj.as_ref() else {
                panic!("{what}: not an array")
            };
            let shape: Vec<usize> = check["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(a.shape, shape, "{what}");
            let ArrayData::Objects(items) = &a.data else {
                panic!("{what}: not an object array")
            };
            assert_eq!(items.len(), a.len());
            for item in items {
                let PyObj::Instance(i) = item.as_ref() else {
                    panic!("{what}: item is not an instance")
                };
                assert_eq!(i.class.path(), check["class"].as_str().unwrap());
            }
        }
        "array" => check_array(&obj, check, &what),
        "bytes" => {
            let want: Vec<u8> = check["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(*obj, PyObj::Bytes(want), "{what}");
        }
        "set" => {
            let want: Vec<Obj> = check["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| Arc::new(PyObj::Int(v.as_i64().unwrap())))
                .collect();
            assert_eq!(*obj, PyObj::Set(want), "{what}");
        }
        "int_keys" => {
            let PyObj::Dict(items) = obj.as_ref() else {
                panic!("{what}: not a dict")
            };
            let keys: Vec<PyObj> = items.iter().map(|(k, _)| k.as_ref().clone()).collect();
            let want: Vec<PyObj> = check["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| PyObj::Int(v.as_i64().unwrap()))
                .collect();
            assert_eq!(keys, want, "{what}");
        }
        "bigint" => {
            let want = crate::skops::value::json_text(check["value"].as_str().unwrap()).unwrap();
            assert!(matches!(want, PyObj::BigInt(_)));
            assert_eq!(*obj, want, "{what}");
        }
        "nan" => assert!(
            matches!(obj.as_ref(), PyObj::Float(f) if f.is_nan()),
            "{what}"
        ),
        other => panic!("unknown check type {other}"),
    }
}

fn check_array(obj: &Obj, check: &Value, what: &str) {
    let PyObj::Array(a) = obj.as_ref() else {
        panic!("{what}: not an array: {obj:?}")
    };
    let shape: Vec<usize> = check["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(a.shape, shape, "{what}");
    let dtype = check["dtype"].as_str().unwrap();
    let kind = dtype.chars().nth(1).unwrap();
    assert_eq!(a.dtype.kind, kind, "{what}");
    if let Some(values) = check.get("values") {
        let want: Vec<f64> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = a.to_f64_vec().unwrap();
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w), "{what}: {g} != {w}");
        }
    }
    if let Some(strings) = check.get("strings") {
        let want: Vec<String> = strings
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(a.to_strings().unwrap(), want, "{what}");
    }
    if let Some(fields) = check.get("fields") {
        let fields = fields.as_object().unwrap();
        let names: Vec<&str> = a.dtype.fields.iter().map(|f| f.name.as_str()).collect();
        let want: Vec<&str> = check["field_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{what}");
        for (name, values) in fields {
            let want: Vec<f64> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let got = a.field_f64(name).unwrap();
            assert_eq!(got.len(), want.len(), "{what}.{name}");
            for (g, w) in got.iter().zip(&want) {
                assert!(close(*g, *w), "{what}.{name}: {g} != {w}");
            }
        }
    }
}

#[test]
fn fixtures_decode_to_their_expected_values() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixture_dir().join("expected.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 7);
    for (name, checks) in expected {
        let root = read_skops(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for c in checks.as_array().unwrap() {
            check(&root, c);
        }
    }
}

#[test]
fn tree_instances_mirror_pickle() {
    let root = read_skops(&fixture("dtree")).unwrap();
    let tree = walk(&root, &[Value::from("tree_")]);
    let PyObj::Instance(tree) = tree.as_ref() else {
        panic!("tree_")
    };
    assert_eq!(tree.args.len(), 3);
    assert!(matches!(tree.args[0].as_ref(), PyObj::Int(4)));
    let nodes = tree.attr("nodes").unwrap();
    let PyObj::Array(nodes) = nodes.as_ref() else {
        panic!("nodes")
    };
    // sklearn >= 1.3 layout: 8 named fields, 7 trailing pad bytes (docs/formats.md 2e).
    assert_eq!(nodes.dtype.itemsize, 64);
    assert_eq!(nodes.dtype.fields.len(), 8);
    assert_eq!(nodes.dtype.fields[7].name, "missing_go_to_left");
    assert_eq!(nodes.dtype.fields[7].offset, 56);
}

#[test]
fn shared_objects_stay_shared() {
    // skops gives `True` one id, so every flag shares one node; a CachedNode reuses an object.
    let root = read_skops(&fixture("pipeline")).unwrap();
    let PyObj::Instance(p) = root.as_ref() else {
        panic!("root")
    };
    assert_eq!(p.class.path(), "sklearn.pipeline.Pipeline");
    let scaler = walk(
        &root,
        &serde_json::from_str::<Vec<Value>>(r#"["steps", 0, 1]"#).unwrap(),
    );
    let PyObj::Instance(scaler) = scaler.as_ref() else {
        panic!("scaler")
    };
    let (with_mean, copy) = (
        scaler.attr("with_mean").unwrap(),
        scaler.attr("copy").unwrap(),
    );
    assert!(Arc::ptr_eq(with_mean, copy));
    let schema = br#"{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
        "content": [
          {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "__id__": 7,
           "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
           "__loader__": "ListNode", "content": []}},
          {"__class__": null, "__module__": null, "__loader__": "CachedNode", "__id__": 7}],
        "protocol": 2}"#;
    let root = read_skops(&archive(&[("schema.json", schema)])).unwrap();
    let PyObj::List(items) = root.as_ref() else {
        panic!("list")
    };
    assert!(Arc::ptr_eq(&items[0], &items[1]));
}

// ---- the same model through both readers ---------------------------------------------------

/// Collects the paths where two trees differ. Opaque helpers whose pickle and skops encodings
/// legitimately differ (Cython losses recorded via `__pyx_unpickle_*`, numpy RNG states) are
/// compared by class only; nothing an estimator compiler reads is among them.
fn diff(a: &Obj, b: &Obj, at: &str, out: &mut Vec<String>) {
    use PyObj as P;
    let seq = |x: &[Obj], y: &[Obj], at: &str, out: &mut Vec<String>| {
        if x.len() != y.len() {
            out.push(format!("{at}: length {} vs {}", x.len(), y.len()));
        }
        for (i, (x, y)) in x.iter().zip(y).enumerate() {
            diff(x, y, &format!("{at}[{i}]"), out);
        }
    };
    let items = |x: &[(Obj, Obj)], y: &[(Obj, Obj)], at: &str, out: &mut Vec<String>| {
        if x.len() != y.len() {
            out.push(format!("{at}: {} vs {} items", x.len(), y.len()));
        }
        for ((kx, vx), (ky, vy)) in x.iter().zip(y) {
            diff(kx, ky, &format!("{at}.<key>"), out);
            let key = match kx.as_ref() {
                P::Str(s) => s.clone(),
                other => format!("{other:?}"),
            };
            diff(vx, vy, &format!("{at}.{key}"), out);
        }
    };
    match (a.as_ref(), b.as_ref()) {
        (P::Float(x), P::Float(y)) if x.is_nan() && y.is_nan() => {}
        (P::List(x), P::List(y)) | (P::Tuple(x), P::Tuple(y)) | (P::Set(x), P::Set(y)) => {
            seq(x, y, at, out)
        }
        (P::Dict(x), P::Dict(y)) => items(x, y, at, out),
        (P::Instance(x), P::Instance(y)) => {
            // pickle records a RandomState as its `numpy.random._pickle.__randomstate_ctor`
            // constructor call, skops by its class: both are opaque RNG records.
            if x.class.module.starts_with("numpy.random")
                && y.class.module.starts_with("numpy.random")
            {
                return;
            }
            if x.class != y.class {
                out.push(format!(
                    "{at}: class {} vs {}",
                    x.class.path(),
                    y.class.path()
                ));
                return;
            }
            let opaque = x.class.module == "sklearn._loss._loss"
                || x.class.module.starts_with("numpy.random");
            if opaque {
                return;
            }
            seq(&x.args, &y.args, &format!("{at}.<args>"), out);
            match (&x.state, &y.state) {
                (Some(sx), Some(sy)) => diff(sx, sy, at, out),
                (None, None) => {}
                _ => out.push(format!("{at}: state present in only one")),
            }
            seq(
                &x.list_items,
                &y.list_items,
                &format!("{at}.<list_items>"),
                out,
            );
            items(
                &x.dict_items,
                &y.dict_items,
                &format!("{at}.<dict_items>"),
                out,
            );
        }
        (P::Array(x), P::Array(y)) => {
            if x.dtype != y.dtype || x.shape != y.shape {
                out.push(format!(
                    "{at}: array {:?}{:?} vs {:?}{:?}",
                    x.dtype, x.shape, y.dtype, y.shape
                ));
                return;
            }
            match (&x.data, &y.data) {
                (ArrayData::Objects(ox), ArrayData::Objects(oy)) => seq(ox, oy, at, out),
                (dx, dy) if dx != dy => out.push(format!("{at}: array data differs")),
                _ => {}
            }
        }
        (x, y) if x != y => out.push(format!("{at}: {x:?} vs {y:?}")),
        _ => {}
    }
}

#[test]
fn skops_and_pickle_readers_build_the_same_tree() {
    for name in ["logreg", "pipeline", "dtree", "onehot", "gb", "columns"] {
        let from_skops = read_skops(&fixture(name)).unwrap();
        let pkl = std::fs::read(fixture_dir().join(format!("{name}.pkl"))).unwrap();
        let from_pickle =
            crate::pickle::read_pickle(&pkl).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = Vec::new();
        diff(&from_skops, &from_pickle, name, &mut out);
        assert!(out.is_empty(), "{name} differs:\n{}", out.join("\n"));
    }
}
