//! The C benchmark report: markdown tables of medians, spreads and ratios, peak RSS, the
//! targets of issue 14 checked against the same run, and every sample as JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use super::{median, spread, suite_key, Results, Sample, Suite, BENCHMARKS};

/// The median seconds and peak RSS (KiB) of a (suite, benchmark, allocator), if every sample
/// of it is valid.
fn medians(results: &Results, suite: Suite, benchmark: &str, allocator: &str) -> Option<Cell> {
    let samples = results.get(&(
        suite_key(suite),
        benchmark.to_string(),
        allocator.to_string(),
    ))?;
    Cell::of(samples)
}

/// The summary of one table cell.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// Median wall seconds.
    pub seconds: f64,
    /// Spread of the seconds (half the range over the median).
    pub spread: f64,
    /// Median peak RSS in KiB.
    pub rss_kib: f64,
    /// Spread of the peak RSS.
    pub rss_spread: f64,
    /// Some sample failed or printed a different result.
    pub failed: bool,
}

impl Cell {
    fn of(samples: &[Sample]) -> Option<Cell> {
        if samples.is_empty() {
            return None;
        }
        let seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
        let rss: Vec<f64> = samples.iter().map(|s| s.max_rss_kib as f64).collect();
        Some(Cell {
            seconds: median(&seconds),
            spread: spread(&seconds),
            rss_kib: median(&rss),
            rss_spread: spread(&rss),
            failed: samples.iter().any(|s| !s.ok),
        })
    }
}

fn time_cell(cell: Option<Cell>) -> String {
    match cell {
        Some(c) => format!(
            "{:.3} ±{:.0}%{}",
            c.seconds,
            c.spread * 100.0,
            if c.failed { " FAILED" } else { "" }
        ),
        None => "-".into(),
    }
}

fn rss_cell(cell: Option<Cell>) -> String {
    match cell {
        Some(c) => format!("{:.1}", c.rss_kib / 1024.0),
        None => "-".into(),
    }
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

fn ratio_text(value: Option<f64>) -> String {
    value.map_or("-".into(), |r| format!("{r:.2}x"))
}

fn geomean(values: &[f64]) -> Option<f64> {
    (!values.is_empty())
        .then(|| (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

/// Benchmarks present in `results` for `suite`, in table order.
fn rows(results: &Results, suite: Suite) -> Vec<&'static str> {
    BENCHMARKS
        .iter()
        .map(|b| b.name)
        .filter(|name| {
            results
                .keys()
                .any(|(s, b, _)| *s == suite_key(suite) && b == name)
        })
        .collect()
}

fn columns(results: &Results, suite: Suite, order: &[&str]) -> Vec<String> {
    order
        .iter()
        .filter(|name| {
            results
                .keys()
                .any(|(s, _, a)| *s == suite_key(suite) && a == *name)
        })
        .map(|name| name.to_string())
        .collect()
}

/// One target: a description, the measured value, the bound, met or not.
pub struct Target {
    /// What is compared.
    pub what: String,
    /// The measured ratio.
    pub value: f64,
    /// The bound (at most, or at least when `at_least`).
    pub bound: f64,
    /// The value must reach the bound rather than stay under it.
    pub at_least: bool,
}

impl Target {
    fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.bound
        } else {
            self.value <= self.bound
        }
    }
}

/// Renders the fast suite: times, ratios, peak RSS; collects its targets.
fn fast_tables(results: &Results, out: &mut String, targets: &mut Vec<Target>) {
    let suite = Suite::Fast;
    let names = rows(results, suite);
    if names.is_empty() {
        return;
    }
    let allocators = columns(
        results,
        suite,
        &["glibc", "mimalloc", "jemalloc", "gpa-fast"],
    );
    let _ = writeln!(
        out,
        "### Fast mode: wall seconds (median ±spread) and ratios of medians\n"
    );
    header(
        out,
        &allocators,
        &[
            "gpa-fast / mimalloc",
            "gpa-fast / glibc",
            "glibc / mimalloc",
        ],
    );
    let (mut vs_mimalloc, mut vs_glibc, mut glibc_vs_mimalloc) = (vec![], vec![], vec![]);
    for name in &names {
        let cell = |a: &str| medians(results, suite, name, a);
        let _ = write!(out, "| {name} |");
        for a in &allocators {
            let _ = write!(out, " {} |", time_cell(cell(a)));
        }
        let seconds = |a: &str| cell(a).map(|c| c.seconds);
        let r1 = ratio(seconds("gpa-fast"), seconds("mimalloc"));
        let r2 = ratio(seconds("gpa-fast"), seconds("glibc"));
        let r3 = ratio(seconds("glibc"), seconds("mimalloc"));
        let _ = writeln!(
            out,
            " {} | {} | {} |",
            ratio_text(r1),
            ratio_text(r2),
            ratio_text(r3)
        );
        if let Some(r) = r1 {
            vs_mimalloc.push(r);
            targets.push(Target {
                what: format!("gpa-fast / mimalloc time, {name}"),
                value: r,
                bound: 1.1,
                at_least: false,
            });
        }
        if let Some(r) = r2 {
            vs_glibc.push(r);
            targets.push(Target {
                what: format!("gpa-fast / glibc time, {name}"),
                value: r,
                bound: 1.0,
                at_least: false,
            });
        }
        if let Some(r) = r3 {
            glibc_vs_mimalloc.push(r);
        }
    }
    let _ = write!(out, "| geometric mean |");
    for _ in &allocators {
        let _ = write!(out, " |");
    }
    let (g1, g2, g3) = (
        geomean(&vs_mimalloc),
        geomean(&vs_glibc),
        geomean(&glibc_vs_mimalloc),
    );
    let _ = writeln!(
        out,
        " {} | {} | {} |\n",
        ratio_text(g1),
        ratio_text(g2),
        ratio_text(g3)
    );
    if let Some(g) = g1 {
        targets.push(Target {
            what: "gpa-fast / mimalloc time, geometric mean".into(),
            value: g,
            bound: 1.0,
            at_least: false,
        });
    }

    rss_table(
        results,
        suite,
        (&names, &allocators),
        ("Fast mode", "gpa-fast", "mimalloc", 1.2),
        out,
        targets,
    );
}

/// Renders the check suite; collects its targets.
fn check_tables(results: &Results, out: &mut String, targets: &mut Vec<Target>) {
    let suite = Suite::Check;
    let names = rows(results, suite);
    if names.is_empty() {
        return;
    }
    let allocators = columns(results, suite, &["glibc", "gpa-check", "valgrind"]);
    let _ = writeln!(
        out,
        "### Check mode: wall seconds (median ±spread) and ratios of medians\n"
    );
    header(
        out,
        &allocators,
        &["gpa-check / glibc", "valgrind / gpa-check"],
    );
    let (mut vs_glibc, mut speedup) = (vec![], vec![]);
    for name in &names {
        let cell = |a: &str| medians(results, suite, name, a);
        let _ = write!(out, "| {name} |");
        for a in &allocators {
            let _ = write!(out, " {} |", time_cell(cell(a)));
        }
        let seconds = |a: &str| cell(a).map(|c| c.seconds);
        let r1 = ratio(seconds("gpa-check"), seconds("glibc"));
        let r2 = ratio(seconds("valgrind"), seconds("gpa-check"));
        let _ = writeln!(out, " {} | {} |", ratio_text(r1), ratio_text(r2));
        if let Some(r) = r1 {
            vs_glibc.push(r);
            if *name == "alloc-workload" {
                targets.push(Target {
                    what: "gpa-check / glibc time, alloc-workload".into(),
                    value: r,
                    bound: 3.0,
                    at_least: false,
                });
            }
        }
        if let Some(r) = r2 {
            speedup.push(r);
            targets.push(Target {
                what: format!("valgrind / gpa-check time, {name}"),
                value: r,
                bound: 20.0,
                at_least: true,
            });
        }
    }
    let _ = write!(out, "| geometric mean |");
    for _ in &allocators {
        let _ = write!(out, " |");
    }
    let (g1, g2) = (geomean(&vs_glibc), geomean(&speedup));
    let _ = writeln!(out, " {} | {} |\n", ratio_text(g1), ratio_text(g2));
    if let Some(g) = g1 {
        targets.push(Target {
            what: "gpa-check / glibc time, geometric mean".into(),
            value: g,
            bound: 2.0,
            at_least: false,
        });
    }

    rss_table(
        results,
        suite,
        (&names, &allocators),
        ("Check mode", "gpa-check", "valgrind", 1.0),
        out,
        targets,
    );
}

/// A table's header row and alignment row: the benchmark, the allocators, the ratio columns.
fn header(out: &mut String, allocators: &[String], ratios: &[&str]) {
    let _ = write!(out, "| benchmark |");
    for a in allocators {
        let _ = write!(out, " {a} |");
    }
    for r in ratios {
        let _ = write!(out, " {r} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in allocators
        .iter()
        .map(String::as_str)
        .chain(ratios.iter().copied())
    {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
}

/// A suite's peak RSS table (`rows`: benchmark names and allocator columns) with the ratio of
/// `ours` to `reference` on each row, each ratio a target of at most `bound`.
fn rss_table(
    results: &Results,
    suite: Suite,
    (names, allocators): (&[&'static str], &[String]),
    (mode, ours, reference, bound): (&str, &str, &str, f64),
    out: &mut String,
    targets: &mut Vec<Target>,
) {
    let _ = writeln!(out, "### {mode}: peak RSS (MiB, median)\n");
    header(out, allocators, &[&format!("{ours} / {reference}")]);
    for name in names {
        let cell = |a: &str| medians(results, suite, name, a);
        let _ = write!(out, "| {name} |");
        for a in allocators {
            let _ = write!(out, " {} |", rss_cell(cell(a)));
        }
        let rss = |a: &str| cell(a).map(|c| c.rss_kib);
        let r = ratio(rss(ours), rss(reference));
        let _ = writeln!(out, " {} |", ratio_text(r));
        if let Some(r) = r {
            targets.push(Target {
                what: format!("{ours} / {reference} peak RSS, {name}"),
                value: r,
                bound,
                at_least: false,
            });
        }
    }
    let _ = writeln!(out);
}

/// The whole markdown report (tables, then the targets).
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let mut targets = Vec::new();
    fast_tables(results, &mut out, &mut targets);
    check_tables(results, &mut out, &mut targets);
    if !targets.is_empty() {
        let met = targets.iter().filter(|t| t.met()).count();
        let _ = writeln!(
            out,
            "### Targets of issue 14 in this run: {met} of {} met\n",
            targets.len()
        );
        for t in &targets {
            let _ = writeln!(
                out,
                "- {}: {:.2}x (target {} {:.2}x): {}",
                t.what,
                t.value,
                if t.at_least { ">=" } else { "<=" },
                t.bound,
                if t.met() { "met" } else { "MISSED" }
            );
        }
    }
    out
}

/// Every sample as JSON.
pub fn json(results: &Results, context: Value) -> Value {
    let samples: Vec<Value> = results
        .iter()
        .map(|((suite, benchmark, allocator), samples)| {
            json!({
                "suite": if *suite == suite_key(Suite::Fast) { "fast" } else { "check" },
                "benchmark": benchmark,
                "allocator": allocator,
                "seconds": samples.iter().map(|s| s.seconds).collect::<Vec<_>>(),
                "max_rss_kib": samples.iter().map(|s| s.max_rss_kib).collect::<Vec<_>>(),
                "ok": samples.iter().all(|s| s.ok),
            })
        })
        .collect();
    json!({ "context": context, "samples": samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: f64, rss: u64) -> Sample {
        Sample {
            seconds,
            max_rss_kib: rss,
            ok: true,
            output: "x".into(),
        }
    }

    #[test]
    fn tables_show_ratios_of_medians() {
        let mut results = Results::new();
        let key = |a: &str| (suite_key(Suite::Fast), "cfrac".to_string(), a.to_string());
        results.insert(key("glibc"), vec![sample(2.0, 2048), sample(2.2, 2048)]);
        results.insert(key("mimalloc"), vec![sample(1.0, 1024), sample(1.0, 1024)]);
        results.insert(key("gpa-fast"), vec![sample(0.9, 1024), sample(1.1, 1024)]);
        let text = markdown(&results);
        assert!(
            text.contains("| cfrac | 2.100 ±5% | 1.000 ±0% | 1.000 ±10% | 1.00x | 0.48x | 2.10x |"),
            "{text}"
        );
        assert!(text.contains("gpa-fast / mimalloc time, cfrac: 1.00x (target <= 1.10x): met"));
        assert!(
            text.contains("| cfrac | 2.0 | 1.0 | 1.0 | 1.00x |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| benchmark | glibc | mimalloc | gpa-fast | gpa-fast / mimalloc |\n|---|---:|---:|---:|---:|\n"
            ),
            "{text}"
        );
        assert!(text.contains("gpa-fast / mimalloc peak RSS, cfrac: 1.00x (target <= 1.20x): met"));
    }
}
