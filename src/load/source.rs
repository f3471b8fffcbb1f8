//! The one place the generator opens TCP connections to the target (HTTPS, MQTT, MQTT/TLS, WSS), binding each
//! to the next of `load.source_addrs` in turn. Each distinct source address has its own ~28,000 ephemeral
//! ports per destination, so N addresses lift the per-destination connection limit N-fold. On Linux the socket
//! gets `IP_BIND_ADDRESS_NO_PORT` before `bind(addr, 0)`: without it the kernel would pick the port at bind
//! time, unaware of the destination, and run out of ports per source address across all destinations;
//! with it the port is chosen at `connect`, per 4-tuple.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpSocket, TcpStream};

/// The source addresses and the round-robin cursor, shared by every connector of a run (cheap to clone).
#[derive(Clone, Default)]
pub struct Sources {
    addrs: Arc<[IpAddr]>,
    next: Arc<AtomicUsize>,
}

impl Sources {
    pub fn new(addrs: Vec<IpAddr>) -> Self {
        Self {
            addrs: addrs.into(),
            next: Arc::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The next source address in turn; `None` when none is configured.
    fn pick(&self) -> Option<IpAddr> {
        let n = self.addrs.len();
        (n > 0).then(|| self.addrs[self.next.fetch_add(1, Ordering::Relaxed) % n])
    }

    /// Opens a TCP connection to `to`, from the next source address when there are any, with `TCP_NODELAY`.
    pub async fn connect(&self, to: SocketAddr) -> io::Result<TcpStream> {
        let tcp = match self.pick() {
            None => TcpStream::connect(to).await?,
            Some(from) => bound(from)?.connect(to).await?,
        };
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    /// Checked once at setup, before any traffic: every address has the family of every target address and
    /// can be bound here (the first [`TEST_BINDS`] and the last). The problem names the address and the fix.
    pub fn check(&self, targets: &[SocketAddr]) -> Result<(), String> {
        let Some(&first) = self.addrs.first() else {
            return Ok(());
        };
        if let Some(t) = targets.iter().find(|t| t.is_ipv4() != first.is_ipv4()) {
            return Err(format!(
                "{first} is {} but the target {t} is {}: use source addresses of the target's family",
                crate::scenario::source_addrs::family(first),
                crate::scenario::source_addrs::family(t.ip()),
            ));
        }
        let n = self.addrs.len();
        let probe = self
            .addrs
            .iter()
            .take(TEST_BINDS)
            .chain((n > TEST_BINDS).then(|| &self.addrs[n - 1]));
        for &a in probe {
            bound(a).map_err(|e| {
                format!(
                    "cannot bind {a} ({e}): it is not an address of this host; add it to an interface first, \
                     e.g. `sudo ip addr add {a}/{} dev eth0` (all of 127.0.0.0/8 works on loopback as is)",
                    if a.is_ipv4() { 32 } else { 128 }
                )
            })?;
        }
        Ok(())
    }
}

/// Addresses [`Sources::check`] test-binds (plus the last): binding is cheap, but 65,536 of them is not free.
const TEST_BINDS: usize = 256;

/// A socket bound to `from` with the port left to `connect`.
fn bound(from: IpAddr) -> io::Result<TcpSocket> {
    let socket = match from {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(target_os = "linux")]
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::IpBindAddressNoPort,
        &true,
    )
    .map_err(io::Error::from)?;
    socket.bind(SocketAddr::new(from, 0))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_take_the_source_addresses_in_turn() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let s = Sources::new(vec![
            "127.0.0.2".parse().unwrap(),
            "127.0.0.3".parse().unwrap(),
        ]);
        s.check(&[to]).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let _c = s.connect(to).await.unwrap();
            seen.push(listener.accept().await.unwrap().1.ip().to_string());
        }
        assert_eq!(seen, ["127.0.0.2", "127.0.0.3", "127.0.0.2"]);
        // None configured: the kernel's choice.
        let _c = Sources::default().connect(to).await.unwrap();
        assert_eq!(
            listener.accept().await.unwrap().1.ip().to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn setup_refuses_another_family_and_an_address_this_host_lacks() {
        let to: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let e = Sources::new(vec!["::1".parse().unwrap()])
            .check(&[to])
            .unwrap_err();
        assert!(
            e.contains("::1 is IPv6 but the target 127.0.0.1:443 is IPv4"),
            "{e}"
        );
        // TEST-NET-3: documentation only, never configured on a host.
        let e = Sources::new(vec!["203.0.113.7".parse().unwrap()])
            .check(&[to])
            .unwrap_err();
        assert!(
            e.contains("cannot bind 203.0.113.7") && e.contains("ip addr add 203.0.113.7/32"),
            "{e}"
        );
    }
}
