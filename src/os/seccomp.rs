//! Which of gpa's own system calls a process's seccomp filters would kill.
//!
//! # Why
//! A process may install a seccomp filter that *kills* it on a system call the filter does not
//! allow (`SECCOMP_RET_KILL_PROCESS`, `_KILL_THREAD`, `_TRAP`): OpenSSH's pre-authentication
//! child, Chromium's renderers, systemd's `SystemCallFilter=`. gpa's exit report makes system
//! calls such a program never makes (`sigaltstack`, `rt_sigaction`, `mincore`,
//! `process_vm_readv`, `prlimit64`, `getdents64`...), so under gpa the process died of
//! `SIGSYS` where natively it exited with its own status, and its parent (sshd's monitor) saw
//! another outcome. gpa must not change what a program does; a report it cannot make is left
//! out and said so, as Valgrind says when it cannot follow a program.
//!
//! # Design
//! The filter is in hand when the program installs it (`prctl(PR_SET_SECCOMP, ...)`,
//! `seccomp(SECCOMP_SET_MODE_FILTER, ...)`: the interposed calls in `capi::process::confine`).
//! [`evaluate`] runs the classic BPF program the way the kernel does (`seccomp_data` in,
//! an action out; the instruction set `seccomp_check_filter` admits: loads of the data's
//! words, its length, immediates and the 16 scratch words; stores; the ALU; jumps; `ret`;
//! `tax`/`txa`), once for each system call in [`CALLS`] with the arguments gpa passes, and
//! the calls it would stop join a process-wide set once the kernel has taken the filter
//! ([`commit`]). Strict mode allows `read`, `write`, `exit` and `rt_sigreturn` only. Filters
//! only ever add restrictions (the kernel runs every filter installed and takes the strictest
//! action), so the set only grows; a `fork` child inherits it with the filters.
//!
//! Two calls the report does without ([`DONE_WITHOUT`]: `getdents64` in a process with one
//! thread, `sched_yield`) do not leave the report out by themselves (the caller decides with
//! [`needed`]).
//!
//! A filter installed by one thread without `SECCOMP_FILTER_FLAG_TSYNC` binds that thread
//! only; the set is still process-wide, because the exit report also makes the other threads
//! run a handler (the leak scan stops them) under their own filters.
//!
//! # Limits
//! * The arguments a filter compares are the ones given in [`CALLS`] (gpa's usual ones); a
//!   filter that allows a call with some arguments and kills it with others gpa uses is
//!   judged by the listed ones only.
//! * A new image after `exec` inherits the filters but not this set (the kernel does not let
//!   a process read its own filters back without `CAP_SYS_ADMIN`).
//!
//! # Invariants
//! Allocates nothing and takes no lock: [`stops`] is read on the exit path and when a thread
//! starts.

use core::sync::atomic::{AtomicU64, Ordering};

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    /// Opcode: class, size, mode / operation, source.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

/// A filter program as `prctl` and `seccomp` take it (`struct sock_fprog`).
#[repr(C)]
pub struct SockFprog {
    /// Instructions.
    pub len: u16,
    /// The first of them.
    pub filter: *const SockFilter,
}

/// What a filter sees of a system call (`struct seccomp_data`, 64 bytes).
#[derive(Clone, Copy, Debug)]
pub struct SeccompData {
    /// System call number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the calling convention.
    pub arch: u32,
    /// Address of the system call instruction.
    pub instruction_pointer: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 32-bit word at byte `offset` (little-endian, as the kernel lays the structure out
    /// on x86-64); `None` past the end or unaligned (the kernel rejects such loads).
    fn word(&self, offset: u32) -> Option<u32> {
        if offset % 4 != 0 || offset >= 64 {
            return None;
        }
        let index = (offset / 4) as usize;
        Some(match index {
            0 => self.nr as u32,
            1 => self.arch,
            2 => self.instruction_pointer as u32,
            3 => (self.instruction_pointer >> 32) as u32,
            _ => {
                let arg = self.args[(index - 4) / 2];
                if index % 2 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
        })
    }
}

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The action bits of a filter's return value (`SECCOMP_RET_ACTION_FULL`).
const RET_ACTION_FULL: u32 = 0xffff_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD` (also `SECCOMP_RET_KILL`).
pub const RET_KILL_THREAD: u32 = 0;
/// `SECCOMP_RET_TRAP`: `SIGSYS` to the caller.
pub const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`: the call fails with the low 16 bits as `errno`.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`: a supervisor process decides.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`: a tracer decides (`ENOSYS` without one).
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`: allowed and logged.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// What a filter's answer means for a system call gpa makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The call runs (`ALLOW`, `LOG`).
    Allows,
    /// The call fails with an error gpa copes with (`ERRNO`, `TRACE` without a tracer).
    Refuses,
    /// The call kills the process or the thread, or raises `SIGSYS` in the program's own
    /// handler, or waits on a supervisor that expects only the program's calls (`KILL_*`,
    /// `TRAP`, `USER_NOTIF`, and actions this module does not know, which the kernel
    /// treats as `KILL_PROCESS`).
    Stops,
}

/// The verdict of a filter's return value.
pub fn verdict(value: u32) -> Verdict {
    match value & RET_ACTION_FULL {
        RET_ALLOW | RET_LOG => Verdict::Allows,
        RET_ERRNO | RET_TRACE => Verdict::Refuses,
        // `KILL_PROCESS`, `KILL_THREAD`, `TRAP`, `USER_NOTIF`, and unknown actions.
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_USER_NOTIF => Verdict::Stops,
        _ => Verdict::Stops,
    }
}

/// Runs the program whose instruction `pc` is `fetch(pc)` (`None` past its end) over `data`
/// as the kernel's seccomp does; the value it returns. A program
/// the kernel would have rejected (an instruction outside seccomp's set, a load outside the
/// data, a jump or scratch index out of range, no `ret` at the end) gives
/// `SECCOMP_RET_KILL_PROCESS` (such a filter never got installed; callers only commit a
/// filter the kernel took).
pub fn evaluate(fetch: impl Fn(usize) -> Option<SockFilter>, data: &SeccompData) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut scratch = [0u32; 16];
    let mut pc = 0usize;
    // Jumps go forward only, so a program ends within its length.
    while let Some(instruction) = fetch(pc) {
        let k = instruction.k;
        pc += 1;
        match instruction.code {
            // BPF_LD | BPF_W | BPF_ABS
            0x20 => match data.word(k) {
                Some(word) => a = word,
                None => return RET_KILL_PROCESS,
            },
            // BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN
            0x80 => a = 64,
            0x81 => x = 64,
            // BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM
            0x00 => a = k,
            0x01 => x = k,
            // BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX
            0x60 | 0x61 | 0x02 | 0x03 => {
                let Some(slot) = scratch.get_mut(k as usize) else {
                    return RET_KILL_PROCESS;
                };
                match instruction.code {
                    0x60 => a = *slot,
                    0x61 => x = *slot,
                    0x02 => *slot = a,
                    _ => *slot = x,
                }
            }
            // BPF_ALU with K (0x04 | op) or X (0x0c | op).
            code if code & 0x07 == 0x04 => {
                let operand = if code & 0x08 != 0 { x } else { k };
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(operand),
                    0x10 => a.wrapping_sub(operand),
                    0x20 => a.wrapping_mul(operand),
                    // Division or remainder by an `X` of 0 ends the program with 0 (the
                    // kernel's checker rejects a constant 0).
                    0x30 => match a.checked_div(operand) {
                        Some(quotient) => quotient,
                        None => return 0,
                    },
                    0x90 => match a.checked_rem(operand) {
                        Some(remainder) => remainder,
                        None => return 0,
                    },
                    0x40 => a | operand,
                    0x50 => a & operand,
                    0x60 => a.wrapping_shl(operand),
                    0x70 => a.wrapping_shr(operand),
                    0x80 => a.wrapping_neg(),
                    0xa0 => a ^ operand,
                    _ => return RET_KILL_PROCESS,
                };
            }
            // BPF_JMP | BPF_JA
            0x05 => pc = pc.saturating_add(k as usize),
            // BPF_JMP conditional, with K or X.
            code if code & 0x07 == 0x05 => {
                let operand = if code & 0x08 != 0 { x } else { k };
                let holds = match code & 0xf0 {
                    0x10 => a == operand,
                    0x20 => a > operand,
                    0x30 => a >= operand,
                    0x40 => a & operand != 0,
                    _ => return RET_KILL_PROCESS,
                };
                pc += usize::from(if holds {
                    instruction.jt
                } else {
                    instruction.jf
                });
            }
            // BPF_RET | BPF_K, BPF_RET | BPF_A
            0x06 => return k,
            0x16 => return a,
            // BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA
            0x07 => x = a,
            0x87 => a = x,
            _ => return RET_KILL_PROCESS,
        }
    }
    RET_KILL_PROCESS
}

/// A system call gpa makes on the exit path or when a thread starts, with the arguments it
/// passes where a filter may look at them.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// Its name, for the report.
    pub name: &'static str,
    /// Its number on x86-64.
    pub nr: i32,
    /// Its arguments, as gpa passes them (0 where they vary and filters seldom look).
    pub args: [u64; 6],
}

const fn call(name: &'static str, nr: i64, args: [u64; 6]) -> Call {
    Call {
        name,
        nr: nr as i32,
        args,
    }
}

/// `PROT_READ | PROT_WRITE`.
const READ_WRITE: u64 = 3;

/// The system calls of gpa's exit report (leak scan, thread stop, symbols, report files,
/// deadline), found with `strace -f` of a report and in the code; at most 64 (one bit each
/// in the stopped set). `sigaltstack` is also made when a thread starts.
pub const CALLS: [Call; 33] = [
    call("read", libc::SYS_read, [0; 6]),
    call("write", libc::SYS_write, [0; 6]),
    call("close", libc::SYS_close, [0; 6]),
    call("openat", libc::SYS_openat, [0; 6]),
    call("statx", libc::SYS_statx, [0; 6]),
    call("fstat", libc::SYS_fstat, [0; 6]),
    call("newfstatat", libc::SYS_newfstatat, [0; 6]),
    call("lseek", libc::SYS_lseek, [0; 6]),
    call("pread64", libc::SYS_pread64, [0; 6]),
    call("getdents64", libc::SYS_getdents64, [0; 6]),
    call("readlink", libc::SYS_readlink, [0; 6]),
    call("fcntl", libc::SYS_fcntl, [0; 6]),
    call(
        "mmap",
        libc::SYS_mmap,
        [0, 0, READ_WRITE, 0x22, u64::MAX, 0],
    ),
    call("munmap", libc::SYS_munmap, [0; 6]),
    call("mprotect", libc::SYS_mprotect, [0, 0, READ_WRITE, 0, 0, 0]),
    call("madvise", libc::SYS_madvise, [0; 6]),
    call("mremap", libc::SYS_mremap, [0; 6]),
    call("mincore", libc::SYS_mincore, [0; 6]),
    call("process_vm_readv", libc::SYS_process_vm_readv, [0; 6]),
    call("futex", libc::SYS_futex, [0; 6]),
    call("getpid", libc::SYS_getpid, [0; 6]),
    call("getppid", libc::SYS_getppid, [0; 6]),
    call("gettid", libc::SYS_gettid, [0; 6]),
    call("tgkill", libc::SYS_tgkill, [0; 6]),
    call("rt_sigaction", libc::SYS_rt_sigaction, [0; 6]),
    call("rt_sigprocmask", libc::SYS_rt_sigprocmask, [0; 6]),
    call("rt_sigreturn", libc::SYS_rt_sigreturn, [0; 6]),
    call("sigaltstack", libc::SYS_sigaltstack, [0; 6]),
    call("alarm", libc::SYS_alarm, [0; 6]),
    call("prlimit64", libc::SYS_prlimit64, [0; 6]),
    call("sched_yield", libc::SYS_sched_yield, [0; 6]),
    call("nanosleep", libc::SYS_nanosleep, [0; 6]),
    call("exit_group", libc::SYS_exit_group, [0; 6]),
];

/// The bit of `name` in [`stopped`]'s sets, found at compile time (a name not in [`CALLS`]
/// fails the build): for tests on hot paths, one load and one `and`.
pub const fn bit_of(name: &str) -> u64 {
    let mut i = 0;
    while i < CALLS.len() {
        let (a, b) = (CALLS[i].name.as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return 1 << i;
            }
        }
        i += 1;
    }
    panic!("not a call of CALLS")
}

/// The index of `name` in [`CALLS`] (for callers that test one call).
pub fn index_of(name: &str) -> Option<usize> {
    CALLS.iter().position(|call| call.name == name)
}

/// Bit `i`: a filter of this process stops `CALLS[i]`.
static STOPPED: AtomicU64 = AtomicU64::new(0);

/// The calls of [`CALLS`] that the program whose instruction `pc` is `fetch(pc)` would stop,
/// as a set (bit `i` for `CALLS[i]`).
pub fn stopped_by(fetch: impl Fn(usize) -> Option<SockFilter> + Copy) -> u64 {
    let mut set = 0;
    for (i, call) in CALLS.iter().enumerate() {
        let data = SeccompData {
            nr: call.nr,
            arch: AUDIT_ARCH_X86_64,
            instruction_pointer: 0,
            args: call.args,
        };
        if verdict(evaluate(fetch, &data)) == Verdict::Stops {
            set |= 1 << i;
        }
    }
    set
}

/// The calls strict mode (`SECCOMP_MODE_STRICT`) stops: all but `read`, `write`, `exit` and
/// `rt_sigreturn` (`exit_group` included).
pub fn stopped_by_strict_mode() -> u64 {
    let mut set = 0;
    for (i, call) in CALLS.iter().enumerate() {
        if !matches!(call.name, "read" | "write" | "rt_sigreturn") {
            set |= 1 << i;
        }
    }
    set
}

/// The calls the filter program at `program` (a `struct sock_fprog *` from the program) would
/// stop; `None` when it cannot be read (the kernel will refuse it with `EFAULT`). Reads the
/// program's memory only where it is mapped readable.
pub fn stopped_by_program_at(program: usize) -> Option<u64> {
    let header = core::mem::size_of::<SockFprog>();
    if program == 0 || !range_readable(program, header) {
        return None;
    }
    // SAFETY: `header` readable bytes at `program` (checked above); read unaligned.
    let fprog = unsafe { (program as *const SockFprog).read_unaligned() };
    let bytes = usize::from(fprog.len) * core::mem::size_of::<SockFilter>();
    let start = fprog.filter as usize;
    if fprog.len == 0 || !range_readable(start, bytes) {
        return None;
    }
    let len = usize::from(fprog.len);
    // Read one by one and unaligned: the kernel copies the program's bytes, wherever they lie.
    Some(stopped_by(|pc| {
        // SAFETY: instruction `pc < len` lies in the `bytes` readable bytes at `start`
        // (checked above); the program does not change them while it installs them.
        (pc < len).then(|| unsafe { fprog.filter.add(pc).read_unaligned() })
    }))
}

/// Whether every page of `[start, start + len)` is readable.
fn range_readable(start: usize, len: usize) -> bool {
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    let page = super::page_size();
    let mut at = start;
    while at < end {
        if !super::readable(at) {
            return false;
        }
        at = (at / page + 1) * page;
    }
    super::readable(end - 1)
}

/// The soft `RLIMIT_FSIZE` when the last filter was installed (`u64::MAX`: none known or
/// unlimited). A write past it raises `SIGXFSZ`, which kills the process: sshd's child lowers
/// it to 0 before its filter, so a note written then would end the process.
static FILE_SIZE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Reads the soft `RLIMIT_FSIZE` now (before a filter that may kill `prlimit64` is in place).
pub fn note_file_size_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid `rlimit` to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } == 0 {
        FILE_SIZE_LIMIT.store(limit.rlim_cur, Ordering::Relaxed);
    }
}

/// The soft `RLIMIT_FSIZE` [`note_file_size_limit`] read (`u64::MAX`: unlimited or unknown).
pub fn file_size_limit() -> u64 {
    FILE_SIZE_LIMIT.load(Ordering::Relaxed)
}

/// Adds `set` (from [`stopped_by`] and kin) to the process's stopped calls, once the kernel
/// has taken the filter.
pub fn commit(set: u64) {
    STOPPED.fetch_or(set, Ordering::AcqRel);
}

/// The calls a filter of this process stops (bit `i` for `CALLS[i]`).
pub fn stopped() -> u64 {
    STOPPED.load(Ordering::Acquire)
}

/// Whether a filter of this process stops the call named `name` (of [`CALLS`]).
pub fn stops(name: &str) -> bool {
    // One load when no filter stops anything (every process but a sandboxed one's).
    let set = stopped();
    set != 0 && index_of(name).is_some_and(|i| set & (1 << i) != 0)
}

/// The calls of [`CALLS`] the exit report does without when a filter stops them, so that
/// a process whose filters stop only these is still reported (Valgrind reports it):
/// `getdents64` lists the threads to stop, which a process that has no other thread
/// (`super::thread_count`) does not need, and which are found in glibc's thread descriptors
/// otherwise (`leakcheck::unlisted`: a thread gpa finds no descriptor of still leaves the
/// report out); `sched_yield` is only a contended lock's wait,
/// which then spins instead ([`super::yield_now`]). A set, as [`stopped`]'s.
pub const DONE_WITHOUT: u64 = bit_of("getdents64") | bit_of("sched_yield");

/// The calls of `set` that the exit report cannot do without: all but [`DONE_WITHOUT`].
pub fn needed(set: u64) -> u64 {
    set & !DONE_WITHOUT
}

/// The names of the calls in `set`, comma-separated, into `out`; the bytes written.
pub fn names(set: u64, out: &mut [u8]) -> usize {
    let mut len = 0;
    for (i, call) in CALLS.iter().enumerate() {
        if set & (1 << i) == 0 {
            continue;
        }
        let separator: &[u8] = if len == 0 { b"" } else { b", " };
        let name = call.name.as_bytes();
        if len + separator.len() + name.len() > out.len() {
            break;
        }
        out[len..len + separator.len()].copy_from_slice(separator);
        len += separator.len();
        out[len..len + name.len()].copy_from_slice(name);
        len += name.len();
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_does_without_getdents64_and_sched_yield_only() {
        let bit = |name| 1u64 << index_of(name).unwrap();
        let mild = bit("getdents64") | bit("sched_yield");
        assert_eq!(needed(mild), 0);
        assert_eq!(needed(mild | bit("mincore")), bit("mincore"));
        assert_eq!(
            needed(stopped_by_strict_mode()) & bit("openat"),
            bit("openat")
        );
    }

    const fn stmt(code: u16, k: u32) -> SockFilter {
        SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }
    const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }
    const LD_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;

    fn eval_slice(program: &[SockFilter], data: &SeccompData) -> u32 {
        evaluate(|pc| program.get(pc).copied(), data)
    }

    fn stopped_by_slice(program: &[SockFilter]) -> u64 {
        stopped_by(|pc| program.get(pc).copied())
    }

    fn data(nr: i64, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr: nr as i32,
            arch: AUDIT_ARCH_X86_64,
            instruction_pointer: 0x1234_5678_9abc_def0,
            args,
        }
    }

    /// OpenSSH's shape: the architecture checked, an allow list, `EACCES` for `openat`, a
    /// protection mask test for `mmap`, kill for the rest.
    fn sshd_like() -> std::vec::Vec<SockFilter> {
        let mut program = vec![
            stmt(LD_ABS, 4),
            jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
            stmt(RET_K, RET_KILL_PROCESS),
            stmt(LD_ABS, 0),
            jump(JEQ_K, libc::SYS_openat as u32, 0, 1),
            stmt(RET_K, RET_ERRNO | libc::EACCES as u32),
            // mmap: allowed when args[2] has no bit outside PROT_READ | PROT_WRITE.
            jump(JEQ_K, libc::SYS_mmap as u32, 0, 5),
            stmt(LD_ABS, 16 + 2 * 8),
            stmt(0x54, !3u32), // BPF_ALU | BPF_AND | BPF_K
            jump(JEQ_K, 0, 0, 1),
            stmt(RET_K, RET_ALLOW),
            stmt(LD_ABS, 0),
        ];
        for allowed in [libc::SYS_read, libc::SYS_write, libc::SYS_exit_group] {
            program.push(jump(JEQ_K, allowed as u32, 0, 1));
            program.push(stmt(RET_K, RET_ALLOW));
        }
        program.push(stmt(RET_K, RET_KILL_THREAD));
        program
    }

    #[test]
    fn an_allow_list_filter_is_read_as_the_kernel_reads_it() {
        let program = sshd_like();
        let run = |nr, args| verdict(eval_slice(&program, &data(nr, args)));
        assert_eq!(run(libc::SYS_read, [0; 6]), Verdict::Allows);
        assert_eq!(run(libc::SYS_exit_group, [0; 6]), Verdict::Allows);
        assert_eq!(run(libc::SYS_openat, [0; 6]), Verdict::Refuses);
        assert_eq!(run(libc::SYS_sigaltstack, [0; 6]), Verdict::Stops);
        assert_eq!(
            run(libc::SYS_mmap, [0, 4096, 3, 0x22, 0, 0]),
            Verdict::Allows
        );
        assert_eq!(
            run(libc::SYS_mmap, [0, 4096, 7, 0x22, 0, 0]),
            Verdict::Stops
        );
        let mut other_arch = data(libc::SYS_read, [0; 6]);
        other_arch.arch = 0x4000_0003; // AUDIT_ARCH_I386
        assert_eq!(verdict(eval_slice(&program, &other_arch)), Verdict::Stops);
        let set = stopped_by_slice(&program);
        let stopped: std::vec::Vec<&str> = CALLS
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, call)| call.name)
            .collect();
        assert!(stopped.contains(&"sigaltstack") && stopped.contains(&"mincore"));
        assert!(!stopped.contains(&"read") && !stopped.contains(&"openat"));
        assert!(!stopped.contains(&"mmap") && !stopped.contains(&"exit_group"));
        let mut text = [0u8; 512];
        let len = names(
            1 << index_of("read").unwrap() | 1 << index_of("mmap").unwrap(),
            &mut text,
        );
        assert_eq!(&text[..len], b"read, mmap");
    }

    #[test]
    fn every_instruction_seccomp_admits_computes_as_the_kernel_does() {
        // A = nr; X = A; A = args[0] low; A += 3; A *= X; M[2] = A; A = 7; A = M[2];
        // A -= 1; A /= 2; A %= 1000; A |= 0x10000; A ^= 1; A <<= 1; A >>= 1; A = -A; A = -A;
        // X = M[2]... return A if A >= 100 else a marker.
        let program = [
            stmt(LD_ABS, 0),
            stmt(0x07, 0), // tax
            stmt(LD_ABS, 16),
            stmt(0x04, 3),             // add k
            stmt(0x2c, 0),             // mul x
            stmt(0x02, 2),             // st M[2]
            stmt(0x00, 7),             // ld imm
            stmt(0x60, 2),             // ld M[2]
            stmt(0x14, 1),             // sub k
            stmt(0x34, 2),             // div k
            stmt(0x94, 1000),          // mod k
            stmt(0x44, 0x10000),       // or k
            stmt(0xa4, 1),             // xor k
            stmt(0x64, 1),             // lsh k
            stmt(0x74, 1),             // rsh k
            stmt(0x84, 0),             // neg
            stmt(0x84, 0),             // neg
            stmt(0x03, 5),             // stx M[5]
            stmt(0x61, 5),             // ldx M[5]
            jump(0x3d, 0, 0, 2),       // jge x: A >= X
            jump(0x45, 0x10000, 1, 0), // jset k
            stmt(RET_K, 1),
            stmt(0x16, 0), // ret a
        ];
        // nr 3, arg 5: ((5 + 3) * 3 - 1) / 2 = 11; 11 % 1000 = 11; | 0x10000 = 0x1000b;
        // ^ 1 = 0x1000a; << 1 >> 1 = 0x1000a; -(-x) = x. X = 3: A >= X, bit 0x10000 set.
        let result = eval_slice(&program, &data(3, [5, 0, 0, 0, 0, 0]));
        assert_eq!(result, 0x1000a);
        // Division by an X of zero ends the program with 0 (kill).
        let by_zero = [
            stmt(0x01, 0),
            stmt(0x00, 9),
            stmt(0x3c, 0),
            stmt(RET_K, RET_ALLOW),
        ];
        assert_eq!(eval_slice(&by_zero, &data(0, [0; 6])), 0);
        // Loads of the high words and the length; `ja`; an unaligned load is refused.
        let high = [
            stmt(LD_ABS, 12), // instruction_pointer's high word
            jump(JEQ_K, 0x1234_5678, 1, 0),
            stmt(RET_K, RET_KILL_THREAD),
            stmt(0x05, 1), // ja +1
            stmt(RET_K, RET_KILL_THREAD),
            stmt(0x80, 0), // ld len
            jump(JEQ_K, 64, 0, 1),
            stmt(RET_K, RET_ALLOW),
            stmt(RET_K, RET_KILL_THREAD),
        ];
        assert_eq!(eval_slice(&high, &data(0, [0; 6])), RET_ALLOW);
        assert_eq!(
            eval_slice(&[stmt(LD_ABS, 2), stmt(RET_K, RET_ALLOW)], &data(0, [0; 6])),
            RET_KILL_PROCESS
        );
        // No `ret`: the kernel would not take it.
        assert_eq!(
            eval_slice(&[stmt(0x00, 1)], &data(0, [0; 6])),
            RET_KILL_PROCESS
        );
    }

    #[test]
    fn actions_map_to_what_they_do_to_gpas_calls() {
        assert_eq!(verdict(RET_ALLOW), Verdict::Allows);
        assert_eq!(verdict(RET_LOG), Verdict::Allows);
        assert_eq!(verdict(RET_ERRNO | 13), Verdict::Refuses);
        assert_eq!(verdict(RET_TRACE), Verdict::Refuses);
        for stops in [
            RET_KILL_PROCESS,
            RET_KILL_THREAD,
            RET_TRAP | 5,
            RET_USER_NOTIF,
            0x1234_0000,
        ] {
            assert_eq!(verdict(stops), Verdict::Stops, "{stops:#x}");
        }
        let strict = stopped_by_strict_mode();
        assert_eq!(strict & (1 << index_of("write").unwrap()), 0);
        assert_ne!(strict & (1 << index_of("exit_group").unwrap()), 0);
    }

    #[test]
    fn a_program_is_read_only_where_it_is_mapped() {
        let program = sshd_like();
        let fprog = SockFprog {
            len: program.len() as u16,
            filter: program.as_ptr(),
        };
        let set = stopped_by_program_at(&fprog as *const SockFprog as usize);
        assert_eq!(set, Some(stopped_by_slice(&program)));
        assert_eq!(stopped_by_program_at(0), None);
        // The same program at an odd address (the kernel copies it from anywhere).
        let size = core::mem::size_of::<SockFilter>();
        let mut bytes = vec![0u8; program.len() * size + 1];
        for (i, instruction) in program.iter().enumerate() {
            let at = 1 + i * size;
            bytes[at..at + 2].copy_from_slice(&instruction.code.to_ne_bytes());
            bytes[at + 2] = instruction.jt;
            bytes[at + 3] = instruction.jf;
            bytes[at + 4..at + 8].copy_from_slice(&instruction.k.to_ne_bytes());
        }
        let odd = SockFprog {
            len: program.len() as u16,
            filter: bytes[1..].as_ptr().cast(),
        };
        assert_eq!(
            stopped_by_program_at(&odd as *const SockFprog as usize),
            Some(stopped_by_slice(&program))
        );
        let dangling = SockFprog {
            len: 4,
            filter: 8 as *const SockFilter,
        };
        assert_eq!(
            stopped_by_program_at(&dangling as *const SockFprog as usize),
            None
        );
    }
}
