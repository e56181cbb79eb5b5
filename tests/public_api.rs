//! The crate's public API, checked against `tests/public_api.txt`, so that it changes only on
//! purpose.
//!
//! The listing comes from the rustdoc HTML of `cargo doc --no-deps` (stable Rust; rustdoc's
//! JSON output, which `cargo public-api` reads, needs a nightly toolchain): every item of
//! `all.html` with its declaration, its inherent methods and the impl headers of its trait
//! implementations (and of `Send`, `Sync`, `Unpin`, `UnwindSafe`, `RefUnwindSafe`, which
//! matter to users). Hidden items (`#[doc(hidden)]`, such as `gpa::__capi` for the preload
//! library) are not part of it.
//!
//! After a deliberate change, regenerate the file and review the diff:
//!
//! ```sh
//! UPDATE_PUBLIC_API=1 cargo test -p gpa --test public_api
//! ```
//!
//! The listing depends on how rustdoc prints signatures; a new toolchain may reword a line,
//! which is regenerated the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Auto traits whose implementations are listed (the others change with the toolchain).
const AUTO_TRAITS: &[&str] = &["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

#[test]
fn public_api_matches_the_checked_in_listing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = build_docs(root);
    let listing = listing(&doc);
    let expected_path = root.join("tests/public_api.txt");
    if std::env::var_os("UPDATE_PUBLIC_API").is_some() {
        std::fs::write(&expected_path, &listing).unwrap();
        println!("wrote {}", expected_path.display());
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if listing != expected {
        let diff = line_diff(&expected, &listing);
        panic!(
            "the public API differs from tests/public_api.txt:\n{diff}\n\
             If the change is deliberate, run\n    \
             UPDATE_PUBLIC_API=1 cargo test -p gpa --test public_api\n\
             and commit the new listing (document every new item)."
        );
    }
}

/// Runs `cargo doc --no-deps` for the library and returns the crate's doc directory. It runs
/// in the build's own target directory: cargo holds no lock on it while the tests run (the CLI
/// tests build the preload library there too), and the dependencies' metadata and the crate's
/// check that `.ci/run`'s `cargo doc` step made serve it; a directory of its own built them all
/// again (20 s of CPU on a clean clone).
fn build_docs(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["doc", "--no-deps", "--lib", "-p", "gpa", "--offline", "-q"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTDOCFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo doc failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("doc/gpa")
}

/// The listing: modules, then every item with its entries, sorted.
fn listing(doc: &Path) -> String {
    let all = std::fs::read_to_string(doc.join("all.html")).expect("all.html");
    let start = all.find("id=\"main-content\"").expect("main content");
    let mut pages = BTreeSet::new();
    for href in attribute_values(&all[start..], "href=\"") {
        if href.ends_with(".html") && !href.contains("://") && !href.starts_with("..") {
            pages.insert(href.to_string());
        }
    }
    let mut items = Vec::new();
    let mut modules = BTreeSet::new();
    for page in &pages {
        let (dir, file) = page.rsplit_once('/').unwrap_or(("", page));
        let Some((kind, rest)) = file.split_once('.') else {
            continue;
        };
        let name = rest.trim_end_matches(".html");
        let mut path = String::from("gpa");
        for module in dir.split('/').filter(|m| !m.is_empty()) {
            path.push_str("::");
            path.push_str(module);
            modules.insert(path.clone());
        }
        path.push_str("::");
        path.push_str(name);
        let html = std::fs::read_to_string(doc.join(page)).expect("item page");
        items.push((path, kind.to_string(), item_entries(kind, &html)));
    }
    items.sort();
    // Modules without items of their own (the `docs` pages) appear only in their parent's
    // "Modules" section.
    let mut pending: Vec<String> = modules.iter().cloned().collect();
    pending.push("gpa".into());
    while let Some(module) = pending.pop() {
        let dir = module.split("::").skip(1).collect::<Vec<_>>().join("/");
        let Ok(index) = std::fs::read_to_string(doc.join(&dir).join("index.html")) else {
            continue;
        };
        for (id, body) in sections(&index) {
            if id != "modules" {
                continue;
            }
            for href in attribute_values(body, "href=\"") {
                if let Some(name) = href.strip_suffix("/index.html") {
                    if !name.contains('/') && !name.contains('.') {
                        let child = format!("{module}::{name}");
                        if modules.insert(child.clone()) {
                            pending.push(child);
                        }
                    }
                }
            }
        }
    }
    let mut out = String::new();
    for module in &modules {
        out.push_str(&format!("mod {module}\n"));
    }
    // Re-exports (`pub use`) are listed on the index page of the module that makes them.
    for module in std::iter::once("gpa").chain(modules.iter().map(String::as_str)) {
        let dir = module.split("::").skip(1).collect::<Vec<_>>().join("/");
        let index = std::fs::read_to_string(doc.join(&dir).join("index.html")).expect("index");
        for (id, code) in reexports(&index) {
            out.push_str(&format!("reexport {module}::{id}: {code}\n"));
        }
    }
    for (path, kind, entries) in items {
        out.push_str(&format!("\n{kind} {path}\n"));
        for entry in entries {
            for line in entry.lines() {
                out.push_str("    ");
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

/// The declaration, then the sorted signatures and impl headers of one item page.
fn item_entries(kind: &str, html: &str) -> Vec<String> {
    let mut entries = Vec::new();
    if let Some(decl) = between(html, "<pre class=\"rust item-decl\">", "</pre>") {
        entries.push(text_of(decl));
    }
    if kind == "type" {
        // An alias page also shows the aliased type's own API, which is not ours.
        return entries;
    }
    let mut rest = BTreeSet::new();
    for (section, body) in sections(html) {
        match section {
            "implementations" => {
                for header in code_headers(body, "h3").chain(code_headers(body, "h4")) {
                    rest.insert(header);
                }
            }
            "trait-implementations" | "implementors" => {
                rest.extend(code_headers(body, "h3"));
            }
            "synthetic-implementations" => {
                rest.extend(
                    code_headers(body, "h3").filter(|header| implements_listed_auto_trait(header)),
                );
            }
            _ => {}
        }
    }
    entries.extend(rest);
    entries
}

/// The `(name, pub use ...;)` re-exports of a module index page.
fn reexports(index: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    let open = "<dt id=\"reexport.";
    while let Some(offset) = index[from..].find(open) {
        let at = from + offset + open.len();
        let Some(id_end) = index[at..].find('"').map(|e| at + e) else {
            break;
        };
        let end = index[id_end..]
            .find("</dt>")
            .map_or(index.len(), |e| id_end + e);
        let code_start = index[id_end..end].find('>').map_or(end, |e| id_end + e + 1);
        out.push((
            index[at..id_end].to_string(),
            text_of(&index[code_start..end]),
        ));
        from = end;
    }
    out.sort();
    out
}

/// Whether `header` (`impl<..> !Send for T<..> where ..`) is about one of [`AUTO_TRAITS`].
fn implements_listed_auto_trait(header: &str) -> bool {
    let Some(before_for) = header.split(" for ").next() else {
        return false;
    };
    let trait_name = before_for
        .rsplit([' ', '>'])
        .next()
        .unwrap_or("")
        .trim_start_matches('!');
    AUTO_TRAITS.contains(&trait_name)
}

/// The page split at its `<h2 id=...>` headings: (id, the HTML up to the next heading).
fn sections(html: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut starts: Vec<(usize, &str)> = Vec::new();
    let mut from = 0;
    while let Some(offset) = html[from..].find("<h2 ") {
        let at = from + offset;
        let tag_end = html[at..].find('>').map_or(html.len(), |e| at + e);
        let id = attribute_values(&html[at..tag_end], "id=\"")
            .next()
            .unwrap_or("");
        starts.push((at, id));
        from = tag_end;
    }
    for (index, &(at, id)) in starts.iter().enumerate() {
        let end = starts.get(index + 1).map_or(html.len(), |&(next, _)| next);
        out.push((id, &html[at..end]));
    }
    out
}

/// The text of every `<TAG class="code-header">` in `html`.
fn code_headers<'h>(html: &'h str, tag: &'h str) -> impl Iterator<Item = String> + 'h {
    let open = format!("<{tag} class=\"code-header\">");
    let close = format!("</{tag}>");
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + html[from..].find(&open)? + open.len();
        let end = at + html[at..].find(&close)?;
        from = end;
        Some(text_of(&html[at..end]))
    })
}

/// The values of `name"..."` attributes (`name` ends with `="`).
fn attribute_values<'h>(html: &'h str, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + html[from..].find(name)? + name.len();
        let end = at + html[at..].find('"')?;
        from = end;
        Some(&html[at..end])
    })
}

fn between<'h>(html: &'h str, open: &str, close: &str) -> Option<&'h str> {
    let at = html.find(open)? + open.len();
    let end = at + html[at..].find(close)?;
    Some(&html[at..end])
}

/// The text of an HTML fragment: tags and `<summary>` toggles dropped, entities decoded,
/// runs of blanks within a line collapsed, blank lines dropped.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with("<summary") {
            rest = rest
                .find("</summary>")
                .map_or("", |end| &rest[end + "</summary>".len()..]);
        } else if rest.starts_with('<') {
            if rest.starts_with("<div class=\"where\"") && !text.ends_with(char::is_whitespace) {
                text.push(' ');
            }
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            text.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let words: Vec<&str> = line.split_whitespace().collect();
            format!("{}{}", &line[..indent], words.join(" "))
        })
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line diff of `old` and `new` (`-` removed, `+` added), from their longest common
/// subsequence of lines; unchanged lines are left out.
fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    // common[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut common = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || common[i][j + 1] >= common[i + 1][j]) {
            out.push_str(&format!("+ {}\n", new[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", old[i]));
            i += 1;
        }
    }
    out
}
