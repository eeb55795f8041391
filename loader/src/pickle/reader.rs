//! A bounds-checked cursor over the pickle bytes. Every declared length is checked against the
//! remaining input before anything is allocated, so a hostile length costs nothing.

use super::error::PickleError;

/// Reads the pickle stream front to back.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The current offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes; fails (without allocating) when fewer remain.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PickleError> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(PickleError::Truncated {
                what,
                offset: start,
            })?;
        self.pos = end;
        Ok(self.bytes.get(start..end).unwrap_or_default())
    }

    /// One byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, PickleError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or_default())
    }

    /// A fixed-size little-endian field.
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PickleError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A little-endian u16.
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, PickleError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u32.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian i32.
    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, PickleError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u64.
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A big-endian f64 (`BINFLOAT`).
    pub(crate) fn f64_be(&mut self, what: &'static str) -> Result<f64, PickleError> {
        Ok(f64::from_be_bytes(self.array(what)?))
    }

    /// A length-prefixed payload whose length was read as a u64: checked against the input first.
    pub(crate) fn take_len(
        &mut self,
        len: u64,
        what: &'static str,
    ) -> Result<&'a [u8], PickleError> {
        let n = usize::try_from(len).map_err(|_| PickleError::Truncated {
            what,
            offset: self.pos,
        })?;
        self.take(n, what)
    }

    /// A protocol-0 text argument up to (not including) the next `\n`, which is consumed.
    pub(crate) fn line(&mut self, what: &'static str) -> Result<&'a [u8], PickleError> {
        let start = self.pos;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                what,
                offset: start,
            })?;
        self.pos = start + n + 1;
        Ok(rest.get(..n).unwrap_or_default())
    }
}
