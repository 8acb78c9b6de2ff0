//! The local environment: MongoDB-wire server and Focus Server as supervised processes on this
//! machine, each workload behind a fault-injecting TCP proxy. (Being built: issue 4.)

use std::sync::Arc;

use serde::Deserialize;

use super::{EnvError, EnvResult, Environment, OpenContext};

/// `[environments.<name>]` with `kind = "local"`.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalConfig {}

/// Starts the local environment.
pub async fn open(_config: &LocalConfig, _ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Err(EnvError::Unsupported("the local environment is not built yet".into()))
}
