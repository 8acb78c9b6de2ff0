//! Settings: command-line flags with matching environment variables, over an optional TOML
//! file, over built-in defaults (flag > environment > file > default).
//!
//! ```toml
//! # focus-server.toml: every key is optional
//! listen = "0.0.0.0:5000"
//! mongo_uri = "mongodb://127.0.0.1:27017"
//! prr = 2000.0
//! channels = 2222
//! db_timeout = "2s"
//! fail_fast = true
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

/// The command line of `focus-server`.
#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "focus-server",
    version,
    about = "The Focus Server: the DAS spectrogram control API"
)]
pub struct Cli {
    /// Address to listen on [default: 0.0.0.0:5000].
    #[arg(long, env = "FOCUS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// MongoDB connection string [default: mongodb://127.0.0.1:27017]; `directConnection=true`
    /// is added when absent so that the client never follows advertised replica-set hosts.
    #[arg(long, env = "FOCUS_MONGO_URI")]
    pub mongo_uri: Option<String>,
    /// The pulse repetition rate of the interrogator, in Hz [default: 2000].
    #[arg(long, env = "FOCUS_PRR")]
    pub prr: Option<f64>,
    /// The number of fiber channels (the highest channel number) [default: 2222].
    #[arg(long, env = "FOCUS_CHANNELS")]
    pub channels: Option<u32>,
    /// Write the synthetic recordings index (last 7 days and 2025-01-01 00:00-00:10 UTC) at
    /// start-up, idempotently.
    #[arg(long, env = "FOCUS_SEED_RECORDINGS")]
    pub seed_recordings: bool,
    /// An optional TOML settings file.
    #[arg(long, env = "FOCUS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "FOCUS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// The driver's server selection timeout (connect timeout: the same, at most 10 s), such as
    /// `2s` or `30s` [default: 2s].
    #[arg(long, env = "FOCUS_DB_TIMEOUT", value_parser = parse_duration)]
    pub db_timeout: Option<Duration>,
    /// `on`: the database gate, per-call deadlines and the request backstop. `off`: the old
    /// behaviour (plain driver timeouts), kept to show the bug.
    #[arg(long, env = "FOCUS_FAIL_FAST", value_parser = parse_on_off)]
    pub fail_fast: Option<bool>,
    /// How many live job records may wait for the database [default: 10000].
    #[arg(long, env = "FOCUS_PENDING_RECORDS_MAX")]
    pub pending_records_max: Option<usize>,
    /// How many jobs may run at once [default: 1000].
    #[arg(long, env = "FOCUS_MAX_JOBS")]
    pub max_jobs: Option<usize>,
    /// The gRPC data stream port of job slot 0; slot n listens on base + n while its job runs
    /// (slots past port 65535 cannot start) [default: 12300].
    #[arg(long, env = "FOCUS_STREAM_BASE_PORT")]
    pub stream_base_port: Option<u16>,
    /// The MongoDB database of the recordings layout and the job records [default: prisma].
    #[arg(long, env = "FOCUS_DATABASE")]
    pub database: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event.
    Json,
}

/// The optional TOML file: the same keys as the flags, in snake case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    listen: Option<SocketAddr>,
    mongo_uri: Option<String>,
    prr: Option<f64>,
    channels: Option<u32>,
    seed_recordings: Option<bool>,
    log_format: Option<LogFormat>,
    db_timeout: Option<String>,
    fail_fast: Option<bool>,
    pending_records_max: Option<usize>,
    max_jobs: Option<usize>,
    database: Option<String>,
    stream_host: Option<String>,
    stream_base_port: Option<u16>,
    fiber_start_meters: Option<f64>,
    dx: Option<f64>,
    fiber_description: Option<String>,
}

/// The resolved settings of one server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// MongoDB URI, with `directConnection=true`.
    pub mongo_uri: String,
    /// Pulse repetition rate, Hz.
    pub prr: f64,
    /// Highest channel number (channels are 1..=channels).
    pub channels: u32,
    /// Whether to write the synthetic recordings index.
    pub seed_recordings: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Driver server-selection timeout.
    pub db_timeout: Duration,
    /// Gate, deadlines and backstop on.
    pub fail_fast: bool,
    /// Bound of the pending job-record queue.
    pub pending_records_max: usize,
    /// Bound of running jobs.
    pub max_jobs: usize,
    /// The MongoDB database.
    pub database: String,
    /// Host given to clients in `stream_url`.
    pub stream_host: String,
    /// The stream port of job slot 0; slot n gets base + n.
    pub stream_base_port: u16,
    /// Fiber start offset, meters.
    pub fiber_start_meters: f64,
    /// Spatial sampling interval, meters per channel.
    pub dx: f64,
    /// Free text describing the fiber.
    pub fiber_description: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ([0, 0, 0, 0], 5000).into(),
            mongo_uri: "mongodb://127.0.0.1:27017/?directConnection=true".to_owned(),
            prr: 2000.0,
            channels: 2222,
            seed_recordings: false,
            log_format: LogFormat::Human,
            db_timeout: Duration::from_secs(2),
            fail_fast: true,
            pending_records_max: 10_000,
            max_jobs: 1000,
            database: "prisma".to_owned(),
            stream_host: "127.0.0.1".to_owned(),
            stream_base_port: 12300,
            fiber_start_meters: 0.0,
            dx: 1.0,
            fiber_description: "synthetic test fiber".to_owned(),
        }
    }
}

/// Why the settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("the settings file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong and what to use.
        message: String,
    },
}

impl Settings {
    /// Resolves flags over the file named by `--config` over defaults.
    pub fn resolve(cli: &Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str::<FileSettings>(&text).map_err(|e| ConfigError::Parse {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
            None => FileSettings::default(),
        };
        Self::merge(cli, file)
    }

    fn merge(cli: &Cli, file: FileSettings) -> Result<Self, ConfigError> {
        let d = Settings::default();
        let file_timeout = match file.db_timeout {
            Some(t) => Some(parse_duration(&t).map_err(|e| ConfigError::Invalid {
                key: "db_timeout",
                message: e.to_string(),
            })?),
            None => None,
        };
        let s = Settings {
            listen: cli.listen.or(file.listen).unwrap_or(d.listen),
            mongo_uri: with_direct_connection(
                &cli.mongo_uri
                    .clone()
                    .or(file.mongo_uri)
                    .unwrap_or(d.mongo_uri),
            ),
            prr: cli.prr.or(file.prr).unwrap_or(d.prr),
            channels: cli.channels.or(file.channels).unwrap_or(d.channels),
            seed_recordings: cli.seed_recordings || file.seed_recordings.unwrap_or(false),
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            db_timeout: cli.db_timeout.or(file_timeout).unwrap_or(d.db_timeout),
            fail_fast: cli.fail_fast.or(file.fail_fast).unwrap_or(d.fail_fast),
            pending_records_max: cli
                .pending_records_max
                .or(file.pending_records_max)
                .unwrap_or(d.pending_records_max),
            max_jobs: cli.max_jobs.or(file.max_jobs).unwrap_or(d.max_jobs),
            database: cli.database.clone().or(file.database).unwrap_or(d.database),
            stream_host: file.stream_host.unwrap_or(d.stream_host),
            stream_base_port: cli
                .stream_base_port
                .or(file.stream_base_port)
                .unwrap_or(d.stream_base_port),
            fiber_start_meters: file.fiber_start_meters.unwrap_or(d.fiber_start_meters),
            dx: file.dx.unwrap_or(d.dx),
            fiber_description: file.fiber_description.unwrap_or(d.fiber_description),
        };
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(self.prr.is_finite() && self.prr >= 2.0) {
            return Err(ConfigError::Invalid {
                key: "prr",
                message: format!("must be at least 2 Hz, got {}", self.prr),
            });
        }
        if self.channels == 0 {
            return Err(ConfigError::Invalid {
                key: "channels",
                message: "must be at least 1".into(),
            });
        }
        if self.db_timeout < Duration::from_millis(100) {
            return Err(ConfigError::Invalid {
                key: "db_timeout",
                message: "must be at least 100ms".into(),
            });
        }
        if self.database.is_empty()
            || self.database.len() > 63
            || self
                .database
                .contains(['/', '\\', '.', ' ', '"', '$', '\0'])
        {
            return Err(ConfigError::Invalid {
                key: "database",
                message: format!(
                    "{:?} is not a MongoDB database name: 1 to 63 characters, none of / \\ . space \" $ or NUL",
                    self.database
                ),
            });
        }
        if self.max_jobs == 0 || self.pending_records_max == 0 {
            return Err(ConfigError::Invalid {
                key: "max_jobs",
                message: "bounds must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// The driver's connect timeout: the db timeout, at most the driver's default of 10 s.
    pub fn connect_timeout(&self) -> Duration {
        self.db_timeout.min(Duration::from_secs(10))
    }

    /// The deadline of one database call in fail-fast mode: db timeout + 0.5 s (2.5 s by default).
    pub fn call_deadline(&self) -> Duration {
        self.db_timeout + Duration::from_millis(500)
    }

    /// The budget a handler spends on database calls in one request (fail-fast mode).
    pub fn request_budget(&self) -> Duration {
        Duration::from_millis(4000)
    }

    /// The whole-request backstop (fail-fast mode): answers 503 before the 4.5 s mark.
    pub fn request_backstop(&self) -> Duration {
        Duration::from_millis(4300)
    }
}

/// Appends `directConnection=true` to a MongoDB URI that does not say it, so the driver talks to
/// the given host only (a proxy in front of MongoDB then really is the only path).
pub fn with_direct_connection(uri: &str) -> String {
    if uri.to_ascii_lowercase().contains("directconnection=") || uri.starts_with("mongodb+srv://") {
        return uri.to_owned();
    }
    let rest = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    let sep = if uri.contains('?') {
        if uri.ends_with('?') || uri.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else if rest.contains('/') {
        "?"
    } else {
        "/?"
    };
    format!("{uri}{sep}directConnection=true")
}

/// Parses a duration flag such as `--db-timeout`: `250ms`, `2s`, `1.5s`, `1m30s` or a bare
/// number of seconds, from 1 ms to a week (the project's one parser, `durations`).
pub fn parse_duration(text: &str) -> Result<Duration, durations::DurationError> {
    durations::parse("", text, durations::Bounds::TIMEOUT)
}

fn parse_on_off(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{text:?}: use on or off")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_connection_is_added_once() {
        let cases = [
            ("mongodb://h:1", "mongodb://h:1/?directConnection=true"),
            ("mongodb://h:1/", "mongodb://h:1/?directConnection=true"),
            ("mongodb://h:1/db", "mongodb://h:1/db?directConnection=true"),
            (
                "mongodb://h:1/?w=1",
                "mongodb://h:1/?w=1&directConnection=true",
            ),
            (
                "mongodb://h:1/?directConnection=false",
                "mongodb://h:1/?directConnection=false",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(with_direct_connection(input), want, "{input}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        for absurd in ["1e30", "1e19", "-1", "nan", "inf", "0"] {
            assert!(parse_duration(absurd).is_err(), "{absurd}");
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let cli = Cli {
            prr: Some(1000.0),
            fail_fast: Some(false),
            ..Cli::default()
        };
        let file = FileSettings {
            prr: Some(500.0),
            channels: Some(64),
            db_timeout: Some("30s".into()),
            ..FileSettings::default()
        };
        let s = Settings::merge(&cli, file).unwrap();
        assert_eq!(s.prr, 1000.0);
        assert_eq!(s.channels, 64);
        assert_eq!(s.db_timeout, Duration::from_secs(30));
        assert_eq!(s.connect_timeout(), Duration::from_secs(10));
        assert!(!s.fail_fast);
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let cli = Cli {
            prr: Some(0.0),
            ..Cli::default()
        };
        let err = Settings::merge(&cli, FileSettings::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("prr"), "{err}");
    }
}
