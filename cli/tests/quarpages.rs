//! Check mode's quarantined pages (`src/gpa/quarpages.rs`): a freed block of 64 KiB or more
//! keeps its interior pages inaccessible while it is in the quarantine, so a read or a write
//! after free there faults at the access and is reported as a use after free of that block,
//! with the access's, the allocation's and the free's traces, and the program goes on; a
//! program that churns such blocks (written whole, reused, `calloc`, `realloc`, freed by
//! another thread) stays clean.
//!
//! The expected verdicts are Valgrind memcheck 3.19's on the same program
//! (`tests/c/quarpages.c`, `gcc -O0 -g`), quoted beside each case.

mod common;

use common::*;
use serde_json::Value;

/// The first frame's function and line of one stack of a finding.
fn top_frame(finding: &Value, stack: &str) -> (String, u64) {
    let frame = &finding["stacks"][stack][0];
    (
        frame["function"].as_str().unwrap_or("").to_owned(),
        frame["line"].as_u64().unwrap_or(0),
    )
}

/// The second frame's line of a stack (the caller in `main`).
fn caller_line(finding: &Value, stack: &str) -> u64 {
    finding["stacks"][stack][1]["line"].as_u64().unwrap_or(0)
}

/// The address the program printed on its `block ADDRESS SIZE` line.
fn printed_block(run: &Run) -> String {
    let stdout = run.stdout();
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("block "))
        .unwrap_or_else(|| panic!("no block line in {stdout:?}"));
    line.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn uses_after_free_of_64_kib_blocks_are_reported_at_the_access_and_churn_stays_clean() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("quarpages");
    let binary = compile_c("quarpages", &dir);
    // (case, kind, block size, offset, access size in the message, access function and
    // line, line in main): Valgrind's verdicts.
    // * read: "Invalid read of size 1 at peek (quarpages.c:28) by main (:92)", "Address is
    //   20,000 bytes inside a block of size 65,536 free'd" (free by release :26, malloc by
    //   make :21); 1 error.
    // * write: "Invalid write of size 1 at poke (:34) by main (:94)", "40,000 bytes inside a
    //   block of size 65,536 free'd"; 1 error.
    // * read8: "Invalid read of size 8 at peek8 (:31) by main (:96)", "30,000 bytes inside a
    //   block of size 65,536 free'd"; 1 error.
    let faults = [
        (
            "read",
            "read_after_free",
            20_000,
            "read of 1 byte",
            ("peek", 28),
            92,
        ),
        (
            "write",
            "write_after_free",
            40_000,
            "write of 1 byte",
            ("poke", 34),
            94,
        ),
        (
            "read8",
            "read_after_free",
            30_000,
            "read of 8 bytes",
            ("peek8", 31),
            96,
        ),
    ];
    for (case, kind, offset, access, (function, line), main_line) in faults {
        let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), case]);
        let findings = run.findings();
        let shown = format!("{case}: {}\nstderr:\n{}", describe(&findings), run.stderr());
        assert!(run.stdout().contains("done"), "{shown}");
        assert_eq!(run.output.status.code(), Some(0), "{shown}");
        assert_eq!(findings.len(), 1, "{shown}");
        let finding = &findings[0];
        assert_eq!(finding["kind"], kind, "{shown}");
        assert_eq!(finding["size"], 65536, "{shown}");
        assert_eq!(finding["offset"], offset, "{shown}");
        assert_eq!(finding["address"], printed_block(&run).as_str(), "{shown}");
        assert!(
            finding["message"].as_str().unwrap_or("").contains(access),
            "{shown}"
        );
        assert_eq!(
            top_frame(finding, "access"),
            (function.to_owned(), line),
            "{shown}"
        );
        assert_eq!(caller_line(finding, "access"), main_line, "{shown}");
        assert_eq!(
            top_frame(finding, "alloc"),
            ("make".to_owned(), 21),
            "{shown}"
        );
        assert_eq!(
            top_frame(finding, "free"),
            ("release".to_owned(), 26),
            "{shown}"
        );
    }

    // head: Valgrind "Invalid write of size 1 at poke (:34) by main (:98)", "100 bytes
    // inside a block of size 65,536 free'd". The block's first page is poisoned, not
    // protected: gpa finds the write when the block leaves the quarantine (the same kind,
    // size and offset; its stack is where it was found, not the write's).
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), "head"]);
    let findings = run.findings();
    let shown = format!("head: {}\nstderr:\n{}", describe(&findings), run.stderr());
    assert!(run.stdout().contains("done"), "{shown}");
    assert_eq!(findings.len(), 1, "{shown}");
    assert_eq!(findings[0]["kind"], "write_after_free", "{shown}");
    assert_eq!(findings[0]["size"], 65536, "{shown}");
    assert_eq!(findings[0]["offset"], 100, "{shown}");
    assert_eq!(
        findings[0]["address"],
        printed_block(&run).as_str(),
        "{shown}"
    );

    // sweep: Valgrind "Invalid read of size 1 at peek (:28) by main (:101)", "0 bytes inside
    // a block of size 100,000 free'd"; 25 errors from 1 context. gpa reports the one site
    // once, and the program reads on to its end: its first read, at offset 0, is in the
    // poisoned first page, which no fault shows, so gpa's finding is the second read's, at
    // offset 4096 (the first protected page).
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), "sweep"]);
    let findings = run.findings();
    let shown = format!("sweep: {}\nstderr:\n{}", describe(&findings), run.stderr());
    assert!(run.stdout().contains("done"), "{shown}");
    assert_eq!(run.output.status.code(), Some(0), "{shown}");
    assert_eq!(findings.len(), 1, "{shown}");
    assert_eq!(findings[0]["kind"], "read_after_free", "{shown}");
    assert_eq!(findings[0]["size"], 100_000, "{shown}");
    assert_eq!(findings[0]["offset"], 4096, "{shown}");
    assert_eq!(
        top_frame(&findings[0], "access"),
        ("peek".to_owned(), 28),
        "{shown}"
    );
    assert_eq!(caller_line(&findings[0], "access"), 101, "{shown}");

    // churn: Valgrind "ERROR SUMMARY: 0 errors", "in use at exit: 0 bytes in 0 blocks".
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), "churn"]);
    let findings = run.findings();
    let shown = format!("churn: {}\nstderr:\n{}", describe(&findings), run.stderr());
    assert!(run.stdout().contains("bad 0\ndone"), "{shown}");
    assert_eq!(run.output.status.code(), Some(0), "{shown}");
    assert!(findings.is_empty(), "{shown}");
    assert_eq!(
        gpa_leak_totals(&run.json),
        [(0, 0), (0, 0), (0, 0), (0, 0)],
        "{shown}"
    );
}
