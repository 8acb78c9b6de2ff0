//! Turning `run`/`list` PATHs into component files: a `.wasm` file is itself, a folder of them
//! is its `.wasm` files, and a cargo package folder is built for `wasm32-wasip2` first, so that
//! `run scenarios/` works on a fresh clone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// The component files the PATHs name, in order, without duplicates. Cargo packages are built
/// (`cargo build --release --target wasm32-wasip2`), their compiler output going to stderr.
pub fn resolve_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let found = resolve_one(path)?;
        for file in found {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
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
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read the folder {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no .wasm file and no Cargo.toml; give a .wasm component, a folder of them, or a cargo package folder",
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
    let output = Command::new(cargo())
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
        .arg(&target_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `cargo build`; is cargo on PATH?")?;
    if !output.status.success() {
        bail!(
            "building {} for wasm32-wasip2 failed; see cargo's messages above (is the target installed? `rustup target add wasm32-wasip2`)",
            package.display()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_named_for_what_it_is() {
        let error = resolve_paths(&[PathBuf::from("/dev/zero")]).unwrap_err();
        let message = error.to_string();
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
        let message = resolve_paths(&[fifo]).unwrap_err().to_string();
        assert!(message.contains("is a FIFO (named pipe)"), "{message}");
    }
}
