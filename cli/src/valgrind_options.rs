//! Valgrind memcheck's options on `gpa run`'s command line.
//!
//! # Why
//! People come to gpa from Valgrind and type what they know: `gpa run --leak-check=full
//! --num-callers=20 ./prog`. `gpa run` takes the program and its arguments as a trailing list
//! that may start with `-` (so that `gpa run ./prog --its-own-option` passes the option on),
//! so an option gpa did not know became the *program*: "gpa: --leak-check=full: command not
//! found", exit 127, whatever followed (gpa's own options included) swallowed as its
//! arguments.
//!
//! # Design
//! After clap has parsed the command line, a program that starts with `-` is the options
//! clap did not know, up to the first word that does not start with `-` (or a `--`): they
//! are translated ([`translate`]) and the whole line parsed again. memcheck's options that
//! mean what gpa does anyway are accepted (`--leak-check=full`/`yes`, `--trace-children=yes`,
//! `--tool=memcheck`, `--show-reachable=no`), those that have a gpa equivalent become it
//! (`--num-callers=N`: `--frames N`; `--show-reachable=yes`: `--show-reachable`), and gpa's own
//! options found among them are kept. Anything else is refused before the program runs, with
//! a clear message and clap's usage status (2): memcheck's options that gpa has no equivalent
//! for, or one that means something else, name what gpa offers instead; nothing is dropped
//! silently that would change a verdict.

use std::ffi::OsString;

use clap::CommandFactory;

/// The status of a refused command line (clap's own for usage errors).
pub(crate) const USAGE: u8 = 2;

/// What the options at the start of `command` (clap's trailing list: options it did not know,
/// then the program and its arguments) become: gpa's options (each one word, `--name=value`
/// or a flag) and the program with its arguments; `Err` with the message for an option gpa
/// refuses.
pub(crate) fn translate(command: &[OsString]) -> Result<(Vec<OsString>, Vec<OsString>), String> {
    let run = super::Cli::command();
    let run = run
        .find_subcommand("run")
        .expect("gpa has a run subcommand");
    let mut options = Vec::new();
    let mut at = 0;
    while at < command.len() {
        let word = command[at].to_string_lossy().into_owned();
        if word == "--" {
            at += 1;
            break;
        }
        if !word.starts_with('-') || word == "-" {
            break;
        }
        at += 1;
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (word.clone(), None),
        };
        // One of gpa's own options, after one it did not know: kept (with its value).
        let own = run.get_arguments().find(|arg| {
            arg.get_long()
                .is_some_and(|long| name == format!("--{long}"))
                || arg
                    .get_short()
                    .is_some_and(|short| name == format!("-{short}"))
        });
        // (A flag of gpa's given a value is memcheck's option of that name:
        // `--show-reachable=yes`.)
        if let Some(arg) = own.filter(|arg| value.is_none() || arg.get_action().takes_values()) {
            options.push(command[at - 1].clone());
            let needs_value = arg.get_action().takes_values()
                && arg
                    .get_num_args()
                    .is_none_or(|range| range.min_values() > 0);
            if needs_value && value.is_none() && at < command.len() {
                options.push(command[at].clone());
                at += 1;
            }
            continue;
        }
        options.extend(memcheck_option(&name, value.as_deref())?.map(OsString::from));
    }
    Ok((options, command[at..].to_vec()))
}

/// gpa's option for memcheck's `name` (`--name`) with `value`: `Ok(None)` where gpa does the
/// same without one, `Err` with the message where gpa has no such option.
fn memcheck_option(name: &str, value: Option<&str>) -> Result<Option<String>, String> {
    let given = match value {
        Some(value) => format!("{name}={value}"),
        None => name.to_owned(),
    };
    let refuse = |why: &str| Err(format!("{given}: {why}"));
    match (name, value) {
        ("--leak-check", Some("full" | "yes")) => Ok(None),
        ("--leak-check", _) => refuse(
            "gpa always searches for leaks in full; for memcheck's summary or none, list no \
             loss kind and count none as an error: --show-leak-kinds=none \
             --errors-for-leak-kinds=none",
        ),
        ("--trace-children", Some("yes")) => Ok(None),
        ("--trace-children", _) => refuse(
            "gpa checks every process the program starts (children it cannot check are listed \
             as not checked); it has no way to leave them out",
        ),
        ("--tool", Some("memcheck")) => Ok(None),
        ("--tool", _) => refuse("gpa is a memory checker like memcheck; it has no other tool"),
        ("--num-callers", Some(frames)) => Ok(Some(format!("--frames={frames}"))),
        ("--show-reachable", Some("yes")) => Ok(Some("--show-reachable".to_owned())),
        ("--show-reachable", Some("no")) => Ok(None),
        ("--log-file", _) => refuse(
            "use --log FILE (one file for the whole run, every process in it; memcheck's %p \
             has no equivalent)",
        ),
        ("--xml" | "--xml-file", _) => refuse("use --json FILE for a machine-readable report"),
        ("--track-origins" | "--undef-value-errors" | "--expensive-definedness-checks", _) => {
            refuse(
                "gpa does not track uninitialised values (docs/c_abi.md, \"What check mode \
                 finds\")",
            )
        }
        ("--freelist-vol", _) => refuse("use --quarantine BYTES"),
        ("--redzone-size" | "--malloc-fill" | "--free-fill", _) => refuse(
            "gpa's redzones grow with the block and its fills are fixed (docs/c_abi.md, \
             \"Redzones\")",
        ),
        _ => refuse(
            "not an option of gpa run (gpa run --help lists them; the program and its \
             arguments go after them, or after --)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    fn translated(line: &str) -> (Vec<String>, Vec<String>) {
        let (options, program) = translate(&words(line)).expect("translated");
        let text = |list: Vec<OsString>| {
            list.into_iter()
                .map(|word| word.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        (text(options), text(program))
    }

    #[test]
    fn memchecks_usual_options_become_gpas_or_nothing() {
        assert_eq!(
            translated("--leak-check=full --num-callers=20 --trace-children=yes ./prog -x"),
            (
                vec!["--frames=20".to_owned()],
                vec!["./prog".into(), "-x".into()]
            )
        );
        assert_eq!(
            translated("--tool=memcheck --show-reachable=yes -- ./prog"),
            (vec!["--show-reachable".to_owned()], vec!["./prog".into()])
        );
    }

    #[test]
    fn gpas_own_options_after_an_unknown_one_are_kept_with_their_values() {
        assert_eq!(
            translated("--leak-check=yes --show-leak-kinds=all --frames 8 -q --guard ./prog a"),
            (
                vec![
                    "--show-leak-kinds=all".to_owned(),
                    "--frames".into(),
                    "8".into(),
                    "-q".into(),
                    "--guard".into()
                ],
                vec!["./prog".into(), "a".into()]
            )
        );
        // `--gen-suppressions` takes an optional value: the next word is the program.
        assert_eq!(
            translated("--leak-check=full --gen-suppressions ./prog"),
            (vec!["--gen-suppressions".to_owned()], vec!["./prog".into()])
        );
    }

    #[test]
    fn options_gpa_has_not_are_refused_with_what_to_use() {
        for (line, says) in [
            ("--track-origins=yes ./prog", "uninitialised"),
            ("--leak-check=summary ./prog", "--show-leak-kinds=none"),
            ("--trace-children=no ./prog", "checks every process"),
            ("--log-file=vg.%p ./prog", "--log FILE"),
            ("--xml=yes ./prog", "--json"),
            ("--freelist-vol=1000 ./prog", "--quarantine"),
            ("--bogus ./prog", "not an option of gpa run"),
        ] {
            let error = translate(&words(line)).expect_err(line);
            assert!(
                error.starts_with(line.split(' ').next().unwrap()),
                "{error}"
            );
            assert!(error.contains(says), "{line}: {error}");
        }
    }
}
