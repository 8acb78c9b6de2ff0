//! The on-disk compile cache: a compiled component (`.cwasm`) per content hash and engine.
//!
//! The key is the SHA-256 of the component's bytes plus wasmtime's precompile compatibility
//! hash, which covers the wasmtime version and every engine setting that changes compiled code.
//! Each entry has a `.sha256` beside it; an entry whose checksum does not match, or which
//! wasmtime refuses, is a miss and is compiled again. Entries are written to a temporary file
//! and renamed, so a crash never leaves half an entry under a real name.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// How many compiled components the cache keeps.
pub const MAX_ENTRIES: usize = 64;

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

/// The cache key of one component for one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl CacheKey {
    /// The key of `bytes` compiled by `engine`.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Self {
        let content = to_hex(&Sha256::digest(bytes)[..16]);
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = to_hex(&hasher.0.finalize()[..8]);
        Self(format!("{content}-{engine_hash}"))
    }
}

impl CompileCache {
    /// A cache in `dir`, created on first store.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default folder: `$SCENARIO_RUNNER_CACHE` when set; else `target/scenario-cache` in
    /// `workspace` when one is given (the folder of `runner.toml`); else
    /// `$XDG_CACHE_HOME/scenario-runner`, or `~/.cache/scenario-runner`.
    pub fn default_dir(workspace: Option<&Path>) -> PathBuf {
        if let Some(dir) = std::env::var_os("SCENARIO_RUNNER_CACHE") {
            return PathBuf::from(dir);
        }
        if let Some(root) = workspace {
            return root.join("target").join("scenario-cache");
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("scenario-runner")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, key: &CacheKey) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{}.cwasm", key.0)),
            self.dir.join(format!("{}.sha256", key.0)),
        )
    }

    /// The cached component for `key`, or `None` on a miss (absent, corrupt or refused).
    pub fn load(&self, engine: &Engine, key: &CacheKey) -> Option<Component> {
        let (artifact, checksum) = self.entry(key);
        let expected = std::fs::read_to_string(&checksum).ok()?;
        let bytes = std::fs::read(&artifact).ok()?;
        if to_hex(&Sha256::digest(&bytes)) != expected.trim() {
            return None;
        }
        // SAFETY: the file was written by `store` below from wasmtime's own
        // `precompile_component` for an engine with the same compatibility hash, and its
        // checksum matches, so it is the trusted artifact deserialize_file requires.
        unsafe { Component::deserialize_file(engine, &artifact) }.ok()
    }

    /// Compiles `bytes` ahead of time, stores the artifact under `key`, and returns the
    /// component. `Err` is the compiler's message. A cache that cannot be written is not an
    /// error for the run: the component comes back with a warning that says why.
    pub fn compile_and_store(
        &self,
        engine: &Engine,
        key: &CacheKey,
        bytes: &[u8],
    ) -> Result<(Component, Option<String>), String> {
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| format!("{e:#}"))?;
        // SAFETY: the artifact was just produced by this engine's precompile_component.
        let component =
            unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| format!("{e:#}"))?;
        let warning = self.write(key, &compiled).err();
        if warning.is_none() {
            self.prune();
        }
        Ok((component, warning))
    }

    /// Keeps the newest [`MAX_ENTRIES`] entries (by modification time) and removes the rest, so
    /// that a cache outside `target/` does not grow without end.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut artifacts: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        if artifacts.len() <= MAX_ENTRIES {
            return;
        }
        artifacts.sort();
        for (_, artifact) in &artifacts[..artifacts.len() - MAX_ENTRIES] {
            let _ = std::fs::remove_file(artifact.with_extension("sha256"));
            let _ = std::fs::remove_file(artifact);
        }
    }

    fn write(&self, key: &CacheKey, compiled: &[u8]) -> Result<(), String> {
        let (artifact, checksum) = self.entry(key);
        let unique = format!("{}.{}", std::process::id(), rand::random::<u32>());
        let tmp_artifact = artifact.with_extension(format!("cwasm.{unique}.tmp"));
        let tmp_checksum = checksum.with_extension(format!("sha256.{unique}.tmp"));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            std::fs::write(&tmp_artifact, compiled)?;
            std::fs::write(&tmp_checksum, to_hex(&Sha256::digest(compiled)))?;
            std::fs::rename(&tmp_artifact, &artifact)?;
            std::fs::rename(&tmp_checksum, &checksum)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp_artifact);
            let _ = std::fs::remove_file(&tmp_checksum);
            format!(
                "cannot write the compile cache in {}: {e}; compiling in memory",
                self.dir.display()
            )
        })
    }
}
