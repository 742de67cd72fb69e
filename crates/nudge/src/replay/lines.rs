//! Reading newline-delimited records with bounded memory: a line longer than the cap is
//! kept only up to the cap (enough for a dead letter) and the rest is skipped, not buffered.

use std::io::{self, BufRead};

/// One line of input, without its line terminator.
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The line, cut at the reader's cap.
    pub bytes: &'a [u8],
    /// The line's full length in bytes (more than `bytes.len()` if it was cut).
    pub len: usize,
}

/// Splits a reader into lines, keeping at most `cap` bytes of each.
pub struct LineReader<R> {
    inner: R,
    cap: usize,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines from `inner`, keeping up to `cap` bytes of each.
    pub fn new(inner: R, cap: usize) -> Self {
        LineReader {
            inner,
            cap,
            number: 0,
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut len = 0usize;
        let mut seen_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !seen_any {
                    return Ok(None);
                }
                break;
            }
            seen_any = true;
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            let room = self.cap.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&part[..part.len().min(room)]);
            len += part.len();
            let consumed = done.unwrap_or(chunk.len());
            self.inner.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') && len == self.buf.len() {
            self.buf.pop();
            len -= 1;
        }
        self.number += 1;
        Ok(Some(Line {
            number: self.number,
            bytes: &self.buf,
            len,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<(u64, Vec<u8>, usize)> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(4, input), cap);
        let mut all = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            all.push((line.number, line.bytes.to_vec(), line.len));
        }
        all
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        let got = lines(b"ab\r\n\ncdefgh\nlast", 100);
        assert_eq!(
            got,
            vec![
                (1, b"ab".to_vec(), 2),
                (2, b"".to_vec(), 0),
                (3, b"cdefgh".to_vec(), 6),
                (4, b"last".to_vec(), 4),
            ]
        );
    }

    #[test]
    fn cuts_long_lines_but_counts_their_length() {
        let got = lines(b"0123456789\nok\n", 3);
        assert_eq!(got, vec![(1, b"012".to_vec(), 10), (2, b"ok".to_vec(), 2)]);
    }
}
