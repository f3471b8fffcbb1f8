//! `load.source_addrs` expanded: each item is an address (`10.0.0.5`, `::1`) or a CIDR block (`127.0.0.0/28`,
//! `fd00::/120`). A block gives its usable host addresses, as Python's `ipaddress` `.hosts()` does: IPv4 blocks
//! larger than /31 leave out the network and broadcast addresses, IPv6 blocks larger than /127 the first one
//! (the subnet-router anycast address). The result keeps the written order without repeats, is one address
//! family, and holds at most [`MAX_SOURCE_ADDRS`] addresses (a typo such as `/8` must not allocate millions).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most addresses `source_addrs` may expand to: 65,536 × ~28,000 ephemeral ports is far past any run.
pub const MAX_SOURCE_ADDRS: u128 = 65_536;

/// The addresses, or a problem naming the offending item.
pub fn expand(items: &[String]) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        let (base, prefix) = parse_item(item)?;
        let (first, count) = hosts(base, prefix);
        if out.len() as u128 + count > MAX_SOURCE_ADDRS {
            return Err(format!(
                "{item:?} takes the addresses past {MAX_SOURCE_ADDRS}: use a smaller block (a /16 of IPv4 at most)"
            ));
        }
        for i in 0..count {
            let a = offset(first, i);
            if let Some(&other) = out.first()
                && family(other) != family(a)
            {
                return Err(format!(
                    "{item:?} is {} but {other} is {}: use one address family (the target's)",
                    family(a),
                    family(other)
                ));
            }
            if seen.insert(a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// "IPv4" or "IPv6".
pub fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// The block's base address (its host bits cleared) and prefix length; a bare address is a full-length block.
fn parse_item(item: &str) -> Result<(IpAddr, u8), String> {
    let bad = |why: &str| format!("{item:?} is not an address or a CIDR block ({why})");
    let (addr, prefix) = match item.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (item.trim(), None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad("bad address"))?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(p) => match p.parse::<u8>() {
            Ok(p) if p <= bits => p,
            _ => return Err(bad(&format!("the prefix must be 0 to {bits}"))),
        },
    };
    let mask = |v: u128| match prefix {
        0 => 0,
        p => v & (u128::MAX << (u32::from(bits - p))) & (u128::MAX >> (128 - u32::from(bits))),
    };
    let base = match addr {
        IpAddr::V4(a) => Ipv4Addr::from(mask(u128::from(u32::from(a))) as u32).into(),
        IpAddr::V6(a) => Ipv6Addr::from(mask(u128::from(a))).into(),
    };
    Ok((base, prefix))
}

/// The block's first usable host address and how many there are.
fn hosts(base: IpAddr, prefix: u8) -> (IpAddr, u128) {
    let bits: u8 = if base.is_ipv4() { 32 } else { 128 };
    let size = 1u128
        .checked_shl(u32::from(bits - prefix))
        .unwrap_or(u128::MAX);
    match (base, bits - prefix) {
        (_, 0) => (base, 1),
        (IpAddr::V4(_), 1) => (base, 2),
        (IpAddr::V4(_), _) => (offset(base, 1), size - 2),
        (IpAddr::V6(_), 1) => (base, 2),
        (IpAddr::V6(_), _) => (offset(base, 1), size - 1),
    }
}

fn offset(a: IpAddr, i: u128) -> IpAddr {
    match a {
        IpAddr::V4(v) => Ipv4Addr::from((u128::from(u32::from(v)) + i) as u32).into(),
        IpAddr::V6(v) => Ipv6Addr::from(u128::from(v) + i).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(items: &[&str]) -> Result<Vec<String>, String> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        expand(&items).map(|v| v.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn blocks_expand_to_their_usable_hosts_in_order_without_repeats() {
        let v = ex(&["127.0.0.0/28"]).unwrap();
        assert_eq!(v.len(), 14);
        assert_eq!((v[0].as_str(), v[13].as_str()), ("127.0.0.1", "127.0.0.14"));
        // Host bits in the block are ignored, as `ip` does; /31 and /32 keep every address.
        assert_eq!(ex(&["10.1.2.3/30"]).unwrap(), ["10.1.2.1", "10.1.2.2"]);
        assert_eq!(
            ex(&["10.0.0.4/31", "10.0.0.9"]).unwrap(),
            ["10.0.0.4", "10.0.0.5", "10.0.0.9"]
        );
        assert_eq!(
            ex(&["10.0.0.9", "10.0.0.8/30"]).unwrap(),
            ["10.0.0.9", "10.0.0.10"]
        );
        assert_eq!(
            ex(&["fd00::/126"]).unwrap(),
            ["fd00::1", "fd00::2", "fd00::3"]
        );
        assert_eq!(ex(&["::1"]).unwrap(), ["::1"]);
        assert_eq!(ex(&["127.0.0.0/16"]).unwrap().len(), 65_534);
        assert_eq!(ex(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bad_items_mixed_families_and_too_many_are_refused_by_name() {
        for (items, want) in [
            (
                &["127.0.0.0/33"][..],
                "\"127.0.0.0/33\" is not an address or a CIDR block (the prefix must be 0 to 32)",
            ),
            (
                &["127.0.0/24"][..],
                "\"127.0.0/24\" is not an address or a CIDR block (bad address)",
            ),
            (&["localhost"][..], "\"localhost\" is not an address"),
            (&["::/-1"][..], "the prefix must be 0 to 128"),
            (
                &["127.0.0.1", "::1"][..],
                "\"::1\" is IPv6 but 127.0.0.1 is IPv4",
            ),
            (
                &["10.0.0.0/8"][..],
                "\"10.0.0.0/8\" takes the addresses past 65536",
            ),
            (
                &["127.0.0.0/16", "127.1.0.0/29"][..],
                "\"127.1.0.0/29\" takes the addresses past 65536",
            ),
            (&["fd00::/64"][..], "takes the addresses past 65536"),
            (&["0.0.0.0/0"][..], "takes the addresses past 65536"),
        ] {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            let e = expand(&items).unwrap_err();
            assert!(e.contains(want), "{items:?}: {e}");
        }
    }
}
