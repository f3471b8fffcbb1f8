//! Fuzz cases: `arbitrary`-driven descriptions of what an attacker sends, one per transport, shared by the fuzz
//! mode (`tokenstorm fuzz`) and the cargo-fuzz targets in `fuzz/`. A case is generated from seeded bytes
//! ([`generate`]: ChaCha20 from (seed, case index)), so a run is reproducible from its seed alone.
//!
//! The types describe *structure* (a request line, headers, a CONNECT's fields) with room for raw bytes
//! everywhere, so cases range from almost-valid requests to noise. [`super::render`] turns them into bytes.

use arbitrary::{Arbitrary, Unstructured};
use rand::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

use crate::contract::{Route, Transport};

/// The routes fuzz cases speak, in report order: HTTP/1.1 over TLS (ALPN http/1.1) and plain on their
/// listeners, MQTT over TLS on the dedicated listener and by ALPN `mqtt` on the HTTPS listener (port 443 on AWS),
/// plain MQTT, and MQTT over WebSocket (`GET /mqtt` upgrade) on the HTTPS listener.
pub const TARGETS: [Route; 6] = Route::SPOKEN;

/// A route's position in [`TARGETS`] (per-route counters); routes outside it count as the last.
pub fn target_index(route: Route) -> usize {
    TARGETS
        .iter()
        .position(|&r| r == route)
        .unwrap_or(TARGETS.len() - 1)
}

/// One fuzz case.
#[derive(Debug, Clone, Arbitrary)]
pub enum Case {
    Http(HttpCase),
    Mqtt(MqttCase),
    WebSocket(WsCase),
}

/// Where credentials go on an HTTP request.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Placement {
    Header,
    Query,
    Both,
}

/// A signature as an attacker might send it: base64 of random bytes (sometimes exactly the key's length),
/// or any text.
#[derive(Debug, Clone, Arbitrary)]
pub enum Signature {
    Bytes(Vec<u8>),
    /// Random bytes padded or cut to 256 bytes (a 2048-bit key's signature length), then base64.
    KeySized(Vec<u8>),
    Text(String),
}

/// The credential fields of a request.
#[derive(Debug, Clone, Arbitrary)]
pub struct Credentials {
    /// `None`: the default authorizer; `Some(None)`: the configured name; `Some(Some(s))`: any text.
    pub authorizer: Option<Option<String>>,
    pub token: Option<String>,
    pub signature: Option<Signature>,
    pub placement: Placement,
}

/// An HTTP request, rendered by hand so that nothing is normalised away.
#[derive(Debug, Clone, Arbitrary)]
pub struct HttpCase {
    pub tls: bool,
    /// Send a valid, signed request first on the same connection.
    pub valid_prefix: bool,
    pub method: Method,
    /// `None`: a publish path `/topics/<topic>`.
    pub path: Option<String>,
    pub topic: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub credentials: Credentials,
    pub body: Vec<u8>,
    pub content_length: ContentLength,
    /// Bytes sent after the request (a second, broken request; garbage).
    pub tail: Vec<u8>,
    /// Replace the whole request with these bytes.
    pub raw: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum Method {
    Post,
    Get,
    Other(String),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum ContentLength {
    Exact,
    Missing,
    Value(u64),
    Chunked,
}

/// An MQTT connection: a CONNECT built from fields (or raw bytes), then raw packet bytes.
#[derive(Debug, Clone, Arbitrary)]
pub struct MqttCase {
    pub transport: MqttTransport,
    /// Send a valid, signed CONNECT first; the fuzz bytes follow an accepted connection.
    pub valid_prefix: bool,
    pub connect: Connect,
    /// Packets after the CONNECT: raw bytes, or framed (a type/flags byte, a correct length, a body).
    pub after: Vec<Packet>,
}

/// Which [`Route`] an MQTT case takes ([`Case::transport`]). Its own enum because its `Arbitrary` layout fixes
/// which case a (seed, index) generates.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum MqttTransport {
    Tls,
    Alpn,
    Plain,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum Connect {
    Fields(Box<ConnectFields>),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, Arbitrary)]
pub struct ConnectFields {
    /// `None`: "MQTT".
    pub protocol_name: Option<String>,
    /// 4 or 5 mostly; any byte sometimes.
    pub level: Level,
    /// `None`: computed from the fields present.
    pub flags: Option<u8>,
    pub keep_alive: u16,
    /// MQTT 5 property bytes (length-prefixed on the wire).
    pub properties: Vec<u8>,
    pub client_id: String,
    pub username: Option<Username>,
    pub password: Option<Vec<u8>>,
    /// `None`: the correct remaining length.
    pub remaining_length: Option<u32>,
}

/// The protocol level byte a fuzzed CONNECT claims: one of the [`crate::contract::MqttVersion`]s, or any
/// byte. Its own enum because its `Arbitrary` layout fixes which case a (seed, index) generates.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Level {
    V311,
    V5,
    Other(u8),
}

#[derive(Debug, Clone, Arbitrary)]
pub enum Username {
    /// Built by `wire::mqtt::build_username` from these credentials.
    Query {
        attempt: Option<String>,
        credentials: Credentials,
        extra: Vec<(String, String)>,
    },
    Text(String),
}

#[derive(Debug, Clone, Arbitrary)]
pub enum Packet {
    Raw(Vec<u8>),
    Framed { first: u8, body: Vec<u8> },
}

/// A WebSocket upgrade at `GET /mqtt`, then frames.
#[derive(Debug, Clone, Arbitrary)]
pub struct WsCase {
    /// Upgrade with valid credentials first; the frames follow an accepted upgrade.
    pub valid_prefix: bool,
    pub path: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub credentials: Credentials,
    /// Leave out `Sec-WebSocket-Key` / `Upgrade` / `Sec-WebSocket-Protocol`.
    pub omit_key: bool,
    pub omit_upgrade: bool,
    pub omit_protocol: bool,
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum Frame {
    Raw(Vec<u8>),
    /// A well-formed frame around `payload` (MQTT packets, usually garbage).
    Framed {
        opcode: u8,
        fin: bool,
        masked: bool,
        payload: Vec<u8>,
    },
    /// A frame whose header claims `claimed` payload bytes.
    Lying {
        opcode: u8,
        claimed: u64,
        payload: Vec<u8>,
    },
}

impl Case {
    /// The transport this case speaks.
    pub fn transport(&self) -> Route {
        match self {
            Case::Http(h) if h.tls => Route::of(Transport::Https),
            Case::Http(_) => Route::PLAIN_HTTP,
            Case::Mqtt(m) => match m.transport {
                MqttTransport::Tls => Route::of(Transport::MqttTls),
                MqttTransport::Alpn => Route::MQTT_ALPN,
                MqttTransport::Plain => Route::of(Transport::Mqtt),
            },
            Case::WebSocket(_) => Route::of(Transport::Wss),
        }
    }

    pub fn valid_prefix(&self) -> bool {
        match self {
            Case::Http(h) => h.valid_prefix,
            Case::Mqtt(m) => m.valid_prefix,
            Case::WebSocket(w) => w.valid_prefix,
        }
    }
}

/// How many random bytes feed one case at most.
pub const MAX_CASE_ENTROPY: usize = 4096;

/// The random bytes of case `index` in a run seeded with `seed`: ChaCha20 keyed by (seed, index), a length
/// skewed towards short inputs.
pub fn entropy(seed: u64, index: u64) -> Vec<u8> {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    key[16..24].copy_from_slice(b"tsfuzz01");
    let mut rng = ChaCha20Rng::from_seed(key);
    let cap = match rng.next_u32() % 4 {
        0 => 64,
        1 => 256,
        2 => 1024,
        _ => MAX_CASE_ENTROPY,
    };
    let len = 16 + (rng.next_u32() as usize % cap);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// Case `index` of a run seeded with `seed`. Never fails: `arbitrary` fills what the bytes do not cover with
/// defaults.
pub fn generate(seed: u64, index: u64) -> Case {
    from_bytes(&entropy(seed, index))
}

/// A case from any bytes (the cargo-fuzz targets' input).
pub fn from_bytes(bytes: &[u8]) -> Case {
    let mut u = Unstructured::new(bytes);
    Case::arbitrary(&mut u).unwrap_or_else(|_| {
        Case::Mqtt(MqttCase {
            transport: MqttTransport::Plain,
            valid_prefix: false,
            connect: Connect::Raw(bytes.to_vec()),
            after: Vec::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_deterministic_per_seed_and_index() {
        assert_eq!(entropy(7, 3), entropy(7, 3));
        assert_ne!(entropy(7, 3), entropy(7, 4));
        assert_ne!(entropy(7, 3), entropy(8, 3));
        assert_eq!(
            format!("{:?}", generate(1, 2)),
            format!("{:?}", generate(1, 2))
        );
    }

    #[test]
    fn every_transport_comes_up_in_a_few_hundred_cases() {
        let mut seen = [0usize; TARGETS.len()];
        let mut prefixed = 0;
        for i in 0..600 {
            let case = generate(42, i);
            seen[target_index(case.transport())] += 1;
            prefixed += usize::from(case.valid_prefix());
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        assert!(prefixed > 0);
    }
}
