//! MQTT protocol versions, as the scenario names them, the generator speaks them and the emulator reads them
//! from a CONNECT's protocol level.

use serde::{Deserialize, Serialize};

/// An MQTT protocol version. Serialized as the scenario file writes it (`"3.1.1"`, `"5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4): AWS refuses a CONNECT by closing the connection without a CONNACK.
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5: refusals are CONNACK `0x87`, denied publishes PUBACK `0x87`.
    #[serde(rename = "5")]
    V5,
}

impl MqttVersion {
    /// The CONNECT's protocol level byte.
    pub const fn level(self) -> u8 {
        match self {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }

    /// The version a protocol level names, if it is one spoken here.
    pub const fn from_level(level: u8) -> Option<Self> {
        match level {
            4 => Some(Self::V311),
            5 => Some(Self::V5),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_scenario_names_round_trip() {
        for (v, name, level) in [
            (MqttVersion::V311, "\"3.1.1\"", 4),
            (MqttVersion::V5, "\"5\"", 5),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), name);
            assert_eq!(serde_json::from_str::<MqttVersion>(name).unwrap(), v);
            assert_eq!(v.level(), level);
            assert_eq!(MqttVersion::from_level(level), Some(v));
        }
        assert_eq!(MqttVersion::from_level(3), None);
    }
}
