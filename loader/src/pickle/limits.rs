//! The reader's resource limits. Together with the rule that every declared length is checked
//! against the remaining input before allocating, they bound memory to a small multiple of the
//! input size and time to roughly linear in it, whatever the pickle says.

/// Deepest nesting of containers/instances in the result (checked while freezing the tree).
/// sklearn pickles nest a few dozen levels at most (pipelines of column transformers of pipelines).
pub const MAX_DEPTH: usize = 200;

/// Most items on the VM stack at once (all marks included). sklearn pickles batch `APPENDS`
/// and `SETITEMS` by 1000, so real streams stay far below this.
pub const MAX_STACK: usize = 1 << 20;

/// Most `MARK`s open at once.
pub const MAX_MARKS: usize = 1 << 16;

/// Most memo entries (`PUT`/`MEMOIZE`); ids themselves may be any value up to `u32::MAX`.
pub const MAX_MEMO: usize = 1 << 22;

/// Longest decimal integer accepted from the text opcodes (`INT`, `LONG`). Decimal parsing is
/// quadratic in the digit count, so this is far below CPython's 4300: sklearn pickles never
/// write text integers beyond 64 bits.
pub const MAX_INT_DIGITS: usize = 640;

/// Bytes the VM may copy into arrays and dtypes beyond the input itself: a shared buffer
/// reconstructed into many arrays is charged each time, so hostile sharing cannot multiply memory.
pub fn copy_budget(input_len: usize) -> usize {
    input_len.saturating_mul(4).max(1 << 26)
}
