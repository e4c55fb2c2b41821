//! One module per command family.

pub mod bls;
pub mod common;
pub mod dashboard;
pub mod keys;
