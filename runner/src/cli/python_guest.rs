//! Building a Python scenario package into a component with componentize-py.
//!
//! A Python scenario package is a folder whose `pyproject.toml` has a `[tool.focus-scenarios]`
//! table:
//!
//! ```toml
//! [tool.focus-scenarios]
//! name = "focus_outage_scenarios_py"         # the component's name: its JUnit testsuite
//! modules = ["checks", "outage", "recovery"] # imported in this order, the run order
//! sdk = "../scenarios-sdk-py"                # the Python SDK, from this folder
//! ```
//!
//! The runner writes a small entry module that imports those modules and exports the SDK's
//! `Suite`, and builds it with `componentize-py` against the SDK's `wit/` (the contract the SDK
//! is written for) into `<root>/target/scenario-wasm/python/<name>/<hash>/<name>.wasm`. The
//! root is the nearest folder above the package with a `.venv` (the workspace in a checkout),
//! and componentize-py is `<root>/.venv/bin/componentize-py`, or `$COMPONENTIZE_PY`. The hash
//! covers the package's and the SDK's sources, the WIT and componentize-py's version, so a
//! second run finds the component without building or spawning anything.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::engine::BuildLock;

/// The table of `pyproject.toml` that makes a folder a Python scenario package.
pub const TABLE: &str = "tool.focus-scenarios";

/// The module the runner writes and componentize-py builds.
const ENTRY_MODULE: &str = "focus_scenarios_entry";

/// Why a Python scenario package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PythonBuildError {
    /// `pyproject.toml` is unreadable, or its table is malformed.
    #[error("{path}: {message}")]
    Manifest {
        /// The `pyproject.toml`.
        path: PathBuf,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// componentize-py is not installed where the runner looks.
    #[error(
        "componentize-py is not installed at {0}; run `./scripts/setup` to install it into .venv \
         (or set COMPONENTIZE_PY to its path)"
    )]
    MissingTool(PathBuf),
    /// componentize-py ran and refused the package: a syntax or import error, usually.
    #[error("building the Python scenarios in {package} failed:\n{message}")]
    Build {
        /// The package folder.
        package: PathBuf,
        /// componentize-py's message, with the file and line, paths made readable.
        message: String,
    },
    /// Reading or writing files, or starting componentize-py, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PythonBuildError {
    let what = what.into();
    move |source| PythonBuildError::Io { what, source }
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<Tools>,
}

#[derive(Deserialize)]
struct Tools {
    #[serde(rename = "focus-scenarios")]
    focus_scenarios: Option<Spec>,
}

/// The `[tool.focus-scenarios]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    modules: Vec<String>,
    sdk: PathBuf,
}

/// Whether `folder` holds a `pyproject.toml` that declares a Python scenario package (has a
/// `[tool.focus-scenarios]` table; whether the table is right is checked when building).
pub fn is_python_package(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("pyproject.toml"))
        .is_ok_and(|text| text.lines().any(|l| l.trim() == format!("[{TABLE}]")))
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn read_spec(package: &Path) -> Result<Spec, PythonBuildError> {
    let path = package.join("pyproject.toml");
    let bad = |message: String| PythonBuildError::Manifest {
        path: path.clone(),
        message,
    };
    let text =
        std::fs::read_to_string(&path).map_err(io(format!("cannot read {}", path.display())))?;
    let project: PyProject =
        toml::from_str(&text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
    let spec = project
        .tool
        .and_then(|t| t.focus_scenarios)
        .ok_or_else(|| bad(format!("no [{TABLE}] table with name, modules and sdk")))?;
    if !is_identifier(&spec.name) {
        return Err(bad(format!(
            "[{TABLE}] name {:?} must be an identifier such as \"my_scenarios\"",
            spec.name
        )));
    }
    if spec.modules.is_empty() || !spec.modules.iter().all(|m| m.split('.').all(is_identifier)) {
        return Err(bad(format!(
            "[{TABLE}] modules must list the Python modules that hold scenarios, such as [\"outage\"]; got {:?}",
            spec.modules
        )));
    }
    Ok(spec)
}

/// The nearest folder at or above `package` with a `.venv`; `package` itself when none has.
fn root_of(package: &Path) -> PathBuf {
    package
        .ancestors()
        .find(|dir| dir.join(".venv").exists())
        .unwrap_or(package)
        .to_owned()
}

fn tool_path(root: &Path) -> PathBuf {
    std::env::var_os("COMPONENTIZE_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/componentize-py"))
}

/// What identifies the installed componentize-py, without running it (that costs 60 ms):
/// the version of its `dist-info` in the venv, else the size and time of the tool's file.
fn tool_identity(tool: &Path) -> String {
    let venv_lib = tool.parent().and_then(Path::parent).map(|v| v.join("lib"));
    let dist_info = venv_lib
        .and_then(|lib| std::fs::read_dir(lib).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|python| std::fs::read_dir(python.path().join("site-packages")).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("componentize_py-") && name.ends_with(".dist-info"));
    dist_info.unwrap_or_else(|| {
        let meta = std::fs::metadata(tool).ok();
        format!(
            "{:?} {:?}",
            meta.as_ref().map(|m| m.len()),
            meta.and_then(|m| m.modified().ok())
        )
    })
}

/// The files whose content the build depends on, under `dir`, sorted: sources and manifests,
/// skipping hidden folders, `target` and `__pycache__`.
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type()?;
        if name.starts_with('.') || name == "target" || name == "__pycache__" {
            continue;
        }
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            source_files(&path, out)?;
        } else if [".py", ".pyi", ".toml", ".wit", ".typed"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn sources_hash(folders: &[&Path], tool: &str, entry: &str) -> Result<String, PythonBuildError> {
    let mut hasher = Sha256::new();
    hasher.update(tool.as_bytes());
    hasher.update(entry.as_bytes());
    for folder in folders {
        let mut files = Vec::new();
        source_files(folder, &mut files)
            .map_err(io(format!("cannot list {}", folder.display())))?;
        for file in files {
            let bytes =
                std::fs::read(&file).map_err(io(format!("cannot read {}", file.display())))?;
            hasher.update(
                file.strip_prefix(folder)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
    Ok(hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn entry_source(package: &Path, spec: &Spec) -> String {
    let mut text = format!(
        "# Written by scenario-runner from [{TABLE}] in {}; do not edit.\n",
        package.join("pyproject.toml").display()
    );
    for module in &spec.modules {
        text.push_str(&format!("import {module}\n"));
    }
    text.push_str("from focus_scenarios.suite import Suite as Suite\n");
    // A failed `assert` is reported with its source line, which Python reads through linecache.
    // The component has no files when it runs, so the lines of the scenario modules (and the
    // modules beside them) are read now, while componentize-py pre-initialises the component,
    // and kept: linecache never rechecks an entry without a modification time.
    text.push_str(&format!(
        "import linecache as _linecache, sys as _sys\n\
         def _keep_sources(roots):\n\
         \x20   for _module in list(_sys.modules.values()):\n\
         \x20       _path = getattr(_module, '__file__', None) or ''\n\
         \x20       if _path.endswith('.py') and any(_path.startswith(r) for r in roots):\n\
         \x20           _lines = _linecache.getlines(_path)\n\
         \x20           if _lines:\n\
         \x20               _linecache.cache[_path] = (sum(map(len, _lines)), None, _lines, _path)\n\
         _keep_sources({{m.__file__.rsplit('/', 1)[0] + '/' for m in [{}]}})\n",
        spec.modules.join(", ")
    ));
    text
}

/// Builds the Python scenario package at `package`, or finds it built, and returns the
/// component file.
pub fn build(package: &Path) -> Result<PathBuf, PythonBuildError> {
    let package = std::path::absolute(package).map_err(io("cannot resolve the package path"))?;
    let spec = read_spec(&package)?;
    let sdk = package.join(&spec.sdk);
    let sdk_src = sdk.join("src");
    let wit = sdk.join("wit");
    if !sdk_src.join("focus_scenarios").is_dir() || !wit.is_dir() {
        return Err(PythonBuildError::Manifest {
            path: package.join("pyproject.toml"),
            message: format!(
                "[{TABLE}] sdk = {:?} does not name the Python SDK (a folder with src/focus_scenarios and wit/)",
                spec.sdk
            ),
        });
    }
    let root = root_of(&package);
    let tool = tool_path(&root);
    if !tool.is_file() {
        return Err(PythonBuildError::MissingTool(tool));
    }
    let entry = entry_source(&package, &spec);
    let hash = sources_hash(&[&package, &sdk_src, &wit], &tool_identity(&tool), &entry)?;
    let base = root.join("target/scenario-wasm/python").join(&spec.name);
    let component = base.join(&hash).join(format!("{}.wasm", spec.name));
    if component.is_file() {
        return Ok(component);
    }
    // Another runner building the same sources: wait for it and use its component.
    let _turn = BuildLock::acquire(&base.join(format!("{hash}.lock")), || {
        eprintln!(
            "waiting for another scenario-runner that is building {} …",
            package.display()
        );
    })
    .map_err(io(format!(
        "cannot take the build lock in {}",
        base.display()
    )))?;
    if component.is_file() {
        return Ok(component);
    }
    eprintln!("building {} with componentize-py …", package.display());
    let entry_dir = base.join("entry");
    std::fs::create_dir_all(&entry_dir)
        .map_err(io(format!("cannot create {}", entry_dir.display())))?;
    std::fs::write(entry_dir.join(format!("{ENTRY_MODULE}.py")), &entry)
        .map_err(io("cannot write the entry module"))?;
    let python_path = [entry_dir.clone(), package.clone(), sdk_src.clone()];
    let partial = base.join(format!("{hash}.{}.partial.wasm", std::process::id()));
    run_componentize(&tool, &wit, &python_path, &partial, &package)?;
    let folder = base.join(&hash);
    std::fs::create_dir_all(&folder).map_err(io(format!("cannot create {}", folder.display())))?;
    std::fs::rename(&partial, &component)
        .map_err(io("cannot move the built component into place"))?;
    prune(&base, &hash);
    Ok(component)
}

fn run_componentize(
    tool: &Path,
    wit: &Path,
    python_path: &[PathBuf],
    output: &Path,
    package: &Path,
) -> Result<(), PythonBuildError> {
    let mut command = Command::new(tool);
    command
        .arg("-d")
        .arg(wit)
        .args(["-w", "scenario", "componentize"]);
    for dir in python_path {
        command.arg("-p").arg(dir);
    }
    command.arg(ENTRY_MODULE).arg("-o").arg(output);
    let result = command
        .stdin(Stdio::null())
        .env_remove("PYTHONPATH")
        .output()
        .map_err(io(format!("cannot run {}", tool.display())))?;
    if result.status.success() {
        return Ok(());
    }
    let _ = std::fs::remove_file(output);
    Err(PythonBuildError::Build {
        package: package.to_owned(),
        message: build_message(&String::from_utf8_lossy(&result.stderr), python_path),
    })
}

/// componentize-py's message for a failed build: the Python error with its file and line,
/// without the tool's own backtrace, and with its `/N/` paths replaced by the real ones.
pub fn build_message(stderr: &str, python_path: &[PathBuf]) -> String {
    let start = stderr
        .find("AssertionError: ")
        .map(|i| i + "AssertionError: ".len());
    let body = match start {
        Some(start) => {
            let rest = &stderr[start..];
            rest[..rest.find("\n\nCaused by:").unwrap_or(rest.len())].trim_end()
        }
        None => stderr.trim_end(),
    };
    let mut message = body.to_owned();
    for (index, dir) in python_path.iter().enumerate() {
        let mut shown = dir.display().to_string();
        shown.push('/');
        message = message.replace(&format!("\"/{index}/"), &format!("\"{shown}"));
    }
    let lines: Vec<&str> = message.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Removes the components (and build locks) of older sources, so that each package keeps one.
fn prune(base: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name: OsString = entry.file_name();
        let path = entry.path();
        if name != keep && name != "entry" && path.is_dir() {
            let _ = std::fs::remove_dir_all(path);
        } else if path.extension().is_some_and(|e| e == "lock")
            && path.file_stem().is_some_and(|stem| stem != keep)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_keeps_the_file_and_line_with_the_real_path() {
        let stderr = "Traceback (most recent call last):\n  File \"/x/bin/componentize-py\", line 8\n\
            AssertionError:   File \"/1/outage.py\", line 3\n    def f(:\n    ^^^\n\
            SyntaxError: invalid syntax\n\n\nCaused by:\n    SyntaxError\n\nStack backtrace:\n   0: anyhow";
        let paths = [PathBuf::from("/e"), PathBuf::from("/w/scenarios-py")];
        let message = build_message(stderr, &paths);
        assert_eq!(
            message,
            "  File \"/w/scenarios-py/outage.py\", line 3\n    def f(:\n    ^^^\nSyntaxError: invalid syntax"
        );
    }

    #[test]
    fn a_table_is_recognised_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.focus-scenarios]\nname = \"bad name\"\nmodules = [\"a\"]\nsdk = \".\"\n",
        )
        .unwrap();
        assert!(is_python_package(dir.path()));
        let error = read_spec(dir.path()).unwrap_err().to_string();
        assert!(error.contains("must be an identifier"), "{error}");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n",
        )
        .unwrap();
        assert!(!is_python_package(dir.path()));
    }

    #[test]
    fn the_hash_follows_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        std::fs::create_dir(dir.path().join("__pycache__")).unwrap();
        let first = sources_hash(&[dir.path()], "componentize_py-0.25.1.dist-info", "e").unwrap();
        std::fs::write(dir.path().join("__pycache__/a.pyc"), "junk").unwrap();
        assert_eq!(
            first,
            sources_hash(&[dir.path()], "componentize_py-0.25.1.dist-info", "e").unwrap()
        );
        std::fs::write(dir.path().join("a.py"), "x = 2\n").unwrap();
        assert_ne!(
            first,
            sources_hash(&[dir.path()], "componentize_py-0.25.1.dist-info", "e").unwrap()
        );
        assert_ne!(
            first,
            sources_hash(&[dir.path()], "componentize_py-0.26.0.dist-info", "e").unwrap()
        );
    }
}
