//! The on-disk compile cache: a compiled component (`.cwasm`) per content hash and engine.
//!
//! The key is the SHA-256 of the component's bytes plus wasmtime's precompile compatibility
//! hash, which covers the wasmtime version and every engine setting that changes compiled code.
//! Each entry has a `.sha256` beside it; an entry whose checksum does not match, or which
//! wasmtime refuses, is a miss and is compiled again. Entries are written to a temporary file
//! and renamed, so a crash never leaves half an entry under a real name, and an entry is never
//! rewritten in place.
//!
//! Reading and hashing a large component and its artifact on every load cost more than all the
//! rest (for an 18.8 MB Python component and its 35.5 MB artifact, about 85 of a cached load's
//! 88 ms; mapping the artifact takes about 3.5 ms), so the cache also keeps [`stamp`] records:
//! which content hash each component file had when it was last read, and the stamp of each
//! artifact whose checksum was checked (or which this cache wrote). A file whose stamp still
//! matches is neither read nor hashed again; any other is, as before. A component file's stamp
//! counts only once the file has settled (see [`stamp`]), so that a rewrite can never keep its
//! old stamp; an artifact's counts at once, since the cache only ever replaces an artifact by
//! renaming a new file over it, and its stamp is there to notice anything else touching it.

mod functions;
pub mod lock;
mod stamp;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::check::LoadError;
use super::file::ComponentFile;
pub use functions::FunctionStore;
use stamp::ContentIndex;
pub(crate) use stamp::FileStamp;

/// How many compiled components the cache keeps.
pub const MAX_ENTRIES: usize = 64;

/// How many component files the content index remembers.
const MAX_INDEXED_FILES: usize = 4 * MAX_ENTRIES;

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    index: ContentIndex,
    functions: FunctionStore,
}

/// The cache key of one component for one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

/// A component as [`CompileCache::fetch`] gives it.
pub(crate) struct Fetched {
    /// The compiled component.
    pub component: Component,
    /// Whether it came from the cache.
    pub from_cache: bool,
    /// Why the cache could not be written, if it could not.
    pub warning: Option<String>,
}

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

/// The content part of a cache key: the first 128 bits of the bytes' SHA-256, in hex.
fn content_hash(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes)[..16])
}

impl CacheKey {
    /// The key of `bytes` compiled by `engine`.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Self {
        Self::of_content(engine, &content_hash(bytes))
    }

    fn of_content(engine: &Engine, content: &str) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = to_hex(&hasher.0.finalize()[..8]);
        Self(format!("{content}-{engine_hash}"))
    }
}

impl CompileCache {
    /// A cache in `dir`, created on first store.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let index = ContentIndex::new(dir.join("index"));
        let functions = FunctionStore::new(dir.join("functions"));
        Self {
            dir,
            index,
            functions,
        }
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

    /// The function store in the folder, for the engine's incremental compilation.
    pub fn functions(&self) -> &FunctionStore {
        &self.functions
    }

    /// The lock a compile of `key` holds.
    fn lock_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.lock", key.0))
    }

    /// The artifact, its checksum and the record of its stamp.
    fn entry(&self, key: &CacheKey) -> (PathBuf, PathBuf, PathBuf) {
        (
            self.dir.join(format!("{}.cwasm", key.0)),
            self.dir.join(format!("{}.sha256", key.0)),
            self.dir.join(format!("{}.stamp", key.0)),
        )
    }

    /// The component in `file`: from the cache when it holds the file's content, else compiled
    /// and stored. The file is read and hashed only when the content index cannot vouch that it
    /// is unchanged since it was last hashed.
    pub(crate) fn fetch(&self, engine: &Engine, file: ComponentFile) -> Result<Fetched, LoadError> {
        let hit = |component| Fetched {
            component,
            from_cache: true,
            warning: None,
        };
        let (path, stamp) = (file.path().to_owned(), file.stamp());
        if let Some(content) = self.index.content(&path, stamp)
            && let Some(component) = self.load(engine, &CacheKey::of_content(engine, &content))
        {
            return Ok(hit(component));
        }
        let opened_at = file.opened_at();
        let bytes = file.read_all()?;
        // The key always comes from the bytes read here, so an artifact is only ever stored
        // under the hash of the bytes it was compiled from.
        let content = content_hash(&bytes);
        self.index.record(&path, stamp, opened_at, &content);
        let key = CacheKey::of_content(engine, &content);
        if let Some(component) = self.load(engine, &key) {
            return Ok(hit(component));
        }
        // Another runner compiling the same component: wait for it and use its artifact. A lock
        // that cannot be taken only costs the wait: compiling goes on without it.
        let _turn = lock::BuildLock::acquire(&self.lock_path(&key), || {}).ok();
        if let Some(component) = self.load(engine, &key) {
            return Ok(hit(component));
        }
        let (component, warning) =
            self.compile_and_store(engine, &key, &bytes)
                .map_err(|reason| LoadError::Corrupt {
                    path,
                    size: bytes.len(),
                    reason,
                })?;
        Ok(Fetched {
            component,
            from_cache: false,
            warning,
        })
    }

    /// The cached component for `key`, or `None` on a miss (absent, corrupt or refused).
    ///
    /// An artifact whose stamp the cache recorded (when it wrote it, or when it last checked its
    /// checksum) is mapped straight away; any other is read and checked against its checksum
    /// first, and its stamp recorded when it passes.
    pub fn load(&self, engine: &Engine, key: &CacheKey) -> Option<Component> {
        let (artifact, checksum, stamp_record) = self.entry(key);
        let stamp = FileStamp::of(&std::fs::metadata(&artifact).ok()?);
        if !stamp::vouches_for(&stamp_record, stamp) {
            let expected = std::fs::read_to_string(&checksum).ok()?;
            let mut file = std::fs::File::open(&artifact).ok()?;
            let stamp = FileStamp::of(&file.metadata().ok()?);
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).ok()?;
            if to_hex(&Sha256::digest(&bytes)) != expected.trim() {
                return None;
            }
            stamp::vouch(&stamp_record, stamp);
        }
        // SAFETY: deserialize_file maps the file, so it must hold wasmtime's own output and
        // never change while mapped. It was written by `write` below from this engine's
        // `precompile_component` (the key holds the engine's compatibility hash), and its
        // checksum matched, or its stamp is the one recorded when the checksum last matched or
        // when this cache wrote it. The cache never rewrites an artifact in place: `write`
        // renames a new file over it (a new inode; the mapped one stays as it was) and `prune`
        // unlinks it (the mapping keeps the inode alive).
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
        self.functions.bound();
        Ok((component, warning))
    }

    /// Keeps the newest [`MAX_ENTRIES`] entries and [`MAX_INDEXED_FILES`] index records (by
    /// modification time) and removes the rest, so that a cache outside `target/` does not grow
    /// without end.
    fn prune(&self) {
        let artifacts = oldest_first(&self.dir, |p| p.extension().is_some_and(|e| e == "cwasm"));
        for artifact in artifacts.iter().rev().skip(MAX_ENTRIES) {
            let _ = std::fs::remove_file(artifact.with_extension("sha256"));
            let _ = std::fs::remove_file(artifact.with_extension("stamp"));
            let _ = std::fs::remove_file(artifact.with_extension("lock"));
            let _ = std::fs::remove_file(artifact);
        }
        let records = oldest_first(self.index.dir(), |p| p.extension().is_none());
        for record in records.iter().rev().skip(MAX_INDEXED_FILES) {
            let _ = std::fs::remove_file(record);
        }
    }

    fn write(&self, key: &CacheKey, compiled: &[u8]) -> Result<(), String> {
        let (artifact, checksum, stamp_record) = self.entry(key);
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
        })?;
        // What was just renamed into place is `compiled`, which this process holds: vouch for
        // it, so that the next load maps it without reading it. (Should another runner have
        // renamed its own artifact over it meanwhile, that one was compiled from the same bytes
        // by an engine of the same compatibility hash.)
        if let Ok(meta) = std::fs::metadata(&artifact) {
            stamp::vouch(&stamp_record, FileStamp::of(&meta));
        }
        Ok(())
    }
}

/// The files in `dir` that `keep` selects, oldest (by modification time) first.
fn oldest_first(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| keep(p))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}
