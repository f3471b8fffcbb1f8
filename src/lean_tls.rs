//! A TLS stream over rustls's unbuffered API that holds no buffer while its connection is idle.
//!
//! `tokio_rustls`'s stream keeps rustls's buffered connection, whose read buffer never shrinks below 4 KiB once
//! it has read: 4 KiB of every idle MQTT device and session, about a third of what one costs. Here the
//! connection's buffers are ours: received records (`incoming`), decrypted data not yet read (`plain`) and
//! records not yet sent (`outgoing`) are each allocated when there is something to hold and released when they
//! are emptied, so an idle connection keeps only rustls's state and keys. A read lands in a buffer on the stack
//! first (see `poll_fill`), so a read that would block holds no buffer either.
//!
//! Errors look as `tokio_rustls`'s did: a rustls error as an `InvalidData` I/O error carrying it (the alert it
//! raised is sent first), a handshake cut short as `UnexpectedEof` ("tls handshake eof"), a close without
//! `close_notify` after the handshake as `UnexpectedEof` from a read.

use std::io;
use std::mem::MaybeUninit;
use std::ops::DerefMut;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncodeTlsData, EncryptError, InsufficientSizeError,
    UnbufferedConnectionCommon, UnbufferedStatus,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How much a read that completes a partial record asks for at least (rustls's own read size).
const READ_SIZE: usize = 4096;
/// How much a read into the stack buffer asks for: a whole record of the largest size and its header.
const STACK_READ: usize = 5 + 16_384 + 256;
/// The most application data one `poll_write` encrypts, and the most queued before a write waits for the
/// socket.
const WRITE_CHUNK: usize = 64 * 1024;

/// A client or server unbuffered connection.
pub trait Side: DerefMut<Target = UnbufferedConnectionCommon<Self::Data>> + Send + Unpin {
    type Data;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

impl Side for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

impl Side for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

pub type ClientStream = LeanTls<UnbufferedClientConnection>;
pub type ServerStream = LeanTls<UnbufferedServerConnection>;

/// Opens a client connection over `tcp`: the handshake done, or its error.
pub async fn connect(
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    tcp: TcpStream,
) -> io::Result<ClientStream> {
    let conn = UnbufferedClientConnection::new(config, name).map_err(invalid)?;
    LeanTls::new(conn, tcp).handshake().await
}

/// Accepts a server connection over `tcp`: the handshake done and the server name the client asked for (SNI),
/// or its error.
pub async fn accept(
    config: Arc<rustls::ServerConfig>,
    tcp: TcpStream,
) -> io::Result<(ServerStream, Option<String>)> {
    let conn = UnbufferedServerConnection::new(config).map_err(invalid)?;
    let mut stream = LeanTls::new(conn, tcp);
    let name = stream.client_hello_name().await?;
    Ok((stream.handshake().await?, name))
}

/// A TLS stream; see the module's documentation.
pub struct LeanTls<C> {
    io: TcpStream,
    conn: C,
    /// Records received and not yet processed (a partial record, or what one read brought).
    incoming: Vec<u8>,
    /// Application data decrypted and not yet read, from `plain_at`.
    plain: Vec<u8>,
    plain_at: usize,
    /// TLS records not yet sent, from `out_at`.
    outgoing: Vec<u8>,
    out_at: usize,
    /// The socket's read side ended.
    eof: bool,
    /// The peer's `close_notify` was received.
    peer_closed: bool,
    /// Our `close_notify` is queued.
    closing: bool,
}

/// Where processing the received records stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// The handshake needs more records.
    Blocked,
    /// Application data may be written (what was asked written is queued).
    Open,
    /// Both sides sent `close_notify`.
    Closed,
}

/// What to do when application data may be written.
#[derive(Clone, Copy)]
enum Want<'a> {
    Nothing,
    Write(&'a [u8]),
    Close,
}

impl<C: Side> LeanTls<C> {
    fn new(conn: C, io: TcpStream) -> Self {
        Self {
            io,
            conn,
            incoming: Vec::new(),
            plain: Vec::new(),
            plain_at: 0,
            outgoing: Vec::new(),
            out_at: 0,
            eof: false,
            peer_closed: false,
            closing: false,
        }
    }

    /// The connection's state: ALPN, SNI, the handshake's kind, the peer's certificates.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    async fn handshake(mut self) -> io::Result<Self> {
        let cut = || io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        loop {
            let stop = match self.advance(Want::Nothing) {
                Ok(stop) => stop,
                Err(e) => {
                    return Err(std::future::poll_fn(|cx| Poll::Ready(self.failed(cx, &e))).await);
                }
            };
            std::future::poll_fn(|cx| self.poll_send(cx)).await?;
            if !self.conn.is_handshaking() {
                return Ok(self);
            }
            if stop == Stop::Closed || std::future::poll_fn(|cx| self.poll_fill(cx)).await? == 0 {
                return Err(cut());
            }
        }
    }

    /// After rustls refused the connection: queues the alert it has left to send and sends it as far as the
    /// socket takes it (best effort); gives rustls's error.
    fn failed(&mut self, cx: &mut Context<'_>, e: &rustls::Error) -> io::Error {
        self.queue_alerts();
        let _ = self.poll_send(cx);
        invalid(e.clone())
    }

    /// Queues what rustls has left to send after an error (its fatal alert).
    fn queue_alerts(&mut self) {
        for _ in 0..4 {
            let UnbufferedStatus { discard, state } = self.conn.process(&mut self.incoming);
            let more = match state {
                Ok(ConnectionState::EncodeTlsData(mut e)) => {
                    let _ = encode(&mut self.outgoing, &mut e);
                    true
                }
                Ok(ConnectionState::TransmitTlsData(t)) => {
                    t.done();
                    true
                }
                _ => false,
            };
            drain(&mut self.incoming, discard);
            if !more {
                return;
            }
        }
    }

    /// Processes the records received so far: decrypted data goes to `plain`, records to send to `outgoing`,
    /// and once application data may be written, `want` is done. Does no I/O.
    fn advance(&mut self, want: Want<'_>) -> Result<Stop, rustls::Error> {
        let mut want = Some(want);
        loop {
            let UnbufferedStatus { mut discard, state } = self.conn.process(&mut self.incoming);
            let stop = match state {
                Err(e) => {
                    drain(&mut self.incoming, discard);
                    return Err(e);
                }
                Ok(ConnectionState::ReadTraffic(mut r)) => {
                    while let Some(record) = r.next_record() {
                        let record = record?;
                        discard += record.discard;
                        self.plain.extend_from_slice(record.payload);
                    }
                    None
                }
                Ok(ConnectionState::EncodeTlsData(mut e)) => {
                    encode(&mut self.outgoing, &mut e).map_err(|()| {
                        rustls::Error::General("encoding a TLS record failed".into())
                    })?;
                    None
                }
                // The records are in `outgoing`, which `poll_send` sends before anything is read.
                Ok(ConnectionState::TransmitTlsData(t)) => {
                    t.done();
                    None
                }
                Ok(ConnectionState::BlockedHandshake) => Some(Stop::Blocked),
                Ok(ConnectionState::PeerClosed) => {
                    self.peer_closed = true;
                    None
                }
                Ok(ConnectionState::Closed) => {
                    self.peer_closed = true;
                    Some(Stop::Closed)
                }
                Ok(ConnectionState::WriteTraffic(mut w)) => {
                    match want.take().unwrap_or(Want::Nothing) {
                        Want::Nothing => {}
                        Want::Write(data) => {
                            let hint = data.len() + 64 + data.len() / 16_384 * 32;
                            append(&mut self.outgoing, hint, |out| {
                                w.encrypt(data, out).map_err(encrypt_need)
                            })
                            .map_err(|()| rustls::Error::EncryptError)?;
                        }
                        Want::Close => {
                            append(&mut self.outgoing, 64, |out| {
                                w.queue_close_notify(out).map_err(encrypt_need)
                            })
                            .map_err(|()| rustls::Error::EncryptError)?;
                        }
                    }
                    Some(Stop::Open)
                }
                // Early data (never enabled here) and states rustls may add.
                Ok(_) => {
                    return Err(rustls::Error::General(
                        "unexpected TLS connection state".into(),
                    ));
                }
            };
            drain(&mut self.incoming, discard);
            if let Some(stop) = stop {
                return Ok(stop);
            }
        }
    }

    /// Sends everything in `outgoing`, then releases it.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_at < self.outgoing.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.outgoing[self.out_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_at += n;
        }
        self.outgoing = Vec::new();
        self.out_at = 0;
        Poll::Ready(Ok(()))
    }

    /// Reads what the socket has into `incoming`; `Ok(0)` at the end of the stream.
    ///
    /// With nothing held, the read lands in a buffer on the stack and `incoming` is allocated at the size it
    /// brought (a request or a PUBLISH: a small allocation, not a 4 KiB one), so a read that would block
    /// holds no buffer. A partial record is completed by reading into `incoming` itself, sized for the rest
    /// of the record. `TcpStream::poll_read` takes a short read to mean the socket is drained (as epoll's
    /// edge-triggered readiness allows) and does not ask again until the next readiness event.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let n = if self.incoming.is_empty() {
            let mut scratch = [const { MaybeUninit::<u8>::uninit() }; STACK_READ];
            let mut buf = ReadBuf::uninit(&mut scratch);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
            self.incoming = buf.filled().to_vec();
            self.incoming.len()
        } else {
            loop {
                ready!(self.io.poll_read_ready(cx))?;
                self.incoming
                    .reserve(READ_SIZE.max(record_rest(&self.incoming)));
                match self.io.try_read_buf(&mut self.incoming) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        };
        self.eof |= n == 0;
        Poll::Ready(Ok(n))
    }

    /// Hands out decrypted data; `false` when there is none.
    fn take_plain(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let rest = &self.plain[self.plain_at..];
        if rest.is_empty() {
            return false;
        }
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.plain_at += n;
        if self.plain_at == self.plain.len() {
            self.plain = Vec::new();
            self.plain_at = 0;
        }
        true
    }
}

impl ServerStream {
    /// The server name of the client's ClientHello, read with rustls's `Acceptor` from a copy of the records
    /// received (the unbuffered server connection does not tell it); `None` when the client sent none, or the
    /// ClientHello does not parse (the handshake then says why).
    async fn client_hello_name(&mut self) -> io::Result<Option<String>> {
        loop {
            let mut acceptor = rustls::server::Acceptor::default();
            let mut records = &self.incoming[..];
            while !records.is_empty() {
                if acceptor.read_tls(&mut records).is_err() {
                    return Ok(None);
                }
            }
            match acceptor.accept() {
                Ok(Some(accepted)) => {
                    return Ok(accepted.client_hello().server_name().map(str::to_string));
                }
                Ok(None) => {}
                Err(_) => return Ok(None),
            }
            if std::future::poll_fn(|cx| self.poll_fill(cx)).await? == 0 {
                return Ok(None);
            }
        }
    }
}

impl<C: Side> AsyncRead for LeanTls<C> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.take_plain(buf) || this.peer_closed {
                return Poll::Ready(Ok(()));
            }
            if let Err(e) = this.advance(Want::Nothing) {
                return Poll::Ready(Err(this.failed(cx, &e)));
            }
            // What processing queued (a key update's answer) goes out now, as far as the socket takes it.
            if let Poll::Ready(Err(e)) = this.poll_send(cx) {
                return Poll::Ready(Err(e));
            }
            if this.plain_at < this.plain.len() || this.peer_closed {
                continue;
            }
            if this.eof {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed connection without sending TLS close_notify",
                )));
            }
            ready!(this.poll_fill(cx))?;
        }
    }
}

impl<C: Side> AsyncWrite for LeanTls<C> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.outgoing.len() - this.out_at >= WRITE_CHUNK {
            ready!(this.poll_send(cx))?;
        }
        if this.closing {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let n = buf.len().min(WRITE_CHUNK);
        match this.advance(Want::Write(&buf[..n])) {
            Ok(Stop::Open) => {}
            Ok(_) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            Err(e) => return Poll::Ready(Err(this.failed(cx, &e))),
        }
        if let Poll::Ready(Err(e)) = this.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            // A connection rustls already ended has nothing more to say.
            let _ = this.advance(Want::Close);
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Appends what `write` puts at the end of `out`, given `hint` bytes of room and then as many as it says it
/// needs (`Err(Some(n))`); `Err(())` when it fails otherwise.
fn append(
    out: &mut Vec<u8>,
    hint: usize,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, Option<usize>>,
) -> Result<(), ()> {
    let at = out.len();
    let mut room = hint;
    for _ in 0..3 {
        out.resize(at + room, 0);
        match write(&mut out[at..]) {
            Ok(n) => {
                out.truncate(at + n);
                return Ok(());
            }
            Err(Some(needed)) if needed > room => room = needed,
            Err(_) => break,
        }
    }
    out.truncate(at);
    release_if_empty(out);
    Err(())
}

/// Appends the handshake record rustls has ready (its exact size is known after one try).
fn encode<D>(out: &mut Vec<u8>, e: &mut EncodeTlsData<'_, D>) -> Result<(), ()> {
    append(out, 512, |o| {
        e.encode(o).map_err(|err| match err {
            EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Some(required_size)
            }
            _ => None,
        })
    })
}

/// The room an encryption asked for; `None`: it failed otherwise.
fn encrypt_need(err: EncryptError) -> Option<usize> {
    match err {
        EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
            Some(required_size)
        }
        _ => None,
    }
}

/// Drops the first `n` bytes, releasing the buffer once it is empty.
fn drain(buf: &mut Vec<u8>, n: usize) {
    if n == 0 {
        return;
    }
    if n >= buf.len() {
        *buf = Vec::new();
    } else {
        buf.drain(..n);
    }
}

fn release_if_empty(buf: &mut Vec<u8>) {
    if buf.is_empty() {
        *buf = Vec::new();
    }
}

/// How many more bytes the partial record at the front of `incoming` needs (0 when its header is incomplete).
fn record_rest(incoming: &[u8]) -> usize {
    match incoming {
        [_, _, _, hi, lo, ..] => {
            (5 + usize::from(u16::from_be_bytes([*hi, *lo]))).saturating_sub(incoming.len())
        }
        _ => 0,
    }
}

fn invalid(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests;
