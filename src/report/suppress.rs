//! Suppressions: findings a user does not own (a third-party library's leaks, known issues),
//! silenced by patterns over their stack traces, in Valgrind's and LeakSanitizer's formats.
//!
//! # Design
//! A [`Suppressions`] set is parsed from text that may mix both formats:
//!
//! * **Valgrind** (memcheck's `--suppressions`, `--gen-suppressions` output):
//!   ```text
//!   {
//!      name-of-the-entry
//!      Memcheck:Leak
//!      match-leak-kinds: definite,possible
//!      fun:malloc
//!      fun:make_*
//!      ...
//!      obj:/usr/lib/x86_64-linux-gnu/libfoo.so*
//!   }
//!   ```
//!   The frame lines match the innermost frames of the finding's stack in order: `fun:` a
//!   function name, `obj:` the object file, `src:` the source file (optionally `:line`), each a
//!   pattern where `*` matches any run of characters and `?` one character; a `...` line
//!   matches any number of frames (none included). Frames beyond the last line are not looked
//!   at. The kinds map to gpa's findings where they correspond: `Leak` to leak records
//!   (`match-leak-kinds`, default all kinds), `Free` to invalid, double and mismatched frees,
//!   `Addr1`..`Addr32` to bad accesses (overflow, underflow, read or write after free),
//!   `Overlap` to overlapping copies of libc functions. Other memcheck kinds (uninitialised
//!   values, `Param`...) have no gpa counterpart and never match.
//! * **LeakSanitizer** (`LSAN_OPTIONS=suppressions=FILE`): one `leak:PATTERN` per line, `#`
//!   comments. A leak is suppressed when any frame's function, object file or source file
//!   contains the pattern; `*` matches any run of characters, `^` and `$` anchor the pattern at
//!   the start or end of the name.
//!
//! The stack a suppression sees is the one a report shows, trimmed to the program's frames,
//! with one frame in front naming the allocation (or freeing) entry point the program called
//! (`malloc`, `calloc`, `free`, `operator new(unsigned long)`...), as in Valgrind's stacks.
//! [`generate`] writes a Valgrind entry for a finding; it matches that finding.
//!
//! The same [`Pattern`] matching serves other callers that mark allocation sites by function
//! name (the Rust GPA's cache markers).
//!
//! # Invariants
//! * Parsing never panics on any input; an error names the line.

use super::{FindingKind, LeakKind};

/// One frame as a suppression sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackFrame<'a> {
    /// The function's (demangled) name, where known.
    pub function: Option<&'a str>,
    /// The object file (executable or shared library) holding the code, where known.
    pub object: Option<&'a str>,
    /// The source file, where known.
    pub file: Option<&'a str>,
    /// The source line, where known.
    pub line: Option<u32>,
}

/// A name pattern: `*` matches any run of characters (none included), `?` one character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// A pattern from its text.
    pub fn new(text: &str) -> Pattern {
        Pattern(text.to_owned())
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        glob(self.0.as_bytes(), text.as_bytes())
    }
}

/// Valgrind's wildcard match: `*` any run, `?` one character (iterative, linear in practice).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    wildcard_match(pattern, text, true)
}

/// LeakSanitizer's template match: substring unless anchored with `^`/`$`; `*` any run.
fn template_match(template: &str, text: &str) -> bool {
    let anchored_start = template.starts_with('^');
    let anchored_end = template.ends_with('$') && template.len() > usize::from(anchored_start);
    let core = &template[usize::from(anchored_start)..template.len() - usize::from(anchored_end)];
    let mut pattern = String::with_capacity(core.len() + 2);
    if !anchored_start {
        pattern.push('*');
    }
    pattern.push_str(core);
    if !anchored_end {
        pattern.push('*');
    }
    // `?` is literal in LeakSanitizer's templates.
    wildcard_match(pattern.as_bytes(), text.as_bytes(), false)
}

/// `*` matches any run of bytes; `?` one byte when `question_mark` (else itself).
fn wildcard_match(pattern: &[u8], text: &[u8], question_mark: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let single = p < pattern.len()
            && pattern[p] != b'*'
            && (pattern[p] == text[t] || question_mark && pattern[p] == b'?');
        if single {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// One line of a Valgrind suppression's stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameLine {
    /// `fun:PATTERN`.
    Function(Pattern),
    /// `obj:PATTERN`.
    Object(Pattern),
    /// `src:PATTERN` or `src:PATTERN:LINE`.
    Source(Pattern, Option<u32>),
    /// `...`: any number of frames.
    Any,
}

impl FrameLine {
    fn matches(&self, frame: &StackFrame<'_>) -> bool {
        match self {
            FrameLine::Function(pattern) => frame.function.is_some_and(|f| pattern.matches(f)),
            FrameLine::Object(pattern) => frame.object.is_some_and(|o| pattern.matches(o)),
            FrameLine::Source(pattern, line) => {
                frame.file.is_some_and(|file| {
                    pattern.matches(file)
                        || pattern.matches(file.rsplit('/').next().unwrap_or(file))
                }) && line.is_none_or(|line| frame.line == Some(line))
            }
            FrameLine::Any => true,
        }
    }
}

/// What kind of finding an entry silences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Leak records of these kinds (`Memcheck:Leak`; LeakSanitizer's `leak:` matches all).
    Leak(crate::leakcheck::KindSet),
    /// Invalid, double, mismatched frees (`Memcheck:Free`).
    Free,
    /// Bad accesses: overflow, underflow, read or write after free (`Memcheck:Addr*`).
    Access,
    /// Overlapping source and destination of a libc copy (`Memcheck:Overlap`).
    Overlap,
    /// A negative size argument of an allocation function (`Memcheck:FishyValue`).
    FishyValue,
    /// A memcheck kind gpa has no counterpart for (kept so the file parses; never matches).
    Other,
}

impl Target {
    fn covers_finding(self, kind: FindingKind) -> bool {
        match self {
            Target::Free => matches!(
                kind,
                FindingKind::InvalidFree
                    | FindingKind::DoubleFree
                    | FindingKind::MismatchedFree
                    | FindingKind::ForeignFree
                    | FindingKind::LayoutMismatch
            ),
            Target::Access => matches!(
                kind,
                FindingKind::Overflow
                    | FindingKind::Underflow
                    | FindingKind::ReadAfterFree
                    | FindingKind::WriteAfterFree
            ),
            Target::Overlap => kind == FindingKind::Overlap,
            Target::FishyValue => kind == FindingKind::FishyValue,
            Target::Leak(_) | Target::Other => false,
        }
    }
}

/// How an entry matches a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Matcher {
    /// Valgrind: frame lines against the innermost frames.
    Frames(std::vec::Vec<FrameLine>),
    /// LeakSanitizer: a template against any frame's function, object or file.
    Template(String),
}

/// One suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name (Valgrind's first line; for LeakSanitizer, the line itself).
    pub name: String,
    /// Where it came from (`file:line`).
    pub origin: String,
    /// What it silences.
    pub target: Target,
    matcher: Matcher,
}

impl Entry {
    /// Whether the entry matches `stack` (innermost frame first).
    pub fn matches_stack(&self, stack: &[StackFrame<'_>]) -> bool {
        match &self.matcher {
            Matcher::Frames(lines) => frames_match(lines, stack),
            Matcher::Template(template) => stack.iter().any(|frame| {
                [frame.function, frame.object, frame.file]
                    .into_iter()
                    .flatten()
                    .any(|name| template_match(template, name))
            }),
        }
    }
}

/// Whether `lines` match a prefix of `stack` (`...` spans any number of frames).
fn frames_match(lines: &[FrameLine], stack: &[StackFrame<'_>]) -> bool {
    match lines.split_first() {
        None => true,
        Some((FrameLine::Any, rest)) => {
            (0..=stack.len()).any(|skip| frames_match(rest, &stack[skip..]))
        }
        Some((line, rest)) => stack
            .split_first()
            .is_some_and(|(frame, deeper)| line.matches(frame) && frames_match(rest, deeper)),
    }
}

/// A parse error, naming the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// `origin:line`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// gpa's built-in suppressions (`src/report/default.supp`): blocks the C library keeps until
/// exit that no program can free, as in Valgrind's `default.supp`.
pub const BUILT_IN: &str = include_str!("default.supp");

/// A set of suppressions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suppressions {
    entries: std::vec::Vec<Entry>,
}

impl Suppressions {
    /// An empty set.
    pub fn new() -> Suppressions {
        Suppressions::default()
    }

    /// The entries, in the order they were added.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the entries of `other`.
    pub fn extend(&mut self, other: Suppressions) {
        self.entries.extend(other.entries);
    }

    /// The built-in set (`default.supp`, compiled in).
    pub fn built_in() -> Suppressions {
        Suppressions::parse(BUILT_IN, "<built-in>").unwrap_or_default()
    }

    /// Reads and parses a file.
    pub fn from_file(path: &std::path::Path) -> Result<Suppressions, ParseError> {
        let text = std::fs::read_to_string(path).map_err(|error| ParseError {
            location: path.display().to_string(),
            message: format!("cannot read: {error}"),
        })?;
        Suppressions::parse(&text, &path.display().to_string())
    }

    /// Parses suppressions in either format (see the module docs); `origin` names the source
    /// in error messages and in each entry's `origin`.
    pub fn parse(text: &str, origin: &str) -> Result<Suppressions, ParseError> {
        let mut entries = std::vec::Vec::new();
        let mut lines = text.lines().enumerate().peekable();
        let error = |number: usize, message: String| ParseError {
            location: format!("{origin}:{}", number + 1),
            message,
        };
        while let Some((number, raw)) = lines.next() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "{" {
                let mut body = std::vec::Vec::new();
                loop {
                    let Some((inner, raw_inner)) = lines.next() else {
                        return Err(error(number, "`{` without a closing `}`".into()));
                    };
                    let inner_line = raw_inner.trim();
                    if inner_line == "}" {
                        break;
                    }
                    if inner_line.is_empty() || inner_line.starts_with('#') {
                        continue;
                    }
                    body.push((inner, inner_line));
                }
                entries
                    .push(parse_valgrind(&body, number, origin).map_err(|(at, m)| error(at, m))?);
                continue;
            }
            let Some((kind, pattern)) = line.split_once(':') else {
                return Err(error(
                    number,
                    format!("expected `{{` (Valgrind) or `leak:PATTERN` (LeakSanitizer), found `{line}`"),
                ));
            };
            let pattern = pattern.trim();
            if kind.trim() != "leak" {
                return Err(error(
                    number,
                    format!(
                        "unsupported suppression type `{}` (gpa reads `leak:`)",
                        kind.trim()
                    ),
                ));
            }
            if pattern.is_empty() {
                return Err(error(number, "empty pattern after `leak:`".into()));
            }
            entries.push(Entry {
                name: line.to_owned(),
                origin: format!("{origin}:{}", number + 1),
                target: Target::Leak(crate::leakcheck::KindSet::ALL),
                matcher: Matcher::Template(pattern.to_owned()),
            });
        }
        Ok(Suppressions { entries })
    }

    /// The first entry silencing a leak record of `kind` allocated at `stack`.
    pub fn match_leak(&self, kind: LeakKind, stack: &[StackFrame<'_>]) -> Option<&Entry> {
        self.entries.iter().find(|entry| {
            matches!(entry.target, Target::Leak(kinds) if kinds.contains(kind))
                && entry.matches_stack(stack)
        })
    }

    /// The first entry silencing a finding of `kind` (not a leak) with `stack`.
    pub fn match_finding(&self, kind: FindingKind, stack: &[StackFrame<'_>]) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.target.covers_finding(kind) && entry.matches_stack(stack))
    }
}

type BodyError = (usize, String);

fn parse_valgrind(body: &[(usize, &str)], open: usize, origin: &str) -> Result<Entry, BodyError> {
    let mut lines = body.iter();
    let Some(&(_, name)) = lines.next() else {
        return Err((open, "empty suppression (expected a name)".into()));
    };
    let Some(&(kind_at, kind_line)) = lines.next() else {
        return Err((
            open,
            format!("suppression `{name}` has no `Tool:Kind` line"),
        ));
    };
    let Some((tools, kind)) = kind_line.split_once(':') else {
        return Err((
            kind_at,
            format!("expected `Memcheck:KIND`, found `{kind_line}`"),
        ));
    };
    let memcheck = tools
        .split(',')
        .any(|tool| matches!(tool.trim(), "Memcheck" | "memcheck" | "*"));
    let mut target = match kind.trim() {
        "Leak" => Target::Leak(crate::leakcheck::KindSet::ALL),
        "Free" => Target::Free,
        "Overlap" => Target::Overlap,
        "FishyValue" => Target::FishyValue,
        kind if kind.starts_with("Addr") => Target::Access,
        _ => Target::Other,
    };
    if !memcheck {
        target = Target::Other;
    }
    let mut frames = std::vec::Vec::new();
    let mut rest = lines.peekable();
    // `Param` carries one extra line (the syscall parameter); skip it.
    if kind.trim() == "Param" {
        rest.next();
    }
    for &(at, line) in rest {
        if let Some(kinds) = line.strip_prefix("match-leak-kinds:") {
            let set = crate::leakcheck::KindSet::parse(kinds.trim()).map_err(|m| (at, m))?;
            if let Target::Leak(_) = target {
                target = Target::Leak(set);
            }
            continue;
        }
        let frame = if line == "..." {
            FrameLine::Any
        } else if let Some(pattern) = line.strip_prefix("fun:") {
            FrameLine::Function(Pattern::new(pattern.trim()))
        } else if let Some(pattern) = line.strip_prefix("obj:") {
            FrameLine::Object(Pattern::new(pattern.trim()))
        } else if let Some(pattern) = line.strip_prefix("src:") {
            let pattern = pattern.trim();
            match pattern.rsplit_once(':') {
                Some((file, number)) if number.parse::<u32>().is_ok() => {
                    FrameLine::Source(Pattern::new(file), number.parse().ok())
                }
                _ => FrameLine::Source(Pattern::new(pattern), None),
            }
        } else {
            return Err((
                at,
                format!("expected `fun:`, `obj:`, `src:` or `...`, found `{line}`"),
            ));
        };
        frames.push(frame);
    }
    if frames.is_empty() {
        return Err((open, format!("suppression `{name}` has no frame lines")));
    }
    Ok(Entry {
        name: name.to_owned(),
        origin: format!("{origin}:{}", open + 1),
        target,
        matcher: Matcher::Frames(frames),
    })
}

/// A ready Valgrind entry for a finding: `Memcheck:Leak` with `match-leak-kinds` for a leak
/// record, `Memcheck:Free` for a bad free, `Memcheck:Addr8` for a bad access; one line per
/// frame (`fun:` where the function is known, else `obj:`, else `...`).
pub fn generate(
    kind: FindingKind,
    leak_kind: Option<LeakKind>,
    stack: &[StackFrame<'_>],
) -> Option<String> {
    let memcheck_kind = match kind {
        FindingKind::Leak => "Leak",
        kind if Target::Free.covers_finding(kind) => "Free",
        kind if Target::Access.covers_finding(kind) => "Addr8",
        FindingKind::Overlap => "Overlap",
        FindingKind::FishyValue => "FishyValue",
        _ => return None,
    };
    let mut text = String::from("{\n   <insert_a_suppression_name_here>\n");
    text.push_str(&format!("   Memcheck:{memcheck_kind}\n"));
    if let Some(leak_kind) = leak_kind {
        text.push_str(&format!("   match-leak-kinds: {}\n", leak_kind.as_str()));
    }
    for frame in stack {
        match (frame.function, frame.object) {
            (Some(function), _) => text.push_str(&format!("   fun:{function}\n")),
            (None, Some(object)) => text.push_str(&format!("   obj:{object}\n")),
            (None, None) => text.push_str("   ...\n"),
        }
    }
    text.push_str("}\n");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leakcheck::KindSet;

    fn frame<'a>(function: &'a str, object: &'a str) -> StackFrame<'a> {
        StackFrame {
            function: Some(function),
            object: Some(object),
            file: None,
            line: None,
        }
    }

    fn stack() -> std::vec::Vec<StackFrame<'static>> {
        std::vec![
            frame("malloc", "/usr/lib/libgpa_preload.so"),
            frame("make_cache", "/usr/lib/libthird.so.1"),
            frame("init_library", "/usr/lib/libthird.so.1"),
            frame("main", "/home/me/prog"),
        ]
    }

    #[test]
    fn the_built_in_set_parses() {
        let set = Suppressions::built_in();
        assert!(set.entries().len() >= 3);
        assert_eq!(Suppressions::parse(BUILT_IN, "<built-in>").unwrap(), set);
    }

    #[test]
    fn wildcards() {
        assert!(Pattern::new("make_*").matches("make_cache"));
        assert!(Pattern::new("*cache").matches("make_cache"));
        assert!(Pattern::new("m?ke_c*e").matches("make_cache"));
        assert!(Pattern::new("*").matches(""));
        assert!(!Pattern::new("make_").matches("make_cache"));
        assert!(!Pattern::new("?").matches(""));
        assert!(Pattern::new("a*b*c").matches("aXXbYYc"));
        assert!(!Pattern::new("a*b*c").matches("aXXbYY"));
        assert!(template_match("cache", "make_cache_now"));
        assert!(template_match("^make", "make_cache"));
        assert!(!template_match("^cache", "make_cache"));
        assert!(template_match("cache$", "make_cache"));
        assert!(template_match("mak*ach", "make_cache"));
        assert!(
            !template_match("a?c", "abc"),
            "`?` is literal for LeakSanitizer"
        );
    }

    #[test]
    fn valgrind_entries_match_prefixes_with_ellipses() {
        let text = "# a comment\n{\n   third-party-cache\n   Memcheck:Leak\n   match-leak-kinds: definite,possible\n   fun:malloc\n   fun:make_*\n}\n\
                    {\n   any-depth\n   Memcheck:Leak\n   fun:malloc\n   ...\n   fun:main\n}\n\
                    {\n  by-object\n  Memcheck:Leak\n  match-leak-kinds: reachable\n  obj:*/libgpa_preload.so\n  obj:*libthird.so*\n}\n";
        let set = Suppressions::parse(text, "test.supp").unwrap();
        assert_eq!(set.entries().len(), 3);
        assert_eq!(set.entries()[0].origin, "test.supp:2");
        let stack = stack();
        assert_eq!(
            set.match_leak(LeakKind::Definite, &stack)
                .map(|e| e.name.as_str()),
            Some("third-party-cache")
        );
        // `match-leak-kinds` restricts the first entry; the second matches any kind.
        assert_eq!(
            set.match_leak(LeakKind::Indirect, &stack)
                .map(|e| e.name.as_str()),
            Some("any-depth")
        );
        // `...` also matches zero frames; a missing frame does not match.
        let short = [stack[0], stack[3]];
        assert_eq!(
            set.match_leak(LeakKind::Indirect, &short)
                .map(|e| e.name.as_str()),
            Some("any-depth")
        );
        assert!(set.match_leak(LeakKind::Indirect, &stack[..2]).is_none());
        assert_eq!(
            set.match_leak(LeakKind::Reachable, &stack[..2])
                .map(|e| e.name.as_str()),
            Some("by-object")
        );
        // Leak entries never silence other findings.
        assert!(set.match_finding(FindingKind::DoubleFree, &stack).is_none());
    }

    #[test]
    fn memcheck_kinds_map_to_findings() {
        let text = "{\n f\n Memcheck:Free\n fun:free\n fun:make_cache\n}\n\
                    {\n a\n Memcheck:Addr4\n fun:make_cache\n}\n\
                    {\n c\n Memcheck:Cond\n fun:malloc\n}\n\
                    {\n p\n Memcheck:Param\n write(buf)\n fun:malloc\n}\n\
                    {\n h\n Helgrind:Race\n fun:malloc\n}\n";
        let set = Suppressions::parse(text, "k.supp").unwrap();
        let free_stack = [
            frame("free", "/usr/lib/libgpa_preload.so"),
            frame("make_cache", "/x"),
        ];
        for kind in [
            FindingKind::DoubleFree,
            FindingKind::InvalidFree,
            FindingKind::MismatchedFree,
        ] {
            assert_eq!(set.match_finding(kind, &free_stack).unwrap().name, "f");
        }
        assert_eq!(
            set.match_finding(FindingKind::Overflow, &free_stack[1..])
                .unwrap()
                .name,
            "a"
        );
        assert!(set
            .match_finding(FindingKind::Overflow, &free_stack)
            .is_none());
        // Cond, Param and other tools parse but never match.
        assert!(set.match_leak(LeakKind::Definite, &stack()).is_none());
    }

    #[test]
    fn overlap_entries_silence_overlapping_copies_only() {
        let text = "{\n o\n Memcheck:Overlap\n fun:make_cache\n}\n";
        let set = Suppressions::parse(text, "o.supp").unwrap();
        let stack = [frame("make_cache", "/x")];
        assert_eq!(
            set.match_finding(FindingKind::Overlap, &stack)
                .unwrap()
                .name,
            "o"
        );
        assert!(set.match_finding(FindingKind::Overflow, &stack).is_none());
        let entry = generate(FindingKind::Overlap, None, &stack).unwrap();
        assert!(entry.contains("Memcheck:Overlap\n"), "{entry}");
    }

    #[test]
    fn leak_sanitizer_lines() {
        let set =
            Suppressions::parse("# LSan\nleak:make_cache\nleak:libthird.so\n", "l.supp").unwrap();
        assert_eq!(set.entries().len(), 2);
        assert_eq!(
            set.match_leak(LeakKind::Reachable, &stack()).unwrap().name,
            "leak:make_cache"
        );
        let other = [
            frame("malloc", "/lib/a.so"),
            frame("work", "/usr/lib/libthird.so.1"),
        ];
        assert_eq!(
            set.match_leak(LeakKind::Definite, &other).unwrap().name,
            "leak:libthird.so"
        );
        assert!(set.match_finding(FindingKind::DoubleFree, &other).is_none());
    }

    #[test]
    fn errors_name_their_line() {
        let cases = [
            ("{\n name\n Memcheck:Leak\n fun:a\n", "x:1", "closing"),
            (
                "{\n name\n Memcheck:Leak\n bogus:a\n}\n",
                "x:4",
                "expected `fun:`",
            ),
            (
                "{\n name\n Memcheck:Leak\n match-leak-kinds: most\n fun:a\n}",
                "x:4",
                "unknown leak kind",
            ),
            ("{\n name\n}\n", "x:1", "no `Tool:Kind`"),
            ("{\n name\n Memcheck:Leak\n}\n", "x:1", "no frame lines"),
            ("race:foo\n", "x:1", "unsupported"),
            ("just words\n", "x:1", "expected `{`"),
            ("leak:\n", "x:1", "empty pattern"),
        ];
        for (text, location, message) in cases {
            let error = Suppressions::parse(text, "x").unwrap_err();
            assert_eq!(error.location, location, "{text:?}: {error}");
            assert!(error.message.contains(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn generated_entries_match_their_finding() {
        let stack = stack();
        let text = generate(FindingKind::Leak, Some(LeakKind::Definite), &stack).unwrap();
        assert_eq!(
            text,
            "{\n   <insert_a_suppression_name_here>\n   Memcheck:Leak\n   match-leak-kinds: definite\n   fun:malloc\n   fun:make_cache\n   fun:init_library\n   fun:main\n}\n"
        );
        let set = Suppressions::parse(&text, "gen").unwrap();
        assert!(set.match_leak(LeakKind::Definite, &stack).is_some());
        assert!(set.match_leak(LeakKind::Possible, &stack).is_none());
        let anonymous = [StackFrame {
            object: Some("/lib/x.so"),
            ..StackFrame::default()
        }];
        let text = generate(FindingKind::DoubleFree, None, &anonymous).unwrap();
        assert!(text.contains("Memcheck:Free\n   obj:/lib/x.so\n"), "{text}");
        let set = Suppressions::parse(&text, "gen").unwrap();
        assert!(set
            .match_finding(FindingKind::DoubleFree, &anonymous)
            .is_some());
        assert!(generate(FindingKind::InternalError, None, &anonymous).is_none());
        assert_eq!(set.entries()[0].target, Target::Free);
        let _ = KindSet::ALL;
    }
}
