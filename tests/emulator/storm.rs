//! Storms through the admin listener, spoken to with hand-written MQTT bytes: `POST /storm` drops every session
//! open at that moment — MQTT 3.1.1 and 5 alike just see the connection close, as after a network or host
//! failure — answers how many it dropped, counts them (`reason="storm"`) and leaves later sessions alone.

use tokenstorm::contract::{Route, Transport};
use tokenstorm::emulator::metrics::CloseReason;

use super::mqtt::{emulator, good, plain};
use crate::support::client::Conn;
use crate::support::mqtt::{CONNACK_OK_V4, CONNACK_OK_V5, PINGREQ, PINGRESP, Read, connect};

#[tokio::test]
async fn a_storm_drops_every_session_open_then_and_says_how_many() {
    let emu = emulator().await;
    let mut v4 = plain(&emu).await;
    v4.send(&connect(4, "storm-a", Some(&good()), None, 60))
        .await;
    assert_eq!(v4.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    let mut v5 = plain(&emu).await;
    v5.send(&connect(5, "storm-b", Some(&good()), None, 60))
        .await;
    assert_eq!(v5.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    let mut admin = Conn::http(emu.addrs().admin.unwrap()).await;
    assert_eq!(admin.get("/storm").await.status, 405, "a storm is a POST");
    let answer = admin.post("/storm", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["dropped"], 2);
    v4.expect_closed("the 3.1.1 session").await;
    v5.expect_closed("the 5 session (no DISCONNECT: the connection just breaks)")
        .await;
    // A device reconnecting after the storm is served as usual.
    let mut back = plain(&emu).await;
    back.send(&connect(4, "storm-a", Some(&good()), None, 60))
        .await;
    assert_eq!(back.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    back.send(&PINGREQ).await;
    assert_eq!(back.read().await, Read::Packet(PINGRESP.to_vec()));
    assert_eq!(emu.metrics().storms(), 1);
    assert_eq!(
        emu.metrics()
            .closes(Route::of(Transport::Mqtt), CloseReason::Storm),
        2
    );
    let metrics = admin.get("/metrics").await.body;
    assert!(
        metrics.contains("tokenstorm_mqtt_storms_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "tokenstorm_mqtt_connections_closed_total{transport=\"mqtt\",reason=\"storm\"} 2\n"
        ),
        "{metrics}"
    );
    assert_eq!(
        admin.post("/storm", &[]).await.json()["dropped"],
        1,
        "only the session open now"
    );
    back.expect_closed("the session after the first storm")
        .await;
    emu.stop().await;
}
