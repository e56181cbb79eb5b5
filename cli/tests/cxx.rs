//! C++ programs and shared libraries under `gpa run` (`tests/cxx/*`, built with `g++`/`gcc
//! -O0 -g`): mismatched frees, the array cookie, `std::bad_alloc` and the new handler,
//! demangled traces that start at the user's code, frames of unloaded and stripped libraries,
//! and blocks of libc's own allocator.
//!
//! Expected values are Valgrind memcheck 3.19's verdicts on the same programs, written in as
//! constants; where Valgrind is installed the tests also run it and compare (kind, size, first
//! user frame of each stack).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cxx")
        .join(name)
}

fn tools_or_skip() -> bool {
    for tool in ["g++", "gcc"] {
        if !have(tool) {
            eprintln!("SKIPPED: {tool} is not installed (apt-get install g++)");
            return false;
        }
    }
    true
}

/// Runs a compiler; panics with its messages on failure.
fn build(compiler: &str, args: &[&str], dir: &Path) {
    let out = Command::new(compiler)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run the compiler");
    assert!(
        out.status.success(),
        "{compiler} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles `tests/cxx/<name>.cpp` with `g++ -O0 -g` into `dir`.
fn compile_cxx(name: &str, dir: &Path) -> String {
    let src = source(&format!("{name}.cpp"));
    build(
        "g++",
        &["-O0", "-g", "-o", name, src.to_str().unwrap()],
        dir,
    );
    dir.join(name).display().to_string()
}

/// Compiles C sources of `tests/cxx` with `gcc -O0 -g` and `extra` flags into `dir/output`.
fn compile_c(sources: &[&str], output: &str, extra: &[&str], dir: &Path) -> String {
    let paths: Vec<String> = sources
        .iter()
        .map(|name| source(name).display().to_string())
        .collect();
    let mut args = vec!["-O0", "-g", "-w"];
    args.extend_from_slice(extra);
    args.extend(["-o", output]);
    args.extend(paths.iter().map(String::as_str));
    build("gcc", &args, dir);
    dir.join(output).display().to_string()
}

/// The pointers a program printed on its first line (`%p`).
fn printed_pointers(run: &Run) -> Vec<String> {
    run.stdout()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The first frame of a stack: (function, file name, line).
fn first_frame(finding: &Value, stack: &str) -> (String, String, u64) {
    let frame = &finding["stacks"][stack][0];
    (
        frame["function"].as_str().unwrap_or("???").to_owned(),
        frame["file"]
            .as_str()
            .and_then(|file| file.rsplit('/').next())
            .unwrap_or("")
            .to_owned(),
        frame["line"].as_u64().unwrap_or(0),
    )
}

fn frame(function: &str, file: &str, line: u64) -> (String, String, u64) {
    (function.to_owned(), file.to_owned(), line)
}

/// One error or loss record of Valgrind, as gpa would report it.
#[derive(Debug)]
struct Verdict {
    kind: &'static str,
    size: u64,
    /// First frame in the test's own sources of the main stack (where the free happened, or
    /// the allocation of a leak) and of the block's allocation stack.
    site: Option<(String, String, u64)>,
    alloc: Option<(String, String, u64)>,
}

/// Valgrind's verdicts on `command` (errors gpa also detects, and definite leaks); `None`
/// when Valgrind is not installed.
fn valgrind(dir: &Path, command: &[&str]) -> Option<Vec<Verdict>> {
    let text = valgrind_xml(dir, &[], command)?;
    let document = roxmltree::Document::parse(&text).expect("valgrind's XML parses");
    let ours = source("").display().to_string();
    let ours = ours.trim_end_matches('/');
    let user_frame = |stack: roxmltree::Node| {
        stack
            .children()
            .filter(|node| node.has_tag_name("frame"))
            .find(|frame| child_text(*frame, "dir").as_deref() == Some(ours))
            .map(|frame| {
                (
                    child_text(frame, "fn").unwrap_or_default(),
                    child_text(frame, "file").unwrap_or_default(),
                    child_text(frame, "line")
                        .and_then(|line| line.parse().ok())
                        .unwrap_or(0),
                )
            })
    };
    let mut verdicts = Vec::new();
    for error in document
        .descendants()
        .filter(|node| node.has_tag_name("error"))
    {
        let kind = match child_text(error, "kind").as_deref() {
            Some("MismatchedFree") => "mismatched_free",
            Some("InvalidFree") => "invalid_free",
            Some("Leak_DefinitelyLost") => "leak",
            _ => continue,
        };
        let stacks: Vec<_> = error
            .children()
            .filter(|node| node.has_tag_name("stack"))
            .collect();
        let size = if kind == "leak" {
            let what = error
                .children()
                .find(|node| node.has_tag_name("xwhat"))
                .expect("xwhat");
            child_text(what, "leakedbytes")
                .and_then(|bytes| bytes.parse().ok())
                .unwrap_or(0)
        } else {
            // "Address 0x... is 0 bytes inside a block of size 32 alloc'd"
            child_text(error, "auxwhat")
                .and_then(|what| {
                    what.split("of size ")
                        .nth(1)?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        verdicts.push(Verdict {
            kind,
            size,
            site: stacks.first().and_then(|stack| user_frame(*stack)),
            alloc: stacks.get(1).and_then(|stack| user_frame(*stack)),
        });
    }
    Some(verdicts)
}

/// Valgrind's XML report (`--leak-check=full` and `options`) on `command`, run in `dir`;
/// `None` when Valgrind is not installed.
fn valgrind_xml(dir: &Path, options: &[&str], command: &[&str]) -> Option<String> {
    if !have("valgrind") {
        eprintln!("NOTE: valgrind is not installed; comparing with the recorded values only");
        return None;
    }
    let xml = dir.join("valgrind.xml");
    let out = Command::new("valgrind")
        .current_dir(dir)
        .args(["-q", "--leak-check=full", "--xml=yes"])
        .arg(format!("--xml-file={}", xml.display()))
        .args(options)
        .args(command)
        .output()
        .expect("run valgrind");
    assert!(out.status.code().is_some(), "valgrind died: {out:?}");
    Some(std::fs::read_to_string(&xml).expect("valgrind's XML"))
}

fn child_text(node: roxmltree::Node, tag: &str) -> Option<String> {
    node.children()
        .find(|child| child.has_tag_name(tag))
        .and_then(|child| child.text())
        .map(str::to_owned)
}

/// Asserts that gpa's findings include each of Valgrind's verdicts (kind, size, first user
/// frames).
fn assert_matches_valgrind(findings: &[Value], verdicts: &[Verdict]) {
    for verdict in verdicts {
        let found = findings.iter().any(|finding| {
            let (site_stack, alloc_stack) = match verdict.kind {
                "leak" => ("alloc", ""),
                _ => ("invalid_free", "alloc"),
            };
            finding["kind"] == verdict.kind
                && finding["size"] == verdict.size
                && verdict
                    .site
                    .as_ref()
                    .is_none_or(|site| *site == first_frame(finding, site_stack))
                && verdict
                    .alloc
                    .as_ref()
                    .is_none_or(|alloc| *alloc == first_frame(finding, alloc_stack))
        });
        assert!(
            found,
            "Valgrind's {verdict:?} not among gpa's findings:\n{findings:#?}"
        );
    }
}

/// A mismatched free as a test expects it: the block's size, its allocator and releaser as
/// gpa names them, the function that allocated it with the line there, and `main`'s line of
/// the release.
type Mismatch = (u64, &'static str, &'static str, &'static str, u64, u64);

/// Asserts that `findings` are exactly the mismatched frees `expected` of the program `file`,
/// in order, each at the address the program printed (`pointers`).
fn assert_mismatched_frees(
    findings: &[Value],
    pointers: &[String],
    expected: &[Mismatch],
    file: &str,
) {
    assert_eq!(findings.len(), expected.len(), "{}", describe(findings));
    for (index, &(size, allocated_by, freed_by, maker, alloc_line, free_line)) in
        expected.iter().enumerate()
    {
        let finding = &findings[index];
        assert_eq!(finding["kind"], "mismatched_free", "{finding:#}");
        assert_eq!(finding["size"], size, "{finding:#}");
        assert_eq!(finding["address"], pointers[index], "{finding:#}");
        assert_eq!(finding["allocated_by"], allocated_by, "{finding:#}");
        assert_eq!(finding["freed_by"], freed_by, "{finding:#}");
        assert_eq!(
            first_frame(finding, "alloc"),
            frame(maker, file, alloc_line)
        );
        assert_eq!(
            first_frame(finding, "invalid_free"),
            frame("main", file, free_line)
        );
    }
}

/// The `operator new`/`operator delete` symbols an object defines (`nm -D`).
fn operators_defined_by(object: &str) -> Vec<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", object])
        .output()
        .expect("run nm");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .filter(|name| {
            ["_Znw", "_Zna", "_Zdl", "_Zda"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_operator_new_and_delete_of_libstdcxx_is_exported() {
    if !tools_or_skip() || !have("nm") {
        eprintln!("SKIPPED: needs g++ and nm");
        return;
    }
    let out = Command::new("g++")
        .arg("-print-file-name=libstdc++.so.6")
        .output()
        .expect("run g++");
    let libstdcxx = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let theirs = operators_defined_by(&libstdcxx);
    assert!(theirs.len() >= 20, "{libstdcxx}: {theirs:?}");
    let ours = operators_defined_by(preload_library().to_str().unwrap());
    let missing: Vec<&String> = theirs.iter().filter(|name| !ours.contains(name)).collect();
    assert!(missing.is_empty(), "not exported by gpa: {missing:?}");
}

#[test]
fn mismatched_frees_are_reported_with_both_traces() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-mismatch");
    let program = compile_cxx("mismatch", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    let pointers = printed_pointers(&run);
    // Valgrind: four "Mismatched free() / delete / delete []", at mismatch.cpp:16 to 19 (the
    // last one a `realloc` of a `new[]` block; the `free` of what it returns is fine).
    let expected: [Mismatch; 4] = [
        (
            32,
            "malloc",
            "operator delete[](void*)",
            "make_malloc()",
            5,
            16,
        ),
        (
            128,
            "operator new[]",
            "operator delete(void*, unsigned long)",
            "make_array()",
            6,
            17,
        ),
        (8, "operator new", "free", "make_scalar()", 7, 18),
        (10, "operator new[]", "realloc", "make_chars()", 8, 19),
    ];
    assert_mismatched_frees(&findings, &pointers, &expected, "mismatch.cpp");
    assert!(run.stdout().contains("done"));
    assert_eq!(run.output.status.code(), Some(0));
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 4, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
}

/// glibc's other names for `malloc` and `free` (`__libc_malloc`, `__libc_free`, the old
/// `cfree`) are the C family, as Valgrind sees them: a `new[]` block freed by `__libc_free`,
/// a `__libc_malloc` block deleted, and a `new` block given to `cfree` are mismatched frees.
/// Before, the first made glibc abort ("munmap_chunk(): invalid pointer") and the second was
/// an invalid free of a block gpa never gave out.
#[test]
fn glibcs_other_names_for_malloc_and_free_mismatch_new_and_delete() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-libc-names");
    let program = compile_cxx("libc_names", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    let pointers = printed_pointers(&run);
    // Valgrind 3.19: three "Mismatched free() / delete / delete []", at libc_names.cpp:20, 21
    // and 22, each block "0 bytes inside a block of size N alloc'd" by the maker's line.
    let expected: [Mismatch; 3] = [
        (16, "operator new[]", "free", "make_array()", 11, 20),
        (
            16,
            "malloc",
            "operator delete(void*, unsigned long)",
            "make_libc()",
            12,
            21,
        ),
        (8, "operator new", "free", "make_scalar()", 13, 22),
    ];
    assert_mismatched_frees(&findings, &pointers, &expected, "libc_names.cpp");
    assert_eq!(run.stdout().lines().last(), Some("done"));
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 3, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
}

#[test]
fn check_mode_entries_of_new_and_delete_keep_every_verdict() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-entry-loop");
    let program = compile_cxx("entry_loop", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    let pointers = printed_pointers(&run);
    // Valgrind: "Mismatched free() / delete / delete []" at entry_loop.cpp:18 (0 bytes inside
    // a block of size 64 alloc'd by operator new[] in make(int), line 8) and "Invalid free()
    // / delete / delete[] / realloc()" at line 26 (0 bytes inside a block of size 8 free'd at
    // line 25, alloc'd at line 24): the second delete is gpa's double free. The 999 matched
    // pairs of each loop (new[]/delete[], aligned new/delete) are clean.
    assert_eq!(findings.len(), 2, "{}", describe(&findings));
    let mismatch = findings
        .iter()
        .find(|finding| finding["kind"] == "mismatched_free")
        .expect("the mismatched delete is reported");
    assert_eq!(mismatch["address"], pointers[0], "{mismatch:#}");
    assert_eq!(mismatch["size"], 64, "{mismatch:#}");
    assert_eq!(mismatch["allocated_by"], "operator new[]", "{mismatch:#}");
    assert_eq!(
        mismatch["freed_by"], "operator delete(void*, unsigned long)",
        "{mismatch:#}"
    );
    assert_eq!(
        first_frame(mismatch, "alloc"),
        frame("make(int)", "entry_loop.cpp", 8)
    );
    assert_eq!(
        first_frame(mismatch, "invalid_free"),
        frame("main", "entry_loop.cpp", 18)
    );
    let double = findings
        .iter()
        .find(|finding| finding["kind"] == "double_free")
        .expect("the second delete is reported");
    assert_eq!(double["size"], 8, "{double:#}");
    assert_eq!(
        first_frame(double, "alloc"),
        frame("main", "entry_loop.cpp", 24)
    );
    assert_eq!(
        first_frame(double, "free"),
        frame("main", "entry_loop.cpp", 25)
    );
    assert_eq!(
        first_frame(double, "second_free"),
        frame("main", "entry_loop.cpp", 26)
    );
    assert!(run.stdout().contains("done"));
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 2, "{verdicts:?}");
        let mismatches: Vec<Verdict> = verdicts
            .into_iter()
            .filter(|verdict| verdict.kind == "mismatched_free")
            .collect();
        assert_eq!(mismatches.len(), 1, "{mismatches:?}");
        assert_matches_valgrind(&findings, &mismatches);
    }
}

#[test]
fn sized_and_aligned_deletes_are_checked_against_the_block() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-sized-aligned");
    let program = compile_cxx("sized_aligned", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    let pointers = printed_pointers(&run);
    // Valgrind 3.19 checks neither sizes nor aligned families: these are gpa's own verdicts.
    assert_eq!(findings.len(), 2, "{}", describe(&findings));
    let sized = &findings[0];
    assert_eq!(sized["kind"], "mismatched_free");
    assert_eq!(sized["address"], pointers[0]);
    assert_eq!(sized["size"], 8);
    assert_eq!(sized["freed_by"], "operator delete(void*, unsigned long)");
    assert!(
        sized["message"].as_str().unwrap().contains("with size 12"),
        "{sized:#}"
    );
    assert_eq!(
        first_frame(sized, "alloc"),
        frame("make_long()", "sized_aligned.cpp", 10)
    );
    assert_eq!(
        first_frame(sized, "invalid_free"),
        frame("main", "sized_aligned.cpp", 17)
    );
    let aligned = &findings[1];
    assert_eq!(aligned["kind"], "mismatched_free");
    assert_eq!(aligned["address"], pointers[1]);
    assert_eq!(aligned["size"], 64);
    assert_eq!(aligned["allocated_by"], "operator new(std::align_val_t)");
    assert_eq!(aligned["freed_by"], "operator delete(void*)");
    assert_eq!(
        first_frame(aligned, "invalid_free"),
        frame("main", "sized_aligned.cpp", 18)
    );
    assert!(run.stdout().contains("done"));
}

#[test]
fn delete_array_of_a_scalar_object_is_an_invalid_free_before_the_block() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-cookie");
    let program = compile_cxx("array_cookie", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    // No destructor ran over a bogus element count, and the program ended normally.
    assert_eq!(
        run.stdout().lines().nth(1),
        Some("done"),
        "{}",
        run.stdout()
    );
    assert_eq!(run.output.status.code(), Some(0));
    let object = u64::from_str_radix(printed_pointers(&run)[0].trim_start_matches("0x"), 16)
        .expect("a pointer");
    // Valgrind: "Invalid free() / delete / delete[] / realloc()" at array_cookie.cpp:17,
    // "Address ... is 8 bytes before a block of size 4 alloc'd" at array_cookie.cpp:14; then
    // "4 bytes in 1 blocks are definitely lost".
    assert_eq!(findings.len(), 2, "{}", describe(&findings));
    let invalid = &findings[0];
    assert_eq!(invalid["kind"], "invalid_free");
    assert_eq!(invalid["address"], format!("{:#x}", object - 8));
    assert_eq!(invalid["size"], 4);
    assert_eq!(invalid["offset"], -8);
    assert_eq!(
        first_frame(invalid, "alloc"),
        frame("make_counter()", "array_cookie.cpp", 14)
    );
    assert_eq!(
        first_frame(invalid, "invalid_free"),
        frame("release_counter()", "array_cookie.cpp", 17)
    );
    let leak = &findings[1];
    assert_eq!(leak["kind"], "leak");
    assert_eq!(leak["size"], 4);
    assert_eq!(leak["address"], format!("{object:#x}"));
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 2, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
}

#[test]
fn a_librarys_private_cxx_runtime_is_not_a_mismatch() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-private-runtime");
    let library = source("private_runtime_lib.cpp").display().to_string();
    build(
        "g++",
        &[
            "-O0",
            "-g",
            "-shared",
            "-fPIC",
            "-static-libstdc++",
            "-static-libgcc",
            "-Wl,--exclude-libs,ALL",
            "-o",
            "libprivate.so",
            &library,
        ],
        &dir,
    );
    let main = source("private_runtime_main.cpp").display().to_string();
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    build(
        "g++",
        &[
            "-O0",
            "-g",
            "-o",
            "private_runtime",
            &main,
            "-L.",
            "-lprivate",
            &rpath,
        ],
        &dir,
    );
    let program = dir.join("private_runtime").display().to_string();
    // Valgrind 3.19 reports two "Mismatched free() / delete / delete []" here: it sees the
    // library's `new` only as `malloc` and its `delete` only as `free`. gpa looks at who
    // called `malloc` (the library's `operator new`) and what the caller of `free` called
    // (the library's `operator delete`, which tail-calls `free`).
    let run = gpa_run(&dir, &[], &[&program]);
    assert!(run.findings().is_empty(), "{}", describe(&run.findings()));
    assert_eq!(run.stdout(), "done\n");
    assert_eq!(run.output.status.code(), Some(0));
}

#[test]
fn correct_cxx_is_clean_and_unchanged_in_both_modes() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-clean");
    let program = compile_cxx("clean_containers", &dir);
    let plain = plain_run(&dir, &[&program], |_| {});
    assert!(plain.status.success());
    for mode in [&[][..], &["--fast"][..]] {
        let run = gpa_run(&dir, mode, &[&program]);
        assert!(
            run.findings().is_empty(),
            "{mode:?}: {}",
            describe(&run.findings())
        );
        assert_eq!(run.output.stdout, plain.stdout, "{mode:?}");
        assert_eq!(run.output.status.code(), Some(0), "{mode:?}");
    }
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert!(verdicts.is_empty(), "{verdicts:?}");
    }
}

#[test]
fn arrays_of_no_elements_are_blocks_of_no_bytes() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-empty-array");
    let program = compile_cxx("empty_array", &dir);
    // Valgrind: "Invalid read of size 1 at load(char const*) (empty_array.cpp:9) ... Address
    // is 0 bytes after a block of size 0 alloc'd ... by make_empty() (empty_array.cpp:8)".
    let run = gpa_run(&dir, &[], &[&program, "read"]);
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let finding = &findings[0];
    assert_eq!(finding["kind"], "overflow", "{finding:#}");
    assert_eq!(finding["access"], "read", "{finding:#}");
    assert_eq!(finding["size"], 0, "{finding:#}");
    assert_eq!(finding["offset"], 0, "{finding:#}");
    assert_eq!(
        first_frame(finding, "alloc"),
        frame("make_empty()", "empty_array.cpp", 8)
    );
    assert_eq!(
        first_frame(finding, "access"),
        frame("load(char const*)", "empty_array.cpp", 9)
    );
    // Valgrind: "Mismatched free() / delete / delete []" at empty_array.cpp:17, "0 bytes after
    // a block of size 0 alloc'd" by make_empty().
    let run = gpa_run(&dir, &[], &[&program, "mismatch"]);
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let finding = &findings[0];
    assert_eq!(finding["kind"], "mismatched_free", "{finding:#}");
    assert_eq!(finding["size"], 0, "{finding:#}");
    assert_eq!(finding["allocated_by"], "operator new[]", "{finding:#}");
    assert_eq!(
        first_frame(finding, "invalid_free"),
        frame("main", "empty_array.cpp", 17)
    );
    if let Some(verdicts) = valgrind(&dir, &[&program, "mismatch"]) {
        assert_matches_valgrind(&findings, &verdicts);
    }
    // Valgrind: no error.
    for mode in [&[][..], &["--guard"][..], &["--fast"][..]] {
        let run = gpa_run(&dir, mode, &[&program]);
        assert!(
            run.findings().is_empty(),
            "{mode:?}: {}",
            describe(&run.findings())
        );
        assert!(run.stdout().contains("done"), "{mode:?}");
        assert_eq!(run.output.status.code(), Some(0), "{mode:?}");
    }
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert!(verdicts.is_empty(), "{verdicts:?}");
    }
}

#[test]
fn operator_new_calls_the_new_handler_then_throws_bad_alloc() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-bad-alloc");
    let program = compile_cxx("bad_alloc", &dir);
    for mode in [
        &["--memory-limit", "10m"][..],
        &["--fast", "--memory-limit", "10m"],
    ] {
        let run = gpa_run(&dir, mode, &[&program]);
        assert_eq!(
            run.stdout(),
            "handler 1, got 1\ncaught bad_alloc\nnothrow null\ncaught aligned bad_alloc\ndone\n",
            "{mode:?}: {}",
            run.stderr()
        );
        assert!(run.findings().is_empty(), "{}", describe(&run.findings()));
        assert_eq!(run.output.status.code(), Some(0));
    }
}

#[test]
fn a_vector_growth_leak_starts_at_the_users_function_with_demangled_names() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-vector");
    let program = compile_cxx("vector_leak", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    // Valgrind: "512 bytes in 1 blocks are definitely lost", below the standard library's
    // frames: fill(std::vector<int, std::allocator<int> >&) (vector_leak.cpp:8), main (:13).
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let leak = &findings[0];
    assert_eq!(leak["kind"], "leak");
    assert_eq!(leak["size"], 512);
    assert_eq!(
        stack_functions(leak, "alloc"),
        ["fill(std::vector<int, std::allocator<int> >&)", "main"]
    );
    assert_eq!(
        first_frame(leak, "alloc"),
        frame(
            "fill(std::vector<int, std::allocator<int> >&)",
            "vector_leak.cpp",
            8
        )
    );
    assert!(
        !run.stderr().contains("_Z"),
        "mangled names: {}",
        run.stderr()
    );
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 1, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
}

/// libstdc++'s pool allocator (`__gnu_cxx::__pool_alloc`) gives each block its own
/// `operator new` block under `gpa run` in check and guard modes (`GLIBCXX_FORCE_NEW`, as
/// Debian's `valgrind` wrapper sets it): Valgrind 3.19 reports the 1-byte overflow of the
/// 24-byte block and 40 bytes in 1 blocks definitely lost; before, gpa found nothing (the
/// pool's chunk reachable from the pool's free lists).
#[test]
fn pool_allocator_blocks_are_checked_as_under_valgrind() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-pool");
    let program = compile_cxx("pool_alloc", &dir);
    for mode in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, mode, &[&program]);
        let findings = run.findings();
        assert_eq!(findings.len(), 2, "{mode:?}: {}", describe(&findings));
        let overflow = findings
            .iter()
            .find(|finding| finding["kind"] == "overflow")
            .unwrap_or_else(|| panic!("{mode:?}: {}", describe(&findings)));
        assert!(
            overflow["message"]
                .as_str()
                .is_some_and(|message| message.contains("(24 bytes)")),
            "{mode:?}: {}",
            overflow["message"]
        );
        assert_eq!(
            gpa_leak_totals(&run.json["processes"][0])[..3],
            [(1, 40), (0, 0), (0, 0)],
            "{mode:?}: {}",
            describe(&findings)
        );
    }
}

#[test]
fn frames_of_an_unloaded_library_are_named_from_that_library() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-dlclose");
    let liba = compile_c(
        &["dlclose_lib.c"],
        "liba.so",
        &["-shared", "-fPIC", "-DNAME=alloc_in_a"],
        &dir,
    );
    let libb = compile_c(
        &["dlclose_lib.c"],
        "libb.so",
        &["-shared", "-fPIC", "-DNAME=alloc_in_b"],
        &dir,
    );
    let program = compile_c(&["dlclose_main.c"], "dlclose_main", &["-ldl"], &dir);
    let command = [program.as_str(), liba.as_str(), libb.as_str()];
    let run = gpa_run(&dir, &[], &command);
    let bases: Vec<String> = run
        .stdout()
        .lines()
        .filter_map(|line| line.strip_prefix("base ").map(str::to_owned))
        .collect();
    assert_eq!(bases.len(), 2, "{}", run.stdout());
    if bases[0] != bases[1] {
        eprintln!("NOTE: the second library was loaded elsewhere ({bases:?})");
    }
    // Valgrind: "300 bytes in 2 blocks are definitely lost", from `???` frames of the
    // unloaded libraries (one loss record: the stacks are the same addresses).
    assert_eq!(
        run.json["leaked_blocks"],
        2,
        "{}",
        describe(&run.findings())
    );
    assert_eq!(run.json["leaked_bytes"], 300);
    for (size, function, library) in [(100, "alloc_in_a", &liba), (200, "alloc_in_b", &libb)] {
        let leak = run
            .findings()
            .into_iter()
            .find(|finding| finding["size"] == size)
            .unwrap_or_else(|| panic!("no {size}-byte leak: {}", describe(&run.findings())));
        let first = &leak["stacks"]["alloc"][0];
        assert_eq!(first["function"], function, "{leak:#}");
        assert_eq!(first["module"], library.as_str(), "{leak:#}");
        assert_eq!(
            first_frame(&leak, "alloc"),
            frame(function, "dlclose_lib.c", 5)
        );
        assert_eq!(leak["stacks"]["alloc"][1]["function"], "main", "{leak:#}");
    }
    if let Some(verdicts) = valgrind(&dir, &command) {
        let bytes: u64 = verdicts.iter().map(|verdict| verdict.size).sum();
        assert_eq!(bytes, 300, "{verdicts:?}");
    }
}

/// Builds `tests/cxx/<source>` as `<name>_full.so` (with debug info) and a stripped copy
/// `<name>.so`, and `stripped_main.c`, which loads a library and leaks what its
/// `exported_alloc` returns: `(dir, full, stripped, program)`, or `None` (with a message) when
/// a tool is missing.
fn stripped_library(
    test: &str,
    source: &str,
    name: &str,
) -> Option<(Scratch, String, String, String)> {
    if !tools_or_skip() {
        return None;
    }
    for tool in ["strip", "addr2line"] {
        if !have(tool) {
            eprintln!("SKIPPED: {tool} is not installed (apt-get install binutils)");
            return None;
        }
    }
    let dir = scratch(test);
    let full = compile_c(
        &[source],
        &format!("{name}_full.so"),
        &["-shared", "-fPIC"],
        &dir,
    );
    let stripped = dir.join(format!("{name}.so")).display().to_string();
    std::fs::copy(&full, &stripped).expect("copy the library");
    let status = Command::new("strip")
        .arg(&stripped)
        .status()
        .expect("strip");
    assert!(status.success());
    let program = compile_c(&["stripped_main.c"], "stripped_main", &["-ldl"], &dir);
    Some((dir, full, stripped, program))
}

/// The one finding of a run of `stripped_main`: its 77-byte leak.
fn the_77_byte_leak(run: &Run) -> Value {
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let leak = findings[0].clone();
    assert_eq!(leak["kind"], "leak");
    assert_eq!(leak["size"], 77);
    leak
}

#[test]
fn a_stripped_librarys_frame_shows_its_module_and_offset() {
    let Some((dir, full, stripped, program)) =
        stripped_library("cxx-stripped", "stripped_lib.c", "libhidden")
    else {
        return;
    };
    let run = gpa_run(&dir, &[], &[&program, &stripped]);
    // Valgrind: "77 bytes in 1 blocks are definitely lost", at "??? (in libhidden.so)",
    // "exported_alloc (in libhidden.so)", main (stripped_main.c:9).
    let leak = &the_77_byte_leak(&run);
    let frames = leak["stacks"]["alloc"].as_array().expect("frames");
    let hidden = &frames[0];
    assert_eq!(hidden["function"], Value::Null, "{leak:#}");
    assert_eq!(hidden["module"], stripped.as_str());
    let offset = hidden["offset"].as_str().expect("an offset").to_owned();
    assert!(
        run.stderr()
            .contains(&format!("at ??? (libhidden.so+{offset})")),
        "{}",
        run.stderr()
    );
    assert_eq!(frames[1]["function"], "exported_alloc");
    assert_eq!(frames[1]["module"], stripped.as_str());
    assert_eq!(first_frame(leak, "alloc").0, "???");
    assert_eq!(frames[2]["function"], "main");
    assert_eq!(frames[2]["line"], 9);
    // Every frame carries its module and offset.
    for frame in frames {
        assert!(
            frame["module"].is_string() && frame["offset"].is_string(),
            "{frame}"
        );
    }
    // The offset is what addr2line takes: the unstripped build names the function.
    let named = Command::new("addr2line")
        .args(["-f", "-e", &full, &offset])
        .output()
        .expect("run addr2line");
    let text = String::from_utf8_lossy(&named.stdout);
    assert_eq!(text.lines().next(), Some("hidden_alloc"), "{text}");
}

#[test]
fn a_frames_offset_names_the_call_not_the_line_after_it() {
    let Some((dir, full, stripped, program)) =
        stripped_library("cxx-stripped-call", "stripped_call_lib.c", "libcall")
    else {
        return;
    };
    let run = gpa_run(&dir, &[], &[&program, &stripped]);
    // Valgrind: "77 bytes in 1 blocks are definitely lost", at "0x4853120: ??? (in
    // libcall.so)", "0x485315D: exported_alloc (in libcall.so)" (the library at 0x4853000),
    // main (stripped_main.c:9). Its offsets are the call instructions' (0x115d is in the
    // 5-byte call at 0x1159): addr2line names stripped_call_lib.c:7 and :12, the lines of
    // the calls, where the return address 0x115e would name :13, the next call's line.
    let leak = &the_77_byte_leak(&run);
    let frames = leak["stacks"]["alloc"].as_array().expect("frames");
    let lines: Vec<String> = frames[..2]
        .iter()
        .map(|frame| {
            assert_eq!(frame["module"], stripped.as_str(), "{leak:#}");
            let offset = frame["offset"].as_str().expect("an offset");
            let named = Command::new("addr2line")
                .args(["-f", "-e", &full, offset])
                .output()
                .expect("run addr2line");
            let text = String::from_utf8_lossy(&named.stdout).into_owned();
            let mut lines = text.lines();
            let function = lines.next().unwrap_or("").to_owned();
            let place = lines.next().unwrap_or("").rsplit('/').next().unwrap_or("");
            format!("{function} {place}")
        })
        .collect();
    assert_eq!(
        lines,
        [
            "make_block stripped_call_lib.c:7",
            "exported_alloc stripped_call_lib.c:12"
        ],
        "{leak:#}"
    );
    assert_eq!(frames[2]["function"], "main");
    assert_eq!(frames[2]["line"], 9);
}

#[test]
fn a_stack_of_library_plumbing_only_shows_the_library_not_gpa() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-make-shared");
    let program = compile_cxx("make_shared_leak", &dir);
    let run = gpa_run(&dir, &["--show-leak-kinds=all"], &[&program]);
    // Valgrind (--show-leak-kinds=all): "856 (16 direct, 840 indirect) bytes in 1 blocks are
    // definitely lost" at main (make_shared_leak.cpp:8); "800 bytes in 1 blocks are
    // indirectly lost", whose 12 frames are operator new(unsigned long), then
    // std::__new_allocator<long>::allocate(unsigned long, void const*) (new_allocator.h:137),
    // std::allocator_traits<...>::allocate, std::_Vector_base<...>::_M_allocate... (libstdc++
    // frames only, main is deeper); "40 bytes in 1 blocks are indirectly lost".
    let leaks: Vec<(String, u64)> = run
        .findings()
        .iter()
        .map(|leak| {
            (
                leak["leak_kind"].as_str().unwrap_or("").to_owned(),
                leak["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        leaks,
        [
            ("definite".to_owned(), 856),
            ("indirect".to_owned(), 800),
            ("indirect".to_owned(), 40)
        ],
        "{}",
        run.stderr()
    );
    let storage = &run.findings()[1];
    let frames = storage["stacks"]["alloc"].as_array().expect("frames");
    // The 8 frames kept end inside libstdc++: they are shown as Valgrind shows them, never
    // gpa's own frames in their place.
    let first = frames[0]["function"].as_str().unwrap_or("");
    assert!(
        first.contains("new_allocator<long>::allocate("),
        "{storage:#}"
    );
    for frame in frames {
        let function = frame["function"].as_str().unwrap_or("");
        let module = frame["module"].as_str().unwrap_or("");
        assert!(
            !function.starts_with("gpa::")
                && !function.starts_with("operator new")
                && !module.ends_with("libgpa_preload.so"),
            "{storage:#}"
        );
    }
    assert_eq!(first_frame(&run.findings()[0], "alloc").0, "main");
    // Valgrind: the 40-byte control block's first user frame is main (make_shared_leak.cpp:7),
    // below libstdc++'s frames up to std::make_shared, which only its own demangler reads.
    assert_eq!(
        first_frame(&run.findings()[2], "alloc"),
        frame("main", "make_shared_leak.cpp", 7)
    );
    assert_eq!(
        first_frame(storage, "alloc").0,
        "std::__new_allocator<long>::allocate(unsigned long, void const*)"
    );
    for finding in run.findings() {
        for function in stack_functions(&finding, "alloc") {
            assert!(!function.starts_with("_Z"), "mangled: {function}");
        }
    }
}

#[test]
fn libstdcxx_frames_are_named_as_valgrind_names_them() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-make-shared-names");
    let program = compile_cxx("make_shared_leak", &dir);
    // Seven frames: the control block's stack stops inside libstdc++, before std::make_shared.
    let run = gpa_run(&dir, &["--show-leak-kinds=all", "--frames=7"], &[&program]);
    let block = run
        .findings()
        .into_iter()
        .find(|finding| finding["size"] == 40)
        .expect("the 40-byte control block");
    let ours = stack_functions(&block, "alloc");
    // Valgrind 3.19 (--show-leak-kinds=all), "40 bytes in 1 blocks are indirectly lost",
    // below operator new(unsigned long); cpp_demangle alone drops the first parameter of the
    // __shared_count and __shared_ptr constructors, and cannot read std::make_shared.
    let valgrinds = [
        "std::__new_allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> >::allocate(unsigned long, void const*)",
        "std::allocator_traits<std::allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> > >::allocate(std::allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> >&, unsigned long)",
        "std::__allocated_ptr<std::allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> > > std::__allocate_guarded<std::allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> > >(std::allocator<std::_Sp_counted_ptr_inplace<std::vector<long, std::allocator<long> >, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> >&)",
        "std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<std::vector<long, std::allocator<long> >, std::allocator<void>, int>(std::vector<long, std::allocator<long> >*&, std::_Sp_alloc_shared_tag<std::allocator<void> >, int&&)",
        "std::__shared_ptr<std::vector<long, std::allocator<long> >, (__gnu_cxx::_Lock_policy)2>::__shared_ptr<std::allocator<void>, int>(std::_Sp_alloc_shared_tag<std::allocator<void> >, int&&)",
        "std::shared_ptr<std::vector<long, std::allocator<long> > >::shared_ptr<std::allocator<void>, int>(std::_Sp_alloc_shared_tag<std::allocator<void> >, int&&)",
        "std::shared_ptr<std::enable_if<!std::is_array<std::vector<long, std::allocator<long> > >::value, std::vector<long, std::allocator<long> > >::type> std::make_shared<std::vector<long, std::allocator<long> >, int>(int&&)",
        "main",
    ]
    .map(str::to_owned);
    assert!(ours.len() >= 4, "{block:#}");
    assert_eq!(ours[..], valgrinds[..ours.len()], "{block:#}");
    if let Some(records) = valgrind_stacks(&dir, &["--show-leak-kinds=all"], &[&program]) {
        let (_, _, theirs) = records
            .iter()
            .find(|(kind, bytes, _)| kind == "Leak_IndirectlyLost" && *bytes == 40)
            .expect("Valgrind's 40-byte loss record");
        assert_eq!(theirs[1..], valgrinds[..], "Valgrind's names changed");
    }
}

/// A library loaded with `RTLD_DEEPBIND` by bare name (found through `LD_LIBRARY_PATH`: the
/// caller decides the search, so gpa's `dlopen` leaves such a load to libc as it is) keeps
/// libc's `malloc`: the program's `free`, `realloc` and `malloc_usable_size` of its blocks go
/// back to libc. Loaded by path, it is rebound to gpa's functions (`capi::deepbind`): its
/// blocks are gpa's and none goes back to libc.
#[test]
fn blocks_of_libcs_own_malloc_go_back_to_libc() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-deepbind");
    let library = compile_c(&["deep_lib.c"], "libdeep.so", &["-shared", "-fPIC"], &dir);
    let program = compile_c(&["deep_main.c"], "deep_main", &["-pthread", "-ldl"], &dir);
    let search = |command: &mut Command| {
        command.env("LD_LIBRARY_PATH", &dir);
    };
    for (command, libc_blocks) in [
        ([program.as_str(), "libdeep.so"], 4),
        ([program.as_str(), library.as_str()], 0),
    ] {
        let plain = plain_run(&dir, &command, search);
        assert!(plain.status.success());
        for mode in [&[][..], &["--fast"][..]] {
            let run = gpa_run_with(&dir, mode, &command, search);
            assert!(
                run.findings().is_empty(),
                "{mode:?} {command:?}: {}",
                describe(&run.findings())
            );
            assert_eq!(
                run.output.stdout,
                plain.stdout,
                "{mode:?} {command:?}: {}",
                run.stderr()
            );
            assert_eq!(run.output.status.code(), Some(0), "{mode:?} {command:?}");
            if mode.is_empty() {
                // By bare name, four blocks of libc's allocator: main arena, mmapped, another
                // thread's arena, and one grown by libc's realloc. By path, none.
                let process = &run.json["processes"][0];
                assert_eq!(
                    process["libc_blocks_released"].as_u64().unwrap_or(0),
                    libc_blocks,
                    "{process:#}"
                );
                assert_eq!(
                    run.stderr()
                        .contains("info(gpa): 4 block(s) allocated by libc's own malloc"),
                    libc_blocks == 4,
                    "{}",
                    run.stderr()
                );
            }
        }
    }
    // Valgrind replaces libc's allocator too: no errors.
    if let Some(verdicts) = valgrind(&dir, &[program.as_str(), library.as_str()]) {
        assert!(verdicts.is_empty(), "{verdicts:?}");
    }
}

/// The function names of each loss record and error of Valgrind on `command` with `options`
/// (kind as Valgrind's XML names it, bytes, functions of the first stack, innermost first);
/// `None` when Valgrind is not installed.
fn valgrind_stacks(
    dir: &Path,
    options: &[&str],
    command: &[&str],
) -> Option<Vec<(String, u64, Vec<String>)>> {
    let text = valgrind_xml(dir, options, command)?;
    let document = roxmltree::Document::parse(&text).expect("valgrind's XML parses");
    let records = document
        .descendants()
        .filter(|node| node.has_tag_name("error"))
        .map(|error| {
            let bytes = error
                .children()
                .find(|node| node.has_tag_name("xwhat"))
                .and_then(|what| child_text(what, "leakedbytes"))
                .and_then(|bytes| bytes.parse().ok())
                .unwrap_or(0);
            let functions = error
                .children()
                .find(|node| node.has_tag_name("stack"))
                .map(|stack| {
                    stack
                        .children()
                        .filter(|node| node.has_tag_name("frame"))
                        .map(|frame| child_text(frame, "fn").unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            (
                child_text(error, "kind").unwrap_or_default(),
                bytes,
                functions,
            )
        })
        .collect();
    Some(records)
}

/// Asserts that `ours` (a stack gpa printed) is a run of consecutive frames of `valgrinds`,
/// name for name.
fn assert_run_of(ours: &[String], valgrinds: &[String]) {
    assert!(!ours.is_empty(), "gpa printed no frames");
    let found = valgrinds.windows(ours.len()).any(|window| window == ours);
    assert!(
        found,
        "gpa's frames {ours:#?}\nare not a run of Valgrind's {valgrinds:#?}"
    );
}

#[test]
fn cxx_function_names_are_demangled_as_valgrind_prints_them() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-demangled-names");
    let program = compile_cxx("demangled_names", &dir);
    let run = gpa_run(&dir, &["--frames=12"], &[&program]);
    let findings = run.findings();
    // Valgrind 3.19 on the same program: the first frame below operator new/malloc/free of
    // each error and loss record, and the frame that called it.
    let expected = [
        (
            "mismatched_free",
            8,
            "invalid_free",
            frame("Holder<long>::~Holder()", "demangled_names.cpp", 14),
        ),
        (
            "mismatched_free",
            8,
            "alloc",
            frame("Holder<long>::Holder(long)", "demangled_names.cpp", 13),
        ),
        (
            "leak",
            12,
            "alloc",
            frame(
                "(anonymous namespace)::anonymous_leak(int)",
                "demangled_names.cpp",
                8,
            ),
        ),
        (
            "leak",
            16,
            "alloc",
            frame(
                "operator+(Point const&, Point const&)",
                "demangled_names.cpp",
                21,
            ),
        ),
        (
            "leak",
            24,
            "alloc",
            frame("char* make_array<char, 24>()", "demangled_names.cpp", 23),
        ),
        (
            "leak",
            33,
            "alloc",
            frame("Counter::operator()(int) const", "demangled_names.cpp", 26),
        ),
        (
            "leak",
            40,
            "alloc",
            frame(
                "main::{lambda(int)#1}::operator()(int) const",
                "demangled_names.cpp",
                35,
            ),
        ),
        (
            "leak",
            56,
            "alloc",
            frame(
                "main::{lambda(unsigned long)#2}::operator()(unsigned long) const",
                "demangled_names.cpp",
                37,
            ),
        ),
    ];
    assert_eq!(findings.len(), 7, "{}", describe(&findings));
    for (kind, size, stack, first) in expected {
        let finding = findings
            .iter()
            .find(|finding| finding["kind"] == kind && finding["size"] == size)
            .unwrap_or_else(|| panic!("no {kind} of {size} bytes: {}", describe(&findings)));
        assert_eq!(first_frame(finding, stack), first, "{finding:#}");
    }
    // The lambda called through std::function: Valgrind's whole stack, up to main.
    let through_function = findings
        .iter()
        .find(|finding| finding["size"] == 56)
        .expect("the 56-byte leak");
    assert_eq!(
        stack_functions(through_function, "alloc"),
        [
            "main::{lambda(unsigned long)#2}::operator()(unsigned long) const",
            "void* std::__invoke_impl<void*, main::{lambda(unsigned long)#2}&, unsigned long>(std::__invoke_other, main::{lambda(unsigned long)#2}&, unsigned long&&)",
            "std::enable_if<is_invocable_r_v<void*, main::{lambda(unsigned long)#2}&, unsigned long>, void*>::type std::__invoke_r<void*, main::{lambda(unsigned long)#2}&, unsigned long>(main::{lambda(unsigned long)#2}&, unsigned long&&)",
            "std::_Function_handler<void* (unsigned long), main::{lambda(unsigned long)#2}>::_M_invoke(std::_Any_data const&, unsigned long&&)",
            "std::function<void* (unsigned long)>::operator()(unsigned long) const",
            "main",
        ]
    );
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 7, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
    if let Some(records) = valgrind_stacks(&dir, &[], &[&program]) {
        let (_, _, valgrinds) = records
            .iter()
            .find(|(kind, bytes, _)| kind == "Leak_DefinitelyLost" && *bytes == 56)
            .expect("Valgrind's 56-byte loss record");
        assert_run_of(&stack_functions(through_function, "alloc"), valgrinds);
    }
}

#[test]
fn compiler_clones_are_named_as_valgrind_names_them() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-clones");
    let src = source("compiler_clones.cpp");
    build(
        "g++",
        &["-O2", "-g", "-o", "compiler_clones", src.to_str().unwrap()],
        &dir,
    );
    let program = dir.join("compiler_clones").display().to_string();
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    // Valgrind 3.19 (g++ 12 -O2): "by 0x...: constant_size(unsigned long, int) [clone
    // .constprop.0] (compiler_clones.cpp:9)" twice (48 bytes), "rarely(int) [clone .cold]
    // (compiler_clones.cpp:27)" (1,001 bytes), and main (compiler_clones.cpp:38) for the 61
    // bytes of a tail call.
    let mut firsts: Vec<(u64, String)> = findings
        .iter()
        .map(|finding| {
            (
                finding["size"].as_u64().unwrap_or(0),
                first_frame(finding, "alloc").0,
            )
        })
        .collect();
    firsts.sort();
    assert_eq!(
        firsts,
        [
            (
                48,
                "constant_size(unsigned long, int) [clone .constprop.0]".to_owned()
            ),
            (
                48,
                "constant_size(unsigned long, int) [clone .constprop.0]".to_owned()
            ),
            (61, "main".to_owned()),
            (1001, "rarely(int) [clone .cold]".to_owned()),
        ],
        "{}",
        run.stderr()
    );
    if let Some(verdicts) = valgrind(&dir, &[&program]) {
        assert_eq!(verdicts.len(), 4, "{verdicts:?}");
        assert_matches_valgrind(&findings, &verdicts);
    }
}

#[test]
fn c_functions_named_like_type_codes_keep_their_names_as_in_valgrind() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-short-names");
    let program = compile_c(&["short_names.c"], "short_names", &[], &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    // Valgrind 3.19 on the same program: "11 bytes in 1 blocks are definitely lost", at
    // malloc, by f, by main; and so on for g, i, v, d and x (the C++ demangler would say
    // "float", "__float128", "int", "void", "double", "long long").
    let expected = [
        (11, "f"),
        (12, "g"),
        (13, "i"),
        (14, "v"),
        (15, "d"),
        (16, "x"),
    ];
    let valgrinds = valgrind_stacks(&dir, &[], &[&program]);
    for (size, function) in expected {
        let leaks: Vec<&Value> = findings
            .iter()
            .filter(|finding| finding["kind"] == "leak" && finding["size"] == size)
            .collect();
        assert_eq!(leaks.len(), 1, "{size} bytes: {}", run.stderr());
        let ours = stack_functions(leaks[0], "alloc");
        assert_eq!(ours, [function, "main"], "{size} bytes");
        if let Some(records) = &valgrinds {
            let (_, _, theirs) = records
                .iter()
                .find(|(kind, bytes, _)| kind == "Leak_DefinitelyLost" && *bytes == size)
                .expect("Valgrind's loss record");
            assert_run_of(&ours, theirs);
        }
    }
}

#[test]
fn rust_function_names_are_demangled_as_valgrind_prints_them() {
    if !have("rustc") {
        eprintln!("SKIPPED: rustc is not installed");
        return;
    }
    let dir = scratch("cxx-rust-names");
    let src = source("rust_names.rs");
    // Valgrind 3.19 prints legacy names without the hash and v0 names with their generic
    // arguments.
    let cases = [
        (
            "legacy",
            [
                "<rust_names::Maker as rust_names::Make>::make::{{closure}}",
                "<rust_names::Maker as rust_names::Make>::make",
                "rust_names::generic",
                "rust_names::main",
            ],
        ),
        (
            "v0",
            [
                "<rust_names::Maker as rust_names::Make>::make::{closure#0}",
                "<rust_names::Maker as rust_names::Make>::make",
                "rust_names::generic::<rust_names::Maker>",
                "rust_names::main",
            ],
        ),
    ];
    for (mangling, expected) in cases {
        let binary = dir.join(format!("rust_names_{mangling}"));
        // Legacy mangling is the default (asking for it needs a nightly flag).
        let v0: &[&str] = match mangling {
            "v0" => &["-C", "symbol-mangling-version=v0"],
            _ => &[],
        };
        let flags: Vec<&str> = ["-g", "-C", "opt-level=0"]
            .into_iter()
            .chain(v0.iter().copied())
            .collect();
        compile_rust_file("rustc", &src, &binary, &flags);
        let program = binary.display().to_string();
        let run = gpa_run(&dir, &[], &[&program]);
        let findings = run.findings();
        let leaks: Vec<&Value> = findings
            .iter()
            .filter(|finding| finding["kind"] == "leak" && finding["size"] == 77)
            .collect();
        assert_eq!(leaks.len(), 1, "{mangling}: {}", run.stderr());
        let ours = stack_functions(leaks[0], "alloc");
        assert_eq!(ours, expected, "{mangling}");
        if let Some(records) = valgrind_stacks(&dir, &[], &[&program]) {
            let (_, _, valgrinds) = records
                .iter()
                .find(|(kind, bytes, _)| kind == "Leak_DefinitelyLost" && *bytes == 77)
                .expect("Valgrind's 77-byte loss record");
            assert_run_of(&ours, valgrinds);
        }
    }
}

/// A virtual call through a deleted object (`fill_virtual_call.cpp`). Valgrind 3.19: "Invalid
/// read of size 8 at main (fill_virtual_call.cpp:22)", "0 bytes inside a block of size 16
/// free'd" by `operator delete` from `Square::~Square` (:14) from main (:21), allocated at
/// main (:19); the call then goes through the stale vtable pointer, the program prints twice
/// and exits 0 (natively glibc's free list overwrites the pointer: SIGSEGV). Check mode does
/// not see the program's own load, but the fill it loaded faults when called through, and the
/// fault names the object: a read after free of the freed 16-byte block with Valgrind's alloc,
/// free and access lines (no offset: the load itself is not seen; ended by the fault).
#[test]
fn a_virtual_call_through_a_deleted_object_is_a_read_after_free() {
    if !tools_or_skip() {
        return;
    }
    let dir = scratch("cxx-fill-virtual");
    let program = compile_cxx("fill_virtual_call", &dir);
    let run = gpa_run(&dir, &[], &[&program]);
    let findings = run.findings();
    let shown = format!("{}\nstderr:\n{}", describe(&findings), run.stderr());
    let read = findings
        .iter()
        .find(|f| f["kind"] == "read_after_free")
        .unwrap_or_else(|| panic!("no read after free: {shown}"));
    assert_eq!(read["size"], 16, "{shown}");
    let line = |stack: &str, at: usize| {
        let frame = &read["stacks"][stack][at];
        (
            frame["function"].as_str().unwrap_or("").to_string(),
            frame["line"].as_u64(),
        )
    };
    assert_eq!(line("alloc", 0), ("main".into(), Some(19)), "{shown}");
    assert_eq!(
        line("free", 0),
        ("Square::~Square()".into(), Some(14)),
        "{shown}"
    );
    assert_eq!(line("free", 1), ("main".into(), Some(21)), "{shown}");
    assert_eq!(line("access", 0), ("main".into(), Some(22)), "{shown}");
    assert!(
        run.stderr().contains("gpa's fill of freed memory"),
        "{shown}"
    );
    assert_eq!(run.output.status.code(), Some(139), "{shown}");
}
