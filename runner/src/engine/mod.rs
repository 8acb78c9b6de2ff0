//! The engine: everything wasmtime. It compiles scenario components (through the on-disk
//! [`CompileCache`]), checks that they are of the `scenario` world, and runs one scenario per
//! fresh store and instance, in a sandbox that grants nothing, with a deadline (epochs) and a
//! memory cap. It knows the contract's bindings but not the environment: the host state `H`
//! that implements the imports comes from the caller.

pub mod bindings;
mod cache;
mod check;
mod file;
mod load;
mod run;
mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};

pub use cache::lock::BuildLock;
pub use cache::{CacheKey, CompileCache, FunctionStore};
pub use check::{LoadError, check_header, check_world, spoken_versions};
pub use file::{MAX_COMPONENT_BYTES, file_kind};
pub use load::LoadedComponent;
pub use run::{
    Fault, FaultKind, GuestOutcome, GuestRun, HostTrap, Interrupt, MAX_DETAIL_BYTES,
    MAX_MESSAGE_BYTES, RunControl, ScenarioMeta, format_duration, one_line,
};
pub use store::{CapturedOutput, GuestState};

pub use bindings::ContractVersion;
pub use run::HOST_ERROR_PREFIX;

use bindings::{v0_1, v0_2};
use load::Instance;
use run::{FaultContext, classify};

/// Every import of contract 0.1.0.
pub trait HostV0_1:
    v0_1::focus::scenario::types::Host
    + v0_1::focus::scenario::workloads::Host
    + v0_1::focus::scenario::services::Host
    + v0_1::focus::scenario::focus_server::Host
    + v0_1::focus::scenario::runtime::Host
{
}

impl<T> HostV0_1 for T where
    T: v0_1::focus::scenario::types::Host
        + v0_1::focus::scenario::workloads::Host
        + v0_1::focus::scenario::services::Host
        + v0_1::focus::scenario::focus_server::Host
        + v0_1::focus::scenario::runtime::Host
{
}

/// Every import of contract 0.2.0.
pub trait HostV0_2:
    v0_2::focus::scenario::types::Host
    + v0_2::focus::scenario::workloads::Host
    + v0_2::focus::scenario::faults::Host
    + v0_2::focus::scenario::services::Host
    + v0_2::focus::scenario::http::Host
    + v0_2::focus::scenario::load::Host
    + v0_2::focus::scenario::focus_server::Host
    + v0_2::focus::scenario::runtime::Host
{
}

impl<T> HostV0_2 for T where
    T: v0_2::focus::scenario::types::Host
        + v0_2::focus::scenario::workloads::Host
        + v0_2::focus::scenario::faults::Host
        + v0_2::focus::scenario::services::Host
        + v0_2::focus::scenario::http::Host
        + v0_2::focus::scenario::load::Host
        + v0_2::focus::scenario::focus_server::Host
        + v0_2::focus::scenario::runtime::Host
{
}

/// What the host state must provide: every import of every contract version this runner
/// speaks, and the panic message the guest reported, if any.
pub trait GuestHost: HostV0_1 + HostV0_2 + Send + 'static {
    /// The message the guest sent through `report-panic`, if it did.
    fn reported_panic(&self) -> Option<String>;
}

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The compile cache's folder; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
    /// The memory cap of each store, in bytes.
    pub memory_cap: usize,
    /// How many bytes of each of stdout and stderr to keep (head and tail).
    pub capture_bytes: usize,
    /// How long listing a component's scenarios may take.
    pub listing_timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            memory_cap: 256 << 20,
            capture_bytes: 64 << 10,
            listing_timeout: Duration::from_secs(10),
        }
    }
}

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the WebAssembly engine: {0}")]
pub struct EngineError(String);

/// How long one epoch tick is.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Calls `increment_epoch` every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Result<Self, EngineError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| EngineError(format!("cannot start the epoch ticker thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The wasmtime engine of one run, with its linker, compile cache and epoch ticker.
pub struct ScenarioEngine<H: GuestHost> {
    engine: Engine,
    linker_v0_1: Linker<GuestState<H>>,
    linker_v0_2: Linker<GuestState<H>>,
    cache: Option<CompileCache>,
    options: EngineOptions,
    _ticker: EpochTicker,
}

impl<H: GuestHost> ScenarioEngine<H> {
    /// An engine with epoch interruption and a linker per contract version, each providing
    /// WASI (granting nothing) and that version's imports.
    pub fn new(options: EngineOptions) -> Result<Self, EngineError> {
        let cache = options.cache_dir.clone().map(CompileCache::new);
        let mut config = Config::new();
        config.epoch_interruption(true).wasm_component_model(true);
        if let Some(cache) = &cache {
            config
                .enable_incremental_compilation(Arc::new(cache.functions().clone()))
                .map_err(|e| EngineError(format!("{e:#}")))?;
        }
        let engine = Engine::new(&config).map_err(|e| EngineError(format!("{e:#}")))?;
        let failed = |e: wasmtime::Error| EngineError(format!("{e:#}"));
        let mut linker_v0_1 = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker_v0_1).map_err(failed)?;
        v0_1::Scenario::add_to_linker::<GuestState<H>, HasSelf<H>>(&mut linker_v0_1, |state| {
            &mut state.host
        })
        .map_err(failed)?;
        let mut linker_v0_2 = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker_v0_2).map_err(failed)?;
        v0_2::Scenario::add_to_linker::<GuestState<H>, HasSelf<H>>(&mut linker_v0_2, |state| {
            &mut state.host
        })
        .map_err(failed)?;
        let ticker = EpochTicker::start(engine.clone())?;
        Ok(Self {
            engine,
            linker_v0_1,
            linker_v0_2,
            cache,
            options,
            _ticker: ticker,
        })
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    fn new_store(
        &self,
        host: H,
        control: &RunControl,
    ) -> (Store<GuestState<H>>, CapturedOutput, CapturedOutput) {
        let stdout = CapturedOutput::new(self.options.capture_bytes);
        let stderr = CapturedOutput::new(self.options.capture_bytes);
        let state = GuestState::new(host, self.options.memory_cap, &stdout, &stderr);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        let control = control.clone();
        store.epoch_deadline_callback(move |_| {
            if control.interrupt.is_triggered() {
                return Err(HostTrap::Interrupted.into());
            }
            if Instant::now() >= control.deadline {
                return Err(control.timeout_fault("in guest code").into());
            }
            Ok(UpdateDeadline::Yield(1))
        });
        (store, stdout, stderr)
    }

    /// Instantiates `component` in a fresh store and calls `f` on the instance, bounded by
    /// `control`: its deadline (epochs in guest code, a timer around host calls) and its
    /// interrupt. The store is dropped afterwards; the host state comes back in the result.
    async fn call<R>(
        &self,
        component: &LoadedComponent<H>,
        host: H,
        control: &RunControl,
        f: impl AsyncFnOnce(&Instance, &mut Store<GuestState<H>>) -> wasmtime::Result<R>,
    ) -> (Result<R, Fault>, GuestRun<H>) {
        let started = Instant::now();
        let (mut store, stdout, stderr) = self.new_store(host, control);
        // A little grace past the deadline, so that the epoch callback or the host's own
        // timers end the call with their more precise message first.
        let hard_deadline = durations::deadline_after(control.deadline, Duration::from_millis(250));
        let result = {
            let call = async {
                let instance = component.pre.instantiate(&mut store).await?;
                f(&instance, &mut store).await
            };
            tokio::select! {
                biased;
                _ = control.interrupt.triggered() => Err(HostTrap::Interrupted.into()),
                _ = tokio::time::sleep_until(hard_deadline.into()) => Err(control.timeout_fault("in a host call").into()),
                result = call => result,
            }
        };
        let elapsed = started.elapsed();
        let state = store.into_data();
        let result = result.map_err(|error| {
            let stderr_text = stderr.text();
            classify(
                &error,
                &FaultContext {
                    memory_cap: self.options.memory_cap,
                    exceeded_at: state.limits.exceeded_at,
                    reported_panic: state.host.reported_panic(),
                    stderr: &stderr_text,
                },
            )
        });
        let run = GuestRun {
            result: Ok(GuestOutcome::Passed),
            stdout,
            stderr,
            host: state.host,
            elapsed,
        };
        (result, run)
    }

    /// Asks `component` for its scenarios, in a fresh store bounded by the listing timeout.
    pub async fn scenarios(
        &self,
        component: &LoadedComponent<H>,
        host: H,
    ) -> Result<Vec<ScenarioMeta>, LoadError> {
        let control = RunControl::new(self.options.listing_timeout, Interrupt::default());
        let (result, _run) = self
            .call(component, host, &control, async |instance, store| {
                Ok(match instance {
                    Instance::V0_1(i) => {
                        let metas = i.focus_scenario_suite().call_scenarios(store).await?;
                        metas.into_iter().map(ScenarioMeta::from).collect()
                    }
                    Instance::V0_2(i) => {
                        let metas = i.focus_scenario_suite().call_scenarios(store).await?;
                        metas.into_iter().map(ScenarioMeta::from).collect()
                    }
                })
            })
            .await;
        let listing = |reason: String| LoadError::Listing {
            path: component.path.clone(),
            reason,
        };
        let metas: Vec<ScenarioMeta> = result
            .map_err(|fault| listing(format!("{}: {}", fault.kind.as_str(), fault.message)))?;
        let mut seen = std::collections::HashSet::new();
        for meta in &metas {
            if meta.name.trim().is_empty() {
                return Err(listing("a scenario has an empty name".into()));
            }
            if !seen.insert(meta.name.as_str()) {
                return Err(listing(format!(
                    "two scenarios are called `{}`; names must be unique",
                    meta.name
                )));
            }
        }
        Ok(metas)
    }

    /// Instantiates `component` in a fresh store and drops it: what each scenario pays before
    /// its first instruction. For benchmarks.
    pub async fn instantiate(&self, component: &LoadedComponent<H>, host: H) -> Result<(), Fault> {
        let control = RunControl::new(self.options.listing_timeout, Interrupt::default());
        let (result, _run) = self
            .call(component, host, &control, async |_, _| Ok(()))
            .await;
        result
    }

    /// Runs scenario `name` of `component` on a fresh instance, within `control`.
    pub async fn run(
        &self,
        component: &LoadedComponent<H>,
        name: &str,
        host: H,
        control: &RunControl,
    ) -> GuestRun<H> {
        let (result, mut run) = self
            .call(component, host, control, async |instance, store| {
                Ok(match instance {
                    Instance::V0_1(i) => {
                        i.focus_scenario_suite().call_run(store, name).await?.into()
                    }
                    Instance::V0_2(i) => {
                        i.focus_scenario_suite().call_run(store, name).await?.into()
                    }
                })
            })
            .await;
        run.result = result;
        run
    }

    /// Checks `component`'s steady-state hypothesis once, on a fresh instance within
    /// `control`. `None` when it declares none (every 0.1 component, and a 0.2 component whose
    /// `steady-state` answers `none`); else the check's outcome, or the fault that ended it.
    pub async fn steady_state(
        &self,
        component: &LoadedComponent<H>,
        host: H,
        control: &RunControl,
    ) -> Option<GuestRun<H>> {
        if component.version == ContractVersion::V0_1 {
            return None;
        }
        let (result, mut run) = self
            .call(component, host, control, async |instance, store| {
                Ok(match instance {
                    Instance::V0_1(_) => None,
                    Instance::V0_2(i) => i
                        .focus_scenario_suite()
                        .call_steady_state(store)
                        .await?
                        .map(GuestOutcome::from),
                })
            })
            .await;
        run.result = match result {
            Ok(None) => return None,
            Ok(Some(outcome)) => Ok(outcome),
            Err(fault) => Err(fault),
        };
        Some(run)
    }
}
