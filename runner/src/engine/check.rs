//! What can be wrong with a file given as a scenario component, said plainly: not WebAssembly at
//! all, a core module rather than a component, truncated or corrupt, a component of another
//! world, or one built against another version of the contract.

use std::path::{Path, PathBuf};

use super::bindings::{CONTRACT_PACKAGE, CONTRACT_VERSION, CONTRACT_VERSIONS, ContractVersion};

/// Why a file could not be loaded as a scenario component. Every message names the file,
/// says what is wrong with it and what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The path is a FIFO, a device, a socket or a folder.
    #[error("{path} is {what}, not a component file; pass a .wasm file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is larger than the runner reads.
    #[error(
        "{path} is {size} bytes, more than the 256 MiB a component file may be; is it really a \
         scenario component?"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The bytes are not WebAssembly.
    #[error(
        "{path} is not a WebAssembly file: it starts with {found} instead of the `\\0asm` magic bytes; \
         pass a component built with `cargo build --target wasm32-wasip2`"
    )]
    NotWasm {
        /// The file.
        path: PathBuf,
        /// Its first bytes, in hex.
        found: String,
    },
    /// A core module, such as one built for `wasm32-unknown-unknown` or `wasm32-wasip1`.
    #[error(
        "{path} is a core WebAssembly module, not a component: build the scenario crate as a \
         `cdylib` with `cargo build --target wasm32-wasip2`, which makes a component"
    )]
    CoreModule {
        /// The file.
        path: PathBuf,
    },
    /// WebAssembly of an encoding version this runner does not know.
    #[error(
        "{path} is WebAssembly of an unknown encoding (version bytes {found}); it is neither a core module nor a component"
    )]
    UnknownEncoding {
        /// The file.
        path: PathBuf,
        /// The version and layer bytes, in hex.
        found: String,
    },
    /// The component header is right but the rest does not compile.
    #[error("{path} is a truncated or corrupt component ({size} bytes): {reason}; rebuild it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: usize,
        /// The compiler's message.
        reason: String,
    },
    /// A valid component, but not of the `scenario` world.
    #[error(
        "{path} is a component of another world, not {CONTRACT_PACKAGE}/scenario@{CONTRACT_VERSION}: {reason}"
    )]
    OtherWorld {
        /// The file.
        path: PathBuf,
        /// What it imports or exports that does not fit.
        reason: String,
    },
    /// A scenario component built against another version of the contract.
    #[error(
        "{path} was built against contract {CONTRACT_PACKAGE}@{found}, but this runner speaks \
         {spoken}: rebuild it with the scenarios-sdk of this runner",
        spoken = spoken_versions()
    )]
    ContractVersion {
        /// The file.
        path: PathBuf,
        /// The version it was built against.
        found: String,
    },
    /// The PATH given could not be turned into a component file: it does not exist, or its
    /// package failed to build.
    #[error("{message}")]
    Unresolved {
        /// The PATH as given.
        path: PathBuf,
        /// What went wrong and what to do, with the build's last messages.
        message: String,
    },
    /// The component loaded, but asking it for its scenarios failed.
    #[error("{path}: asking the component for its scenarios failed: {reason}")]
    Listing {
        /// The file.
        path: PathBuf,
        /// What happened.
        reason: String,
    },
}

impl LoadError {
    /// A short name of the problem, for the report's `type` attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Read { .. } => "unreadable",
            Self::NotAFile { .. } => "not-a-file",
            Self::TooLarge { .. } => "too-large",
            Self::NotWasm { .. } => "not-wasm",
            Self::CoreModule { .. } => "core-module",
            Self::UnknownEncoding { .. } => "unknown-encoding",
            Self::Corrupt { .. } => "corrupt",
            Self::OtherWorld { .. } => "other-world",
            Self::ContractVersion { .. } => "contract-version",
            Self::Unresolved { .. } => "unresolved",
            Self::Listing { .. } => "listing",
        }
    }
}

const MAGIC: &[u8; 4] = b"\0asm";
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (the file is empty)".to_owned();
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks the header: a component passes; anything else is the matching [`LoadError`].
pub fn check_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let path = path.to_owned();
    if bytes.len() < 4 || &bytes[..4] != MAGIC {
        return Err(LoadError::NotWasm {
            path,
            found: hex(&bytes[..bytes.len().min(8)]),
        });
    }
    let version = &bytes[4..bytes.len().min(8)];
    if version == COMPONENT_VERSION {
        Ok(())
    } else if version == CORE_VERSION {
        Err(LoadError::CoreModule { path })
    } else if version.len() < 4 {
        Err(LoadError::Corrupt {
            path,
            size: bytes.len(),
            reason: "the header itself is cut short".into(),
        })
    } else {
        Err(LoadError::UnknownEncoding {
            path,
            found: hex(version),
        })
    }
}

/// The versions this runner speaks, for messages: `focus:scenario@0.1.0 and focus:scenario@0.2.0`.
pub fn spoken_versions() -> String {
    CONTRACT_VERSIONS
        .iter()
        .map(|v| format!("{CONTRACT_PACKAGE}@{v}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Checks a compiled component's import and export names against the `scenario` world of the
/// contract version they name, and returns that version. WASI imports are left to the linker,
/// which knows which versions it provides.
pub fn check_world(
    path: &Path,
    imports: &[&str],
    exports: &[&str],
) -> Result<ContractVersion, LoadError> {
    let other = |reason: String| LoadError::OtherWorld {
        path: path.to_owned(),
        reason,
    };
    let version_of = |name: &str| {
        name.split_once('@')
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    let contract = format!("{CONTRACT_PACKAGE}/");
    let suite = format!("{CONTRACT_PACKAGE}/suite@");
    let Some(suite_export) = exports.iter().find(|n| n.starts_with(&suite)) else {
        let list = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports.join(", ")
        };
        return Err(other(format!(
            "it exports {list}, but not `{suite}{CONTRACT_VERSION}`"
        )));
    };
    let found = version_of(suite_export);
    let version =
        ContractVersion::from_version(&found).ok_or_else(|| LoadError::ContractVersion {
            path: path.to_owned(),
            found: found.clone(),
        })?;
    for name in imports.iter().filter(|n| n.starts_with(&contract)) {
        let imported = version_of(name);
        if ContractVersion::from_version(&imported) != Some(version) {
            return Err(LoadError::ContractVersion {
                path: path.to_owned(),
                found: imported,
            });
        }
        let interface = name[contract.len()..].split('@').next().unwrap_or("");
        if !version.imports().contains(&interface) {
            return Err(other(format!(
                "it imports `{name}`, which contract {} does not have",
                version.as_str()
            )));
        }
    }
    if let Some(name) = imports
        .iter()
        .find(|n| !n.starts_with(&contract) && !n.starts_with("wasi:"))
    {
        return Err(other(format!(
            "it imports `{name}`, which this runner does not provide"
        )));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "x.wasm";

    #[test]
    fn headers_are_told_apart() {
        let p = Path::new(P);
        assert!(check_header(p, b"\0asm\x0d\0\x01\0rest").is_ok());
        assert!(matches!(
            check_header(p, b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule { .. })
        ));
        assert!(matches!(
            check_header(p, b"PK\x03\x04zip"),
            Err(LoadError::NotWasm { .. })
        ));
        assert!(matches!(
            check_header(p, b""),
            Err(LoadError::NotWasm { .. })
        ));
        assert!(matches!(
            check_header(p, b"\0asm\x0d"),
            Err(LoadError::Corrupt { .. })
        ));
        assert!(matches!(
            check_header(p, b"\0asm\x02\0\0\0"),
            Err(LoadError::UnknownEncoding { .. })
        ));
        let message = check_header(p, b"\0asm\x01\0\0\0").unwrap_err().to_string();
        assert!(
            message.contains("x.wasm") && message.contains("core WebAssembly module"),
            "{message}"
        );
    }

    #[test]
    fn the_scenario_world_passes() {
        let imports = [
            "wasi:cli/stdout@0.2.6",
            "focus:scenario/workloads@0.1.0",
            "focus:scenario/runtime@0.1.0",
        ];
        assert_eq!(
            check_world(Path::new(P), &imports, &["focus:scenario/suite@0.1.0"]).unwrap(),
            ContractVersion::V0_1
        );
        let imports = ["focus:scenario/http@0.2.0", "focus:scenario/runtime@0.2.0"];
        assert_eq!(
            check_world(Path::new(P), &imports, &["focus:scenario/suite@0.2.0"]).unwrap(),
            ContractVersion::V0_2
        );
        // `http` is not an interface of 0.1.0.
        let err = check_world(
            Path::new(P),
            &["focus:scenario/http@0.1.0"],
            &["focus:scenario/suite@0.1.0"],
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::OtherWorld { .. }), "{err}");
    }

    #[test]
    fn another_world_is_named() {
        let err = check_world(
            Path::new(P),
            &["wasi:cli/stdout@0.2.6"],
            &["acme:greet/hello@1.0.0"],
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::OtherWorld { .. }));
        assert!(err.to_string().contains("acme:greet/hello@1.0.0"), "{err}");
        let err = check_world(
            Path::new(P),
            &["acme:db/query"],
            &["focus:scenario/suite@0.1.0"],
        )
        .unwrap_err();
        assert!(err.to_string().contains("acme:db/query"), "{err}");
    }

    #[test]
    fn another_contract_version_names_both() {
        let err = check_world(
            Path::new(P),
            &["focus:scenario/workloads@0.3.0"],
            &["focus:scenario/suite@0.3.0"],
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LoadError::ContractVersion { .. }));
        assert!(
            message.contains("@0.3.0")
                && message.contains("focus:scenario@0.1.0")
                && message.contains("focus:scenario@0.2.0"),
            "{message}"
        );
        // Imports of one version and an export of another.
        let err = check_world(
            Path::new(P),
            &["focus:scenario/workloads@0.1.0"],
            &["focus:scenario/suite@0.2.0"],
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::ContractVersion { .. }), "{err}");
        let err = check_world(Path::new(P), &[], &["focus:scenario/suite@1.1.0"]).unwrap_err();
        assert!(matches!(err, LoadError::ContractVersion { .. }));
    }
}
