//! The committed completions and man page are what the code generates today; the man page
//! renders cleanly; bash completion knows every flag.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::mqtt_send;

const REWRITE: &str = "cargo run --locked -- --generate .";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run `{REWRITE}`", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn committed_completions_and_man_page_match_the_code() {
    let fresh = tempfile::tempdir().unwrap();
    let output = mqtt_send()
        .arg("--generate")
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for folder in ["completions", "man"] {
        let (new, old) = (fresh.path().join(folder), repo().join(folder));
        assert_eq!(
            files(&new),
            files(&old),
            "{folder}/ differs from the code; run `{REWRITE}`"
        );
        for name in files(&new) {
            let (generated, committed) = (
                fs::read(new.join(&name)).unwrap(),
                fs::read(old.join(&name)).unwrap(),
            );
            assert!(
                generated == committed,
                "{folder}/{name} is out of date; run `{REWRITE}` and commit it"
            );
        }
    }
}

#[test]
fn the_man_page_renders_without_groff_warnings() {
    let output = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(repo().join("man/mqtt-send.1"))
        .output()
        .expect("groff is installed (scripts/test installs groff-base)");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "groff warnings"
    );
}

#[test]
fn bash_completion_offers_every_flag_in_help() {
    let help = mqtt_send().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let mut flags: Vec<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|word| {
            word.chars()
                .skip(2)
                .all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect();
    flags.sort();
    flags.dedup();
    assert!(flags.len() >= 20, "flags found in --help: {flags:?}");
    // What bash does on `mqtt-send --<TAB>`: call the function registered for mqtt-send.
    let script = r#"
        source COMPLETIONS
        COMP_WORDS=(mqtt-send --); COMP_CWORD=1; COMP_LINE='mqtt-send --'; COMP_POINT=${#COMP_LINE}
        registered=$(complete -p mqtt-send); function=${registered#*-F }; function=${function%% *}
        "$function" mqtt-send -- mqtt-send
        printf '%s\n' "${COMPREPLY[@]}"
    "#
    .replace(
        "COMPLETIONS",
        &repo()
            .join("completions/mqtt-send.bash")
            .display()
            .to_string(),
    );
    let output = Command::new("bash").args(["-c", &script]).output().unwrap();
    let offered = String::from_utf8_lossy(&output.stdout);
    let offered: Vec<&str> = offered.lines().collect();
    for flag in flags {
        assert!(
            offered.contains(&flag),
            "bash does not complete {flag}; it offers {offered:?}"
        );
    }
    // Nor does it offer what --help hides: the packagers' --generate, Flint's --action, or the
    // mosquitto_pub options that are refused.
    for hidden in ["--generate", "--action", "--insecure", "--psk", "--ciphers"] {
        assert!(
            !offered.contains(&hidden),
            "bash completes the hidden {hidden}"
        );
    }
}

#[test]
fn the_readme_documents_every_flag_key_and_exit_code() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let help = String::from_utf8(mqtt_send().arg("--help").output().unwrap().stdout).unwrap();
    for word in help.split(|c: char| c.is_whitespace() || c == ',') {
        let flag = word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        if flag.starts_with("--") && flag.len() > 2 && !["--help", "--version"].contains(&flag) {
            let documented = readme.match_indices(flag).any(|(at, _)| {
                let next = readme[at + flag.len()..].chars().next().unwrap_or(' ');
                !(next.is_ascii_alphanumeric() || next == '-')
            });
            assert!(documented, "README does not document {flag}");
        }
    }
    // The config keys as the binary knows them: an unknown key that resembles none lists them.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    fs::write(&config, r#"{"zzzzzzzzzzzzzzzzzzzz": null}"#).unwrap();
    let output = mqtt_send().arg("-c").arg(&config).output().unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = meta["message"].as_str().unwrap_or_default().to_string();
    let config_keys: Vec<&str> = message
        .split_once("known keys: ")
        .map(|(_, keys)| keys.split(", ").collect())
        .unwrap_or_default();
    assert!(config_keys.len() >= 18, "{message}");
    for key in &config_keys {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "README's config keys lack {key}"
        );
    }
    // Every key the README lists is one the binary accepts.
    let listed: Vec<&str> = readme
        .split_once("\n### Config keys\n")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .collect();
    assert_eq!(listed.len(), config_keys.len(), "{listed:?}");
    for key in listed {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.json");
        fs::write(&config, format!(r#"{{"{key}": null}}"#)).unwrap();
        let output = mqtt_send().arg("-c").arg(&config).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("unknown key"),
            "{key}"
        );
    }
    for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 130, 143] {
        assert!(
            readme.contains(&format!("\n| {code} |")),
            "README's exit codes lack {code}"
        );
    }
}
