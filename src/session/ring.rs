//! A bounded byte ring addressed by absolute offsets, so a command can
//! remember "my output starts at byte N" even after older bytes are dropped.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct OutputRing {
    buf: VecDeque<u8>,
    capacity: usize,
    /// Absolute offset of `buf[0]`.
    start: u64,
}

impl OutputRing {
    /// The buffer grows on demand up to `capacity`, so idle sessions stay small.
    pub fn new(capacity: usize) -> Self {
        Self {
            buf: VecDeque::new(),
            capacity: capacity.max(1),
            start: 0,
        }
    }

    /// Total bytes ever written.
    pub fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Oldest offset still held.
    #[cfg(test)]
    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > self.capacity {
            let skip = bytes.len() - self.capacity;
            self.start += (self.buf.len() + skip) as u64;
            self.buf.clear();
            &bytes[skip..]
        } else {
            bytes
        };
        let overflow = (self.buf.len() + bytes.len()).saturating_sub(self.capacity);
        if overflow > 0 {
            self.buf.drain(..overflow);
            self.start += overflow as u64;
        }
        self.buf.extend(bytes);
    }

    /// Bytes in `[from, to)`, clamped to what is still held. The flag says
    /// whether the front of the range had already been dropped.
    pub fn slice(&self, from: u64, to: u64) -> (Vec<u8>, bool) {
        let lost = from < self.start;
        let from = from.max(self.start).min(self.end());
        let to = to.max(from).min(self.end());
        let a = (from - self.start) as usize;
        let b = (to - self.start) as usize;
        let (x, y) = self.buf.as_slices();
        let mut out = Vec::with_capacity(b - a);
        if a < x.len() {
            out.extend_from_slice(&x[a..b.min(x.len())]);
        }
        if b > x.len() {
            out.extend_from_slice(&y[a.saturating_sub(x.len())..b - x.len()]);
        }
        (out, lost)
    }

    /// The last `n` bytes.
    pub fn tail(&self, n: usize) -> Vec<u8> {
        self.slice(self.end().saturating_sub(n as u64), self.end())
            .0
    }
}

#[cfg(test)]
mod tests {
    use super::OutputRing;

    #[test]
    fn keeps_the_newest_bytes_within_capacity() {
        let mut r = OutputRing::new(8);
        r.push(b"abcdef");
        r.push(b"ghij");
        assert_eq!(r.end(), 10);
        assert_eq!(r.start(), 2);
        assert_eq!(r.slice(0, 10), (b"cdefghij".to_vec(), true));
        assert_eq!(r.slice(4, 6), (b"ef".to_vec(), false));
        r.push(b"0123456789XY");
        assert_eq!(r.slice(0, 100).0, b"456789XY");
        assert_eq!(r.tail(3), b"9XY");
    }
}
