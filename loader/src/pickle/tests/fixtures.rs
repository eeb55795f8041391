//! Python-made pickles with known contents (`loader/tests/fixtures/pickle/make_fixtures.py`,
//! which also wrote `expected.json` after checking each pickle round-trips in Python): every
//! protocol 0-5 value form, C and Fortran arrays, big-endian, structured, string and object
//! arrays, numpy scalars. Each decodes to exactly the expected values.

use serde_json::{json, Map, Value};

use crate::pickle::load_pickle_file;
use crate::pyobj::{ArrayData, ByteOrder, NdArray, PyObj};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pickle");

/// The JSON form `make_fixtures.py::describe` writes.
fn to_json(obj: &PyObj) -> Value {
    match obj {
        PyObj::None => Value::Null,
        PyObj::Bool(b) => json!(b),
        PyObj::Int(i) => json!(i),
        PyObj::BigInt(bytes) => {
            assert!(bytes.len() <= 16, "fixture big ints fit in i128");
            let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut buf = [fill; 16];
            buf[..bytes.len()].copy_from_slice(bytes);
            json!({ "bigint": i128::from_le_bytes(buf).to_string() })
        }
        PyObj::Float(f) => json!(f),
        PyObj::Str(s) => json!(s),
        PyObj::Bytes(b) => {
            json!({ "bytes": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        PyObj::List(items) => Value::Array(items.iter().map(|o| to_json(o)).collect()),
        PyObj::Tuple(items) => {
            json!({ "tuple": items.iter().map(|o| to_json(o)).collect::<Vec<_>>() })
        }
        PyObj::Set(items) => json!({ "set": items.iter().map(|o| to_json(o)).collect::<Vec<_>>() }),
        PyObj::Dict(items) => json!({
            "dict": items.iter().map(|(k, v)| json!([to_json(k), to_json(v)])).collect::<Vec<_>>()
        }),
        PyObj::Array(a) => json!({ "array": array_json(a) }),
        other => panic!("unexpected node in a fixture: {other:?}"),
    }
}

fn array_json(a: &NdArray) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), json!(a.dtype.kind.to_string()));
    out.insert("itemsize".into(), json!(a.dtype.itemsize));
    let order = match a.dtype.byteorder {
        ByteOrder::Little => "<",
        ByteOrder::Big => ">",
        ByteOrder::NotApplicable => "|",
    };
    out.insert("byteorder".into(), json!(order));
    out.insert("shape".into(), json!(a.shape));
    if a.dtype.fields.is_empty() {
        out.insert("values".into(), values(a));
    } else {
        let mut fields = Map::new();
        for f in &a.dtype.fields {
            let field = a.field(&f.name).expect("field");
            fields.insert(
                f.name.clone(),
                json!({ "offset": f.offset, "kind": f.dtype.kind.to_string(), "values": values(&field) }),
            );
        }
        out.insert("fields".into(), Value::Object(fields));
    }
    Value::Object(out)
}

fn values(a: &NdArray) -> Value {
    match (&a.data, a.dtype.kind) {
        (ArrayData::Objects(items), _) => Value::Array(items.iter().map(|o| to_json(o)).collect()),
        (_, 'f') => json!(a.to_f64_vec().expect("f64")),
        (_, 'i' | 'u') => json!(a.to_i64_vec().expect("i64")),
        (_, 'b') => json!(a
            .to_i64_vec()
            .expect("bool")
            .iter()
            .map(|&v| v != 0)
            .collect::<Vec<_>>()),
        (_, 'U' | 'S') => json!(a.to_strings().expect("strings")),
        (_, k) => panic!("unexpected kind {k}"),
    }
}

#[test]
fn fixtures_decode_to_the_values_python_wrote() {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(format!("{DIR}/expected.json")).expect("expected.json"),
    )
    .expect("json");
    let expected = expected.as_object().expect("object");
    assert!(expected.len() >= 40);
    for (file, want) in expected {
        let got = load_pickle_file(format!("{DIR}/{file}").as_ref())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(&to_json(&got), want, "{file}");
    }
}

#[test]
fn fortran_and_big_endian_fixtures_are_c_ordered_natively() {
    let get = |f: &str| load_pickle_file(format!("{DIR}/{f}").as_ref()).expect("fixture");
    for p in [2, 4, 5] {
        let a = get(&format!("i4_fortran_p{p}.pkl"));
        let a = a.as_array().expect("array");
        assert_eq!(a.shape, vec![3, 4]);
        assert_eq!(a.to_i64_vec().expect("ints"), (0..12).collect::<Vec<i64>>());
        let b = get(&format!("f8_big_endian_p{p}.pkl"));
        let b = b.as_array().expect("array");
        assert_eq!(b.dtype.byteorder, ByteOrder::Big);
        assert_eq!(b.to_f64_vec().expect("floats"), vec![1.5, -2.25, 1e300]);
    }
    let s = get("scalars_p4.pkl");
    let f8 = s
        .as_dict()
        .and_then(|d| crate::pyobj::dict_get(d, "f8"))
        .expect("f8");
    assert_eq!(f8.as_f64(), Some(1.25));
    let b = s
        .as_dict()
        .and_then(|d| crate::pyobj::dict_get(d, "bool"))
        .expect("bool");
    assert_eq!(b.as_bool(), Some(true));
}
