//! The skops whitelist: which classes, types and functions a schema may name. Nothing is
//! imported or called either way; the list keeps the tree to what the estimator compilers know,
//! under the same policy as the pickle reader (`crate::pickle`), and turns everything else
//! (`os.system`, `builtins.eval`, `__main__.*`) into a load error naming it.

/// Non-sklearn classes an `ObjectNode` may instantiate.
const OBJECT_CLASSES: &[(&str, &str)] = &[
    // SplineTransformer's `bsplines_`.
    ("scipy.interpolate._bsplines", "BSpline"),
    // ColumnTransformer's callable column selector (a lowercase class).
    (
        "sklearn.compose._column_transformer",
        "make_column_selector",
    ),
    ("lightgbm.basic", "Booster"),
    ("lightgbm.sklearn", "LGBMClassifier"),
    ("lightgbm.sklearn", "LGBMRegressor"),
    ("lightgbm.sklearn", "LGBMRanker"),
    ("lightgbm.sklearn", "LGBMModel"),
    ("xgboost.core", "Booster"),
    ("xgboost.sklearn", "XGBClassifier"),
    ("xgboost.sklearn", "XGBRegressor"),
    ("xgboost.sklearn", "XGBRFClassifier"),
    ("xgboost.sklearn", "XGBRFRegressor"),
    ("xgboost.sklearn", "XGBRanker"),
    ("xgboost.sklearn", "XGBModel"),
];

/// Type objects a `TypeNode` may name besides the numpy scalar types.
const BUILTIN_TYPES: &[(&str, &str)] = &[
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "str"),
    ("builtins", "bool"),
    ("builtins", "bytes"),
    ("builtins", "complex"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "dict"),
    ("builtins", "object"),
    ("builtins", "NoneType"),
    ("collections", "OrderedDict"),
];

/// numpy scalar type names (module `numpy`), skops's `NUMPY_DTYPE_TYPE_NAMES` plus aliases.
const NUMPY_TYPES: &[&str] = &[
    "bool",
    "bool_",
    "bytes_",
    "str_",
    "object_",
    "void",
    "datetime64",
    "timedelta64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intp",
    "uintp",
    "intc",
    "uintc",
    "longlong",
    "ulonglong",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
    // Abstract scalar types (`make_column_selector(dtype_include=np.number)`).
    "number",
    "integer",
    "signedinteger",
    "unsignedinteger",
    "floating",
    "inexact",
    "generic",
];

/// numpy ufuncs a `FunctionNode` may name (module `numpy`), e.g. `FunctionTransformer(np.log1p)`.
pub const NUMPY_UFUNCS: &[&str] = &[
    "absolute",
    "add",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "cbrt",
    "ceil",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "divide",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "fmax",
    "fmin",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "positive",
    "power",
    "rad2deg",
    "radians",
    "reciprocal",
    "rint",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "trunc",
];

/// sklearn functions stored as inert attribute values (univariate selectors' `score_func`).
const SKLEARN_FUNCTIONS: &[(&str, &str)] = &[
    (
        "sklearn.feature_selection._univariate_selection",
        "f_classif",
    ),
    (
        "sklearn.feature_selection._univariate_selection",
        "f_regression",
    ),
    ("sklearn.feature_selection._univariate_selection", "chi2"),
    (
        "sklearn.feature_selection._univariate_selection",
        "r_regression",
    ),
    (
        "sklearn.feature_selection._univariate_selection",
        "f_oneway",
    ),
    (
        "sklearn.feature_selection._mutual_info",
        "mutual_info_classif",
    ),
    (
        "sklearn.feature_selection._mutual_info",
        "mutual_info_regression",
    ),
    ("scipy._lib.array_api_compat.numpy._aliases", "asarray"),
    ("numpy", "mean"),
    ("numpy", "median"),
    ("sklearn.cluster._kmeans", "_kmeans_single_lloyd"),
    ("sklearn.cluster._kmeans", "_kmeans_single_elkan"),
];

/// scipy.special ufuncs a `FunctionNode` may name.
const SCIPY_UFUNCS: &[&str] = &["expit", "logit", "log_expit"];

/// Loss classes a `LossNode` may name: sklearn's `_sgd_fast` and `_loss._loss` Cython losses.
const LOSS_MODULES: &[&str] = &["sklearn.linear_model._sgd_fast", "sklearn._loss._loss"];

/// numpy bit generators a `RandomGeneratorNode` may name.
pub(crate) const BIT_GENERATORS: &[&str] = &["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"];

/// May an `ObjectNode` of this class be built? sklearn classes by pattern, a few others by name.
pub(crate) fn object_class(module: &str, name: &str) -> bool {
    is_sklearn_class(module, name) || OBJECT_CLASSES.contains(&(module, name))
}

/// May a `TypeNode` name this type?
pub(crate) fn type_object(module: &str, name: &str) -> bool {
    BUILTIN_TYPES.contains(&(module, name)) || numpy_type(module, name)
}

/// Is this a numpy scalar type (`numpy.float64` ...)?
pub(crate) fn numpy_type(module: &str, name: &str) -> bool {
    module == "numpy" && NUMPY_TYPES.contains(&name)
}

/// May a `FunctionNode` name this function?
pub(crate) fn function(module: &str, name: &str) -> bool {
    (module == "numpy" && (NUMPY_UFUNCS.contains(&name) || matches!(name, "mean" | "median")))
        || (module.starts_with("scipy.special") && SCIPY_UFUNCS.contains(&name))
        || sklearn_function_value(module, name)
        || (module == "sklearn.cluster._kmeans"
            && matches!(name, "_kmeans_single_lloyd" | "_kmeans_single_elkan"))
        || SKLEARN_FUNCTIONS.contains(&(module, name))
}

/// sklearn functions kept as plain attributes but never called at predict time (a scorer's
/// `balanced_accuracy_score`, SelectKBest's `f_classif`): built as inert named values.
fn sklearn_function_value(module: &str, name: &str) -> bool {
    (module.starts_with("sklearn.metrics.") || module.starts_with("sklearn.feature_selection."))
        && module.split('.').all(is_identifier)
        && is_identifier(name)
        && !name.starts_with('_')
}

/// May a `LossNode` name this class?
pub(crate) fn loss_class(module: &str, name: &str) -> bool {
    LOSS_MODULES.contains(&module) && is_class_like(name)
}

/// `sklearn` or `sklearn.<identifier>...`, with a class-like name.
fn is_sklearn_class(module: &str, name: &str) -> bool {
    let in_sklearn = module == "sklearn"
        || module
            .strip_prefix("sklearn.")
            .is_some_and(|rest| rest.split('.').all(is_identifier));
    in_sklearn && is_class_like(name)
}

/// An identifier starting with an uppercase ASCII letter, optionally after one underscore
/// (`LogisticRegression`, `_BinMapper`); sklearn functions are lowercase.
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
    fn policy() {
        assert!(object_class(
            "sklearn.linear_model._logistic",
            "LogisticRegression"
        ));
        assert!(object_class(
            "sklearn.ensemble._hist_gradient_boosting.binning",
            "_BinMapper"
        ));
        assert!(object_class("lightgbm.basic", "Booster"));
        assert!(!object_class("sklearn.utils", "check_array"));
        assert!(!object_class("os", "system"));
        assert!(!object_class("sklearn.x;import os", "A"));
        assert!(!object_class("sklearnx", "A"));
        assert!(type_object("numpy", "float64"));
        assert!(type_object("builtins", "str"));
        assert!(!type_object("builtins", "eval"));
        assert!(function("numpy", "log1p"));
        assert!(!function("builtins", "eval"));
        assert!(loss_class("sklearn._loss._loss", "CyHalfBinomialLoss"));
        assert!(!loss_class("os", "System"));
    }
}
