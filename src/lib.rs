//! cruddur-xray: provision and verify AWS X-Ray groups and sampling rules.
//!
//! `main.rs` parses arguments and maps errors to exit codes; everything else is here.
#![forbid(unsafe_code)]

pub mod aws;
pub mod cli;
pub mod commands;
pub mod emulator;
pub mod error;
pub mod filter;
pub mod interrupt;
pub mod logging;
pub mod model;
pub mod output;
pub mod reconcile;
pub mod spec;
pub mod trace;
pub mod verify;
pub mod xray;
