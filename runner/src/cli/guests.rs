//! Turning `run`/`list` PATHs into component files: a `.wasm` file is itself, a folder of them
//! is its `.wasm` files, a cargo package folder is built for `wasm32-wasip2` first, so that
//! `run scenarios/` works on a fresh clone, and a Python scenario package (a `pyproject.toml`
//! with `[tool.focus-scenarios]`) is built with componentize-py ([`super::python_guest`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::run::Source;

/// The component files the PATHs name, in order, without duplicates. Cargo packages are built
/// (`cargo build --release --target wasm32-wasip2`), their compiler output going to stderr. A
/// PATH that gives no file (missing, or its build failed) is a [`Source::Unresolved`] with the
/// reason, so that the run reports it and goes on with the others.
pub fn resolve_paths(paths: &[PathBuf]) -> Vec<Source> {
    let mut sources = Vec::new();
    for path in paths {
        match resolve_one(path) {
            Ok(found) => {
                for file in found.into_iter().map(Source::File) {
                    if !sources.contains(&file) {
                        sources.push(file);
                    }
                }
            }
            Err(e) => sources.push(Source::Unresolved {
                path: path.clone(),
                message: format!("{e:#}"),
            }),
        }
    }
    sources
}

fn resolve_one(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!("{}: no such file or folder; give a .wasm component, a folder of them, or a cargo package folder", path.display())
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !meta.is_dir() {
        bail!(
            "{} is {}, not a component file or folder; give a .wasm component, a folder of them, or a cargo package folder",
            crate::guest_text::escape_line(&path.display().to_string()),
            crate::engine::file_kind(&meta)
        );
    }
    if path.join("Cargo.toml").is_file() {
        return build_package(path);
    }
    if super::python_guest::is_python_package(path) {
        return Ok(vec![super::python_guest::build(path)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read the folder {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no .wasm file, no Cargo.toml and no pyproject.toml with [tool.focus-scenarios]; give a .wasm component, a folder of them, a cargo package or a Python scenario package",
            path.display()
        );
    }
    Ok(files)
}

#[derive(Deserialize)]
struct Metadata {
    target_directory: PathBuf,
}

/// The target folder of the cargo workspace that `package` belongs to.
pub fn workspace_target_dir(package: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(package.join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `cargo metadata`; is cargo on PATH?")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed for {}; see its message above",
            package.display()
        );
    }
    let metadata: Metadata =
        serde_json::from_slice(&output.stdout).context("cannot read `cargo metadata` output")?;
    Ok(metadata.target_directory)
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    kind: Vec<String>,
}

/// Builds the cargo package at `package` for wasm32-wasip2 into
/// `<its workspace target>/scenario-wasm`, and returns the components it made.
fn build_package(package: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let target_dir = workspace_target_dir(package)?.join("scenario-wasm");
    crate::errln!("building {} for wasm32-wasip2 …", package.display());
    let mut command = Command::new(cargo());
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(package.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    let output =
        run_teeing_stderr(command).context("cannot run `cargo build`; is cargo on PATH?")?;
    if !output.success {
        bail!(
            "building {} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`); cargo's last messages:\n{}",
            package.display(),
            output.stderr_tail
        );
    }
    let components: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
        .filter(|m| {
            m.reason == "compiler-artifact"
                && m.target
                    .as_ref()
                    .is_some_and(|t| t.kind.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|m| m.filenames)
        .filter(|f| f.extension().is_some_and(|e| e == "wasm"))
        .collect();
    if components.is_empty() {
        bail!(
            "{} built, but made no component: a scenario crate needs `[lib] crate-type = [\"cdylib\"]`",
            package.display()
        );
    }
    Ok(components)
}

/// What a build printed: all of stdout, and the last lines of stderr.
struct BuildOutput {
    success: bool,
    stdout: Vec<u8>,
    stderr_tail: String,
}

/// How many of a failed build's last stderr lines its report keeps.
const STDERR_TAIL_LINES: usize = 40;

/// Runs `command`, passing its stderr through to ours as it comes (so a person sees the build)
/// and keeping its last [`STDERR_TAIL_LINES`] lines for the report.
fn run_teeing_stderr(mut command: Command) -> std::io::Result<BuildOutput> {
    use std::io::{BufRead as _, Read as _};
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let tee = std::thread::spawn(move || {
        let mut tail = std::collections::VecDeque::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            crate::errln!("{line}");
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        tail.into_iter().collect::<Vec<_>>().join("\n")
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut stdout)?;
    let status = child.wait()?;
    let stderr_tail = tee.join().unwrap_or_default();
    Ok(BuildOutput {
        success: status.success(),
        stdout,
        stderr_tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unresolved(sources: Vec<Source>) -> String {
        match sources.as_slice() {
            [Source::Unresolved { message, .. }] => message.clone(),
            other => panic!("expected one unresolved PATH, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_path_is_reported_and_the_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.wasm");
        std::fs::write(&file, b"\0asm").unwrap();
        let sources = resolve_paths(&[dir.path().join("missing"), file.clone(), file.clone()]);
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert!(
            matches!(&sources[0], Source::Unresolved { message, .. } if message.contains("no such file or folder")),
            "{sources:?}"
        );
        assert_eq!(sources[1], Source::File(file));
    }

    #[test]
    fn a_device_is_named_for_what_it_is() {
        let message = unresolved(resolve_paths(&[PathBuf::from("/dev/zero")]));
        assert!(
            message.contains("/dev/zero is a character device"),
            "{message}"
        );
        assert!(!message.contains("Not a directory"), "{message}");
    }

    #[test]
    fn a_fifo_is_named_for_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.wasm");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let message = unresolved(resolve_paths(&[fifo]));
        assert!(message.contains("is a FIFO (named pipe)"), "{message}");
    }
}
