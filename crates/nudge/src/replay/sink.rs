//! Where replay output goes: one JSON line per record, `{"topic": T, "key": K, "value": V}`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use nudge_events::{DecodeError, Output, Source, DLQ_TOPIC};
use serde::Serialize;

use super::lines::Line;

/// Writes output lines to a file or stdout.
pub struct Sink {
    w: BufWriter<Box<dyn Write>>,
    buf: Vec<u8>,
}

/// A malformed input line, as it goes to `nudge-dlq`.
pub struct DeadLetter<'a> {
    pub source: Source,
    pub file: &'a str,
    pub line: &'a Line<'a>,
    pub error: &'a DecodeError,
}

#[derive(Serialize)]
struct DeadLetterValue<'a> {
    source: &'a str,
    file: &'a str,
    line: u64,
    reason: &'a str,
    error: &'a str,
    /// The original line (invalid UTF-8 replaced), cut to the record size limit.
    original: &'a str,
    original_bytes: usize,
}

impl Sink {
    /// Output to `path`, or to stdout when `None`.
    pub fn open(path: Option<&Path>) -> Result<Sink> {
        let w: Box<dyn Write> = match path {
            Some(p) => {
                Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?)
            }
            None => Box::new(io::stdout().lock()),
        };
        Ok(Sink {
            w: BufWriter::with_capacity(1 << 16, w),
            buf: Vec::with_capacity(1024),
        })
    }

    /// Writes one engine output record.
    pub fn output(&mut self, output: &Output) -> Result<()> {
        self.line(output.topic(), Some(output.key()), |buf| {
            output.write_json(buf)
        })
    }

    /// Writes a dead letter for a malformed line.
    pub fn dead_letter(&mut self, dl: &DeadLetter) -> Result<()> {
        let original = String::from_utf8_lossy(dl.line.bytes);
        let value = DeadLetterValue {
            source: dl.source.name(),
            file: dl.file,
            line: dl.line.number,
            reason: dl.error.kind.label(),
            error: &dl.error.detail,
            original: &original,
            original_bytes: dl.line.len,
        };
        self.line(DLQ_TOPIC, None, |buf| {
            serde_json::to_writer(buf, &value).expect("dead letters are plain strings and numbers")
        })
    }

    fn line(
        &mut self,
        topic: &str,
        key: Option<&str>,
        value: impl FnOnce(&mut Vec<u8>),
    ) -> Result<()> {
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(b"{\"topic\":");
        serde_json::to_writer(&mut *buf, topic)?;
        buf.extend_from_slice(b",\"key\":");
        serde_json::to_writer(&mut *buf, &key)?;
        buf.extend_from_slice(b",\"value\":");
        value(buf);
        buf.extend_from_slice(b"}\n");
        self.w.write_all(buf).context("writing output")
    }

    /// Flushes everything written.
    pub fn finish(mut self) -> Result<()> {
        self.w.flush().context("writing output")
    }
}
