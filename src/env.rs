//! The process environment's variables, read once (in `main`, through `config::Env`) and passed
//! on, so that tests can give their own.

/// Variables by name, as read: `Err` when the value is not UTF-8. Unset and blank ones are left
/// out.
pub type Vars = Vec<(&'static str, Result<String, ()>)>;

/// The variables of `names` that the process environment sets.
pub fn read(names: &[&'static str]) -> Vars {
    names
        .iter()
        .filter_map(|&var| match std::env::var(var) {
            Ok(value) if value.trim().is_empty() => None,
            Ok(value) => Some((var, Ok(value))),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => Some((var, Err(()))),
        })
        .collect()
}
