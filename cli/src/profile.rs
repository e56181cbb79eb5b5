//! `gpa run --profile FILE` and `--html FILE`: the heap profiles every process of the run
//! wrote into the report directory (`<pid>.dhat.json` in DHAT's format, and with
//! `GPA_PROFILE_JSON` `<pid>.profile.json` in gpa's form, `gpa::profile::Profile::to_json`'s) become the DHAT files, the
//! `profiles` array of the JSON report, and the HTML page.

use crate::child_env::ChildEnv;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::RunArgs;

/// The profiles of a run: the DHAT files left in the report directory have been moved to
/// their places; gpa's forms are parsed when the JSON report or the page needs them.
pub(crate) struct Profiles {
    /// (pid, profile) in gpa's form (`Profile::to_json`'s), the program gpa started first.
    parsed: Vec<(u32, Value)>,
    main_pid: u32,
    /// Whether any process wrote a profile.
    any: bool,
}

/// Whether the JSON report or the page needs the profiles in gpa's form.
fn wants_json(args: &RunArgs) -> bool {
    args.json.is_some() || args.html.is_some()
}

/// The child's environment for the options.
pub(crate) fn prepare(args: &RunArgs, env: &mut ChildEnv) {
    if args.profile.is_some() {
        env.set("GPA_PROFILE", "1");
        if wants_json(args) {
            env.set("GPA_PROFILE_JSON", "1");
        } else {
            env.remove("GPA_PROFILE_JSON");
        }
    } else {
        env.remove("GPA_PROFILE").remove("GPA_PROFILE_JSON");
    }
}

/// Where the profile of process `pid` goes: FILE for the program gpa started, FILE.<pid> for
/// the others.
fn dhat_path(file: &Path, pid: u32, main: bool) -> PathBuf {
    if main {
        return file.to_path_buf();
    }
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{pid}"));
    PathBuf::from(name)
}

/// The pids of the files `<pid>.<suffix>` in `dir`, sorted.
fn pids_with(dir: &Path, suffix: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            name.to_str()?.strip_suffix(suffix)?.parse().ok()
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Takes the profiles out of the report directory (before it is removed): moves the DHAT
/// files to `--profile`'s place and parses gpa's forms.
pub(crate) fn collect(args: &RunArgs, dir: &Path, main_pid: u32) -> Profiles {
    let mut profiles = Profiles {
        parsed: Vec::new(),
        main_pid,
        any: false,
    };
    let Some(file) = &args.profile else {
        return profiles;
    };
    let pids = pids_with(dir, ".dhat.json");
    profiles.any = !pids.is_empty();
    let single = pids.len() == 1;
    for &pid in &pids {
        let from = dir.join(format!("{pid}.dhat.json"));
        let to = dhat_path(file, pid, single || pid == main_pid);
        if std::fs::rename(&from, &to).is_err() {
            // Another file system: copy.
            if let Err(error) = std::fs::copy(&from, &to) {
                eprintln!("gpa: {}: {error}", to.display());
            }
        }
    }
    if wants_json(args) {
        for pid in pids_with(dir, ".profile.json") {
            let parsed = std::fs::read(dir.join(format!("{pid}.profile.json")))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .filter(|json| json["sites"].is_array() && json["timeline"].is_object());
            if let Some(profile) = parsed {
                profiles.parsed.push((pid, profile));
            }
        }
        // The program gpa started first; then by pid.
        profiles
            .parsed
            .sort_by_key(|(pid, _)| (*pid != main_pid, *pid));
    }
    profiles
}

/// Adds the profiles to the report (`profiles`, the program gpa started first) and writes the
/// HTML page the options ask for.
pub(crate) fn finish(args: &RunArgs, json: &mut Value, profiles: Profiles) -> Result<(), String> {
    if args.profile.is_some() {
        if !profiles.any {
            eprintln!(
                "gpa: no heap profile was written (the program is not dynamically linked, or \
                 it was ended by a signal)"
            );
        }
        if wants_json(args) {
            json["profiles"] = Value::Array(
                profiles
                    .parsed
                    .iter()
                    .map(|(pid, profile)| {
                        let mut value = profile.clone();
                        value["main"] = (*pid == profiles.main_pid).into();
                        value
                    })
                    .collect(),
            );
        }
    }
    if let Some(path) = &args.html {
        let page = gpa::report::html::page_from_json(json);
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
