//! Finding and reading `runner.toml`: `--config FILE`, or the nearest `runner.toml` walking up
//! from the current folder (the workspace root in a checkout).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::RunnerConfig;
use crate::env::OpenContext;

/// The configuration file's name.
pub const CONFIG_FILE: &str = "runner.toml";

/// A parsed `runner.toml` and where it is.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The parsed file.
    pub config: RunnerConfig,
    /// The file.
    pub path: PathBuf,
    /// Its folder: relative paths in it, `target/` and the compile cache start here.
    pub root: PathBuf,
}

impl LoadedConfig {
    /// The context for opening environment `name` in a new run: a fresh run id, and the run's
    /// own folder `target/scenario-runs/<run-id>` beside this configuration.
    pub fn open_context(&self, name: &str, force_cleanup: bool) -> OpenContext {
        let run_id = run_id();
        OpenContext {
            name: name.to_owned(),
            run_dir: self.root.join("target").join("scenario-runs").join(&run_id),
            run_id,
            config_dir: self.root.clone(),
            force_cleanup,
        }
    }
}

/// `20261124-154433-7f3a`: when the run started (UTC), and a random suffix.
fn run_id() -> String {
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    format!(
        "{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

/// The nearest `runner.toml` in `start` or one of its parents.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

/// Reads `explicit`, or the nearest `runner.toml` from the current folder up. The error says
/// where it looked and what to do.
pub fn load_config(explicit: Option<&Path>) -> anyhow::Result<LoadedConfig> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let path = match explicit {
        Some(path) => cwd.join(path),
        None => find_config(&cwd).with_context(|| {
            format!(
                "no {CONFIG_FILE} in {} or any folder above it; run from the workspace, or pass --config FILE",
                cwd.display()
            )
        })?,
    };
    let config = RunnerConfig::load(&path)?;
    let root = path.parent().map(Path::to_owned).unwrap_or(cwd);
    Ok(LoadedConfig { config, path, root })
}
