//! The generator's HTTP/1.1 client: one keep-alive connection per device, driven in the attempt's own task.
//! A request is one buffer (head and body, prepared at setup but for the attempt id) written at once; the
//! response head is parsed in place (httparse, no allocation) and its body read to its end by `Content-Length`
//! or chunked encoding and dropped. No connection task, no channel, no header map: the request path is a write
//! and the reads the answer takes, so the generator spends its CPU on TLS and on judging the answers.
//!
//! A response that asks to close (`Connection: close`, HTTP/1.0 without keep-alive) or whose body has no length
//! (read to the end of the connection) ends the connection after the attempt.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};

use crate::metrics::{ErrorKind, Failure};

/// Response headers parsed at most (AWS and nginx send well under this).
const MAX_HEADERS: usize = 32;

/// The most a response head may take before the answer is taken as malformed.
const MAX_HEAD: usize = 16 * 1024;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// One keep-alive connection: the (TLS) stream and what was read past the last response.
pub struct Conn<S> {
    io: S,
    buf: BytesMut,
}

impl<S> std::fmt::Debug for Conn<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// What the answer was: its status, and whether the connection can carry the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub keep_alive: bool,
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// No length: the body runs to the end of the connection.
    Close,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// Whether the kept connection can carry another request: the peer has neither closed it nor sent anything
    /// unasked since the last answer (as a server that timed the connection out does). Never waits.
    pub fn reusable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        let mut rb = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(Waker::noop());
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut rb),
            Poll::Pending
        )
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the answer to its end.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Answer, Failure> {
        self.io
            .write_all(request)
            .await
            .map_err(|e| io_failure(&e, "before the request was sent"))?;
        self.io
            .flush()
            .await
            .map_err(|e| io_failure(&e, "before the request was sent"))?;
        let (status, framing, keep_alive, head_len) = self.read_head().await?;
        self.buf.advance(head_len);
        let keep = match framing {
            Framing::Length(n) => {
                self.skip(n).await?;
                keep_alive
            }
            Framing::Chunked => {
                self.skip_chunked().await?;
                keep_alive
            }
            Framing::Close => {
                self.drain_to_close().await?;
                false
            }
        };
        Ok(Answer {
            status,
            keep_alive: keep,
        })
    }

    /// Reads until a whole response head is buffered (1xx informational heads are skipped); its status, the
    /// body's framing, keep-alive, and the head's length in the buffer.
    async fn read_head(&mut self) -> Result<(u16, Framing, bool, usize), Failure> {
        loop {
            if let Some(parsed) = parse_head(&self.buf)? {
                let (status, _, _, len) = parsed;
                if (100..200).contains(&status) && status != 101 {
                    self.buf.advance(len);
                    continue;
                }
                return Ok(parsed);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Failure::new(
                    ErrorKind::Http,
                    format!("HTTP: the response head is over {MAX_HEAD} bytes"),
                ));
            }
            if self.fill().await? == 0 {
                return Err(Failure::closed("before the response"));
            }
        }
    }

    /// Reads more into the buffer (no zeroing: `read_buf` fills spare capacity); 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, Failure> {
        self.buf.reserve(READ_CHUNK);
        self.io
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| io_failure(&e, "before the response"))
    }

    /// Drops `n` body bytes.
    async fn skip(&mut self, mut n: u64) -> Result<(), Failure> {
        loop {
            let have = (self.buf.len() as u64).min(n);
            self.buf.advance(have as usize);
            n -= have;
            if n == 0 {
                return Ok(());
            }
            if self.fill().await? == 0 {
                return Err(Failure::closed("during the response body"));
            }
        }
    }

    /// Drops a chunked body and its trailers.
    async fn skip_chunked(&mut self) -> Result<(), Failure> {
        loop {
            let line = self.line().await?;
            let size = chunk_size(&line)?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(());
            }
            self.skip(size).await?;
            if !self.line().await?.is_empty() {
                return Err(Failure::new(
                    ErrorKind::Http,
                    "HTTP: a chunk does not end with CRLF",
                ));
            }
        }
    }

    /// The next line of the body's framing, without its CRLF.
    async fn line(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.advance(i + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Failure::new(
                    ErrorKind::Http,
                    "HTTP: a chunk size line is too long",
                ));
            }
            if self.fill().await? == 0 {
                return Err(Failure::closed("during the response body"));
            }
        }
    }

    /// Drops everything up to the end of the stream.
    async fn drain_to_close(&mut self) -> Result<(), Failure> {
        self.buf.clear();
        while self.fill().await? > 0 {
            self.buf.clear();
        }
        Ok(())
    }
}

/// A complete response head in `buf`: (status, framing, keep-alive, its length); `None`: not all there yet.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, Framing, bool, usize)>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(Failure::new(
                ErrorKind::Http,
                format!("HTTP: invalid response: {e}"),
            ));
        }
    };
    let status = resp.code.unwrap_or(0);
    let http10 = resp.version == Some(0);
    let mut framing = Framing::Close;
    let mut keep_alive = !http10;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Failure::new(
                        ErrorKind::Http,
                        "HTTP: invalid response: bad Content-Length",
                    )
                })?;
            if framing != Framing::Chunked {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if has_token(h.value, b"chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            if has_token(h.value, b"close") {
                keep_alive = false;
            } else if has_token(h.value, b"keep-alive") {
                keep_alive = true;
            }
        }
    }
    // No body whatever the headers say: 1xx, 204, 304.
    if (100..200).contains(&status) || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    Ok(Some((status, framing, keep_alive, len)))
}

/// Whether a comma-separated header value holds `token` (ASCII case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// A chunk's size line (`1a;ext=1`).
fn chunk_size(line: &[u8]) -> Result<u64, Failure> {
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .ok_or_else(|| Failure::new(ErrorKind::Http, "HTTP: invalid chunk size"))
}

/// An I/O error on the connection: the peer closing or resetting it is `closed`, anything else too (it is the
/// connection that failed), with the error's text.
fn io_failure(e: &io::Error, when: &str) -> Failure {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::UnexpectedEof | K::BrokenPipe | K::ConnectionAborted => {
            Failure::closed(when)
        }
        _ => Failure::new(
            ErrorKind::Closed,
            format!("closed: {} {when}", crate::metrics::error_kind::io_text(e)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection whose peer answers `answer` (written all at once or in `split` pieces).
    /// The peer closes its end once it has answered.
    async fn answered(answer: &'static [u8], split: usize) -> (Result<Answer, Failure>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let peer = tokio::spawn(async move {
            let mut got = vec![0u8; 1024];
            let n = server.read(&mut got).await.unwrap();
            got.truncate(n);
            for piece in answer.chunks(split.max(1)) {
                server.write_all(piece).await.unwrap();
                server.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
            got
        });
        let mut conn = Conn::new(client);
        let r = conn.exchange(b"POST / HTTP/1.1\r\nhost: x\r\n\r\n").await;
        (r, peer.await.unwrap())
    }

    #[tokio::test]
    async fn a_length_delimited_answer_keeps_the_connection() {
        for split in [1, 3, 1000] {
            let (r, got) = answered(
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 5\r\n\r\nnope!",
                split,
            )
            .await;
            assert_eq!(got, b"POST / HTTP/1.1\r\nhost: x\r\n\r\n");
            assert_eq!(
                r.unwrap(),
                Answer {
                    status: 403,
                    keep_alive: true
                },
                "split {split}"
            );
        }
    }

    #[tokio::test]
    async fn chunked_answers_close_and_http_1_0_are_framed() {
        let (r, _) = answered(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nt: 1\r\n\r\n",
            4,
        )
        .await;
        assert_eq!(r.unwrap().status, 200);
        let (r, _) = answered(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            100,
        )
        .await;
        assert!(!r.unwrap().keep_alive);
        let (r, _) = answered(b"HTTP/1.0 429 Too Many\r\n\r\nslow down", 100).await;
        assert_eq!(
            r.unwrap(),
            Answer {
                status: 429,
                keep_alive: false
            }
        );
        let (r, _) = answered(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            7,
        )
        .await;
        assert_eq!(r.unwrap().status, 204);
    }

    #[tokio::test]
    async fn a_peer_that_closes_or_garbles_is_a_failure_naming_when() {
        let (r, _) = answered(b"", 1).await;
        let f = r.unwrap_err();
        assert_eq!(f.kind, ErrorKind::Closed);
        assert!(f.message.contains("before the response"), "{f:?}");
        let (r, _) = answered(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", 100).await;
        let f = r.unwrap_err();
        assert!(f.message.contains("during the response body"), "{f:?}");
        let (r, _) = answered(b"SMTP ready\r\n\r\n", 100).await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Http);
    }

    /// A kept connection the peer closed is not reused; an open, quiet one is.
    #[tokio::test]
    async fn a_connection_the_peer_closed_is_not_reusable() {
        let (client, server) = tokio::io::duplex(1024);
        let mut conn = Conn::new(client);
        assert!(conn.reusable());
        drop(server);
        assert!(!conn.reusable());
    }

    /// Two exchanges on one connection: the second reads only its own answer.
    #[tokio::test]
    async fn answers_follow_one_another_on_a_kept_connection() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut b = [0u8; 256];
            for status in [200, 403] {
                let _ = server.read(&mut b).await.unwrap();
                let a = format!("HTTP/1.1 {status} X\r\ncontent-length: 3\r\n\r\nabc");
                server.write_all(a.as_bytes()).await.unwrap();
            }
            std::future::pending::<()>().await;
        });
        let mut conn = Conn::new(client);
        assert_eq!(conn.exchange(b"a").await.unwrap().status, 200);
        assert_eq!(conn.exchange(b"b").await.unwrap().status, 403);
    }
}
