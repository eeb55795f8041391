//! SimpleImputer on numeric data (docs/formats.md §2g): missing cells (NaN or the fitted
//! `missing_values`) take `statistics_`; columns whose statistic is NaN are dropped unless
//! `strategy='constant'` or `keep_empty_features`; `add_indicator` appends the
//! MissingIndicator's 0/1 columns for its `features_`. With text `statistics_` (strategy
//! `most_frequent` / `constant` on string columns) the output keeps text columns, for the
//! encoder that follows in the Pipeline.

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj::{self, Scalar};
use super::table::{Column, Data, Matrix, Table};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers SimpleImputer.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.impute._base.SimpleImputer", simple_imputer);
}

/// What counts as missing.
#[derive(Debug, Clone, Copy)]
enum Missing {
    Nan,
    Value(f64),
}

impl Missing {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        match inst.attr("missing_values").map(|o| o.as_ref()) {
            None | Some(PyObj::None) => Ok(Self::Nan),
            Some(o) => match obj::numbers(o).as_deref() {
                Some([v]) if v.is_nan() => Ok(Self::Nan),
                Some([v]) => Ok(Self::Value(*v)),
                _ => Err(ctx.invalid("only numeric missing_values are supported")),
            },
        }
    }

    fn is(self, v: f64) -> bool {
        match self {
            Self::Nan => v.is_nan(),
            Self::Value(m) => v == m,
        }
    }
}

struct SimpleImputer {
    n: usize,
    missing: Missing,
    /// `(input column, fill value)` for each output column.
    keep: Vec<(usize, f64)>,
    /// Input columns reported by the missing indicator.
    indicator: Vec<usize>,
}

fn simple_imputer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let Ok(stats) = obj::f64_vec(inst, "statistics_", ctx) else {
        return text_imputer(inst, ctx);
    };
    let missing = Missing::read(inst, ctx)?;
    let keep_all = obj::opt_str(inst, "strategy") == Some("constant")
        || obj::bool_or(inst, "keep_empty_features", false);
    let keep = stats
        .iter()
        .enumerate()
        .filter(|(_, s)| keep_all || !s.is_nan())
        .map(|(i, s)| (i, *s))
        .collect();
    let mut indicator = Vec::new();
    if obj::bool_or(inst, "add_indicator", false) {
        let ind = obj::attr(inst, "indicator_", ctx)?;
        let ind = obj::instance(ind).ok_or_else(|| ctx.invalid("indicator_ is not an object"))?;
        for f in obj::f64_vec(ind, "features_", ctx)? {
            if f < 0.0 || f as usize >= stats.len() {
                return Err(ctx.invalid(format!("indicator feature {f} is out of range")));
            }
            indicator.push(f as usize);
        }
    }
    Ok(Compiled::Transformer(Box::new(SimpleImputer {
        n: stats.len(),
        missing,
        keep,
        indicator,
    })))
}

impl Transformer for SimpleImputer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        let x = x.into_matrix()?;
        x.expect_cols(self.n)?;
        let cols = self.keep.len() + self.indicator.len();
        let mut out = Vec::with_capacity(x.rows() * cols);
        for row in x.row_iter() {
            for &(c, fill) in &self.keep {
                let v = row.get(c).copied().unwrap_or(f64::NAN);
                out.push(if self.missing.is(v) { fill } else { v });
            }
            for &c in &self.indicator {
                let v = row.get(c).copied().unwrap_or(f64::NAN);
                out.push(if self.missing.is(v) { 1.0 } else { 0.0 });
            }
        }
        Matrix::new(x.rows(), cols, out)
    }
}

/// A fill value of a text imputer.
#[derive(Debug, Clone)]
enum Fill {
    Text(String),
    Number(f64),
}

/// What counts as missing in object data. With `missing_values=np.nan` sklearn's mask is
/// `X != X`, true for NaN but not for `None`; `missing_values=None` matches `None` only.
#[derive(Debug, Clone)]
enum TextMissing {
    Nan,
    PyNone,
    Value(String),
}

/// SimpleImputer fitted on object data: fills text (and numeric) columns, keeping text.
struct TextImputer {
    /// `(input column, fill)` for each output column.
    keep: Vec<(usize, Fill)>,
    indicator: Vec<usize>,
    missing: TextMissing,
    n: usize,
}

fn text_imputer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let stats = obj::scalars(obj::attr(inst, "statistics_", ctx)?)
        .ok_or_else(|| ctx.invalid("statistics_ holds unsupported values"))?;
    let missing = match inst.attr("missing_values").map(|o| o.as_ref()) {
        None => TextMissing::Nan,
        Some(PyObj::None) => TextMissing::PyNone,
        Some(PyObj::Str(s)) => TextMissing::Value(s.clone()),
        Some(o) if o.as_f64().is_some_and(f64::is_nan) => TextMissing::Nan,
        Some(_) => return Err(ctx.invalid("unsupported missing_values for text data")),
    };
    let keep_all = obj::opt_str(inst, "strategy") == Some("constant")
        || obj::bool_or(inst, "keep_empty_features", false);
    let mut keep = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        let fill = match s {
            Scalar::Str(s) => Fill::Text(s.clone()),
            Scalar::None => Fill::Number(f64::NAN),
            other => Fill::Number(other.as_f64().unwrap_or(f64::NAN)),
        };
        let empty = matches!(fill, Fill::Number(v) if v.is_nan());
        if keep_all || !empty {
            keep.push((i, fill));
        }
    }
    let mut indicator = Vec::new();
    if obj::bool_or(inst, "add_indicator", false) {
        let ind = obj::attr(inst, "indicator_", ctx)?;
        let ind = obj::instance(ind).ok_or_else(|| ctx.invalid("indicator_ is not an object"))?;
        for f in obj::f64_vec(ind, "features_", ctx)? {
            if f < 0.0 || f as usize >= stats.len() {
                return Err(ctx.invalid(format!("indicator feature {f} is out of range")));
            }
            indicator.push(f as usize);
        }
    }
    Ok(Compiled::Transformer(Box::new(TextImputer {
        keep,
        indicator,
        missing,
        n: stats.len(),
    })))
}

impl TextImputer {
    fn is_missing(&self, column: &Column, r: usize) -> bool {
        match (column, &self.missing) {
            (Column::Num(v), TextMissing::Nan) => v.get(r).is_some_and(|x| x.is_nan()),
            (Column::Str(v), TextMissing::PyNone) => matches!(v.get(r), Some(None)),
            (Column::Str(v), TextMissing::Value(m)) => {
                matches!(v.get(r), Some(Some(s)) if s == m)
            }
            (Column::Str(_), TextMissing::Nan)
            | (Column::Num(_), TextMissing::PyNone | TextMissing::Value(_)) => false,
        }
    }
}

impl Transformer for TextImputer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let rows = x.rows();
        if x.cols() != self.n {
            return Err(PredictError::Shape {
                name: "X".to_owned(),
                got: vec![rows, x.cols()],
                expected: vec![-1, self.n as i64],
            });
        }
        let names: Vec<String> = match &x {
            Data::Table(t) => t.columns().iter().map(|(n, _)| n.clone()).collect(),
            _ => (0..self.n).map(|i| format!("x{i}")).collect(),
        };
        let columns = x.into_columns()?;
        let mut out = Table::new(rows);
        for (c, fill) in &self.keep {
            let (Some(column), Some(name)) = (columns.get(*c), names.get(*c)) else {
                continue;
            };
            let filled = match (column, fill) {
                (Column::Str(v), fill) => Column::Str(
                    (0..rows)
                        .map(|r| match (self.is_missing(column, r), fill) {
                            (true, Fill::Text(s)) => Some(s.clone()),
                            (true, Fill::Number(n)) => Some(n.to_string()),
                            (false, _) => v.get(r).cloned().flatten(),
                        })
                        .collect(),
                ),
                (Column::Num(v), Fill::Number(n)) => Column::Num(
                    (0..rows)
                        .map(|r| match self.is_missing(column, r) {
                            true => *n,
                            false => v.get(r).copied().unwrap_or(f64::NAN),
                        })
                        .collect(),
                ),
                (Column::Num(v), Fill::Text(s)) => Column::Str(
                    (0..rows)
                        .map(|r| match self.is_missing(column, r) {
                            true => Some(s.clone()),
                            false => v.get(r).map(|x| x.to_string()),
                        })
                        .collect(),
                ),
            };
            out.push(name.clone(), filled)?;
        }
        for c in &self.indicator {
            let Some(column) = columns.get(*c) else {
                continue;
            };
            let flags = (0..rows)
                .map(|r| f64::from(u8::from(self.is_missing(column, r))))
                .collect();
            out.push(format!("missingindicator_{c}"), Column::Num(flags))?;
        }
        Ok(Data::Table(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_drops_and_indicates() {
        let imp = SimpleImputer {
            n: 3,
            missing: Missing::Nan,
            keep: vec![(0, 5.0), (2, 7.0)],
            indicator: vec![0],
        };
        let x = Matrix::new(1, 3, vec![f64::NAN, 1.0, 2.0]).unwrap();
        let y = imp.transform(Data::Matrix(x)).unwrap();
        assert_eq!(y.data(), &[5.0, 2.0, 1.0]);
    }
}
