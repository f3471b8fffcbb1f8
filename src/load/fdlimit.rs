//! File descriptors: every kept connection is one descriptor in the generator (and one more in the embedded
//! emulator, same process). The soft `RLIMIT_NOFILE` is raised to the hard limit at start, and when the hard
//! limit itself is too low and the process may raise it (root or `CAP_SYS_RESOURCE`, up to `fs.nr_open`), the
//! hard limit too. When the OS still limits the run, [`FdCheck::warning`] says how many descriptors are needed,
//! how many are allowed and what to do.

/// Descriptors the process needs besides connections (runtime, files, listeners, stdio).
const BASE: u64 = 64;

/// The outcome of [`raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdCheck {
    pub needed: u64,
    /// The soft limit after raising it.
    pub allowed: u64,
    pub hard: u64,
    /// The soft limit before.
    pub before: u64,
}

impl FdCheck {
    /// Descriptors one run needs: each connection, twice when the emulator is in this process.
    pub fn needed(connections: u64, embedded: bool) -> u64 {
        BASE + connections * if embedded { 2 } else { 1 }
    }

    /// A warning when the OS still limits the run.
    pub fn warning(&self) -> Option<String> {
        (self.needed > self.allowed).then(|| {
            format!(
                "this run needs about {} file descriptors (one per connection, two with the embedded emulator), \
                 but the OS allows {} (soft limit raised from {} to the hard limit {}): connects beyond that fail \
                 as transport_error. Raise the hard limit (`ulimit -Hn`, /etc/security/limits.conf, systemd \
                 LimitNOFILE=, or `docker run --ulimit nofile=N:N`) or run fewer devices.",
                self.needed, self.allowed, self.before, self.hard
            )
        })
    }
}

/// Raises the soft descriptor limit to the hard limit and checks it against `needed`.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on 64-bit Linux, not everywhere
pub fn raise(needed: u64) -> FdCheck {
    use nix::sys::resource::{Resource, getrlimit, rlim_t, setrlimit};
    let Ok((mut soft, mut hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return FdCheck {
            needed,
            allowed: u64::MAX,
            hard: u64::MAX,
            before: u64::MAX,
        };
    };
    let before = soft as u64;
    if (hard as u64) < needed {
        // Only a privileged process may raise its hard limit; a refusal leaves it as it was.
        let raised = needed as rlim_t;
        if setrlimit(Resource::RLIMIT_NOFILE, raised, raised).is_ok() {
            (soft, hard) = (raised, raised);
        }
    }
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        soft = hard;
    }
    FdCheck {
        needed,
        allowed: soft as u64,
        hard: hard as u64,
        before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit_and_warns_only_when_short() {
        let c = raise(10);
        assert_eq!(c.allowed, c.hard);
        assert!(c.allowed >= 10);
        assert!(c.allowed >= c.before);
        assert_eq!(c.warning(), None);
        let short = FdCheck {
            needed: FdCheck::needed(10_000, true),
            allowed: 1024,
            hard: 1024,
            before: 1024,
        };
        let w = short.warning().unwrap();
        assert!(w.contains("20064") && w.contains("1024"), "{w}");
    }
}
