//! A started double with the usual workloads, and the kubernetes environment opened on it.

use std::sync::Arc;
use std::time::Duration;

use scenario_runner::config::EnvironmentConfig;
use scenario_runner::env::{self, EnvError, Environment, OpenContext};
use serde_json::{Value, json};

use super::store::DEPLOYMENTS;
use super::{ApiDouble, backend_role, environment_toml, health_backend};

/// The annotation with the original replicas.
pub const ORIGINAL: &str = "scenario-runner/original-replicas";
/// The run id annotation and label.
pub const RUN_ID: &str = "scenario-runner/run-id";

/// A double with mongodb and focus-server Deployments (one ready pod each) under the
/// backend's Role, and a scratch folder.
pub struct Cluster {
    pub double: ApiDouble,
    pub dir: tempfile::TempDir,
    _health: tokio::task::JoinHandle<()>,
}

impl Cluster {
    pub async fn start() -> Self {
        Self::start_with_mongodb(None).await
    }

    pub async fn start_with_mongodb(mongodb: Option<std::net::SocketAddr>) -> Self {
        let double = ApiDouble::start().await;
        let (health, task) = health_backend().await;
        double.add_workload(DEPLOYMENTS, "mongodb", &[("app", "mongodb")], 1, mongodb);
        double.add_workload(
            DEPLOYMENTS,
            "focus-server",
            &[("app", "focus-server")],
            1,
            Some(health),
        );
        double.set_role(Some(backend_role()));
        double
            .wait_for("both pods ready", Duration::from_secs(10), |d| {
                d.ready_pods("").len() == 2
            })
            .await;
        Self {
            double,
            dir: tempfile::tempdir().unwrap(),
            _health: task,
        }
    }

    pub fn config(&self, extra: &str) -> EnvironmentConfig {
        let kubeconfig = self.double.write_kubeconfig(self.dir.path());
        let table = environment_toml(&kubeconfig, extra);
        toml::from_str(&table).expect("a valid environment table")
    }

    pub fn context(&self, run_id: &str, force_cleanup: bool) -> OpenContext {
        OpenContext {
            name: "cluster".into(),
            run_id: run_id.into(),
            config_dir: self.dir.path().to_owned(),
            run_dir: self.dir.path().join(run_id),
            force_cleanup,
        }
    }

    pub async fn open(&self, run_id: &str) -> Arc<dyn Environment> {
        self.open_with("", run_id, false)
            .await
            .expect("the environment opens")
    }

    pub async fn open_with(
        &self,
        extra: &str,
        run_id: &str,
        force: bool,
    ) -> Result<Arc<dyn Environment>, EnvError> {
        env::open(&self.config(extra), &self.context(run_id, force)).await
    }

    pub fn annotations(&self, name: &str) -> Value {
        self.double
            .get(DEPLOYMENTS, name)
            .unwrap()
            .pointer("/metadata/annotations")
            .cloned()
            .unwrap_or(json!({}))
    }
}
