//! mqtt-send: publish one MQTT message (or a file of them), wait for the broker's
//! acknowledgement, print one JSON meta object on stdout and exit with its code. The README is
//! the contract.
//!
//! Data flows one way: argv + environment + config file → `Settings` → `run::run` (input →
//! session → in-flight state) → `Outcome` → stdout + exit status.

mod broker;
mod cli;
mod codec;
mod config;
mod error;
mod files;
#[cfg(test)]
mod fuzz;
mod generate;
mod input;
mod log;
mod message;
mod outcome;
mod redact;
mod run;
mod session;
mod signals;
mod state;
mod tls;
mod transport;
mod values;
mod wire;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::error::Error;
use crate::outcome::{Class, Details, Outcome};

fn main() -> ExitCode {
    outcome::install_panic_hook();
    let mut command = cli::command();
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
        return match generate::write_all(dir) {
            Ok(written) => {
                for path in written {
                    eprintln!("mqtt-send: wrote {path}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "mqtt-send: cannot write the generated files under {}: {e}",
                    dir.display()
                );
                ExitCode::from(Class::Internal.exit_code())
            }
        };
    }
    if cli.verbose {
        log::enable();
    }
    let outcome = match config::settings(&mut command, &matches, config::Env::from_process()) {
        Ok(settings) => run(&settings),
        Err(error) => Outcome::failure(error, Details::default()),
    };
    outcome.report()
}

/// A single-threaded runtime: one connection needs no more, and it starts faster.
fn run(settings: &config::Settings) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let error = Error::Internal(format!("cannot start the async runtime: {e}"));
            return Outcome::failure(error, Details::default());
        }
    };
    let outcome = runtime.block_on(run::run(settings));
    // A read of stdin that is still blocked (deadline passed) must not keep us alive.
    runtime.shutdown_background();
    outcome
}
