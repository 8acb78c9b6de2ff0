//! Finding the programs pods run: the MongoDB-wire server of `builtin = "mongodb"`, and the
//! workspace binaries `{exe:NAME}` names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::config::{Builtin, WorkloadConfig};
use super::template::CommandTemplate;
use crate::env::{EnvError, EnvResult};

/// The MongoDB-wire server program found for `builtin = "mongodb"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MongoProgram {
    /// `mongod` on PATH.
    Mongod(PathBuf),
    /// SecantusDB: `secantusd-rs` on PATH or `secantusd-py` in the workspace's `.venv/bin`.
    Secantus(PathBuf),
}

impl MongoProgram {
    /// Finds one, in this order: `mongod` on `path`, `secantusd-rs` on `path`, then
    /// `<workspace>/.venv/bin/secantusd-py`. The error lists where it looked and how to install
    /// one. (A configured `command` comes first; the caller checks that.)
    pub fn find(workspace: &Path, path: Option<&OsString>) -> Result<Self, String> {
        if let Some(p) = find_on_path("mongod", path) {
            return Ok(Self::Mongod(p));
        }
        if let Some(p) = find_on_path("secantusd-rs", path) {
            return Ok(Self::Secantus(p));
        }
        let venv = workspace.join(".venv/bin/secantusd-py");
        if is_executable(&venv) {
            return Ok(Self::Secantus(venv));
        }
        Err(format!(
            "no MongoDB-wire server found: looked for `mongod` and `secantusd-rs` on PATH and for {}; \
             run `./scripts/setup` to install SecantusDB into .venv (or set `command` for the workload)",
            venv.display()
        ))
    }

    /// The program's path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Mongod(p) | Self::Secantus(p) => p,
        }
    }

    /// The command that serves `{data_dir}` on 127.0.0.1:`{port}` as a standalone server: no
    /// replica-set advertisement, so a driver never bypasses the service by following it.
    pub fn command(&self) -> CommandTemplate {
        let program = self
            .path()
            .to_string_lossy()
            .replace('{', "{{")
            .replace('}', "}}");
        let args: Vec<String> = match self {
            Self::Mongod(_) => vec![
                program,
                "--bind_ip".into(),
                "127.0.0.1".into(),
                "--port".into(),
                "{port}".into(),
            ]
            .into_iter()
            .chain(["--dbpath".into(), "{data_dir}".into(), "--quiet".into()])
            .collect(),
            Self::Secantus(_) => vec![
                program,
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                "{port}".into(),
                "--standalone".into(),
                "--storage-path".into(),
                "{data_dir}".into(),
                "--log-level".into(),
                "WARNING".into(),
            ],
        };
        CommandTemplate::from_args(&args).expect("the built-in MongoDB command is valid")
    }
}

/// The configured command, or the built-in program's.
pub fn resolve_command(
    name: &str,
    w: &WorkloadConfig,
    config_dir: &Path,
) -> EnvResult<CommandTemplate> {
    if let Some(command) = &w.command {
        return Ok(command.clone());
    }
    match w.builtin {
        Some(Builtin::Mongodb) => MongoProgram::find(config_dir, std::env::var_os("PATH").as_ref())
            .map(|program| program.command())
            .map_err(|e| EnvError::NotFound(format!("workload {name}: {e}"))),
        None => Err(EnvError::Failed(format!(
            "workload {name} has neither `command` nor `builtin`"
        ))),
    }
}

/// Finds the program `{exe:NAME}` names: next to the runner's own executable (or one folder
/// up, for test executables in `target/<profile>/deps`), then on PATH.
pub fn find_exe(name: &str, path: Option<&OsString>) -> Result<PathBuf, String> {
    let own = std::env::current_exe().ok();
    let beside: Vec<PathBuf> = own
        .iter()
        .flat_map(|exe| exe.ancestors().skip(1).take(2).map(|d| d.join(name)))
        .collect();
    if let Some(found) = beside.iter().find(|p| is_executable(p)) {
        return Ok(found.clone());
    }
    if let Some(found) = find_on_path(name, path) {
        return Ok(found);
    }
    let looked = beside
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "cannot find the program {name}: looked at {looked} and on PATH; build it with `cargo build -p {name}`"
    ))
}

/// The first executable file called `name` in the folders of `path` (a PATH value).
pub fn find_on_path(name: &str, path: Option<&OsString>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn the_order_is_mongod_then_secantusd_rs_then_the_venv() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        let venv = root.path().join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&venv).unwrap();
        let path = OsString::from(bin.as_os_str());

        let err = MongoProgram::find(root.path(), Some(&path)).unwrap_err();
        assert!(err.contains("`mongod` and `secantusd-rs` on PATH"), "{err}");
        assert!(err.contains(".venv/bin/secantusd-py"), "{err}");
        assert!(err.contains("./scripts/setup"), "{err}");

        let py = executable(&venv, "secantusd-py");
        assert_eq!(
            MongoProgram::find(root.path(), Some(&path)),
            Ok(MongoProgram::Secantus(py))
        );
        let rs = executable(&bin, "secantusd-rs");
        assert_eq!(
            MongoProgram::find(root.path(), Some(&path)),
            Ok(MongoProgram::Secantus(rs))
        );
        let mongod = executable(&bin, "mongod");
        assert_eq!(
            MongoProgram::find(root.path(), Some(&path)),
            Ok(MongoProgram::Mongod(mongod))
        );
    }

    #[test]
    fn secantus_runs_standalone_on_the_pods_port_and_volume() {
        let t = MongoProgram::Secantus("/v/secantusd-py".into()).command();
        assert!(t.uses_data_dir());
        let services = Default::default();
        let exes = Default::default();
        let args = t
            .render(&super::super::template::Bindings {
                port: 7,
                pod: "p",
                run_id: "r",
                data_dir: Path::new("/data"),
                services: &services,
                exes: &exes,
            })
            .unwrap();
        assert_eq!(
            args[..6],
            [
                "/v/secantusd-py",
                "--host",
                "127.0.0.1",
                "--port",
                "7",
                "--standalone"
            ]
        );
        assert!(args.windows(2).any(|w| w == ["--storage-path", "/data"]));
    }

    #[test]
    fn a_missing_exe_says_how_to_build_it() {
        let err = find_exe("no-such-program-here", Some(&OsString::new())).unwrap_err();
        assert!(err.contains("cargo build -p no-such-program-here"), "{err}");
    }
}
