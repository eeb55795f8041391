//! The whitelist: the only globals a pickle may name (docs/formats.md 2f). Nothing is ever imported
//! or called; a whitelisted global becomes a [`Global`], i.e. a class record plus the
//! [`Handler`] that says what `REDUCE`/`NEWOBJ` on it builds. Anything else is refused with
//! [`PickleError::UnsupportedGlobal`].
//!
//! Policy:
//! 1. [`EXACT`] lists every non-sklearn global by full name: numpy reconstructors, dtype and
//!    scalar type objects, numpy RNG constructors and bit generators, a few builtins,
//!    `collections`, `copyreg._reconstructor`, `_codecs.encode`, LightGBM and XGBoost classes.
//! 2. For `sklearn.*` modules only, a *pattern* admits estimator and helper classes without
//!    listing each: the module must be `sklearn` or `sklearn.<identifier>...`, and the name must be
//!    class-like (an identifier that starts with an uppercase letter, optionally after one `_`,
//!    like `_BinMapper`), or a Cython `__pyx_unpickle_<ClassLike>` reconstructor, or `newObj` in
//!    the Cython modules of [`NEWOBJ_MODULES`]. These all become inert records.
//! 3. Everything else fails: `builtins.eval`, `builtins.getattr` (no corpus pickle uses it),
//!    `os.system`, `posix.system`, `subprocess.Popen`, `__main__.*`, cloudpickle's by-value code
//!    (`cloudpickle.cloudpickle._make_function` ...), and lowercase sklearn functions.
//!    joblib's `NumpyArrayWrapper` gets a dedicated error.

use super::error::PickleError;
use crate::pyobj::PyClass;

/// What calling (`REDUCE`) or instantiating (`NEWOBJ`) a global builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handler {
    /// `numpy.core.multiarray._reconstruct`: an array waiting for its `BUILD` state.
    Reconstruct,
    /// `numpy.core.numeric._frombuffer(buf, dtype, shape, order)`.
    FromBuffer,
    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a 0-d array.
    Scalar,
    /// `numpy.dtype(code, align, copy)`.
    DType,
    /// A type object used only as an argument (`numpy.ndarray`, `numpy.float64`, `builtins.object`).
    TypeOnly,
    /// `_codecs.encode(str, 'latin1')`: protocol 2 bytes.
    CodecsEncode,
    /// `builtins.set(iterable)` / `builtins.frozenset(iterable)`.
    Set,
    /// `builtins.bytearray(bytes)` / `builtins.bytes()`.
    ByteArray,
    /// `copyreg._reconstructor(cls, base, state)`: an instance of `cls`.
    CopyregReconstructor,
    /// An inert record: a class instance (or opaque helper) keeping its arguments.
    Record,
    /// joblib's `NumpyArrayWrapper` (only in a joblib stream): its `BUILD` reads the array's
    /// bytes that follow in the stream.
    JoblibArray,
}

/// A resolved whitelisted global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Global {
    /// Its module and name.
    pub(crate) class: PyClass,
    /// What `REDUCE`/`NEWOBJ` on it builds.
    pub(crate) handler: Handler,
}

use Handler::*;

/// Every non-sklearn global the reader accepts, by exact module and name.
pub(crate) const EXACT: &[(&str, &str, Handler)] = &[
    // numpy 1.x and 2.x array / scalar / dtype reconstruction (docs/formats.md 2d).
    ("numpy.core.multiarray", "_reconstruct", Reconstruct),
    ("numpy._core.multiarray", "_reconstruct", Reconstruct),
    ("numpy.core.multiarray", "scalar", Scalar),
    ("numpy._core.multiarray", "scalar", Scalar),
    ("numpy.core.numeric", "_frombuffer", FromBuffer),
    ("numpy._core.numeric", "_frombuffer", FromBuffer),
    ("numpy", "dtype", DType),
    ("numpy", "ndarray", TypeOnly),
    // numpy scalar type objects (e.g. OneHotEncoder's `dtype=np.float64` parameter).
    ("numpy", "float64", TypeOnly),
    ("numpy", "float32", TypeOnly),
    ("numpy", "float16", TypeOnly),
    ("numpy", "int64", TypeOnly),
    ("numpy", "int32", TypeOnly),
    ("numpy", "int16", TypeOnly),
    ("numpy", "int8", TypeOnly),
    ("numpy", "uint64", TypeOnly),
    ("numpy", "uint32", TypeOnly),
    ("numpy", "uint16", TypeOnly),
    ("numpy", "uint8", TypeOnly),
    ("numpy", "intp", TypeOnly),
    ("numpy", "intc", TypeOnly),
    ("numpy", "bool_", TypeOnly),
    ("numpy", "bool", TypeOnly),
    ("numpy", "object_", TypeOnly),
    ("numpy", "str_", TypeOnly),
    ("numpy", "bytes_", TypeOnly),
    ("numpy", "complex128", TypeOnly),
    // Abstract scalar types (`make_column_selector(dtype_include=np.number)`).
    ("numpy", "number", TypeOnly),
    ("numpy", "integer", TypeOnly),
    ("numpy", "signedinteger", TypeOnly),
    ("numpy", "unsignedinteger", TypeOnly),
    ("numpy", "floating", TypeOnly),
    ("numpy", "inexact", TypeOnly),
    ("numpy", "generic", TypeOnly),
    ("numpy", "datetime64", TypeOnly),
    // numpy random generators: opaque, never needed for predict (docs/formats.md 2c).
    ("numpy.random._pickle", "__randomstate_ctor", Record),
    ("numpy.random._pickle", "__generator_ctor", Record),
    ("numpy.random._pickle", "__bit_generator_ctor", Record),
    ("numpy.random", "__RandomState_ctor", Record),
    ("numpy.random.mtrand", "RandomState", Record),
    ("numpy.random._generator", "Generator", Record),
    ("numpy.random._mt19937", "MT19937", Record),
    ("numpy.random._pcg64", "PCG64", Record),
    ("numpy.random._pcg64", "PCG64DXSM", Record),
    ("numpy.random._philox", "Philox", Record),
    ("numpy.random._sfc64", "SFC64", Record),
    ("numpy.random.bit_generator", "SeedSequence", Record),
    (
        "numpy.random.bit_generator",
        "__pyx_unpickle_SeedSequence",
        Record,
    ),
    // numpy masked arrays (a search's `cv_results_`): inert records, never used at predict.
    ("numpy.ma.core", "_mareconstruct", Record),
    ("numpy.ma.core", "MaskedArray", TypeOnly),
    ("numpy.ma", "MaskedArray", TypeOnly),
    // numpy ufuncs kept as plain attributes (`TransformedTargetRegressor(func=np.log)`):
    // named values, never called by the reader.
    ("numpy", "log", TypeOnly),
    ("numpy", "log1p", TypeOnly),
    ("numpy", "log2", TypeOnly),
    ("numpy", "log10", TypeOnly),
    ("numpy", "exp", TypeOnly),
    ("numpy", "expm1", TypeOnly),
    ("numpy", "exp2", TypeOnly),
    ("numpy", "sqrt", TypeOnly),
    ("numpy", "cbrt", TypeOnly),
    ("numpy", "square", TypeOnly),
    ("numpy", "mean", TypeOnly),
    ("numpy", "median", TypeOnly),
    // builtins (protocol 0-2 spell the module `__builtin__`, mapped before lookup).
    ("builtins", "object", TypeOnly),
    ("builtins", "slice", Record),
    ("builtins", "set", Set),
    ("builtins", "frozenset", Set),
    ("builtins", "bytearray", ByteArray),
    // Protocol 2 writes `b''` as `bytes()`.
    ("builtins", "bytes", ByteArray),
    ("builtins", "list", TypeOnly),
    ("builtins", "dict", TypeOnly),
    ("builtins", "float", TypeOnly),
    ("builtins", "int", TypeOnly),
    ("builtins", "str", TypeOnly),
    ("builtins", "bool", TypeOnly),
    ("_codecs", "encode", CodecsEncode),
    // scipy objects held by fitted transformers: SplineTransformer's `bsplines_`, sparse
    // `components_` (SparseRandomProjection). Built as inert records from their state.
    ("scipy.interpolate._bsplines", "BSpline", Record),
    // ColumnTransformer's callable column selector (a lowercase class).
    (
        "sklearn.compose._column_transformer",
        "make_column_selector",
        Record,
    ),
    // `functools.partial(f, ...)` as a value sklearn keeps but never calls at predict time
    // (`SelectKBest(score_func=partial(mutual_info_classif, ...))`): an inert record; `f`
    // itself must be a whitelisted global.
    ("functools", "partial", Record),
    ("scipy.sparse._csr", "csr_matrix", Record),
    ("scipy.sparse._csc", "csc_matrix", Record),
    ("scipy.sparse._csr", "csr_array", Record),
    ("scipy.sparse._csc", "csc_array", Record),
    ("copyreg", "_reconstructor", CopyregReconstructor),
    // collections: LightGBM's Booster state (`defaultdict(OrderedDict)`).
    ("collections", "OrderedDict", Record),
    ("collections", "defaultdict", Record),
    // LightGBM and XGBoost scikit-learn wrappers.
    ("lightgbm.basic", "Booster", Record),
    ("lightgbm.sklearn", "LGBMClassifier", Record),
    ("lightgbm.sklearn", "LGBMRegressor", Record),
    ("lightgbm.sklearn", "LGBMRanker", Record),
    ("lightgbm.sklearn", "LGBMModel", Record),
    ("xgboost.core", "Booster", Record),
    ("xgboost.sklearn", "XGBClassifier", Record),
    ("xgboost.sklearn", "XGBRegressor", Record),
    ("xgboost.sklearn", "XGBRFClassifier", Record),
    ("xgboost.sklearn", "XGBRFRegressor", Record),
    ("xgboost.sklearn", "XGBRanker", Record),
    ("xgboost.sklearn", "XGBModel", Record),
];

/// sklearn Cython modules whose module-level `newObj(cls)` helper recreates an extension type
/// (`BinaryTree` and `DistanceMetric` `__reduce__`).
pub(crate) const NEWOBJ_MODULES: &[&str] = &[
    "sklearn.neighbors._kd_tree",
    "sklearn.neighbors._ball_tree",
    "sklearn.neighbors._binary_tree",
    "sklearn.metrics._dist_metrics",
];

/// Functions a fitted estimator may hold as a plain attribute value and never calls at predict
/// time: `FunctionTransformer(func=np.log1p)` and the univariate selectors' `score_func`.
/// They become inert references (calling one is refused like a type object).
pub(crate) const FUNCTION_REFS: &[(&str, &[&str])] = &[
    ("numpy", crate::skops::NUMPY_UFUNC_NAMES),
    (
        "sklearn.feature_selection._univariate_selection",
        &[
            "f_classif",
            "f_regression",
            "chi2",
            "r_regression",
            "f_oneway",
        ],
    ),
    (
        "sklearn.feature_selection._mutual_info",
        &["mutual_info_classif", "mutual_info_regression"],
    ),
    ("scipy.special._ufuncs", &["expit", "logit", "log_expit"]),
    // BSpline's `_asarray` (scipy >= 1.15), FeatureAgglomeration's `pooling_func`,
    // BisectingKMeans' `_kmeans_single`.
    ("scipy._lib.array_api_compat.numpy._aliases", &["asarray"]),
    ("numpy", &["mean", "median", "max", "min", "sum"]),
    (
        "sklearn.cluster._kmeans",
        &["_kmeans_single_lloyd", "_kmeans_single_elkan"],
    ),
];

/// Resolves a global by module and name, or refuses it.
pub(crate) fn resolve(module: &str, name: &str) -> Result<Global, PickleError> {
    let original = module;
    // Python 2 module names, as `pickle`'s protocol <3 compatibility mapping renames them.
    let module = match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        m => m,
    };
    if name == "NumpyArrayWrapper" || module.starts_with("joblib") || module.contains(".joblib") {
        return Err(PickleError::Joblib(format!("{module}.{name}")));
    }
    let handler = EXACT
        .iter()
        .find(|(m, n, _)| *m == module && *n == name)
        .map(|(_, _, h)| *h)
        .or_else(|| is_sklearn_record(module, name).then_some(Record))
        .or_else(|| is_sklearn_function_value(module, name).then_some(TypeOnly))
        .or_else(|| {
            FUNCTION_REFS
                .iter()
                .any(|(m, names)| *m == module && names.contains(&name))
                .then_some(TypeOnly)
        })
        .ok_or_else(|| PickleError::UnsupportedGlobal(format!("{original}.{name}")))?;
    Ok(Global {
        class: PyClass::new(module, name),
        handler,
    })
}

/// sklearn functions kept as plain attributes but never called at predict time (a scorer's
/// `balanced_accuracy_score`, SelectKBest's `f_classif`): inert named values that the reader
/// refuses to call.
fn is_sklearn_function_value(module: &str, name: &str) -> bool {
    // BisectingKMeans keeps the k-means routine it used as an attribute.
    if module == "sklearn.cluster._kmeans" {
        return matches!(name, "_kmeans_single_lloyd" | "_kmeans_single_elkan");
    }
    (module.starts_with("sklearn.metrics.") || module.starts_with("sklearn.feature_selection."))
        && module.split('.').all(is_identifier)
        && is_identifier(name)
        && !name.starts_with('_')
}

/// The `sklearn.*` pattern of the module docs, rule 2.
fn is_sklearn_record(module: &str, name: &str) -> bool {
    let in_sklearn = module == "sklearn"
        || module
            .strip_prefix("sklearn.")
            .is_some_and(|rest| rest.split('.').all(is_identifier));
    if !in_sklearn {
        return false;
    }
    if name == "newObj" {
        return NEWOBJ_MODULES.contains(&module);
    }
    let class = name.strip_prefix("__pyx_unpickle_").unwrap_or(name);
    is_class_like(class)
}

/// An identifier starting with an uppercase ASCII letter, optionally after one underscore.
fn is_class_like(name: &str) -> bool {
    let body = name.strip_prefix('_').unwrap_or(name);
    body.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && is_identifier(name)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_globals_are_refused() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("subprocess", "Popen"),
            ("subprocess", "check_output"),
            ("builtins", "eval"),
            ("builtins", "exec"),
            ("builtins", "getattr"),
            ("builtins", "__import__"),
            ("builtins", "open"),
            ("__builtin__", "eval"),
            ("__main__", "Model"),
            ("cloudpickle.cloudpickle", "_make_function"),
            ("cloudpickle.cloudpickle", "_builtin_type"),
            ("cloudpickle.cloudpickle_fast", "_function_setstate"),
            ("types", "CodeType"),
            ("types", "FunctionType"),
            ("operator", "attrgetter"),
            ("pickle", "loads"),
            ("numpy", "load"),
            ("numpy.testing._private.utils", "runstring"),
            ("numpy.core.multiarray", "frombuffer"),
            ("sklearn.utils", "_safe_indexing"),
            ("sklearn.utils._testing", "assert_run_python_script"),
            ("sklearn", "os.system"),
            ("sklearn.tree._tree", "Tree.__reduce__"),
            ("sklearn.neighbors._classification", "newObj"),
            ("sklearnx.evil", "Model"),
            ("sklearn..x", "Model"),
            ("sklearn.x y", "Model"),
            ("lightgbm.basic", "_load_lib"),
            ("copyreg", "__newobj__"),
            ("copyreg", "add_extension"),
            ("collections", "namedtuple"),
            ("", ""),
        ] {
            let err = resolve(m, n).expect_err(&format!("{m}.{n} must be refused"));
            assert_eq!(
                err.to_string(),
                format!("unsupported pickle global '{m}.{n}'")
            );
        }
    }

    /// Outside `sklearn.*`, a global resolves exactly when the [`EXACT`] table lists it:
    /// a cross product of suspicious and whitelisted modules and names proves there is no other path.
    #[test]
    fn only_the_table_resolves_outside_sklearn() {
        let mut modules: Vec<&str> = EXACT.iter().map(|(m, _, _)| *m).collect();
        let mut names: Vec<&str> = EXACT.iter().map(|(_, n, _)| *n).collect();
        modules.extend([
            "os",
            "posix",
            "nt",
            "sys",
            "subprocess",
            "__main__",
            "types",
            "functools",
            "operator",
            "cloudpickle.cloudpickle",
            "torch",
            "pandas.core.frame",
            "numpy.random",
            "numpy.lib",
            "lightgbm",
            "xgboost",
            "builtins.x",
            "numpyx",
            "_codecs2",
        ]);
        names.extend([
            "system",
            "eval",
            "exec",
            "getattr",
            "setattr",
            "__import__",
            "open",
            "Popen",
            "apply",
            "loads",
            "_make_function",
            "DataFrame",
            "Tree",
            "newObj",
            "__pyx_unpickle_Tree",
            "X",
        ]);
        let mut resolved = 0;
        for m in &modules {
            for n in &names {
                let listed = EXACT.iter().any(|(em, en, _)| em == m && en == n)
                    || FUNCTION_REFS
                        .iter()
                        .any(|(fm, names)| fm == m && names.contains(n))
                    || is_sklearn_record(m, n);
                match resolve(m, n) {
                    Ok(_) => {
                        assert!(listed, "{m}.{n} resolved without being listed");
                        resolved += 1;
                    }
                    Err(PickleError::UnsupportedGlobal(_)) => {
                        assert!(!listed, "{m}.{n} listed but refused")
                    }
                    Err(e) => panic!("{m}.{n}: {e}"),
                }
            }
        }
        assert!(resolved >= EXACT.len());
    }

    #[test]
    fn joblib_gets_its_own_error() {
        let err = resolve("joblib.numpy_pickle", "NumpyArrayWrapper").expect_err("joblib");
        assert!(matches!(err, PickleError::Joblib(_)), "{err}");
    }

    #[test]
    fn whitelisted_globals_resolve() {
        for (m, n) in [
            ("sklearn.linear_model._logistic", "LogisticRegression"),
            (
                "sklearn.ensemble._hist_gradient_boosting.binning",
                "_BinMapper",
            ),
            ("sklearn._loss._loss", "__pyx_unpickle_CyHalfSquaredError"),
            ("sklearn.neighbors._kd_tree", "newObj"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("__builtin__", "set"),
            ("copy_reg", "_reconstructor"),
        ] {
            assert!(resolve(m, n).is_ok(), "{m}.{n}");
        }
        assert_eq!(
            resolve("numpy", "dtype").map(|g| g.handler).ok(),
            Some(DType)
        );
    }
}
