//! The v2 / Open Inference Protocol tensor datatypes, and their mapping to tract's datum types
//! and to MLflow's signature types.

use std::fmt;
use std::str::FromStr;

use tract_onnx::prelude::DatumType;

/// A v2 tensor datatype (`"FP32"`, `"INT64"`, `"BYTES"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `BOOL`, one byte per element.
    Bool,
    /// `UINT8`.
    Uint8,
    /// `UINT16`.
    Uint16,
    /// `UINT32`.
    Uint32,
    /// `UINT64`.
    Uint64,
    /// `INT8`.
    Int8,
    /// `INT16`.
    Int16,
    /// `INT32`.
    Int32,
    /// `INT64`.
    Int64,
    /// `FP16`.
    Fp16,
    /// `FP32`.
    Fp32,
    /// `FP64`.
    Fp64,
    /// `BYTES`: variable-length byte strings (text travels as UTF-8).
    Bytes,
}

impl DataType {
    /// Every datatype, in the order the protocol lists them.
    pub const ALL: [DataType; 13] = [
        Self::Bool,
        Self::Uint8,
        Self::Uint16,
        Self::Uint32,
        Self::Uint64,
        Self::Int8,
        Self::Int16,
        Self::Int32,
        Self::Int64,
        Self::Fp16,
        Self::Fp32,
        Self::Fp64,
        Self::Bytes,
    ];

    /// The protocol's name for the datatype.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bool => "BOOL",
            Self::Uint8 => "UINT8",
            Self::Uint16 => "UINT16",
            Self::Uint32 => "UINT32",
            Self::Uint64 => "UINT64",
            Self::Int8 => "INT8",
            Self::Int16 => "INT16",
            Self::Int32 => "INT32",
            Self::Int64 => "INT64",
            Self::Fp16 => "FP16",
            Self::Fp32 => "FP32",
            Self::Fp64 => "FP64",
            Self::Bytes => "BYTES",
        }
    }

    /// The tract datum type holding this datatype's elements (`BYTES` as UTF-8 strings).
    pub fn datum_type(self) -> DatumType {
        match self {
            Self::Bool => DatumType::Bool,
            Self::Uint8 => DatumType::U8,
            Self::Uint16 => DatumType::U16,
            Self::Uint32 => DatumType::U32,
            Self::Uint64 => DatumType::U64,
            Self::Int8 => DatumType::I8,
            Self::Int16 => DatumType::I16,
            Self::Int32 => DatumType::I32,
            Self::Int64 => DatumType::I64,
            Self::Fp16 => DatumType::F16,
            Self::Fp32 => DatumType::F32,
            Self::Fp64 => DatumType::F64,
            Self::Bytes => DatumType::String,
        }
    }

    /// The datatype of a tract datum type, if the protocol has one.
    pub fn from_datum_type(dt: DatumType) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.datum_type() == dt.unquantized())
    }

    /// The datatype of a numpy dtype name as MLflow writes it in tensor specs (`"float32"`, `"int64"`, `"object"`, ...).
    pub fn from_numpy(dtype: &str) -> Option<Self> {
        Some(match dtype {
            "bool" => Self::Bool,
            "uint8" => Self::Uint8,
            "uint16" => Self::Uint16,
            "uint32" => Self::Uint32,
            "uint64" => Self::Uint64,
            "int8" => Self::Int8,
            "int16" => Self::Int16,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "float16" => Self::Fp16,
            "float32" => Self::Fp32,
            "float64" => Self::Fp64,
            "str" | "object" | "bytes" => Self::Bytes,
            s if s.starts_with("<U") || s.starts_with("|S") || s.starts_with("str") => Self::Bytes,
            _ => return None,
        })
    }

    /// The datatype of an MLflow column type (`double` -> FP64, `string` -> BYTES, ...), as
    /// MLServer's MLflow runtime maps them; the array/object/map/any types travel as JSON text (BYTES).
    pub fn from_mlflow(ty: &str) -> Self {
        match ty {
            "boolean" => Self::Bool,
            "integer" => Self::Int32,
            "long" => Self::Int64,
            "float" => Self::Fp32,
            "double" => Self::Fp64,
            _ => Self::Bytes,
        }
    }

    /// Size in bytes of one element, or `None` for `BYTES`.
    pub fn size_of(self) -> Option<usize> {
        match self {
            Self::Bytes => None,
            Self::Bool | Self::Uint8 | Self::Int8 => Some(1),
            Self::Uint16 | Self::Int16 | Self::Fp16 => Some(2),
            Self::Uint32 | Self::Int32 | Self::Fp32 => Some(4),
            Self::Uint64 | Self::Int64 | Self::Fp64 => Some(8),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a datatype name the protocol does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown datatype {0:?} (expected one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES)")]
pub struct UnknownDataType(pub String);

impl FromStr for DataType {
    type Err = UnknownDataType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // One match on the bytes (every request input's datatype goes through here), not a
        // comparison against each name in turn.
        Ok(match s.as_bytes() {
            b"BOOL" => Self::Bool,
            b"UINT8" => Self::Uint8,
            b"UINT16" => Self::Uint16,
            b"UINT32" => Self::Uint32,
            b"UINT64" => Self::Uint64,
            b"INT8" => Self::Int8,
            b"INT16" => Self::Int16,
            b"INT32" => Self::Int32,
            b"INT64" => Self::Int64,
            b"FP16" => Self::Fp16,
            b"FP32" => Self::Fp32,
            b"FP64" => Self::Fp64,
            b"BYTES" => Self::Bytes,
            _ => return Err(UnknownDataType(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for dt in DataType::ALL {
            assert_eq!(dt.as_str().parse::<DataType>(), Ok(dt));
            assert_eq!(DataType::from_datum_type(dt.datum_type()), Some(dt));
        }
        assert!("FLOAT".parse::<DataType>().is_err());
        assert!("fp64".parse::<DataType>().is_err());
    }

    #[test]
    fn mlflow_types_map_as_mlserver_does() {
        assert_eq!(DataType::from_mlflow("double"), DataType::Fp64);
        assert_eq!(DataType::from_mlflow("float"), DataType::Fp32);
        assert_eq!(DataType::from_mlflow("long"), DataType::Int64);
        assert_eq!(DataType::from_mlflow("integer"), DataType::Int32);
        assert_eq!(DataType::from_mlflow("boolean"), DataType::Bool);
        assert_eq!(DataType::from_mlflow("string"), DataType::Bytes);
        assert_eq!(DataType::from_mlflow("binary"), DataType::Bytes);
        assert_eq!(DataType::from_mlflow("datetime"), DataType::Bytes);
    }
}
