//! The compile cache: a second load of the same file comes from disk, a corrupt entry is a
//! miss that is compiled again, never a crash, and a file changed in place is never served the
//! artifact of its old content.

use crate::support;

use std::time::Duration;

use scenario_runner::engine::{EngineOptions, GuestOutcome, Interrupt, RunControl};
use scenario_runner::host::ScenarioHost;
use scenario_runner::run::Engine;
use support::*;

fn entries(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

async fn runs_noop(
    engine: &Engine,
    component: &scenario_runner::engine::LoadedComponent<ScenarioHost>,
) {
    let control = RunControl::new(Duration::from_secs(5), Interrupt::default());
    let run = engine
        .run(component, "noop", ScenarioHost::detached(), &control)
        .await;
    assert_eq!(run.result, Ok(GuestOutcome::Passed));
}

#[tokio::test]
async fn a_second_load_is_cached_and_a_corrupt_entry_is_compiled_again() {
    let scratch = Scratch::new("compile-cache");
    let options = EngineOptions {
        cache_dir: Some(scratch.path.clone()),
        ..EngineOptions::default()
    };
    let guest = &fixtures().guest;

    let engine = Engine::new(options.clone()).unwrap();
    let first = engine.load(guest).unwrap();
    assert!(!first.from_cache, "an empty cache cannot hit");
    assert_eq!(entries(&scratch.path, "cwasm").len(), 1);
    runs_noop(&engine, &first).await;

    let engine = Engine::new(options.clone()).unwrap();
    let second = engine.load(guest).unwrap();
    assert!(
        second.from_cache,
        "the second load of the same bytes comes from the cache"
    );
    assert!(
        second.load_time < first.load_time,
        "{:?} vs {:?}",
        second.load_time,
        first.load_time
    );
    runs_noop(&engine, &second).await;

    // Flip bytes in the middle of the artifact: the checksum no longer matches.
    let artifact = entries(&scratch.path, "cwasm").remove(0);
    let mut bytes = std::fs::read(&artifact).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&artifact, &bytes).unwrap();
    let third = engine.load(guest).unwrap();
    assert!(!third.from_cache, "a corrupt entry is a miss");
    runs_noop(&engine, &third).await;

    // Garbage with a matching checksum: wasmtime refuses it, which is a miss as well.
    let garbage = b"not a compiled component";
    std::fs::write(&artifact, garbage).unwrap();
    let sum: String = {
        use sha2::Digest;
        sha2::Sha256::digest(garbage)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    std::fs::write(artifact.with_extension("sha256"), sum).unwrap();
    let fourth = engine.load(guest).unwrap();
    assert!(!fourth.from_cache);
    runs_noop(&engine, &fourth).await;
    assert!(
        engine.load(guest).unwrap().from_cache,
        "the entry was written again"
    );
}

#[tokio::test]
async fn an_unwritable_cache_still_loads_and_says_why() {
    let scratch = Scratch::new("compile-cache-ro");
    let blocker = scratch.path.join("not-a-folder");
    std::fs::write(&blocker, "a file where the cache folder should be").unwrap();
    let engine = Engine::new(EngineOptions {
        cache_dir: Some(blocker.join("cache")),
        ..EngineOptions::default()
    })
    .unwrap();
    let component = engine.load(&fixtures().guest).unwrap();
    assert!(!component.from_cache);
    assert!(
        component
            .cache_warning
            .as_deref()
            .unwrap_or_default()
            .contains("cannot write the compile cache"),
        "{:?}",
        component.cache_warning
    );
    runs_noop(&engine, &component).await;
}

/// `guest` followed by a custom section holding 16 copies of `fill`: a valid component, of the
/// same size whatever `fill` is.
fn with_trailer(guest: &[u8], fill: u8) -> Vec<u8> {
    let mut bytes = guest.to_vec();
    // Section id 0 (custom), 18 bytes: the name's length (1), the name "x", then the payload.
    bytes.extend_from_slice(&[0, 18, 1, b'x']);
    bytes.extend_from_slice(&[fill; 16]);
    bytes
}

#[tokio::test]
async fn a_file_rewritten_with_the_same_size_and_mtime_is_compiled_again() {
    let scratch = Scratch::new("compile-cache-rewritten");
    let cache = scratch.path.join("cache");
    let engine = Engine::new(EngineOptions {
        cache_dir: Some(cache.clone()),
        ..EngineOptions::default()
    })
    .unwrap();
    let guest = std::fs::read(&fixtures().guest).unwrap();
    let file = scratch.path.join("guest.wasm");
    std::fs::write(&file, with_trailer(&guest, b'a')).unwrap();
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    // Left alone for longer than the cache's settle time (3 s), so that its stamp is recorded
    // and the next load trusts it without reading the file.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(!engine.load(&file).unwrap().from_cache);
    assert_eq!(
        std::fs::read_dir(cache.join("index")).unwrap().count(),
        1,
        "the file's content hash is recorded under its stamp"
    );
    assert!(engine.load(&file).unwrap().from_cache);

    // Other content of the same size, with the old modification time put back.
    std::fs::write(&file, with_trailer(&guest, b'b')).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);
    let rewritten = engine.load(&file).unwrap();
    assert!(
        !rewritten.from_cache,
        "the new content is compiled, not served the old content's artifact"
    );
    runs_noop(&engine, &rewritten).await;
    assert_eq!(entries(&cache, "cwasm").len(), 2);
    assert!(engine.load(&file).unwrap().from_cache);

    // The old content back again is found under its own hash.
    std::fs::write(&file, with_trailer(&guest, b'a')).unwrap();
    assert!(engine.load(&file).unwrap().from_cache);
}

/// Every file under `dir`, however deep.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| {
                let path = e.path();
                if path.is_dir() { files_under(&path) } else { 1 }
            })
            .sum()
    })
}

#[tokio::test]
async fn a_component_that_shares_functions_with_one_compiled_before_reads_them_back() {
    let scratch = Scratch::new("function-cache");
    let options = EngineOptions {
        cache_dir: Some(scratch.path.clone()),
        ..EngineOptions::default()
    };
    let functions = scratch.path.join("functions");
    let engine = Engine::new(options.clone()).unwrap();
    let first = engine.load(&fixtures().guest).unwrap();
    assert!(!first.from_cache);
    let stored = files_under(&functions);
    assert!(stored > 0, "compiling filled the function cache");

    // The same functions in other bytes: the component with a custom section appended (a
    // component may carry custom sections at its top level). A new content hash, so the whole
    // component misses; its functions are found. (Not all of them: a few of wasmtime's own
    // trampolines get new cache keys on every compile, about 1 in 10 here.)
    let mut bytes = std::fs::read(&fixtures().guest).unwrap();
    let name = b"scenario-runner-test";
    let payload = b"padding";
    bytes.push(0);
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    let other = scratch.path.join("other.wasm");
    std::fs::write(&other, &bytes).unwrap();
    let engine = Engine::new(options).unwrap();
    let second = engine.load(&other).unwrap();
    assert!(!second.from_cache, "other bytes miss the component cache");
    let added = files_under(&functions) - stored;
    assert!(
        added * 4 < stored,
        "{added} functions compiled again, of {stored}: the function cache was not used"
    );
    runs_noop(&engine, &second).await;
}
