//! The example v2 inference request a model's docs page offers: built from the model's MLflow
//! `input_example.json` when it was logged with one (the dict-of-tensors, pandas `split` /
//! `records` or bare-array forms MLflow writes), else from its metadata (one row of zeros,
//! empty strings or `false` per input).

use serde_json::{json, Map, Value};

use crate::metadata::{MetadataTensor, ModelMetadata};

/// The example request for `metadata`, from `input_example` (the parsed `input_example.json`)
/// when it can be read as one, else from the metadata alone.
pub fn example_request(metadata: &ModelMetadata, input_example: Option<&Value>) -> Value {
    let inputs = input_example
        .and_then(|e| from_input_example(metadata, e))
        .unwrap_or_else(|| metadata.inputs.iter().map(from_spec).collect());
    json!({ "inputs": inputs })
}

/// One row of placeholder values for an input spec (`-1` dimensions become 1).
fn from_spec(spec: &MetadataTensor) -> Value {
    let shape: Vec<i64> = if spec.shape.is_empty() {
        vec![1]
    } else {
        spec.shape
            .iter()
            .map(|&d| if d < 1 { 1 } else { d })
            .collect()
    };
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
        .filter(|&n| n <= 4096)
        .unwrap_or(1);
    let value = match spec.datatype {
        "BYTES" => json!(""),
        "BOOL" => json!(false),
        t if t.starts_with("FP") => json!(0.0),
        _ => json!(0),
    };
    let shape = if count == 1 && shape.iter().product::<i64>() != 1 {
        vec![1]
    } else {
        shape
    };
    tensor(&spec.name, spec.datatype, shape, vec![value; count])
}

fn tensor(name: &str, datatype: &str, shape: Vec<i64>, data: Vec<Value>) -> Value {
    json!({"name": name, "datatype": datatype, "shape": shape, "data": data})
}

/// Reads MLflow's `input_example.json` forms: `{"columns": [...], "data": [[...]]}` (pandas
/// split), `[{"col": v, ...}, ...]` (records), `{"name": array, ...}` (dict of tensors) and a
/// bare (nested) array (one tensor). `None` when it is none of these.
fn from_input_example(metadata: &ModelMetadata, example: &Value) -> Option<Vec<Value>> {
    let datatype_of = |name: &str, values: &[&Value]| {
        metadata
            .inputs
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.datatype.to_owned())
            .unwrap_or_else(|| guess_datatype(values))
    };
    match example {
        Value::Object(object) if object.contains_key("columns") && object.contains_key("data") => {
            let columns = object.get("columns")?.as_array()?;
            let rows = object.get("data")?.as_array()?;
            let mut inputs = Vec::new();
            for (i, column) in columns.iter().enumerate() {
                let name = column.as_str()?;
                let values: Vec<&Value> = rows
                    .iter()
                    .map(|row| row.as_array().and_then(|r| r.get(i)))
                    .collect::<Option<_>>()?;
                inputs.push(column_tensor(name, &datatype_of(name, &values), &values));
            }
            Some(inputs)
        }
        Value::Array(rows) if rows.first().is_some_and(Value::is_object) => {
            let first: &Map<String, Value> = rows.first()?.as_object()?;
            let mut inputs = Vec::new();
            for name in first.keys() {
                let values: Vec<&Value> = rows
                    .iter()
                    .map(|row| row.as_object().and_then(|r| r.get(name)))
                    .collect::<Option<_>>()?;
                inputs.push(column_tensor(name, &datatype_of(name, &values), &values));
            }
            Some(inputs)
        }
        Value::Object(object) => object
            .iter()
            .map(|(name, value)| array_tensor(name, value, &datatype_of))
            .collect(),
        Value::Array(_) => {
            let name = metadata
                .inputs
                .first()
                .map_or("input-0", |i| i.name.as_str());
            Some(vec![array_tensor(name, example, &datatype_of)?])
        }
        _ => None,
    }
}

/// A pandas column as the `[n, 1]` tensor MLServer's MLflow metadata advertises.
fn column_tensor(name: &str, datatype: &str, values: &[&Value]) -> Value {
    let data = values.iter().map(|v| (*v).clone()).collect();
    tensor(name, datatype, vec![values.len() as i64, 1], data)
}

/// A (nested) array as a tensor: its shape from the nesting, its data flattened.
fn array_tensor(
    name: &str,
    value: &Value,
    datatype_of: &dyn Fn(&str, &[&Value]) -> String,
) -> Option<Value> {
    let mut shape = Vec::new();
    let mut level = value;
    while let Value::Array(items) = level {
        shape.push(items.len() as i64);
        level = items.first()?;
    }
    let mut flat = Vec::new();
    flatten(value, &mut flat);
    if shape.is_empty() {
        shape.push(1);
    }
    if shape.iter().product::<i64>() != flat.len() as i64 {
        return None;
    }
    let datatype = datatype_of(name, &flat);
    let data = flat.into_iter().cloned().collect();
    Some(tensor(name, &datatype, shape, data))
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

/// The v2 datatype JSON values suggest (for inputs the metadata does not describe).
fn guess_datatype(values: &[&Value]) -> String {
    let datatype = if values.iter().all(|v| v.is_boolean()) {
        "BOOL"
    } else if values.iter().all(|v| v.is_i64() || v.is_u64()) {
        "INT64"
    } else if values.iter().all(|v| v.is_number() || v.is_null()) {
        "FP64"
    } else {
        "BYTES"
    };
    datatype.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Parameters;

    fn metadata(inputs: &[(&str, &'static str, &[i64])]) -> ModelMetadata {
        ModelMetadata {
            name: "m".into(),
            versions: vec![],
            platform: String::new(),
            inputs: inputs
                .iter()
                .map(|(n, t, s)| MetadataTensor {
                    name: (*n).into(),
                    datatype: t,
                    shape: s.to_vec(),
                    parameters: Parameters::new(),
                })
                .collect(),
            outputs: vec![],
            parameters: Parameters::new(),
        }
    }

    #[test]
    fn a_dict_of_tensors_keeps_its_shape_and_the_metadata_datatype() {
        let m = metadata(&[("float_input", "FP32", &[-1, 4])]);
        let example = json!({"float_input": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]});
        let request = example_request(&m, Some(&example));
        assert_eq!(
            request["inputs"][0],
            json!({"name": "float_input", "datatype": "FP32", "shape": [2, 4],
                   "data": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
        );
    }

    #[test]
    fn pandas_split_becomes_one_column_tensor_per_column() {
        let m = metadata(&[("a", "FP64", &[-1, 1]), ("b", "BYTES", &[-1, 1])]);
        let example = json!({"columns": ["a", "b"], "data": [[1.5, "x"], [2, "y"]]});
        let request = example_request(&m, Some(&example));
        assert_eq!(
            request["inputs"],
            json!([
                {"name": "a", "datatype": "FP64", "shape": [2, 1], "data": [1.5, 2]},
                {"name": "b", "datatype": "BYTES", "shape": [2, 1], "data": ["x", "y"]}
            ])
        );
    }

    #[test]
    fn records_and_unreadable_examples() {
        let m = metadata(&[("a", "INT64", &[-1, 1])]);
        let request = example_request(&m, Some(&json!([{"a": 1}, {"a": 2}])));
        assert_eq!(request["inputs"][0]["shape"], json!([2, 1]));
        // Ragged: falls back to the metadata.
        let request = example_request(&m, Some(&json!([[1, 2], [3]])));
        assert_eq!(
            request["inputs"],
            json!([{"name": "a", "datatype": "INT64", "shape": [1, 1], "data": [0]}])
        );
    }

    #[test]
    fn from_the_metadata_alone() {
        let m = metadata(&[("x", "FP32", &[-1, 3]), ("flag", "BOOL", &[-1])]);
        let request = example_request(&m, None);
        assert_eq!(
            request["inputs"],
            json!([
                {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [0.0, 0.0, 0.0]},
                {"name": "flag", "datatype": "BOOL", "shape": [1], "data": [false]}
            ])
        );
    }
}
