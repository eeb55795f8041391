//! Hostile, truncated and corrupted pickles: every one must fail with a clean `Err` (or read, for
//! harmless corruptions), never panic, and stay within bounded memory and time (declared lengths
//! are checked before allocating; see [`crate::pickle::limits`]).

use std::collections::HashSet;
use std::sync::Arc;

use super::corpus::corpus_pickles_in;
use crate::pickle::{read_pickle, PickleError};
use crate::pyobj::{Obj, PyObj};

/// A tiny pickle writer for hand-made streams.
#[derive(Default)]
pub(super) struct P(pub(super) Vec<u8>);

impl P {
    pub(super) fn proto(v: u8) -> Self {
        P(vec![0x80, v])
    }
    pub(super) fn op(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    pub(super) fn repeat(mut self, bytes: &[u8], n: usize) -> Self {
        for _ in 0..n {
            self.0.extend_from_slice(bytes);
        }
        self
    }
    pub(super) fn str(mut self, s: &str) -> Self {
        self.0.push(b'X');
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub(super) fn stack_global(self, module: &str, name: &str) -> Self {
        self.str(module).str(name).op(&[0x93])
    }
    pub(super) fn global(self, module: &str, name: &str) -> Self {
        self.op(format!("c{module}\n{name}\n").as_bytes())
    }
    pub(super) fn stop(self) -> Vec<u8> {
        self.op(b".").0
    }
}

fn corpus_sample(name: &str) -> Vec<u8> {
    let (path, _) = corpus_pickles_in(&crate::test_support::corpus_dir())
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains(name))
        .expect("corpus case");
    std::fs::read(path).expect("read")
}

#[test]
fn every_prefix_of_a_real_pickle_fails_cleanly() {
    for name in [
        "sk-dtree-classifier-new/",
        "sk-logreg-multiclass-legacy/",
        "sk-kmeans-new/",
    ] {
        let bytes = corpus_sample(name);
        assert!(read_pickle(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(
                read_pickle(&bytes[..len]).is_err(),
                "{name} prefix {len} read"
            );
        }
    }
}

#[test]
fn single_byte_corruptions_never_panic() {
    let bytes = corpus_sample("sk-dtree-classifier-new/");
    let mut ok = 0usize;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            ok += usize::from(read_pickle(&b).is_ok());
        }
        for value in [0u8, b'(', 0x95] {
            let mut b = bytes.clone();
            b[i] = value;
            ok += usize::from(read_pickle(&b).is_ok());
        }
    }
    // Some corruptions are harmless (a changed float bit); most must be refused.
    assert!(ok < bytes.len() * 6);
}

#[test]
fn random_multi_byte_corruptions_never_panic() {
    // xorshift64: deterministic, no dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "sk-gaussian-nb-old/",
        "sk-knn-classifier-new/",
        "sk-hgb-regressor-old/",
    ] {
        let bytes = corpus_sample(name);
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % b.len() as u64) as usize;
                b[i] = next() as u8;
            }
            let _ = read_pickle(&b);
        }
    }
}

fn unsupported_global(bytes: &[u8]) -> String {
    match read_pickle(bytes) {
        Err(PickleError::UnsupportedGlobal(g)) => g,
        other => panic!("expected an unsupported global, got {other:?}"),
    }
}

#[test]
fn globals_outside_the_whitelist_are_never_resolved() {
    for (m, n) in [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("__main__", "MyModel"),
        ("cloudpickle.cloudpickle", "_make_function"),
        ("cloudpickle.cloudpickle", "_builtin_type"),
        ("types", "CodeType"),
        ("sklearn.utils._testing", "assert_run_python_script"),
        ("sklearn.neighbors._classification", "newObj"),
    ] {
        // Both spellings, each followed by the call that would run it.
        let p2 = P::proto(2)
            .global(m, n)
            .op(b"X\x02\x00\x00\x00id\x85R")
            .stop();
        assert_eq!(unsupported_global(&p2), format!("{m}.{n}"));
        let p4 = P::proto(4)
            .stack_global(m, n)
            .op(b"X\x02\x00\x00\x00id\x85R")
            .stop();
        assert_eq!(unsupported_global(&p4), format!("{m}.{n}"));
        let msg = read_pickle(&p4).expect_err("refused").to_string();
        assert_eq!(msg, format!("unsupported pickle global '{m}.{n}'"));
    }
    // The classic payload: `cos\nsystem\n(S'echo pwned'\ntR.`
    assert_eq!(
        unsupported_global(b"cos\nsystem\n(S'echo pwned'\ntR."),
        "os.system"
    );
    // getattr in the form sklearn never writes (`getattr(builtins, 'eval')`).
    let g = P::proto(4)
        .stack_global("builtins", "getattr")
        .stack_global("builtins", "object")
        .str("__subclasses__")
        .op(b"\x86R")
        .stop();
    assert_eq!(unsupported_global(&g), "builtins.getattr");
}

#[test]
fn joblib_streams_are_named() {
    let j = P::proto(4)
        .stack_global("joblib.numpy_pickle", "NumpyArrayWrapper")
        .op(b")\x81")
        .stop();
    assert!(matches!(read_pickle(&j), Err(PickleError::Joblib(_))));
}

#[test]
fn refused_opcodes_are_named() {
    for (bytes, name) in [
        (&b"P1\n."[..], "PERSID"),
        (b"N\x51.", "BINPERSID"),
        (b"\x82\x01.", "EXT1"),
        (b"\x83\x01\x00.", "EXT2"),
        (b"\x84\x01\x00\x00\x00.", "EXT4"),
        (b"(ios\nsystem\n.", "INST"),
        (b"(N\x6f.", "OBJ"),
        (b"\x97.", "NEXT_BUFFER"),
        (b"N\x98.", "READONLY_BUFFER"),
    ] {
        match read_pickle(bytes) {
            Err(PickleError::UnsupportedOpcode { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
        let msg = read_pickle(bytes).expect_err("refused").to_string();
        assert!(msg.contains(name), "{msg}");
    }
}

#[test]
fn huge_declared_lengths_fail_without_allocating() {
    let cases: Vec<Vec<u8>> = vec![
        P::proto(4)
            .op(&[0x8d])
            .op(&(1u64 << 62).to_le_bytes())
            .op(b"abc")
            .stop(),
        P::proto(4).op(&[0x8e]).op(&u64::MAX.to_le_bytes()).stop(),
        P::proto(5)
            .op(&[0x96])
            .op(&(u64::MAX / 2).to_le_bytes())
            .stop(),
        P::proto(4)
            .op(&[0x8b])
            .op(&0x7fff_ffffu32.to_le_bytes())
            .op(b"\x01")
            .stop(),
        P::proto(4).op(&[0x8b]).op(&(-5i32).to_le_bytes()).stop(),
        P::proto(4)
            .op(&[0x95])
            .op(&u64::MAX.to_le_bytes())
            .op(b"N")
            .stop(),
        P::proto(4).op(b"X").op(&u32::MAX.to_le_bytes()).stop(),
        P::proto(4).op(b"B").op(&u32::MAX.to_le_bytes()).stop(),
        P::proto(2).op(b"T").op(&i32::MAX.to_le_bytes()).stop(),
        P::proto(4).op(&[0x8a, 0xff]).op(b"\x01\x02").stop(),
        P::proto(0).op(b"S'unterminated").0,
        P::proto(0).op(b"L").repeat(b"9", 10_000).op(b"\n.").0,
    ];
    for bytes in cases {
        assert!(read_pickle(&bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn deep_nesting_is_refused() {
    const N: usize = 100_000;
    // EMPTY_LIST x N then APPEND x N: a list nested N deep.
    let lists = P::proto(4).repeat(b"]", N).repeat(b"a", N - 1).stop();
    assert!(matches!(
        read_pickle(&lists),
        Err(PickleError::Limit {
            limit: "nesting depth",
            ..
        })
    ));
    // MARK EMPTY_LIST ... : too many open marks.
    let marks = P::proto(4).repeat(b"(]", N).repeat(b"e", N).stop();
    assert!(matches!(
        read_pickle(&marks),
        Err(PickleError::Limit { .. })
    ));
    // TUPLE1 chain.
    let tuples = P::proto(4).op(b"N").repeat(&[0x85], N).stop();
    assert!(matches!(
        read_pickle(&tuples),
        Err(PickleError::Limit {
            limit: "nesting depth",
            ..
        })
    ));
    // Instances nested through BUILD states.
    let inst = P::proto(4)
        .stack_global("sklearn.pipeline", "Pipeline")
        .op(b"\x94")
        .op(b")\x81")
        .repeat(b"h\x00)\x81", 5_000)
        .repeat(b"b", 4_999)
        .stop();
    assert!(read_pickle(&inst).is_err());
    // Pushing without bound hits the load budget (issue 17) or the stack limit, whichever is first.
    let wide = P::proto(4).repeat(b"N", (1 << 20) + 1).stop();
    assert!(matches!(
        read_pickle(&wide),
        Err(PickleError::Limit {
            limit: "stack size",
            ..
        } | PickleError::Budget { .. })
    ));
}

#[test]
fn memo_abuse_fails_cleanly() {
    for bytes in [
        P::proto(4).op(b"h\x05").stop(),
        P::proto(4).op(b"j\xff\xff\xff\xff").stop(),
        P::proto(0).op(b"g7\n").stop(),
        P::proto(0).op(b"Np99999999999999999999999999\n").stop(),
        P::proto(4).op(b"\x94").stop(),
        P::proto(4).op(b"q\x01").stop(),
    ] {
        assert!(read_pickle(&bytes).is_err(), "{bytes:?}");
    }
    // A huge memo id is only a key: no allocation follows from it.
    let big = P::proto(4)
        .op(b"Nr\xff\xff\xff\xff0j\xff\xff\xff\xff")
        .stop();
    assert_eq!(read_pickle(&big).ok().map(|o| o.is_none()), Some(true));
}

fn unique_nodes(obj: &Obj, seen: &mut HashSet<*const PyObj>) {
    if seen.insert(Arc::as_ptr(obj)) {
        if let Some(items) = obj.as_list() {
            items.iter().for_each(|o| unique_nodes(o, seen));
        }
    }
}

#[test]
fn exponential_sharing_stays_small() {
    // x = []; 80 times: x = (x, x)  -> 2^80 leaves logically, 81 nodes really.
    let dup = P::proto(4).op(b"]").repeat(b"2\x86", 80).stop();
    let root = read_pickle(&dup).expect("dup chain");
    let mut seen = HashSet::new();
    unique_nodes(&root, &mut seen);
    assert_eq!(seen.len(), 81);
    // The same through the memo.
    let memo = P::proto(4)
        .op(b"]q\x00")
        .repeat(b"h\x00h\x00\x86q\x00", 80)
        .stop();
    let root = read_pickle(&memo).expect("memo chain");
    let mut seen = HashSet::new();
    unique_nodes(&root, &mut seen);
    assert_eq!(seen.len(), 81);
}

#[test]
fn cycles_are_refused() {
    let self_list = P::proto(4).op(b"]q\x00h\x00a").stop();
    assert!(matches!(read_pickle(&self_list), Err(PickleError::Cycle)));
    let self_state = P::proto(4)
        .stack_global("sklearn.linear_model._base", "LinearRegression")
        .op(b")\x81q\x00}q\x01X\x01\x00\x00\x00ah\x00sb")
        .stop();
    assert!(matches!(read_pickle(&self_state), Err(PickleError::Cycle)));
}

#[test]
fn malformed_structure_fails_cleanly() {
    for bytes in [
        &b""[..],
        b".",
        b"N",
        b"\x80\x09N.",
        b"0.",
        b"1.",
        b"a.",
        b"NNs.",
        b"}Ne.",
        b"(N(Nu.",
        b"NNR.",
        b"N)R.",
        b"N)\x81.",
        b"NNb.",
        b"\xff.",
        b"\x93.",
        b"NN\x93.",
        b"I12x\n.",
        b"Fnope\n.",
        b"V\\u12\n.",
        b"X\x02\x00\x00\x00\xff\xfe.",
        b"\x8f(N\x90N\x90.",
    ] {
        assert!(read_pickle(bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn hostile_numpy_states_fail_cleanly() {
    let array = |shape: &[u8], code: &str, data: &[u8]| {
        P::proto(4)
            .stack_global("numpy._core.multiarray", "_reconstruct")
            .stack_global("numpy", "ndarray")
            .op(b"K\x00\x85C\x01b\x87R")
            .op(b"(K\x01")
            .op(shape)
            .stack_global("numpy", "dtype")
            .str(code)
            .op(b"\x89\x88\x87R")
            .op(b"(K\x03")
            .str("<")
            .op(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
            .op(b"\x89")
            .op(&[b'C', data.len() as u8])
            .op(data)
            .op(b"tb")
            .stop()
    };
    // A well-formed one reads.
    let ok = array(b"K\x02\x85", "f8", &[0u8; 16]);
    let arr = read_pickle(&ok).expect("array");
    assert_eq!(arr.as_array().map(|a| a.shape.clone()), Some(vec![2]));
    for bad in [
        array(b"J\x00\x00\x00\x40\x85", "f8", &[0u8; 16]), // 2^30 elements, 16 bytes
        array(
            b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x87",
            "f8",
            &[0u8; 8],
        ), // overflow
        array(b"J\xff\xff\xff\xff\x85", "f8", &[0u8; 8]),  // negative dim
        array(b"K\x02\x85", "f8", &[0u8; 15]),             // short data
        array(b"K\x02\x85", "q9", &[0u8; 16]),             // bad code
        array(b"K\x02\x85", "U99999999999999999999", &[0u8; 16]), // huge code
        array(b"K\x02\x85", "O8", &[0u8; 16]),             // object dtype with bytes
    ] {
        assert!(read_pickle(&bad).is_err());
    }
}

#[test]
fn shared_buffers_cannot_multiply_memory() {
    // One 1 MiB buffer turned into arrays 200 times (200 MiB of copies) exceeds the copy budget.
    let mut p = P::proto(5)
        .op(&[0x96])
        .op(&(1u64 << 20).to_le_bytes())
        .op(&vec![0u8; 1 << 20])
        .op(b"q\x00")
        .stack_global("numpy", "dtype")
        .str("u1")
        .op(b"\x89\x88\x87Rq\x01")
        .stack_global("numpy._core.numeric", "_frombuffer")
        .op(b"q\x02");
    for _ in 0..200 {
        p = p.op(b"h\x02(h\x00h\x01J\x00\x00\x10\x00\x85X\x01\x00\x00\x00CtR0");
    }
    let bytes = p.op(b"N").stop();
    match read_pickle(&bytes) {
        Err(PickleError::Numpy { message, .. }) => {
            assert!(message.contains("copy budget"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
