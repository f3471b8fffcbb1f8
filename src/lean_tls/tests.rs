use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::emulator::host::HostRule;

struct Pki {
    _dir: tempfile::TempDir,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

/// The emulator's generated CA and server certificate (`localhost`), and a client trusting it with ALPN
/// `mqtt` and a session store (to resume).
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let setup = crate::emulator::tls::generate(dir.path(), &[], HostRule::new(&[], false)).unwrap();
    let server = crate::emulator::tls::with_alpn(&setup.server_config, &[b"mqtt"]);
    let mut client =
        crate::load::connect::client_config(Some(&setup.ca_cert_path), false, true, &[b"mqtt"])
            .unwrap();
    client.resumption = rustls::client::Resumption::store(Arc::new(
        rustls::client::ClientSessionMemoryCache::new(4),
    ));
    Pki {
        _dir: dir,
        server,
        client: Arc::new(client),
    }
}

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

/// A lean client and a lean server, connected to each other.
async fn lean_pair(pki: &Pki) -> (ClientStream, ServerStream) {
    let (c, s) = pair().await;
    let (client, server) = tokio::join!(
        connect(pki.client.clone(), localhost(), c),
        accept(pki.server.clone(), s)
    );
    (client.unwrap(), server.unwrap().0)
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

fn holds_nothing<C>(s: &LeanTls<C>) -> bool {
    s.incoming.capacity() == 0 && s.plain.capacity() == 0 && s.outgoing.capacity() == 0
}

/// Bytes that are not one value repeated, so a reordering or a lost piece shows.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[tokio::test]
async fn a_lean_client_talks_to_tokio_rustls_and_holds_no_buffer_while_idle() {
    let pki = pki();
    let (c, s) = pair().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server.clone());
    let server = tokio::spawn(async move {
        let mut tls = acceptor.accept(s).await.unwrap();
        let mut got = vec![0u8; 200_000];
        tls.read_exact(&mut got).await.unwrap();
        tls.write_all(&got).await.unwrap();
        tls.shutdown().await.unwrap();
        got
    });
    let mut tls = connect(pki.client.clone(), localhost(), c).await.unwrap();
    assert_eq!(tls.connection().alpn_protocol(), Some(&b"mqtt"[..]));
    assert!(holds_nothing(&tls), "nothing is held after the handshake");
    let sent = payload(200_000);
    tls.write_all(&sent).await.unwrap();
    tls.flush().await.unwrap();
    assert!(holds_nothing(&tls), "nothing is held once the data is sent");
    let mut back = Vec::new();
    // Read to the server's close_notify: a clean end of the stream.
    tls.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, sent);
    assert_eq!(server.await.unwrap(), sent);
    assert!(
        holds_nothing(&tls),
        "nothing is held once everything is read"
    );
}

#[tokio::test]
async fn a_lean_server_tells_the_sni_and_resumes_a_tokio_rustls_client() {
    let pki = pki();
    let connector = tokio_rustls::TlsConnector::from(pki.client.clone());
    for round in 0..2 {
        let (c, s) = pair().await;
        let name = localhost();
        let connector = connector.clone();
        let client = tokio::spawn(async move {
            let mut tls = connector.connect(name, c).await.unwrap();
            tls.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            tls.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"pong");
            // The session ticket arrives after the handshake: read to the server's close to keep it.
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        });
        let (mut tls, sni) = accept(pki.server.clone(), s).await.unwrap();
        assert_eq!(sni.as_deref(), Some("localhost"));
        let kind = tls.connection().handshake_kind();
        let want = if round == 0 {
            rustls::HandshakeKind::Full
        } else {
            rustls::HandshakeKind::Resumed
        };
        assert_eq!(kind, Some(want), "round {round}");
        let mut got = [0u8; 4];
        tls.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        assert!(holds_nothing(&tls));
        tls.write_all(b"pong").await.unwrap();
        tls.shutdown().await.unwrap();
        client.await.unwrap();
    }
}

#[tokio::test]
async fn lean_ends_speak_to_each_other_both_ways_at_once() {
    let pki = pki();
    let (client, server) = lean_pair(&pki).await;
    let sent = payload(300_000);
    let mut ends = Vec::new();
    for mut tls in [
        Box::new(client) as Box<dyn Duplex>,
        Box::new(server) as Box<dyn Duplex>,
    ] {
        let sent = sent.clone();
        ends.push(tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(&mut *tls);
            let write = async {
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                got
            };
            let ((), got) = tokio::join!(write, read);
            got
        }));
    }
    for end in ends {
        assert_eq!(end.await.unwrap(), sent);
    }
}

trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<C: Side> Duplex for LeanTls<C> {}

#[tokio::test]
async fn a_refused_certificate_is_a_rustls_error_and_the_server_hears_the_alert() {
    let pki = pki();
    let other = pki_client_of_another_ca();
    let (c, s) = pair().await;
    let (client, server) = tokio::join!(connect(other, localhost(), c), accept(pki.server, s));
    let err = client.err().expect("an untrusted certificate is refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let inner = rustls_error(&err);
    assert!(
        matches!(inner, Some(rustls::Error::InvalidCertificate(_))),
        "{err}"
    );
    let err = server.err().expect("the server's handshake fails too");
    let inner = rustls_error(&err);
    assert!(
        matches!(inner, Some(rustls::Error::AlertReceived(_))),
        "the client's alert reached the server: {err}"
    );
}

/// The rustls error an I/O error carries.
fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A client trusting another generated CA than the server's.
fn pki_client_of_another_ca() -> Arc<rustls::ClientConfig> {
    let dir = tempfile::tempdir().unwrap();
    let setup = crate::emulator::tls::generate(dir.path(), &[], HostRule::new(&[], false)).unwrap();
    Arc::new(
        crate::load::connect::client_config(Some(&setup.ca_cert_path), false, true, &[b"mqtt"])
            .unwrap(),
    )
}

#[tokio::test]
async fn a_close_without_close_notify_is_an_unexpected_eof_and_a_cut_handshake_too() {
    let pki = pki();
    let (mut client, server) = lean_pair(&pki).await;
    drop(server);
    let err = client.read(&mut [0u8; 16]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    let (c, s) = pair().await;
    drop(s);
    let err = connect(pki.client, localhost(), c).await.err().unwrap();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
}

#[test]
fn record_rest_reads_the_record_header() {
    assert_eq!(record_rest(&[]), 0);
    assert_eq!(record_rest(&[23, 3, 3, 0]), 0);
    assert_eq!(record_rest(&[23, 3, 3, 0x40, 0x00]), 0x4000);
    assert_eq!(record_rest(&[23, 3, 3, 0, 2, 1]), 1);
    assert_eq!(record_rest(&[23, 3, 3, 0, 2, 1, 2, 23]), 0);
}
