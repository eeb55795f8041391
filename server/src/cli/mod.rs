//! The command-line tools beside `serve`: `inspect` (will this model serve?) and `predict`
//! (score a file without a server). Both read models through the same code as `serve`.

pub mod inspect;
pub mod predict;
