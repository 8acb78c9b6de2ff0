//! Reading a component file without trusting it: only regular files (a FIFO would block, and
//! `/dev/zero` never ends), the 8-byte header checked before anything else is read, and at
//! most [`MAX_COMPONENT_BYTES`].

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use super::check::{LoadError, check_header};

/// The largest component file the runner reads: 256 MiB. Scenario components are a few MiB.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// The bytes of the component file at `path`, after checking that it is a regular file, that
/// its header is a component's, and that it is no larger than [`MAX_COMPONENT_BYTES`].
pub fn read_component(path: &Path) -> Result<Vec<u8>, LoadError> {
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
    let mut bytes = header;
    bytes.reserve(meta.len().saturating_sub(8) as usize);
    // The file may grow while it is read: never past the limit.
    file.take(MAX_COMPONENT_BYTES + 1 - 8)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
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
        let error = read_component(Path::new("/dev/zero")).unwrap_err();
        assert!(
            error.to_string().contains("is a character device"),
            "{error}"
        );
        let error = read_component(Path::new("/")).unwrap_err();
        assert!(error.to_string().contains("is a folder"), "{error}");
    }

    #[test]
    fn the_header_is_checked_before_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.wasm");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_COMPONENT_BYTES + 1).unwrap();
        // A sparse file of zeros: not WebAssembly, said without reading 256 MiB.
        let error = read_component(&big).unwrap_err();
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
        let error = read_component(&big).unwrap_err();
        assert_eq!(error.kind(), "too-large", "{error}");
        assert!(error.to_string().contains("256 MiB"), "{error}");
    }
}
