//! `runner.toml`: the runner's settings and its named environments.
//!
//! ```toml
//! default_environment = "local"
//!
//! [runner]
//! memory_limit_mib = 256     # each scenario's memory cap
//! load_max_rate = 2000       # the ceiling of a scenario's load, requests/s
//!
//! [params]                  # what scenarios read with `param(name)`
//! sla_s = "5"
//!
//! [environments.local]
//! kind = "local"
//! # … the backend's own keys
//!
//! [environments.local.params]   # overrides [params] for this environment
//! sla_s = "2.5"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use durations::{Bounds, DurationError};
use serde::Deserialize;

use crate::env::{kube::KubeConfig, local::LocalConfig, memory::MemoryConfig};

/// The whole `runner.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerConfig {
    /// The environment `run` uses without `--env`; `local` when not set.
    #[serde(default = "default_environment")]
    pub default_environment: String,
    /// Engine and report settings.
    #[serde(default)]
    pub runner: RunnerSettings,
    /// `[params]`: the scenario parameters of every environment.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The environments, by name.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// `[environments.<name>.params]`, by environment name: taken out of the environments'
    /// tables before they are read, as every backend has them.
    #[serde(skip)]
    pub environment_params: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_environment() -> String {
    "local".to_owned()
}

/// `[runner]`: limits and defaults of the engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerSettings {
    /// The memory cap of each scenario's store, in MiB.
    pub memory_limit_mib: u64,
    /// The timeout of a scenario that declares none, in seconds.
    pub default_timeout_s: f64,
    /// How long to wait for the steady state after a rollback, in seconds.
    pub steady_state_timeout_s: f64,
    /// The ceiling of a scenario's load, in requests per second.
    pub load_max_rate: u32,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            memory_limit_mib: 256,
            default_timeout_s: 120.0,
            steady_state_timeout_s: 60.0,
            load_max_rate: 2000,
        }
    }
}

/// The largest `load_max_rate`: far past what one machine sends, so a typo is caught.
pub const MAX_LOAD_RATE: u32 = 100_000;

/// The largest `memory_limit_mib`: 64 GiB, far past what a 32-bit guest can address.
pub const MAX_MEMORY_LIMIT_MIB: u64 = 64 << 10;

impl RunnerSettings {
    /// `default_timeout_s` as a duration: more than 0, at most [`durations::MAX`].
    pub fn default_timeout(&self) -> Result<Duration, DurationError> {
        durations::from_secs_f64(
            "runner.default_timeout_s",
            self.default_timeout_s,
            Bounds::TIMEOUT,
        )
    }

    /// `steady_state_timeout_s` as a duration: more than 0, at most [`durations::MAX`].
    pub fn steady_state_timeout(&self) -> Result<Duration, DurationError> {
        durations::from_secs_f64(
            "runner.steady_state_timeout_s",
            self.steady_state_timeout_s,
            Bounds::TIMEOUT,
        )
    }

    /// `load_max_rate`: 1 to [`MAX_LOAD_RATE`] requests per second.
    pub fn load_max_rate(&self) -> Result<u32, String> {
        match self.load_max_rate {
            rate @ 1..=MAX_LOAD_RATE => Ok(rate),
            rate => Err(format!(
                "runner.load_max_rate: {rate} is out of range: write a number of requests per \
                 second from 1 to {MAX_LOAD_RATE}"
            )),
        }
    }

    /// `memory_limit_mib` in bytes: 1 to [`MAX_MEMORY_LIMIT_MIB`] MiB, never a wrapped shift.
    pub fn memory_cap(&self) -> Result<usize, String> {
        let mib = self.memory_limit_mib;
        usize::try_from(mib)
            .ok()
            .filter(|&m| m >= 1 && mib <= MAX_MEMORY_LIMIT_MIB)
            .and_then(|m| m.checked_mul(1 << 20))
            .ok_or_else(|| {
                format!(
                    "runner.memory_limit_mib: {mib} is out of range: write a number of MiB from 1 \
                     to {MAX_MEMORY_LIMIT_MIB}, such as 256"
                )
            })
    }
}

/// One `[environments.<name>]` table, by its `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EnvironmentConfig {
    /// Processes on this machine.
    Local(LocalConfig),
    /// A cluster through kube-rs.
    Kubernetes(KubeConfig),
    /// The in-process simulation for tests.
    Memory(MemoryConfig),
}

impl EnvironmentConfig {
    /// `local`, `kubernetes` or `memory`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::Kubernetes(_) => "kubernetes",
            Self::Memory(_) => "memory",
        }
    }
}

/// Why `runner.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read the runner configuration {path}: {source}; pass --config FILE or create runner.toml at the workspace root"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of this shape.
    #[error("invalid runner configuration {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, which names the key and line.
        message: String,
    },
    /// A value is out of its range, such as `default_timeout_s = -1`.
    #[error("invalid runner configuration {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key and what to write instead.
        message: String,
    },
    /// The named environment is not in the file.
    #[error("no environment named '{name}' in {path}; it declares: {known}")]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The names it does declare.
        known: String,
    },
}

impl RunnerConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_owned(),
            message: message.trim().replace('\n', " "),
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let mut environment_params = BTreeMap::new();
        if let Some(toml::Value::Table(environments)) = table.get_mut("environments") {
            for (name, environment) in environments.iter_mut() {
                let Some(params) = environment.as_table_mut().and_then(|t| t.remove("params"))
                else {
                    continue;
                };
                let params: BTreeMap<String, String> = params.try_into().map_err(|e| {
                    parse_error(format!(
                        "environments.{name}.params must be a table of strings (quote numbers: sla_s = \"5\"): {e}"
                    ))
                })?;
                environment_params.insert(name.clone(), params);
            }
        }
        let mut config: Self = table
            .try_into()
            .map_err(|e: toml::de::Error| parse_error(e.to_string()))?;
        config.environment_params = environment_params;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        config
            .runner
            .default_timeout()
            .map_err(|e| invalid(e.to_string()))?;
        config
            .runner
            .steady_state_timeout()
            .map_err(|e| invalid(e.to_string()))?;
        config.runner.memory_cap().map_err(invalid)?;
        config.runner.load_max_rate().map_err(invalid)?;
        Ok(config)
    }

    /// The parameters of environment `name`: `[params]`, overridden by its own
    /// `[environments.<name>.params]`.
    pub fn params_for(&self, name: &str) -> BTreeMap<String, String> {
        let mut params = self.params.clone();
        if let Some(own) = self.environment_params.get(name) {
            params.extend(own.clone());
        }
        params
    }

    /// The environment called `name`, or the default one when `name` is `None`.
    pub fn environment(
        &self,
        name: Option<&str>,
        path: &Path,
    ) -> Result<(&str, &EnvironmentConfig), ConfigError> {
        let name = name.unwrap_or(&self.default_environment);
        self.environments
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.to_owned(),
                path: path.to_owned(),
                known: if self.environments.is_empty() {
                    "none".to_owned()
                } else {
                    self.environments
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_params_override_the_common_ones() {
        let text = r#"
            [params]
            sla_s = "5"
            region = "eu"
            [environments.sim]
            kind = "memory"
            [environments.sim.params]
            sla_s = "2.5"
            [environments.other]
            kind = "memory"
        "#;
        let config = RunnerConfig::parse(text, Path::new("runner.toml")).unwrap();
        let sim = config.params_for("sim");
        assert_eq!(sim["sla_s"], "2.5");
        assert_eq!(sim["region"], "eu");
        assert_eq!(config.params_for("other")["sla_s"], "5");
        assert!(config.environment(Some("sim"), Path::new("x")).is_ok());
    }

    #[test]
    fn a_number_as_a_param_is_refused_with_a_hint() {
        let text = "[environments.sim]\nkind = \"memory\"\n[environments.sim.params]\nsla_s = 5\n";
        let err = RunnerConfig::parse(text, Path::new("runner.toml")).unwrap_err();
        assert!(err.to_string().contains("quote numbers"), "{err}");
    }

    fn parse(runner: &str) -> Result<RunnerConfig, ConfigError> {
        RunnerConfig::parse(&format!("[runner]\n{runner}\n"), Path::new("runner.toml"))
    }

    #[test]
    fn absurd_durations_are_errors_that_name_the_key() {
        for (text, key) in [
            ("default_timeout_s = -1", "runner.default_timeout_s"),
            ("default_timeout_s = nan", "runner.default_timeout_s"),
            ("default_timeout_s = 1e300", "runner.default_timeout_s"),
            ("default_timeout_s = 0", "runner.default_timeout_s"),
            (
                "steady_state_timeout_s = inf",
                "runner.steady_state_timeout_s",
            ),
            (
                "steady_state_timeout_s = -0.5",
                "runner.steady_state_timeout_s",
            ),
        ] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains(key), "{text}: {message}");
        }
        let ok = parse("default_timeout_s = 90\nsteady_state_timeout_s = 1.5").unwrap();
        assert_eq!(ok.runner.default_timeout(), Ok(Duration::from_secs(90)));
        assert_eq!(
            ok.runner.steady_state_timeout(),
            Ok(Duration::from_millis(1500))
        );
    }

    #[test]
    fn a_memory_limit_that_would_wrap_is_refused() {
        for text in ["memory_limit_mib = 0", "memory_limit_mib = 17592186044416"] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains("runner.memory_limit_mib"), "{message}");
        }
        let ok = parse("memory_limit_mib = 64").unwrap();
        assert_eq!(ok.runner.memory_cap(), Ok(64 << 20));
    }

    #[test]
    fn a_load_ceiling_out_of_range_is_refused_naming_the_key() {
        for text in ["load_max_rate = 0", "load_max_rate = 100001"] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains("runner.load_max_rate"), "{message}");
        }
        let ok = parse("load_max_rate = 5000").unwrap();
        assert_eq!(ok.runner.load_max_rate(), Ok(5000));
        assert_eq!(parse("").unwrap().runner.load_max_rate(), Ok(2000));
    }
}
