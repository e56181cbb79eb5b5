//! The global allocator's leak report at exit shows exactly the planted leak: not std's
//! runtime blocks (stdout's buffer, the main thread's information), not what was freed.

use std::process::Command;

#[test]
fn the_exit_report_shows_exactly_the_planted_leak() {
    let output = Command::new(env!("CARGO_BIN_EXE_leak_at_exit"))
        .output()
        .expect("run the program");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("bytes of words"), "{stdout}");
    let leaks: Vec<&str> = stderr.lines().filter(|l| l.contains("leaked (")).collect();
    assert_eq!(leaks.len(), 1, "{stderr}");
    assert!(leaks[0].contains("leaked (333 bytes)"), "{stderr}");
    assert!(
        stderr.contains("error(gpa): 1 leaked block(s), 333 byte(s) in total"),
        "{stderr}"
    );
    assert!(stderr.contains("leak_at_exit::plant_leak"), "{stderr}");
    assert!(!stderr.contains("std::rt"), "{stderr}");
}
