//! Loading a component once per file: compiled (or taken from the compile cache), checked to
//! be of the `scenario` world, and linked against its contract version's bindings, ready to be
//! instantiated once per scenario.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Component;

use super::bindings::{ContractVersion, v0_1, v0_2};
use super::cache::Fetched;
use super::check::{LoadError, check_world};
use super::file::ComponentFile;
use super::run::one_line;
use super::store::GuestState;
use super::{GuestHost, ScenarioEngine};

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
    /// Compiles (or loads from the cache), checks and links the component at `path`. With a
    /// cache, a file already compiled and unchanged since is not even read: see
    /// [`CompileCache`](super::CompileCache).
    pub fn load(&self, path: &Path) -> Result<LoadedComponent<H>, LoadError> {
        let started = Instant::now();
        let file = ComponentFile::open(path)?;
        let Fetched {
            component,
            from_cache,
            warning: cache_warning,
        } = match &self.cache {
            Some(cache) => cache.fetch(&self.engine, file)?,
            None => {
                let bytes = file.read_all()?;
                let component =
                    Component::new(&self.engine, &bytes).map_err(|e| LoadError::Corrupt {
                        path: path.to_owned(),
                        size: bytes.len(),
                        reason: format!("{e:#}"),
                    })?;
                Fetched {
                    component,
                    from_cache: false,
                    warning: None,
                }
            }
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
