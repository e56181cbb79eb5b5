//! `gpa run --profile FILE --html FILE`: heap profiles of C programs and real programs
//! (sqlite3, CPython), checked against Valgrind's DHAT where it gives the same numbers, opened
//! in Valgrind's own viewer (`dh_view.html`) and in gpa's HTML page in headless Chromium. The
//! browser checks skip with a message when Chromium is missing; `.ci/run` installs it.

mod chromium;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chromium::Browser;
use common::*;
use serde_json::Value;

/// Valgrind's viewer, as the Debian `valgrind` package ships it.
const DH_VIEW: &str = "/usr/libexec/valgrind/dh_view.html";

/// What one profiled run left: the JSON report and the paths of the DHAT file and the page.
struct Profiled {
    run: Run,
    dhat: PathBuf,
    html: PathBuf,
}

impl Profiled {
    fn dhat(&self) -> Value {
        let text = std::fs::read_to_string(&self.dhat).expect("the DHAT file");
        serde_json::from_str(&text).expect("the DHAT file is JSON")
    }

    fn profile(&self) -> &Value {
        let profiles = self.run.json["profiles"].as_array().expect("profiles");
        profiles
            .iter()
            .find(|p| p["main"] == true)
            .unwrap_or(&profiles[0])
    }
}

fn profiled(dir: &Path, mode: &[&str], command: &[&str]) -> Profiled {
    let dhat = dir.join("profile.dhat.json");
    let html = dir.join("report.html");
    let mut options: Vec<&str> = mode.to_vec();
    let (dhat_arg, html_arg) = (dhat.display().to_string(), html.display().to_string());
    options.extend(["--profile", &dhat_arg, "--html", &html_arg]);
    let run = gpa_run(dir, &options, command);
    assert!(dhat.is_file(), "no DHAT file; stderr: {}", run.stderr());
    assert!(html.is_file(), "no HTML page; stderr: {}", run.stderr());
    Profiled { run, dhat, html }
}

/// The first source line of `file` among a program point's frames.
fn line_in(frames: &[String], file: &str) -> Option<u32> {
    frames.iter().find_map(|frame| {
        let at = frame.find(&format!("{file}:"))?;
        let digits: String = frame[at + file.len() + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// A DHAT file's program points by the line of `file` they were allocated at.
fn points_by_line(dhat: &Value, file: &str) -> BTreeMap<u32, Value> {
    let table: Vec<String> = dhat["ftbl"]
        .as_array()
        .expect("ftbl")
        .iter()
        .map(|f| f.as_str().unwrap_or("").to_owned())
        .collect();
    let mut points = BTreeMap::new();
    for point in dhat["pps"].as_array().expect("pps") {
        let frames: Vec<String> = point["fs"]
            .as_array()
            .expect("fs")
            .iter()
            .map(|i| table[i.as_u64().unwrap() as usize].clone())
            .collect();
        if let Some(line) = line_in(&frames, file) {
            assert!(
                points.insert(line, point.clone()).is_none(),
                "two points at {file}:{line}"
            );
        }
    }
    points
}

#[test]
fn c_program_counts_match_valgrind_dhat() {
    let dir = scratch("profile-c");
    let binary = compile_c("profile_sites", &dir);
    let binary = binary.display().to_string();
    // Guard mode and check mode move a block `realloc` cannot resize in place by an
    // allocation, a copy and a free, reported to the profiler as one reallocation (as DHAT
    // sees it): seen as an allocation and a free, the grown buffer's site peaked at 15,000
    // bytes in 2 blocks.
    for mode in [&["--fast"][..], &[][..], &["--guard"][..]] {
        let profiled = profiled(&dir, mode, &[&binary]);
        let ours = points_by_line(&profiled.dhat(), "profile_sites.c");
        let lines: Vec<u32> = ours.keys().copied().collect();
        // keep[i] = malloc (15), big (16), grow's realloc (10), calloc (24).
        assert_eq!(lines, [10, 15, 16, 24], "{mode:?}: {ours:#?}");
        // Site maxima, by hand: the grown buffer peaks at 8000 bytes, the calloc at 1200.
        assert_eq!(
            (ours[&10]["mb"].as_u64(), ours[&10]["mbk"].as_u64()),
            (Some(8000), Some(1)),
            "{mode:?}"
        );
        assert_eq!(ours[&24]["mb"], 1200);
        assert_eq!(ours[&15]["mb"], 4780);
        let profile = profiled.profile();
        assert_eq!(profile["peak"]["bytes"], 4780 + 50000, "{mode:?}");
        assert_eq!(profile["unmatched_frees"], 0);
        if skip("valgrind", "valgrind") {
            continue;
        }
        let out = Command::new("valgrind")
            .args(["--tool=dhat", "--dhat-out-file=valgrind.dhat.json"])
            .arg(&binary)
            .current_dir(&dir)
            .output()
            .expect("run valgrind");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("valgrind.dhat.json")).expect("DHAT output");
        let theirs = points_by_line(&serde_json::from_str(&text).unwrap(), "profile_sites.c");
        assert_eq!(theirs.keys().copied().collect::<Vec<_>>(), lines);
        for (line, point) in &theirs {
            // Totals, values at the global peak and at the end, as Valgrind counts them
            // (realloc included). Not `mb`: Valgrind 3.19 updates a point's maximum only at
            // a new global peak (0 for the grown buffer), gpa keeps the point's own maximum,
            // as DHAT's manual describes it. Not the times: instructions there, µs here.
            for field in ["tb", "tbk", "gb", "gbk", "eb", "ebk"] {
                assert_eq!(
                    ours[line][field], point[field],
                    "line {line} {field} {mode:?}"
                );
            }
        }
    }
}

/// Checks, in Valgrind's viewer, that the DHAT file loads without an error and shows the
/// profile's totals.
fn check_in_dh_view(browser: &mut Browser, dhat_file: &Path, profile: &Value) {
    if !Path::new(DH_VIEW).is_file() {
        eprintln!("SKIPPED: {DH_VIEW} is missing (apt-get install valgrind)");
        return;
    }
    browser.open(Path::new(DH_VIEW));
    browser.choose_file("input[type=file]", dhat_file);
    browser.wait_until("typeof gRoot !== 'undefined' && document.querySelector('pre') !== null");
    let shown = browser.eval(
        "JSON.stringify({bytes: gRoot._totalBytes, blocks: gRoot._totalBlocks, \
         peak: gRoot._atTGmaxBytes, peakBlocks: gRoot._atTGmaxBlocks, end: gRoot._atTEndBytes, \
         text: document.querySelector('pre').textContent, \
         error: document.querySelector('.error') ? document.querySelector('.error').textContent : null})",
    );
    let shown: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert!(shown["error"].is_null(), "dh_view: {}", shown["error"]);
    assert_eq!(shown["bytes"], profile["total"]["bytes"]);
    assert_eq!(shown["blocks"], profile["total"]["blocks"]);
    assert_eq!(shown["peak"], profile["peak"]["bytes"]);
    assert_eq!(shown["peakBlocks"], profile["peak"]["blocks"]);
    assert_eq!(shown["end"], profile["end"]["bytes"]);
    let text = shown["text"].as_str().unwrap();
    let total = browser.eval(&format!("kDFormat.format({})", profile["total"]["bytes"]));
    assert!(
        text.contains(&format!("Total:     {} bytes", total.as_str().unwrap())),
        "dh_view shows no total of {total}: {}",
        &text[..text.len().min(600)]
    );
    assert!(
        browser.errors.is_empty(),
        "dh_view errors: {:?}",
        browser.errors
    );
}

/// The value at a dot-separated path of the report (`a.0.b`, `.length` of an array).
fn at_path(json: &Value, path: &str) -> Option<Value> {
    let mut value = json;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if part == "length" && parts.peek().is_none() {
            return value.as_array().map(|array| array.len().into());
        }
        value = match part.parse::<usize>() {
            Ok(index) => value.get(index)?,
            Err(_) => value.get(part)?,
        };
    }
    Some(value.clone())
}

/// Checks gpa's page: it renders without an error, and every number it shows from the report
/// equals the report's. Returns how many numbers were compared.
fn check_gpa_page(browser: &mut Browser, page: &Path, report: &Value) -> usize {
    browser.open(page);
    browser.wait_until("document.body.getAttribute('data-rendered') === 'yes'");
    let fields = browser.eval(
        "JSON.stringify([...document.querySelectorAll('[data-field]')].map(e => \
         [e.getAttribute('data-field'), e.getAttribute('data-value'), e.textContent]))",
    );
    let fields: Vec<(String, String, String)> =
        serde_json::from_str(fields.as_str().unwrap()).unwrap();
    for (path, value, text) in &fields {
        let expected = at_path(report, path).unwrap_or_else(|| panic!("{path} not in the report"));
        assert_eq!(value, &expected.to_string(), "{path}");
        if let Some(number) = expected.as_u64() {
            if !path.ends_with("_ns") && !text.is_empty() {
                let plain = [
                    "pid",
                    "ppid",
                    "line",
                    "exit_status",
                    "offset",
                    "status",
                    "signal",
                ]
                .iter()
                .any(|name| path.ends_with(&format!(".{name}")) || path == *name);
                let grouped = if plain {
                    number.to_string()
                } else {
                    group_digits(number)
                };
                assert!(
                    text.contains(&grouped),
                    "{path}: shows {text:?}, report has {number}"
                );
            }
        }
    }
    assert!(
        browser.errors.is_empty(),
        "page errors: {:?}",
        browser.errors
    );
    fields.len()
}

fn group_digits(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i != 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The fields every profiled page must show.
fn assert_profile_fields_shown(browser: &mut Browser, report: &Value) {
    for path in [
        "profiles.0.total.bytes",
        "profiles.0.total.blocks",
        "profiles.0.peak.bytes",
        "profiles.0.peak.blocks",
        "profiles.0.end.bytes",
        "findings.length",
    ] {
        let shown = browser.eval(&format!(
            "document.querySelector('[data-field=\"{path}\"]') !== null"
        ));
        assert_eq!(shown, Value::Bool(true), "{path} is not shown");
    }
    let chart = browser.eval(
        "JSON.stringify({paths: document.querySelectorAll('svg.chart path.layer').length, \
         peak: document.querySelector('svg.chart .peak-dot') !== null, \
         rows: document.querySelectorAll('table.sites tr').length})",
    );
    let chart: Value = serde_json::from_str(chart.as_str().unwrap()).unwrap();
    assert!(chart["paths"].as_u64().unwrap() >= 2, "{chart}");
    assert_eq!(chart["peak"], true);
    let sites = report["profiles"][0]["sites"].as_array().unwrap().len();
    assert!(
        chart["rows"].as_u64().unwrap() as usize > sites.min(2),
        "{chart}"
    );
}

#[test]
fn sqlite3_profile_opens_in_dhat_viewer_and_gpa_page() {
    if skip("sqlite3", "sqlite3") {
        return;
    }
    let dir = scratch("profile-sqlite");
    let sql = "create table t(id integer primary key, name text, score real); \
               with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000) \
               insert into t(name, score) select 'name' || x, x * 0.5 from c; \
               create index t_score on t(score); select count(*), sum(score) from t;";
    let profiled = profiled(&dir, &["--fast"], &["sqlite3", "test.db", sql]);
    assert_eq!(profiled.run.stdout().trim(), "2000|1000500.0");
    let profile = profiled.profile().clone();
    let dhat = profiled.dhat();
    // The DHAT file holds the same totals.
    let sum = |field: &str| -> u64 {
        dhat["pps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("tb"), profile["total"]["bytes"].as_u64().unwrap());
    assert_eq!(sum("gb"), profile["peak"]["bytes"].as_u64().unwrap());
    assert_eq!(sum("eb"), profile["end"]["bytes"].as_u64().unwrap());
    assert!(profile["total"]["blocks"].as_u64().unwrap() > 2000);
    let Some(mut browser) = Browser::start("sqlite") else {
        return;
    };
    check_in_dh_view(&mut browser, &profiled.dhat, &profile);
    let compared = check_gpa_page(&mut browser, &profiled.html, &profiled.run.json);
    assert!(compared > 40, "only {compared} numbers on the page");
    assert_profile_fields_shown(&mut browser, &profiled.run.json);
}

#[test]
fn cpython_profile_in_check_mode_opens_in_both_viewers() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: python3 is not installed (apt-get install python3)");
        return;
    };
    let dir = scratch("profile-python");
    let script = "import json\n\
                  rows = [{'id': i, 'name': 'n%d' % i, 'tags': ['a'] * (i % 5)} for i in range(20000)]\n\
                  text = json.dumps(rows)\n\
                  back = json.loads(text)\n\
                  del rows\n\
                  print(len(back), len(text))\n";
    let profiled = profiled(&dir, &[], &[&python, "-c", script]);
    assert_eq!(profiled.run.stdout().trim(), "20000 1045780");
    let profile = profiled.profile().clone();
    let peak = profile["peak"]["bytes"].as_u64().unwrap();
    // The rows, their JSON text and the parsed copy were live together: several MB.
    assert!(peak > 4 << 20, "peak {peak}");
    assert!(peak >= profile["end"]["bytes"].as_u64().unwrap());
    let timeline = &profile["timeline"];
    assert!(timeline["time_ns"].as_array().unwrap().len() > 10);
    assert!(!timeline["sites"].as_array().unwrap().is_empty());
    let Some(mut browser) = Browser::start("python") else {
        return;
    };
    check_in_dh_view(&mut browser, &profiled.dhat, &profile);
    check_gpa_page(&mut browser, &profiled.html, &profiled.run.json);
    assert_profile_fields_shown(&mut browser, &profiled.run.json);
}

#[test]
fn findings_and_leaks_with_traces_and_source_lines_on_the_page() {
    let dir = scratch("profile-findings");
    let binary = compile_c("overflow_1", &dir);
    let leaky = compile_c("leak_many", &dir);
    let html = dir.join("findings.html");
    let html_arg = html.display().to_string();
    let run = gpa_run(
        &dir,
        &["--html", &html_arg],
        &[
            "sh",
            "-c",
            &format!("{}; {}", binary.display(), leaky.display()),
        ],
    );
    let findings = run.findings();
    assert!(
        findings.iter().any(|f| f["kind"] == "overflow"),
        "{}",
        describe(&findings)
    );
    assert!(
        findings.iter().any(|f| f["kind"] == "leak"),
        "{}",
        describe(&findings)
    );
    assert!(run.json.get("profiles").is_none());
    let Some(mut browser) = Browser::start("findings") else {
        return;
    };
    let compared = check_gpa_page(&mut browser, &html, &run.json);
    assert!(compared >= findings.len() * 2, "only {compared} numbers");
    let shown = browser.eval(
        "JSON.stringify({findings: document.querySelectorAll('details.finding').length, \
         traces: document.querySelectorAll('details.finding ol.trace li').length, \
         sources: [...document.querySelectorAll('pre.source .line.here')].map(e => e.textContent), \
         kinds: [...document.querySelectorAll('details.kind > summary strong')].map(e => e.textContent)})",
    );
    let shown: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert_eq!(shown["findings"].as_u64().unwrap() as usize, findings.len());
    assert!(shown["traces"].as_u64().unwrap() as usize >= findings.len());
    let kinds: Vec<&str> = shown["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"Buffer overflows") && kinds.contains(&"Leaks"),
        "{kinds:?}"
    );
    // The allocating lines of the C sources are shown (the sources are readable here).
    let sources: Vec<&str> = shown["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        sources.iter().any(|line| line.contains("malloc")),
        "{sources:?}"
    );
}

#[test]
fn a_long_run_gives_a_bounded_profile() {
    let dir = scratch("profile-many");
    let binary = compile_c("profile_many", &dir);
    let binary = binary.display().to_string();
    // Kept small for the debug build's unwinder; tests/profile.rs runs ten million through
    // the Rust API.
    let profiled = profiled(&dir, &["--fast"], &[&binary, "300000"]);
    let profile = profiled.profile();
    let ours = points_by_line(&profiled.dhat(), "profile_many.c");
    let blocks: u64 = ours.values().map(|p| p["tbk"].as_u64().unwrap()).sum();
    assert_eq!(blocks, 300_000);
    assert_eq!(ours.len(), 2, "{ours:#?}");
    let samples = profile["timeline"]["time_ns"].as_array().unwrap().len();
    assert!(samples <= gpa::profile::MAX_SAMPLES + 1, "{samples}");
    let size = std::fs::metadata(&profiled.dhat).unwrap().len();
    assert!(size < 20_000, "DHAT file of {size} bytes");
    assert_eq!(profile["end"]["blocks"], 0);
}

#[test]
fn the_rust_api_page_renders_a_report_and_a_profile() {
    use gpa::profile;
    use gpa::{Config, GeneralPurposeAllocator, OnError, RawAllocator};
    let gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    });
    let profiler = profile::start(&gpa).unwrap();
    let layout = core::alloc::Layout::from_size_align(300, 8).unwrap();
    let mut blocks = Vec::new();
    for _ in 0..50 {
        blocks.push(gpa.alloc(layout).unwrap());
    }
    for block in blocks.drain(..40) {
        // SAFETY: live blocks, freed once with their layout.
        unsafe { gpa.free(block, layout) };
    }
    let profile = profiler.stop();
    let _ = gpa.detect_leaks();
    let report = gpa.take_report();
    assert_eq!(report.leak_totals().0, 10);
    let page = gpa::report::html::page(&report, Some(&profile));
    let dir = scratch("profile-api");
    let path = dir.join("api.html");
    std::fs::write(&path, &page).unwrap();
    // The page needs nothing from outside (the SVG namespace is a name, not a request).
    for needle in ["<script src", "<link", "href=", "@import", "url("] {
        assert!(!page.contains(needle), "the page refers to {needle}");
    }
    let mut json = report.to_json();
    json["profiles"] = Value::Array(vec![profile.to_json()]);
    let Some(mut browser) = Browser::start("api") else {
        return;
    };
    check_gpa_page(&mut browser, &path, &json);
    assert_profile_fields_shown(&mut browser, &json);
    drop(blocks);
}

#[test]
fn threads_freeing_each_others_blocks_and_forks_under_the_profiler() {
    let dir = scratch("profile-threads");
    let threads = compile_c("clean_threads", &dir).display().to_string();
    let forks = compile_c("profile_forks", &dir).display().to_string();
    for mode in [&["--fast"][..], &[][..]] {
        let run = profiled(&dir, mode, &[&threads]);
        let profile = run.profile();
        assert_eq!(profile["unmatched_frees"], 0, "{mode:?}");
        let points = points_by_line(&run.dhat(), "clean_threads.c");
        let worker = points.values().map(|p| p["tbk"].as_u64().unwrap()).max();
        assert_eq!(worker, Some(4 * 20000), "{mode:?} {points:#?}");
        // Forks while two threads allocate: every child can allocate (no lock of the
        // profiler is left held) and writes its own profile, FILE.<pid>.
        let run = profiled(&dir, mode, &[&forks]);
        assert_eq!(run.run.stdout().trim(), "ok 4", "{mode:?}");
        let profiles = run.run.json["profiles"].as_array().unwrap();
        assert_eq!(profiles.len(), 5, "{mode:?}");
        assert_eq!(run.profile()["unmatched_frees"], 0, "{mode:?}");
        for child in profiles.iter().filter(|p| p["main"] == false) {
            let file = format!("{}.{}", run.dhat.display(), child["pid"]);
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
            let dhat: Value = serde_json::from_str(&text).unwrap();
            let kept = points_by_line(&dhat, "profile_forks.c");
            // The child's own block, live at its end.
            let block = kept
                .values()
                .find(|p| p["tb"] == 12345)
                .expect("the child's block");
            assert_eq!(block["eb"], 12345, "{mode:?}");
        }
    }
}
