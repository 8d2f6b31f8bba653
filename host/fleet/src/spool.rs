//! The on-disk spool: a bounded, ordered queue of messages waiting for the
//! server's ack. Every finding goes through it, so what was not acked when
//! the agent stops is sent by the next start.
//!
//! Layout: `DIR/NNNNNNNNNNNNNNNNNNNN.seg` segment files of records
//! (`u32` length, then `u16`-prefixed message id and subject, then the body)
//! and `DIR/cursor`, the position of the first record not yet acked
//! (written atomically). A record cut short by a crash is dropped at open.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One spooled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The message id the server deduplicates on.
    pub id: String,
    /// The subject it is published on.
    pub subject: String,
    /// The payload.
    pub body: Vec<u8>,
}

impl Record {
    /// Bytes the record takes on disk.
    fn disk_len(&self) -> u64 {
        4 + 2 + self.id.len() as u64 + 2 + self.subject.len() as u64 + self.body.len() as u64
    }

    fn encode(&self) -> io::Result<Vec<u8>> {
        let too_long =
            |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what} too long"));
        let id_len = u16::try_from(self.id.len()).map_err(|_| too_long("message id"))?;
        let subject_len = u16::try_from(self.subject.len()).map_err(|_| too_long("subject"))?;
        let total = u32::try_from(self.disk_len() - 4).map_err(|_| too_long("message"))?;
        let mut out = Vec::with_capacity(self.disk_len() as usize);
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(&id_len.to_le_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&subject_len.to_le_bytes());
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(&self.body);
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let take = |at: usize| -> Option<(String, usize)> {
            let len = u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize;
            let text = std::str::from_utf8(bytes.get(at + 2..at + 2 + len)?).ok()?;
            Some((text.to_string(), at + 2 + len))
        };
        let (id, next) = take(0)?;
        let (subject, next) = take(next)?;
        Some(Self {
            id,
            subject,
            body: bytes[next..].to_vec(),
        })
    }
}

/// A place in the spool: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Segment number.
    pub segment: u64,
    /// Byte offset in that segment.
    pub offset: u64,
}

/// Counters of the spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records waiting for an ack.
    pub pending: u64,
    /// Bytes of those records.
    pub pending_bytes: u64,
    /// Records refused because the spool was full (since this start).
    pub overflowed: u64,
}

#[derive(Debug)]
struct Segment {
    number: u64,
    len: u64,
}

/// The spool itself. Not shared: callers wrap it in a mutex.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    segments: VecDeque<Segment>,
    writer: File,
    cursor: Position,
    stats: SpoolStats,
    /// Set by an overflow, cleared by the next ack: while set, every new
    /// record is refused, so what the spool keeps is always a prefix of
    /// what it was given.
    full: bool,
}

const CURSOR: &str = "cursor";

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.seg"))
}

impl Spool {
    /// Opens (creating) the spool in `dir`, holding at most `max_bytes`.
    /// Records left by an earlier run are kept, in order.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        let context =
            |e: io::Error| io::Error::new(e.kind(), format!("spool {}: {e}", dir.display()));
        fs::create_dir_all(dir).map_err(context)?;
        let cursor = read_cursor(dir).map_err(context)?;
        let mut numbers: Vec<u64> = fs::read_dir(dir)
            .map_err(context)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        let mut segments = VecDeque::new();
        let mut stats = SpoolStats::default();
        for number in numbers {
            let path = segment_path(dir, number);
            if number < cursor.segment {
                fs::remove_file(&path).map_err(context)?;
                continue;
            }
            let start = if number == cursor.segment {
                cursor.offset
            } else {
                0
            };
            let (records, valid_len) = scan(&path, start).map_err(context)?;
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(context)?;
            if file.metadata().map_err(context)?.len() != valid_len {
                tracing::warn!(segment = %path.display(), "spool: dropping a record cut short by a crash");
                file.set_len(valid_len).map_err(context)?;
            }
            stats.pending += records;
            stats.pending_bytes += valid_len.saturating_sub(start);
            segments.push_back(Segment {
                number,
                len: valid_len,
            });
        }
        let cursor = match segments.front() {
            Some(first) if first.number == cursor.segment => cursor,
            Some(first) => Position {
                segment: first.number,
                offset: 0,
            },
            None => Position {
                segment: cursor.segment,
                offset: 0,
            },
        };
        if segments.is_empty() {
            segments.push_back(Segment {
                number: cursor.segment,
                len: 0,
            });
        }
        let last = segments.back().expect("one segment");
        let writer = open_append(&segment_path(dir, last.number)).map_err(context)?;
        let spool = Self {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(64 * 1024, 8 * 1024 * 1024),
            segments,
            writer,
            cursor,
            stats,
            full: false,
        };
        if spool.cursor.offset == 0 {
            spool.write_cursor()?;
        }
        Ok(spool)
    }

    /// Appends a record. Returns `false` (and counts an overflow) when it
    /// would take the spool past its size, or when an earlier record
    /// overflowed and nothing was acked since.
    pub fn push(&mut self, record: &Record) -> io::Result<bool> {
        let len = record.disk_len();
        if self.full || self.stats.pending_bytes + len > self.max_bytes {
            self.full = true;
            self.stats.overflowed += 1;
            return Ok(false);
        }
        let bytes = record.encode()?;
        let last = self.segments.back().expect("one segment");
        if last.len > 0 && last.len + len > self.segment_bytes {
            let number = last.number + 1;
            self.writer = open_append(&segment_path(&self.dir, number))?;
            self.segments.push_back(Segment { number, len: 0 });
        }
        self.writer.write_all(&bytes)?;
        let last = self.segments.back_mut().expect("one segment");
        last.len += len;
        self.stats.pending += 1;
        self.stats.pending_bytes += len;
        Ok(true)
    }

    /// The position of the first record not acked.
    pub fn cursor(&self) -> Position {
        self.cursor
    }

    /// Up to `max` records from `from` on, each with the position after it.
    pub fn read(&self, from: Position, max: usize) -> io::Result<Vec<(Position, Record)>> {
        let mut out = Vec::new();
        let mut at = from.max(self.cursor);
        for segment in &self.segments {
            if segment.number < at.segment {
                continue;
            }
            if segment.number > at.segment {
                at = Position {
                    segment: segment.number,
                    offset: 0,
                };
            }
            if at.offset >= segment.len {
                continue;
            }
            let mut file = File::open(segment_path(&self.dir, segment.number))?;
            file.seek(SeekFrom::Start(at.offset))?;
            let mut reader = io::BufReader::new(file.take(segment.len - at.offset));
            while out.len() < max && at.offset < segment.len {
                let Some(body) = read_frame(&mut reader)? else {
                    break;
                };
                at.offset += 4 + body.len() as u64;
                let record = Record::decode(&body).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "spool record is corrupt")
                })?;
                out.push((at, record));
            }
            if out.len() >= max {
                break;
            }
        }
        Ok(out)
    }

    /// Marks the `records` records before `upto` acked: the cursor moves
    /// there and segments wholly behind it are deleted.
    pub fn ack(&mut self, upto: Position, records: u64) -> io::Result<()> {
        if upto <= self.cursor {
            return Ok(());
        }
        while self.segments.len() > 1 && self.segments[0].number < upto.segment {
            fs::remove_file(segment_path(&self.dir, self.segments[0].number))?;
            self.segments.pop_front();
        }
        self.cursor = upto;
        self.full = false;
        let held: u64 = self.segments.iter().map(|s| s.len).sum();
        self.stats.pending = self.stats.pending.saturating_sub(records);
        self.stats.pending_bytes = held.saturating_sub(upto.offset);
        self.write_cursor()
    }

    /// The spool's counters now.
    pub fn stats(&self) -> SpoolStats {
        self.stats
    }

    /// Flushes written records to the disk.
    pub fn sync(&self) -> io::Result<()> {
        self.writer.sync_data()
    }

    fn write_cursor(&self) -> io::Result<()> {
        let tmp = self.dir.join(".cursor.tmp");
        fs::write(
            &tmp,
            format!("{} {}\n", self.cursor.segment, self.cursor.offset),
        )?;
        fs::rename(tmp, self.dir.join(CURSOR))
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn read_cursor(dir: &Path) -> io::Result<Position> {
    match fs::read_to_string(dir.join(CURSOR)) {
        Ok(text) => {
            let mut parts = text.split_whitespace().map(str::parse::<u64>);
            match (parts.next(), parts.next()) {
                (Some(Ok(segment)), Some(Ok(offset))) => Ok(Position { segment, offset }),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("cursor file holds `{}`", text.trim()),
                )),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Position::default()),
        Err(e) => Err(e),
    }
}

/// Reads one length-prefixed frame; `None` at a clean or torn end.
fn read_frame(reader: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
    match reader.read_exact(&mut body) {
        Ok(()) => Ok(Some(body)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Counts the whole records of a segment from `start` and returns the
/// length up to the last whole one.
fn scan(path: &Path, start: u64) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if start > len {
        return Ok((0, len));
    }
    file.seek(SeekFrom::Start(start))?;
    let mut reader = io::BufReader::new(file);
    let (mut records, mut at) = (0, start);
    while let Some(body) = read_frame(&mut reader)? {
        if Record::decode(&body).is_none() {
            break;
        }
        records += 1;
        at += 4 + body.len() as u64;
    }
    Ok((records, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> Record {
        Record {
            id: format!("id-{n}"),
            subject: "s".into(),
            body: vec![b'x'; 100],
        }
    }

    #[test]
    fn records_survive_reopen_in_order_and_acks_move_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for n in 0..10 {
            assert!(spool.push(&record(n)).unwrap());
        }
        let first = spool.read(Position::default(), 4).unwrap();
        assert_eq!(first.len(), 4);
        spool.ack(first[3].0, 4).unwrap();
        drop(spool);
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.stats().pending, 6);
        let rest = spool.read(Position::default(), 100).unwrap();
        let ids: Vec<_> = rest.iter().map(|(_, r)| r.id.clone()).collect();
        assert_eq!(ids, (4..10).map(|n| format!("id-{n}")).collect::<Vec<_>>());
    }

    #[test]
    fn overflow_is_counted_exactly_and_space_comes_back_after_acks() {
        let dir = tempfile::tempdir().unwrap();
        let one = record(0).disk_len();
        let mut spool = Spool::open(dir.path(), one * 5).unwrap();
        let accepted = (0..8).filter(|n| spool.push(&record(*n)).unwrap()).count();
        assert_eq!(accepted, 5);
        assert_eq!(spool.stats().overflowed, 3);
        let all = spool.read(Position::default(), 10).unwrap();
        spool.ack(all[4].0, 5).unwrap();
        assert_eq!(spool.stats().pending_bytes, 0);
        assert!(spool.push(&record(9)).unwrap());
    }

    #[test]
    fn segments_roll_and_are_deleted_once_acked() {
        let dir = tempfile::tempdir().unwrap();
        // A 512 KiB spool has 64 KiB segments (an eighth, at least 64 KiB):
        // 1000 records of ~115 bytes span two of them.
        let mut spool = Spool::open(dir.path(), 512 << 10).unwrap();
        for n in 0..1000 {
            assert!(spool.push(&record(n)).unwrap());
        }
        assert!(spool.segments.len() >= 2);
        let all = spool.read(Position::default(), 2000).unwrap();
        assert_eq!(all.len(), 1000);
        spool.ack(all[999].0, 1000).unwrap();
        assert_eq!(spool.stats(), SpoolStats::default());
        assert_eq!(spool.segments.len(), 1);
        let reopened = Spool::open(dir.path(), 512 << 10).unwrap();
        assert_eq!(reopened.stats().pending, 0);
    }

    #[test]
    fn a_torn_tail_is_dropped_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.push(&record(1)).unwrap();
        drop(spool);
        let seg = segment_path(dir.path(), 0);
        let mut file = OpenOptions::new().append(true).open(&seg).unwrap();
        file.write_all(&[50, 0, 0, 0, 1, 2]).unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.stats().pending, 1);
        assert_eq!(spool.read(Position::default(), 10).unwrap().len(), 1);
    }
}
