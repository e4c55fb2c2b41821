//! The request/response protocols on libp2p streams: one stream per request, snappy-compressed
//! payloads read with a hard limit and their declared size checked before decompressing, and a
//! per-peer token bucket for inbound requests.

use std::collections::BTreeMap;
use std::io;
use std::time::Instant;

use cairn_wire::reqresp::{Request, Response, MAX_REQUEST, MAX_RESPONSE};
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{PeerId, StreamProtocol};

/// The status handshake.
pub const STATUS: StreamProtocol = StreamProtocol::new("/cairn/req/status/1");
/// Blocks by number.
pub const BLOCKS: StreamProtocol = StreamProtocol::new("/cairn/req/blocks/1");
/// Txs by hash.
pub const TXS: StreamProtocol = StreamProtocol::new("/cairn/req/txs/1");

/// The protocol a request travels on.
pub fn protocol_of(r: &Request) -> StreamProtocol {
    match r {
        Request::Status(_) => STATUS,
        Request::BlocksByNumber { .. } => BLOCKS,
        Request::TxsByHash(_) => TXS,
    }
}

/// Encodes and decodes [`Request`]/[`Response`] on a stream.
#[derive(Debug, Clone, Default)]
pub struct WireCodec;

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Reads the whole stream, at most what a compressed message of `cap` bytes can take.
async fn read_capped<T: AsyncRead + Unpin + Send>(io: &mut T, cap: usize) -> io::Result<Vec<u8>> {
    let limit = snap::raw::max_compress_len(cap) as u64;
    let mut buf = Vec::new();
    io.take(limit + 1).read_to_end(&mut buf).await?;
    if buf.len() as u64 > limit {
        return Err(invalid(format!("more than {limit} bytes on the stream")));
    }
    cairn_wire::decompress(&buf, cap).map_err(invalid)
}

async fn write_all<T: AsyncWrite + Unpin + Send>(io: &mut T, plain: &[u8]) -> io::Result<()> {
    io.write_all(&cairn_wire::compress(plain)).await?;
    io.close().await
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for WireCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        Request::decode(&read_capped(io, MAX_REQUEST).await?).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        Response::decode(&read_capped(io, MAX_RESPONSE).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, &r.encode()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, &r.encode()).await
    }
}

/// Inbound requests a peer may make in a burst, and how many it regains per second.
pub const REQUEST_BURST: f64 = 32.0;
/// See [`REQUEST_BURST`].
pub const REQUESTS_PER_SEC: f64 = 4.0;

/// One token bucket per peer.
#[derive(Default)]
pub struct RateLimiter {
    buckets: BTreeMap<PeerId, (f64, Instant)>,
}

impl RateLimiter {
    /// Takes a token for `peer`; false when it has none left.
    pub fn allow(&mut self, peer: PeerId, now: Instant) -> bool {
        let (tokens, at) = self.buckets.entry(peer).or_insert((REQUEST_BURST, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * REQUESTS_PER_SEC;
        *tokens = (*tokens + refill).min(REQUEST_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets a disconnected peer.
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let mut r = RateLimiter::default();
        let p = PeerId::random();
        let t = Instant::now();
        let granted = (0..100).filter(|_| r.allow(p, t)).count();
        assert_eq!(granted, REQUEST_BURST as usize);
        assert!(!r.allow(p, t));
        assert!(r.allow(p, t + Duration::from_millis(300)));
        // Another peer has its own bucket.
        assert!(r.allow(PeerId::random(), t));
    }
}
