//! An in-process simulated environment for the engine's own tests. (Being built: issue 3.)

use std::sync::Arc;

use serde::Deserialize;

use super::{EnvError, EnvResult, Environment, OpenContext};

/// `[environments.<name>]` with `kind = "memory"`.
#[derive(Debug, Clone, Deserialize)]
pub struct MemoryConfig {}

/// Creates the simulated environment.
pub async fn open(_config: &MemoryConfig, _ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Err(EnvError::Unsupported("the memory environment is not built yet".into()))
}
