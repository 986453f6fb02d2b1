//! Everything mqtt-send writes on stderr: warnings, the failure's sentence, and with
//! `-v/--verbose` protocol events and decisions, each stamped with the time since start. Callers
//! never pass a secret to it; the password is a `Secret` whose `Debug` is `***`.
//!
//! Writing diagnostics can never change the outcome: an unwritable stderr (`2>/dev/full`, a
//! closed pipe, a full disk) is ignored, where `eprintln!` would panic.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: from now on nothing is written, on stderr or stdout (the meta object, see
/// `outcome`); the exit status still tells.
pub fn silence() {
    QUIET.store(true, Ordering::Relaxed);
}

/// Undo [`silence`]: "--quiet" was a value, not the flag.
pub fn unsilence() {
    QUIET.store(false, Ordering::Relaxed);
}

pub fn silenced() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Turn verbose logging on (once, from `main`).
pub fn enable() {
    let _ = STARTED.set(Instant::now());
}

pub fn enabled() -> bool {
    STARTED.get().is_some()
}

pub fn write(args: std::fmt::Arguments<'_>) {
    if let Some(started) = STARTED.get() {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        line(format_args!("[{ms:8.1} ms] {args}"));
    }
}

/// One line on stderr, `mqtt-send: ` first; a write that fails is ignored.
pub fn line(args: std::fmt::Arguments<'_>) {
    if silenced() {
        return;
    }
    let _ = writeln!(std::io::stderr().lock(), "mqtt-send: {args}");
}

/// A line on stderr (see [`line`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Log a line on stderr when `-v` is on; the arguments are not evaluated otherwise.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            $crate::log::write(format_args!($($arg)*));
        }
    };
}
pub(crate) use verbose;
