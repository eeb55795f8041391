"""Real MLflow models of scikit-learn predictors (issue 14): one or more cases per class.

Reuses `examples/sklearn/generate.py`'s data sets, wire encoding and `save` (see its README):
each case is `examples/sklearn/predictors/<case>/` with `model/`, `request.json`,
`expected.json` (mlflow.pyfunc's answer in MLServer's wire form) and `case.json`.
`loader/src/sklearn/predictor_tests.rs` serves every case and compares.

    /work/venv-fixtures/bin/python examples/sklearn/predictors/generate.py

(sklearn 1.9.1, mlflow 3.17.2, skops 0.16.0). Rewrites the folder. Models are small (few rows,
few members) so the whole set stays a few MB.
"""

import logging
import pathlib
import shutil
import sys
import warnings

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
# `generate.py SUBSTRING` rewrites only the cases whose name contains it.
ONLY = sys.argv[1] if len(sys.argv) > 1 else None
sys.argv = [sys.argv[0], "predictors"]
sys.path.insert(0, str(HERE.parent))
import generate as gen  # noqa: E402

from sklearn import (calibration, cluster, covariance, cross_decomposition, discriminant_analysis,  # noqa: E402,E501
                     dummy, ensemble, gaussian_process, isotonic, kernel_ridge, linear_model,
                     mixture, model_selection, multiclass, multioutput, naive_bayes, neighbors,
                     preprocessing, semi_supervised, svm, tree, compose, pipeline)
from sklearn.gaussian_process import kernels as gpk  # noqa: E402

warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)
gen.ROOT = HERE
gen.ENV = "predictors"
lm = linear_model

CASES = []

_wire_output = gen.wire_output


def wire_output(pred):
    """As MLServer encodes it, with NaN as JSON null (the test reads null as NaN)."""
    out = _wire_output(pred)
    out["data"] = [None if isinstance(v, float) and v != v else v for v in out["data"]]
    return out


gen.wire_output = wire_output


def case(name, formats=(), fns=()):
    """`formats` besides cloudpickle; `fns` extra predict_fn cases (`-<fn>` suffix)."""
    def wrap(fn):
        CASES.append((name, fn, formats, fns))
        return fn
    return wrap


def fit(model, data):
    x, y, req = data
    model.fit(x, y)
    return model, x, req


def positive(seed):
    """Regression with a positive target (Gamma/Poisson/Tweedie)."""
    x, y, req = gen.regression(seed, n_features=4)
    return x, np.exp(y / 150.0), req


def counts(seed, n_features=5, n_classes=3):
    """Non-negative count features (multinomial / complement NB) and labels."""
    rng = np.random.RandomState(seed)
    n = 200
    y = rng.randint(0, n_classes, n)
    lam = 1.0 + 3.0 * (np.arange(n_features)[None, :] % (y[:, None] + 2))
    x = rng.poisson(lam).astype(np.float64)
    df = pd.DataFrame(x, columns=[f"c{i}" for i in range(n_features)])
    return gen.split(df, y.astype(np.int64), seed)


def categories(seed, n_features=4):
    rng = np.random.RandomState(seed)
    n = 200
    y = rng.randint(0, 3, n)
    x = (rng.randint(0, 4, (n, n_features)) + y[:, None]) % 5
    df = pd.DataFrame(x.astype(np.int64), columns=[f"k{i}" for i in range(n_features)])
    return gen.split(df, y.astype(np.int64), seed)


def multitarget(seed, n_targets=2):
    x, y, req = gen.regression(seed, n_features=5)
    rng = np.random.RandomState(seed)
    y2 = np.column_stack([y] + [y * rng.rand() + rng.rand() * 10 for _ in range(n_targets - 1)])
    return x, y2, req


def multilabel(seed):
    x, y, req = gen.multiclass(seed, n_features=6, n_classes=3)
    y2 = np.column_stack([y == 0, y == 1, (y + 1) % 2]).astype(np.int64)
    return x, y2, req


def one_feature(seed):
    x, y, req = gen.diabetes(seed)
    req = req[["bmi"]].copy()
    req.loc[0, "bmi"] = 0.5   # beyond the training range
    req.loc[1, "bmi"] = -0.5
    return x[["bmi"]], y, req


def unlabeled(data, frac=0.5, seed=0):
    x, y, req = data
    y = y.copy()
    y[np.random.RandomState(seed).rand(len(y)) < frac] = -1
    return x, y, req


def blobs(seed, n_features=3):
    from sklearn.datasets import make_blobs
    x, y = make_blobs(n_samples=150, n_features=n_features, centers=3, random_state=seed)
    return gen.split(pd.DataFrame(x, columns=[f"b{i}" for i in range(n_features)]),
                     y.astype(np.int64), seed)


def small(data, n=40):
    """Only the first `n` training rows (estimators that store their training set)."""
    x, y, req = data
    return x.iloc[:n].reset_index(drop=True), None if y is None else y[:n], req


def unsup(data):
    x, _, req = data
    return x, None, req


# ------------------------------------------------------------------------- linear family

@case("ridge-cv", formats=("skops",))
def _(): return fit(lm.RidgeCV(alphas=[0.1, 1.0, 10.0]), gen.diabetes(101))
@case("ridge-multioutput")
def _(): return fit(lm.Ridge(alpha=0.3), multitarget(102))
@case("lasso-cv")
def _(): return fit(lm.LassoCV(cv=3, random_state=0), gen.diabetes(103))
@case("elasticnet-cv")
def _(): return fit(lm.ElasticNetCV(cv=3, l1_ratio=[0.2, 0.8]), gen.regression(104))
@case("lars", formats=("pickle",))
def _(): return fit(lm.Lars(n_nonzero_coefs=4), gen.diabetes(105))
@case("lasso-lars")
def _(): return fit(lm.LassoLars(alpha=0.05), gen.diabetes(106))
@case("lasso-lars-ic")
def _(): return fit(lm.LassoLarsIC(criterion="bic"), gen.diabetes(107))
@case("lars-cv")
def _(): return fit(lm.LarsCV(cv=3), gen.diabetes(108))
@case("lasso-lars-cv")
def _(): return fit(lm.LassoLarsCV(cv=3), gen.diabetes(109))
@case("omp")
def _(): return fit(lm.OrthogonalMatchingPursuit(n_nonzero_coefs=3), gen.regression(110))
@case("omp-cv")
def _(): return fit(lm.OrthogonalMatchingPursuitCV(cv=3), gen.regression(111))
@case("multitask-lasso")
def _(): return fit(lm.MultiTaskLasso(alpha=0.5), multitarget(112))
@case("multitask-elasticnet")
def _(): return fit(lm.MultiTaskElasticNet(alpha=0.5, l1_ratio=0.3), multitarget(113))
@case("multitask-lasso-cv")
def _(): return fit(lm.MultiTaskLassoCV(cv=3), multitarget(114))
@case("multitask-elasticnet-cv")
def _(): return fit(lm.MultiTaskElasticNetCV(cv=3), multitarget(115))
@case("gamma-regressor", formats=("skops",))
def _(): return fit(lm.GammaRegressor(alpha=0.1), positive(116))
@case("poisson-regressor")
def _(): return fit(lm.PoissonRegressor(alpha=0.1), positive(117))
@case("tweedie-regressor-identity")
def _(): return fit(lm.TweedieRegressor(power=0, alpha=0.1), positive(118))
@case("tweedie-regressor-log")
def _(): return fit(lm.TweedieRegressor(power=1.5, alpha=0.1), positive(119))
@case("tweedie-regressor-link-identity")
def _(): return fit(lm.TweedieRegressor(power=1.0, link="identity", alpha=0.1), positive(120))
@case("huber")
def _(): return fit(lm.HuberRegressor(max_iter=500), gen.regression(121))
@case("quantile")
def _(): return fit(lm.QuantileRegressor(quantile=0.7, alpha=0.01), gen.regression(122))
@case("theil-sen")
def _(): return fit(lm.TheilSenRegressor(random_state=0, max_subpopulation=200), gen.regression(123))
@case("ard")
def _(): return fit(lm.ARDRegression(), gen.regression(124))
@case("bayesian-ridge")
def _(): return fit(lm.BayesianRidge(), gen.diabetes(125))
@case("passive-aggressive-regressor")
def _(): return fit(lm.PassiveAggressiveRegressor(random_state=0), gen.regression(126))
@case("sgd-regressor-huber")
def _(): return fit(lm.SGDRegressor(loss="huber", penalty="elasticnet", random_state=0), gen.regression(127))
@case("ransac", formats=("skops",))
def _(): return fit(lm.RANSACRegressor(random_state=0), gen.regression(128))
@case("ransac-ridge")
def _(): return fit(lm.RANSACRegressor(lm.Ridge(alpha=2.0), min_samples=20, random_state=0), gen.diabetes(129))
for _k, _kw in [("linear", {}), ("rbf", {"gamma": 0.5}), ("poly", {"degree": 2, "coef0": 1.0}),
                ("laplacian", {"gamma": 0.3}), ("sigmoid", {"gamma": 0.01, "coef0": 0.5}),
                ("cosine", {})]:
    def _build(k=_k, kw=_kw):
        return fit(kernel_ridge.KernelRidge(kernel=k, alpha=0.5, **kw), small(gen.regression(130, n_features=4)))
    case(f"kernel-ridge-{_k.replace('_', '-')}")(_build)
@case("isotonic", formats=("skops",))
def _(): return fit(isotonic.IsotonicRegression(out_of_bounds="clip"), one_feature(131))
@case("isotonic-nan-decreasing")
def _():
    x, y, req = one_feature(132)
    return fit(isotonic.IsotonicRegression(out_of_bounds="nan", increasing=False), (x, -y, req))
@case("pls-regression", formats=("skops",))
def _(): return fit(cross_decomposition.PLSRegression(n_components=2), gen.diabetes(133))
@case("pls-regression-multi")
def _(): return fit(cross_decomposition.PLSRegression(n_components=2, scale=False), multitarget(134))
@case("pls-canonical")
def _(): return fit(cross_decomposition.PLSCanonical(n_components=2), multitarget(135))
@case("cca")
def _(): return fit(cross_decomposition.CCA(n_components=1), multitarget(136))

@case("logreg-cv", fns=("predict_proba",))
def _(): return fit(lm.LogisticRegressionCV(cv=3, max_iter=2000), gen.iris(140))
@case("ridge-classifier-cv")
def _(): return fit(lm.RidgeClassifierCV(alphas=[0.1, 1.0]), gen.binary(141))
@case("passive-aggressive-classifier")
def _(): return fit(lm.PassiveAggressiveClassifier(random_state=0), gen.iris(142))
@case("perceptron-multiclass", formats=("skops",))
def _(): return fit(lm.Perceptron(random_state=0), gen.iris(143, labels="str"))
@case("sgd-classifier-modified-huber", fns=("predict_proba",))
def _(): return fit(lm.SGDClassifier(loss="modified_huber", random_state=0), gen.iris(144))
@case("sgd-classifier-hinge-binary")
def _(): return fit(lm.SGDClassifier(random_state=0), gen.binary(145))
@case("sgd-one-class-svm")
def _(): return fit(lm.SGDOneClassSVM(nu=0.2, random_state=0), unsup(gen.regression(146, 4)))
@case("linear-svc-binary")
def _(): return fit(svm.LinearSVC(random_state=0), gen.binary(147))

# ----------------------------------------------------------- probabilistic / distance-based

@case("bernoulli-nb", formats=("skops",), fns=("predict_proba",))
def _(): return fit(naive_bayes.BernoulliNB(alpha=0.5, binarize=0.1), gen.multiclass(150))
@case("categorical-nb", fns=("predict_proba",))
def _(): return fit(naive_bayes.CategoricalNB(), categories(151))
@case("complement-nb", fns=("predict_proba",))
def _(): return fit(naive_bayes.ComplementNB(), counts(152))
@case("complement-nb-norm")
def _(): return fit(naive_bayes.ComplementNB(norm=True), counts(153))
@case("multinomial-nb", formats=("pickle",), fns=("predict_proba", "predict_log_proba"))
def _(): return fit(naive_bayes.MultinomialNB(alpha=0.7), counts(154))
@case("gaussian-nb-joint", fns=("predict_joint_log_proba",))
def _(): return fit(naive_bayes.GaussianNB(), gen.iris(155))
@case("lda-svd", formats=("skops",), fns=("predict_proba",))
def _(): return fit(discriminant_analysis.LinearDiscriminantAnalysis(), gen.iris(156))
@case("lda-lsqr-binary", fns=("predict_proba",))
def _(): return fit(discriminant_analysis.LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"), gen.binary(157))
@case("lda-eigen", fns=("predict_proba",))
def _(): return fit(discriminant_analysis.LinearDiscriminantAnalysis(solver="eigen"), gen.iris(158))
@case("qda", fns=("predict_proba",))
def _(): return fit(discriminant_analysis.QuadraticDiscriminantAnalysis(reg_param=0.1), gen.iris(159))
@case("nearest-centroid")
def _(): return fit(neighbors.NearestCentroid(), gen.iris(160, labels="str"))
@case("nearest-centroid-manhattan")
def _(): return fit(neighbors.NearestCentroid(metric="manhattan"), gen.multiclass(161))
@case("radius-neighbors-classifier", fns=("predict_proba",))
def _():
    x, y, req = gen.iris(162)
    req.loc[0, "sepal_length_cm"] = 30.0  # no neighbour: the outlier label
    return fit(neighbors.RadiusNeighborsClassifier(radius=0.8, outlier_label="most_frequent"), (x, y, req))
@case("radius-neighbors-regressor")
def _(): return fit(neighbors.RadiusNeighborsRegressor(radius=1.5, weights="distance"), gen.iris(163))
@case("knn-classifier-distance", fns=("predict_proba",))
def _(): return fit(neighbors.KNeighborsClassifier(n_neighbors=4, weights="distance", p=1), gen.iris(164))
for _s in ["most_frequent", "prior", "constant"]:
    def _build(s=_s):
        kw = {"constant": 2} if s == "constant" else {}
        return fit(dummy.DummyClassifier(strategy=s, **kw), gen.iris(165))
    case(f"dummy-classifier-{_s.replace('_', '-')}", fns=("predict_proba",))(_build)
for _s in ["mean", "median", "quantile", "constant"]:
    def _build(s=_s):
        kw = {"quantile": {"quantile": 0.3}, "constant": {"constant": 7.5}}.get(s, {})
        return fit(dummy.DummyRegressor(strategy=s, **kw), gen.diabetes(166))
    case(f"dummy-regressor-{_s}")(_build)
for _c in ["full", "tied", "diag", "spherical"]:
    def _build(c=_c):
        return fit(mixture.GaussianMixture(n_components=3, covariance_type=c, random_state=0), unsup(blobs(167)))
    case(f"gaussian-mixture-{_c}", formats=("skops",) if _c == "full" else (), fns=("predict_proba",))(_build)
@case("bayesian-gaussian-mixture", fns=("predict_proba",))
def _(): return fit(mixture.BayesianGaussianMixture(n_components=3, random_state=0), unsup(blobs(168)))
@case("bayesian-gaussian-mixture-diag")
def _(): return fit(mixture.BayesianGaussianMixture(n_components=3, covariance_type="diag", random_state=0), unsup(blobs(169)))
@case("elliptic-envelope")
def _():
    x, _, req = gen.regression(170, n_features=3)
    req.iloc[:3] = req.iloc[:3] * 5
    return fit(covariance.EllipticEnvelope(random_state=0), (x, None, req))
@case("lof-novelty")
def _():
    x, _, req = gen.regression(171, n_features=3)
    req.iloc[:3] = req.iloc[:3] * 5
    return fit(neighbors.LocalOutlierFactor(n_neighbors=10, novelty=True), small((x, None, req), 60))
@case("one-class-svm")
def _(): return fit(svm.OneClassSVM(nu=0.1, gamma=0.3), unsup(gen.regression(172, 3)))
@case("gpr", formats=("skops",))
def _():
    k = gpk.ConstantKernel(1.0) * gpk.RBF(length_scale=1.0) + gpk.WhiteKernel(0.1)
    return fit(gaussian_process.GaussianProcessRegressor(kernel=k, normalize_y=True, random_state=0), small(gen.diabetes(173)))
@case("gpr-matern")
def _():
    k = gpk.Matern(length_scale=[1.0] * 4, nu=1.5) + gpk.DotProduct() ** 2
    return fit(gaussian_process.GaussianProcessRegressor(kernel=k, alpha=1e-2, random_state=0), small(gen.regression(174, 4)))
@case("gpr-rq")
def _():
    k = gpk.RationalQuadratic() + gpk.ExpSineSquared() * gpk.ConstantKernel(0.5)
    return fit(gaussian_process.GaussianProcessRegressor(kernel=k, alpha=0.5, optimizer=None), small(gen.regression(175, 2)))
@case("gpc-binary", fns=("predict_proba",))
def _(): return fit(gaussian_process.GaussianProcessClassifier(random_state=0), small(gen.binary(176), 60))
@case("gpc-multiclass", formats=("pickle", "skops"), fns=("predict_proba",))
def _(): return fit(gaussian_process.GaussianProcessClassifier(random_state=0), small(gen.iris(177), 60))
@case("gpc-binary-matern-white", formats=("skops",), fns=("predict_proba",))
def _(): return fit(gaussian_process.GaussianProcessClassifier(
    kernel=gaussian_process.kernels.ConstantKernel(1.0) * gaussian_process.kernels.Matern(nu=1.5)
    + gaussian_process.kernels.WhiteKernel(0.1), random_state=0), small(gen.binary(181), 60))
@case("label-propagation", fns=("predict_proba",))
def _(): return fit(semi_supervised.LabelPropagation(gamma=5), unlabeled(small(gen.iris(178), 60)))
@case("label-spreading-knn", fns=("predict_proba",))
def _(): return fit(semi_supervised.LabelSpreading(kernel="knn", n_neighbors=5), unlabeled(small(gen.iris(179), 60)))
@case("mean-shift")
def _(): return fit(cluster.MeanShift(bandwidth=2.0), unsup(blobs(180)))
@case("affinity-propagation")
def _(): return fit(cluster.AffinityPropagation(random_state=0), unsup(small(blobs(181), 50)))
@case("birch", formats=("pickle",))  # skops cannot save Birch
def _(): return fit(cluster.Birch(n_clusters=3, threshold=0.8), unsup(blobs(182)))
@case("birch-no-global")
def _(): return fit(cluster.Birch(n_clusters=None, threshold=1.5), unsup(blobs(183)))
@case("bisecting-kmeans", formats=("skops",))
def _(): return fit(cluster.BisectingKMeans(n_clusters=4, random_state=0), unsup(blobs(184)))
@case("minibatch-kmeans")
def _(): return fit(cluster.MiniBatchKMeans(n_clusters=3, random_state=0, n_init=3), unsup(blobs(185)))

# -------------------------------------------------------------------------- meta-estimators

@case("bagging-classifier", formats=("skops",), fns=("predict_proba",))
def _(): return fit(ensemble.BaggingClassifier(tree.DecisionTreeClassifier(max_depth=3), n_estimators=4, max_features=0.6, random_state=0), gen.iris(200))
@case("bagging-classifier-logreg", fns=("predict_proba",))
def _(): return fit(ensemble.BaggingClassifier(lm.LogisticRegression(), n_estimators=3, bootstrap_features=True, random_state=0), gen.binary(201))
@case("bagging-classifier-svc")
def _(): return fit(ensemble.BaggingClassifier(svm.LinearSVC(), n_estimators=3, random_state=0), gen.iris(209))
@case("bagging-regressor")
def _(): return fit(ensemble.BaggingRegressor(tree.DecisionTreeRegressor(max_depth=4), n_estimators=4, max_features=3, max_samples=0.5, random_state=0), gen.diabetes(202))
@case("adaboost-classifier", formats=("pickle",), fns=("predict_proba",))
def _(): return fit(ensemble.AdaBoostClassifier(n_estimators=5, random_state=0), gen.iris(203))
@case("adaboost-classifier-binary", fns=("predict_proba",))
def _(): return fit(ensemble.AdaBoostClassifier(tree.DecisionTreeClassifier(max_depth=2), n_estimators=4, random_state=0), gen.binary(204))
@case("adaboost-regressor")
def _(): return fit(ensemble.AdaBoostRegressor(tree.DecisionTreeRegressor(max_depth=2), n_estimators=6, random_state=0), gen.diabetes(205))
@case("voting-classifier-hard", formats=("skops",))
def _(): return fit(ensemble.VotingClassifier([("lr", lm.LogisticRegression()), ("dt", tree.DecisionTreeClassifier(max_depth=2, random_state=0)), ("nb", naive_bayes.GaussianNB())]), gen.iris(206, labels="str"))
@case("voting-classifier-soft", fns=("predict_proba",))
def _(): return fit(ensemble.VotingClassifier([("lr", lm.LogisticRegression()), ("dt", tree.DecisionTreeClassifier(max_depth=2, random_state=0)), ("drop", "drop")], voting="soft", weights=[2, 1, 1]), gen.iris(207))
@case("voting-regressor")
def _(): return fit(ensemble.VotingRegressor([("r", lm.Ridge()), ("dt", tree.DecisionTreeRegressor(max_depth=3, random_state=0))], weights=[1, 3]), gen.diabetes(208))
@case("stacking-classifier", formats=("skops",), fns=("predict_proba",))
def _(): return fit(ensemble.StackingClassifier([("lr", lm.LogisticRegression()), ("svc", svm.LinearSVC(random_state=0))], cv=3), gen.iris(210))
@case("stacking-classifier-passthrough-binary")
def _(): return fit(ensemble.StackingClassifier([("nb", naive_bayes.GaussianNB()), ("dt", tree.DecisionTreeClassifier(max_depth=2, random_state=0))], final_estimator=lm.LogisticRegression(), passthrough=True, cv=3), gen.binary(211))
@case("stacking-regressor", formats=("skops",))
def _(): return fit(ensemble.StackingRegressor([("r", lm.Ridge()), ("dt", tree.DecisionTreeRegressor(max_depth=3, random_state=0))], final_estimator=lm.LinearRegression(), cv=3), gen.diabetes(212))
@case("one-vs-rest", fns=("predict_proba",))
def _(): return fit(multiclass.OneVsRestClassifier(lm.LogisticRegression()), gen.iris(213))
@case("one-vs-rest-svc")
def _(): return fit(multiclass.OneVsRestClassifier(svm.LinearSVC(random_state=0)), gen.iris(214, labels="str"))
@case("one-vs-one")
def _(): return fit(multiclass.OneVsOneClassifier(lm.LogisticRegression()), gen.iris(215))
@case("one-vs-one-svc")
def _(): return fit(multiclass.OneVsOneClassifier(svm.LinearSVC(random_state=0)), gen.multiclass(216))
@case("output-code")
def _(): return fit(multiclass.OutputCodeClassifier(lm.LogisticRegression(), code_size=1.5, random_state=0), gen.iris(217))
@case("calibrated-sigmoid", formats=("skops",), fns=("predict_proba",))
def _(): return fit(calibration.CalibratedClassifierCV(svm.LinearSVC(random_state=0), cv=3), gen.iris(218))
@case("calibrated-isotonic", fns=("predict_proba",))
def _(): return fit(calibration.CalibratedClassifierCV(naive_bayes.GaussianNB(), method="isotonic", cv=3), gen.binary(219))
@case("classifier-chain", fns=("predict_proba",))
def _(): return fit(multioutput.ClassifierChain(lm.LogisticRegression(), order=[2, 0, 1]), multilabel(220))
@case("regressor-chain")
def _(): return fit(multioutput.RegressorChain(lm.Ridge()), multitarget(221, 3))
@case("multioutput-regressor")
def _(): return fit(multioutput.MultiOutputRegressor(lm.Ridge()), multitarget(222))
@case("multioutput-classifier")
def _(): return fit(multioutput.MultiOutputClassifier(tree.DecisionTreeClassifier(max_depth=3, random_state=0)), multilabel(223))
@case("self-training", fns=("predict_proba",))
def _(): return fit(semi_supervised.SelfTrainingClassifier(lm.LogisticRegression(), max_iter=3), unlabeled(gen.iris(224)))
@case("transformed-target-scaler")
def _(): return fit(compose.TransformedTargetRegressor(lm.Ridge(), transformer=preprocessing.StandardScaler()), gen.diabetes(225))
@case("transformed-target-log", formats=("skops",))
def _(): return fit(compose.TransformedTargetRegressor(lm.LinearRegression(), func=np.log, inverse_func=np.exp), positive(226))
@case("fixed-threshold", fns=("predict_proba",))
def _(): return fit(model_selection.FixedThresholdClassifier(lm.LogisticRegression(), threshold=0.3), gen.binary(227))
@case("tuned-threshold", formats=("skops",))
def _(): return fit(model_selection.TunedThresholdClassifierCV(lm.LogisticRegression(), cv=3), gen.binary(228))
@case("grid-search", formats=("skops", "pickle"), fns=("predict_proba",))
def _(): return fit(model_selection.GridSearchCV(lm.LogisticRegression(), {"C": [0.1, 1.0]}, cv=3), gen.iris(229))
@case("randomized-search")
def _(): return fit(model_selection.RandomizedSearchCV(tree.DecisionTreeRegressor(random_state=0), {"max_depth": [2, 3, 4]}, n_iter=2, cv=3, random_state=0), gen.diabetes(230))
@case("halving-grid-search")
def _():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    return fit(model_selection.HalvingGridSearchCV(lm.Ridge(), {"alpha": [0.1, 1.0, 10.0]}, cv=3, random_state=0), gen.diabetes(231))

def save(case_name, model, x_train, req, fmt, fn, made, failed):
    try:
        gen.save(case_name, model, x_train, req, fmt, fn)
        made.append(case_name)
    except Exception as e:  # noqa: BLE001 - report and go on
        shutil.rmtree(HERE / case_name, ignore_errors=True)
        failed.append(f"{case_name}: {type(e).__name__}: {e}")


def main():
    for d in HERE.iterdir():
        if d.is_dir() and (ONLY is None or ONLY in d.name):
            shutil.rmtree(d)
    made, failed = [], []
    for name, build, formats, fns in CASES:
        if ONLY is not None and ONLY not in name:
            continue
        try:
            model, x_train, req = build()
        except Exception as e:  # noqa: BLE001 - report and go on
            failed.append(f"{name}: {e}")
            continue
        for fmt in ("cloudpickle", *formats):
            case_name = name if fmt == "cloudpickle" else f"{name}-{fmt}"
            save(case_name, model, x_train, req, fmt, "predict", made, failed)
        for fn in fns:
            case_name = f"{name}-{fn.replace('_', '-')}"
            save(case_name, model, x_train, req, "cloudpickle", fn, made, failed)
    print(f"{len(made)} cases; failed to build: {failed}")


if __name__ == "__main__":
    main()
