//! Shared helpers for ironflow benches.
