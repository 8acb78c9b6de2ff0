//! Reading a component file without trusting it: only regular files (a FIFO would block, and
//! `/dev/zero` never ends), the 8-byte header checked before anything else is read, and at
//! most [`MAX_COMPONENT_BYTES`].

use std::fs::{File, Metadata};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::cache::FileStamp;
use super::check::{LoadError, check_header};

/// The largest component file the runner reads: 256 MiB. Scenario components are a few MiB.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// A component file, open, checked to be a regular file no larger than [`MAX_COMPONENT_BYTES`]
/// with a component's header, and not read any further yet.
#[derive(Debug)]
pub(crate) struct ComponentFile {
    path: PathBuf,
    file: File,
    header: Vec<u8>,
    meta: Metadata,
    opened_at: SystemTime,
}

impl ComponentFile {
    /// Opens and checks the component file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, LoadError> {
        let opened_at = SystemTime::now();
        let read_error = |source| LoadError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_error)?;
        if !meta.is_file() {
            return Err(LoadError::NotAFile {
                path: path.to_owned(),
                what: file_kind(&meta),
            });
        }
        let mut file = File::open(path).map_err(read_error)?;
        // What was opened, which the path may no longer name.
        let meta = file.metadata().map_err(read_error)?;
        let mut header = Vec::with_capacity(8);
        (&mut file)
            .take(8)
            .read_to_end(&mut header)
            .map_err(read_error)?;
        check_header(path, &header)?;
        if meta.len() > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge {
                path: path.to_owned(),
                size: meta.len(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            header,
            meta,
            opened_at,
        })
    }

    /// The path it was opened by.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open file's stamp, taken when it was opened.
    pub(crate) fn stamp(&self) -> FileStamp {
        FileStamp::of(&self.meta)
    }

    /// When opening it began: before its stamp was taken and before any of it was read.
    pub(crate) fn opened_at(&self) -> SystemTime {
        self.opened_at
    }

    /// All of its bytes.
    pub(crate) fn read_all(self) -> Result<Vec<u8>, LoadError> {
        let Self {
            path,
            file,
            header,
            meta,
            ..
        } = self;
        let read_error = |source| LoadError::Read {
            path: path.clone(),
            source,
        };
        let mut bytes = header;
        bytes.reserve(meta.len().saturating_sub(8) as usize);
        // The file may grow while it is read: never past the limit.
        file.take(MAX_COMPONENT_BYTES + 1 - 8)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge {
                size: bytes.len() as u64,
                path,
            });
        }
        Ok(bytes)
    }
}

/// What a path that is not a regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_named_not_read() {
        let error = ComponentFile::open(Path::new("/dev/zero")).unwrap_err();
        assert!(
            error.to_string().contains("is a character device"),
            "{error}"
        );
        let error = ComponentFile::open(Path::new("/")).unwrap_err();
        assert!(error.to_string().contains("is a folder"), "{error}");
    }

    #[test]
    fn the_header_is_checked_before_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.wasm");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_COMPONENT_BYTES + 1).unwrap();
        // A sparse file of zeros: not WebAssembly, said without reading 256 MiB.
        let error = ComponentFile::open(&big).unwrap_err();
        assert_eq!(error.kind(), "not-wasm", "{error}");

        let mut header = b"\0asm\x0d\0\x01\0".to_vec();
        header.resize(64, 0);
        std::fs::write(&big, &header).unwrap();
        File::options()
            .write(true)
            .open(&big)
            .unwrap()
            .set_len(MAX_COMPONENT_BYTES + 1)
            .unwrap();
        let error = ComponentFile::open(&big).unwrap_err();
        assert_eq!(error.kind(), "too-large", "{error}");
        assert!(error.to_string().contains("256 MiB"), "{error}");
    }
}
