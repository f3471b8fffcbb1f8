//! What the tokenstorm process used while the load ran, for `generator_kept_up`: CPU time (getrusage, every
//! thread, exited ones too) and the time its threads waited for a CPU (`/proc/self/task/*/schedstat`: a thread
//! that is runnable but not running is starved, which CPU time alone hides when other processes share the
//! cores), against the cores it may run on (`available_parallelism`: the affinity mask and cgroup quota) times
//! the elapsed time; the peak of open descriptors (sampled every 250 ms) against the soft limit; and the
//! connections to one destination against the ephemeral port range. The embedded emulator runs in this process,
//! so its share counts too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The measurements of one load.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// CPUs the process may run on.
    pub cores: u64,
    pub elapsed_us: u64,
    /// User + system CPU time over the load.
    pub cpu_us: u64,
    /// Time runnable threads waited for a CPU over the load; `None` where the kernel does not say.
    pub wait_us: Option<u64>,
    /// The most descriptors open at once (sampled).
    pub fds_peak: u64,
    /// The soft `RLIMIT_NOFILE`.
    pub fds_limit: u64,
    /// The most connections the plan keeps to one destination (address and port).
    pub connections_per_destination: u64,
    /// Local ports the OS hands out for outgoing connections (`ip_local_port_range`); `None` when unreadable.
    pub ephemeral_ports: Option<u64>,
    /// Source addresses connections were spread over (`load.source_addrs`; 1: the kernel's one). Each has its
    /// own port range per destination.
    pub source_addrs: u64,
}

impl Usage {
    /// Local ports available per destination: the range times the source addresses.
    pub fn ports_per_destination(&self) -> Option<u64> {
        self.ephemeral_ports
            .map(|p| p.saturating_mul(self.source_addrs.max(1)))
    }
}

/// Measures from [`Sampler::start`] to [`Sampler::finish`].
pub struct Sampler {
    started: Instant,
    cpu0: u64,
    wait0: Option<u64>,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    connections_per_destination: u64,
    source_addrs: u64,
}

impl Sampler {
    /// Starts sampling (a task on the current runtime counts descriptors every 250 ms).
    pub fn start(connections_per_destination: u64, source_addrs: u64) -> Self {
        let peak = Arc::new(AtomicU64::new(open_fds()));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                p.fetch_max(open_fds(), Ordering::Relaxed);
            }
        });
        Self {
            started: Instant::now(),
            cpu0: cpu_us(),
            wait0: wait_us(),
            peak,
            task,
            connections_per_destination,
            source_addrs: source_addrs.max(1),
        }
    }

    /// Stops sampling and returns what the load used.
    pub fn finish(self) -> Usage {
        self.task.abort();
        self.peak.fetch_max(open_fds(), Ordering::Relaxed);
        Usage {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            elapsed_us: self.started.elapsed().as_micros() as u64,
            cpu_us: cpu_us().saturating_sub(self.cpu0),
            wait_us: wait_us()
                .zip(self.wait0)
                .map(|(now, then)| now.saturating_sub(then)),
            fds_peak: self.peak.load(Ordering::Relaxed),
            fds_limit: fds_limit(),
            connections_per_destination: self.connections_per_destination,
            ephemeral_ports: ephemeral_ports(),
            source_addrs: self.source_addrs,
        }
    }
}

/// User + system CPU time of the whole process so far, µs.
fn cpu_us() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
        return 0;
    };
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
    us(u.user_time()) + us(u.system_time())
}

/// The run-queue wait of the process's live threads so far, µs (schedstat's second field, ns).
fn wait_us() -> Option<u64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut ns = 0u64;
    let mut any = false;
    for t in tasks.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        if let Some(w) = text
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.parse::<u64>().ok())
        {
            ns += w;
            any = true;
        }
    }
    any.then_some(ns / 1000)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on 64-bit Linux, not everywhere
fn fds_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit};
    getrlimit(Resource::RLIMIT_NOFILE).map_or(u64::MAX, |(soft, _)| soft as u64)
}

fn ephemeral_ports() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    port_range(&text)
}

/// The size of a `ip_local_port_range` ("32768\t60999").
pub fn port_range(text: &str) -> Option<u64> {
    let mut it = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (lo, hi) = (it.next()??, it.next()??);
    (hi >= lo).then(|| hi - lo + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_range_is_read_as_the_kernel_writes_it() {
        assert_eq!(port_range("32768\t60999\n"), Some(28232));
        assert_eq!(port_range("1024 1024"), Some(1));
        assert_eq!(port_range("9 3"), None);
        assert_eq!(port_range(""), None);
    }

    #[tokio::test]
    async fn a_busy_load_shows_cpu_time_and_open_descriptors() {
        let s = Sampler::start(7, 0);
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let u = s.finish();
        assert!(u.cores >= 1);
        assert!(u.fds_peak >= 3, "{u:?}");
        assert!(u.fds_limit >= u.fds_peak);
        assert_eq!(u.connections_per_destination, 7);
        assert!(u.elapsed_us > 0);
    }
}
