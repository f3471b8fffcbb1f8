//! What MQTT sessions share: who is connected under which client id (a second connection with the same id
//! kicks the first, spec §7), the topic tree, each session's delivery queue, and the storm signal (every
//! session dropped at once: `POST /storm` on the admin listener, or a scenario's `[[mqtt.storms]]`). Deliveries
//! are dropped when a session's queue is full (a slow subscriber never blocks a publisher).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, watch};

use super::topics::TopicTree;

/// Messages queued per session before new ones are dropped.
pub const QUEUE_DEPTH: usize = 256;

/// A message routed to a subscriber, at the QoS it was granted (at most the publisher's). Queued boxed: a
/// bounded channel allocates its first block of 32 slots up front, 256 bytes of pointers rather than 2 KiB of
/// `Delivery` for every session, most of which never receive anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub qos: u8,
    pub payload: Bytes,
}

/// A session's handle on the broker.
pub struct Registration {
    pub id: u64,
    pub deliveries: mpsc::Receiver<Box<Delivery>>,
    /// Notified when another connection takes the client id over.
    pub kicked: Arc<Notify>,
    /// Changes when a storm drops every session (a watch, so a storm between two waits is not missed).
    pub storms: watch::Receiver<u64>,
}

struct Client {
    session: u64,
    kicked: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    by_client_id: HashMap<String, Client>,
    queues: HashMap<u64, mpsc::Sender<Box<Delivery>>>,
    tree: TopicTree<u64>,
}

pub struct Broker {
    inner: Mutex<Inner>,
    /// How many storms so far; each session watches it.
    storms: watch::Sender<u64>,
}

impl Default for Broker {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            storms: watch::Sender::new(0),
        }
    }
}

impl Broker {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session for `client_id`, kicking the session that held it. An empty client id is never
    /// shared.
    pub fn register(&self, client_id: &str) -> Registration {
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        inner.queues.insert(id, tx);
        let kicked = Arc::new(Notify::new());
        if !client_id.is_empty() {
            let old = inner.by_client_id.insert(
                client_id.to_string(),
                Client {
                    session: id,
                    kicked: kicked.clone(),
                },
            );
            if let Some(old) = old {
                old.kicked.notify_one();
            }
        }
        Registration {
            id,
            deliveries: rx,
            kicked,
            storms: self.storms.subscribe(),
        }
    }

    /// Drops every session registered now (each closes as `storm`, sending nothing: a storm is a network or
    /// host failure, not a goodbye); returns how many there were. Sessions registered afterwards are not
    /// touched: devices reconnecting at once are the point.
    pub fn storm(&self) -> usize {
        // Counted under the lock so a session registering meanwhile is either counted and dropped or neither.
        let inner = self.lock();
        self.storms.send_modify(|n| *n += 1);
        inner.queues.len()
    }

    /// Forgets a session: its queue, its subscriptions and (if it still holds it) its client id.
    pub fn unregister(&self, id: u64, client_id: &str, filters: &[String]) {
        let mut inner = self.lock();
        inner.queues.remove(&id);
        for f in filters {
            inner.tree.remove(f, &id);
        }
        if inner
            .by_client_id
            .get(client_id)
            .is_some_and(|c| c.session == id)
        {
            inner.by_client_id.remove(client_id);
        }
    }

    pub fn subscribe(&self, id: u64, filter: &str, qos: u8) {
        self.lock().tree.insert(filter, id, qos);
    }

    pub fn unsubscribe(&self, id: u64, filter: &str) {
        self.lock().tree.remove(filter, &id);
    }

    /// Queues the message for every matching subscriber; returns how many got it.
    pub fn publish(&self, topic: &str, qos: u8, payload: &Bytes) -> usize {
        let inner = self.lock();
        let mut sent = 0;
        for (id, granted) in inner.tree.matches(topic) {
            if let Some(tx) = inner.queues.get(&id)
                && tx
                    .try_send(Box::new(Delivery {
                        topic: topic.to_string(),
                        qos: granted.min(qos),
                        payload: payload.clone(),
                    }))
                    .is_ok()
            {
                sent += 1;
            }
        }
        sent
    }

    /// Sessions registered now.
    pub fn sessions(&self) -> usize {
        self.lock().queues.len()
    }
}

/// A storm, counted: drops every MQTT session (`POST /storm`, a run's `[[mqtt.storms]]`).
pub(crate) fn storm(broker: &Broker, metrics: &crate::emulator::EmulatorMetrics) -> usize {
    metrics.record_storm();
    let dropped = broker.storm();
    tracing::info!(dropped, "storm: every MQTT session dropped");
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_client_id_kicks_and_routing_follows_subscriptions() {
        let b = Broker::default();
        let mut first = b.register("dev");
        let mut second = b.register("dev");
        // The first was kicked: its notify holds a permit.
        tokio::time::timeout(std::time::Duration::from_secs(1), first.kicked.notified())
            .await
            .unwrap();
        b.subscribe(second.id, "t/+", 1);
        b.subscribe(first.id, "t/#", 0);
        assert_eq!(b.publish("t/x", 1, &Bytes::from_static(b"p")), 2);
        assert_eq!(second.deliveries.recv().await.unwrap().qos, 1);
        assert_eq!(first.deliveries.recv().await.unwrap().qos, 0);
        // The kicked session leaving does not free the id held by the second.
        b.unregister(first.id, "dev", &["t/#".to_string()]);
        assert_eq!(b.publish("t/x", 0, &Bytes::new()), 1);
        let third = b.register("dev");
        tokio::time::timeout(std::time::Duration::from_secs(1), second.kicked.notified())
            .await
            .unwrap();
        b.unregister(second.id, "dev", &["t/+".to_string()]);
        b.unregister(third.id, "dev", &[]);
        assert_eq!(b.sessions(), 0);
    }

    #[tokio::test]
    async fn a_storm_reaches_the_sessions_registered_before_it_and_only_them() {
        let b = Broker::default();
        let mut before = [b.register("a"), b.register("b"), b.register("")];
        assert_eq!(b.storm(), 3);
        let mut after = b.register("c");
        for r in &mut before {
            assert!(
                r.storms.has_changed().unwrap(),
                "session {} saw the storm",
                r.id
            );
            r.storms.mark_unchanged();
        }
        assert!(
            !after.storms.has_changed().unwrap(),
            "a later session is untouched"
        );
        assert_eq!(
            b.storm(),
            4,
            "the next storm counts every session still registered"
        );
        assert!(after.storms.has_changed().unwrap());
        after.storms.mark_unchanged();
    }
}
