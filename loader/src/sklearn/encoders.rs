//! Categorical encoders (docs/formats.md §2g): OneHotEncoder (string or numeric `categories_`,
//! `handle_unknown` error / ignore / infrequent_if_exist / warn, `drop`, infrequent grouping)
//! and OrdinalEncoder (`use_encoded_value`, `encoded_missing_value`), following
//! `sklearn/preprocessing/_encoders.py` (`_transform`, `_map_infrequent_categories`).

use std::collections::HashMap;

use crate::error::PredictError;
use crate::pyobj::{Instance, Obj, PyObj};

use super::obj::{self, Scalar};
use super::table::{Column, Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers OneHotEncoder and OrdinalEncoder.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.preprocessing._encoders.OneHotEncoder", one_hot);
    reg.insert("sklearn.preprocessing._encoders.OrdinalEncoder", ordinal);
}

/// The fitted categories of one feature.
#[derive(Debug, Default)]
pub(super) struct Categories {
    strings: HashMap<String, usize>,
    numbers: Vec<(f64, usize)>,
    /// The index of the missing-value category (None / NaN), if fitted.
    missing: Option<usize>,
    len: usize,
}

impl Categories {
    pub(super) fn read(obj: &PyObj) -> Option<Self> {
        let mut cats = Self::default();
        for (i, s) in obj::scalars(obj)?.into_iter().enumerate() {
            match s {
                Scalar::Str(s) => {
                    cats.strings.entry(s).or_insert(i);
                }
                Scalar::None => cats.missing = Some(i),
                Scalar::Float(f) if f.is_nan() => cats.missing = Some(i),
                other => cats.numbers.push((other.as_f64()?, i)),
            }
            cats.len = i + 1;
        }
        Some(cats)
    }

    /// The category index of row `r` of a column.
    pub(super) fn lookup(&self, column: &Column, r: usize) -> Option<usize> {
        match column {
            Column::Num(v) => {
                let x = *v.get(r)?;
                if x.is_nan() {
                    return self.missing;
                }
                self.numbers.iter().find(|(c, _)| *c == x).map(|(_, i)| *i)
            }
            Column::Str(v) => match v.get(r)? {
                Some(s) => self.strings.get(s).copied(),
                None => self.missing,
            },
        }
    }
}

/// Reads a per-feature list attribute whose entries are `None` or integer arrays.
fn per_feature_indices(
    inst: &Instance,
    name: &str,
    n: usize,
    ctx: &Ctx<'_>,
) -> Result<Vec<Option<Vec<usize>>>, CompileError> {
    let Some(o) = obj::opt_attr(inst, name) else {
        return Ok(vec![None; n]);
    };
    let items: Vec<&Obj> = match obj::items(o) {
        Some(items) => items.iter().collect(),
        None => return Err(ctx.invalid(format!("{name} is not a list"))),
    };
    items
        .into_iter()
        .map(|item| match item.as_ref() {
            PyObj::None => Ok(None),
            other => obj::numbers(other)
                .map(|v| Some(v.into_iter().map(|x| x as usize).collect()))
                .ok_or_else(|| ctx.invalid(format!("{name} holds a non-integer entry"))),
        })
        .collect()
}

/// The fitted state shared by both encoders.
struct Encoding {
    categories: Vec<Categories>,
    infrequent: Vec<Option<Vec<usize>>>,
    mappings: Vec<Option<Vec<usize>>>,
    handle_unknown: String,
}

impl Encoding {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let cats = obj::attr(inst, "categories_", ctx)?;
        let categories = obj::items(cats)
            .ok_or_else(|| ctx.invalid("categories_ is not a list"))?
            .iter()
            .map(|c| Categories::read(c))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ctx.invalid("categories_ holds unsupported values"))?;
        let n = categories.len();
        let enabled = obj::bool_or(inst, "_infrequent_enabled", false);
        let (infrequent, mappings) = if enabled {
            (
                per_feature_indices(inst, "_infrequent_indices", n, ctx)?,
                per_feature_indices(inst, "_default_to_infrequent_mappings", n, ctx)?,
            )
        } else {
            (vec![None; n], vec![None; n])
        };
        Ok(Self {
            categories,
            infrequent,
            mappings,
            handle_unknown: obj::opt_str(inst, "handle_unknown")
                .unwrap_or("error")
                .to_owned(),
        })
    }

    /// `_transform` + `_map_infrequent_categories` for one cell: `(index, known)`.
    /// `name` is the column's input name, for the error on an unknown category.
    fn encode(
        &self,
        f: usize,
        (name, column): (&str, &Column),
        r: usize,
        ignore_missing: bool,
    ) -> Result<(usize, bool), PredictError> {
        let cats = self.categories.get(f).ok_or_else(|| {
            PredictError::Runtime(format!("feature {f} has no fitted categories"))
        })?;
        let (mut idx, mut known) = match cats.lookup(column, r) {
            Some(i) => (i, true),
            None if self.handle_unknown == "error" => {
                // The client's value, not the model's fault: sklearn raises ValueError.
                let value = match column {
                    Column::Num(v) => v.get(r).map(|x| x.to_string()),
                    Column::Str(v) => v
                        .get(r)
                        .map(|x| x.as_deref().map_or("None".to_owned(), |s| format!("{s:?}"))),
                }
                .unwrap_or_default();
                return Err(PredictError::InvalidValue {
                    name: name.to_owned(),
                    message: format!(
                        "unknown category {value} in row {r} (the encoder was fitted with \
                         handle_unknown='error')"
                    ),
                });
            }
            None => (0, false),
        };
        if let Some(Some(inf)) = self.infrequent.get(f) {
            if !known {
                idx = inf.first().copied().unwrap_or(0);
                if matches!(self.handle_unknown.as_str(), "infrequent_if_exist" | "warn") {
                    known = true;
                }
            }
        }
        if let Some(Some(map)) = self.mappings.get(f) {
            let skip = ignore_missing && cats.missing == Some(idx);
            if !skip {
                idx = *map.get(idx).ok_or_else(|| {
                    PredictError::Runtime(format!("infrequent mapping of column {f} is short"))
                })?;
            }
        }
        Ok((idx, known))
    }

    /// The input's columns with their names (`feature {f}` for a matrix column).
    fn columns(&self, x: Data) -> Result<(usize, Vec<(String, Column)>), PredictError> {
        let rows = x.rows();
        if x.cols() != self.categories.len() {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![rows, x.cols()],
                expected: vec![-1, self.categories.len() as i64],
            });
        }
        let names: Vec<String> = match &x {
            Data::Table(t) => t.columns().iter().map(|(n, _)| n.clone()).collect(),
            _ => (0..x.cols()).map(|f| format!("feature {f}")).collect(),
        };
        Ok((rows, names.into_iter().zip(x.into_columns()?).collect()))
    }
}

struct OneHot {
    enc: Encoding,
    /// Per feature: the encoded index dropped, if any.
    drop: Vec<Option<usize>>,
    /// Per feature: its number of output columns.
    outs: Vec<usize>,
}

fn one_hot(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let enc = Encoding::read(inst, ctx)?;
    let n = enc.categories.len();
    let drop_attr = if inst.attr("_drop_idx_after_grouping").is_some() {
        "_drop_idx_after_grouping"
    } else {
        "drop_idx_"
    };
    let drop: Vec<Option<usize>> = match obj::opt_attr(inst, drop_attr) {
        None => vec![None; n],
        Some(o) => obj::scalars(o)
            .ok_or_else(|| ctx.invalid(format!("{drop_attr} is not an array")))?
            .iter()
            .map(|s| s.as_f64().map(|v| v as usize))
            .collect(),
    };
    let outs: Vec<usize> =
        match obj::opt_attr(inst, "_n_features_outs").and_then(|o| obj::numbers(o)) {
            Some(v) => v.into_iter().map(|x| x as usize).collect(),
            None => enc
                .categories
                .iter()
                .zip(&drop)
                .map(|(c, d)| c.len.saturating_sub(usize::from(d.is_some())))
                .collect(),
        };
    let outs_fit = outs.iter().zip(&enc.categories).all(|(o, c)| *o <= c.len);
    if drop.len() != n || outs.len() != n || !outs_fit {
        return Err(ctx.invalid("per-feature attributes disagree on the number of features"));
    }
    Ok(Compiled::Transformer(Box::new(OneHot { enc, drop, outs })))
}

impl Transformer for OneHot {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let (rows, columns) = self.enc.columns(x)?;
        let width: usize = self.outs.iter().sum();
        let mut out = Matrix::zeros(rows, width);
        for (r, row) in out.row_iter_mut().enumerate() {
            let mut offset = 0;
            for (f, (name, column)) in columns.iter().enumerate() {
                let (mut idx, mut known) = self.enc.encode(f, (name, column), r, false)?;
                if let Some(Some(d)) = self.drop.get(f) {
                    if idx == *d {
                        known = false;
                    } else if idx > *d {
                        idx -= 1;
                    }
                }
                let n_out = self.outs.get(f).copied().unwrap_or(0);
                if known && idx < n_out {
                    if let Some(cell) = row.get_mut(offset + idx) {
                        *cell = 1.0;
                    }
                }
                offset += n_out;
            }
        }
        Ok(out)
    }
}

struct Ordinal {
    enc: Encoding,
    unknown_value: Option<f64>,
    encoded_missing_value: f64,
}

fn ordinal(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let enc = Encoding::read(inst, ctx)?;
    let unknown_value = if enc.handle_unknown == "use_encoded_value" {
        Some(obj::opt_f64(inst, "unknown_value").unwrap_or(f64::NAN))
    } else {
        None
    };
    Ok(Compiled::Transformer(Box::new(Ordinal {
        enc,
        unknown_value,
        encoded_missing_value: obj::opt_f64(inst, "encoded_missing_value").unwrap_or(f64::NAN),
    })))
}

impl Transformer for Ordinal {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let (rows, columns) = self.enc.columns(x)?;
        let n = columns.len();
        let mut out = Matrix::zeros(rows, n);
        for (r, row) in out.row_iter_mut().enumerate() {
            for (f, ((name, column), cell)) in columns.iter().zip(row.iter_mut()).enumerate() {
                let (idx, known) = self.enc.encode(f, (name, column), r, true)?;
                let missing = self
                    .enc
                    .categories
                    .get(f)
                    .and_then(|c| c.missing)
                    .is_some_and(|m| m == idx);
                *cell = if !known {
                    self.unknown_value.unwrap_or(f64::NAN)
                } else if missing {
                    self.encoded_missing_value
                } else {
                    idx as f64
                };
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sklearn::{Method, Table};

    #[test]
    fn unknown_category_in_a_fitted_pipeline_is_invalid_value() {
        // OneHotEncoder(handle_unknown='error') on "size" inside a ColumnTransformer (generate.py).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/sklearn/fixtures/onehot_error_passthrough.pkl"
        );
        let root = crate::pickle::read_pickle(&std::fs::read(path).unwrap()).unwrap();
        let Ok(Compiled::Estimator(est)) = super::super::Registry::with_builtins().compile(&root)
        else {
            panic!("not an estimator");
        };
        let mut t = Table::new(2);
        t.push(
            "size",
            Column::Str(vec![Some("m".into()), Some("xl".into())]),
        )
        .unwrap();
        t.push("age", Column::Num(vec![30.0, 40.0])).unwrap();
        t.push("rooms", Column::Num(vec![1.0, 2.0])).unwrap();
        match est.run(Method::Predict, Data::Table(t)) {
            Err(PredictError::InvalidValue { name, message }) => {
                assert_eq!(name, "size");
                assert!(message.contains("\"xl\" in row 1"), "{message}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("predicted an unknown category"),
        }
    }

    #[test]
    fn one_hot_ignores_unknown_and_drops() {
        let mut cats = Categories::default();
        cats.strings.insert("a".into(), 0);
        cats.strings.insert("b".into(), 1);
        cats.len = 2;
        let enc = Encoding {
            categories: vec![cats],
            infrequent: vec![None],
            mappings: vec![None],
            handle_unknown: "ignore".into(),
        };
        let oh = OneHot {
            enc,
            drop: vec![Some(0)],
            outs: vec![1],
        };
        let mut t = super::super::table::Table::new(3);
        t.push(
            "c",
            Column::Str(vec![Some("a".into()), Some("b".into()), Some("z".into())]),
        )
        .unwrap();
        let y = oh.transform(Data::Table(t.clone())).unwrap();
        assert_eq!(y.data(), &[0.0, 1.0, 0.0]);

        // handle_unknown='error': the unknown value is the client's bad input.
        let strict = OneHot {
            enc: Encoding {
                handle_unknown: "error".into(),
                ..oh.enc
            },
            drop: oh.drop,
            outs: oh.outs,
        };
        let err = strict.transform(Data::Table(t)).unwrap_err();
        assert_eq!(
            err,
            PredictError::InvalidValue {
                name: "c".into(),
                message: "unknown category \"z\" in row 2 (the encoder was fitted with \
                          handle_unknown='error')"
                    .into(),
            }
        );
    }
}
