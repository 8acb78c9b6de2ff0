//! The Kubernetes environment, through kube-rs. (Being built: issue 5.)

use std::sync::Arc;

use serde::Deserialize;

use super::{EnvError, EnvResult, Environment, OpenContext};

/// `[environments.<name>]` with `kind = "kubernetes"`.
#[derive(Debug, Clone, Deserialize)]
pub struct KubeConfig {}

/// Connects to the cluster.
pub async fn open(_config: &KubeConfig, _ctx: &OpenContext) -> EnvResult<Arc<dyn Environment>> {
    Err(EnvError::Unsupported("the kubernetes environment is not built yet".into()))
}
