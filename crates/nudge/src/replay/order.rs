//! Putting records of the three files into event-time order with bounded memory: sorted runs
//! in memory, spilled to temporary files when they grow past a budget, merged at the end.
//!
//! The order is total: (event time, source rank crm < email < clickstream, line number), so
//! equal timestamps keep their order within a file and across files.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::{bail, Context, Result};
use nudge_events::{json, Event, Source, Ts};

/// A decoded record and its place in the replay order.
pub struct Keyed {
    pub ts: Ts,
    pub source: Source,
    pub line: u64,
    pub event: Event,
}

impl Keyed {
    fn order(&self) -> (Ts, Source, u64) {
        (self.ts, self.source, self.line)
    }
}

/// Collects records, then yields them in replay order.
pub struct Sorter {
    run: Vec<Keyed>,
    run_bytes: usize,
    budget: usize,
    spills: Vec<File>,
}

impl Sorter {
    /// A sorter that spills a run once its records' input size passes `budget` bytes.
    pub fn new(budget: usize) -> Sorter {
        Sorter {
            run: Vec::new(),
            run_bytes: 0,
            budget,
            spills: Vec::new(),
        }
    }

    /// Adds a record that took `input_bytes` bytes of input.
    pub fn push(&mut self, record: Keyed, input_bytes: usize) -> Result<()> {
        self.run.push(record);
        self.run_bytes += input_bytes;
        if self.run_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk.
    pub fn spilled_runs(&self) -> usize {
        self.spills.len()
    }

    fn sort_run(&mut self) {
        self.run.sort_unstable_by_key(Keyed::order);
    }

    fn spill(&mut self) -> Result<()> {
        self.sort_run();
        let file = tempfile::tempfile().context("creating a temporary file for sorting")?;
        let mut w = BufWriter::new(file);
        let mut json = Vec::new();
        for r in self.run.drain(..) {
            json.clear();
            match &r.event {
                Event::Click(e) => serde_json::to_writer(&mut json, e),
                Event::Email(e) => serde_json::to_writer(&mut json, e),
                Event::Crm(e) => serde_json::to_writer(&mut json, e),
            }?;
            w.write_all(&r.ts.millis().to_le_bytes())?;
            w.write_all(&[r.source as u8])?;
            w.write_all(&r.line.to_le_bytes())?;
            w.write_all(&(json.len() as u64).to_le_bytes())?;
            w.write_all(&json)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        std::io::Seek::rewind(&mut file)?;
        self.spills.push(file);
        self.run_bytes = 0;
        Ok(())
    }

    /// All records in replay order.
    pub fn finish(mut self) -> Result<Box<dyn Iterator<Item = Result<Keyed>>>> {
        if self.spills.is_empty() {
            self.sort_run();
            return Ok(Box::new(self.run.into_iter().map(Ok)));
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        let mut runs: Vec<RunReader> = self
            .spills
            .into_iter()
            .map(|f| RunReader(BufReader::new(f)))
            .collect();
        let mut heads: Vec<Option<Keyed>> = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            let head = run.next()?;
            if let Some(r) = &head {
                heap.push(Reverse((r.order(), i)));
            }
            heads.push(head);
        }
        Ok(Box::new(std::iter::from_fn(move || {
            let Reverse((_, i)) = heap.pop()?;
            let record = heads[i].take()?;
            match runs[i].next() {
                Ok(next) => {
                    if let Some(r) = &next {
                        heap.push(Reverse((r.order(), i)));
                    }
                    heads[i] = next;
                    Some(Ok(record))
                }
                Err(e) => {
                    heap.clear();
                    Some(Err(e))
                }
            }
        })))
    }
}

struct RunReader(BufReader<File>);

impl RunReader {
    fn next(&mut self) -> Result<Option<Keyed>> {
        let mut ts = [0u8; 8];
        match self.0.read_exact(&mut ts) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let mut rank = [0u8; 1];
        let mut line = [0u8; 8];
        let mut len = [0u8; 8];
        self.0.read_exact(&mut rank)?;
        self.0.read_exact(&mut line)?;
        self.0.read_exact(&mut len)?;
        let mut json = vec![0u8; u64::from_le_bytes(len) as usize];
        self.0.read_exact(&mut json)?;
        let Some(&source) = Source::ALL.get(usize::from(rank[0])) else {
            bail!("corrupt sort run: source rank {}", rank[0]);
        };
        let event = json::decode(source, &json)
            .with_context(|| format!("re-reading a spilled {} record", source.name()))?;
        Ok(Some(Keyed {
            ts: Ts(i64::from_le_bytes(ts)),
            source,
            line: u64::from_le_bytes(line),
            event,
        }))
    }
}
