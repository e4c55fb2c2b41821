//! A strict reader and writer for the fixed layouts of the wire messages.

use thiserror::Error;

/// Why bytes from a peer were refused. Every variant is the peer's fault: a node that sends
/// them is penalised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// Not valid snappy, or the preamble does not parse.
    #[error("not a valid snappy block")]
    Compression,
    /// The declared decompressed size is above the topic's cap.
    #[error("declares {declared} bytes, above the cap of {cap}")]
    TooLarge {
        /// Size the preamble declares.
        declared: usize,
        /// The topic's cap.
        cap: usize,
    },
    /// The message ends before a field does.
    #[error("truncated at {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A field holds a value its type does not allow.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A version byte this node does not know.
    #[error("unknown message version {0}")]
    Version(u8),
}

/// Reads fields front to back; [`finish`](Reader::finish) refuses leftovers.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A `u32` big-endian length, at most `max`, then that many bytes.
    pub(crate) fn bytes(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        let len = u32::from_be_bytes(self.array(field)?) as usize;
        if len > max {
            return Err(WireError::Invalid {
                field,
                reason: "longer than allowed",
            });
        }
        self.take(len, field)
    }

    /// Bytes not read yet (a declared count is checked against it before allocating).
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn finish(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

/// Appends fields in the reader's layout.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
}

impl Writer {
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.put(&v.to_be_bytes())
    }

    /// Length-prefixed bytes; callers bound the length by the topic's cap, far below 4 GiB.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.put(&len.to_be_bytes()).put(b)
    }
}
