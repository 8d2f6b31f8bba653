//! The capture format written by `harrier record` and read by `harrier replay`.
//!
//! JSON Lines. The first line is a header naming the format version and the
//! WIT version of the events; every following line is one [`Event`] with two
//! extra fields up front for people reading the file with `grep` and `jq`:
//! `kind` (the event kind's name) and `pid`.
//!
//! ```text
//! {"harrier_capture":1,"wit":"0.1.0"}
//! {"kind":"exec","pid":4242,"seq":1,"time_ns":...,"process":{...},"detail":{"Exec":{...}}}
//! ```
//!
//! Reading is bounded: a line longer than [`MAX_LINE_BYTES`] is refused
//! (naming it) without being held in memory, and reading goes on with the
//! next line; so is an event whose `seq` does not follow the previous one
//! (out of order or repeated). A header whose `wit` version is newer than
//! this build's, or not a version, is refused.
//!
//! Nanosecond times, and any integer beyond ±(2^53 − 1), are written as
//! decimal strings so that every JSON parser reads them exactly; every
//! integer field is read in either form ([`crate::exact_ints`]). The format
//! is described by `host/events/schema/capture-v1.schema.json`.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::{Event, EventKind, WIT_VERSION};

/// The capture format version this build writes and reads.
pub const CAPTURE_VERSION: u32 = 1;

/// Longest capture line read (header or event), in bytes, newline included.
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    harrier_capture: u32,
    wit: String,
}

#[derive(Serialize)]
struct LineOut {
    kind: &'static str,
    pid: u32,
    /// The event, its integers made exact ([`crate::exact_ints::to_text`]).
    #[serde(flatten)]
    event: serde_json::Value,
}

#[derive(Deserialize)]
struct LineIn {
    kind: String,
    #[serde(flatten)]
    event: Event,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file is empty: not even a header.
    #[error(
        "capture is empty: expected a header line {{\"harrier_capture\":{CAPTURE_VERSION},...}}"
    )]
    Empty,
    /// The first line is not a capture header.
    #[error("line 1: not a Harrier capture header: {0}")]
    BadHeader(String),
    /// The capture was written by an incompatible version.
    #[error(
        "line 1: capture format version {found} is not supported (this build reads version {CAPTURE_VERSION})"
    )]
    Version {
        /// The version the file declares.
        found: u32,
    },
    /// The events were written for a WIT contract this build cannot read.
    #[error(
        "line 1: events of WIT version `{found}` cannot be read (this build speaks {WIT_VERSION} and reads captures up to it)"
    )]
    WitVersion {
        /// The version the header declares.
        found: String,
    },
    /// A line is not a valid event.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading failed.
    #[error("line {line}: read error: {source}")]
    Io {
        /// 1-based line number.
        line: usize,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Writes events as capture lines.
pub struct CaptureWriter<W: Write> {
    out: W,
}

impl<W: Write> CaptureWriter<W> {
    /// Start a capture: writes the header line.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        let header = Header {
            harrier_capture: CAPTURE_VERSION,
            wit: WIT_VERSION.to_string(),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        Ok(Self { out })
    }

    /// Append one event.
    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        let mut value = serde_json::to_value(event)?;
        crate::exact_ints::to_text(&mut value);
        let line = LineOut {
            kind: event.detail.kind().name(),
            pid: event.process.pid,
            event: value,
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }

    /// Flush buffered lines.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Give back the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a capture, checking the header first.
pub struct CaptureReader<R: BufRead> {
    input: R,
    line_no: usize,
    buf: Vec<u8>,
    last_seq: Option<u64>,
}

/// What one bounded line read found.
enum Line {
    /// End of input.
    End,
    /// A line (in the buffer), with or without its newline.
    Read,
    /// A line longer than the bound, skipped; its length so far.
    TooLong(usize),
}

/// Read one line into `buf`, keeping at most `max` bytes; the rest of a
/// longer line is consumed and discarded (or, with `give_up`, not read:
/// an endless first line is not a capture).
fn read_line_bounded(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
    give_up: bool,
) -> std::io::Result<Line> {
    buf.clear();
    let mut skipped = 0usize;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (skipped, buf.is_empty()) {
                (0, true) => Line::End,
                (0, false) => Line::Read,
                (n, _) => Line::TooLong(n),
            });
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if skipped == 0 && buf.len() + take <= max {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            skipped = skipped.max(buf.len()) + take;
            buf.clear();
            if give_up {
                return Ok(Line::TooLong(skipped));
            }
        }
        input.consume(take);
        if done {
            return Ok(if skipped > 0 {
                Line::TooLong(skipped)
            } else {
                Line::Read
            });
        }
    }
}

/// Whether events of WIT version `found` can be read by this build: a
/// version no newer than [`WIT_VERSION`] (fields added since are optional).
fn readable_wit(found: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64, u64)> {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
        let version = (parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    };
    match (parse(found), parse(WIT_VERSION)) {
        (Some(found), Some(ours)) => found <= ours,
        _ => false,
    }
}

/// One event line, with integer fields as numbers or decimal strings.
fn parse_event_line(text: &[u8]) -> serde_json::Result<LineIn> {
    let mut value: serde_json::Value = serde_json::from_slice(text)?;
    crate::exact_ints::from_text(&mut value);
    serde_json::from_value(value)
}

impl<R: BufRead> CaptureReader<R> {
    /// Open a capture; fails unless the first line is a compatible header.
    pub fn new(mut input: R) -> Result<Self, CaptureError> {
        let mut buf = Vec::new();
        let line = read_line_bounded(&mut input, &mut buf, MAX_LINE_BYTES, true)
            .map_err(|source| CaptureError::Io { line: 1, source })?;
        match line {
            Line::End => return Err(CaptureError::Empty),
            Line::TooLong(n) => {
                return Err(CaptureError::BadHeader(format!(
                    "longer than {MAX_LINE_BYTES} bytes (at least {n})"
                )));
            }
            Line::Read => {}
        }
        let header: Header = serde_json::from_slice(buf.trim_ascii_end())
            .map_err(|e| CaptureError::BadHeader(e.to_string()))?;
        if header.harrier_capture != CAPTURE_VERSION {
            return Err(CaptureError::Version {
                found: header.harrier_capture,
            });
        }
        if !readable_wit(&header.wit) {
            return Err(CaptureError::WitVersion { found: header.wit });
        }
        Ok(Self {
            input,
            line_no: 1,
            buf,
            last_seq: None,
        })
    }

    fn parse_line(&mut self, text: &[u8]) -> Result<Event, CaptureError> {
        let line_no = self.line_no;
        let bad = |reason: String| CaptureError::BadLine {
            line: line_no,
            reason,
        };
        let line: LineIn = parse_event_line(text).map_err(|e| bad(e.to_string()))?;
        let declared = EventKind::from_name(&line.kind).map_err(|e| bad(e.to_string()))?;
        let actual = line.event.detail.kind();
        if declared != actual {
            return Err(bad(format!(
                "kind `{}` does not match its detail `{}`",
                declared.name(),
                actual.name()
            )));
        }
        let seq = line.event.seq;
        if let Some(last) = self.last_seq
            && seq <= last
        {
            let what = if seq == last {
                "repeats"
            } else {
                "goes back from"
            };
            return Err(bad(format!(
                "seq {seq} {what} seq {last}: events must be in increasing seq order"
            )));
        }
        self.last_seq = Some(seq);
        Ok(line.event)
    }
}

impl<R: BufRead> Iterator for CaptureReader<R> {
    type Item = Result<Event, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line_no += 1;
            let line = self.line_no;
            match read_line_bounded(&mut self.input, &mut self.buf, MAX_LINE_BYTES, false) {
                Err(source) => return Some(Err(CaptureError::Io { line, source })),
                Ok(Line::End) => return None,
                Ok(Line::TooLong(n)) => {
                    return Some(Err(CaptureError::BadLine {
                        line,
                        reason: format!("longer than {MAX_LINE_BYTES} bytes ({n} bytes): skipped"),
                    }));
                }
                Ok(Line::Read) => {}
            }
            if !self.buf.ends_with(b"\n") {
                return Some(Err(CaptureError::BadLine {
                    line,
                    reason: "truncated: the last line has no newline".to_string(),
                }));
            }
            let text = std::mem::take(&mut self.buf);
            let trimmed = text.trim_ascii_end();
            if trimmed.is_empty() {
                self.buf = text;
                continue;
            }
            let parsed = self.parse_line(trimmed);
            self.buf = text;
            return Some(parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventDetail, ExitEvent, Process};

    fn exit_event(seq: u64) -> Event {
        Event {
            fidelity: None,
            seq,
            time_ns: 1_700_000_000_000_000_000 + seq,
            process: Process {
                pid: 42,
                tid: 42,
                ppid: 1,
                uid: 0,
                euid: 0,
                gid: 0,
                egid: 0,
                comm: "sh".into(),
                exe: "/bin/sh".into(),
                container_id: None,
                cgroup_id: None,
            },
            detail: EventDetail::Exit(ExitEvent { code: 3, signal: 0 }),
        }
    }

    fn write(events: &[Event]) -> String {
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        for e in events {
            w.write(e).unwrap();
        }
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let events = vec![exit_event(1), exit_event(2)];
        let text = write(&events);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with(r#"{"kind":"exit","pid":42,"#)
        );
        let back: Vec<Event> = CaptureReader::new(text.as_bytes())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn times_are_written_as_strings_and_read_in_either_form() {
        let event = || Event {
            time_ns: 1_764_000_000_001_000_001,
            ..exit_event(1)
        };
        let text = write(&[event()]);
        assert!(
            text.contains(r#""time_ns":"1764000000001000001""#),
            "{text}"
        );
        let as_number = text.replace(r#""1764000000001000001""#, "1764000000001000001");
        for form in [&text, &as_number] {
            let back: Vec<Event> = CaptureReader::new(form.as_bytes())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(back, [event()]);
        }
    }

    #[test]
    fn truncated_last_line_is_reported_with_its_number() {
        let text = write(&[exit_event(1), exit_event(2)]);
        let cut = &text[..text.len() - 10];
        let results: Vec<_> = CaptureReader::new(cut.as_bytes()).unwrap().collect();
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("line 3:"), "{err}");
    }

    #[test]
    fn corrupt_line_and_kind_mismatch_are_reported() {
        let text = write(&[exit_event(1)]);
        let corrupt = text.replace("\"code\":3", "\"code\":\"x\"");
        let err = CaptureReader::new(corrupt.as_bytes())
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        let lying = text.replace("\"kind\":\"exit\"", "\"kind\":\"exec\"");
        let err = CaptureReader::new(lying.as_bytes())
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn long_lines_are_refused_by_number_without_being_held_and_reading_goes_on() {
        let text = write(&[exit_event(1), exit_event(2)]);
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.insert(2, "x".repeat(MAX_LINE_BYTES * 3));
        let text = lines.join("\n") + "\n";
        // A reader with a tiny buffer, so the long line arrives in pieces.
        let input = std::io::BufReader::with_capacity(4096, text.as_bytes());
        let results: Vec<_> = CaptureReader::new(input).unwrap().collect();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().unwrap().seq, 1);
        let err = results[1].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("line 3: longer than"), "{err}");
        assert_eq!(results[2].as_ref().unwrap().seq, 2);
    }

    #[test]
    fn endless_header_is_refused() {
        // Like /dev/zero: refused after the line bound, not read to the end.
        let zeros = std::io::repeat(0);
        let err = CaptureReader::new(std::io::BufReader::new(zeros))
            .err()
            .unwrap();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn out_of_order_and_repeated_seqs_are_refused_by_line() {
        let text = write(&[exit_event(5), exit_event(5), exit_event(3), exit_event(6)]);
        let results: Vec<_> = CaptureReader::new(text.as_bytes()).unwrap().collect();
        let err = |i: usize| results[i].as_ref().unwrap_err().to_string();
        assert!(results[0].is_ok());
        assert!(
            err(1).starts_with("line 3: seq 5 repeats seq 5"),
            "{}",
            err(1)
        );
        assert!(
            err(2).starts_with("line 4: seq 3 goes back from seq 5"),
            "{}",
            err(2)
        );
        assert_eq!(results[3].as_ref().unwrap().seq, 6);
    }

    #[test]
    fn header_wit_version_must_be_readable() {
        for (wit, ok) in [
            ("0.1.0", true),
            ("0.0.9", true),
            ("9.0.0", false),
            ("0.1", false),
            ("x", false),
        ] {
            let header = format!("{{\"harrier_capture\":1,\"wit\":\"{wit}\"}}\n");
            let result = CaptureReader::new(header.as_bytes());
            assert_eq!(result.is_ok(), ok, "{wit}");
            if !ok {
                assert!(result.err().unwrap().to_string().contains(wit));
            }
        }
    }

    #[test]
    fn header_is_required_and_versioned() {
        assert!(matches!(
            CaptureReader::new(&b""[..]),
            Err(CaptureError::Empty)
        ));
        assert!(matches!(
            CaptureReader::new(&b"{\"kind\":\"exit\"}\n"[..]),
            Err(CaptureError::BadHeader(_))
        ));
        assert!(matches!(
            CaptureReader::new(&b"{\"harrier_capture\":99,\"wit\":\"0.1.0\"}\n"[..]),
            Err(CaptureError::Version { found: 99 })
        ));
    }
}
