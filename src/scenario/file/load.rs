//! `[load]`: how the generator itself opens connections. `source_addrs` names the local addresses connections
//! are bound to in turn (a CIDR string, or a list of addresses and CIDRs); [`crate::scenario::source_addrs`]
//! expands and checks it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSection {
    /// Empty: the kernel picks the source address (the route's) for every connection.
    #[serde(skip_serializing_if = "SourceAddrs::is_empty")]
    pub source_addrs: SourceAddrs,
}

impl LoadSection {
    /// Whether the section is all defaults (left out of the resolved scenario, so reports are unchanged).
    pub fn is_empty(&self) -> bool {
        self.source_addrs.is_empty()
    }
}

/// `source_addrs` as written: one string (`"127.0.0.0/28"`) or a list (`["10.0.0.5", "10.0.1.0/30"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SourceAddrs {
    One(String),
    Many(Vec<String>),
}

impl Default for SourceAddrs {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl SourceAddrs {
    /// The written items, in order.
    pub fn items(&self) -> &[String] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items().is_empty()
    }
}
