//! moto, the local AWS API double, as a test fixture: `.venv/bin/moto_server` on a free loopback port, waited
//! for until it answers, killed when dropped. It serves CloudWatch (JSON protocol) and CloudWatch Logs.
//!
//! moto accepts any credentials, but the AWS credential chain must find some, and must never fall through to
//! the instance-metadata endpoint (not loopback): [`Moto::start`] puts fake ones in this process's environment
//! once, and [`Moto::env`] gives them to child processes.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The environment that points the AWS credential chain at fake keys and away from instance metadata.
pub const AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/tokenstorm-tests"),
];

/// The region every AWS test uses.
pub const REGION: &str = "eu-west-1";

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    _log_dir: tempfile::TempDir,
    log: PathBuf,
}

impl Moto {
    /// Starts moto on a free loopback port and waits (up to 60 s) until it accepts connections. Panics, naming
    /// scripts/test, when the venv has no moto_server.
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// moto with IAM authentication on from the first request: it denies the fake credentials
    /// (`InvalidClientTokenId`), as AWS denies unknown keys.
    pub fn start_denying() -> Moto {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        set_fake_credentials();
        let server = repo().join(".venv/bin/moto_server");
        assert!(
            server.exists(),
            "{} is missing: run scripts/test (it builds .venv from tests/requirements.txt, which pins \
             moto[server]), or .venv/bin/pip install -r tests/requirements.txt",
            server.display()
        );
        let port = free_port();
        let log_dir = super::tempdir();
        let log = log_dir.path().join("moto.log");
        let log_file = std::fs::File::create(&log).expect("cannot create moto's log file");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(AWS_ENV)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let mut moto = Moto {
            child,
            port,
            _log_dir: log_dir,
            log,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on 127.0.0.1:{} within 60 s:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto has logged so far (its request log), for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The environment a child process needs to talk to moto through the AWS credential chain.
    pub fn env() -> [(&'static str, &'static str); 5] {
        AWS_ENV
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (the OS picks it; moto binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot bind 127.0.0.1:0")
        .port()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Puts [`AWS_ENV`] in this process's environment, once: for an AWS client without a moto (an unreachable endpoint).
pub fn set_fake_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (key, value) in AWS_ENV {
            // SAFETY: set once, before the first AWS client of this test process reads the environment; std's
            // own readers (env::var, Command) take the same lock as set_var, and the other tests' threads read
            // the environment only through them.
            unsafe { std::env::set_var(key, value) };
        }
    });
}
