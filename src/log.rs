//! `-v/--verbose`: protocol events and decisions on stderr, each stamped with the time since
//! start. Callers never pass a secret to it; the password is a `Secret` whose `Debug` is `***`.

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

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
        eprintln!("mqtt-send: [{ms:8.1} ms] {args}");
    }
}

/// Log a line on stderr when `-v` is on; the arguments are not evaluated otherwise.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            $crate::log::write(format_args!($($arg)*));
        }
    };
}
pub(crate) use verbose;
