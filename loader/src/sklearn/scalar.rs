//! [`Scalar`]: one decoded element of a pickled array or list (a leaf the object helpers and the
//! label types share).

/// One element of an array or list, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `None` (or an object-array hole).
    None,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A str (or bytes, decoded as UTF-8).
    Str(String),
}

impl Scalar {
    /// The value as a float (bools as 0/1), if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Bool(b) => Some(f64::from(u8::from(b))),
            Self::Int(i) => Some(i as f64),
            Self::Float(f) => Some(f),
            Self::None | Self::Str(_) => None,
        }
    }
}
