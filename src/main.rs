//! mqtt-send: publish one MQTT message (or a file of them), wait for the broker's
//! acknowledgement, print one JSON meta object on stdout and exit with its code. The README is
//! the contract.
//!
//! Data flows one way: argv + environment + config file → `Settings` → `run::run` (input →
//! session → in-flight state) → `Outcome` → stdout + exit status.

mod aws;
mod broker;
mod cli;
mod codec;
mod config;
mod env;
mod error;
mod files;
#[cfg(test)]
mod fuzz;
mod generate;
mod http;
mod input;
mod json;
mod log;
mod message;
mod outcome;
mod proxy;
mod redact;
mod request;
mod run;
mod session;
mod shadow;
mod signals;
mod sigv4;
mod state;
mod tls;
mod transport;
mod values;
mod websocket;
mod wire;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::error::Error;
use crate::outcome::{Details, Outcome};

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    outcome::install_panic_hook();
    // The runtime and the signal handlers first: from here on SIGINT and SIGTERM end the run
    // with a meta object, whatever it is doing.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let error = Error::Internal(format!("cannot start the async runtime: {e}"));
            return Outcome::failure(error, Details::default()).report();
        }
    };
    let signals = {
        let _inside = runtime.enter();
        signals::Signals::listen()
    };
    let mut command = cli::command();
    // --quiet holds for a command line that cannot be parsed too: then the words are all we
    // have (a `-m --quiet` would silence a failure it is part of, never hide a success).
    if std::env::args_os().skip(1).any(|arg| arg == "--quiet") {
        log::silence();
    }
    let matches = match config::command_line(&mut command, std::env::args_os()) {
        Ok(matches) => matches,
        Err(config::Refusal::Clap(error)) => return outcome::clap_error(error),
        Err(config::Refusal::Config(error)) => {
            return Outcome::failure(error, Details::default()).report();
        }
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return outcome::clap_error(error),
    };
    if let Some(dir) = &cli.generate {
        return generate::report(dir);
    }
    if cli.verbose {
        log::enable();
    }
    if !cli.quiet && log::silenced() {
        // "--quiet" was a value (`-m --quiet`), not the flag.
        log::unsilence();
    }
    // Reading the config file is bounded by the command line's --timeout (or the default):
    // the file itself may set another, which rules from then on.
    let first_deadline = cli.timeout.unwrap_or_else(config::default_timeout);
    let env = config::Env::from_process();
    let reads_files = cli.config.is_some() || cli.password_file.is_some();
    let configure = move || config::settings(&mut command, &matches, env);
    let outcome = runtime.block_on(run::run(
        started,
        signals,
        first_deadline,
        reads_files,
        configure,
    ));
    // A read that is still blocked (a FIFO, a stdin that never ends: the deadline passed) must
    // not keep us alive.
    runtime.shutdown_background();
    outcome.report()
}
