//! Loading a component once per file: compiled (or taken from the compile cache), checked to
//! be of the `scenario` world, and linked against its contract version's bindings, ready to be
//! instantiated once per scenario.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Component;

use super::bindings::{ContractVersion, v0_1, v0_2};
use super::check::{LoadError, check_header, check_world};
use super::run::one_line;
use super::store::GuestState;
use super::{CacheKey, GuestHost, ScenarioEngine, file};

/// A component ready to instantiate: compiled, checked and linked once per file.
pub struct LoadedComponent<H: 'static> {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name: the file stem, such as `focus_outage_scenarios`.
    pub name: String,
    /// Whether it came from the compile cache.
    pub from_cache: bool,
    /// How long compiling or loading it took.
    pub load_time: Duration,
    /// Why the compile cache could not be used, if it could not.
    pub cache_warning: Option<String>,
    /// The contract version it was built against.
    pub version: ContractVersion,
    pub(super) pre: Pre<H>,
}

/// A component linked against its contract version's bindings.
pub(super) enum Pre<H: 'static> {
    V0_1(v0_1::ScenarioPre<GuestState<H>>),
    V0_2(v0_2::ScenarioPre<GuestState<H>>),
}

/// An instance of a component, of its contract version.
pub(super) enum Instance {
    V0_1(v0_1::Scenario),
    V0_2(v0_2::Scenario),
}

impl<H: GuestHost> Pre<H> {
    pub(super) async fn instantiate(
        &self,
        store: &mut Store<GuestState<H>>,
    ) -> wasmtime::Result<Instance> {
        Ok(match self {
            Self::V0_1(pre) => Instance::V0_1(pre.instantiate_async(store).await?),
            Self::V0_2(pre) => Instance::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

impl<H: GuestHost> ScenarioEngine<H> {
    /// Reads, compiles (or loads from the cache), checks and links the component at `path`.
    pub fn load(&self, path: &Path) -> Result<LoadedComponent<H>, LoadError> {
        let bytes = file::read_component(path)?;
        self.load_bytes(path, &bytes)
    }

    /// As [`Self::load`], with the file's bytes already read.
    pub fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<LoadedComponent<H>, LoadError> {
        let started = Instant::now();
        check_header(path, bytes)?;
        let corrupt = |reason: String| LoadError::Corrupt {
            path: path.to_owned(),
            size: bytes.len(),
            reason,
        };
        let (component, from_cache, cache_warning) = match &self.cache {
            Some(cache) => {
                let key = CacheKey::new(&self.engine, bytes);
                match cache.load(&self.engine, &key) {
                    Some(component) => (component, true, None),
                    None => {
                        let (component, warning) = cache
                            .compile_and_store(&self.engine, &key, bytes)
                            .map_err(corrupt)?;
                        (component, false, warning)
                    }
                }
            }
            None => (
                Component::new(&self.engine, bytes).map_err(|e| corrupt(format!("{e:#}")))?,
                false,
                None,
            ),
        };
        let version = self.check_component(path, &component)?;
        let other = |e: wasmtime::Error| LoadError::OtherWorld {
            path: path.to_owned(),
            reason: one_line(&format!("{e:#}")),
        };
        let pre = match version {
            ContractVersion::V0_1 => {
                let instance_pre = self
                    .linker_v0_1
                    .instantiate_pre(&component)
                    .map_err(other)?;
                Pre::V0_1(v0_1::ScenarioPre::new(instance_pre).map_err(other)?)
            }
            ContractVersion::V0_2 => {
                let instance_pre = self
                    .linker_v0_2
                    .instantiate_pre(&component)
                    .map_err(other)?;
                Pre::V0_2(v0_2::ScenarioPre::new(instance_pre).map_err(other)?)
            }
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "component".into());
        Ok(LoadedComponent {
            path: path.to_owned(),
            name,
            from_cache,
            load_time: started.elapsed(),
            cache_warning,
            version,
            pre,
        })
    }

    fn check_component(
        &self,
        path: &Path,
        component: &Component,
    ) -> Result<ContractVersion, LoadError> {
        let ty = component.component_type();
        let imports: Vec<&str> = ty.imports(&self.engine).map(|(name, _)| name).collect();
        let exports: Vec<&str> = ty.exports(&self.engine).map(|(name, _)| name).collect();
        check_world(path, &imports, &exports)
    }
}
