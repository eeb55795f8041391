"""Real MLflow models, one per scikit-learn transformer class (and a few realistic mixed-type
pipelines), for ironflow's transformer tests (`loader/src/sklearn/transformer_tests.rs`).

Every case is `cases/<case>/` with the same files as `examples/sklearn/<env>/<case>/` (see
`../README.md`; this script reuses `../generate.py`'s wire encoding): `model/` written by
`mlflow.sklearn.save_model`, `request.json` (MLServer's `pd` content type), `expected.json`
(`mlflow.pyfunc.load_model(model).predict(df)` in MLServer's wire form) and `case.json`.

mlflow's pyfunc only calls `predict` (and `predict_proba`, ...), never `transform`, so most
cases are `Pipeline([transformer, LinearRegression])` where the LinearRegression was fitted to
reproduce the transformer's own training output (`fit(Xt, Xt)`): its predictions are the
transform output up to ~1e-12, so every transformed column is checked through the real wire.
Text cases end in a LogisticRegression (`predict_proba`), mixed pipelines in Ridge/LogReg.
Everything is seeded. Usage (sklearn 1.9.1, mlflow 3.17.2, skops 0.16.0):

    /work/venv-fixtures/bin/python examples/sklearn/transformers/generate.py [NAME_SUBSTRING]
"""

import functools
import json
import pathlib
import shutil
import string
import sys
import warnings

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
FILTER = sys.argv[1] if len(sys.argv) > 1 else None
sys.argv = [sys.argv[0], "transformers"]
sys.path.insert(0, str(HERE.parent))
import generate as base  # noqa: E402  (the per-family generator: wire encoding, data sets)

import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402
import sklearn  # noqa: E402
import sklearn.neighbors  # noqa: E402
from mlflow.models.signature import infer_signature  # noqa: E402
from sklearn import cluster, decomposition, feature_extraction, feature_selection  # noqa: E402
from sklearn import impute, kernel_approximation, neural_network, preprocessing  # noqa: E402
from sklearn import random_projection  # noqa: E402
from sklearn.compose import ColumnTransformer, make_column_selector  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402,F401
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = HERE / "cases"
RTOL, ATOL = 1e-6, 1e-8
CASES = []


def case(name, formats=(), rtol=RTOL, atol=ATOL):
    """Registers a builder returning (model, x_train, y_train, x_request, predict_fn)."""
    def wrap(fn):
        CASES.append((name, fn, formats, rtol, atol))
        return fn
    return wrap


def num(seed, n_features=5, n=200, positive=False):
    """A numeric regression table; `positive` shifts it above zero."""
    x, y, req = base.regression(seed, n_features)
    if positive:
        x, req = x.abs() + 0.1, req.abs() + 0.1
    return x, y, req


def cls(seed, n_features=6):
    return base.multiclass(seed, n_features=n_features, n_classes=3)


def tx(t, data, name=None, extra_req=None):
    """`Pipeline([t, LinearRegression fitted on (t(X), t(X))])`: predict() returns transform()."""
    x, y, req = data
    if extra_req is not None:
        req = pd.concat([req, extra_req], ignore_index=True)
    t.fit(x, y)
    xt = t.transform(x)
    xt = xt.toarray() if hasattr(xt, "toarray") else np.asarray(xt, dtype=np.float64)
    ident = LinearRegression().fit(t.transform(x), xt)
    model = Pipeline([(name or type(t).__name__.lower(), t), ("identity", ident)])
    return model, x, y, req, "predict", True


def outliers(req, factor=5.0):
    """Two extra rows far outside the training range (extrapolation, clipping)."""
    return pd.DataFrame([req.iloc[0] * factor, req.iloc[1] * -factor]).reset_index(drop=True)


# ---------------------------------------------------------------- preprocessing

@case("binarizer", formats=("pickle", "skops"))
def _():
    return tx(preprocessing.Binarizer(threshold=0.3), num(1))


@case("polynomial-features", formats=("skops",))
def _():
    return tx(preprocessing.PolynomialFeatures(degree=2), num(2, 3))


@case("polynomial-features-interaction-nobias")
def _():
    return tx(preprocessing.PolynomialFeatures(degree=3, interaction_only=True,
                                               include_bias=False), num(3, 4))


@case("polynomial-features-order-f")
def _():
    return tx(preprocessing.PolynomialFeatures(degree=(2, 3), order="F"), num(4, 3))


for _enc in ("ordinal", "onehot-dense"):
    for _strategy in ("uniform", "quantile", "kmeans"):
        def _kbins(enc=_enc, strategy=_strategy):
            x, y, req = num(5, 3)
            kb = preprocessing.KBinsDiscretizer(n_bins=4, encode=enc, strategy=strategy,
                                                quantile_method="averaged_inverted_cdf")
            return tx(kb, (x, y, req), extra_req=outliers(req))
        case(f"kbins-{_enc}-{_strategy}",
             formats=("skops",) if _strategy == "quantile" else ())(_kbins)


@case("kbins-onehot-ridge")
def _():
    x, y, req = num(6, 3)
    kb = preprocessing.KBinsDiscretizer(n_bins=5, encode="onehot", strategy="uniform")
    return Pipeline([("kb", kb), ("ridge", Ridge(alpha=0.1))]), x, y, req, "predict"


for _dist in ("uniform", "normal"):
    def _qt(dist=_dist):
        x, y, req = num(7, 4)
        qt = preprocessing.QuantileTransformer(n_quantiles=50, output_distribution=dist,
                                               random_state=7)
        return tx(qt, (x, y, req), extra_req=outliers(req))
    case(f"quantile-{_dist}", formats=("pickle", "skops") if _dist == "normal" else ())(_qt)


@case("power-yeo-johnson", formats=("skops",))
def _():
    return tx(preprocessing.PowerTransformer(), num(8, 4))


@case("power-box-cox")
def _():
    return tx(preprocessing.PowerTransformer(method="box-cox"), num(9, 4, positive=True))


@case("power-yeo-johnson-nostd")
def _():
    return tx(preprocessing.PowerTransformer(standardize=False), num(10, 4))


for _extra in ("constant", "linear", "continue", "periodic", "error"):
    def _spline(extra=_extra):
        x, y, req = num(11, 3)
        st = preprocessing.SplineTransformer(n_knots=5, degree=3, extrapolation=extra)
        return tx(st, (x, y, req), extra_req=None if extra == "error" else outliers(req, 1.5))
    case(f"spline-{_extra}", formats=("pickle", "skops") if _extra == "linear" else ())(_spline)


@case("spline-quantile-knots-degree2-nobias")
def _():
    st = preprocessing.SplineTransformer(n_knots=4, degree=2, knots="quantile",
                                         include_bias=False)
    return tx(st, num(12, 3))


@case("kernel-centerer")
def _():
    x, y, req = num(13, 20, positive=True)
    return tx(preprocessing.KernelCenterer(), (x.head(20), y[:20], req))


for _fn in ("log1p", "sqrt", "exp", "log", "abs", "tanh", "expm1", "square", "cbrt"):
    def _func(fn=_fn):
        x, y, req = num(14, 3, positive=fn in ("log", "sqrt", "log1p"))
        if fn in ("exp", "expm1", "tanh", "square", "cbrt", "abs"):
            x, req = x / 50, req / 50
        f = getattr(np, fn)
        return tx(preprocessing.FunctionTransformer(f), (x, y, req))
    case(f"function-{_fn}", formats=("pickle", "skops") if _fn == "log1p" else ())(_func)


for _target in ("binary", "multiclass", "continuous"):
    def _te(target=_target):
        x, y, req = base.mixed(15)
        if target == "binary":
            y = np.where(y > np.median(y), "yes", "no").astype(object)
            est = LogisticRegression(max_iter=2000)
        elif target == "multiclass":
            y = np.digitize(y, np.quantile(y, [0.33, 0.66])).astype(np.int64)
            est = LogisticRegression(max_iter=2000)
        else:
            est = None
        te = preprocessing.TargetEncoder(target_type=target, random_state=15)
        ct = ColumnTransformer([("te", te, ["city", "plan"])], remainder="drop")
        return tx(ct, (x, y, req), name="te")
    case(f"target-encoder-{_target}", formats=("skops",) if _target == "binary" else ())(_te)


@case("onehot-min-frequency-max-categories")
def _():
    x, y, req = base.mixed(16)
    ohe = preprocessing.OneHotEncoder(min_frequency=40, max_categories=4,
                                      handle_unknown="infrequent_if_exist", sparse_output=False)
    return tx(ohe, (x[["city", "plan"]], y, req[["city", "plan"]]))


@case("onehot-drop-if-binary")
def _():
    x, y, req = base.mixed(17)
    ohe = preprocessing.OneHotEncoder(drop="if_binary", handle_unknown="ignore",
                                      sparse_output=False)
    x = x.assign(flag=np.where(x["rooms"] > 2, "big", "small").astype(object))
    req = req.assign(flag=np.where(req["rooms"] > 2, "big", "small").astype(object))
    return tx(ohe, (x[["city", "flag"]], y, req[["city", "flag"]]))


@case("ordinal-unknown-missing")
def _():
    x, y, req = base.mixed(18)
    x = x.copy()
    x.loc[::7, "plan"] = None
    req = req.copy()
    req.loc[2, "plan"] = None
    oe = preprocessing.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                      encoded_missing_value=-2)
    return tx(oe, (x[["city", "plan"]], y, req[["city", "plan"]]))


@case("simple-imputer-strings")
def _():
    x, y, req = base.mixed(19)
    x, req = x.copy(), req.copy()
    x.loc[::5, "city"] = None
    req.loc[[1, 4], "city"] = None
    ct = ColumnTransformer([
        ("cat", Pipeline([("imp", impute.SimpleImputer(strategy="most_frequent")),
                          ("ohe", preprocessing.OneHotEncoder(handle_unknown="ignore",
                                                              sparse_output=False))]),
         ["city"]),
        ("const", Pipeline([("imp", impute.SimpleImputer(strategy="constant",
                                                         fill_value="missing")),
                            ("ord", preprocessing.OrdinalEncoder(
                                handle_unknown="use_encoded_value", unknown_value=-1))]),
         ["plan"]),
    ])
    return tx(ct, (x, y, req), name="prep")


# ---------------------------------------------------------------- imputation

def holes(data, cols, seed=20):
    x, y, req = data
    return base.with_nans(x, seed, cols, 0.2), y, base.with_nans(req, seed + 1, cols, 0.4)


@case("missing-indicator")
def _():
    return tx(impute.MissingIndicator(), holes(num(20, 4), ["x0", "x2"]))


@case("missing-indicator-all")
def _():
    return tx(impute.MissingIndicator(features="all"), holes(num(21, 4), ["x1"]))


@case("simple-imputer-add-indicator")
def _():
    return tx(impute.SimpleImputer(strategy="median", add_indicator=True),
              holes(num(22, 4), ["x0", "x3"]))


for _w in ("uniform", "distance"):
    def _knn(w=_w):
        return tx(impute.KNNImputer(n_neighbors=3, weights=w), holes(num(23, 4), ["x0", "x2"]))
    case(f"knn-imputer-{_w}", formats=("skops",) if _w == "uniform" else ())(_knn)


@case("iterative-imputer", rtol=1e-9, atol=1e-9)
def _():
    return tx(impute.IterativeImputer(max_iter=5, random_state=24),
              holes(num(24, 4), ["x0", "x2", "x3"]))


# ---------------------------------------------------------------- feature selection

fs = feature_selection


@case("variance-threshold", formats=("pickle", "skops"))
def _():
    x, y, req = num(25, 6)
    x = x.assign(x5=x["x5"] * 0.01)
    return tx(fs.VarianceThreshold(threshold=0.05), (x, y, req))


@case("select-k-best-f-classif", formats=("pickle", "skops"))
def _():
    return tx(fs.SelectKBest(fs.f_classif, k=3), cls(26))


@case("select-k-best-partial-mutual-info", formats=("pickle", "skops"))
def _():
    # score_func as a functools.partial: kept by sklearn, never called at predict time.
    return tx(fs.SelectKBest(functools.partial(fs.mutual_info_classif, random_state=0), k=3), cls(27))


for _mode in ("distance", "connectivity"):
    def _knn_graph(mode=_mode):
        # A sparse (n_queries, n_train) neighbours graph feeding the identity LinearRegression.
        x, y, req = num(28, 4)
        x, y = x.iloc[:60], y[:60]
        return tx(sklearn.neighbors.KNeighborsTransformer(mode=mode, n_neighbors=4), (x, y, req))
    case(f"kneighbors-transformer-{_mode}",
         formats=("skops",) if _mode == "distance" else ())(_knn_graph)

    def _radius_graph(mode=_mode):
        x, y, req = num(29, 4)
        x, y = x.iloc[:60], y[:60]
        return tx(sklearn.neighbors.RadiusNeighborsTransformer(mode=mode, radius=1.5), (x, y, req))
    case(f"radius-neighbors-transformer-{_mode}",
         formats=("skops",) if _mode == "distance" else ())(_radius_graph)


@case("select-percentile-chi2")
def _():
    x, y, req = cls(27)
    return tx(fs.SelectPercentile(fs.chi2, percentile=40), (x.abs(), y, req.abs()))


@case("select-fpr-f-regression")
def _():
    return tx(fs.SelectFpr(fs.f_regression, alpha=0.01), num(28, 6))


@case("select-fdr")
def _():
    return tx(fs.SelectFdr(alpha=0.05), cls(29))


@case("select-fwe")
def _():
    return tx(fs.SelectFwe(alpha=0.05), cls(30))


@case("generic-univariate-select")
def _():
    return tx(fs.GenericUnivariateSelect(fs.mutual_info_classif, mode="k_best", param=2), cls(31))


@case("select-from-model-lasso")
def _():
    return tx(fs.SelectFromModel(Lasso(alpha=2.0)), num(32, 6))


@case("select-from-model-logreg-max-features", formats=("skops",))
def _():
    return tx(fs.SelectFromModel(LogisticRegression(max_iter=2000), threshold="1.25*mean",
                                 max_features=3), cls(33))


@case("rfe")
def _():
    return tx(fs.RFE(LogisticRegression(max_iter=2000), n_features_to_select=3), cls(34))


@case("rfecv")
def _():
    return tx(fs.RFECV(Ridge(), cv=3), num(35, 5))


@case("sequential-feature-selector")
def _():
    return tx(fs.SequentialFeatureSelector(Ridge(), n_features_to_select=2, cv=3), num(36, 5))


@case("select-k-best-then-logreg")
def _():
    x, y, req = cls(37)
    return (Pipeline([("sel", fs.SelectKBest(k=4)), ("clf", LogisticRegression(max_iter=2000))]),
            x, y, req, "predict_proba")


# ---------------------------------------------------------------- decomposition, projections

dec = decomposition


@case("incremental-pca", formats=("skops",))
def _():
    return tx(dec.IncrementalPCA(n_components=3, batch_size=50), num(38, 6))


@case("incremental-pca-whiten")
def _():
    return tx(dec.IncrementalPCA(n_components=2, whiten=True), num(39, 5))


for _kernel in ("linear", "rbf", "poly", "sigmoid", "cosine"):
    def _kpca(kernel=_kernel):
        x, y, req = num(40, 4)
        kp = dec.KernelPCA(n_components=3, kernel=kernel, gamma=0.05 if kernel != "linear" else None,
                           random_state=40)
        return tx(kp, (x.head(80), y[:80], req))
    case(f"kernel-pca-{_kernel}", rtol=1e-6, atol=1e-8,
         formats=("skops",) if _kernel == "rbf" else ())(_kpca)


@case("fast-ica", formats=("skops",))
def _():
    return tx(dec.FastICA(n_components=3, random_state=41, max_iter=500), num(41, 5))


@case("fast-ica-unit-variance-nowhiten")
def _():
    return tx(dec.FastICA(n_components=3, whiten=False, random_state=42, max_iter=500), num(42, 3))


@case("factor-analysis")
def _():
    return tx(dec.FactorAnalysis(n_components=2, random_state=43), num(43, 5))


@case("factor-analysis-varimax")
def _():
    return tx(dec.FactorAnalysis(n_components=2, rotation="varimax", random_state=44), num(44, 5))


@case("nmf", rtol=1e-4, atol=1e-6)
def _():
    return tx(dec.NMF(n_components=3, init="nndsvda", max_iter=500, random_state=45),
              num(45, 5, positive=True))


@case("minibatch-nmf", rtol=1e-4, atol=1e-6)
def _():
    return tx(dec.MiniBatchNMF(n_components=3, random_state=46), num(46, 5, positive=True))


@case("lda-topics", rtol=1e-6, atol=1e-8)
def _():
    x, y, req = num(47, 8, positive=True)
    x, req = (x * 3).round(), (req * 3).round()
    return tx(dec.LatentDirichletAllocation(n_components=3, random_state=47), (x, y, req))


@case("truncated-svd")
def _():
    return tx(dec.TruncatedSVD(n_components=2, random_state=48), num(48, 5))


@case("sparse-pca")
def _():
    return tx(dec.SparsePCA(n_components=2, random_state=49), num(49, 5))


@case("dictionary-learning", rtol=1e-4, atol=1e-6)
def _():
    return tx(dec.DictionaryLearning(n_components=3, random_state=50, max_iter=50), num(50, 4))


@case("gaussian-random-projection", formats=("skops",))
def _():
    return tx(random_projection.GaussianRandomProjection(n_components=3, random_state=51),
              num(51, 8))


@case("sparse-random-projection", formats=("pickle", "skops"))
def _():
    return tx(random_projection.SparseRandomProjection(n_components=3, dense_output=True,
                                                       random_state=52), num(52, 8))


for _solver in ("svd", "eigen"):
    def _lda(solver=_solver):
        return tx(LinearDiscriminantAnalysis(n_components=2, solver=solver), cls(53))
    case(f"lda-transform-{_solver}")(_lda)


ka = kernel_approximation


@case("nystroem-rbf", formats=("skops",))
def _():
    return tx(ka.Nystroem(gamma=0.1, n_components=20, random_state=54), num(54, 4))


@case("nystroem-poly")
def _():
    return tx(ka.Nystroem(kernel="poly", degree=2, gamma=0.1, n_components=15, random_state=55),
              num(55, 4))


@case("rbf-sampler")
def _():
    return tx(ka.RBFSampler(gamma=0.2, n_components=10, random_state=56), num(56, 4))


@case("skewed-chi2-sampler")
def _():
    return tx(ka.SkewedChi2Sampler(skewedness=0.5, n_components=8, random_state=57),
              num(57, 4, positive=True))


@case("additive-chi2-sampler")
def _():
    return tx(ka.AdditiveChi2Sampler(sample_steps=2), num(58, 3, positive=True))


@case("polynomial-count-sketch")
def _():
    return tx(ka.PolynomialCountSketch(degree=2, n_components=16, random_state=59), num(59, 4))


@case("kmeans-transform")
def _():
    return tx(cluster.KMeans(n_clusters=3, n_init=3, random_state=60), num(60, 3))


@case("minibatch-kmeans-transform")
def _():
    return tx(cluster.MiniBatchKMeans(n_clusters=3, n_init=3, random_state=61), num(61, 3))


@case("bisecting-kmeans-transform")
def _():
    return tx(cluster.BisectingKMeans(n_clusters=3, random_state=62), num(62, 3))


@case("birch-transform")
def _():
    return tx(cluster.Birch(n_clusters=3), num(63, 3))


@case("feature-agglomeration")
def _():
    return tx(cluster.FeatureAgglomeration(n_clusters=2), num(64, 5))


@case("bernoulli-rbm", formats=("skops",))
def _():
    x, y, req = num(65, 5)
    mm = preprocessing.MinMaxScaler().fit(pd.concat([x, req]))
    x, req = pd.DataFrame(mm.transform(x), columns=x.columns), pd.DataFrame(mm.transform(req), columns=x.columns)
    return tx(neural_network.BernoulliRBM(n_components=4, random_state=65), (x, y, req))


@case("isomap")
def _():
    from sklearn.manifold import Isomap
    x, y, req = num(66, 4)
    return tx(Isomap(n_components=2, n_neighbors=5), (x.head(40), y[:40], req))


# ---------------------------------------------------------------- text

WORDS = ["the", "a", "cheap", "great", "terrible", "movie", "film", "plot", "actor", "boring",
         "loved", "hated", "Café", "naïve", "résumé", "really", "not", "good", "bad", "fun"]


def text_data(seed, n=160, vocab=WORDS, length=(4, 12)):
    rng = np.random.RandomState(seed)
    docs = [" ".join(rng.choice(vocab, rng.randint(*length))) + rng.choice(["", "!", "."])
            for _ in range(n + base.N_ROWS)]
    docs[n] = "Unseen words only: zyx qwv"
    docs[n + 1] = ""
    y = np.array([("good" in d or "loved" in d) for d in docs], dtype=np.int64)
    x = pd.DataFrame({"review": pd.Series(docs, dtype=object)})
    return x.head(n), y[:n], x.iloc[n:].reset_index(drop=True)


def text_case(vec, seed, proba=True):
    x, y, req = text_data(seed)
    ct = ColumnTransformer([("text", vec, "review")])
    model = Pipeline([("prep", ct), ("clf", LogisticRegression(max_iter=2000))])
    return model, x, y, req, "predict_proba" if proba else "predict"


fe = feature_extraction.text


@case("count-vectorizer", formats=("pickle", "skops"))
def _():
    return text_case(fe.CountVectorizer(), 70)


@case("count-vectorizer-bigrams-stopwords-binary")
def _():
    return text_case(fe.CountVectorizer(ngram_range=(1, 2), stop_words=["the", "a", "not"],
                                        binary=True, max_features=40, lowercase=False), 71)


@case("count-vectorizer-char-wb-accents")
def _():
    return text_case(fe.CountVectorizer(analyzer="char_wb", ngram_range=(2, 3),
                                        strip_accents="unicode", min_df=2), 72)


@case("count-vectorizer-char-ascii")
def _():
    return text_case(fe.CountVectorizer(analyzer="char", ngram_range=(1, 2),
                                        strip_accents="ascii", max_df=0.9), 73)


@case("tfidf-vectorizer", formats=("pickle", "skops"))
def _():
    return text_case(fe.TfidfVectorizer(), 74)


@case("tfidf-vectorizer-sublinear-l1-nosmooth")
def _():
    return text_case(fe.TfidfVectorizer(sublinear_tf=True, norm="l1", smooth_idf=False,
                                        ngram_range=(1, 2)), 75)


@case("tfidf-vectorizer-noidf-nonorm")
def _():
    return text_case(fe.TfidfVectorizer(use_idf=False, norm=None, token_pattern=r"(?u)\b\w+\b"),
                     76)


@case("count-then-tfidf-transformer")
def _():
    x, y, req = text_data(77)
    ct = ColumnTransformer([("text", Pipeline([("count", fe.CountVectorizer()),
                                                 ("tfidf", fe.TfidfTransformer())]), "review")])
    model = Pipeline([("prep", ct), ("clf", LogisticRegression(max_iter=2000))])
    return model, x, y, req, "predict_proba"


@case("hashing-vectorizer", formats=("skops",))
def _():
    return text_case(fe.HashingVectorizer(n_features=2 ** 10), 78)


@case("hashing-vectorizer-char-noalt-l1")
def _():
    return text_case(fe.HashingVectorizer(n_features=2 ** 8, analyzer="char", ngram_range=(2, 3),
                                          alternate_sign=False, norm="l1"), 79)


def big_vocabulary(seed, size=12000):
    """Deterministic pseudo-words: consonant-vowel syllables, unique."""
    rng = np.random.RandomState(seed)
    cons, vows = "bcdfghjklmnprstvz", "aeiou"
    words = set()
    while len(words) < size:
        k = rng.randint(2, 5)
        words.add("".join(rng.choice(list(cons)) + rng.choice(list(vows)) for _ in range(k)))
    return sorted(words)


@case("tfidf-10k-vocabulary-logreg")
def _():
    vocab = big_vocabulary(80)
    x, y, req = text_data(80, n=1500, vocab=vocab, length=(20, 60))
    y = np.array([hash_word(d) for d in x["review"]], dtype=np.int64)
    model = Pipeline([("prep", ColumnTransformer([("text", fe.TfidfVectorizer(), "review")])),
                      ("clf", LogisticRegression(max_iter=300))])
    return model, x, y, req, "predict_proba"


def hash_word(doc):
    return sum(map(ord, doc.split(" ")[0])) % 2


# ---------------------------------------------------------------- realistic mixed pipelines

def customers(seed, n=300):
    rng = np.random.RandomState(seed)
    x, y, req = base.mixed(seed, n)
    comments = ["late delivery", "great service", "", "would buy again", "broken on arrival",
                "fast and cheap", "Not good", "excellent"]
    x = x.assign(comment=pd.Series(rng.choice(comments, len(x)), dtype=object))
    req = req.assign(comment=pd.Series(rng.choice(comments, len(req)), dtype=object))
    x, req = x.copy(), req.copy()
    x.loc[::9, "income"] = np.nan
    x.loc[::11, "plan"] = None
    req.loc[[0, 5], "income"] = np.nan
    req.loc[[2], "plan"] = None
    x["income"] = x["income"].astype(float)
    req["income"] = req["income"].astype(float)
    return x, y, req


@case("mixed-churn-logreg", formats=("pickle", "skops"))
def _():
    x, y, req = customers(90)
    y = np.where(y > np.median(y), "churn", "stay").astype(object)
    prep = ColumnTransformer([
        ("num", Pipeline([("imp", impute.SimpleImputer(strategy="median", add_indicator=True)),
                          ("scale", preprocessing.StandardScaler())]), ["income", "age"]),
        ("cat", Pipeline([("imp", impute.SimpleImputer(strategy="constant", fill_value="none")),
                          ("ohe", preprocessing.OneHotEncoder(handle_unknown="ignore"))]),
         ["city", "plan"]),
        ("text", fe.TfidfVectorizer(), "comment"),
        ("rooms", preprocessing.KBinsDiscretizer(n_bins=3, encode="onehot"), ["rooms"]),
    ])
    model = Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=2000))])
    return model, x, y, req, "predict_proba"


@case("mixed-target-encoder-ridge")
def _():
    x, y, req = customers(91)
    prep = ColumnTransformer([
        ("te", preprocessing.TargetEncoder(random_state=91), ["city", "plan"]),
        ("num", Pipeline([("imp", impute.KNNImputer(n_neighbors=4)),
                          ("pow", preprocessing.PowerTransformer())]), ["income", "age"]),
        ("poly", preprocessing.PolynomialFeatures(2, include_bias=False), ["rooms"]),
    ], remainder="drop")
    model = Pipeline([("prep", prep), ("ridge", Ridge(alpha=1.0))])
    return model, x, y, req, "predict"


@case("mixed-selector-pandas-output")
def _():
    x, y, req = customers(92)
    x, req = x.drop(columns="comment"), req.drop(columns="comment")
    prep = ColumnTransformer([
        ("num", Pipeline([("imp", impute.SimpleImputer()), ("qt", preprocessing.QuantileTransformer(
            n_quantiles=40))]), make_column_selector(dtype_include=np.number)),
        ("cat", Pipeline([("imp", impute.SimpleImputer(strategy="most_frequent")),
                          ("ohe", preprocessing.OneHotEncoder(handle_unknown="ignore",
                                                              sparse_output=False))]),
         make_column_selector(dtype_exclude=np.number)),
    ]).set_output(transform="pandas")
    model = Pipeline([("prep", prep), ("ridge", Ridge(alpha=1.0))])
    return model, x, y, req, "predict"


@case("mixed-pattern-selector-remainder-estimator")
def _():
    x, y, req = base.mixed(93)
    prep = ColumnTransformer([
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"),
         make_column_selector(pattern="^(city|plan)$")),
    ], remainder=preprocessing.StandardScaler())
    model = Pipeline([("prep", prep), ("ridge", Ridge(alpha=1.0))])
    return model, x, y, req, "predict"


@case("mixed-feature-union-weights-nested")
def _():
    x, y, req = num(94, 5)
    union = FeatureUnion([
        ("pca", Pipeline([("scale", preprocessing.StandardScaler()),
                          ("pca", dec.PCA(n_components=2))])),
        ("spline", preprocessing.SplineTransformer(n_knots=4)),
        ("sel", fs.SelectKBest(fs.f_regression, k=2)),
    ], transformer_weights={"pca": 2.0, "spline": 0.5})
    model = Pipeline([("union", union), ("ridge", Ridge(alpha=0.5))])
    return model, x, y, req, "predict"


# ---------------------------------------------------------------- saving


def save(name, model, x_train, req, fmt, predict_fn, rtol, atol):
    out = ROOT / name
    model_dir = out / "model"
    method = getattr(model, predict_fn)
    head = x_train.head(20)
    signature = infer_signature(head, np.asarray(method(head)))
    kwargs = {"serialization_format": fmt, "signature": signature,
              "pip_requirements": base.requirements(), "pyfunc_predict_fn": predict_fn}
    if fmt == "skops":
        import skops.io
        kwargs["skops_trusted_types"] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    out.mkdir(parents=True)
    mlflow.sklearn.save_model(model, str(model_dir), **kwargs)
    request = {"inputs": [base.wire_input(c, req[c]) for c in req.columns],
               "parameters": {"content_type": "pd"}}
    df = base.decode_request(request)
    pred = mlflow.pyfunc.load_model(str(model_dir)).predict(df)
    pred = np.asarray(pred)
    direct = np.asarray(method(df))
    # BLAS-backed transforms (IncrementalPCA) may differ in the last bits between two calls.
    np.testing.assert_allclose(pred, direct, rtol=1e-12, atol=1e-15)
    base.dump(out / "request.json", request)
    base.dump(out / "expected.json", {"outputs": [base.wire_output(pred)], "rtol": rtol,
                                      "atol": atol})
    base.dump(out / "case.json", {
        "name": name, "estimator": base.describe(model), "serialization_format": fmt,
        "pyfunc_predict_fn": predict_fn, "request_rows": len(req), "versions": base.versions()})


def main():
    if FILTER is None and ROOT.exists():
        shutil.rmtree(ROOT)
    made, failed = [], []
    for name, build, formats, rtol, atol in CASES:
        if FILTER is not None and FILTER not in name:
            continue
        try:
            model, x, y, req, predict_fn, *prefitted = build()
            if not prefitted:
                model.fit(x, y)
        except Exception as e:  # noqa: BLE001  (a class that cannot fit this data)
            failed.append(f"{name}: fit: {type(e).__name__}: {e}"[:300])
            continue
        for fmt in ("cloudpickle", *formats):
            case_name = name if fmt == "cloudpickle" else f"{name}-{fmt}"
            if (ROOT / case_name).exists():
                shutil.rmtree(ROOT / case_name)
            try:
                save(case_name, model, x, req, fmt, predict_fn, rtol, atol)
                made.append(case_name)
            except Exception as e:  # noqa: BLE001  (a class mlflow/pyfunc cannot save)
                shutil.rmtree(ROOT / case_name, ignore_errors=True)
                failed.append(f"{case_name}: {type(e).__name__}: {e}"[:300])
    print(f"sklearn {sklearn.__version__}, mlflow {mlflow.__version__}: {len(made)} cases")
    for f in failed:
        print("NOT SAVED", f)


if __name__ == "__main__":
    main()
