//! The stdout sink: one JSON object per line, flushed per line.

use std::io::Write;

use super::Rendered;
use super::worker::{Control, Deliver};

/// Writes each finding as one line on standard output.
pub(crate) struct StdoutSink;

impl Deliver for StdoutSink {
    fn deliver(&mut self, item: &Rendered, _control: &Control) -> Result<(), String> {
        let line = &item.line;
        let mut out = std::io::stdout().lock();
        let mut buffer = Vec::with_capacity(line.len() + 1);
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        out.write_all(&buffer)
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing to stdout: {e}"))
    }
}
