//! `--events FILE`: the run's events as JSON Lines, one event per line, flushed as each one
//! happens so that another tool can follow a run live (`tail -f`) or read it after.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use super::WriteError;
use crate::run::events::{Reporter, RunEvent};

/// Writes each event as one JSON line.
pub struct EventsFile {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    error: Option<WriteError>,
}

impl EventsFile {
    /// Creates (or empties) `path`, and its folder.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let fail = |reason: String| WriteError {
            what: "event stream",
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = File::create(path).map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            out: Some(BufWriter::new(file)),
            error: None,
        })
    }
}

impl Reporter for EventsFile {
    fn event(&mut self, event: &RunEvent) {
        let Some(out) = &mut self.out else { return };
        let written = serde_json::to_writer(&mut *out, event)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            // Stop at the first error (a full disk): the file keeps whole lines up to it.
            self.out = None;
            self.error = Some(WriteError {
                what: "event stream",
                path: self.path.clone(),
                reason: e.to_string(),
            });
        }
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.error.take().map_or(Ok(()), Err)
    }
}
