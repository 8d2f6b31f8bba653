//! The file sink: JSON lines with size-based rotation. A line is written
//! whole or not at all: a failed write (a full disk) is cut back off, and a
//! torn last line left by a crash is cut off when the file is reopened.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
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
        let size = cut_torn_line(&file, &target.path)?;
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
        if let Err(e) = self
            .file
            .write_all(&buffer)
            .and_then(|()| self.file.flush())
        {
            // Whatever part of the line reached the file goes again.
            let _ = self.file.set_len(self.size);
            return Err(e);
        }
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

/// Cut a last line without its newline (a write torn by a crash) off the
/// end of `file`; the file's length after.
fn cut_torn_line(file: &File, path: &Path) -> std::io::Result<u64> {
    let size = file.metadata()?.len();
    if size == 0 {
        return Ok(0);
    }
    let mut reader = file;
    let mut kept = size;
    let mut block = vec![0u8; 64 * 1024];
    while kept > 0 {
        let start = kept.saturating_sub(block.len() as u64);
        let len = (kept - start) as usize;
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(&mut block[..len])?;
        if let Some(pos) = block[..len].iter().rposition(|b| *b == b'\n') {
            kept = start + pos as u64 + 1;
            break;
        }
        kept = start;
    }
    if kept < size {
        tracing::warn!(
            path = %path.display(),
            bytes = size - kept,
            "output file ended in a torn line (an interrupted write); cut it off"
        );
        file.set_len(kept)?;
    }
    Ok(kept)
}

/// Opens a file for appending (and reading, to find a torn last line),
/// creating it if missing.
fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
}

/// The name of the `index`-th rotated copy: `PATH.index`.
pub(crate) fn rotated(path: &Path, index: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &Path) -> FileTarget {
        FileTarget {
            path: path.to_path_buf(),
            max_bytes: 1 << 20,
            keep: 1,
        }
    }

    #[test]
    fn a_torn_last_line_is_cut_off_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"tor").unwrap();
        let mut sink = RotatingFile::open(&target(&path)).unwrap();
        sink.write_line("{\"c\":3}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"
        );
        // A file that is one torn line: emptied.
        std::fs::write(&path, "x".repeat(200_000)).unwrap();
        RotatingFile::open(&target(&path)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_failed_write_is_cut_back_and_not_counted() {
        // /dev/full fails every write with ENOSPC.
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("SKIPPED: no /dev/full");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        let mut sink = RotatingFile::open(&target(&path)).unwrap();
        sink.write_line("{\"a\":1}").unwrap();
        let good = sink.size;
        sink.file = OpenOptions::new().append(true).open(full).unwrap();
        assert!(sink.write_line("{\"b\":2}").is_err());
        assert_eq!(sink.size, good, "the failed line is not counted as written");
    }
}
