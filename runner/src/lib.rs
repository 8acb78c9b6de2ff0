//! scenario-runner: loads WebAssembly scenario components with wasmtime, runs them against an
//! environment with automatic rollback, and writes JUnit.
//!
//! The modules follow the architecture: `cli` parses and drives; `engine` is wasmtime;
//! `host` implements the contract's imports and is the only module that knows both the engine
//! and the environment; `env` is the environment trait and its backends; `report` is JUnit.

pub mod cli;
pub mod config;
pub mod console;
pub mod engine;
pub mod env;
pub mod guest_text;
pub mod host;
pub mod report;
pub mod run;
