//! A JSON value kept as its compact text. A ledger entry's event and the function's response are written once
//! and read back rarely (a `/ledger` page, a witness line, an explanation); held as a tree of maps an MQTT
//! event costs several KiB, as text a few hundred bytes, and an emulator keeps up to
//! [`super::ledger::DEFAULT_LEDGER_CAPACITY`] entries. It serializes as the JSON itself, so the ledger's
//! external format is unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON value as compact text (see the module docs).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// The value, parsed again.
    pub fn value(&self) -> Value {
        // The text is JSON by construction (from a `Value`, or checked when deserialized).
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// The JSON text as held.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl From<&Value> for JsonText {
    fn from(v: &Value) -> Self {
        // Serializing a `Value` cannot fail (its map keys are strings).
        Self(serde_json::value::to_raw_value(v).unwrap_or_else(|_| null()))
    }
}

impl From<Value> for JsonText {
    fn from(v: Value) -> Self {
        Self::from(&v)
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("null is JSON")
}

/// Equal when the values are: text read back from a pretty-printed page still equals the compact original.
impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text() || self.value() == other.value()
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn it_keeps_compact_text_and_serializes_as_the_json_itself() {
        let v = json!({"token": "t", "protocolData": {"mqtt": {"username": "u?x=1"}}, "n": [1, 2]});
        let t = JsonText::from(&v);
        assert_eq!(t.value(), v);
        assert!(!t.text().contains(' '), "{}", t.text());
        let out = serde_json::to_string(&json!({"event": t.value()})).unwrap();
        assert_eq!(
            serde_json::to_string(&serde_json::json!({"event": v})).unwrap(),
            out
        );
        #[derive(Serialize, Deserialize)]
        struct E {
            event: JsonText,
        }
        let e = E { event: t.clone() };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text, format!("{{\"event\":{}}}", t.text()));
        // Read back from a pretty page: equal, though the text differs.
        let pretty = serde_json::to_string_pretty(&json!({"event": v})).unwrap();
        let back: E = serde_json::from_str(&pretty).unwrap();
        assert_eq!(back.event, t);
        // Not JSON: refused when read, not held.
        assert!(serde_json::from_str::<E>("{\"event\": nope}").is_err());
    }
}
