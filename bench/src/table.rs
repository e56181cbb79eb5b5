//! The report: a markdown table of medians with ratios against mimalloc, and the same data
//! as JSON.
//!
//! # Design
//! Rows are workloads, columns allocators; a cell reads `median (ratio)`, where the ratio is
//! the cell's median over mimalloc's median for the same workload (below 1 is better for every
//! unit used). A last row gives each allocator's geometric mean ratio over the timed
//! workloads. The header lines record how and where the numbers were produced.

use serde_json::{json, Value};

use crate::allocators::BASELINE;
use crate::harness::Cell;

/// How the numbers were produced.
pub struct Meta {
    /// The command line.
    pub command: String,
    /// When the run started (UTC).
    pub date: String,
    /// CPUs available and their model.
    pub cpus: usize,
    /// The CPU model.
    pub cpu_model: String,
    /// Load averages before and after the run.
    pub loadavg: (String, String),
    /// Repetitions per cell.
    pub repeats: usize,
    /// Work scale (1 = full run).
    pub scale: f64,
    /// Base seed.
    pub seed: u64,
}

fn find<'c>(cells: &'c [Cell], workload: &str, alloc: &str) -> Option<&'c Cell> {
    cells
        .iter()
        .find(|c| c.workload.name == workload && c.allocator == alloc)
}

/// The ratio of `cell`'s median to the baseline's median for the same workload.
pub fn ratio(cells: &[Cell], cell: &Cell) -> Option<f64> {
    let base = find(cells, cell.workload.name, BASELINE)?.median();
    (base > 0.0).then(|| cell.median() / base)
}

fn number(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// The rows' order and the columns' order, as they first appear in `cells`.
fn axes(cells: &[Cell]) -> (Vec<&'static crate::Workload>, Vec<&'static str>) {
    let mut rows: Vec<&'static crate::Workload> = Vec::new();
    let mut cols: Vec<&'static str> = Vec::new();
    for c in cells {
        if !rows.iter().any(|w| w.name == c.workload.name) {
            rows.push(c.workload);
        }
        if !cols.contains(&c.allocator) {
            cols.push(c.allocator);
        }
    }
    (rows, cols)
}

/// The report as markdown: a few header lines and the table.
pub fn markdown(cells: &[Cell], meta: &Meta) -> String {
    let (rows, cols) = axes(cells);
    let mut out = format!(
        "Command: `{}`  \nDate: {}; {} CPUs ({}); load average before {}, after {}; \
         {} repetitions, median shown; scale {}; seed {}.  \n\
         Cells: median (ratio to {BASELINE}'s median; lower is better).\n\n",
        meta.command,
        meta.date,
        meta.cpus,
        meta.cpu_model,
        meta.loadavg.0,
        meta.loadavg.1,
        meta.repeats,
        meta.scale,
        meta.seed
    );
    out.push_str("| workload | unit |");
    for c in &cols {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(cols.len()));
    out.push('\n');
    for w in &rows {
        out.push_str(&format!("| {} | {} |", w.name, w.unit));
        for a in &cols {
            let text = match find(cells, w.name, a) {
                Some(cell) => match ratio(cells, cell) {
                    Some(r) => format!("{} ({:.2}x)", number(cell.median()), r),
                    None => number(cell.median()),
                },
                None => "-".into(),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    if cols.contains(&BASELINE) {
        out.push_str("| geomean ratio, timed rows | |");
        for a in &cols {
            out.push_str(&match geomean_ratio(cells, a) {
                Some(g) => format!(" {g:.2}x |"),
                None => " - |".into(),
            });
        }
        out.push('\n');
    }
    out
}

/// The issue-5 targets, checked against the measured medians: one line per target whose cells
/// were measured, saying the measured ratio, the bound, and whether it is met.
pub fn targets(cells: &[Cell]) -> String {
    let ratio_of = |w: &str, a: &str| find(cells, w, a).and_then(|c| ratio(cells, c));
    let mut out = String::new();
    let mut line = |what: String, measured: f64, bound: f64| {
        let verdict = if measured <= bound { "met" } else { "MISSED" };
        out.push_str(&format!(
            "- {what}: {measured:.2}x (target <= {bound:.2}x): {verdict}\n"
        ));
    };
    for (alloc, workload, bound) in [
        ("gpa-fast", "mixed-1t", 1.0),
        ("gpa-fast", "mixed-2t", 1.2),
        ("gpa-fast", "fragmentation-1t", 1.2),
        ("gpa-fast", "fragmentation-2t", 1.2),
        ("gpa-debug", "mixed-1t", 8.0),
    ] {
        if let Some(r) = ratio_of(workload, alloc) {
            line(format!("{alloc} {workload} vs {BASELINE}"), r, bound);
        }
    }
    // Sampled guard mode is cheap enough to leave on: within 1.1x of fast mode.
    for workload in ["mixed-1t", "mixed-2t"] {
        let sampled = find(cells, workload, "gpa-guard-sample1000");
        if let (Some(sampled), Some(fast)) = (sampled, find(cells, workload, "gpa-fast")) {
            line(
                format!("gpa-guard-sample1000 {workload} vs gpa-fast"),
                sampled.median() / fast.median(),
                1.1,
            );
        }
    }
    // "Faster than glibc on every workload": the GPA's median over the system allocator's.
    for c in cells
        .iter()
        .filter(|c| c.allocator == "gpa-fast" && !c.workload.needs_child())
    {
        if let Some(system) = find(cells, c.workload.name, "system") {
            line(
                format!("gpa-fast {} vs system", c.workload.name),
                c.median() / system.median(),
                1.0,
            );
        }
    }
    out
}

/// The geometric mean of `alloc`'s ratios over the timed (not child-process) workloads.
pub fn geomean_ratio(cells: &[Cell], alloc: &str) -> Option<f64> {
    let logs: Vec<f64> = cells
        .iter()
        .filter(|c| c.allocator == alloc && !c.workload.needs_child())
        .filter_map(|c| ratio(cells, c))
        .filter(|r| *r > 0.0 && r.is_finite())
        .map(f64::ln)
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// The report as JSON: the header, then one object per cell with every sample.
pub fn json(cells: &[Cell], meta: &Meta) -> Value {
    let (_, cols) = axes(cells);
    let results: Vec<Value> = cells
        .iter()
        .map(|c| {
            let extra_keys: Vec<&String> = c
                .samples
                .first()
                .map_or(Vec::new(), |s| s.extra.iter().map(|(k, _)| k).collect());
            let extra: serde_json::Map<String, Value> = extra_keys
                .into_iter()
                .filter_map(|k| Some((k.clone(), json!(c.extra_median(k)?))))
                .collect();
            json!({
                "workload": c.workload.name,
                "threads": c.workload.threads,
                "unit": c.workload.unit,
                "allocator": c.allocator,
                "median": c.median(),
                "ratio_vs_baseline": ratio(cells, c),
                "samples": c.samples.iter().map(|s| s.value).collect::<Vec<_>>(),
                "extra_medians": extra,
            })
        })
        .collect();
    json!({
        "command": meta.command,
        "date": meta.date,
        "cpus": meta.cpus,
        "cpu_model": meta.cpu_model,
        "loadavg_before": meta.loadavg.0,
        "loadavg_after": meta.loadavg.1,
        "repeats": meta.repeats,
        "scale": meta.scale,
        "seed": meta.seed,
        "baseline": BASELINE,
        "allocators": cols,
        "geomean_ratio_timed": cols.iter().map(|a| (a.to_string(), json!(geomean_ratio(cells, a)))).collect::<serde_json::Map<_, _>>(),
        "results": results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{Sample, Workload};

    fn cell(workload: &str, allocator: &'static str, values: &[f64]) -> Cell {
        Cell {
            workload: Workload::by_name(workload).unwrap(),
            allocator,
            samples: values
                .iter()
                .map(|&value| Sample {
                    value,
                    extra: Vec::new(),
                })
                .collect(),
        }
    }

    fn meta() -> Meta {
        Meta {
            command: "gpa-bench".into(),
            date: "2026-01-01 00:00 UTC".into(),
            cpus: 2,
            cpu_model: "test".into(),
            loadavg: ("0".into(), "0".into()),
            repeats: 3,
            scale: 1.0,
            seed: 1,
        }
    }

    #[test]
    fn cells_show_medians_and_ratios_to_mimalloc() {
        let cells = vec![
            cell("mixed-1t", "system", &[30.0, 16.0, 17.0]),
            cell("mixed-1t", "mimalloc", &[8.0, 9.0, 7.0]),
            cell("pairs16-1t", "system", &[4.0, 4.0, 4.0]),
            cell("pairs16-1t", "mimalloc", &[2.0, 2.0, 2.0]),
        ];
        let text = markdown(&cells, &meta());
        assert!(
            text.contains("| workload | unit | system | mimalloc |\n"),
            "{text}"
        );
        assert!(
            text.contains("| mixed-1t | ns/pair | 17.0 (2.12x) | 8.00 (1.00x) |"),
            "{text}"
        );
        assert!(
            text.contains("| pairs16-1t | ns/pair | 4.00 (2.00x) | 2.00 (1.00x) |"),
            "{text}"
        );
        // Geometric mean of 2.125 and 2.0.
        assert!(
            text.contains("| geomean ratio, timed rows | | 2.06x | 1.00x |"),
            "{text}"
        );
        let json = json(&cells, &meta());
        assert_eq!(json["results"][0]["median"], 17.0);
        assert_eq!(json["results"][0]["ratio_vs_baseline"], 2.125);
    }

    #[test]
    fn targets_say_met_or_missed() {
        let cells = vec![
            cell("mixed-1t", "system", &[16.0]),
            cell("mixed-1t", "mimalloc", &[8.0]),
            cell("mixed-1t", "gpa-fast", &[8.8]),
            cell("mixed-1t", "gpa-debug", &[40.0]),
        ];
        let text = targets(&cells);
        assert!(
            text.contains("- gpa-fast mixed-1t vs mimalloc: 1.10x (target <= 1.00x): MISSED"),
            "{text}"
        );
        assert!(
            text.contains("- gpa-debug mixed-1t vs mimalloc: 5.00x (target <= 8.00x): met"),
            "{text}"
        );
        assert!(
            text.contains("- gpa-fast mixed-1t vs system: 0.55x (target <= 1.00x): met"),
            "{text}"
        );
        assert!(!text.contains("mixed-2t"), "{text}");
    }
}
