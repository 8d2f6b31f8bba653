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

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::{Event, EventKind, WIT_VERSION};

/// The capture format version this build writes and reads.
pub const CAPTURE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    harrier_capture: u32,
    wit: String,
}

#[derive(Serialize)]
struct LineOut<'a> {
    kind: &'static str,
    pid: u32,
    #[serde(flatten)]
    event: &'a Event,
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
        let line = LineOut {
            kind: event.detail.kind().name(),
            pid: event.process.pid,
            event,
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
    buf: String,
}

impl<R: BufRead> CaptureReader<R> {
    /// Open a capture; fails unless the first line is a compatible header.
    pub fn new(mut input: R) -> Result<Self, CaptureError> {
        let mut buf = String::new();
        let n = input
            .read_line(&mut buf)
            .map_err(|source| CaptureError::Io { line: 1, source })?;
        if n == 0 {
            return Err(CaptureError::Empty);
        }
        let header: Header = serde_json::from_str(buf.trim_end())
            .map_err(|e| CaptureError::BadHeader(e.to_string()))?;
        if header.harrier_capture != CAPTURE_VERSION {
            return Err(CaptureError::Version {
                found: header.harrier_capture,
            });
        }
        Ok(Self {
            input,
            line_no: 1,
            buf,
        })
    }

    fn parse_line(&self, text: &str) -> Result<Event, CaptureError> {
        let bad = |reason: String| CaptureError::BadLine {
            line: self.line_no,
            reason,
        };
        let line: LineIn = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let declared = EventKind::from_name(&line.kind).map_err(|e| bad(e.to_string()))?;
        let actual = line.event.detail.kind();
        if declared != actual {
            return Err(bad(format!(
                "kind `{}` does not match its detail `{}`",
                declared.name(),
                actual.name()
            )));
        }
        Ok(line.event)
    }
}

impl<R: BufRead> Iterator for CaptureReader<R> {
    type Item = Result<Event, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            match self.input.read_line(&mut self.buf) {
                Err(source) => {
                    return Some(Err(CaptureError::Io {
                        line: self.line_no,
                        source,
                    }));
                }
                Ok(0) => return None,
                Ok(_) => {}
            }
            if !self.buf.ends_with('\n') {
                return Some(Err(CaptureError::BadLine {
                    line: self.line_no,
                    reason: "truncated: the last line has no newline".to_string(),
                }));
            }
            let text = self.buf.trim_end();
            if text.is_empty() {
                continue;
            }
            return Some(self.parse_line(text));
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
