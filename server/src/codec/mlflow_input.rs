//! The MLflow scoring protocol's request forms (`POST /invocations`, docs/compat.md §1.7 and §4.1)
//! turned into the loader's [`NamedTensor`]s.
//!
//! - `application/json`: a dict with exactly one of `dataframe_split`, `dataframe_records`,
//!   `instances`, `inputs` (plus an optional `params`), as MLflow's `infer_and_parse_data` reads it.
//! - `text/csv`: a header row of column names, then one row per record.
//!
//! Columns become one `[N]` tensor each, typed from the signature's column specs (double -> FP64,
//! float -> FP32, long -> INT64, integer -> INT32, boolean -> BOOL, string -> BYTES) or, without
//! a signature, inferred (numbers -> FP64, booleans -> BOOL, anything else -> BYTES). Lists of
//! lists (`instances` / `inputs`) become one `[N, ...]` tensor. The typed parsing itself is the
//! v2 codec's ([`decode_input`]), so both protocols accept and reject the same element values.

use std::borrow::Cow;

use ironflow_loader::mlmodel::{ColType, Schema, TypedSpec};
use ironflow_loader::{DataType, NamedTensor};
use serde_json::{Map, Value};

use super::error::{CodecError, ScoringError};
use super::{decode_input, InputData, RequestInput};

/// The JSON keys that select a request form.
const FORMATS: [&str; 4] = [
    "dataframe_split",
    "inputs",
    "dataframe_records",
    "instances",
];

/// What the body is, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `text/csv`.
    Csv,
}

/// Reads the `Content-Type` header: JSON or CSV, with no charset but UTF-8.
pub fn body_format(content_type: Option<&str>) -> Result<BodyFormat, ScoringError> {
    let raw = content_type.unwrap_or("");
    let mut parts = raw.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match mime.as_str() {
        "application/json" => BodyFormat::Json,
        "text/csv" => BodyFormat::Csv,
        _ => return Err(ScoringError::UnsupportedContentType(raw.to_owned())),
    };
    for param in parts {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"').to_ascii_lowercase();
        if key.trim().eq_ignore_ascii_case("charset") && value != "utf-8" && value != "utf8" {
            return Err(ScoringError::UnsupportedContentType(raw.to_owned()));
        }
    }
    Ok(format)
}

/// Parses a JSON scoring request into input tensors for a model with this input schema.
pub fn parse_json(body: &[u8], schema: Option<&Schema>) -> Result<Vec<NamedTensor>, CodecError> {
    parse_json_with_params(body, schema).map(|(inputs, _)| inputs)
}

/// Parses a JSON scoring request into input tensors and its `params` (empty when absent).
pub fn parse_json_with_params(
    body: &[u8],
    schema: Option<&Schema>,
) -> Result<(Vec<NamedTensor>, Map<String, Value>), CodecError> {
    let body = nonfinite_tokens(body);
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ScoringError::InvalidJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(ScoringError::Format("[]".into()).into());
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(other) => {
            return Err(ScoringError::Input(format!(
                "Parameters must be a dictionary. Got {other}"
            ))
            .into())
        }
    };
    let present: Vec<&str> = FORMATS
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let [key] = present.as_slice() else {
        let listed: Vec<String> = present.iter().map(|k| format!("'{k}'")).collect();
        return Err(ScoringError::Format(format!("[{}]", listed.join(", "))).into());
    };
    let key = *key;
    let payload = obj.remove(key).unwrap_or(Value::Null);
    let columns = match (key, payload) {
        ("dataframe_split", Value::Object(split)) => split_columns(split)?,
        ("dataframe_split", _) => {
            return Err(ScoringError::Input("dataframe_split must be a JSON object".into()).into())
        }
        ("dataframe_records", Value::Array(records)) => record_columns(records)?,
        ("dataframe_records", _) => {
            return Err(ScoringError::Input("dataframe_records must be a JSON list".into()).into())
        }
        (_, Value::Object(dict)) => dict.into_iter().collect(),
        (_, Value::Array(rows)) if rows.iter().all(Value::is_object) && !rows.is_empty() => {
            record_columns(rows)?
        }
        (_, Value::Array(rows)) => {
            // One tensor: the first tensor spec's name, else MLServer's unnamed `input-0`.
            let name = schema
                .and_then(|s| s.specs.first())
                .filter(|s| matches!(s, TypedSpec::Tensor(_)))
                .and_then(TypedSpec::name)
                .unwrap_or("input-0")
                .to_owned();
            vec![(name, Value::Array(rows))]
        }
        (_, other) => {
            return Err(
                ScoringError::Input(format!("{key} must be a list or a dict, got {other}")).into(),
            )
        }
    };
    let inputs = columns
        .into_iter()
        .enumerate()
        .map(|(i, (name, cells))| column_tensor(&name, i, cells, schema))
        .collect::<Result<_, _>>()?;
    Ok((inputs, params))
}

/// MLflow's bare `NaN`, `Infinity` and `-Infinity` tokens (Python's `json` writes them, and
/// MLflow's `serving_input_example.json`, `convert_input_example_to_serving_input` and
/// `ScoringServerClient` send them; its scoring server reads them) as JSON the parser takes:
/// `NaN` as `null` (a float's missing value, NaN), the infinities as the strings the float
/// decoder reads (`"Infinity"`, `"-Infinity"`). Tokens inside strings are left alone; a body
/// without them is not copied.
fn nonfinite_tokens(body: &[u8]) -> Cow<'_, [u8]> {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    if !has(b"NaN") && !has(b"Infinity") {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            match b {
                b'\\' => {
                    if let Some(&next) = body.get(i + 1) {
                        out.push(next);
                        i += 1;
                    }
                }
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        // A token starts where no identifier or number character precedes it.
        let boundary = i == 0 || !body[i - 1].is_ascii_alphanumeric();
        if b == b'"' {
            in_string = true;
            out.push(b);
        } else if boundary && rest.starts_with(b"NaN") {
            out.extend_from_slice(b"null");
            i += 3;
            continue;
        } else if boundary && rest.starts_with(b"-Infinity") {
            out.extend_from_slice(b"\"-Infinity\"");
            i += 9;
            continue;
        } else if boundary && rest.starts_with(b"Infinity") {
            out.extend_from_slice(b"\"Infinity\"");
            i += 8;
            continue;
        } else {
            out.push(b);
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Parses a CSV scoring request (header row = column names) into one tensor per column.
pub fn parse_csv(body: &[u8], schema: Option<&Schema>) -> Result<Vec<NamedTensor>, CodecError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ScoringError::Input(format!("the CSV body is not UTF-8: {e}")))?;
    let mut rows = parse_csv_rows(text)?.into_iter();
    let header = rows
        .next()
        .ok_or_else(|| ScoringError::Input("the CSV body is empty".into()))?;
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for (r, row) in rows.enumerate() {
        if row.len() != header.len() {
            return Err(ScoringError::Input(format!(
                "CSV row {} has {} fields, but the header has {}",
                r + 1,
                row.len(),
                header.len()
            ))
            .into());
        }
        for (column, cell) in cells.iter_mut().zip(row) {
            column.push(cell);
        }
    }
    header
        .into_iter()
        .zip(cells)
        .enumerate()
        .map(|(i, (name, column))| {
            let datatype =
                spec_datatype(schema, &name, i).unwrap_or_else(|| infer_csv_datatype(&column));
            let values = column
                .into_iter()
                .map(|c| csv_cell(c, datatype))
                .collect::<Result<Vec<_>, _>>()?;
            typed_tensor(&name, datatype, Value::Array(values))
        })
        .collect()
}

/// `dataframe_split`: `{"columns": [...], "data": [[...], ...]}` (`index` ignored).
fn split_columns(mut split: Map<String, Value>) -> Result<Vec<(String, Value)>, ScoringError> {
    let rows = match split.remove("data") {
        Some(Value::Array(rows)) => rows,
        _ => {
            return Err(ScoringError::Input(
                "dataframe_split needs \"data\", a list of rows".into(),
            ))
        }
    };
    let names: Vec<String> = match split.remove("columns") {
        Some(Value::Array(cols)) => cols
            .into_iter()
            .map(|c| match c {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        None | Some(Value::Null) => {
            let width = match rows.first() {
                Some(Value::Array(r)) => r.len(),
                _ => 1,
            };
            (0..width).map(|i| i.to_string()).collect()
        }
        Some(_) => {
            return Err(ScoringError::Input(
                "dataframe_split \"columns\" must be a list".into(),
            ))
        }
    };
    let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); names.len()];
    for (r, row) in rows.into_iter().enumerate() {
        let row = match row {
            Value::Array(cells) => cells,
            scalar if names.len() == 1 => vec![scalar],
            _ => {
                return Err(ScoringError::Input(format!(
                    "dataframe_split row {r} is not a list"
                )))
            }
        };
        if row.len() != names.len() {
            return Err(ScoringError::Input(format!(
                "dataframe_split row {r} has {} values, but there are {} columns",
                row.len(),
                names.len()
            )));
        }
        for (column, cell) in columns.iter_mut().zip(row) {
            column.push(cell);
        }
    }
    Ok(names
        .into_iter()
        .zip(columns.into_iter().map(Value::Array))
        .collect())
}

/// `dataframe_records` (or `instances` of dicts): columns in first-seen order; a key a record
/// lacks is missing (`null`) there, as pandas fills it.
fn record_columns(records: Vec<Value>) -> Result<Vec<(String, Value)>, ScoringError> {
    let n = records.len();
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<Value>> = Vec::new();
    for (r, record) in records.into_iter().enumerate() {
        let Value::Object(fields) = record else {
            return Err(ScoringError::Input(format!(
                "record {r} is not a JSON object"
            )));
        };
        for (key, value) in fields {
            let at = match names.iter().position(|k| *k == key) {
                Some(at) => at,
                None => {
                    names.push(key);
                    columns.push(vec![Value::Null; n]);
                    columns.len() - 1
                }
            };
            if let Some(slot) = columns.get_mut(at).and_then(|c| c.get_mut(r)) {
                *slot = value;
            }
        }
    }
    Ok(names
        .into_iter()
        .zip(columns.into_iter().map(Value::Array))
        .collect())
}

/// The datatype the signature gives the column `name` (at position `index` for unnamed specs).
fn spec_datatype(schema: Option<&Schema>, name: &str, index: usize) -> Option<DataType> {
    let schema = schema?;
    let spec = if schema.has_names() {
        schema.specs.iter().find(|s| s.name() == Some(name))?
    } else {
        schema.specs.get(index)?
    };
    Some(match spec {
        TypedSpec::Column(c) => match &c.ty {
            ColType::Scalar(_) => c.ty.datatype(),
            _ => DataType::Bytes,
        },
        TypedSpec::Tensor(t) => t.datatype(),
    })
}

/// One column (or tensor) of JSON cells, typed from the schema or inferred from the values.
fn column_tensor(
    name: &str,
    index: usize,
    cells: Value,
    schema: Option<&Schema>,
) -> Result<NamedTensor, CodecError> {
    let datatype = spec_datatype(schema, name, index).unwrap_or_else(|| infer_datatype(&cells));
    // A single tensor spec fed from a DataFrame gets every column stacked by the binder; a
    // column of scalars stays `[N]`.
    typed_tensor(name, datatype, cells)
}

/// Builds the tensor through the v2 codec, so element parsing and errors are the protocol's.
fn typed_tensor(name: &str, datatype: DataType, cells: Value) -> Result<NamedTensor, CodecError> {
    let mut cells = match cells {
        Value::Array(items) => Value::Array(items),
        scalar => Value::Array(vec![scalar]),
    };
    // A `null` in a string or boolean column is a missing cell (pandas `None`): the tensor holds a
    // placeholder and the input marks it; the model's binder decides whether the column takes it.
    let nulls = match datatype {
        DataType::Bytes => mark_nulls(&mut cells, &Value::String(String::new())),
        DataType::Bool => mark_nulls(&mut cells, &Value::Bool(false)),
        _ => Vec::new(),
    };
    let shape = nested_shape(&cells);
    let data = serde_json::value::to_raw_value(&cells)
        .map_err(|e| ScoringError::Input(format!("column {name:?}: {e}")))?;
    let mut input = RequestInput {
        name: name.to_owned(),
        shape: shape.into(),
        datatype: datatype.as_str().into(),
        parameters: None,
        data: Some(InputData::Raw(data)),
    };
    Ok(decode_input(&mut input)?.with_nulls(nulls))
}

/// Replaces every `null` leaf (row-major) by `placeholder`; returns which leaves were `null`
/// (empty when none was).
fn mark_nulls(cells: &mut Value, placeholder: &Value) -> Vec<bool> {
    fn walk(v: &mut Value, placeholder: &Value, out: &mut Vec<bool>) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, placeholder, out)),
            Value::Null => {
                *v = placeholder.clone();
                out.push(true);
            }
            _ => out.push(false),
        }
    }
    let mut out = Vec::new();
    walk(cells, placeholder, &mut out);
    if out.iter().any(|n| *n) {
        out
    } else {
        Vec::new()
    }
}

/// The shape of nested lists, following the first element at each level (the codec then checks
/// the element count, so ragged lists are rejected).
fn nested_shape(value: &Value) -> Vec<i64> {
    let mut shape = Vec::new();
    let mut at = value;
    while let Value::Array(items) = at {
        shape.push(i64::try_from(items.len()).unwrap_or(i64::MAX));
        match items.first() {
            Some(first) => at = first,
            None => break,
        }
    }
    shape
}

/// Without a signature: numbers (and nulls) are FP64, booleans BOOL, anything else BYTES.
fn infer_datatype(cells: &Value) -> DataType {
    fn leaves<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
            other => out.push(other),
        }
    }
    let mut all = Vec::new();
    leaves(cells, &mut all);
    // `"Infinity"` / `"-Infinity"` stand for MLflow's bare tokens (see `nonfinite_tokens`).
    let number = |v: &Value| {
        v.is_number() || v.is_null() || matches!(v.as_str(), Some("Infinity" | "-Infinity"))
    };
    if all.iter().all(|v| number(v)) {
        DataType::Fp64
    } else if all.iter().all(|v| v.is_boolean()) {
        DataType::Bool
    } else {
        DataType::Bytes
    }
}

/// Without a signature, a CSV column is FP64 when every non-empty cell is a number.
fn infer_csv_datatype(cells: &[String]) -> DataType {
    if cells
        .iter()
        .all(|c| c.trim().is_empty() || c.trim().parse::<f64>().is_ok())
    {
        DataType::Fp64
    } else {
        DataType::Bytes
    }
}

/// One CSV cell as the JSON value the codec parses for `datatype` (empty = missing = `null`).
fn csv_cell(cell: String, datatype: DataType) -> Result<Value, ScoringError> {
    let trimmed = cell.trim();
    Ok(match datatype {
        DataType::Bytes => Value::String(cell),
        DataType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::String(cell),
        },
        _ if trimmed.is_empty() => Value::Null,
        _ => {
            if let Ok(i) = trimmed.parse::<i64>() {
                Value::from(i)
            } else if let Ok(f) = trimmed.parse::<f64>() {
                serde_json::Number::from_f64(f)
                    .map_or_else(|| Value::String(trimmed.to_owned()), Value::Number)
            } else {
                Value::String(cell)
            }
        }
    })
}

/// RFC 4180 CSV: comma-separated, `"` quotes fields (`""` inside is a quote), CRLF or LF rows;
/// blank lines are skipped.
fn parse_csv_rows(text: &str) -> Result<Vec<Vec<String>>, ScoringError> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut touched = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                touched = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                touched = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if touched || !field.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                touched = false;
            }
            other => field.push(other),
        }
    }
    if quoted {
        return Err(ScoringError::Input(
            "the CSV body ends inside a quoted field".into(),
        ));
    }
    if touched || !field.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonfinite_tokens_become_json_outside_strings() {
        let body = br#"{"a": [NaN, -Infinity, Infinity, 1.5], "s": "NaN \" Infinity", "NaNx": 1}"#;
        let out = nonfinite_tokens(body);
        assert_eq!(
            std::str::from_utf8(&out).expect("utf-8"),
            r#"{"a": [null, "-Infinity", "Infinity", 1.5], "s": "NaN \" Infinity", "NaNx": 1}"#
        );
        assert!(matches!(nonfinite_tokens(b"[1, 2]"), Cow::Borrowed(_)));
        let (inputs, _) = parse_json_with_params(
            br#"{"dataframe_split": {"columns": ["a"], "data": [[NaN], [Infinity], [-Infinity]]}}"#,
            None,
        )
        .expect("parse");
        let values = inputs[0]
            .tensor
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f64>())
            .expect("FP64 without a signature");
        assert!(values[0].is_nan());
        assert_eq!(&values[1..], &[f64::INFINITY, f64::NEG_INFINITY]);
    }

    #[test]
    fn content_types() {
        assert_eq!(body_format(Some("application/json")), Ok(BodyFormat::Json));
        assert_eq!(
            body_format(Some("application/json; charset=UTF-8")),
            Ok(BodyFormat::Json)
        );
        assert_eq!(body_format(Some("text/csv")), Ok(BodyFormat::Csv));
        assert!(body_format(Some("text/plain")).is_err());
        assert!(body_format(Some("application/json; charset=latin-1")).is_err());
        assert!(body_format(None).is_err());
    }

    #[test]
    fn csv_rows_with_quotes() {
        let rows = parse_csv_rows("a,b\r\n1,\"x,\"\"y\"\"\"\n\n2,\n").expect("csv");
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["1".to_string(), "x,\"y\"".to_string()],
                vec!["2".to_string(), String::new()],
            ]
        );
        assert!(parse_csv_rows("a\n\"open").is_err());
    }

    #[test]
    fn json_forms_give_the_same_columns() {
        let split = br#"{"dataframe_split":{"columns":["a","b"],"data":[[1,"x"],[2,"y"]]}}"#;
        let records = br#"{"dataframe_records":[{"a":1,"b":"x"},{"a":2,"b":"y"}]}"#;
        let inputs = br#"{"inputs":{"a":[1,2],"b":["x","y"]}}"#;
        for body in [&split[..], &records[..], &inputs[..]] {
            let t = parse_json(body, None).expect("parse");
            assert_eq!(t.len(), 2);
            assert_eq!(t[0].name, "a");
            assert_eq!(t[0].tensor.shape(), &[2]);
            assert_eq!(t[1].tensor.shape(), &[2]);
        }
        let lists = parse_json(br#"{"instances":[[1,2,3],[4,5,6]]}"#, None).expect("lists");
        assert_eq!(lists[0].name, "input-0");
        assert_eq!(lists[0].tensor.shape(), &[2, 3]);
    }

    #[test]
    fn json_format_errors() {
        for body in [
            &br#"{"foo":1}"#[..],
            br#"[1,2]"#,
            br#"{"inputs":[1],"instances":[1]}"#,
        ] {
            let err = parse_json(body, None).expect_err("format");
            assert!(err.to_string().contains("exactly one of"), "{err}");
        }
        assert!(parse_json(b"{", None)
            .expect_err("json")
            .to_string()
            .starts_with("Invalid input."));
    }
}
