//! Will a program started with `execve(path)` run with the preload library? The answer comes
//! from the file alone, the way the kernel and the dynamic loader decide:
//!
//! * an ELF file without a `PT_INTERP` program header is **statically linked**: no dynamic
//!   loader runs, so nothing reads `LD_PRELOAD` (static-pie programs included);
//! * an ELF file of another class or machine (a 32-bit program) cannot load this 64-bit
//!   library: the loader prints an error and runs the program without it;
//! * a **set-user-ID** (set-group-ID) program whose owner (group) is not the caller's real
//!   user (group), or a program with file capabilities run by a non-root user, runs in the
//!   loader's secure-execution mode (`AT_SECURE`), which ignores `LD_PRELOAD` entries that
//!   contain a slash; not when the file system is mounted `nosuid` or `no_new_privs` is set,
//!   since the kernel then ignores those bits;
//! * a script (`#!interpreter`) is its interpreter's case (followed up to four levels, the
//!   kernel's limit); a file with neither is run by shells and `execvp` with `/bin/sh`.
//!
//! The dynamic loader itself (`ld.so PROGRAM`) has no `PT_INTERP` but is no static program:
//! it is recognized by its identity with the system's loader.
//!
//! Not detectable from the file: a security module's transition (SELinux, AppArmor) that sets
//! `AT_SECURE`.
//!
//! # Invariants
//! * Nothing here allocates or takes a lock (it runs in `vfork` children): fixed buffers on
//!   the stack and the raw calls of [`super::sys`].

use core::ffi::CStr;

use super::sys::{self, Fd, PathBuf};

/// Why a process is not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Statically linked: no dynamic loader, so no `LD_PRELOAD`.
    StaticBinary,
    /// Another ELF class or machine than the preload library's.
    ForeignElf,
    /// Set-user-ID program of another user: secure execution ignores `LD_PRELOAD`.
    Setuid,
    /// Set-group-ID program of another group: as for `Setuid`.
    Setgid,
    /// File capabilities (run by a non-root user): as for `Setuid`.
    FileCapabilities,
    /// The environment given to `exec` has no `LD_PRELOAD` naming the preload library, and
    /// gpa could not put it back (an environment past the bounds of
    /// `environment`).
    PreloadDropped,
    /// The environment given to `exec` keeps the library but not the run's
    /// `GPA_REPORT_DIR` (the program set another): the process is checked, but its report
    /// goes elsewhere.
    ReportElsewhere,
    /// Started with the library expected to load, but the process never reported that it
    /// started (the loader could not load it, or the program replaced its environment).
    NotLoaded,
    /// Started with the library but ended without a report (killed by `SIGKILL`, or ended by
    /// a raw `exit_group` system call).
    NoReport,
    /// Still running when `gpa run` stopped waiting for the program's descendants (a process
    /// left in the background): its report, if any, comes after the run's.
    StillRunning,
    /// It installed a seccomp filter that would kill it on system calls the exit report
    /// makes, so the report was left out and the process ended as it would have
    /// (`confine::report_left_out`).
    Confined,
}

impl Reason {
    /// Every reason, for parsing.
    pub const ALL: [Reason; 11] = [
        Reason::StaticBinary,
        Reason::ForeignElf,
        Reason::Setuid,
        Reason::Setgid,
        Reason::FileCapabilities,
        Reason::PreloadDropped,
        Reason::ReportElsewhere,
        Reason::NotLoaded,
        Reason::NoReport,
        Reason::StillRunning,
        Reason::Confined,
    ];

    /// The stable name used in event files and in `gpa run`'s JSON (`reason`).
    pub const fn code(self) -> &'static str {
        match self {
            Reason::StaticBinary => "static_binary",
            Reason::ForeignElf => "foreign_elf",
            Reason::Setuid => "setuid",
            Reason::Setgid => "setgid",
            Reason::FileCapabilities => "file_capabilities",
            Reason::PreloadDropped => "preload_dropped",
            Reason::ReportElsewhere => "report_elsewhere",
            Reason::NotLoaded => "not_loaded",
            Reason::NoReport => "no_report",
            Reason::StillRunning => "still_running",
            Reason::Confined => "confined",
        }
    }

    /// The reason for a code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// One sentence for people.
    pub const fn describe(self) -> &'static str {
        match self {
            Reason::StaticBinary => {
                "statically linked (no PT_INTERP): no dynamic loader runs, so LD_PRELOAD \
                 cannot put gpa's malloc in it"
            }
            Reason::ForeignElf => {
                "another ELF class or machine (a 32-bit program?): the 64-bit preload library \
                 cannot load into it"
            }
            Reason::Setuid => {
                "set-user-ID program of another user: the dynamic loader ignores LD_PRELOAD in \
                 secure-execution mode"
            }
            Reason::Setgid => {
                "set-group-ID program of another group: the dynamic loader ignores LD_PRELOAD \
                 in secure-execution mode"
            }
            Reason::FileCapabilities => {
                "program with file capabilities: the dynamic loader ignores LD_PRELOAD in \
                 secure-execution mode"
            }
            Reason::PreloadDropped => {
                "started with an environment that has no LD_PRELOAD naming libgpa_preload.so, \
                 which gpa could not put back (more than 1024 variables, or an LD_PRELOAD \
                 over 8 KiB)"
            }
            Reason::ReportElsewhere => {
                "started with a GPA_REPORT_DIR its parent set to another directory (or none \
                 gpa could put back): it was checked, but its report went there (or to stderr)"
            }
            Reason::NotLoaded => "the preload library was expected to load but never started",
            Reason::NoReport => {
                "ended without writing its report: killed by SIGKILL, or ended or replaced by a \
                 raw system call gpa does not see, or its report could not be written (no file \
                 descriptor left, the report directory out of reach, a seccomp filter or \
                 RLIMIT_FSIZE); docs/c_abi.md, `no_report`, lists every case"
            }
            Reason::StillRunning => {
                "still running 5 seconds after the program ended, when gpa run stopped \
                 waiting for it (a process left in the background: its report is not part of \
                 this run's)"
            }
            Reason::Confined => {
                "its seccomp filter would kill the process on system calls gpa's exit report \
                 makes, so the report was left out and the process ended as it would have \
                 without gpa"
            }
        }
    }
}

/// What kind of file a program is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An ELF executable (or the dynamic loader).
    Elf,
    /// A script with a `#!` line.
    Script,
    /// Neither: `execve` fails with `ENOEXEC`; shells and `execvp` run it with `/bin/sh`.
    NoInterpreterLine,
}

/// What inspecting a program found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Program {
    /// The file's own kind.
    pub kind: Kind,
    /// `None` when the preload library will load (into the program or the interpreter that
    /// runs it); otherwise why not.
    pub unchecked: Option<Reason>,
}

/// Why a program cannot be started at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchError {
    /// No such file (shell status 127).
    NotFound,
    /// It is a directory (status 126).
    Directory,
    /// No permission to execute it (status 126); the error number.
    NotExecutable(i32),
    /// A `#!` line names an interpreter that does not exist or cannot run (status 126).
    BadInterpreter,
    /// An ELF file the kernel will not run, or too many levels of `#!` (status 126).
    ExecFormat,
}

impl LaunchError {
    /// The exit status shells and Valgrind give for it.
    pub const fn status(self) -> u8 {
        match self {
            LaunchError::NotFound => 127,
            _ => 126,
        }
    }
}

const PT_INTERP: u32 = 3;
const ELF_HEADER: usize = 64;
const PROGRAM_HEADER: usize = 56;
const MAX_SCRIPT_LEVELS: usize = 4;

#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 62; // EM_X86_64
#[cfg(target_arch = "aarch64")]
const MACHINE: u16 = 183; // EM_AARCH64
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const MACHINE: u16 = 0;

/// The system's dynamic loader for this machine.
#[cfg(target_arch = "x86_64")]
const LOADER: &CStr = c"/lib64/ld-linux-x86-64.so.2";
#[cfg(target_arch = "aarch64")]
const LOADER: &CStr = c"/lib/ld-linux-aarch64.so.1";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const LOADER: &CStr = c"/lib/ld.so";

/// Inspects the program at `path` (as `execve` would find it: no `PATH` search).
pub fn inspect(path: &CStr) -> Result<Program, LaunchError> {
    let (kind, unchecked) = inspect_level(path, 0)?;
    Ok(Program { kind, unchecked })
}

fn inspect_level(path: &CStr, level: usize) -> Result<(Kind, Option<Reason>), LaunchError> {
    let file = match Fd::open_read(path) {
        Ok(file) => file,
        Err(libc::ENOENT | libc::ENOTDIR) => return Err(LaunchError::NotFound),
        Err(libc::EACCES) if sys::executable(path).is_ok() => {
            // Execute-only (mode 0711, say): the kernel runs it, but its headers cannot be
            // read. Its set-id bits still decide; assume it is dynamically linked.
            let stat = sys::stat(path).ok_or(LaunchError::NotExecutable(libc::EACCES))?;
            return Ok((Kind::Elf, secure_execution(None, &stat)));
        }
        Err(errno) => return Err(LaunchError::NotExecutable(errno)),
    };
    let stat = file
        .stat()
        .ok_or(LaunchError::NotExecutable(libc::EACCES))?;
    if stat.st_mode & libc::S_IFMT == libc::S_IFDIR {
        return Err(LaunchError::Directory);
    }
    sys::executable(path).map_err(LaunchError::NotExecutable)?;
    let mut header = [0u8; 256];
    let got = file.read_at(&mut header, 0);
    let header = &header[..got];
    if header.starts_with(b"\x7fELF") {
        let unchecked = secure_execution(Some(&file), &stat).or(elf_verdict(&file, header, &stat)?);
        return Ok((Kind::Elf, unchecked));
    }
    if let Some(interpreter) = header.strip_prefix(b"#!") {
        if level == MAX_SCRIPT_LEVELS {
            return Err(LaunchError::ExecFormat);
        }
        let interpreter = interpreter_path(interpreter).ok_or(LaunchError::BadInterpreter)?;
        let (_, unchecked) = inspect_level(interpreter.as_c(), level + 1)
            .map_err(|_| LaunchError::BadInterpreter)?;
        return Ok((Kind::Script, unchecked));
    }
    // Shells and `execvp` run it with `/bin/sh`.
    let (_, unchecked) = inspect_level(c"/bin/sh", level + 1)?;
    Ok((Kind::NoInterpreterLine, unchecked))
}

/// The interpreter of a `#!` line (what follows `#!`, up to the first blank or newline).
fn interpreter_path(line: &[u8]) -> Option<PathBuf> {
    let line = &line[..line
        .iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(line.len())];
    let start = line
        .iter()
        .position(|&byte| byte != b' ' && byte != b'\t')?;
    let rest = &line[start..];
    let end = rest
        .iter()
        .position(|&byte| byte == b' ' || byte == b'\t' || byte == b'\r')
        .unwrap_or(rest.len());
    PathBuf::join(&[&rest[..end]])
}

/// Whether `execve` of this file sets `AT_SECURE` (see the module docs).
/// Without the open file (unreadable), capabilities and the mount are not looked at.
fn secure_execution(file: Option<&Fd>, stat: &libc::stat) -> Option<Reason> {
    let mode = stat.st_mode;
    let setuid = mode & libc::S_ISUID != 0;
    let setgid = mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP;
    let (uid, gid) = sys::real_ids();
    let reason = if setuid && stat.st_uid != uid {
        Reason::Setuid
    } else if setgid && stat.st_gid != gid {
        Reason::Setgid
    } else if uid != 0 && file.is_some_and(Fd::has_capabilities) {
        Reason::FileCapabilities
    } else {
        return None;
    };
    if file.is_some_and(Fd::on_nosuid_mount) || sys::no_new_privs() {
        return None;
    }
    Some(reason)
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Static, foreign, or dynamic (`None`) from the ELF headers.
fn elf_verdict(file: &Fd, header: &[u8], stat: &libc::stat) -> Result<Option<Reason>, LaunchError> {
    if header.len() < ELF_HEADER {
        return Err(LaunchError::ExecFormat);
    }
    // e_ident[EI_CLASS] = 2 (64-bit), e_ident[EI_DATA] = 1 (little-endian), e_machine.
    if header[4] != 2 || header[5] != 1 || read_u16(header, 18) != MACHINE {
        return Ok(Some(Reason::ForeignElf));
    }
    let phoff = read_u64(header, 0x20);
    let phentsize = usize::from(read_u16(header, 0x36));
    let phnum = usize::from(read_u16(header, 0x38));
    if phentsize < PROGRAM_HEADER {
        return Err(LaunchError::ExecFormat);
    }
    let mut entries = [0u8; 16 * PROGRAM_HEADER];
    let per_read = entries.len() / phentsize;
    let mut index = 0;
    while index < phnum {
        let count = per_read.min(phnum - index);
        let want = count * phentsize;
        let offset = phoff + (index * phentsize) as u64;
        if file.read_at(&mut entries[..want], offset) != want {
            return Err(LaunchError::ExecFormat);
        }
        for entry in entries[..want].chunks_exact(phentsize) {
            if read_u32(entry, 0) == PT_INTERP {
                return Ok(None);
            }
        }
        index += count;
    }
    // No PT_INTERP: static, unless it is the dynamic loader itself.
    let loader = sys::stat(LOADER);
    if loader.is_some_and(|loader| loader.st_dev == stat.st_dev && loader.st_ino == stat.st_ino) {
        return Ok(None);
    }
    Ok(Some(Reason::StaticBinary))
}

/// Whether `envp` (a null-terminated array of `NAME=value` strings) keeps `LD_PRELOAD` with a
/// library named like `library` (same path, or same file name), and `GPA_REPORT_DIR` equal to
/// `report_dir` when one is given. `None` when both are kept.
///
/// # Safety
/// `envp` is null or a null-terminated array of NUL-terminated strings.
pub unsafe fn environment_verdict(
    envp: *const *const libc::c_char,
    library: &[u8],
    report_dir: Option<&[u8]>,
) -> Option<Reason> {
    let mut preload = false;
    let mut directory = report_dir.is_none();
    let mut cursor = envp;
    while !cursor.is_null() {
        // SAFETY: caller contract: each entry up to the null one is a C string.
        let entry = unsafe { *cursor };
        if entry.is_null() {
            break;
        }
        // SAFETY: as above.
        let entry = unsafe { CStr::from_ptr(entry) }.to_bytes();
        if let Some(value) = entry.strip_prefix(b"LD_PRELOAD=") {
            preload = names_library(value, library);
        } else if let (Some(value), Some(wanted)) =
            (entry.strip_prefix(b"GPA_REPORT_DIR="), report_dir)
        {
            directory = value == wanted;
        }
        // SAFETY: still within the array (the entry was not the terminator).
        cursor = unsafe { cursor.add(1) };
    }
    if !preload {
        Some(Reason::PreloadDropped)
    } else if !directory {
        Some(Reason::ReportElsewhere)
    } else {
        None
    }
}

/// Whether an `LD_PRELOAD` value (blank- or colon-separated) names `library`.
pub(super) fn names_library(value: &[u8], library: &[u8]) -> bool {
    let file_name = |path: &[u8]| -> usize {
        path.iter()
            .rposition(|&byte| byte == b'/')
            .map_or(0, |slash| slash + 1)
    };
    let wanted_name = &library[file_name(library)..];
    value
        .split(|&byte| byte == b' ' || byte == b':' || byte == b'\t')
        .any(|entry| {
            !entry.is_empty() && (entry == library || &entry[file_name(entry)..] == wanted_name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(Reason::from_code("nonsense"), None);
    }

    #[test]
    fn interpreter_lines() {
        let path = interpreter_path(b"/bin/sh -e\necho").unwrap();
        assert_eq!(path.as_bytes(), b"/bin/sh");
        let path = interpreter_path(b" /usr/bin/env python3\n").unwrap();
        assert_eq!(path.as_bytes(), b"/usr/bin/env");
        assert!(interpreter_path(b"  \n").is_none());
    }

    #[test]
    fn library_names_in_ld_preload() {
        let library = b"/x/target/libgpa_preload.so";
        assert!(names_library(b"/x/target/libgpa_preload.so", library));
        assert!(names_library(b"libother.so /y/libgpa_preload.so", library));
        assert!(names_library(b"a.so:libgpa_preload.so", library));
        assert!(!names_library(b"libother.so", library));
        assert!(!names_library(b"", library));
    }

    #[test]
    fn environments() {
        let keep = [
            c"PATH=/bin".as_ptr(),
            c"LD_PRELOAD=/x/libgpa_preload.so".as_ptr(),
            c"GPA_REPORT_DIR=/tmp/r".as_ptr(),
            core::ptr::null(),
        ];
        let library = b"/x/libgpa_preload.so";
        // SAFETY: null-terminated arrays of C strings.
        unsafe {
            assert_eq!(
                environment_verdict(keep.as_ptr(), library, Some(b"/tmp/r")),
                None
            );
            assert_eq!(
                environment_verdict(keep.as_ptr(), library, Some(b"/tmp/other")),
                Some(Reason::ReportElsewhere)
            );
            assert_eq!(
                environment_verdict(keep[2..].as_ptr(), library, None),
                Some(Reason::PreloadDropped)
            );
            assert_eq!(
                environment_verdict(core::ptr::null(), library, None),
                Some(Reason::PreloadDropped)
            );
        }
    }

    #[test]
    fn programs_on_this_system() {
        // The shell is dynamically linked on every system these tests run on.
        let shell = inspect(c"/bin/sh").unwrap();
        assert_eq!(
            shell,
            Program {
                kind: Kind::Elf,
                unchecked: None
            }
        );
        assert_eq!(inspect(c"/nonexistent/x"), Err(LaunchError::NotFound));
        assert_eq!(inspect(c"/tmp"), Err(LaunchError::Directory));
        if sys::stat(LOADER).is_some() {
            assert_eq!(inspect(LOADER).unwrap().unchecked, None);
        }
    }
}
