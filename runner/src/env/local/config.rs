//! `[environments.local]`: the workloads the local environment runs, and how.
//!
//! ```toml
//! [environments.local]
//! kind = "local"
//!
//! [environments.local.workloads.mongodb]
//! builtin = "mongodb"          # find mongod / secantusd-rs / .venv secantusd-py
//! service_port = 27117
//! readiness = "mongodb ping"
//! recreate_delay = "5s"
//!
//! [environments.local.workloads.focus-server]
//! command = "{exe:focus-server} --listen 127.0.0.1:{port} --mongo-uri mongodb://{service:mongodb}/?directConnection=true"
//! service_port = 5000
//! readiness = "http GET /health"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::template::CommandTemplate;

/// `[environments.<name>]` with `kind = "local"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The workload whose service is the Focus Server: `focus_url()` points at it.
    #[serde(default = "default_focus_workload")]
    pub focus_workload: String,
    /// How long opening the environment waits for every workload to be ready.
    #[serde(default = "default_startup_timeout", with = "durations::serde_text")]
    pub startup_timeout: Duration,
    /// The workloads, by name.
    #[serde(default)]
    pub workloads: BTreeMap<String, WorkloadConfig>,
}

fn default_focus_workload() -> String {
    "focus-server".to_owned()
}

fn default_startup_timeout() -> Duration {
    Duration::from_secs(60)
}

impl LocalConfig {
    /// Checks what serde cannot: names, distinct ports, references between workloads. `env` is
    /// the environment's name, for the message.
    pub fn validate(&self, env: &str) -> Result<(), String> {
        let config = self;
        let invalid = |m: String| format!("invalid environments.{env}: {m}");
        if config.workloads.is_empty() {
            return Err(invalid(
                "it declares no workload; add [environments.NAME.workloads.mongodb] and the like"
                    .into(),
            ));
        }
        let mut ports = BTreeMap::new();
        for (name, w) in &config.workloads {
            let label_ok = name.len() <= 50
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-');
            if !label_ok {
                return Err(invalid(format!(
                    "the workload name '{name}' must be lowercase letters, digits and '-', like a Kubernetes name"
                )));
            }
            if let Some(other) = ports.insert(w.service_port, name) {
                return Err(invalid(format!(
                    "workloads {other} and {name} both use service_port {}",
                    w.service_port
                )));
            }
            if w.replicas > super::deployment::MAX_REPLICAS {
                return Err(invalid(format!(
                    "workload {name}: replicas {} is more than {}",
                    w.replicas,
                    super::deployment::MAX_REPLICAS
                )));
            }
            if let Some(command) = &w.command
                && let Some(unknown) = command
                    .services()
                    .find(|s| !config.workloads.contains_key(*s))
            {
                return Err(invalid(format!(
                    "workload {name}: {{service:{unknown}}} names no workload"
                )));
            }
            if w.command.is_none() && w.builtin.is_none() {
                return Err(invalid(format!(
                    "workload {name} has neither `command` nor `builtin`"
                )));
            }
        }
        Ok(())
    }
}

/// One `[environments.local.workloads.<name>]` table: a Deployment and its Service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// The program and its arguments, as one string or a list, with placeholders: `{port}`,
    /// `{data_dir}`, `{pod}`, `{run_id}`, `{service:NAME}` and `{exe:NAME}`.
    pub command: Option<CommandTemplate>,
    /// A program the runner finds by itself when `command` is not set: `"mongodb"`.
    pub builtin: Option<Builtin>,
    /// The replicas the workload is declared with: its steady state.
    #[serde(default = "one")]
    pub replicas: u32,
    /// The stable `127.0.0.1` port of the workload's service.
    pub service_port: u16,
    /// How a pod is found ready: `"mongodb ping"`, `"http GET /path"` or `"tcp"`.
    pub readiness: Readiness,
    /// How long a deleted pod's replacement takes to start: the start-up window.
    #[serde(default = "five_seconds", with = "durations::serde_text")]
    pub recreate_delay: Duration,
    /// How long a stopping pod gets between SIGTERM and SIGKILL.
    #[serde(default = "ten_seconds", with = "durations::serde_text")]
    pub stop_grace: Duration,
    /// Extra environment variables of the pods.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

/// A program the runner knows how to find and start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    /// A MongoDB-wire server: `mongod` or SecantusDB, standalone, on `{port}` and `{data_dir}`.
    Mongodb,
}

/// How a pod's readiness is checked, against the pod's own port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Readiness {
    /// A `ping` command through the mongodb driver.
    MongodbPing,
    /// An HTTP GET of `path` answered with a 2xx status.
    HttpGet {
        /// Such as `/health`.
        path: String,
    },
    /// A TCP connection is accepted.
    Tcp,
}

impl TryFrom<String> for Readiness {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["mongodb", "ping"] | ["mongodb-ping"] | ["mongodb"] => Ok(Self::MongodbPing),
            ["tcp"] => Ok(Self::Tcp),
            ["http", method, path]
                if method.eq_ignore_ascii_case("GET") && path.starts_with('/') =>
            {
                Ok(Self::HttpGet {
                    path: (*path).to_owned(),
                })
            }
            _ => Err(format!(
                "unknown readiness check '{text}': use \"mongodb ping\", \"http GET /path\" or \"tcp\""
            )),
        }
    }
}

impl std::fmt::Display for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MongodbPing => f.write_str("mongodb ping"),
            Self::HttpGet { path } => write!(f, "http GET {path}"),
            Self::Tcp => f.write_str("tcp"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_durations_use_the_one_parser_and_refuse_absurd_values() {
        let parse = |delay: &str| {
            toml::from_str::<LocalConfig>(&format!(
                "[workloads.a]\nservice_port = 1\nreadiness = \"tcp\"\nrecreate_delay = {delay}\n"
            ))
            .map(|c| c.workloads["a"].recreate_delay)
        };
        assert_eq!(parse("\"1m30s\"").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("\"2.5s\"").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse("0.5").unwrap(), Duration::from_millis(500));
        for absurd in ["1e300", "\"1e300\"", "-1", "nan", "\"5 parsecs\"", "\"\""] {
            let error = parse(absurd).unwrap_err().to_string();
            assert!(error.contains("recreate_delay"), "{absurd}: {error}");
        }
    }

    #[test]
    fn readiness_reads_the_three_forms() {
        assert_eq!(
            Readiness::try_from("mongodb ping".to_owned()),
            Ok(Readiness::MongodbPing)
        );
        assert_eq!(
            Readiness::try_from("http GET /health".to_owned()),
            Ok(Readiness::HttpGet {
                path: "/health".into()
            })
        );
        assert_eq!(Readiness::try_from("tcp".to_owned()), Ok(Readiness::Tcp));
        assert!(
            Readiness::try_from("http POST /x".to_owned())
                .unwrap_err()
                .contains("http GET /path")
        );
    }

    #[test]
    fn a_workload_takes_defaults_and_rejects_unknown_keys() {
        let config: LocalConfig = toml::from_str(
            r#"
            [workloads.mongodb]
            builtin = "mongodb"
            service_port = 27117
            readiness = "mongodb ping"
            "#,
        )
        .unwrap();
        let mongodb = &config.workloads["mongodb"];
        assert_eq!(mongodb.replicas, 1);
        assert_eq!(mongodb.recreate_delay, Duration::from_secs(5));
        assert_eq!(mongodb.builtin, Some(Builtin::Mongodb));
        assert_eq!(config.focus_workload, "focus-server");

        let error = toml::from_str::<LocalConfig>(
            "[workloads.x]\nservice_port = 1\nreadiness = \"tcp\"\nreplica = 2\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("replica"), "{error}");
    }

    #[test]
    fn validation_names_the_mistake() {
        let check = |text: &str| {
            toml::from_str::<LocalConfig>(text)
                .unwrap()
                .validate("local")
        };
        let ok = "[workloads.a]\nbuiltin = \"mongodb\"\nservice_port = 1\nreadiness = \"tcp\"\n";
        assert_eq!(check(ok), Ok(()));
        let twice =
            format!("{ok}[workloads.b]\ncommand = \"x\"\nservice_port = 1\nreadiness = \"tcp\"\n");
        assert!(
            check(&twice)
                .unwrap_err()
                .contains("both use service_port 1")
        );
        let upper = ok.replace("workloads.a", "workloads.Mongo");
        assert!(
            check(&upper)
                .unwrap_err()
                .contains("'Mongo' must be lowercase")
        );
        let dangling = ok.replace("builtin = \"mongodb\"", "command = \"x {service:db}\"");
        assert!(
            check(&dangling)
                .unwrap_err()
                .contains("{service:db} names no workload")
        );
        let bare = ok.replace("builtin = \"mongodb\"\n", "");
        assert!(
            check(&bare)
                .unwrap_err()
                .contains("neither `command` nor `builtin`")
        );
        assert!(check("").unwrap_err().contains("declares no workload"));
    }
}
