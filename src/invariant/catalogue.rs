//! Catalogue coverage (reported, never a failure): the forgery variants the scenario weights that the oracle
//! does not send over a transport in use, each with the oracle's reason, and the ones it moves.

use super::{Status, Verdict, verdict};
use crate::attempt::Mix;
use crate::attempt::oracle::{self, Applies};
use crate::contract::Transport;
use crate::contract::{Class, Forgery};

/// The `catalogue_coverage` verdict for a mix and the transports that have devices.
pub fn coverage(mix: &Mix, in_use: &[Transport]) -> Verdict {
    let mut v = verdict("catalogue_coverage", Status::Info, String::new());
    let mut weighted = 0;
    let mut skipped = 0;
    for f in Forgery::ALL {
        if mix.share(Class::Forged(f)) <= 0.0 {
            continue;
        }
        weighted += 1;
        for &t in in_use {
            match oracle::entry(f).applies(t) {
                Applies::Yes => {}
                Applies::Moved(why) => {
                    v.evidence
                        .push(format!("{} on {}: moved: {why}", f.as_str(), t.as_str()))
                }
                Applies::Skipped(why) => {
                    skipped += 1;
                    v.evidence
                        .push(format!("{} on {}: skipped: {why}", f.as_str(), t.as_str()));
                }
            }
        }
    }
    v.details.insert("variants_weighted".into(), weighted);
    v.details.insert("variant_transport_skips".into(), skipped);
    v.summary = format!(
        "{weighted} forged variants weighted over {} transports; {skipped} (variant, transport) pairs skipped as the oracle says",
        in_use.len()
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_skip_with_its_reason() {
        let mix = Mix::new([1.0; Class::COUNT]).unwrap();
        let v = coverage(&mix, &[Transport::Https, Transport::Mqtt]);
        assert_eq!(v.status, Status::Info);
        // HTTPS skips second_question_mark, question_mark_in_free_text and in_password; MQTT skips in_body.
        assert_eq!(v.details["variant_transport_skips"], 4);
        assert!(
            v.evidence.iter().any(|e| e
                == "second_question_mark on https: skipped: HTTPS has no MQTT CONNECT username")
        );
        assert_eq!(
            coverage(&mix, &[Transport::Mqtt]).details["variant_transport_skips"],
            1
        );
    }
}
