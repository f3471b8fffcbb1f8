//! HTTPS publish credentials (spec §1): header names and where the gate looks for them.

/// Names the authorizer (header or query parameter). Absent: the default authorizer.
pub const AUTHORIZER_NAME: &str = "x-amz-customauthorizer-name";
/// Carries the base64 token signature (header or query parameter).
pub const SIGNATURE: &str = "x-amz-customauthorizer-signature";
/// Added by the generator to every attempt so the authorizer's event (and so the ledger) names the attempt it
/// served. It reaches the authorizer in `protocolData.http.headers`, as any header does on AWS.
pub const ATTEMPT_ID: &str = crate::contract::attempt_id::HEADER;

/// The HTTPS publish path prefix: `POST /topics/{url-encoded topic}?qos=0|1`.
pub const TOPICS_PREFIX: &str = "/topics/";

/// The request target for publishing to `topic` (percent-encoded as one component, so `/` travels as `%2F`)
/// with `qos`.
pub fn publish_target(topic: &str, qos: u8) -> String {
    format!(
        "{TOPICS_PREFIX}{}?qos={qos}",
        super::query::encode_component(topic)
    )
}

/// The topic of a publish path (`/topics/a%2Fb` and `/topics/a/b` are both `a/b`); `None` for other paths.
pub fn topic_from_path(path: &str) -> Option<String> {
    path.strip_prefix(TOPICS_PREFIX)
        .map(super::query::decode_component)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_targets_round_trip() {
        assert_eq!(
            publish_target("customAuhtTestTopic", 1),
            "/topics/customAuhtTestTopic?qos=1"
        );
        let t = publish_target("devices/d 1/+/#", 0);
        assert_eq!(t, "/topics/devices%2Fd%201%2F%2B%2F%23?qos=0");
        let path = t.split_once('?').unwrap().0;
        assert_eq!(topic_from_path(path).as_deref(), Some("devices/d 1/+/#"));
        assert_eq!(topic_from_path("/topics/a/b").as_deref(), Some("a/b"));
        assert_eq!(topic_from_path("/topicsx"), None);
    }
}
