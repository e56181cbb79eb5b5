//! `gpa run --profile FILE` and `--html FILE`: the heap profiles every process of the run
//! wrote into the report directory (`<pid>.profile.json`, gpa's form), turned into DHAT
//! files, the `profiles` array of the JSON report, and the HTML page.

use std::path::{Path, PathBuf};

use gpa::profile::Profile;
use serde_json::Value;

use crate::RunArgs;

/// The profiles the processes of the run wrote into `dir`, by pid.
pub(crate) fn collect(dir: &Path) -> Vec<(u32, Profile)> {
    let mut profiles = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(pid) = name
            .strip_suffix(".profile.json")
            .and_then(|pid| pid.parse().ok())
        else {
            continue;
        };
        let parsed = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|json| Profile::from_json(&json));
        if let Some(profile) = parsed {
            profiles.push((pid, profile));
        }
    }
    profiles.sort_by_key(|(pid, _)| *pid);
    profiles
}

/// Where the profile of process `pid` goes: FILE for the program gpa started (or for the
/// only profile), FILE.<pid> for the others.
fn dhat_path(file: &Path, pid: u32, main: bool) -> PathBuf {
    if main {
        return file.to_path_buf();
    }
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{pid}"));
    PathBuf::from(name)
}

/// Adds the profiles to the report (`profiles`, the program gpa started first) and writes
/// the DHAT files and the HTML page that the options ask for.
pub(crate) fn finish(
    args: &RunArgs,
    json: &mut Value,
    mut profiles: Vec<(u32, Profile)>,
    main_pid: u32,
) -> Result<(), String> {
    // The program gpa started first; then by pid.
    profiles.sort_by_key(|(pid, _)| (*pid != main_pid, *pid));
    if let Some(file) = &args.profile {
        if profiles.is_empty() {
            eprintln!(
                "gpa: no heap profile was written (the program is not dynamically linked, or \
                 it ended by _exit or a signal)"
            );
        }
        let single = profiles.len() == 1;
        for (pid, profile) in &profiles {
            let path = dhat_path(file, *pid, single || *pid == main_pid);
            profile
                .write_dhat(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        json["profiles"] = Value::Array(
            profiles
                .iter()
                .map(|(pid, profile)| {
                    let mut value = profile.to_json();
                    value["main"] = (*pid == main_pid).into();
                    value
                })
                .collect(),
        );
    }
    if let Some(path) = &args.html {
        let page = gpa::report::html::page_from_json(json);
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
