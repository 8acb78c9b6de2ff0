//! Knowing that a file is unchanged without reading it.
//!
//! A [`FileStamp`] is what the file system says about a file without reading it: its device
//! and inode, its size, and its modification and status-change times. The status-change time
//! (ctime) is the guard: every write, truncation or `touch` of a file sets it to the current
//! time, a file renamed onto the path is another inode, and no program can set ctime back.
//!
//! So a stamp recorded when a file was read is trusted later only if the file had settled by
//! then: its ctime was already more than [`SETTLE`] old when the reading began. Any later change
//! then gets a newer ctime, even on a file system with coarse timestamps (FAT keeps 2 s steps)
//! and with the kernel's clock ticks. A file read within [`SETTLE`] of its last change is read
//! again next time ("racily clean", as git calls it), which costs time, never correctness.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// How long a file must have been left alone before its stamp vouches for its content: more
/// than the coarsest timestamp step (2 s) plus a clock tick.
pub const SETTLE: Duration = Duration::from_secs(3);

/// A file's identity and times, as `stat` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileStamp {
    /// The stamp of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file had been left alone for [`SETTLE`] at `at`.
    pub fn settled_at(&self, at: SystemTime) -> bool {
        let Ok(at) = at.duration_since(UNIX_EPOCH) else {
            return false;
        };
        self.ctime_ns + (SETTLE.as_nanos() as i128) < at.as_nanos() as i128
    }

    fn to_line(self) -> String {
        format!(
            "{} {} {} {} {}",
            self.dev, self.ino, self.size, self.mtime_ns, self.ctime_ns
        )
    }

    fn parse<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<Self> {
        Some(Self {
            dev: fields.next()?.parse().ok()?,
            ino: fields.next()?.parse().ok()?,
            size: fields.next()?.parse().ok()?,
            mtime_ns: fields.next()?.parse().ok()?,
            ctime_ns: fields.next()?.parse().ok()?,
        })
    }
}

const FORMAT: &str = "stamp-v1";

/// Writes `stamp` (and `rest`, if any) to `record`, atomically: a temporary file renamed.
fn write_record(record: &Path, stamp: FileStamp, rest: &str) -> std::io::Result<()> {
    if let Some(dir) = record.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let unique = format!("{}.{}.tmp", std::process::id(), rand::random::<u32>());
    let tmp = record.with_extension(unique);
    let line = format!("{FORMAT} {} {rest}\n", stamp.to_line());
    std::fs::write(&tmp, line)
        .and_then(|()| std::fs::rename(&tmp, record))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// The stamp in `record` and the word after it (empty when none), if `record` is readable.
fn read_record(record: &Path) -> Option<(FileStamp, String)> {
    let text = std::fs::read_to_string(record).ok()?;
    let mut fields = text.split_whitespace();
    (fields.next()? == FORMAT).then_some(())?;
    let stamp = FileStamp::parse(&mut fields)?;
    Some((stamp, fields.next().unwrap_or_default().to_owned()))
}

/// Records `stamp` as the stamp of a file whose content is known good, in `record`.
/// Best effort: a record that cannot be written only means checking the file again next time.
pub fn vouch(record: &Path, stamp: FileStamp) {
    let _ = write_record(record, stamp, "");
}

/// Whether `record` vouches for a file whose stamp is now `stamp`.
pub fn vouches_for(record: &Path, stamp: FileStamp) -> bool {
    read_record(record).is_some_and(|(recorded, _)| recorded == stamp)
}

/// Which content hash each component file had when it was last read, by canonical path.
#[derive(Debug, Clone)]
pub struct ContentIndex {
    dir: PathBuf,
}

impl ContentIndex {
    /// An index kept in `dir`, created on first record.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn record_path(&self, file: &Path) -> Option<PathBuf> {
        let canonical = std::fs::canonicalize(file).ok()?;
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Some(self.dir.join(name))
    }

    /// The content hash recorded for `file`, if its stamp is still `stamp`.
    pub fn content(&self, file: &Path, stamp: FileStamp) -> Option<String> {
        let (recorded, content) = read_record(&self.record_path(file)?)?;
        (recorded == stamp && !content.is_empty()).then_some(content)
    }

    /// Records that `file`, of stamp `stamp` when reading it began at `read_at`, holds
    /// `content`; unless it had not settled by then (see the module's notes). Best effort.
    pub fn record(&self, file: &Path, stamp: FileStamp, read_at: SystemTime, content: &str) {
        if !stamp.settled_at(read_at) {
            return;
        }
        if let Some(record) = self.record_path(file) {
            let _ = write_record(&record, stamp, content);
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(path: &Path) -> FileStamp {
        FileStamp::of(&std::fs::metadata(path).unwrap())
    }

    /// As if the file had been read an hour after its last change.
    fn an_hour_later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(3600)
    }

    #[test]
    fn an_unchanged_settled_file_is_known_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let index = ContentIndex::new(dir.path().join("index"));
        let file = dir.path().join("a.wasm");
        std::fs::write(&file, "content A").unwrap();
        assert_eq!(index.content(&file, stamp(&file)), None);
        index.record(&file, stamp(&file), an_hour_later(), "hash-a");
        assert_eq!(
            index.content(&file, stamp(&file)).as_deref(),
            Some("hash-a")
        );
        // Through another path to the same file as well.
        let other = dir.path().join(".").join("a.wasm");
        assert_eq!(
            index.content(&other, stamp(&other)).as_deref(),
            Some("hash-a")
        );
    }

    #[test]
    fn a_rewrite_of_the_same_size_with_its_old_mtime_is_not_known() {
        let dir = tempfile::tempdir().unwrap();
        let index = ContentIndex::new(dir.path().join("index"));
        let file = dir.path().join("a.wasm");
        std::fs::write(&file, "content A").unwrap();
        let before = stamp(&file);
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        index.record(&file, before, an_hour_later(), "hash-a");

        // More than a kernel clock tick later: what SETTLE guarantees for a real reader.
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&file, "content B").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = stamp(&file);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 9);
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            mtime,
            "same size, same mtime: only ctime tells"
        );
        assert_ne!(before, after);
        assert_eq!(index.content(&file, after), None, "never the old hash");
    }

    #[test]
    fn a_file_read_just_after_it_changed_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let index = ContentIndex::new(dir.path().join("index"));
        let file = dir.path().join("a.wasm");
        std::fs::write(&file, "content A").unwrap();
        // A rewrite within the same clock tick would keep every field of the stamp, so a file
        // that changed less than SETTLE before it was read is read again next time.
        index.record(&file, stamp(&file), SystemTime::now(), "hash-a");
        assert_eq!(index.content(&file, stamp(&file)), None);
        assert!(!dir.path().join("index").exists());
    }

    #[test]
    fn a_record_vouches_only_for_the_stamp_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.cwasm");
        let record = dir.path().join("x.stamp");
        std::fs::write(&file, "compiled").unwrap();
        assert!(!vouches_for(&record, stamp(&file)));
        vouch(&record, stamp(&file));
        assert!(vouches_for(&record, stamp(&file)));
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&file, "tampered").unwrap();
        assert!(!vouches_for(&record, stamp(&file)));
        std::fs::write(&record, "garbage").unwrap();
        assert!(!vouches_for(&record, stamp(&file)));
    }
}
