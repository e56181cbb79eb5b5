//! Merging the reports that every process of a run wrote into the report directory.

use std::path::Path;

use serde_json::{json, Value};

/// Merges the per-process reports of `dir`: the text of each (by pid) and one JSON object.
pub(crate) fn collect(dir: &Path) -> (String, Value) {
    let mut reports: Vec<(u64, Value, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(pid) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
            else {
                continue;
            };
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let text = std::fs::read_to_string(path.with_extension("txt")).unwrap_or_default();
            reports.push((pid, value, text));
        }
    }
    reports.sort_by_key(|(pid, _, _)| *pid);
    let mut findings = Vec::new();
    let mut reachable = Vec::new();
    let mut processes = Vec::new();
    let mut text = String::new();
    let sum = |key: &str| -> u64 {
        reports
            .iter()
            .map(|(_, v, _)| v[key].as_u64().unwrap_or(0))
            .sum()
    };
    let totals = json!({
        "leaked_blocks": sum("leaked_blocks"),
        "leaked_bytes": sum("leaked_bytes"),
        "reachable_blocks": sum("reachable_blocks"),
        "reachable_bytes": sum("reachable_bytes"),
    });
    let single = reports.len() == 1;
    for (pid, value, process_text) in &reports {
        let program = value["program"].clone();
        let tag = |mut finding: Value| {
            finding["pid"] = (*pid).into();
            finding["program"] = program.clone();
            finding
        };
        let own = value["findings"].as_array().cloned().unwrap_or_default();
        processes.push(json!({
            "pid": pid,
            "program": program,
            "findings": own.len(),
            "leaked_blocks": value["leaked_blocks"],
            "leaked_bytes": value["leaked_bytes"],
            "reachable_blocks": value["reachable_blocks"],
            "reachable_bytes": value["reachable_bytes"],
            "libc_blocks_released": value["libc_blocks_released"],
        }));
        findings.extend(own.into_iter().map(tag));
        reachable.extend(
            value["reachable"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(tag),
        );
        if single {
            // One process: its report as it is, without the per-process header line.
            text.push_str(process_text.split_once('\n').map_or("", |(_, rest)| rest));
        } else {
            text.push_str(process_text);
        }
    }
    let mut merged = json!({ "findings": findings, "processes": processes });
    for (key, value) in totals.as_object().into_iter().flatten() {
        merged[key] = value.clone();
    }
    if !reachable.is_empty() {
        merged["reachable"] = Value::Array(reachable);
    }
    (text, merged)
}
