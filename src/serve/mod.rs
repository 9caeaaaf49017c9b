//! The wire protocols: the only code, with `main` and `commands`, that
//! writes to stdout.

pub mod docker;
pub mod kubelet;
