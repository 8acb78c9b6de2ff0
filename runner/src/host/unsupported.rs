//! Contract 0.2's imports this runner does not implement yet: `faults`, `load` and
//! `focus-server.watch-stream`. Each answers `unsupported`, so a scenario skips itself; their
//! capability flags stay off.

use super::ScenarioHost;
use crate::engine::bindings::v0_2::focus::scenario::types::{Duration, HostError};
use crate::engine::bindings::v0_2::focus::scenario::{faults, focus_server, load};

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// The `unsupported` error for `what`.
fn not_yet<T>(what: &str) -> HostResult<T> {
    Ok(Err(HostError::Unsupported(format!(
        "{what} is not implemented by this runner yet; check the capability flags of \
         `environment()` and skip the scenario where it is missing"
    ))))
}

impl faults::Host for ScenarioHost {
    async fn add_fault(&mut self, _workload: String, _fault: faults::Fault) -> HostResult<u64> {
        not_yet("add-fault")
    }

    async fn remove_fault(&mut self, _id: faults::FaultId) -> HostResult<()> {
        not_yet("remove-fault")
    }
}

impl load::Host for ScenarioHost {
    async fn start_load(&mut self, _spec: load::LoadSpec) -> HostResult<load::LoadId> {
        not_yet("start-load")
    }

    async fn finish_load(&mut self, _id: load::LoadId) -> HostResult<load::LoadReport> {
        not_yet("finish-load")
    }
}

impl focus_server::Host for ScenarioHost {
    async fn watch_stream(
        &mut self,
        _job_id: String,
        _stream_id: u32,
        _duration: Duration,
    ) -> HostResult<focus_server::StreamReport> {
        not_yet("watch-stream")
    }
}
