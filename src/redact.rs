//! What may be shown of what a user typed. clap's errors quote the arguments they are about
//! (`unexpected argument 'words' found`), and one of those can be a password: `-P two words`
//! unquoted makes "words" a stray argument. Every clap error passes through [`clap_error`]
//! (from `config`, which parses every source with clap) before anyone sees it. Broker URLs have
//! their own redaction, `error::RedactedUrl`.

use std::ffi::OsString;

use clap::Command;
use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::cli;

/// What stands in for a secret.
const HIDDEN: &str = "***";

/// The words of `args` (the program name first) that are, or may be, a password: the value of
/// every option whose value is a secret (`-P VALUE`, `-PVALUE`, `-vP VALUE`, `--password VALUE`,
/// `--password=VALUE`), and the words right after it that do not start with `-` (an unquoted
/// `-P two words`, where clap complains about "words"). Longest first. A word that only looks
/// like a password flag (`-m -P`) makes more words secret than needed, never fewer.
pub fn secret_words(command: &Command, args: &[OsString]) -> Vec<String> {
    // The long names and their aliases (mosquitto_pub's --pw).
    let secret_longs: Vec<&str> = command
        .get_arguments()
        .filter(|arg| cli::is_secret(arg))
        .flat_map(|arg| {
            arg.get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
        })
        .collect();
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let mut words = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let word = &args[index];
        index += 1;
        let value = match secret_value(command, &secret_longs, word) {
            Some(Value::Attached(value)) => value,
            Some(Value::Next) => match args.get(index) {
                Some(next) => {
                    index += 1;
                    next.clone()
                }
                None => continue,
            },
            None => continue,
        };
        words.push(value);
        while let Some(stray) = args.get(index).filter(|word| !word.starts_with('-')) {
            words.push(stray.clone());
            index += 1;
        }
    }
    words.retain(|word| !word.is_empty());
    words.sort_by_key(|word| std::cmp::Reverse(word.len()));
    words.dedup();
    words
}

/// Where the value of a password flag is.
enum Value {
    /// In the same word: `--password=VALUE`, `-PVALUE`.
    Attached(String),
    /// In the next word.
    Next,
}

/// Whether `word` gives a password flag, and where its value is.
fn secret_value(command: &Command, secret_longs: &[&str], word: &str) -> Option<Value> {
    if let Some(long) = word.strip_prefix("--") {
        let (name, attached) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (long, None),
        };
        if !secret_longs.contains(&name) {
            return None;
        }
        return Some(match attached {
            Some(value) => Value::Attached(value.to_string()),
            None => Value::Next,
        });
    }
    // A cluster of short flags: `-vP`, `-Pvalue`, `-P=value`.
    let cluster = word.strip_prefix('-')?;
    for (at, short) in cluster.char_indices() {
        let arg = command.get_arguments().find(|arg| {
            arg.get_short() == Some(short)
                || arg
                    .get_all_short_aliases()
                    .is_some_and(|aliases| aliases.contains(&short))
        })?;
        let rest = &cluster[at + short.len_utf8()..];
        if cli::is_secret(arg) {
            return Some(match rest.strip_prefix('=').unwrap_or(rest) {
                "" => Value::Next,
                value => Value::Attached(value.to_string()),
            });
        }
        if arg.get_action().takes_values() {
            return None; // the rest of the word is this option's value
        }
    }
    None
}

/// clap's error with every secret word replaced by `***` wherever it would be shown. clap builds
/// most messages from the values it quotes, the tips it gives and the usage (its context), which
/// are redacted one by one, so the error keeps its kind, its source and its styling. A message
/// that clap wrote out in full is redacted as text. Help and version are clap's text, not the
/// user's, and stay as they are.
pub fn clap_error(mut error: clap::Error, secrets: &[String]) -> clap::Error {
    if secrets.is_empty()
        || matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        )
    {
        return error;
    }
    if error.context().next().is_none() {
        let rendered = error.render().to_string();
        let safe = text(&rendered, secrets);
        if safe == rendered {
            return error;
        }
        let message = safe.strip_prefix("error: ").unwrap_or(&safe);
        return clap::Error::raw(error.kind(), message);
    }
    let replaced: Vec<_> = error
        .context()
        .filter_map(|(kind, value)| Some((kind, redacted_value(value, secrets)?)))
        .collect();
    let stray_hidden = error.kind() == ErrorKind::UnknownArgument
        && replaced
            .iter()
            .any(|(kind, _)| *kind == ContextKind::InvalidArg);
    for (kind, value) in replaced {
        error.insert(kind, value);
    }
    if stray_hidden {
        // The only tip clap gives here ("to pass '***' as a value") cannot help any more.
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![StyledStr::from(
                "the argument is not shown because it follows the password: quote a password \
                 that holds spaces (-P 'two words'), or better, give it with MQTT_SEND_PASSWORD \
                 or --password-file",
            )]),
        );
    }
    error
}

/// A value of a clap error's context, if a secret shows in it, with the secrets hidden.
fn redacted_value(value: &ContextValue, secrets: &[String]) -> Option<ContextValue> {
    let one = |shown: &str| Some(text(shown, secrets)).filter(|safe| safe != shown);
    match value {
        ContextValue::String(shown) => one(shown).map(ContextValue::String),
        ContextValue::Strings(shown) => {
            let safe: Vec<String> = shown.iter().map(|s| text(s, secrets)).collect();
            (&safe != shown).then_some(ContextValue::Strings(safe))
        }
        ContextValue::StyledStr(shown) => {
            one(&shown.to_string()).map(|safe| ContextValue::StyledStr(StyledStr::from(safe)))
        }
        ContextValue::StyledStrs(shown) => {
            let plain: Vec<String> = shown.iter().map(ToString::to_string).collect();
            let safe: Vec<String> = plain.iter().map(|s| text(s, secrets)).collect();
            (safe != plain)
                .then(|| ContextValue::StyledStrs(safe.into_iter().map(StyledStr::from).collect()))
        }
        _ => None,
    }
}

/// `shown` with every secret that stands as a word of its own replaced by `***`: where clap
/// quotes an argument ('words'), gives it in a tip ('-- words') or after `=` (--password=x),
/// not inside other text ("-" in "--help" is no argument "-"). `secrets`: longest first, so that
/// a secret inside a longer one is not replaced first.
pub fn text(shown: &str, secrets: &[String]) -> String {
    let mut shown = shown.to_string();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        shown = replace_words(&shown, secret);
    }
    shown
}

fn replace_words(shown: &str, secret: &str) -> String {
    let edge =
        |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '='));
    let mut safe = String::with_capacity(shown.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = shown[from..].find(secret) {
        let at = from + found;
        let end = at + secret.len();
        if edge(shown[..at].chars().next_back()) && edge(shown[end..].chars().next()) {
            safe.push_str(&shown[copied..at]);
            safe.push_str(HIDDEN);
            copied = end;
            from = end;
        } else {
            from = at + shown[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    safe.push_str(&shown[copied..]);
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(args: &[&str]) -> Vec<String> {
        let argv: Vec<OsString> = std::iter::once("mqtt-send")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        secret_words(&cli::command(), &argv)
    }

    #[test]
    fn the_value_of_a_password_flag_in_every_spelling_is_secret() {
        assert_eq!(secrets(&["-P", "a1", "-t", "t"]), ["a1"]);
        assert_eq!(secrets(&["-Pa2"]), ["a2"]);
        assert_eq!(secrets(&["-P=a3"]), ["a3"]);
        assert_eq!(secrets(&["-vP", "a4"]), ["a4"]);
        assert_eq!(secrets(&["-vPa5"]), ["a5"]);
        assert_eq!(secrets(&["--password", "--a6"]), ["--a6"]);
        assert_eq!(secrets(&["--password=a7"]), ["a7"]);
        assert_eq!(secrets(&["-P"]), Vec::<String>::new());
        assert_eq!(secrets(&["-t", "t", "-m", "P"]), Vec::<String>::new());
        // -m takes the rest of its word: no password flag in "-mP".
        assert_eq!(secrets(&["-mPx"]), Vec::<String>::new());
    }

    #[test]
    fn the_stray_words_after_a_password_are_secret_until_a_flag() {
        assert_eq!(
            secrets(&["-P", "my", "long", "password", "-t", "t", "stray"]),
            ["password", "long", "my"]
        );
        assert_eq!(
            secrets(&["--password=two", "words", "--qos", "1"]),
            ["words", "two"]
        );
    }

    #[test]
    fn a_secret_is_hidden_where_it_stands_as_a_word_and_kept_inside_other_text() {
        let secrets = ["words".to_string(), "-".to_string()];
        assert_eq!(
            text(
                "error: unexpected argument 'words' found; use '-- words'",
                &secrets
            ),
            "error: unexpected argument '***' found; use '-- ***'"
        );
        assert_eq!(text("'--help' and '-'", &secrets), "'--help' and '***'");
        assert_eq!(text("--x=hunter2", &["hunter2".to_string()]), "--x=***");
        assert_eq!(text("'--x'", &["--x".to_string()]), "'***'");
    }

    #[test]
    fn clap_never_shows_a_stray_password_word() {
        let args = ["mqtt-send", "-t", "t", "-m", "x", "-P", "two", "pw-words"];
        let mut command = cli::command();
        let error = command.try_get_matches_from_mut(args).unwrap_err();
        assert!(error.render().to_string().contains("pw-words"));
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let safe = clap_error(error, &secret_words(&command, &argv));
        let shown = safe.render().to_string();
        assert!(!shown.contains("pw-words"), "{shown}");
        assert!(shown.contains("unexpected argument '***'"), "{shown}");
        assert_eq!(safe.kind(), ErrorKind::UnknownArgument);
    }

    #[test]
    fn a_message_clap_wrote_out_in_full_is_redacted_as_text() {
        let error = clap::Error::raw(ErrorKind::InvalidValue, "bad 'hunter2'\n");
        let safe = clap_error(error, &["hunter2".to_string()]);
        assert_eq!(safe.render().to_string(), "error: bad '***'\n");
        assert_eq!(safe.kind(), ErrorKind::InvalidValue);
    }
}
