//! What a run will do: the component files, loaded and checked, each with its scenarios and
//! those the selection picked; or, for a file that did not load, why.

use std::path::{Path, PathBuf};

use super::ScenarioHost;
use crate::engine::{LoadError, LoadedComponent, ScenarioEngine, ScenarioMeta};

/// The engine type of a run.
pub type Engine = ScenarioEngine<ScenarioHost>;

/// Which scenarios to run. Every criterion given must hold.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Exactly this name.
    pub scenario: Option<String>,
    /// Names containing this.
    pub filter: Option<String>,
    /// Scenarios with at least one of these tags.
    pub tags: Vec<String>,
}

impl Selection {
    /// Whether `meta` is selected.
    pub fn matches(&self, meta: &ScenarioMeta) -> bool {
        self.scenario.as_ref().is_none_or(|s| &meta.name == s)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| meta.name.contains(f.as_str()))
            && (self.tags.is_empty() || self.tags.iter().any(|t| meta.tags.contains(t)))
    }
}

/// A component file, loaded and with its selected scenarios, or the reason it did not load.
pub enum PlanEntry {
    /// Loaded.
    Loaded {
        /// The component.
        component: LoadedComponent<ScenarioHost>,
        /// Its suite name, unique in the run.
        suite: String,
        /// Every scenario it holds.
        all: Vec<ScenarioMeta>,
        /// Those selected, in the component's order.
        selected: Vec<ScenarioMeta>,
    },
    /// Could not be loaded: an error case in the report.
    Broken {
        /// Its suite name, unique in the run.
        suite: String,
        /// The file.
        path: PathBuf,
        /// Why.
        error: LoadError,
    },
}

/// Loads every file and asks each component for its scenarios. A file that fails to load is a
/// [`PlanEntry::Broken`]; the others are still loaded.
pub async fn load_plan(
    engine: &Engine,
    paths: &[PathBuf],
    selection: &Selection,
) -> Vec<PlanEntry> {
    let mut plan = Vec::new();
    let mut names = std::collections::HashSet::new();
    for path in paths {
        let suite = unique_suite_name(path, &mut names);
        let loaded = match engine.load(path) {
            Ok(component) => engine
                .scenarios(&component, ScenarioHost::detached())
                .await
                .map(|all| (component, all)),
            Err(error) => Err(error),
        };
        plan.push(match loaded {
            Ok((component, all)) => {
                let selected = all
                    .iter()
                    .filter(|m| selection.matches(m))
                    .cloned()
                    .collect();
                PlanEntry::Loaded {
                    component,
                    suite,
                    all,
                    selected,
                }
            }
            Err(error) => PlanEntry::Broken {
                suite,
                path: path.clone(),
                error,
            },
        });
    }
    plan
}

fn unique_suite_name(path: &Path, taken: &mut std::collections::HashSet<String>) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".into());
    let mut name = stem.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}
