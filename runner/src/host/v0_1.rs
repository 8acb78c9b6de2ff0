//! Contract 0.1.0's imports, for components built against it: `workloads`, `services` and
//! `runtime` delegate to the 0.2 implementations and translate the types; `focus-server` is in
//! `focus`. So both versions share one allow-list, one journal and one HTTP client.

use super::{ScenarioHost, TimeoutError};
use crate::engine::bindings::v0_1::focus::scenario::types::{self, HostError};
use crate::engine::bindings::v0_1::focus::scenario::{runtime, services, workloads};
use crate::engine::bindings::v0_2::focus::scenario as v2;

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// 0.2's error as 0.1 says it: 0.1 has no `invalid`, and called a bad argument `failed`.
fn error(e: v2::types::HostError) -> HostError {
    use v2::types::HostError as E;
    match e {
        E::NotPermitted(m) => HostError::NotPermitted(m),
        E::NotFound(m) => HostError::NotFound(m),
        E::Unsupported(m) => HostError::Unsupported(m),
        E::Timeout(m) => HostError::Timeout(m),
        E::Invalid(m) | E::Failed(m) => HostError::Failed(m),
    }
}

/// A 0.2 result as a 0.1 result, with `f` translating the value.
fn result<T, U>(
    r: wasmtime::Result<Result<T, v2::types::HostError>>,
    f: impl FnOnce(T) -> U,
) -> HostResult<U> {
    Ok(r?.map(f).map_err(error))
}

impl TimeoutError for HostError {
    fn timeout(message: String) -> Self {
        Self::Timeout(message)
    }
}

impl types::Host for ScenarioHost {}

impl workloads::Host for ScenarioHost {
    async fn scale(&mut self, workload: String, replicas: u32) -> HostResult<()> {
        result(
            v2::workloads::Host::scale(self, workload, replicas).await,
            |v| v,
        )
    }

    async fn replicas(&mut self, workload: String) -> HostResult<u32> {
        result(v2::workloads::Host::replicas(self, workload).await, |v| v)
    }

    async fn delete_pod(&mut self, workload: String) -> HostResult<String> {
        result(v2::workloads::Host::delete_pod(self, workload).await, |v| v)
    }

    async fn pods(&mut self, workload: String) -> HostResult<Vec<workloads::Pod>> {
        result(v2::workloads::Host::pods(self, workload).await, |pods| {
            pods.into_iter()
                .map(|p| workloads::Pod {
                    name: p.name,
                    ready: p.ready,
                    restarts: p.restarts,
                })
                .collect()
        })
    }

    async fn wait_ready(&mut self, workload: String, timeout: types::Duration) -> HostResult<()> {
        result(
            v2::workloads::Host::wait_ready(self, workload, timeout).await,
            |v| v,
        )
    }

    async fn block_network(
        &mut self,
        workload: String,
        mode: workloads::BlockMode,
    ) -> HostResult<()> {
        let mode = match mode {
            workloads::BlockMode::Blackhole => v2::workloads::BlockMode::Blackhole,
            workloads::BlockMode::Refuse => v2::workloads::BlockMode::Refuse,
        };
        result(
            v2::workloads::Host::block_network(self, workload, mode).await,
            |v| v,
        )
    }

    async fn unblock_network(&mut self, workload: String) -> HostResult<()> {
        result(
            v2::workloads::Host::unblock_network(self, workload).await,
            |v| v,
        )
    }

    async fn memory(&mut self, workload: String) -> HostResult<Option<u64>> {
        result(v2::workloads::Host::memory(self, workload).await, |v| v)
    }
}

impl services::Host for ScenarioHost {
    async fn probe(&mut self, service: String) -> HostResult<services::ProbeResult> {
        result(v2::services::Host::probe(self, service).await, |p| {
            services::ProbeResult {
                reachable: p.reachable,
                latency: p.latency,
                detail: p.detail,
            }
        })
    }
}

impl runtime::Host for ScenarioHost {
    async fn now(&mut self) -> wasmtime::Result<types::Instant> {
        v2::runtime::Host::now(self).await
    }

    async fn sleep(&mut self, duration: types::Duration) -> wasmtime::Result<()> {
        v2::runtime::Host::sleep(self, duration).await
    }

    async fn log(&mut self, level: runtime::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            runtime::Level::Debug => v2::runtime::Level::Debug,
            runtime::Level::Info => v2::runtime::Level::Info,
            runtime::Level::Warn => v2::runtime::Level::Warn,
            runtime::Level::Error => v2::runtime::Level::Error,
        };
        v2::runtime::Host::log(self, level, message).await
    }

    async fn annotate(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        v2::runtime::Host::annotate(self, key, value).await
    }

    async fn environment(&mut self) -> wasmtime::Result<runtime::EnvironmentInfo> {
        let info = v2::runtime::Host::environment(self).await?;
        let c = info.capabilities;
        let mut capabilities = runtime::Capabilities::empty();
        for (has, flag) in [
            (
                v2::runtime::Capabilities::SCALE,
                runtime::Capabilities::SCALE,
            ),
            (
                v2::runtime::Capabilities::DELETE_POD,
                runtime::Capabilities::DELETE_POD,
            ),
            (
                v2::runtime::Capabilities::BLOCK_BLACKHOLE,
                runtime::Capabilities::BLOCK_BLACKHOLE,
            ),
            (
                v2::runtime::Capabilities::BLOCK_REFUSE,
                runtime::Capabilities::BLOCK_REFUSE,
            ),
            (
                v2::runtime::Capabilities::MEMORY,
                runtime::Capabilities::MEMORY,
            ),
        ] {
            if c.contains(has) {
                capabilities |= flag;
            }
        }
        Ok(runtime::EnvironmentInfo {
            name: info.name,
            kind: info.kind,
            capabilities,
            workloads: info.workloads,
        })
    }

    async fn report_panic(&mut self, message: String) -> wasmtime::Result<()> {
        v2::runtime::Host::report_panic(self, message).await
    }
}
