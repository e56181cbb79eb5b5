//! Runs the plan: every selected workload on every selected allocator, round-robin, repeated,
//! and reduces the repetitions to medians.
//!
//! # Design
//! For each workload, repetition `r` runs every allocator once, starting with allocator
//! `r mod n` so that no allocator always runs first (right after another allocator's
//! teardown) or last. All allocators see seed `base + r` in repetition `r`. Workloads that
//! measure the process's RSS ([`Workload::needs_child`]) run in a fresh child process
//! (`gpa-bench --child WORKLOAD --alloc NAME --seed S --scale F`) that prints one JSON line.

use std::path::Path;
use std::process::Command;

use crate::allocators::Entry;
use crate::workloads::{Params, Sample, Workload};

/// What to run.
pub struct Plan<'a> {
    /// The rows.
    pub workloads: Vec<&'static Workload>,
    /// The columns.
    pub allocators: Vec<&'static Entry>,
    /// Repetitions per cell.
    pub repeats: usize,
    /// Scale and base seed.
    pub params: Params,
    /// The `gpa-bench` executable, for child-process workloads.
    pub exe: &'a Path,
}

/// All samples of one (workload, allocator) cell.
pub struct Cell {
    /// The workload.
    pub workload: &'static Workload,
    /// The allocator's name.
    pub allocator: &'static str,
    /// One sample per repetition, in order.
    pub samples: Vec<Sample>,
}

impl Cell {
    /// The median of the samples' values.
    pub fn median(&self) -> f64 {
        median(self.samples.iter().map(|s| s.value).collect())
    }

    /// The median of the extra value named `key` (where every sample has it).
    pub fn extra_median(&self, key: &str) -> Option<f64> {
        let values: Option<Vec<f64>> = self
            .samples
            .iter()
            .map(|s| s.extra.iter().find(|(k, _)| k == key).map(|&(_, v)| v))
            .collect();
        values.filter(|v| !v.is_empty()).map(median)
    }
}

/// The median (the mean of the middle two for an even count); NaN for no values.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Runs the plan; `progress` hears about each run as it finishes.
pub fn run(plan: &Plan<'_>, mut progress: impl FnMut(&Cell, usize)) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    for &workload in &plan.workloads {
        let first = cells.len();
        for e in &plan.allocators {
            cells.push(Cell {
                workload,
                allocator: e.name,
                samples: Vec::new(),
            });
        }
        let n = plan.allocators.len();
        for rep in 0..plan.repeats {
            let params = Params {
                seed: plan.params.seed.wrapping_add(rep as u64),
                ..plan.params
            };
            for k in 0..n {
                let i = (k + rep) % n;
                let entry = plan.allocators[i];
                let sample = if workload.needs_child() {
                    run_child(plan.exe, workload, entry.name, &params)?
                } else {
                    entry.bench.run(workload, &params)
                };
                let cell = &mut cells[first + i];
                cell.samples.push(sample);
                progress(cell, rep);
            }
        }
    }
    Ok(cells)
}

/// Runs one workload in a child process and reads its sample.
pub fn run_child(exe: &Path, w: &Workload, alloc: &str, p: &Params) -> Result<Sample, String> {
    let out = Command::new(exe)
        .args(["--child", w.name, "--alloc", alloc])
        .args([
            "--seed",
            &p.seed.to_string(),
            "--scale",
            &p.scale.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "child {} --alloc {alloc} failed ({}): {}",
            w.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let line = stdout.lines().last().unwrap_or_default();
    sample_from_json(line)
        .ok_or_else(|| format!("child {} --alloc {alloc} printed {line:?}", w.name))
}

/// The one-line JSON a child prints for its sample.
pub fn sample_to_json(s: &Sample) -> String {
    let extra: serde_json::Map<String, serde_json::Value> = s
        .extra
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    serde_json::json!({ "value": s.value, "extra": extra }).to_string()
}

/// Parses [`sample_to_json`]'s output.
pub fn sample_from_json(line: &str) -> Option<Sample> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let value = v.get("value")?.as_f64()?;
    let extra = v
        .get("extra")?
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect::<Option<Vec<_>>>()?;
    Some(Sample { value, extra })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn child_sample_round_trips_through_json() {
        let s = Sample {
            value: 1.25,
            extra: vec![("peak_rss_bytes".into(), 4096.0)],
        };
        assert_eq!(sample_from_json(&sample_to_json(&s)), Some(s));
        assert_eq!(sample_from_json("not json"), None);
    }
}
