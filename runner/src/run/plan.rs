//! What a run will do: the component files, loaded and checked, each with its scenarios and
//! those the selection picked; or, for a file that did not load, why.

use std::path::{Path, PathBuf};

use crate::engine::{LoadError, LoadedComponent, ScenarioEngine, ScenarioMeta};
use crate::host::ScenarioHost;

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
    /// Never these names.
    pub exclude: Vec<String>,
    /// Never scenarios with any of these tags.
    pub exclude_tags: Vec<String>,
    /// Only this share of what the rest selects, for one of several CI machines.
    pub partition: Option<Partition>,
}

impl Selection {
    /// Whether `meta` is selected, before the partition (which needs the whole run).
    pub fn matches(&self, meta: &ScenarioMeta) -> bool {
        self.scenario.as_ref().is_none_or(|s| &meta.name == s)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| meta.name.contains(f.as_str()))
            && (self.tags.is_empty() || self.tags.iter().any(|t| meta.tags.contains(t)))
            && !self.exclude.contains(&meta.name)
            && !self.exclude_tags.iter().any(|t| meta.tags.contains(t))
    }
}

/// `K/N`: the K-th of N shares of a run's selected scenarios, counted in run order (the
/// scenario at position i, from 0, goes to share `i % N + 1`), like cargo-nextest's
/// `count:K/N`. The N shares are disjoint and together hold every selected scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which share, from 1.
    pub index: u32,
    /// How many shares.
    pub count: u32,
}

impl Partition {
    /// Whether the scenario at `position` (from 0, in run order) belongs to this share.
    pub fn holds(self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a partition: write K/N with 1 <= K <= N, such as 2/3 for the \
                 second of three CI machines"
            )
        };
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
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

/// Where a component comes from: a file, or a PATH that named none (it does not exist, or
/// its package failed to build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A component file.
    File(PathBuf),
    /// A PATH that gave no file, and why; the run reports it as a `load` error.
    Unresolved {
        /// The PATH as given.
        path: PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
}

/// Loads every file and asks each component for its scenarios. A file that fails to load, or a
/// PATH that named no file, is a [`PlanEntry::Broken`]; the others are still loaded.
pub async fn load_plan(
    engine: &Engine,
    sources: &[Source],
    selection: &Selection,
) -> Vec<PlanEntry> {
    let mut plan = Vec::new();
    let mut names = std::collections::HashSet::new();
    // Position among the scenarios the selection picks, over the whole run, for the partition.
    let mut position = 0usize;
    for source in sources {
        let path = match source {
            Source::File(path) => path,
            Source::Unresolved { path, message } => {
                plan.push(PlanEntry::Broken {
                    suite: unique_suite_name(path, &mut names),
                    path: path.clone(),
                    error: LoadError::Unresolved {
                        path: path.clone(),
                        message: message.clone(),
                    },
                });
                continue;
            }
        };
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
                    .filter(|_| {
                        position += 1;
                        selection.partition.is_none_or(|p| p.holds(position - 1))
                    })
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

#[cfg(test)]
mod tests {
    use super::Partition;

    #[test]
    fn partitions_parse_or_say_how_to_write_them() {
        assert_eq!(
            "2/3".parse::<Partition>(),
            Ok(Partition { index: 2, count: 3 })
        );
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/2", ""] {
            let error = bad.parse::<Partition>().unwrap_err();
            assert!(error.contains("write K/N"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_shares_are_disjoint_and_cover_every_position() {
        for count in 1..=5u32 {
            for position in 0..23usize {
                let holders = (1..=count)
                    .filter(|&index| Partition { index, count }.holds(position))
                    .count();
                assert_eq!(holders, 1, "position {position} of {count} shares");
            }
        }
    }
}
