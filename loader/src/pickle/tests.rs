//! Tests of the whole reader: real corpus pickles, Python-made fixtures with known contents, and
//! hostile or corrupted streams that must fail cleanly.

mod corpus;
mod fixtures;
mod hostile;
