//! The human commands: their arguments (`cli`), and what each does.

pub mod cli;
pub mod configure;
pub mod doctor;
pub mod policy;
