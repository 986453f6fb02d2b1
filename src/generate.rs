//! `mqtt-send --generate DIR` (a hidden flag): the shell completions and the man page, made
//! from the clap definition, written to DIR/completions and DIR/man. The copies committed at the
//! top of the repository are kept in step with the code by a test.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::{self, Cli, Fallback};
use crate::config::PASSWORD_ENV;
use crate::error::Kind;
use crate::outcome::Class;

const NAME: &str = "mqtt-send";

/// `mqtt-send --generate DIR`: write the files, say which on stderr, exit 0 (or 1 when they
/// cannot be written).
pub fn report(dir: &Path) -> std::process::ExitCode {
    match write_all(dir) {
        Ok(written) => {
            for path in written {
                crate::log::say!("wrote {path}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            crate::log::say!(
                "cannot write the generated files under {}: {e}",
                dir.display()
            );
            std::process::ExitCode::from(Class::Internal.exit_code())
        }
    }
}

/// Write every generated file under `dir`; returns the paths written.
pub fn write_all(dir: &Path) -> io::Result<Vec<String>> {
    let completions = dir.join("completions");
    fs::create_dir_all(&completions)?;
    let mut written = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let path =
            clap_complete::generate_to(shell, &mut cli::shown_command(), NAME, &completions)?;
        written.push(path.display().to_string());
    }
    let man = dir.join("man");
    fs::create_dir_all(&man)?;
    let page = man.join(format!("{NAME}.1"));
    fs::write(&page, man_page()?)?;
    written.push(page.display().to_string());
    Ok(written)
}

/// The ways to call mqtt-send, with their values named (clap_mangen lists every flag bare).
fn synopsis() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"])
        .text([
            bold(NAME),
            roman(" ["),
            italic("OPTIONS"),
            roman("] "),
            bold("-t"),
            roman(" "),
            italic("TOPIC"),
            roman(" ("),
            bold("-m"),
            roman(" "),
            italic("TEXT"),
            roman(" | "),
            bold("-f"),
            roman(" "),
            italic("PATH"),
            roman(")"),
        ])
        .control("br", [])
        .text([
            bold(NAME),
            roman(" "),
            bold("-c"),
            roman(" "),
            italic("FILE"),
            roman(" ["),
            italic("OPTIONS"),
            roman("]"),
        ])
        .control("br", [])
        .text([
            bold(NAME),
            roman(" ["),
            italic("OPTIONS"),
            roman("] ("),
            bold("--lines"),
            roman(" | "),
            bold("--ndjson"),
            roman(") "),
            bold("-f"),
            roman(" "),
            italic("PATH"),
        ]);
    roff
}

/// The man page: clap's NAME, our SYNOPSIS, clap's DESCRIPTION and OPTIONS (its help headings as
/// subsections), then CONFIG FILE, ENVIRONMENT, EXIT STATUS, EXAMPLES and SEE ALSO.
pub fn man_page() -> io::Result<Vec<u8>> {
    let man = Man::new(cli::command()).manual("User Commands");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    synopsis().to_writer(&mut page)?;
    man.render_description_section(&mut page)?;
    let mut options = Vec::new();
    man.render_options_section(&mut options)?;
    page.write_all(options_as_subsections(&String::from_utf8_lossy(&options)).as_bytes())?;
    extra_sections().to_writer(&mut page)?;
    Ok(page)
}

/// clap_mangen gives each help heading a section of its own; a man page has one OPTIONS
/// section, with the groups as subsections.
fn options_as_subsections(roff: &str) -> String {
    // clap_mangen writes a heading in capitals ("TLS", "\"MQTT 5 PROPERTIES\""): the title is
    // the heading as the clap definition spells it.
    let command = cli::command();
    let headings: Vec<&str> = command
        .get_arguments()
        .filter_map(|arg| arg.get_help_heading())
        .collect();
    roff.lines()
        .map(|line| match line.strip_prefix(".SH ") {
            Some(heading) if heading != "OPTIONS" => {
                let bare = heading.trim_matches('"');
                let title = headings
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(bare))
                    .copied()
                    .unwrap_or(bare);
                if title.contains(' ') {
                    format!(".SS \"{title}\"\n")
                } else {
                    format!(".SS {title}\n")
                }
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

fn extra_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["CONFIG FILE"]).text([
        roman("A JSON object with the keys of the Flint MQTT connector (given with "),
        bold("-c"),
        roman("). A flag overrides its key; "),
        bold("null"),
        roman(
            " means not set; an unknown key is an error that names the closest known key. \
               Relative paths are resolved against the config file's folder.",
        ),
    ]);
    // The keys are the flags' long names; their help (without the notes `cli::command` adds)
    // says what they mean.
    let command = Cli::command();
    for (key, arg) in cli::config_keys(&command) {
        let meaning = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let default = match cli::default_of(key) {
            Some(Fallback::Value(text) | Fallback::Described(text)) => text,
            None => "none",
        };
        roff.control("TP", [])
            .text([
                bold(key),
                roman(" ("),
                italic(kind_words(cli::kind(arg), cli::is_list(arg))),
                roman(")"),
            ])
            .text([roman(format!(
                "{}. Default: {default}.",
                capitalized(&meaning)
            ))]);
    }
    roff.control("SH", ["ENVIRONMENT"])
        .control("TP", [])
        .text([bold(PASSWORD_ENV)])
        .text([roman(
            "The password, when neither --password nor --password-file is given; it beats the \
             config file's \"password\". Unlike --password it is not visible to ps(1).",
        )]);
    roff.control("SH", ["EXIT STATUS"]).text([roman(
        "One JSON meta object is printed on stdout, {\"exit-code\":N,\"message\":\"...\"}, \
         and the exit status equals its exit-code.",
    )]);
    roff.control("TP", []).text([bold("0")]).text([roman(
        "Published: QoS 0 written and the connection closed cleanly; QoS 1 PUBACK received; \
         QoS 2 PUBCOMP received (for a batch: every message).",
    )]);
    for class in Class::ALL {
        roff.control("TP", [])
            .text([bold(class.exit_code().to_string())])
            .text([roman(format!("{}.", capitalized(class.meaning())))]);
    }
    roff.control("SH", ["EXAMPLES"]);
    for (what, command) in [
        (
            "Publish one message to a local broker at QoS 2 (the default):",
            "mqtt-send -t sensors/room1 -m '{\"temp\":21.5}'",
        ),
        (
            "Everything from a Flint config file; the password from the environment:",
            "MQTT_SEND_PASSWORD=secret mqtt-send -c connector.json -m ok",
        ),
        (
            "A shadow update to AWS IoT Core with a client certificate (QoS 1):",
            "mqtt-send -b ssl://xxxx-ats.iot.us-east-1.amazonaws.com:8883 -i thing -q 1 \\\n  --root-ca-crt AmazonRootCA1.pem --certificate cert.pem.crt \\\n  --private-key private.pem.key --use-certificate \\\n  -t '$aws/things/thing/shadow/update' -m '{\"state\":{\"reported\":{\"on\":true}}}'",
        ),
        (
            "Every line of a file as one message, retrying a broker that is down:",
            "mqtt-send -t plant/readings -q 1 --lines -f readings.txt --retries 5 --timeout 300",
        ),
    ] {
        roff.text([roman(what)])
            .control("IP", [])
            .control("nf", [])
            .text([roman(command)])
            .control("fi", [])
            .control("PP", []);
    }
    roff.control("SH", ["SEE ALSO"]).text([
        bold("mosquitto_pub"),
        roman("(1), "),
        bold("mosquitto"),
        roman("(8)"),
    ]);
    roff
}

/// The type of a config key's value, as the man page and the README say it.
pub fn kind_words(kind: Kind, list: bool) -> String {
    let one = match kind {
        Kind::Bool => "boolean",
        Kind::Qos => "0, 1 or 2: a number, or a string of one digit",
        Kind::Seconds => "seconds: a number greater than 0",
        Kind::Count => "whole number",
        Kind::Path => "path",
        Kind::Text => "string",
        Kind::Version => "5, \"3.1.1\" or 3.1: a number, or a string",
        Kind::UserProperties => {
            return "object {\"key\": \"value\"}, or list of [\"key\", \"value\"] pairs"
                .to_string();
        }
    };
    if list {
        format!("{one} or list of {one}s")
    } else {
        one.to_string()
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_the_sections_a_man_page_should() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "\"CONFIG FILE\"",
            "ENVIRONMENT",
            "\"EXIT STATUS\"",
            "EXAMPLES",
            "\"SEE ALSO\"",
        ] {
            assert!(
                page.contains(&format!(".SH {section}")),
                "no {section} section"
            );
        }
        for (key, _) in cli::config_keys(&cli::command()) {
            assert!(
                page.contains(&format!("\\fB{}\\fR", key.replace('-', "\\-"))),
                "config key {key} missing"
            );
        }
        for class in Class::ALL {
            assert!(
                page.contains(&format!("\\fB{}\\fR", class.exit_code())),
                "exit code {} missing",
                class.exit_code()
            );
        }
        assert!(
            page.contains(".SS Connection"),
            "option groups are subsections"
        );
    }

    /// The rows of the table that follows `heading` in the README's "## Reference" section:
    /// each row's cells, trimmed.
    fn readme_table(readme: &str, heading: &str) -> Vec<Vec<String>> {
        let reference = &readme[readme.find("\n## Reference\n").expect("## Reference")..];
        let section = &reference[reference
            .find(&format!("\n### {heading}\n"))
            .unwrap_or_else(|| panic!("### {heading}"))..];
        section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .skip(2) // the header and the |---| line
            .map(|line| {
                let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
                inner
                    .split('|')
                    .map(|cell| cell.trim().to_string())
                    .collect()
            })
            .collect()
    }

    /// The first `code` span of a cell, if any.
    fn code(cell: &str) -> Option<&str> {
        let start = cell.find('`')? + 1;
        let end = start + cell[start..].find('`')?;
        Some(&cell[start..end])
    }

    /// A flag as the README writes it: `-q, --qos N`, `-r, --retain [BOOL]`, `-v, --verbose`.
    fn usage(arg: &clap::Arg) -> String {
        let mut usage = String::new();
        if let Some(short) = arg.get_short() {
            usage.push_str(&format!("-{short}, "));
        }
        usage.push_str(&format!("--{}", arg.get_long().unwrap_or_default()));
        if arg.get_action().takes_values() {
            let name = arg
                .get_value_names()
                .map(|names| {
                    names
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            match arg.get_num_args() {
                Some(range) if range.min_values() == 0 => usage.push_str(&format!(" [{name}]")),
                _ => usage.push_str(&format!(" {name}")),
            }
        }
        usage
    }

    #[test]
    fn the_readme_reference_tables_match_the_clap_definition() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .unwrap();
        let command = cli::command();
        let about_us = |arg: &&clap::Arg| {
            matches!(
                arg.get_action(),
                clap::ArgAction::Help | clap::ArgAction::Version
            )
        };

        // "Command line": every visible flag with its config key, every config key that is no
        // visible flag, and the environment.
        let mut expected: Vec<(String, String)> = command
            .get_arguments()
            .filter(|arg| !about_us(arg))
            .filter(|arg| !arg.is_hide_set() || cli::config_key(arg).is_some())
            .map(|arg| {
                let flag = if arg.is_hide_set() {
                    String::new()
                } else {
                    usage(arg)
                };
                (flag, cli::config_key(arg).unwrap_or_default().to_string())
            })
            .collect();
        expected.push((format!("env {PASSWORD_ENV}"), String::new()));
        expected.sort();
        let mut documented: Vec<(String, String)> = readme_table(&readme, "Command line")
            .iter()
            .map(|row| {
                let flag = match row[0].strip_prefix("env ") {
                    Some(var) => format!("env {}", code(var).unwrap_or_default()),
                    None => code(&row[0]).unwrap_or_default().to_string(),
                };
                (flag, code(&row[1]).unwrap_or_default().to_string())
            })
            .collect();
        documented.sort();
        assert_eq!(
            documented, expected,
            "README's \"Command line\" table (flag, config key) differs from the clap definition"
        );

        // "Config keys": every key once, and the defaults that are values as they are.
        let keys = cli::config_keys(&command);
        let rows = readme_table(&readme, "Config keys");
        let listed: Vec<&str> = rows.iter().filter_map(|row| code(&row[0])).collect();
        let defined: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
        assert_eq!(
            listed, defined,
            "README's \"Config keys\" table differs from the clap definition"
        );
        for row in &rows {
            let key = code(&row[0]).unwrap_or_default();
            if let Some(Fallback::Value(default)) = cli::default_of(key) {
                assert!(
                    row[2].contains(&format!("`{default}`")),
                    "README gives {key} the default {}, the code {default}",
                    row[2]
                );
            }
        }
    }
}
