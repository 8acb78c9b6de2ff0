//! Contract 0.2's `workloads`, `services` and `runtime` imports (0.1's delegate to them, see
//! `v0_1`). Every environment call passes the allow-list, is journalled before it mutates
//! anything, and is bounded in time.

use std::time::{Duration, Instant};

use super::windows::WindowKey;
use super::{ScenarioHost, Undo, host_error};
use crate::engine::bindings::v0_2::focus::scenario::types::{self, HostError};
use crate::engine::bindings::v0_2::focus::scenario::{runtime, services, workloads};
use crate::env::BlockMode;
use crate::run::events::{EventKind, RemovedBy};

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

impl types::Host for ScenarioHost {}

impl workloads::Host for ScenarioHost {
    async fn scale(&mut self, workload: String, replicas: u32) -> HostResult<()> {
        let env = match self
            .refuse_in_hypothesis("scale")
            .and_then(|()| self.allow_workload(&workload))
        {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("scale {workload} to {replicas}");
        let previous = match self
            .bounded(&what, self.limits.operation, async {
                env.replicas(&workload).await.map_err(host_error)
            })
            .await?
        {
            Ok(previous) => previous,
            Err(e) => return Ok(Err(e)),
        };
        self.journal.push(Undo::Scale {
            workload: workload.clone(),
            replicas: previous,
        });
        self.note("HOST", format!("{what} (was {previous})"));
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.scale(&workload, replicas).await.map_err(host_error)
            })
            .await?;
        if result.is_ok() {
            self.scaled(&workload, replicas);
        }
        Ok(result)
    }

    async fn replicas(&mut self, workload: String) -> HostResult<u32> {
        let env = match self.allow_workload(&workload) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("replicas of {workload}");
        self.bounded(&what, self.limits.operation, async {
            env.replicas(&workload).await.map_err(host_error)
        })
        .await
    }

    async fn delete_pod(&mut self, workload: String) -> HostResult<String> {
        let env = match self
            .refuse_in_hypothesis("delete-pod")
            .and_then(|()| self.allow_workload(&workload))
        {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        self.journal.push(Undo::WaitReady {
            workload: workload.clone(),
        });
        let what = format!("delete a pod of {workload}");
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.delete_pod(&workload).await.map_err(host_error)
            })
            .await?;
        if let Ok(pod) = &result {
            self.note("HOST", format!("deleted pod {pod} of {workload}"));
            let key = WindowKey::PodDeleted(workload.clone());
            let label = format!("pod {pod} of {workload} deleted");
            self.windows.open(&self.events, key, &workload, label);
        }
        Ok(result)
    }

    async fn pods(&mut self, workload: String) -> HostResult<Vec<workloads::Pod>> {
        let env = match self.allow_workload(&workload) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("pods of {workload}");
        let pods = self
            .bounded(&what, self.limits.operation, async {
                env.pods(&workload).await.map_err(host_error)
            })
            .await?;
        Ok(pods.map(|pods| {
            pods.into_iter()
                .map(|p| workloads::Pod {
                    name: p.name,
                    ready: p.ready,
                    restarts: p.restarts,
                })
                .collect()
        }))
    }

    async fn wait_ready(&mut self, workload: String, timeout: types::Duration) -> HostResult<()> {
        let env = match self.allow_workload(&workload) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let timeout = durations::Bounds::DELAY.clamp(Duration::from_nanos(timeout));
        let what = format!("{workload} to be ready");
        // The environment enforces `timeout` itself; the margin covers its last poll.
        let limit = timeout + Duration::from_secs(2);
        self.bounded(&what, limit, async {
            env.wait_ready(&workload, timeout).await.map_err(host_error)
        })
        .await
    }

    async fn block_network(
        &mut self,
        workload: String,
        mode: workloads::BlockMode,
    ) -> HostResult<()> {
        let env = match self
            .refuse_in_hypothesis("block-network")
            .and_then(|()| self.allow_workload(&workload))
        {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let mode = match mode {
            workloads::BlockMode::Blackhole => BlockMode::Blackhole,
            workloads::BlockMode::Refuse => BlockMode::Refuse,
        };
        self.journal.push(Undo::Unblock {
            workload: workload.clone(),
        });
        let what = format!("block the network of {workload} ({mode:?})").to_lowercase();
        self.note("HOST", what.clone());
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.block_network(&workload, mode).await.map_err(host_error)
            })
            .await?;
        if result.is_ok() {
            let key = WindowKey::Block(workload.clone());
            let label = format!("{workload} blocked ({mode:?})").to_lowercase();
            self.windows.open(&self.events, key, &workload, label);
        }
        Ok(result)
    }

    async fn unblock_network(&mut self, workload: String) -> HostResult<()> {
        let env = match self
            .refuse_in_hypothesis("unblock-network")
            .and_then(|()| self.allow_workload(&workload))
        {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("unblock the network of {workload}");
        self.note("HOST", what.clone());
        let result = self
            .bounded(&what, self.limits.operation, async {
                env.unblock_network(&workload).await.map_err(host_error)
            })
            .await?;
        if result.is_ok() {
            let key = WindowKey::Block(workload);
            self.windows.close(&self.events, &key, RemovedBy::Scenario);
        }
        Ok(result)
    }

    async fn memory(&mut self, workload: String) -> HostResult<Option<u64>> {
        let env = match self.allow_workload(&workload) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("memory of {workload}");
        self.bounded(&what, self.limits.operation, async {
            env.memory(&workload).await.map_err(host_error)
        })
        .await
    }
}

impl services::Host for ScenarioHost {
    async fn probe(&mut self, service: String) -> HostResult<services::ProbeResult> {
        let env = match self.allow_service(&service) {
            Ok(env) => env,
            Err(e) => return Ok(Err(e)),
        };
        let what = format!("probe {service}");
        let probe = self
            .bounded(&what, self.limits.operation, async {
                env.probe(&service).await.map_err(host_error)
            })
            .await?;
        Ok(probe.map(|p| services::ProbeResult {
            reachable: p.reachable,
            latency: p.latency.as_nanos() as u64,
            detail: p.detail,
        }))
    }
}

impl runtime::Host for ScenarioHost {
    async fn now(&mut self) -> wasmtime::Result<types::Instant> {
        Ok(clock_origin().elapsed().as_nanos() as u64)
    }

    async fn wall_clock(&mut self) -> wasmtime::Result<u64> {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(since_epoch.as_millis() as u64)
    }

    async fn param(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let value = self.run.params.get(&name).cloned();
        if !self.params_read.iter().any(|(read, _)| *read == name) && self.params_read.len() < 100 {
            self.params_read.push((name, value.clone()));
        }
        Ok(value)
    }

    async fn sleep(&mut self, duration: types::Duration) -> wasmtime::Result<()> {
        let duration = Duration::from_nanos(duration);
        let remaining = self.remaining();
        if duration < remaining {
            tokio::time::sleep(duration).await;
            Ok(())
        } else {
            tokio::time::sleep(remaining).await;
            Err(self.deadline_trap(&format!(
                "a sleep of {}",
                crate::engine::format_duration(duration)
            )))
        }
    }

    async fn log(&mut self, level: runtime::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            runtime::Level::Debug => "DEBUG",
            runtime::Level::Info => "INFO",
            runtime::Level::Warn => "WARN",
            runtime::Level::Error => "ERROR",
        };
        self.note(level, message);
        Ok(())
    }

    async fn annotate(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        let count = self.annotations.len();
        let note = super::annotations::add(&mut self.annotations, &key, &value);
        self.note("HOST", note);
        if self.annotations.len() > count
            && let Some((key, value)) = self.annotations.last()
        {
            self.events.emit(EventKind::Annotation {
                key: key.clone(),
                value: value.clone(),
            });
        }
        Ok(())
    }

    async fn environment(&mut self) -> wasmtime::Result<runtime::EnvironmentInfo> {
        let Some(info) = &self.info else {
            return Ok(runtime::EnvironmentInfo {
                name: String::new(),
                kind: "none".into(),
                capabilities: runtime::Capabilities::empty(),
                workloads: Vec::new(),
                services: Vec::new(),
                run_id: self.run.run_id.clone(),
            });
        };
        let c = info.capabilities;
        let mut capabilities = runtime::Capabilities::empty();
        for (has, flag) in [
            (c.scale, runtime::Capabilities::SCALE),
            (c.delete_pod, runtime::Capabilities::DELETE_POD),
            (c.block_blackhole, runtime::Capabilities::BLOCK_BLACKHOLE),
            (c.block_refuse, runtime::Capabilities::BLOCK_REFUSE),
            (c.memory, runtime::Capabilities::MEMORY),
            (c.faults, fault_flags()),
            (c.load, runtime::Capabilities::LOAD),
            (c.watch_stream, runtime::Capabilities::WATCH_STREAM),
        ] {
            if has {
                capabilities |= flag;
            }
        }
        Ok(runtime::EnvironmentInfo {
            name: info.name.clone(),
            kind: info.kind.to_owned(),
            capabilities,
            workloads: info.workloads.clone(),
            services: info.services.clone(),
            run_id: self.run.run_id.clone(),
        })
    }

    async fn report_panic(&mut self, message: String) -> wasmtime::Result<()> {
        let message = crate::guest_text::cap_owned(message, crate::engine::MAX_MESSAGE_BYTES);
        self.note("ERROR", format!("panic: {message}"));
        self.panic = Some(message);
        Ok(())
    }
}

/// Every `fault-*` flag: an environment that injects faults does every kind.
fn fault_flags() -> runtime::Capabilities {
    runtime::Capabilities::FAULT_LATENCY
        | runtime::Capabilities::FAULT_BANDWIDTH
        | runtime::Capabilities::FAULT_BLACKHOLE
        | runtime::Capabilities::FAULT_RESET_PEER
        | runtime::Capabilities::FAULT_SLOW_CLOSE
        | runtime::Capabilities::FAULT_SLICER
        | runtime::Capabilities::FAULT_LIMIT_DATA
}

/// The origin of the contract's monotonic clock: the first time it is read in this process.
fn clock_origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl ScenarioHost {
    /// `workload` now has `replicas`: the window of an earlier scale ends, and one begins
    /// unless the count is back to the one from before the scenario.
    fn scaled(&mut self, workload: &str, replicas: u32) {
        let key = WindowKey::Scale(workload.to_owned());
        self.windows.close(&self.events, &key, RemovedBy::Scenario);
        let before = self.journal.entries().iter().find_map(|undo| match undo {
            Undo::Scale {
                workload: w,
                replicas,
            } if w == workload => Some(*replicas),
            _ => None,
        });
        if before != Some(replicas) {
            let label = format!("{workload} scaled to {replicas}");
            self.windows.open(&self.events, key, workload, label);
        }
    }
}
