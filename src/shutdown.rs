//! Shutdown is a parameter: servers and runs take a [`Shutdown`] and stop when it fires.

use tokio_util::sync::CancellationToken;

/// What stopped a run before its end (`stopped_by` in report.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppedBy {
    Signal,
    StopFile,
    /// An `[abort]` guard fired (`safety.aborted_by` says which).
    Abort,
}

/// A cloneable shutdown signal.
#[derive(Clone, Default, Debug)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything holding a clone to stop.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once shutdown was triggered.
    pub async fn wait(&self) {
        self.token.cancelled().await
    }

    /// A child that fires with its parent, or on its own.
    pub fn child(&self) -> Self {
        Self {
            token: self.token.child_token(),
        }
    }

    /// Triggers on SIGINT or SIGTERM. Returns the same shutdown for chaining. Needs a Tokio runtime.
    pub fn on_signals(self) -> Self {
        let me = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(s) => s,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            me.trigger();
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                    _ = me.wait() => return,
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            me.trigger();
        });
        self
    }
}
