//! The in-memory topic tree that routes PUBLISHes to subscribers: one node per topic level, with `+` (one
//! level) and `#` (this level and everything below, last level only) as children of their own. Pure.
//! Topics starting with `$` are not matched by a wildcard in the first level (MQTT 3.1.1 §4.7.2).

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
struct Node<K> {
    children: HashMap<String, Node<K>>,
    /// Subscriber → granted QoS.
    subscribers: HashMap<K, u8>,
}

impl<K> Default for Node<K> {
    fn default() -> Self {
        Self {
            children: HashMap::new(),
            subscribers: HashMap::new(),
        }
    }
}

/// Subscriptions by filter.
#[derive(Debug)]
pub struct TopicTree<K> {
    root: Node<K>,
}

impl<K> Default for TopicTree<K> {
    fn default() -> Self {
        Self {
            root: Node::default(),
        }
    }
}

/// Whether `filter` is a valid MQTT topic filter: not empty, `+` and `#` fill whole levels, `#` only last.
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| match *level {
        "+" => true,
        "#" => i == levels.len() - 1,
        l => !l.contains('+') && !l.contains('#'),
    })
}

/// Whether `topic` is a valid topic name to publish to: not empty, no wildcards.
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

impl<K: Clone + Eq + Hash> TopicTree<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes `key` to `filter` (which must be valid) with `qos`; a repeat replaces the QoS.
    pub fn insert(&mut self, filter: &str, key: K, qos: u8) {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_string()).or_default();
        }
        node.subscribers.insert(key, qos);
    }

    /// Removes `key`'s subscription to `filter`, pruning empty branches.
    pub fn remove(&mut self, filter: &str, key: &K) {
        let levels: Vec<&str> = filter.split('/').collect();
        remove_at(&mut self.root, &levels, key);
    }

    /// Every subscriber whose filter matches `topic`, with the highest QoS it was granted among them.
    pub fn matches(&self, topic: &str) -> Vec<(K, u8)> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut found: HashMap<K, u8> = HashMap::new();
        collect(&self.root, &levels, topic.starts_with('$'), &mut found);
        found.into_iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.root.children.is_empty() && self.root.subscribers.is_empty()
    }
}

fn remove_at<K: Eq + Hash>(node: &mut Node<K>, levels: &[&str], key: &K) -> bool {
    match levels.split_first() {
        None => {
            node.subscribers.remove(key);
        }
        Some((first, rest)) => {
            if let Some(child) = node.children.get_mut(*first)
                && remove_at(child, rest, key)
            {
                node.children.remove(*first);
            }
        }
    }
    node.children.is_empty() && node.subscribers.is_empty()
}

fn add<K: Clone + Eq + Hash>(subs: &HashMap<K, u8>, found: &mut HashMap<K, u8>) {
    for (k, q) in subs {
        let e = found.entry(k.clone()).or_insert(*q);
        *e = (*e).max(*q);
    }
}

fn collect<K: Clone + Eq + Hash>(
    node: &Node<K>,
    levels: &[&str],
    dollar: bool,
    found: &mut HashMap<K, u8>,
) {
    if !dollar && let Some(hash) = node.children.get("#") {
        // `a/#` also matches `a` itself.
        add(&hash.subscribers, found);
    }
    let Some((first, rest)) = levels.split_first() else {
        add(&node.subscribers, found);
        return;
    };
    if let Some(child) = node.children.get(*first) {
        collect(child, rest, false, found);
    }
    if !dollar && let Some(plus) = node.children.get("+") {
        collect(plus, rest, false, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(tree: &TopicTree<u32>, topic: &str) -> Vec<(u32, u8)> {
        let mut v = tree.matches(topic);
        v.sort();
        v
    }

    #[test]
    fn plus_hash_and_exact() {
        let mut t = TopicTree::new();
        t.insert("a/b/c", 1, 0);
        t.insert("a/+/c", 2, 1);
        t.insert("a/#", 3, 0);
        t.insert("#", 4, 1);
        t.insert("+/+", 5, 0);
        t.insert("a/b/c", 6, 1);
        assert_eq!(keys(&t, "a/b/c"), [(1, 0), (2, 1), (3, 0), (4, 1), (6, 1)]);
        assert_eq!(keys(&t, "a"), [(3, 0), (4, 1)]);
        assert_eq!(keys(&t, "a/x"), [(3, 0), (4, 1), (5, 0)]);
        assert_eq!(keys(&t, "b/x/c"), [(4, 1)]);
        assert_eq!(keys(&t, "$aws/things"), []);
        t.insert("$aws/#", 7, 0);
        assert_eq!(keys(&t, "$aws/things"), [(7, 0)]);
    }

    #[test]
    fn one_subscriber_on_two_filters_counts_once_at_the_highest_qos() {
        let mut t = TopicTree::new();
        t.insert("a/+", 1, 0);
        t.insert("a/b", 1, 1);
        assert_eq!(keys(&t, "a/b"), [(1, 1)]);
    }

    #[test]
    fn remove_prunes() {
        let mut t = TopicTree::new();
        t.insert("a/b", 1, 0);
        t.insert("a/+", 2, 0);
        t.remove("a/b", &1);
        assert_eq!(keys(&t, "a/b"), [(2, 0)]);
        t.remove("a/+", &2);
        t.remove("never/there", &9);
        assert!(t.is_empty());
    }

    #[test]
    fn filter_and_topic_validity() {
        for ok in ["a", "a/b", "+", "#", "a/+/c", "a/#", "/", "+/+/#"] {
            assert!(valid_filter(ok), "{ok}");
        }
        for bad in ["", "a/#/b", "a+", "a/b#", "#/a", "a\0"] {
            assert!(!valid_filter(bad), "{bad}");
        }
        assert!(valid_topic("a/b") && !valid_topic("a/+") && !valid_topic("#") && !valid_topic(""));
    }
}
