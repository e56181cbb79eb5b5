//! glibc's heap-statistics functions under `gpa run` (`capi::mallinfo`): `mallinfo2` and
//! `mallinfo` report gpa's heap, `malloc_stats` prints glibc's lines, `malloc_info` writes
//! glibc's XML, `malloc_trim` and `mallopt` answer as glibc does (mallinfo.c).
//!
//! The oracles: glibc 2.36 run plainly (return codes, the text shapes), and Valgrind 3.19,
//! which replaces `mallinfo` with figures of its own heap ("uordblks" 1,117,184 after the
//! program's 64 blocks of 1,000 bytes and one of 1 MiB), `malloc_stats` (prints nothing),
//! `malloc_trim` (0) and `mallopt` (1), leaves `mallinfo2` and `malloc_info` to glibc
//! (whose arenas then hold nothing: zeros) and reports no error. Without gpa's versions a
//! program under `gpa run` got glibc's figures, which know nothing of gpa's heap.

mod common;

use std::collections::HashMap;

use common::*;

/// The program's `WHEN NAME VALUE` and `NAME VALUE` lines.
fn figures(stdout: &str) -> HashMap<String, i64> {
    stdout
        .lines()
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            let value = value.parse().ok()?;
            Some((key.replace(' ', "."), value))
        })
        .collect()
}

/// mallinfo.c run under `gpa run MODE` (writing `malloc_info`'s XML to `xml_path`), with no
/// finding; the run and its figures.
fn run_clean(
    dir: &std::path::Path,
    binary: &std::path::Path,
    xml_path: &std::path::Path,
    mode: &[&str],
) -> (Run, HashMap<String, i64>) {
    let run = gpa_run(
        dir,
        mode,
        &[binary.to_str().unwrap(), xml_path.to_str().unwrap()],
    );
    assert!(
        run.findings().is_empty(),
        "{mode:?}: {}",
        describe(&run.findings())
    );
    let numbers = figures(&run.stdout());
    (run, numbers)
}

#[test]
fn mallinfo_reports_gpas_heap_in_glibcs_fields_in_fast_and_check_mode() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("mallinfo");
    let binary = compile_c("mallinfo", &dir);
    for mode in [&["--fast"][..], &[][..]] {
        let xml_path = dir.join("info.xml");
        let (run, numbers) = run_clean(&dir, &binary, &xml_path, mode);
        let stdout = run.stdout();
        let figure = |key: &str| -> i64 {
            *numbers
                .get(key)
                .unwrap_or_else(|| panic!("{mode:?}: no {key} in {stdout}"))
        };
        // 64 blocks of 1,000 bytes in the heap (`uordblks`), the 1 MiB block in its own
        // mapping (`hblks`, `hblkhd`), as glibc counts them.
        let grown = figure("allocated.uordblks") - figure("before.uordblks");
        assert!(grown >= 64 * 1000, "{mode:?}: uordblks grew by {grown}");
        assert!(grown < 64 * 1000 * 2, "{mode:?}: uordblks grew by {grown}");
        assert_eq!(figure("allocated.hblks") - figure("before.hblks"), 1);
        assert!(figure("allocated.hblkhd") - figure("before.hblkhd") >= 1 << 20);
        // Freed: back to where it was, but for the program's stdout buffer (4 KiB, allocated
        // by the first printf, after the first figures).
        assert!(
            figure("freed.uordblks") <= figure("before.uordblks") + 8192,
            "{mode:?}: {} before, {} after the frees",
            figure("before.uordblks"),
            figure("freed.uordblks")
        );
        assert_eq!(figure("freed.hblks"), figure("before.hblks"));
        assert!(figure("allocated.arena") >= figure("allocated.uordblks"));
        assert!(figure("freed.fordblks") >= 64 * 1000);
        for (name, _) in [("smblks", 0), ("usmblks", 0), ("fsmblks", 0)] {
            assert_eq!(figure(&format!("allocated.{name}")), 0, "{name}");
        }
        // `mallinfo`: the same figures as `int`.
        assert_eq!(
            figure("allocated.old_uordblks"),
            figure("allocated.uordblks")
        );
        assert_eq!(figure("allocated.old_hblkhd"), figure("allocated.hblkhd"));
        // glibc 2.36's return codes: malloc_info 0, and EINVAL (22) for options != 0 with
        // errno untouched; mallopt 1 but for M_MXFAST above 160.
        assert_eq!(figure("malloc_info"), 0);
        assert!(stdout.contains("malloc_info_bad 22 0"), "{stdout}");
        assert!(
            [0, 1].contains(&figure("malloc_trim")),
            "{mode:?}: {stdout}"
        );
        for name in [
            "mallopt_mmap_threshold",
            "mallopt_arena_max",
            "mallopt_arena_max_0",
            "mallopt_perturb",
            "mallopt_unknown",
        ] {
            assert_eq!(figure(name), 1, "{name}");
        }
        assert_eq!(figure("mallopt_mxfast_big"), 0);
        // malloc_stats: glibc's lines on stderr.
        let stderr = run.stderr();
        for line in [
            "Arena 0:",
            "system bytes     = ",
            "in use bytes     = ",
            "Total (incl. mmap):",
            "max mmap regions = ",
            "max mmap bytes   = ",
        ] {
            assert!(stderr.contains(line), "{mode:?}: {line:?} in {stderr}");
        }
        // malloc_info: glibc's XML shape, and it parses.
        let xml = std::fs::read_to_string(&xml_path).unwrap();
        let document = roxmltree::Document::parse(&xml).expect("malloc_info's XML parses");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "malloc");
        assert_eq!(root.attribute("version"), Some("1"));
        let heap = root
            .children()
            .find(|node| node.has_tag_name("heap"))
            .expect("a heap element");
        assert_eq!(heap.attribute("nr"), Some("0"));
        let mmap = root
            .children()
            .find(|node| node.has_tag_name("total") && node.attribute("type") == Some("mmap"))
            .expect("the mmap total");
        assert_eq!(mmap.attribute("count"), Some("0"));
    }
}

#[test]
fn in_guard_mode_guarded_blocks_count_as_the_bytes_the_program_asked_for() {
    // Guard mode's blocks (each on pages of its own, before a guard page) are counted as
    // Valgrind 3.19 counts its blocks: by their requested bytes, all in `uordblks` (Valgrind:
    // 1,117,184 after the 64 blocks of 1,000 bytes and the 1 MiB block, with the program's
    // stdout buffer), and `arena` holds them. Before, guarded blocks were in no figure:
    // memcheck's own mallinfo.c test exited 1 (used < min) under `--guard`.
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("mallinfo-guard");
    let binary = compile_c("mallinfo", &dir);
    for mode in [&["--guard"][..], &["--guard-underflow"][..]] {
        let xml_path = dir.join("info.xml");
        let (run, numbers) = run_clean(&dir, &binary, &xml_path, mode);
        let stdout = run.stdout();
        let figure = |key: &str| -> i64 {
            *numbers
                .get(key)
                .unwrap_or_else(|| panic!("{mode:?}: no {key} in {stdout}"))
        };
        let asked = 64 * 1000 + (1 << 20);
        let grown = figure("allocated.uordblks") + figure("allocated.hblkhd")
            - figure("before.uordblks")
            - figure("before.hblkhd");
        assert!(
            (asked..asked + 8192).contains(&grown),
            "{mode:?}: in use grew by {grown}"
        );
        assert!(
            figure("freed.uordblks") <= figure("before.uordblks") + 8192,
            "{mode:?}: {} before, {} after the frees",
            figure("before.uordblks"),
            figure("freed.uordblks")
        );
        for when in ["allocated", "freed"] {
            assert!(
                figure(&format!("{when}.arena"))
                    >= figure(&format!("{when}.uordblks")) + figure(&format!("{when}.fordblks")),
                "{mode:?} {when}: {stdout}"
            );
        }
    }
}
