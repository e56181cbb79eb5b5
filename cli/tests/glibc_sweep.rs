//! glibc's own malloc tests (`malloc/tst-*.c` of glibc), reduced to programs of our own
//! (`tests/glibc_sweep/*.c`: each names the test it comes from), run natively (glibc 2.36),
//! under Valgrind memcheck 3.19 (`valgrind --leak-check=full --show-leak-kinds=all`) and under
//! `gpa run` in check, guard and fast modes (`docs/sweeps/glibc_malloc_tests.md`). Each program
//! prints what C and glibc promise (return values, `errno`, alignment, contents kept): every
//! mode must print what the native run prints, with the exceptions written next to each case;
//! findings are held to Valgrind's verdict, written next to each case. Tests skip with a message
//! when gcc is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// The modes a case runs in, with gpa's options.
const MODES: [(&str, &[&str]); 2] = [
    ("check", &["--show-leak-kinds=all"]),
    ("guard", &["--show-leak-kinds=all", "--guard"]),
];

/// Compiles `tests/glibc_sweep/<name>.c` (`-O0 -g -pthread -w`) into `dir`.
fn build(name: &str, dir: &Path) -> PathBuf {
    compile_c_with("glibc_sweep", name, name, &[], dir)
}

/// The native run's output; it must exit with `status`.
fn native(dir: &Path, program: &Path, status: i32) -> Output {
    let out = plain_run(dir, &[program.to_str().unwrap()], |_| {});
    assert_eq!(
        out.status.code(),
        Some(status),
        "{}: native",
        program.display()
    );
    out
}

/// Fast mode's run of `program`.
fn fast(dir: &Path, program: &Path) -> Output {
    fast_run(dir, &[program.to_str().unwrap()])
}

/// The findings of one run but leaks and fishy values (one per distinct value: counted by
/// [`fishy`]), as (kind, size), sorted.
fn errors(run: &Run) -> Vec<(String, u64)> {
    let mut errors: Vec<(String, u64)> = run
        .findings()
        .iter()
        .filter(|f| f["kind"] != "leak" && f["kind"] != "fishy_value")
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or("").to_string(),
                f["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    errors.sort();
    errors
}

/// A program, the findings check and guard modes must show (kind, size, sorted as
/// [`errors`] sorts them), its leak totals, and the stdout lines check and guard modes may
/// print otherwise than the native run.
struct Case {
    name: &'static str,
    want: &'static [(&'static str, u64)],
    /// Whether Valgrind finds fishy (possibly negative) arguments: then so must gpa.
    fishy: bool,
    leaks: LeakTotals,
    /// Lines of stdout check and guard modes may print otherwise (their number from 1).
    differs_checked: &'static [usize],
}

const NONE: (u64, u64) = (0, 0);

const fn clean(name: &'static str) -> Case {
    Case {
        name,
        want: &[],
        fishy: false,
        leaks: [NONE; 4],
        differs_checked: &[],
    }
}

/// The number of fishy-value findings of one run.
fn fishy(run: &Run) -> usize {
    run.findings()
        .iter()
        .filter(|f| f["kind"] == "fishy_value")
        .count()
}

fn lines_but(text: &[u8], skip: &[usize]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .enumerate()
        .filter(|(i, _)| !skip.contains(&(i + 1)))
        .map(|(_, l)| l.to_string())
        .collect()
}

/// Runs each case natively and in every mode: each mode prints what the native run printed
/// (but the lines `differs_checked` names, in check and guard modes) and exits 0; check and
/// guard modes find exactly the case's findings and leaks. Returns the native runs' stdout.
fn sweep(dir_name: &str, cases: &[Case]) -> Vec<String> {
    let mut stdouts = Vec::new();
    if !gcc_or_skip() {
        return stdouts;
    }
    let dir = scratch(dir_name);
    for case in cases {
        let program = build(case.name, &dir);
        let native = native(&dir, &program, 0);
        for (mode, options) in MODES {
            let tag = format!("{} ({mode})", case.name);
            let run = gpa_run(&dir, options, &[program.to_str().unwrap()]);
            assert_eq!(run.output.status.code(), Some(0), "{tag}: {}", run.stderr());
            assert_eq!(run.json["all_checked"], true, "{tag}: {}", run.stderr());
            assert_eq!(
                lines_but(&run.output.stdout, case.differs_checked),
                lines_but(&native.stdout, case.differs_checked),
                "{tag}: stdout\n{}",
                run.stderr()
            );
            let want: Vec<(String, u64)> =
                case.want.iter().map(|(k, s)| (k.to_string(), *s)).collect();
            assert_eq!(errors(&run), want, "{tag}: {}", describe(&run.findings()));
            assert_eq!(fishy(&run) > 0, case.fishy, "{tag}: fishy values");
            assert_eq!(gpa_leak_totals(&run.json), case.leaks, "{tag}");
        }
        let fast = fast(&dir, &program);
        assert_eq!(fast.status.code(), Some(0), "{} (fast)", case.name);
        assert_eq!(fast.stdout, native.stdout, "{} (fast): stdout", case.name);
        stdouts.push(String::from_utf8_lossy(&native.stdout).into_owned());
    }
    stdouts
}

#[test]
fn huge_sizes_and_overflows_fail_with_enomem() {
    let out = sweep(
        "glibc-huge",
        &[
            // tst-malloc-too-large: every function, sizes above PTRDIFF_MAX. Valgrind: "fishy
            // (possibly negative) value" errors (133 from 10 contexts) and then memcheck itself
            // dies on memalign's huge alignments ("the 'impossible' happened"); gpa: one
            // fishy_value per call site, its verdict otherwise the native run's.
            Case {
                fishy: true,
                ..clean("too_large")
            },
            // tst-realloc: Valgrind 2 fishy values (realloc (NULL, -1), realloc (p, -1)). It
            // moves every realloc (60 of 60 grown to their usable size moved), as check and
            // guard modes do (line 8); glibc moves none.
            Case {
                fishy: true,
                differs_checked: &[8],
                ..clean("realloc_rules")
            },
            // tst-reallocarray: Valgrind: no error, the same output.
            clean("reallocarray_rules"),
        ],
    );
    if out.is_empty() {
        return;
    }
    assert!(out[0].ends_with("0 failures\n"), "{}", out[0]);
    assert!(out[1].contains("realloc(p, 0): NULL\nrealloc(NULL, 0): block\n"));
    assert!(out[2].contains("reallocarray(p, 0, 8): NULL\n"));
}

#[test]
fn aligned_allocation_rules() {
    let out = sweep(
        "glibc-aligned",
        &[
            // tst-memalign, tst-posix_memalign, tst-valloc, tst-pvalloc, tst-aligned-alloc:
            // memcheck dies at memalign (-1, page) ("the 'impossible' happened"); gpa finds a
            // fishy value for each negative size or alignment given to memalign, valloc and
            // pvalloc (6) and prints what glibc returns.
            Case {
                fishy: true,
                ..clean("aligned_edges")
            },
            // tst-aligned-alloc-random-thread-cross: Valgrind: no error.
            clean("aligned_cross_threads"),
            // tst-mallocalign1, tst-memalign-2/-3: Valgrind: no error, every block 16-aligned.
            // Guard mode aligns a block of fewer than 16 bytes to its size rounded up to a
            // power of two (line 2: 4 such blocks not 16-aligned; C17 allows it, glibc does not
            // do it): a documented difference.
            Case {
                differs_checked: &[2],
                ..clean("alignment")
            },
        ],
    );
    if out.is_empty() {
        return;
    }
    assert!(out[0].contains("memalign(-1, page): NULL errno EINVAL\n"));
    assert!(out[0].contains("posix_memalign(0x300, 10): 22 untouched 1\n"));
    // glibc 2.36 (here) accepts any alignment in aligned_alloc (2.38 returns EINVAL for 65
    // and 0, which the newer tst-aligned-alloc checks): gpa prints what the C library of the
    // machine does.
    assert!(out[0].contains("aligned_alloc(65, 64): block errno 0\n"));
    assert_eq!(out[1], "bad blocks: 0\n");
    assert!(out[2].starts_with("misaligned: 0\n"));
}

#[test]
fn guard_mode_aligns_small_blocks_to_their_size() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("glibc-small-align");
    let program = build("alignment", &dir);
    let run = gpa_run(&dir, &["--guard"], &[program.to_str().unwrap()]);
    assert_eq!(
        run.stdout(),
        "misaligned: 0\nblocks below 16 bytes not 16-aligned: 4\n"
    );
    let check = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    assert_eq!(
        check.stdout(),
        "misaligned: 0\nblocks below 16 bytes not 16-aligned: 0\n"
    );
}

#[test]
fn calloc_and_usable_size() {
    let out = sweep(
        "glibc-calloc",
        &[
            // tst-calloc: Valgrind: 2 fishy values (calloc (0, SIZE_MAX), calloc (SIZE_MAX,
            // 0)), and its calloc returns NULL for those two where glibc returns a block: 3
            // definitely lost records of 0 bytes. gpa returns glibc's 5 blocks: 5 of 0 bytes.
            Case {
                fishy: true,
                leaks: [(5, 0), NONE, NONE, NONE],
                ..clean("calloc_cleared")
            },
            // tst-malloc-usable: Valgrind: no error.
            clean("usable_size"),
        ],
    );
    if out.is_empty() {
        return;
    }
    assert!(out[0].starts_with("bytes not cleared: 0\ncalloc(0, 0): block\n"));
    assert_eq!(
        out[1],
        "malloc_usable_size(NULL): 0\nusable below the size asked: 0\n"
    );
}

#[test]
fn free_keeps_errno() {
    // tst-free-errno: glibc's free keeps errno, also at the limit of mappings. Valgrind dies
    // there ("VG_N_SEGMENTS is too low"). Check mode's free of a large block at the limit set
    // ENOMEM (8 of 9 kept) before `free` kept errno itself.
    let out = sweep("glibc-errno", &[clean("free_errno")]);
    if let Some(text) = out.first() {
        assert_eq!(text, "free kept errno: 9 of 9\n");
    }
}

#[test]
fn statistics_and_tuning_calls() {
    let out = sweep(
        "glibc-stats",
        &[
            // tst-mallinfo2, tst-mallopt, tst-trim1, tst-malloc_info: Valgrind: no error
            // (its mallinfo2 reports zeros, its mallopt accepts M_MXFAST 1 MiB).
            clean("stats_calls"),
            // tst-malloc-stats-cancellation: malloc_stats in a thread with a cancellation
            // pending prints everything (glibc's is no cancellation point); gpa's wrote with
            // C write, a cancellation point, and printed nothing (all modes). Valgrind: no
            // error (its malloc_stats prints nothing).
            clean("stats_cancel"),
            // tst-malloc-tcache-leak: Valgrind: no error, no leak.
            clean("thread_cache_leak"),
        ],
    );
    if out.is_empty() {
        return;
    }
    assert!(out[0].contains("mallopt M_MXFAST too big: 0\n"));
    assert!(out[0].contains("malloc_info: 0, starts with <malloc: 1\nmalloc_info(1): 22\n"));
    assert_eq!(
        out[1],
        "cancelled: 1\nmalloc_stats printed: 1\nfputs printed: 0\nmalloc after: 1\n"
    );
}

#[test]
fn fork_takes_the_stream_lock_first() {
    // glibc bug 19431 (tst-malloc-fork-deadlock), deterministic: gpa's fork handler took its
    // locks before glibc's stream list lock and the program hung in every mode. Valgrind: no
    // error, the child exits with 17.
    // The child exits with the program's tmpfile stream still reachable (472 bytes).
    let out = sweep(
        "glibc-fork",
        &[Case {
            leaks: [NONE, NONE, NONE, (1, 472)],
            ..clean("fork_lock_order")
        }],
    );
    if let Some(text) = out.first() {
        assert_eq!(text, "child exited with 17\n");
    }
}

#[test]
fn fork_while_threads_allocate() {
    if !gcc_or_skip() {
        return;
    }
    // tst-malloc-fork-deadlock reduced (one forking thread, five forks): every child leaks
    // its stream and line (Valgrind: leak records in each child); check that no run hangs and
    // the parent prints what it prints natively.
    let dir = scratch("glibc-fork-threads");
    let program = build("fork_deadlock", &dir);
    let native = native(&dir, &program, 0);
    let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    assert_eq!(run.output.stdout, native.stdout, "{}", run.stderr());
    assert_eq!(run.json["all_checked"], true);
    assert_eq!(errors(&run), vec![]);
    let fast = fast(&dir, &program);
    assert_eq!(fast.stdout, native.stdout);
}

#[test]
fn program_break_blocked_and_own_allocator() {
    let out = sweep(
        "glibc-other",
        &[
            // tst-malloc-alternate-path: Valgrind: no error, but it cannot place the mapping
            // after the break (its own brk segment). gpa: same output as glibc; the 256
            // small blocks kept are still reachable (4,096 bytes).
            Case {
                leaks: [NONE, NONE, NONE, (256, 4096)],
                ..clean("brk_blocked")
            },
            // tst-interpose: the program's own malloc family wins over any preloaded one:
            // neither Valgrind (no error for its write past a block of its own, "calls seen:
            // 0" as it still replaces strdup's malloc) nor gpa sees its blocks.
            clean("own_malloc"),
        ],
    );
    if out.is_empty() {
        return;
    }
    assert!(out[0].starts_with("obstruction placed: 1\nsbrk fails: 1\n"));
}

/// A program glibc aborts (a double free it detects): gpa's runs go on, report, and exit 0.
fn findings_of(dir: &Path, name: &str, options: &[&str]) -> Vec<(String, u64)> {
    let program = build(name, dir);
    let run = gpa_run(dir, options, &[program.to_str().unwrap()]);
    assert_eq!(
        run.output.status.code(),
        Some(0),
        "{name}: {}",
        run.stderr()
    );
    errors(&run)
}

#[test]
fn tcache_double_frees_and_key_copies() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("glibc-tcfree");
    for (_, options) in MODES {
        // tst-tcfree1: glibc aborts; Valgrind: "Invalid free()", block of 32 bytes.
        assert_eq!(
            findings_of(&dir, "tcache_double_free", options),
            vec![("double_free".to_string(), 32)]
        );
        // tst-tcfree2: glibc aborts; Valgrind: "Invalid free()", block of 20 bytes.
        assert_eq!(
            findings_of(&dir, "tcache_full_double_free", options),
            vec![("double_free".to_string(), 20)]
        );
        // tst-tcfree3: Valgrind: 8 "Invalid read of size 8" inside a freed block of 32 bytes,
        // from the two memcpy calls; gpa: one read after free per call.
        assert_eq!(
            findings_of(&dir, "tcache_key_copy", options),
            vec![
                ("read_after_free".to_string(), 32),
                ("read_after_free".to_string(), 32)
            ]
        );
        // tst-tcfree4: glibc detects nothing; Valgrind: "Invalid write of size 1" 0 bytes
        // after a block of size 24 (strcpy) and "Invalid free()" of the block of 280 bytes.
        assert_eq!(
            findings_of(&dir, "tcache_offbyone_double_free", options),
            vec![
                ("double_free".to_string(), 280),
                ("overflow".to_string(), 24)
            ]
        );
    }
}
