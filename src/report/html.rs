//! A report as one self-contained HTML page: findings with their traces and source lines,
//! leak records, and heap profiles drawn as a chart of live bytes over time with the top
//! allocation sites.
//!
//! # Design
//! The page carries the report's JSON (the form `gpa run --json` writes, or
//! [`Report::to_json`] with profiles added under `profiles`) in a `<script
//! type="application/json">` element, and an inline script renders it when the page loads:
//! what the JSON holds is what the page shows, fields this renderer does not know included (a
//! finding's fields are listed generically beside its message and traces). Source lines are
//! read here, where the files are, for the frames the page shows (findings' traces, the top
//! sites'), and carried beside the report in the same element. No network, no external
//! scripts or styles: the chart is an inline SVG the script draws.
//!
//! Numbers the page shows from the report carry `data-field` (the path of the value in the
//! JSON, dot-separated) and `data-value` (the value itself), so a test can compare the page
//! with the report, and a reader can copy exact values.

use std::collections::BTreeMap;

use super::Report;
use crate::profile::Profile;

/// The renderer's script and styles.
const SCRIPT: &str = include_str!("html/report.js");
const STYLE: &str = include_str!("html/report.css");

/// Sites per profile whose traces get source lines (as many as the page lists).
const TOP_SITES: usize = 20;
/// Lines shown before and after a frame's line.
const CONTEXT_LINES: u32 = 2;
/// Source files larger than this are not read.
const MAX_SOURCE_BYTES: u64 = 8 << 20;
/// At most this many frames get source lines in one page.
const MAX_SNIPPETS: usize = 2000;

/// The page for a report and, optionally, a profile of the same run.
pub fn page(report: &Report, profile: Option<&Profile>) -> String {
    let mut json = report.to_json();
    if let Some(profile) = profile {
        json["profiles"] = serde_json::Value::Array(std::vec![profile.to_json()]);
    }
    page_from_json(&json)
}

/// The page for a report in its JSON form (`gpa run --json`'s, with `profiles` when the run
/// was profiled).
pub fn page_from_json(report: &serde_json::Value) -> String {
    let title = report["profiles"][0]["command"]
        .as_str()
        .or_else(|| report["processes"][0]["program"].as_str())
        .or_else(|| report["program"].as_str())
        .map_or_else(|| "gpa report".to_owned(), |name| format!("gpa: {name}"));
    let data = serde_json::json!({
        "report": report,
        "sources": sources(report),
    });
    // Inside <script>, `</` would end the element early; `\u003c` is the same JSON string.
    let data = data.to_string().replace('<', "\\u003c");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <main id=\"report\"><p class=\"loading\">Rendering the report…</p></main>\n\
         <script type=\"application/json\" id=\"gpa-data\">{data}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        escape(&title)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The lines around every frame the page shows: `{file: {line: text}}`.
fn sources(report: &serde_json::Value) -> serde_json::Value {
    let mut wanted: BTreeMap<String, std::vec::Vec<u32>> = BTreeMap::new();
    let mut add_frames = |frames: &serde_json::Value| {
        for frame in frames.as_array().into_iter().flatten() {
            if let (Some(file), Some(line)) = (frame["file"].as_str(), frame["line"].as_u64()) {
                wanted.entry(file.to_owned()).or_default().push(line as u32);
            }
        }
    };
    for key in ["findings", "reachable"] {
        for finding in report[key].as_array().into_iter().flatten() {
            for stack in finding["stacks"]
                .as_object()
                .into_iter()
                .flat_map(|s| s.values())
            {
                add_frames(stack);
            }
        }
    }
    for profile in report["profiles"].as_array().into_iter().flatten() {
        let sites = profile["sites"].as_array().map_or(&[][..], |s| &s[..]);
        // The page lists the top sites by bytes at the peak and by bytes in total.
        let mut by_total: std::vec::Vec<&serde_json::Value> = sites.iter().collect();
        by_total.sort_by_key(|site| std::cmp::Reverse(site["total"]["bytes"].as_u64()));
        for site in sites
            .iter()
            .take(TOP_SITES)
            .chain(by_total.into_iter().take(TOP_SITES))
        {
            add_frames(&site["frames"]);
        }
    }
    let mut out = serde_json::Map::new();
    let mut snippets = 0;
    for (file, mut lines) in wanted {
        if snippets >= MAX_SNIPPETS {
            break;
        }
        let Some(text) = read_source(&file) else {
            continue;
        };
        let all: std::vec::Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines.dedup();
        let mut shown = serde_json::Map::new();
        for line in lines {
            snippets += 1;
            let first = line.saturating_sub(CONTEXT_LINES).max(1);
            for number in first..=line + CONTEXT_LINES {
                if let Some(content) = all.get(number as usize - 1) {
                    shown.insert(number.to_string(), (*content).into());
                }
            }
        }
        if !shown.is_empty() {
            out.insert(file, serde_json::Value::Object(shown));
        }
    }
    serde_json::Value::Object(out)
}

fn read_source(file: &str) -> Option<String> {
    let metadata = std::fs::metadata(file).ok()?;
    if !metadata.is_file() || metadata.len() > MAX_SOURCE_BYTES {
        return None;
    }
    let bytes = std::fs::read(file).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_cannot_end_the_script_element() {
        let report = serde_json::json!({
            "findings": [{"kind": "leak", "message": "</script><script>alert(1)</script>",
                          "stacks": {}}],
        });
        let page = page_from_json(&report);
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the two real ends"
        );
        assert!(page.contains("\\u003c/script>"));
    }

    #[test]
    fn source_lines_around_each_frame_are_carried() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/report/html.rs");
        let report = serde_json::json!({
            "findings": [{"kind": "leak", "message": "m",
                          "stacks": {"alloc": [{"function": "f", "file": file, "line": 5}]}}],
        });
        let sources = sources(&report);
        let lines = sources[file].as_object().unwrap();
        assert_eq!(lines.len(), 5);
        assert!(lines["5"].as_str().unwrap().starts_with("//!"));
        assert!(sources["/nonexistent.c"].is_null());
    }
}
