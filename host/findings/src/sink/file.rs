//! The file sink: JSON lines with size-based rotation.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::worker::{Control, Deliver};
use super::{FileTarget, Rendered};

/// A JSON-lines file that rotates to `PATH.1`, `PATH.2`, ... by size.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
}

impl RotatingFile {
    /// Opens (creating it and its directory if needed) the file to append.
    pub(crate) fn open(target: &FileTarget) -> std::io::Result<Self> {
        if let Some(dir) = target.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&target.path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: target.path.clone(),
            max_bytes: target.max_bytes,
            keep: target.keep,
            file,
            size,
        })
    }

    /// Appends one line, rotating first if it would not fit.
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let bytes = line.len() as u64 + 1;
        if self.size > 0 && self.size + bytes > self.max_bytes {
            self.rotate()?;
        }
        let mut buffer = Vec::with_capacity(line.len() + 1);
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        self.file.write_all(&buffer)?;
        self.file.flush()?;
        self.size += bytes;
        Ok(())
    }

    /// Shifts `PATH.i` to `PATH.i+1` (the oldest falls off), moves `PATH` to
    /// `PATH.1` and starts an empty `PATH`.
    fn rotate(&mut self) -> std::io::Result<()> {
        if self.keep == 0 {
            self.file = File::create(&self.path)?;
            self.size = 0;
            return Ok(());
        }
        for index in (1..self.keep).rev() {
            let from = rotated(&self.path, index);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, index + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Deliver for RotatingFile {
    fn deliver(&mut self, item: &Rendered, _control: &Control) -> Result<(), String> {
        self.write_line(&item.line)
            .map_err(|e| format!("writing {}: {e}", self.path.display()))
    }
}

/// Opens a file for appending, creating it if missing.
fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The name of the `index`-th rotated copy: `PATH.index`.
pub(crate) fn rotated(path: &Path, index: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}
