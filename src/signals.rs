//! SIGINT and SIGTERM: a run that is interrupted stops promptly, says goodbye to the broker if
//! it was connected, and still prints its meta object (exit 130 / 143).

use crate::outcome::Class;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn class(self) -> Class {
        match self {
            Signal::Interrupt => Class::Interrupted,
            Signal::Terminate => Class::Terminated,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The signals we listen for, registered once at the start of the run.
pub struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Start listening. A handler that cannot be installed is logged with -v and ignored: a
    /// publish never fails because of it.
    #[cfg(unix)]
    pub fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(e) => {
                crate::log::verbose!("cannot listen for {name}: {e}");
                None
            }
        };
        Signals {
            interrupt: install(SignalKind::interrupt(), "SIGINT"),
            terminate: install(SignalKind::terminate(), "SIGTERM"),
        }
    }

    #[cfg(not(unix))]
    pub fn listen() -> Self {
        Signals {}
    }

    /// The next signal; pending forever when none can arrive.
    #[cfg(unix)]
    pub async fn recv(&mut self) -> Signal {
        async fn next(stream: &mut Option<tokio::signal::unix::Signal>) {
            if let Some(stream) = stream
                && stream.recv().await.is_some()
            {
                return;
            }
            std::future::pending().await
        }
        let Signals {
            interrupt,
            terminate,
        } = self;
        tokio::select! {
            () = next(interrupt) => Signal::Interrupt,
            () = next(terminate) => Signal::Terminate,
        }
    }

    #[cfg(not(unix))]
    pub async fn recv(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}
