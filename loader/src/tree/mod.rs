//! ironflow's tree-ensemble evaluator, shared by the ONNX tree operators and (later) the
//! scikit-learn, XGBoost and LightGBM flavors: flat node arrays, many rows per tree walk.
