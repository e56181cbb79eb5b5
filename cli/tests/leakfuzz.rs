//! Differential tests of gpa's leak verdicts against Valgrind memcheck's on generated
//! programs (`leakfuzz/gen.rs`): each seed gives a C program (a C++ one from
//! `gen::CXX_SEEDS` on) that builds an object graph on the heap, roots parts of it in every
//! kind of root and drops the rest.
//!
//! `fixed_seeds` builds a fixed set of seeds with `-O0` and runs each under `gpa run
//! --show-leak-kinds=all` in check mode and with `--guard`: its loss records (kind, blocks,
//! direct and indirect bytes, the allocation's line) and the leak totals they add up to must
//! be Valgrind 3.19's on the same program, written in below (`EXPECTED`, as [`Match`] says),
//! its output and exit status the native run's. The seeds that found a fault are among them.
//! See `docs/sweeps/leakfuzz.md`.
//!
//! `sweep` (ignored; `LEAKFUZZ_SEEDS=FROM..TO cargo test -p gpa-cli --test leakfuzz --
//! --ignored sweep --nocapture`) is the offline comparison that chose them: every seed at
//! `-O0` and `-O2`, natively, under Valgrind, and under `gpa run` in check, guard and fast
//! modes, printing each disagreement (`CLIQUES` where only the clique leaders differ) and
//! the `EXPECTED` row Valgrind's verdict gives.

mod common;
#[path = "leakfuzz/gen.rs"]
mod gen;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use common::sweep::{log_lines, number_after, valgrind_log};
use common::*;
use serde_json::Value;

/// One loss record: (kind, blocks, direct bytes, indirect bytes, the line of the first frame
/// in `prog.c`, 0 when none is: the C library's own blocks, a thread's DTV).
type Record = (&'static str, u64, u64, u64, u64);

/// A loss record with an owned kind, as parsed.
type Parsed = (String, u64, u64, u64, u64);

/// The bytes one more module with thread-local storage adds to a running thread's DTV, the
/// one block whose size differs by design (see `leaks.rs`).
const GPA_DTV_EXTRA: u64 = 16;

/// Valgrind's loss records in its log `text`, sorted.
fn valgrind_records(text: &str) -> Vec<Parsed> {
    let lines = log_lines(text);
    let mut records = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let Some((amount, rest)) = line.split_once(" bytes in ") else {
            continue;
        };
        let Some(kind) = [
            ("definitely lost", "definite"),
            ("indirectly lost", "indirect"),
            ("possibly lost", "possible"),
            ("still reachable", "reachable"),
        ]
        .iter()
        .find_map(|(label, kind)| {
            rest.contains(&format!(" are {label} in loss record"))
                .then_some(*kind)
        }) else {
            continue;
        };
        let number = |text: &str| -> u64 { text.trim().replace(',', "").parse().unwrap() };
        // "1,234 (24 direct, 1,210 indirect)" or "1,234"
        let (direct, indirect) = match amount.split_once(" (") {
            Some((_, parts)) => {
                let (direct, indirect) = parts.split_once(" direct, ").unwrap();
                (
                    number(direct),
                    number(indirect.trim_end_matches(" indirect)")),
                )
            }
            None => (number(amount), 0),
        };
        let blocks = number(rest.split_whitespace().next().unwrap());
        let line = lines[at + 1..]
            .iter()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                number_after(line, "(prog.c:").or_else(|| number_after(line, "(prog.cpp:"))
            })
            .unwrap_or(0);
        records.push((kind.to_owned(), blocks, direct, indirect, line));
    }
    records.sort();
    records
}

/// gpa's loss records in its JSON report as Valgrind would give them, sorted, and the bytes
/// they differ by: a running thread's DTV (`allocate_dtv`, under `pthread_create`) is
/// `GPA_DTV_EXTRA` bytes larger under gpa.
fn gpa_records(json: &Value) -> (Vec<Parsed>, u64) {
    let findings = json["findings"].as_array().cloned().unwrap_or_default();
    let mut extra = 0;
    let mut records: Vec<Parsed> = findings
        .iter()
        .filter(|f| f["kind"] == "leak")
        .map(|f| {
            let frames = f["stacks"]["alloc"].as_array().cloned().unwrap_or_default();
            let line = frames
                .iter()
                .find(|frame| {
                    frame["file"]
                        .as_str()
                        .is_some_and(|f| f.ends_with("/prog.c") || f.ends_with("/prog.cpp"))
                })
                .and_then(|frame| frame["line"].as_u64())
                .unwrap_or(0);
            let blocks = f["count"].as_u64().unwrap_or(0);
            let mut direct = f["direct_bytes"].as_u64().unwrap_or(0);
            if frames
                .iter()
                .any(|frame| frame["function"] == "allocate_dtv")
            {
                direct -= GPA_DTV_EXTRA * blocks;
                extra += GPA_DTV_EXTRA * blocks;
            }
            (
                f["leak_kind"].as_str().unwrap_or("").to_owned(),
                blocks,
                direct,
                f["indirect_bytes"].as_u64().unwrap_or(0),
                line,
            )
        })
        .collect();
    records.sort();
    (records, extra)
}

/// gpa's leak totals less `extra` possibly lost bytes (the DTVs, see [`gpa_records`]).
fn gpa_totals(json: &Value, extra: u64) -> LeakTotals {
    let mut totals = gpa_leak_totals(json);
    totals[2].1 -= extra.min(totals[2].1);
    totals
}

/// The totals of `records`, in [`LEAK_KINDS`]' order.
fn totals_of(records: &[Parsed]) -> LeakTotals {
    LEAK_KINDS.map(|kind| {
        records
            .iter()
            .filter(|record| record.0 == kind)
            .fold((0, 0), |(blocks, bytes), record| {
                (blocks + record.1, bytes + record.2)
            })
    })
}

/// Writes the program of `seed` into `dir/prog.c` and builds it with `gcc -O0 -g -pthread`
/// and `flags` into `dir/prog`.
fn build(seed: u64, dir: &Path, flags: &[&str]) -> (std::path::PathBuf, gen::Program) {
    let program = gen::generate(seed);
    let source = dir.join(program.file);
    std::fs::write(&source, &program.source).expect("write prog.c");
    let binary = dir.join("prog");
    let compiler = if program.file.ends_with(".cpp") {
        "g++"
    } else {
        "gcc"
    };
    let out = std::process::Command::new(compiler)
        .args(["-O0", "-g", "-pthread", "-w"])
        .args(flags)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc seed {seed}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (binary, program)
}

/// What a seed's expected records pin down.
#[derive(Clone, Copy, PartialEq)]
enum Match {
    /// Every loss record (kind, blocks, direct and indirect bytes, line) and the totals.
    Exact,
    /// The possibly lost and still reachable records, and the lost blocks and bytes as a whole
    /// (definitely plus indirectly lost): which lost block leads a clique, and so which one is
    /// definitely lost and holds the others' bytes, follows the order of the blocks' addresses
    /// in memcheck's heap, which is not always their allocation order, the order gpa takes
    /// (`docs/sweeps/leakfuzz.md`, "Clique leaders" and "Memcheck's own placement").
    Cliques,
}

/// What differs between gpa's records `got` and Valgrind's `want` under `how`, if anything.
fn compare(got: &[Parsed], want: &[Parsed], how: Match) -> Option<String> {
    let same = match how {
        Match::Exact => got == want,
        Match::Cliques => {
            let kept = |records: &[Parsed]| -> Vec<Parsed> {
                records
                    .iter()
                    .filter(|r| r.0 == "possible" || r.0 == "reachable")
                    .cloned()
                    .collect()
            };
            let lost = |records: &[Parsed]| -> (u64, u64) {
                let totals = totals_of(records);
                (totals[0].0 + totals[1].0, totals[0].1 + totals[1].1)
            };
            kept(got) == kept(want) && lost(got) == lost(want)
        }
    };
    (!same).then(|| {
        let only_gpa: Vec<_> = got.iter().filter(|r| !want.contains(r)).collect();
        let only_vg: Vec<_> = want.iter().filter(|r| !got.contains(r)).collect();
        format!("only gpa {only_gpa:?}, only Valgrind {only_vg:?}")
    })
}

/// Seed, what its records pin down, then Valgrind 3.19's loss records on its `-O0` build
/// (`valgrind --leak-check=full --show-leak-kinds=all`, the rows `sweep` printed).
#[rustfmt::skip]
const EXPECTED: &[(u64, Match, &[Record])] = &[
    (0, Match::Exact, &[("definite", 1, 0, 0, 55), ("definite", 1, 1647, 0, 56), ("possible", 1, 0, 0, 55), ("possible", 1, 288, 0, 65), ("possible", 1, 1109, 0, 58), ("reachable", 1, 0, 0, 55), ("reachable", 1, 3630, 0, 57)]),
    (1, Match::Exact, &[("definite", 1, 11, 0, 62), ("definite", 1, 22, 0, 59), ("definite", 1, 22, 1664, 58), ("definite", 1, 58, 0, 64), ("definite", 1, 2147, 0, 61), ("definite", 1, 1132416, 0, 55), ("definite", 1, 1292702, 0, 57), ("indirect", 1, 32, 0, 56), ("indirect", 1, 1632, 0, 67), ("reachable", 1, 1622, 0, 60)]),
    (2, Match::Exact, &[("possible", 1, 51, 0, 58), ("possible", 1, 63, 0, 55), ("possible", 1, 2609, 0, 59), ("reachable", 1, 261519, 0, 56), ("reachable", 2, 5898, 0, 57)]),
    (3, Match::Exact, &[("definite", 1, 0, 0, 67), ("definite", 1, 42, 40, 59), ("definite", 1, 1876, 7169, 64), ("definite", 1, 3052, 0, 65), ("definite", 1, 3843, 300137, 55), ("definite", 2, 1886, 0, 72), ("indirect", 1, 40, 0, 68), ("indirect", 1, 48, 0, 56), ("indirect", 1, 56, 0, 61), ("indirect", 1, 62, 0, 62), ("indirect", 1, 417, 0, 60), ("indirect", 1, 931, 0, 57), ("indirect", 1, 943, 0, 72), ("indirect", 1, 3096, 0, 58), ("indirect", 1, 3175, 0, 71), ("indirect", 1, 4073, 0, 69), ("indirect", 1, 294505, 0, 73)]),
    (4, Match::Exact, &[("definite", 1, 493, 0, 55), ("definite", 1, 2048, 0, 61), ("definite", 1, 2410, 6906, 60), ("indirect", 1, 26, 0, 58), ("indirect", 1, 2944, 0, 63), ("indirect", 1, 3936, 0, 57), ("reachable", 1, 28, 0, 62), ("reachable", 1, 3064, 0, 56)]),
    (5, Match::Exact, &[("definite", 1, 1, 0, 63), ("definite", 1, 187, 0, 68), ("definite", 1, 403, 18, 60), ("definite", 1, 406, 0, 57), ("definite", 1, 1313, 59, 70), ("definite", 1, 4096, 9660, 64), ("indirect", 1, 18, 0, 56), ("indirect", 1, 59, 0, 71), ("indirect", 1, 137, 0, 58), ("indirect", 1, 2203, 0, 55), ("indirect", 1, 3654, 0, 69), ("indirect", 1, 3666, 0, 59), ("possible", 1, 288, 0, 99), ("reachable", 1, 1345, 0, 61), ("reachable", 1, 1467, 0, 62), ("reachable", 1, 2511, 0, 66)]),
    (6, Match::Exact, &[("definite", 1, 19, 0, 57), ("definite", 1, 19, 0, 61), ("definite", 1, 42, 0, 60), ("definite", 1, 64, 0, 56), ("definite", 1, 129, 0, 63), ("definite", 1, 2336, 0, 64), ("definite", 1, 2457, 0, 58), ("definite", 1, 3577, 0, 59), ("definite", 1, 3636, 0, 55), ("possible", 1, 4096, 0, 66), ("reachable", 1, 42, 0, 62), ("reachable", 1, 3577, 0, 59)]),
    (7, Match::Exact, &[("definite", 1, 21, 0, 59), ("definite", 1, 40, 255816, 55), ("indirect", 1, 255816, 0, 56), ("possible", 1, 288, 0, 66), ("possible", 1, 288, 0, 71), ("reachable", 1, 47, 0, 58)]),
    (8, Match::Exact, &[("definite", 1, 11, 0, 60), ("definite", 1, 29, 0, 66), ("definite", 1, 61, 0, 61), ("definite", 1, 151, 0, 64), ("definite", 1, 614, 0, 62), ("definite", 1, 1126, 0, 65), ("definite", 1, 1536, 2665, 58), ("definite", 1, 3751, 2048, 59), ("indirect", 1, 2048, 0, 67), ("indirect", 1, 2665, 0, 57), ("reachable", 1, 1245, 0, 63)]),
    (9, Match::Exact, &[("definite", 1, 1271, 0, 63), ("definite", 1, 2137, 0, 71), ("definite", 1, 3868, 0, 55), ("definite", 1, 3969, 2317, 57), ("definite", 1, 251584, 0, 68), ("definite", 1, 290704, 0, 59), ("definite", 1, 1104929, 0, 72), ("definite", 2, 5994, 2997, 66), ("definite", 2, 7264, 0, 58), ("indirect", 1, 28, 0, 61), ("indirect", 1, 2289, 0, 62), ("indirect", 1, 2997, 0, 66), ("possible", 1, 288, 0, 90), ("possible", 1, 288, 0, 91), ("reachable", 1, 48, 0, 70), ("reachable", 1, 2186, 0, 67), ("reachable", 1, 2661, 0, 64)]),
    (10, Match::Exact, &[("definite", 1, 1, 0, 55), ("definite", 1, 15, 0, 70), ("definite", 1, 16, 0, 56), ("definite", 1, 20, 0, 60), ("definite", 1, 41, 0, 69), ("definite", 1, 49, 0, 63), ("definite", 1, 1035, 0, 62), ("definite", 1, 1288, 0, 68), ("definite", 1, 2013, 0, 61), ("definite", 1, 2876, 0, 67), ("definite", 1, 3758, 0, 66), ("definite", 1, 299805, 0, 64), ("reachable", 1, 20, 0, 57), ("reachable", 1, 3857, 0, 65)]),
    (11, Match::Exact, &[("definite", 1, 20, 0, 58), ("definite", 1, 38, 0, 65), ("definite", 1, 49, 0, 63), ("definite", 1, 50, 0, 61), ("definite", 1, 256, 0, 62), ("definite", 1, 1752, 4931, 60), ("definite", 1, 3524, 0, 57), ("indirect", 1, 1075, 0, 56), ("indirect", 1, 3856, 0, 64)]),
    (12, Match::Exact, &[("definite", 1, 0, 0, 69), ("definite", 1, 0, 0, 71), ("definite", 1, 1, 0, 65), ("definite", 1, 26, 0, 73), ("definite", 1, 37, 0, 63), ("definite", 1, 45, 30, 57), ("definite", 1, 662, 4030, 72), ("definite", 1, 1115, 0, 60), ("definite", 1, 2403, 1514097, 66), ("definite", 1, 2675, 0, 67), ("definite", 1, 2810, 0, 56), ("definite", 1, 4096, 0, 75), ("definite", 1, 144019, 0, 59), ("indirect", 1, 30, 0, 70), ("indirect", 1, 2432, 0, 68), ("indirect", 1, 4030, 0, 62), ("indirect", 1, 1511665, 0, 64), ("reachable", 1, 25, 0, 58), ("reachable", 1, 64, 0, 74)]),
    (13, Match::Exact, &[("definite", 1, 4, 0, 56), ("definite", 1, 22, 0, 73), ("definite", 1, 54, 0, 69), ("definite", 1, 272, 0, 70), ("definite", 1, 401, 0, 67), ("definite", 1, 1019, 0, 60), ("definite", 1, 1320, 0, 65), ("definite", 1, 1596, 0, 63), ("definite", 1, 1763, 0, 61), ("definite", 1, 2153, 2865, 59), ("definite", 1, 2868, 0, 58), ("definite", 1, 231588, 0, 75), ("definite", 1, 1526938, 0, 68), ("indirect", 1, 293, 0, 71), ("indirect", 1, 1093, 0, 66), ("indirect", 1, 1479, 0, 72), ("possible", 1, 288, 0, 95), ("possible", 1, 983, 0, 74), ("reachable", 1, 34, 0, 57), ("reachable", 1, 3107, 0, 64)]),
    (14, Match::Exact, &[("definite", 1, 0, 0, 59), ("definite", 1, 6, 0, 68), ("definite", 1, 13, 0, 55), ("definite", 1, 23, 0, 76), ("definite", 1, 32, 0, 61), ("definite", 1, 38, 0, 74), ("definite", 1, 43, 0, 75), ("definite", 1, 51, 0, 65), ("definite", 1, 318, 0, 70), ("definite", 1, 374, 0, 58), ("definite", 1, 374, 0, 67), ("definite", 1, 512, 0, 56), ("definite", 1, 1221, 0, 64), ("definite", 1, 1624, 0, 72), ("definite", 1, 1992, 0, 66), ("definite", 1, 2057, 0, 60), ("definite", 1, 2234, 0, 71), ("definite", 1, 3167, 0, 63), ("definite", 1, 3369, 0, 69), ("definite", 1, 1419937, 0, 73)]),
    (15, Match::Exact, &[("definite", 1, 1, 0, 65), ("definite", 1, 1570, 0, 56), ("possible", 1, 44, 0, 55), ("possible", 1, 288, 0, 80), ("possible", 1, 288, 0, 82), ("possible", 1, 797, 0, 57), ("possible", 1, 1467, 0, 66), ("reachable", 1, 0, 0, 62), ("reachable", 1, 45, 0, 58), ("reachable", 1, 512, 0, 64), ("reachable", 1, 1981, 0, 61)]),
    (16, Match::Exact, &[("definite", 1, 0, 0, 63), ("definite", 1, 10, 0, 61), ("definite", 1, 1078, 0, 60), ("definite", 1, 2168, 0, 56), ("definite", 1, 3975, 0, 58), ("possible", 1, 409, 0, 55), ("reachable", 1, 1095, 0, 57), ("reachable", 1, 3162, 0, 62)]),
    (17, Match::Exact, &[("definite", 1, 2, 0, 55), ("definite", 1, 29, 0, 65), ("definite", 1, 48, 36, 66), ("definite", 1, 511, 2048, 58), ("definite", 1, 588, 0, 70), ("definite", 1, 2313, 3919, 63), ("definite", 1, 3681, 65, 61), ("definite", 1, 4096, 0, 57), ("indirect", 1, 29, 0, 68), ("indirect", 1, 804, 0, 62), ("indirect", 1, 2048, 0, 59), ("indirect", 1, 3115, 0, 56), ("indirect", 2, 72, 0, 67)]),
    (18, Match::Exact, &[("definite", 1, 2251, 0, 57), ("reachable", 1, 46, 0, 56), ("reachable", 1, 3794, 0, 55)]),
    (19, Match::Exact, &[("definite", 1, 58, 4527, 58), ("definite", 1, 1024, 0, 63), ("definite", 1, 1462, 0, 65), ("definite", 1, 2063, 0, 61), ("definite", 1, 3527, 4693, 73), ("definite", 1, 252335, 0, 60), ("indirect", 1, 11, 0, 66), ("indirect", 1, 18, 0, 71), ("indirect", 1, 40, 0, 67), ("indirect", 1, 45, 0, 68), ("indirect", 1, 48, 0, 69), ("indirect", 1, 63, 0, 59), ("indirect", 1, 761, 0, 62), ("indirect", 1, 887, 0, 64), ("indirect", 1, 1401, 0, 56), ("indirect", 1, 2762, 0, 70), ("indirect", 1, 3184, 0, 55)]),
    (20, Match::Exact, &[("definite", 1, 14, 0, 56), ("definite", 1, 1416, 2222, 55), ("definite", 1, 1704, 0, 59), ("definite", 1, 2219, 0, 64), ("indirect", 1, 363, 0, 58), ("indirect", 1, 1859, 0, 57), ("possible", 1, 28, 0, 61), ("possible", 1, 159, 0, 60), ("possible", 1, 1250, 0, 62)]),
    (21, Match::Exact, &[("definite", 1, 1, 0, 57), ("definite", 2, 4476, 0, 56), ("definite", 3, 111, 3717, 58), ("indirect", 1, 37, 0, 58), ("indirect", 1, 1442, 0, 55), ("indirect", 1, 2238, 0, 56)]),
    (22, Match::Exact, &[("definite", 1, 1366, 0, 59), ("definite", 1, 1615, 1914, 58), ("definite", 1, 2820, 0, 65), ("definite", 1, 3219, 0, 56), ("definite", 1, 3484, 1648, 66), ("definite", 1, 3608, 0, 61), ("definite", 2, 70, 0, 55), ("indirect", 1, 28, 0, 57), ("indirect", 1, 47, 0, 63), ("indirect", 1, 1538, 0, 64), ("indirect", 1, 1879, 0, 67), ("indirect", 2, 70, 0, 55)]),
    (23, Match::Exact, &[("definite", 1, 49, 0, 59), ("definite", 1, 55, 0, 70), ("definite", 1, 512, 0, 67), ("definite", 1, 574, 1483651, 64), ("definite", 1, 1303, 0, 66), ("definite", 1, 1587, 0, 58), ("definite", 1, 2160, 0, 69), ("definite", 1, 2349, 0, 55), ("definite", 1, 2846, 0, 73), ("definite", 1, 3013, 0, 60), ("definite", 1, 3084, 0, 62), ("definite", 1, 4025, 0, 71), ("definite", 1, 4096, 0, 57), ("definite", 1, 244034, 0, 72), ("definite", 3, 165, 0, 68), ("indirect", 1, 1483651, 0, 63), ("reachable", 1, 1579, 0, 65), ("reachable", 1, 2010, 0, 61), ("reachable", 1, 2349, 0, 55)]),
    (24, Match::Exact, &[("definite", 1, 0, 0, 57), ("definite", 1, 53, 0, 58), ("definite", 1, 160, 0, 64), ("definite", 1, 1470, 0, 66), ("definite", 1, 2718, 0, 63), ("definite", 1, 3005, 2053, 55), ("definite", 1, 3852, 0, 61), ("indirect", 1, 42, 0, 56), ("indirect", 1, 2011, 0, 60), ("reachable", 1, 0, 0, 65), ("reachable", 1, 40, 0, 68), ("reachable", 1, 2336, 0, 59)]),
    (25, Match::Exact, &[("possible", 1, 1034, 0, 56), ("reachable", 1, 15, 0, 55)]),
    (26, Match::Exact, &[("definite", 1, 1, 0, 59), ("definite", 1, 41, 0, 61), ("definite", 1, 54, 4159, 55), ("indirect", 1, 54, 0, 57), ("indirect", 1, 107, 0, 58), ("indirect", 1, 3998, 0, 60)]),
    (27, Match::Exact, &[("definite", 1, 30, 2537, 58), ("definite", 1, 780, 221, 62), ("definite", 1, 1895, 0, 65), ("definite", 1, 240086, 2419, 64), ("indirect", 1, 221, 0, 60), ("indirect", 1, 511, 0, 68), ("indirect", 1, 834, 0, 55), ("indirect", 1, 1703, 0, 61), ("indirect", 1, 1908, 0, 67), ("possible", 1, 288, 0, 88), ("reachable", 1, 1, 0, 59), ("reachable", 1, 55, 0, 56), ("reachable", 1, 2866, 0, 63), ("reachable", 1, 3606, 0, 66), ("reachable", 1, 192831, 0, 57)]),
    (28, Match::Exact, &[("definite", 1, 1354, 5497, 61), ("indirect", 1, 2744, 0, 58), ("indirect", 1, 2753, 0, 60), ("possible", 1, 288, 0, 77), ("possible", 1, 3291, 0, 56), ("reachable", 1, 25, 0, 59), ("reachable", 1, 3871, 0, 55)]),
    (29, Match::Exact, &[("definite", 1, 1069, 0, 55), ("definite", 1, 2499, 6776, 66), ("definite", 1, 2791, 0, 64), ("definite", 1, 2948, 1024, 61), ("definite", 1, 3388, 3341, 65), ("indirect", 1, 1024, 0, 60), ("indirect", 1, 3341, 0, 63), ("indirect", 2, 6776, 0, 65), ("possible", 1, 3158, 0, 57), ("reachable", 1, 2653, 0, 58), ("reachable", 1, 3388, 0, 65)]),
    (30, Match::Exact, &[("definite", 1, 16, 0, 68), ("definite", 1, 30, 0, 58), ("definite", 1, 62, 0, 69), ("definite", 1, 132, 0, 61), ("definite", 1, 2072, 0, 55), ("definite", 1, 3048, 0, 60), ("definite", 1, 3329, 0, 66), ("definite", 1, 3340, 0, 67), ("definite", 2, 2136, 0, 70), ("possible", 1, 288, 0, 78), ("possible", 1, 288, 0, 81), ("possible", 1, 2068, 0, 65), ("possible", 1, 3781, 0, 57), ("reachable", 1, 17, 0, 62), ("reachable", 1, 1579, 0, 63), ("reachable", 1, 3338, 0, 56)]),
    (31, Match::Exact, &[("definite", 1, 1, 0, 56), ("definite", 1, 3, 0, 59), ("definite", 1, 46, 0, 65), ("definite", 1, 63, 0, 61), ("definite", 1, 1109, 3338, 60), ("definite", 1, 1513, 0, 62), ("definite", 1, 2192, 3866, 55), ("definite", 1, 4096, 0, 57), ("definite", 1, 4096, 0, 67), ("definite", 1, 4096, 0, 69), ("indirect", 1, 0, 0, 63), ("indirect", 1, 409, 0, 68), ("indirect", 1, 2803, 0, 66), ("indirect", 1, 3866, 0, 64), ("indirect", 2, 126, 0, 61)]),
    (32, Match::Exact, &[("definite", 1, 1, 0, 64), ("definite", 1, 40, 10, 63), ("definite", 1, 43, 0, 58), ("definite", 1, 257, 0, 61), ("definite", 1, 907, 0, 70), ("definite", 1, 1867, 0, 60), ("definite", 1, 1897, 0, 59), ("definite", 1, 2925, 0, 66), ("definite", 1, 2944, 0, 57), ("definite", 1, 3703, 0, 69), ("definite", 1, 1123685, 0, 67), ("definite", 3, 30, 0, 62), ("indirect", 1, 10, 0, 62), ("possible", 1, 2213, 0, 56)]),
    (33, Match::Exact, &[("definite", 1, 41, 0, 57), ("definite", 1, 1450, 2686, 55), ("definite", 1, 2870, 0, 60), ("definite", 2, 0, 0, 63), ("indirect", 1, 2686, 0, 59), ("possible", 1, 3870, 0, 61), ("reachable", 1, 0, 0, 63), ("reachable", 1, 34, 0, 58), ("reachable", 1, 2691, 0, 62)]),
    (34, Match::Exact, &[("definite", 1, 17, 0, 63), ("definite", 1, 21, 0, 60), ("definite", 1, 75, 0, 55), ("definite", 1, 997, 558, 58), ("definite", 1, 1723, 0, 57), ("definite", 1, 2070, 0, 56), ("definite", 1, 3339, 0, 62), ("definite", 1, 4096, 0, 61), ("indirect", 1, 558, 0, 59)]),
    (35, Match::Exact, &[("definite", 1, 29, 0, 62), ("definite", 1, 867, 0, 58), ("definite", 1, 1278, 6628, 61), ("definite", 1, 1640, 263118, 60), ("definite", 1, 2693, 0, 67), ("definite", 1, 3403, 0, 65), ("definite", 1, 263118, 926, 55), ("indirect", 1, 59, 0, 57), ("indirect", 1, 867, 0, 58), ("indirect", 1, 2532, 0, 66), ("indirect", 1, 4096, 0, 64), ("indirect", 1, 263118, 0, 55), ("possible", 1, 288, 0, 80), ("possible", 1, 288, 0, 82), ("possible", 1, 867, 0, 58), ("possible", 1, 263118, 0, 55), ("reachable", 1, 708, 0, 63), ("reachable", 1, 1015, 0, 56)]),
    (36, Match::Exact, &[("definite", 1, 29, 4096, 58), ("definite", 1, 2077, 0, 57), ("definite", 2, 48, 0, 59), ("indirect", 1, 4096, 0, 56)]),
    (37, Match::Exact, &[("definite", 1, 54, 0, 56), ("definite", 1, 390, 0, 57), ("reachable", 1, 53, 0, 58), ("reachable", 1, 3994, 0, 55)]),
    (47, Match::Exact, &[("definite", 1, 8, 0, 60), ("definite", 1, 44, 2490, 64), ("definite", 1, 1114, 10, 56), ("definite", 1, 1561, 0, 65), ("definite", 1, 1840, 3589, 58), ("definite", 1, 2336, 0, 67), ("indirect", 1, 10, 0, 61), ("indirect", 1, 21, 0, 55), ("indirect", 1, 36, 0, 68), ("indirect", 1, 512, 0, 66), ("indirect", 1, 1495, 0, 62), ("indirect", 1, 1561, 0, 65), ("indirect", 1, 2454, 0, 57), ("indirect", 4, 0, 0, 63)]),
    (49, Match::Exact, &[("definite", 1, 1, 0, 69), ("definite", 1, 650, 158, 56), ("definite", 1, 1536, 37, 65), ("definite", 1, 3005, 4096, 57), ("definite", 1, 4016, 0, 59), ("definite", 1, 253529, 0, 55), ("definite", 1, 258063, 0, 64), ("indirect", 1, 37, 0, 67), ("indirect", 1, 158, 0, 68), ("indirect", 1, 4096, 0, 63), ("possible", 1, 1, 0, 69), ("possible", 1, 288, 0, 94), ("possible", 1, 288, 0, 95), ("possible", 1, 2048, 0, 58), ("reachable", 1, 1, 0, 69), ("reachable", 1, 49, 0, 61), ("reachable", 1, 92, 0, 66), ("reachable", 1, 607, 0, 62)]),
    (51, Match::Exact, &[("definite", 1, 1024, 0, 61), ("definite", 1, 3859, 0, 62), ("definite", 1, 136105, 36, 60), ("indirect", 1, 36, 0, 55), ("possible", 1, 38, 0, 59), ("reachable", 1, 1974, 0, 56), ("reachable", 1, 3535, 0, 57)]),
    (62, Match::Exact, &[("definite", 1, 0, 0, 57), ("definite", 1, 1, 0, 62), ("definite", 1, 50, 8903, 56), ("definite", 1, 2526, 10533, 66), ("definite", 1, 4025, 0, 59), ("indirect", 1, 21, 0, 58), ("indirect", 1, 31, 0, 55), ("indirect", 1, 704, 0, 63), ("indirect", 1, 2014, 0, 70), ("indirect", 1, 2792, 0, 69), ("indirect", 1, 2865, 0, 67), ("indirect", 1, 3486, 0, 61), ("indirect", 1, 3499, 0, 68), ("indirect", 1, 4024, 0, 60)]),
    (74, Match::Exact, &[("definite", 1, 44, 0, 70), ("definite", 1, 1012, 0, 63), ("definite", 1, 2532, 0, 61), ("definite", 1, 2964, 0, 62), ("definite", 1, 3052, 0, 57), ("definite", 1, 4050, 531, 59), ("definite", 3, 8877, 0, 66), ("indirect", 1, 531, 0, 64), ("possible", 1, 288, 0, 100), ("reachable", 1, 0, 0, 65), ("reachable", 1, 62, 0, 58), ("reachable", 1, 2312, 0, 67), ("reachable", 1, 2729, 0, 68), ("reachable", 1, 3455, 0, 56)]),
    (80, Match::Exact, &[("definite", 1, 1, 0, 55), ("definite", 1, 26, 4707, 64), ("definite", 1, 29, 295935, 74), ("definite", 1, 2318, 0, 61), ("definite", 1, 2649, 0, 60), ("definite", 1, 4086, 0, 62), ("definite", 1, 4096, 52, 66), ("indirect", 1, 0, 0, 56), ("indirect", 1, 5, 0, 67), ("indirect", 1, 24, 0, 65), ("indirect", 1, 47, 0, 71), ("indirect", 1, 57, 0, 58), ("indirect", 1, 166, 0, 63), ("indirect", 1, 268, 0, 72), ("indirect", 1, 1024, 0, 70), ("indirect", 1, 3168, 0, 59), ("indirect", 1, 295935, 0, 68), ("reachable", 1, 23, 0, 73)]),
    (91, Match::Exact, &[("definite", 1, 1, 0, 63), ("definite", 1, 43, 0, 66), ("definite", 1, 46, 0, 64), ("definite", 1, 1748, 0, 59), ("definite", 1, 3184, 3007, 56), ("definite", 1, 3276, 0, 55), ("definite", 1, 3439, 0, 62), ("definite", 1, 3541, 0, 68), ("definite", 3, 6408, 3192, 58), ("indirect", 1, 45, 0, 67), ("indirect", 1, 3007, 0, 65), ("indirect", 1, 3147, 0, 61), ("possible", 1, 32, 0, 57), ("possible", 1, 3230, 0, 60), ("possible", 2, 86, 0, 66), ("reachable", 1, 43, 0, 66)]),
    (93, Match::Cliques, &[("definite", 1, 1421, 7621, 62), ("definite", 1, 3158, 8480, 63), ("definite", 1, 3378, 0, 60), ("indirect", 1, 14, 0, 66), ("indirect", 1, 1965, 0, 64), ("indirect", 1, 2415, 0, 61), ("indirect", 1, 2810, 0, 65), ("indirect", 1, 2814, 0, 59), ("indirect", 1, 3241, 0, 57), ("indirect", 2, 2842, 0, 62), ("possible", 1, 45, 0, 58), ("possible", 1, 64, 0, 56), ("possible", 1, 3264, 0, 55)]),
    (106, Match::Exact, &[("definite", 1, 17, 860, 68), ("definite", 1, 545, 1412482, 66), ("definite", 1, 570, 5, 65), ("definite", 1, 860, 0, 60), ("definite", 1, 3699, 41, 55), ("indirect", 1, 5, 0, 63), ("indirect", 1, 13, 0, 56), ("indirect", 1, 41, 0, 62), ("indirect", 1, 975, 0, 67), ("indirect", 1, 1308, 0, 58), ("indirect", 1, 2730, 0, 57), ("indirect", 1, 2826, 0, 61), ("indirect", 1, 269492, 0, 59), ("indirect", 1, 1134278, 0, 64), ("indirect", 2, 1720, 0, 60), ("possible", 1, 1308, 0, 58)]),
    (115, Match::Exact, &[("definite", 1, 4094, 0, 56), ("definite", 1, 161750, 0, 57), ("definite", 1, 181421, 365446, 55), ("indirect", 2, 86, 0, 59), ("indirect", 2, 365360, 0, 60), ("possible", 1, 288, 0, 73), ("reachable", 1, 0, 0, 58)]),
    (121, Match::Exact, &[("definite", 1, 672, 3339, 61), ("definite", 1, 928, 0, 59), ("definite", 1, 1712, 1506, 56), ("indirect", 1, 59, 0, 60), ("indirect", 1, 208, 0, 55), ("indirect", 1, 1506, 0, 57), ("indirect", 1, 3072, 0, 63), ("possible", 1, 288, 0, 85), ("possible", 1, 288, 0, 86), ("reachable", 1, 1609, 0, 58), ("reachable", 1, 3352, 0, 62)]),
    (135, Match::Cliques, &[("definite", 1, 1, 0, 64), ("definite", 1, 27, 36, 57), ("definite", 1, 55, 2302, 62), ("definite", 1, 64, 4916, 61), ("definite", 1, 2302, 0, 65), ("definite", 1, 3212, 0, 59), ("indirect", 1, 27, 0, 67), ("indirect", 1, 36, 0, 66), ("indirect", 1, 385, 0, 58), ("indirect", 1, 664, 0, 63), ("indirect", 1, 2302, 0, 65), ("indirect", 1, 3840, 0, 55), ("possible", 1, 288, 0, 88)]),
    (152, Match::Exact, &[("definite", 1, 49, 5066, 59), ("definite", 1, 1242, 2533, 60), ("definite", 1, 1995, 0, 57), ("definite", 1, 295818, 0, 58), ("indirect", 3, 7599, 0, 61), ("reachable", 1, 2580, 0, 55)]),
    (166, Match::Exact, &[("definite", 1, 16, 0, 60), ("definite", 1, 1277, 0, 62), ("definite", 1, 2048, 3596, 59), ("definite", 1, 3073, 492, 56), ("definite", 1, 3613, 855, 65), ("definite", 1, 3885, 0, 64), ("definite", 1, 1451030, 0, 58), ("definite", 2, 1682, 0, 66), ("indirect", 1, 14, 0, 55), ("indirect", 1, 492, 0, 57), ("indirect", 1, 841, 0, 66), ("indirect", 1, 3596, 0, 61)]),
    (170, Match::Exact, &[("definite", 1, 74, 0, 55), ("definite", 1, 243, 14734, 56), ("definite", 1, 2713, 2787, 64), ("indirect", 1, 61, 0, 57), ("indirect", 1, 74, 0, 55), ("indirect", 1, 527, 0, 60), ("indirect", 1, 1318, 0, 59), ("indirect", 1, 1382, 0, 62), ("indirect", 1, 2111, 0, 61), ("indirect", 1, 3729, 0, 58), ("indirect", 3, 180, 0, 63), ("indirect", 3, 8139, 0, 64)]),
    (210, Match::Exact, &[("definite", 1, 1, 0, 61), ("definite", 1, 1, 0, 67), ("definite", 1, 1083, 196, 57), ("definite", 1, 1661, 2528, 60), ("definite", 1, 2434, 5225, 63), ("definite", 1, 302044, 0, 65), ("indirect", 1, 24, 0, 55), ("indirect", 1, 46, 0, 56), ("indirect", 1, 48, 0, 58), ("indirect", 1, 124, 0, 64), ("indirect", 1, 1083, 0, 68), ("indirect", 1, 2528, 0, 59), ("indirect", 1, 4096, 0, 62)]),
    (237, Match::Exact, &[("definite", 1, 811, 2, 69), ("definite", 1, 983, 0, 58), ("definite", 1, 1574, 6144, 65), ("definite", 1, 1679, 0, 66), ("definite", 1, 2799, 0, 60), ("definite", 1, 3460, 0, 62), ("definite", 1, 3469, 0, 55), ("indirect", 1, 2, 0, 68), ("indirect", 1, 2048, 0, 71), ("indirect", 1, 4096, 0, 70), ("possible", 1, 683, 0, 63), ("possible", 1, 1937, 0, 61), ("reachable", 1, 3369, 0, 59)]),
    (242, Match::Exact, &[("definite", 1, 1549, 3633, 59), ("definite", 2, 114, 57, 60), ("indirect", 1, 433, 0, 58), ("indirect", 1, 3143, 0, 57), ("indirect", 2, 114, 0, 60), ("possible", 1, 4096, 0, 55), ("possible", 1, 174478, 0, 56)]),
    (246, Match::Exact, &[("definite", 1, 1, 0, 60), ("definite", 1, 7, 0, 68), ("definite", 1, 55, 0, 69), ("definite", 1, 461, 7030, 61), ("definite", 1, 1920, 0, 59), ("definite", 1, 2378, 2915, 57), ("definite", 1, 3255, 461, 65), ("definite", 1, 3722, 0, 56), ("definite", 1, 3729, 0, 64), ("definite", 1, 3922, 51, 66), ("indirect", 1, 0, 0, 58), ("indirect", 1, 51, 0, 63), ("indirect", 1, 59, 0, 67), ("indirect", 1, 2454, 0, 55), ("indirect", 2, 6510, 0, 65), ("indirect", 3, 1383, 0, 61)]),
    (251, Match::Exact, &[("definite", 1, 1450, 0, 56), ("definite", 1, 2462, 0, 58), ("definite", 1, 2879, 3524, 61), ("definite", 1, 3370, 0, 62), ("definite", 1, 1504944, 3886, 59), ("indirect", 1, 3524, 0, 60), ("indirect", 1, 3886, 0, 57), ("reachable", 1, 28, 0, 55), ("reachable", 1, 48, 0, 63)]),
    (254, Match::Exact, &[("definite", 1, 0, 0, 59), ("definite", 1, 2429, 1994, 60), ("definite", 1, 3046, 0, 64), ("definite", 1, 3536, 0, 67), ("definite", 1, 189439, 3133, 57), ("definite", 2, 2, 0, 55), ("definite", 2, 106, 4526, 65), ("indirect", 1, 1, 0, 55), ("indirect", 1, 37, 0, 63), ("indirect", 1, 338, 0, 61), ("indirect", 1, 596, 0, 66), ("indirect", 1, 1513, 0, 68), ("indirect", 1, 3132, 0, 58), ("indirect", 1, 3930, 0, 56), ("indirect", 2, 106, 0, 65)]),
    (257, Match::Exact, &[("definite", 1, 21, 0, 66), ("definite", 1, 2232, 1131139, 56), ("definite", 1, 3958, 0, 59), ("definite", 1, 4080, 0, 55), ("indirect", 1, 18, 0, 67), ("indirect", 1, 1140, 0, 65), ("indirect", 1, 1192, 0, 58), ("indirect", 1, 3352, 0, 57), ("indirect", 1, 3770, 0, 62), ("indirect", 1, 1120869, 0, 60), ("indirect", 2, 798, 0, 61), ("possible", 1, 288, 0, 96)]),
    (261, Match::Exact, &[("definite", 1, 1814, 0, 57), ("definite", 1, 2862, 3237, 56), ("indirect", 1, 3237, 0, 58), ("possible", 1, 288, 0, 66)]),
    (293, Match::Exact, &[("definite", 1, 0, 0, 63), ("definite", 1, 57, 340799, 72), ("definite", 1, 2683, 53, 66), ("definite", 1, 198656, 1198517, 62), ("indirect", 1, 53, 0, 69), ("indirect", 1, 827, 0, 58), ("indirect", 1, 1646, 0, 59), ("indirect", 1, 1693, 0, 71), ("indirect", 1, 2366, 0, 68), ("indirect", 1, 140677, 0, 55), ("indirect", 1, 193590, 0, 61), ("indirect", 1, 1198517, 0, 70), ("possible", 1, 288, 0, 108), ("reachable", 1, 4096, 0, 65)]),
    (294, Match::Exact, &[("definite", 1, 0, 0, 58), ("definite", 1, 1, 0, 65), ("definite", 1, 1414, 237, 57), ("definite", 1, 2048, 0, 62), ("definite", 1, 2535, 0, 61), ("definite", 1, 3414, 0, 59), ("definite", 1, 3597, 0, 67), ("definite", 2, 3466, 8702, 63), ("definite", 3, 11316, 0, 66), ("indirect", 1, 237, 0, 68), ("indirect", 1, 2410, 0, 55), ("indirect", 1, 2967, 0, 60), ("indirect", 1, 3325, 0, 69), ("possible", 1, 288, 0, 89), ("possible", 1, 3386, 0, 56), ("possible", 1, 3584, 0, 64)]),
    (305, Match::Exact, &[("definite", 1, 512, 2608, 62), ("definite", 1, 1357, 0, 63), ("definite", 1, 2315, 0, 58), ("definite", 1, 2665, 0, 61), ("definite", 1, 3570, 0, 64), ("definite", 1, 3690, 3647, 55), ("indirect", 1, 31, 0, 59), ("indirect", 1, 46, 0, 60), ("indirect", 1, 2608, 0, 56), ("indirect", 1, 3570, 0, 64), ("reachable", 1, 31, 0, 59), ("reachable", 1, 3952, 0, 65)]),
    (312, Match::Exact, &[("definite", 1, 2896, 0, 56), ("definite", 1, 3253, 760709, 58), ("definite", 1, 3629, 0, 60), ("definite", 1, 253379, 28, 55), ("indirect", 1, 28, 0, 65), ("indirect", 1, 572, 0, 63), ("indirect", 3, 760137, 0, 55), ("possible", 1, 1399, 0, 59)]),
    (326, Match::Exact, &[("definite", 1, 1, 0, 58), ("definite", 1, 33, 0, 59), ("definite", 1, 2228, 4096, 56), ("indirect", 1, 4096, 0, 57), ("possible", 1, 288, 0, 71)]),
    (330, Match::Exact, &[("definite", 1, 1792, 530, 73), ("definite", 1, 2641, 0, 66), ("definite", 1, 2746, 221181, 56), ("definite", 1, 202088, 4001, 68), ("definite", 1, 277386, 0, 58), ("indirect", 1, 16, 0, 69), ("indirect", 1, 49, 0, 60), ("indirect", 1, 530, 0, 55), ("indirect", 1, 2696, 0, 72), ("indirect", 1, 3429, 0, 74), ("indirect", 1, 3952, 0, 70), ("indirect", 1, 4096, 0, 65), ("indirect", 1, 210944, 0, 71), ("possible", 1, 288, 0, 105), ("reachable", 1, 1, 0, 62), ("reachable", 1, 3328, 0, 75), ("reachable", 1, 3429, 0, 67), ("reachable", 1, 176315, 0, 61)]),
    (364, Match::Exact, &[("definite", 1, 1, 0, 55), ("definite", 1, 48, 0, 67), ("definite", 1, 51, 0, 64), ("definite", 1, 2179, 851, 61), ("indirect", 1, 851, 0, 62), ("possible", 1, 288, 0, 90), ("possible", 1, 1481, 0, 66), ("reachable", 1, 55, 0, 58), ("reachable", 1, 256, 0, 68), ("reachable", 1, 1263, 0, 57), ("reachable", 1, 1271, 0, 70), ("reachable", 1, 2193, 0, 63), ("reachable", 1, 3072, 0, 69), ("reachable", 1, 3756, 0, 65)]),
    (365, Match::Exact, &[("definite", 1, 1, 0, 66), ("definite", 1, 3, 0, 60), ("definite", 1, 39, 385, 71), ("definite", 1, 54, 1830, 70), ("definite", 1, 465, 0, 61), ("definite", 1, 528, 0, 59), ("definite", 1, 1416, 0, 69), ("definite", 1, 2713, 0, 62), ("definite", 1, 2749, 0, 55), ("definite", 1, 3588, 0, 63), ("definite", 1, 3759, 0, 57), ("definite", 1, 1400612, 4048, 58), ("indirect", 1, 4, 0, 64), ("indirect", 1, 385, 0, 73), ("indirect", 1, 1826, 0, 68), ("indirect", 1, 4048, 0, 56)]),
    (367, Match::Exact, &[("definite", 1, 0, 0, 58), ("definite", 1, 3, 0, 69), ("definite", 1, 8, 0, 56), ("definite", 1, 45, 2273, 60), ("definite", 1, 391, 0, 70), ("definite", 1, 691, 62, 67), ("definite", 1, 1147, 0, 61), ("definite", 1, 2122, 3655, 55), ("definite", 1, 2292, 0, 62), ("definite", 1, 2306, 0, 57), ("definite", 1, 4032, 0, 65), ("definite", 3, 892701, 297567, 66), ("indirect", 1, 16, 0, 63), ("indirect", 1, 62, 0, 72), ("indirect", 1, 1295, 0, 71), ("indirect", 1, 2257, 0, 59), ("indirect", 1, 2360, 0, 68), ("indirect", 1, 297567, 0, 66)]),
    (369, Match::Exact, &[("definite", 1, 0, 0, 65), ("definite", 1, 17, 5746, 59), ("definite", 1, 1266, 1573, 55), ("definite", 1, 2312, 10253, 63), ("definite", 1, 2629, 0, 69), ("definite", 1, 3868, 734, 68), ("indirect", 1, 17, 0, 59), ("indirect", 1, 48, 0, 56), ("indirect", 1, 734, 0, 70), ("indirect", 1, 1573, 0, 58), ("indirect", 1, 2030, 0, 71), ("indirect", 1, 3058, 0, 66), ("indirect", 1, 3099, 0, 60), ("indirect", 1, 3651, 0, 57), ("indirect", 1, 4096, 0, 64), ("possible", 1, 288, 0, 110), ("reachable", 1, 2614, 0, 67)]),
    (393, Match::Exact, &[("definite", 1, 1, 0, 59), ("definite", 1, 26, 0, 56), ("definite", 1, 61, 0, 61), ("definite", 1, 173, 10148, 58), ("indirect", 1, 1, 0, 64), ("indirect", 1, 63, 0, 57), ("indirect", 1, 111, 0, 55), ("indirect", 1, 2823, 0, 60), ("indirect", 1, 3328, 0, 63), ("indirect", 1, 3476, 0, 62), ("indirect", 2, 346, 0, 58), ("possible", 1, 288, 0, 89), ("reachable", 1, 173, 0, 58)]),
    (410, Match::Exact, &[("definite", 1, 828, 3332, 61), ("definite", 1, 1268, 11, 68), ("definite", 1, 2065, 0, 64), ("definite", 1, 2440, 2614, 56), ("definite", 1, 151208, 0, 62), ("definite", 2, 126, 6196, 67), ("definite", 2, 6664, 203071, 63), ("indirect", 1, 0, 0, 57), ("indirect", 1, 11, 0, 65), ("indirect", 1, 573, 0, 59), ("indirect", 1, 2291, 0, 66), ("indirect", 1, 2614, 0, 60), ("indirect", 1, 203071, 0, 55), ("indirect", 2, 6664, 0, 63)]),
    (434, Match::Exact, &[("definite", 1, 1, 0, 62), ("definite", 1, 733, 3192, 64), ("definite", 1, 1093, 0, 59), ("definite", 1, 1818, 2603, 65), ("definite", 1, 2977, 0, 60), ("definite", 2, 6384, 9857, 68), ("definite", 3, 3, 0, 66), ("indirect", 1, 0, 0, 57), ("indirect", 1, 1, 0, 66), ("indirect", 1, 17, 0, 63), ("indirect", 1, 230, 0, 61), ("indirect", 1, 1650, 0, 56), ("indirect", 1, 1652, 0, 67), ("indirect", 1, 2585, 0, 58), ("indirect", 1, 3133, 0, 55), ("indirect", 2, 6384, 0, 68)]),
    (444, Match::Exact, &[("definite", 1, 0, 0, 60), ("definite", 1, 0, 0, 64), ("definite", 1, 18, 14, 74), ("definite", 1, 46, 6639, 58), ("definite", 1, 1642, 2321, 63), ("definite", 1, 1814, 46, 57), ("definite", 1, 2119, 1308, 65), ("definite", 1, 2560, 0, 68), ("definite", 1, 2615, 0, 73), ("indirect", 1, 0, 0, 56), ("indirect", 1, 14, 0, 67), ("indirect", 1, 538, 0, 55), ("indirect", 1, 1308, 0, 62), ("indirect", 1, 2048, 0, 69), ("indirect", 1, 2321, 0, 71), ("indirect", 1, 4007, 0, 70), ("indirect", 2, 92, 0, 72)]),
    (100000, Match::Exact, &[("definite", 1, 0, 0, 64), ("definite", 1, 14, 0, 70), ("definite", 1, 15, 0, 59), ("definite", 1, 34, 0, 72), ("definite", 1, 40, 0, 60), ("definite", 1, 40, 0, 61), ("definite", 1, 61, 0, 68), ("definite", 1, 296, 0, 65), ("definite", 1, 328, 0, 67), ("definite", 1, 2963, 0, 73), ("definite", 1, 3137, 0, 71), ("reachable", 1, 40, 0, 63), ("reachable", 1, 189789, 0, 62)]),
    (100001, Match::Exact, &[("definite", 1, 1, 0, 70), ("definite", 1, 38, 41, 64), ("definite", 1, 43, 34, 69), ("definite", 1, 50, 0, 76), ("definite", 1, 432, 2786, 60), ("definite", 1, 1598, 784, 61), ("definite", 1, 1979, 0, 66), ("definite", 1, 2786, 0, 63), ("definite", 1, 3415, 3245, 74), ("definite", 1, 3826, 0, 71), ("indirect", 1, 34, 0, 75), ("indirect", 1, 41, 0, 59), ("indirect", 1, 784, 0, 73), ("indirect", 1, 2786, 0, 63), ("indirect", 1, 3245, 0, 62)]),
    (100002, Match::Exact, &[("definite", 1, 9, 0, 66), ("definite", 1, 14, 0, 60), ("definite", 1, 1796, 0, 64), ("definite", 1, 2581, 0, 71), ("definite", 1, 2734, 0, 75), ("definite", 1, 3419, 40, 68), ("definite", 1, 1064557, 0, 61), ("definite", 1, 1330319, 0, 63), ("indirect", 1, 40, 0, 69), ("possible", 1, 23, 0, 62), ("possible", 1, 40, 0, 74), ("possible", 1, 928, 0, 70), ("possible", 1, 2167, 0, 73), ("possible", 1, 2878, 0, 67), ("possible", 1, 4096, 0, 59), ("possible", 2, 2129114, 0, 61), ("reachable", 1, 42, 0, 72), ("reachable", 1, 230251, 0, 65)]),
    (100003, Match::Exact, &[("definite", 1, 20, 0, 68), ("definite", 1, 40, 0, 66), ("definite", 1, 120, 0, 71), ("definite", 1, 2075, 0, 61), ("definite", 1, 2729, 485, 70), ("definite", 1, 2889, 40, 67), ("indirect", 1, 40, 0, 69), ("indirect", 1, 485, 0, 65), ("possible", 1, 59, 0, 60), ("possible", 1, 725, 0, 63), ("possible", 1, 275584, 0, 62), ("reachable", 1, 40, 0, 64)]),
    (100004, Match::Exact, &[("definite", 1, 28, 0, 63), ("definite", 1, 35, 0, 61), ("definite", 1, 40, 0, 60), ("definite", 1, 61, 0, 62), ("reachable", 1, 61, 0, 62)]),
    (100005, Match::Exact, &[("definite", 1, 1812, 0, 64), ("reachable", 1, 40, 0, 59), ("reachable", 1, 184, 0, 61), ("reachable", 1, 1586, 0, 63), ("reachable", 1, 2748, 0, 60)]),
    (100006, Match::Exact, &[("definite", 1, 24, 139042, 62), ("definite", 1, 29, 1, 63), ("definite", 1, 47, 40, 71), ("definite", 1, 2048, 0, 68), ("definite", 1, 2194, 0, 65), ("indirect", 1, 1, 0, 70), ("indirect", 1, 40, 0, 67), ("indirect", 1, 139042, 0, 59), ("reachable", 1, 971, 0, 60), ("reachable", 1, 2479, 0, 64), ("reachable", 1, 262402, 0, 61)]),
    (100007, Match::Exact, &[("definite", 1, 0, 0, 68), ("definite", 1, 40, 0, 64), ("definite", 1, 232, 176, 62), ("definite", 1, 2056, 0, 69), ("definite", 1, 2892, 24, 60), ("indirect", 1, 24, 0, 59), ("indirect", 1, 27, 0, 65), ("indirect", 1, 40, 0, 66), ("indirect", 1, 109, 0, 70), ("reachable", 1, 3855, 0, 63)]),
    (100016, Match::Exact, &[("definite", 1, 24, 0, 59), ("definite", 1, 40, 0, 61), ("definite", 1, 40, 0, 70), ("definite", 1, 43, 0, 65), ("definite", 1, 43, 400, 60), ("definite", 1, 62, 0, 66), ("definite", 1, 725, 0, 69), ("definite", 1, 2608, 0, 63), ("definite", 1, 2866, 0, 68), ("indirect", 1, 400, 0, 62), ("reachable", 1, 585, 0, 64)]),
    (100017, Match::Exact, &[("definite", 1, 15, 4020, 68), ("definite", 1, 30, 0, 76), ("definite", 1, 40, 0, 59), ("definite", 1, 40, 0, 63), ("definite", 1, 184, 0, 67), ("definite", 1, 400, 40, 66), ("definite", 1, 400, 256, 62), ("definite", 1, 722, 0, 69), ("definite", 1, 2266, 0, 70), ("definite", 1, 131304, 4312, 60), ("indirect", 1, 6, 0, 61), ("indirect", 1, 34, 0, 72), ("indirect", 1, 40, 0, 74), ("indirect", 1, 256, 0, 73), ("indirect", 1, 1420, 0, 65), ("indirect", 1, 2852, 0, 75), ("indirect", 1, 4020, 0, 71)]),
    (100033, Match::Exact, &[("definite", 1, 10, 22, 60), ("definite", 1, 21, 0, 66), ("definite", 1, 31, 0, 64), ("definite", 1, 46, 0, 70), ("definite", 1, 52, 0, 75), ("definite", 1, 776, 0, 72), ("definite", 1, 1137, 0, 76), ("definite", 1, 3122, 8193, 77), ("indirect", 1, 0, 0, 67), ("indirect", 1, 16, 0, 68), ("indirect", 1, 22, 0, 61), ("indirect", 1, 22, 0, 73), ("indirect", 1, 46, 0, 63), ("indirect", 1, 176, 0, 65), ("indirect", 1, 3837, 0, 59), ("indirect", 1, 4096, 0, 74)]),
    (100035, Match::Exact, &[("definite", 1, 16, 0, 59), ("definite", 1, 40, 0, 64), ("definite", 1, 1264, 0, 63), ("definite", 1, 1337, 0, 73), ("definite", 1, 1529, 40, 66), ("definite", 1, 1627, 5421, 71), ("definite", 2, 7706, 35, 72), ("indirect", 1, 35, 0, 68), ("indirect", 1, 39, 0, 67), ("indirect", 1, 40, 0, 60), ("indirect", 1, 1529, 0, 66), ("indirect", 1, 3853, 0, 72), ("reachable", 1, 40, 0, 70)]),
    (100045, Match::Exact, &[("definite", 1, 40, 0, 65), ("definite", 1, 40, 0, 67), ("definite", 1, 61, 0, 63), ("definite", 1, 136, 464, 62), ("definite", 1, 320, 17, 68), ("definite", 1, 408, 653, 60), ("definite", 1, 941, 0, 59), ("indirect", 1, 17, 0, 61), ("indirect", 1, 40, 0, 72), ("indirect", 1, 120, 0, 66), ("indirect", 1, 149, 0, 71), ("indirect", 1, 344, 0, 69), ("indirect", 1, 464, 0, 64)]),
    (100057, Match::Exact, &[("definite", 1, 9, 0, 70), ("definite", 1, 17, 0, 63), ("definite", 1, 51, 0, 72), ("definite", 1, 152, 59, 68), ("definite", 1, 1065187, 0, 60), ("indirect", 1, 16, 0, 65), ("indirect", 1, 17, 0, 67), ("indirect", 1, 26, 0, 61), ("reachable", 1, 40, 0, 62), ("reachable", 1, 40, 0, 71)]),
    (100067, Match::Exact, &[("definite", 1, 11, 0, 68), ("definite", 1, 40, 0, 70), ("definite", 1, 240, 0, 64), ("definite", 1, 480, 0, 65), ("definite", 1, 1396392, 216, 59), ("indirect", 1, 216, 0, 67), ("possible", 1, 43, 0, 63), ("possible", 1, 304, 0, 83), ("possible", 1, 304, 0, 87), ("possible", 1, 772, 0, 62), ("possible", 1, 3124, 0, 61), ("reachable", 1, 3024, 0, 69)]),
    (100068, Match::Exact, &[("definite", 1, 40, 0, 64), ("definite", 1, 40, 0, 66), ("definite", 1, 53, 0, 62), ("definite", 1, 491, 0, 65), ("definite", 1, 1358, 0, 61), ("definite", 1, 1824, 196190, 68), ("definite", 1, 2162, 0, 63), ("definite", 1, 2805, 0, 71), ("definite", 1, 2874, 0, 72), ("indirect", 1, 0, 0, 60), ("indirect", 1, 64, 0, 67), ("indirect", 1, 64, 0, 69), ("indirect", 1, 496, 0, 70), ("indirect", 1, 195566, 0, 59), ("reachable", 1, 3147, 0, 73), ("reachable", 1, 3546, 0, 74)]),
    (100075, Match::Exact, &[("definite", 1, 1, 0, 60), ("definite", 1, 1, 0, 71), ("definite", 1, 12, 0, 69), ("definite", 1, 40, 0, 66), ("definite", 1, 60, 0, 67), ("definite", 1, 64, 0, 70), ("definite", 1, 1460, 0, 73), ("definite", 1, 148444, 0, 65), ("definite", 1, 247581, 715, 59), ("indirect", 1, 39, 0, 63), ("indirect", 1, 41, 0, 68), ("indirect", 1, 635, 0, 72), ("possible", 1, 304, 0, 113), ("reachable", 1, 1518, 0, 75), ("reachable", 1, 1642, 0, 74)]),
    (100079, Match::Exact, &[("definite", 1, 40, 0, 68), ("definite", 1, 64, 0, 63), ("definite", 1, 805, 0, 60), ("definite", 1, 2080, 0, 69), ("definite", 1, 2335, 5379, 62), ("definite", 1, 2404, 40, 59), ("indirect", 1, 40, 0, 64), ("indirect", 1, 1232, 0, 66), ("indirect", 1, 1743, 0, 67), ("indirect", 1, 2404, 0, 59)]),
    (100098, Match::Exact, &[("definite", 1, 427, 0, 68), ("definite", 1, 705, 216, 61), ("definite", 1, 1098158, 3543, 69), ("indirect", 1, 39, 0, 63), ("indirect", 1, 40, 0, 66), ("indirect", 1, 216, 0, 64), ("indirect", 1, 3464, 0, 65), ("possible", 1, 304, 0, 86), ("reachable", 1, 0, 0, 59), ("reachable", 1, 830, 0, 67), ("reachable", 1, 1511652, 0, 60)]),
    (100100, Match::Exact, &[("definite", 1, 39, 16, 62), ("definite", 1, 39, 7294, 64), ("definite", 1, 179, 0, 69), ("definite", 1, 1231, 0, 67), ("definite", 1, 1469, 3122, 63), ("definite", 1, 3647, 0, 65), ("indirect", 1, 16, 0, 68), ("indirect", 1, 17, 0, 59), ("indirect", 1, 3105, 0, 70), ("indirect", 2, 7294, 0, 65), ("reachable", 1, 256, 0, 60)]),
    (100111, Match::Exact, &[("definite", 1, 20, 1888, 65), ("definite", 1, 22, 0, 64), ("definite", 1, 40, 0, 67), ("definite", 1, 2020, 3590, 62), ("definite", 1, 3488, 0, 60), ("indirect", 1, 45, 0, 63), ("indirect", 1, 1888, 0, 72), ("indirect", 1, 3545, 0, 61), ("possible", 1, 2896, 0, 59), ("possible", 2, 54, 0, 68), ("reachable", 1, 40, 0, 70), ("reachable", 1, 40, 0, 71)]),
    (100126, Match::Exact, &[("definite", 1, 8, 0, 73), ("definite", 1, 248, 0, 64), ("definite", 1, 432, 4295, 65), ("definite", 1, 1894, 9456, 63), ("definite", 1, 2182, 0, 67), ("definite", 1, 3084, 498, 74), ("indirect", 1, 2, 0, 70), ("indirect", 1, 7, 0, 60), ("indirect", 1, 42, 0, 71), ("indirect", 1, 61, 0, 68), ("indirect", 1, 176, 0, 72), ("indirect", 1, 496, 0, 59), ("indirect", 1, 2394, 0, 69), ("indirect", 1, 3580, 0, 76), ("indirect", 1, 3703, 0, 62), ("indirect", 2, 3788, 0, 63)]),
    (100149, Match::Exact, &[("definite", 1, 23, 0, 71), ("definite", 1, 40, 0, 65), ("definite", 1, 40, 0, 73), ("definite", 1, 40, 0, 76), ("definite", 1, 40, 0, 77), ("definite", 1, 1020, 0, 63), ("definite", 1, 1024, 277, 62), ("definite", 1, 1406, 0, 60), ("definite", 1, 1700, 0, 79), ("definite", 1, 2216, 2549, 67), ("definite", 1, 2499, 0, 66), ("definite", 1, 3761, 0, 69), ("definite", 1, 265038, 0, 72), ("indirect", 1, 277, 0, 74), ("indirect", 1, 2549, 0, 68), ("possible", 1, 3806, 0, 61), ("reachable", 1, 40, 0, 70), ("reachable", 1, 301, 0, 75)]),
];

/// Builds each seed of `EXPECTED` with `gcc -O0` and runs it natively and under `gpa run
/// --show-leak-kinds=all` in check mode and with `--guard`: the same output and exit status,
/// and Valgrind's loss records.
#[test]
fn fixed_seeds() {
    if !gcc_or_skip() {
        return;
    }
    let failures = Mutex::new(Vec::new());
    let next = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let at = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((seed, how, expected)) = EXPECTED.get(at) else {
                    break;
                };
                let dir = scratch(&format!("leakfuzz-{seed}"));
                let (binary, _) = build(*seed, &dir, &[]);
                let path = binary.to_str().unwrap();
                let native = plain_run(&dir, &[path], |_| {});
                let mut want: Vec<Parsed> = expected
                    .iter()
                    .map(|(kind, blocks, direct, indirect, line)| {
                        ((*kind).to_owned(), *blocks, *direct, *indirect, *line)
                    })
                    .collect();
                want.sort();
                let mut problems = Vec::new();
                for mode in [&[][..], &["--guard"][..]] {
                    let options: Vec<&str> = mode
                        .iter()
                        .copied()
                        .chain(["--show-leak-kinds=all"])
                        .collect();
                    let run = gpa_run(&dir, &options, &[path]);
                    let (got, extra) = gpa_records(&run.json);
                    if let Some(what) = compare(&got, &want, *how) {
                        problems.push(format!("{mode:?} records: {what}"));
                    }
                    let totals = gpa_totals(&run.json, extra);
                    if totals != totals_of(&got) {
                        problems.push(format!(
                            "{mode:?} the totals {totals:?} are not the records' {:?}",
                            totals_of(&got)
                        ));
                    }
                    if run.output.stdout != native.stdout
                        || run.output.status.code() != native.status.code()
                    {
                        problems.push(format!(
                            "{mode:?} output/status: gpa {:?} {:?}, native {:?} {:?}",
                            run.stdout(),
                            run.output.status.code(),
                            String::from_utf8_lossy(&native.stdout),
                            native.status.code()
                        ));
                    }
                }
                if !problems.is_empty() {
                    // Keep the directory for a look.
                    std::mem::forget(dir);
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("seed {seed}: {}", problems.join("\n  ")));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The offline sweep (see the module docs): prints one line per seed and build, `ok` or what
/// differed, and each `-O0` build's `EXPECTED` row. `LEAKFUZZ_SEEDS`: `FROM..TO` or a
/// comma-separated list; `LEAKFUZZ_OPTS`: the builds (default `-O0,-O2`); `LEAKFUZZ_MODES`:
/// the `gpa run` modes compared (default `check,guard,fast`); `LEAKFUZZ_VALGRIND_CACHE`: a
/// directory keeping Valgrind's log of each seed and build, reused by later sweeps (its
/// verdict does not depend on gpa).
#[test]
#[ignore]
fn sweep() {
    let seeds = std::env::var("LEAKFUZZ_SEEDS").unwrap_or_else(|_| "0..10".into());
    let seeds: Vec<u64> = match seeds.split_once("..") {
        Some((from, to)) => (from.parse().unwrap()..to.parse().unwrap()).collect(),
        None => seeds
            .split(',')
            .map(|seed| seed.trim().parse().unwrap())
            .collect(),
    };
    let list = |name: &str, default: &str| -> Vec<String> {
        std::env::var(name)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|item| item.trim().to_owned())
            .collect()
    };
    let opts = list("LEAKFUZZ_OPTS", "-O0,-O2");
    let modes = list("LEAKFUZZ_MODES", "check,guard,fast");
    let next = AtomicU64::new(0);
    let print = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let at = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&seed) = seeds.get(at) else {
                    break;
                };
                for opt in &opts {
                    let lines = sweep_one(seed, opt, &modes);
                    let _guard = print.lock().unwrap();
                    for line in lines {
                        println!("{line}");
                    }
                }
            });
        }
    });
}

fn sweep_one(seed: u64, opt: &str, modes: &[String]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("leakfuzz/{seed}{opt}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (binary, _) = build(seed, &dir, &[opt]);
    let path = binary.to_str().unwrap();
    let native = plain_run(&dir, &[path], |_| {});
    let cached = std::env::var_os("LEAKFUZZ_VALGRIND_CACHE")
        .map(|cache| Path::new(&cache).join(format!("{seed}{opt}.log")));
    let log = match cached
        .as_ref()
        .and_then(|at| std::fs::read_to_string(at).ok())
    {
        Some(log) => log,
        None => {
            let log = valgrind_log(&dir, &[], &[path]);
            if let Some(at) = &cached {
                // Whole or not at all (another sweep may read it meanwhile).
                let _ = std::fs::create_dir_all(at.parent().unwrap());
                let partial = at.with_extension(format!("{}.part", std::process::id()));
                std::fs::write(&partial, &log).expect("write the cached log");
                std::fs::rename(&partial, at).expect("keep the cached log");
            }
            log
        }
    };
    let valgrind = valgrind_records(&log);
    let mut lines = Vec::new();
    let tag = format!("seed {seed} {opt}");
    let vg_totals = valgrind_leak_totals(&log);
    if totals_of(&valgrind) != vg_totals {
        lines.push(format!(
            "{tag} PARSE records {valgrind:?} totals {vg_totals:?}"
        ));
    }
    let mut same = true;
    for mode in ["check", "guard"] {
        if !modes.iter().any(|m| m == mode) {
            continue;
        }
        let mut options = vec!["--show-leak-kinds=all"];
        if mode == "guard" {
            options.push("--guard");
        }
        let run = gpa_run(&dir, &options, &[path]);
        let (got, extra) = gpa_records(&run.json);
        if let Some(what) = compare(&got, &valgrind, Match::Exact) {
            same = false;
            let class = if compare(&got, &valgrind, Match::Cliques).is_none() {
                "CLIQUES"
            } else {
                "DIFF"
            };
            lines.push(format!("{tag} {mode} {class} {what}"));
        }
        if gpa_totals(&run.json, extra) != totals_of(&got) {
            same = false;
            lines.push(format!(
                "{tag} {mode} TOTALS gpa {:?} vg {vg_totals:?}",
                gpa_totals(&run.json, extra)
            ));
        }
        if run.output.stdout != native.stdout || run.output.status.code() != native.status.code() {
            same = false;
            lines.push(format!(
                "{tag} {mode} OUTPUT gpa {:?} {:?} native {:?}",
                run.stdout(),
                run.output.status.code(),
                native.status.code()
            ));
        }
        let processes = run.json["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if processes.iter().any(|p| p["status"] != "checked") {
            same = false;
            lines.push(format!("{tag} {mode} UNCHECKED {processes:?}"));
        }
    }
    if modes.iter().any(|m| m == "fast") {
        let fast = fast_run(&dir, &[path]);
        if fast.stdout != native.stdout || fast.status.code() != native.status.code() {
            same = false;
            lines.push(format!(
                "{tag} fast OUTPUT {:?} {:?}",
                String::from_utf8_lossy(&fast.stdout),
                fast.status.code()
            ));
        }
    }
    if same {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let kinds: Vec<String> = valgrind
        .iter()
        .map(|(kind, blocks, direct, indirect, line)| {
            format!("(\"{kind}\", {blocks}, {direct}, {indirect}, {line})")
        })
        .collect();
    lines.push(format!(
        "{tag} {} row ({seed}, &[{}]),",
        if same { "ok" } else { "differs" },
        kinds.join(", ")
    ));
    lines
}
