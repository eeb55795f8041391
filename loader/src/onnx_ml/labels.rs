//! Class labels of the ai.onnx.ml classifiers: `classlabels_ints` or `classlabels_strings`
//! (`classlabels_int64s` for ZipMap and the tree ensembles), and label tensors built from the
//! winning class of each row.

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// The labels a classifier outputs, in class order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClassLabels {
    /// `classlabels_ints` / `classlabels_int64s`: an INT64 label output.
    Ints(Vec<i64>),
    /// `classlabels_strings`: a STRING label output.
    Strings(Vec<String>),
}

impl ClassLabels {
    /// Reads the labels from `ints_attr` or `classlabels_strings`. Exactly one must be non-empty.
    pub fn parse(node: &NodeProto, ints_attr: &str) -> TractResult<Self> {
        let ints: Vec<i64> = node.get_attr_opt_vec(ints_attr)?.unwrap_or_default();
        let strings: Vec<String> = node
            .get_attr_opt_vec("classlabels_strings")?
            .unwrap_or_default();
        match (ints.is_empty(), strings.is_empty()) {
            (false, true) => Ok(ClassLabels::Ints(ints)),
            (true, false) => Ok(ClassLabels::Strings(strings)),
            (true, true) => bail!("{} needs {ints_attr} or classlabels_strings", node.op_type),
            (false, false) => {
                bail!(
                    "{} has both {ints_attr} and classlabels_strings",
                    node.op_type
                )
            }
        }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        match self {
            ClassLabels::Ints(v) => v.len(),
            ClassLabels::Strings(v) => v.len(),
        }
    }

    /// The datum type of the label output.
    pub fn datum_type(&self) -> DatumType {
        match self {
            ClassLabels::Ints(_) => DatumType::I64,
            ClassLabels::Strings(_) => DatumType::String,
        }
    }

    /// A 1-D label tensor holding the label of class `classes[i]` for each row `i`.
    pub fn pick(&self, classes: &[usize]) -> TractResult<Tensor> {
        fn pick_t<T: Datum>(labels: &[T], classes: &[usize]) -> TractResult<Tensor> {
            let picked = classes
                .iter()
                .map(|&c| match labels.get(c) {
                    Some(label) => Ok(label.clone()),
                    None => bail!("class index {c} has no label ({} labels)", labels.len()),
                })
                .collect::<TractResult<Vec<T>>>()?;
            Ok(tensor1(&picked))
        }
        match self {
            ClassLabels::Ints(v) => pick_t(v, classes),
            ClassLabels::Strings(v) => pick_t(v, classes),
        }
    }
}

/// Index of the first highest value (`std::max_element`), the winning class of a row of
/// scores or votes. 0 for an empty row.
pub fn first_max<T: PartialOrd>(row: &[T]) -> usize {
    let mut best = 0;
    for (ix, v) in row.iter().enumerate().skip(1) {
        if *v > row[best] {
            best = ix;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_labels_by_class() -> TractResult<()> {
        let labels = ClassLabels::Strings(vec!["a".into(), "b".into()]);
        let t = labels.pick(&[1, 0, 1])?;
        assert_eq!(
            t.to_plain_array_view::<String>()?.as_slice(),
            Some(&["b".to_string(), "a".into(), "b".into()][..])
        );
        assert!(labels.pick(&[2]).is_err());
        Ok(())
    }

    #[test]
    fn first_max_keeps_the_first_of_ties() {
        assert_eq!(first_max(&[1.0f32, 3.0, 3.0]), 1);
        assert_eq!(first_max(&[2usize, 2, 1]), 0);
        assert_eq!(first_max::<f32>(&[]), 0);
    }
}
