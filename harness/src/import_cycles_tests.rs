//! Imports go one way: no cycle between the modules (files) of `harness/src`, and none in
//! `telemetry/src` except inside its `sdk/` folder.
//!
//! The measure is the one of `rust_cycles.py` (and issue 21), made a little stricter: a file
//! imports another when its code (comments, string literals and `#[cfg(test)]` items left out)
//! names it in a `use` line or a `crate::` / `super::` path. A path that lands on a module which
//! only re-exports the item (`pub use x::Item`) counts as an import of the file that defines it,
//! so `runner → matrix/verdict → runner` is a cycle even though `matrix/mod.rs` only declares and
//! re-exports. A folder module declaring and re-exporting its own files is not an import (the
//! files below it are its parts).
//!
//! The telemetry crate is being restructured on another branch to have an `sdk/` folder, the
//! only place a small cycle may remain. Until that folder exists here, its check only reports
//! (run with `--nocapture` to see the cycles); once it does, it fails like the harness's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// A module, as the path of its file under `src/` (`["scenario", "walk"]`; `[]` is `lib.rs`).
type ModPath = Vec<String>;

/// One file of a crate, its code ready to scan.
struct Module {
    /// Code without comments, string contents and `#[cfg(test)]` items.
    code: String,
    /// Names this module re-exports (`pub use a::b::Name` or `… as Name`) → the path it names.
    reexports: BTreeMap<String, Vec<String>>,
}

/// The files of one crate's `src/` and which import which.
struct Crate {
    modules: BTreeMap<ModPath, Module>,
}

impl Crate {
    /// Reads every `.rs` file under `src`, leaving out the modules declared `#[cfg(test)]`.
    fn read(src: &Path) -> Crate {
        let mut files = Vec::new();
        collect_files(src, &mut files);
        let mut modules = BTreeMap::new();
        let mut test_only = BTreeSet::new();
        for file in files {
            let relative = file.strip_prefix(src).expect("under src");
            let mut path: ModPath = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            // `main.rs` is the binary's root: a module of its own, not the library's.
            if path.len() > 1 && path.last().is_some_and(|last| last == "mod") || path == ["lib"] {
                path.pop();
            }
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            let (code, test_children) = without_tests(&strip_comments_and_strings(&text));
            for child in test_children {
                test_only.insert([path.clone(), vec![child]].concat());
            }
            let reexports = reexports(&code);
            modules.insert(path, Module { code, reexports });
        }
        // A test-only module's own children are test-only too.
        modules.retain(|path, _| !test_only.iter().any(|t| path.starts_with(t)));
        Crate { modules }
    }

    /// Which modules each module imports.
    fn edges(&self) -> BTreeMap<&ModPath, BTreeSet<ModPath>> {
        let mut edges = BTreeMap::new();
        for (from, module) in &self.modules {
            let targets: BTreeSet<ModPath> = imported_paths(&module.code)
                .into_iter()
                .filter_map(|path| self.resolve(from, &path))
                .filter(|to| !to.starts_with(from))
                .collect();
            edges.insert(from, targets);
        }
        edges
    }

    /// The module a path written in `from` names, following re-exports; `None` outside the
    /// crate.
    fn resolve(&self, from: &ModPath, path: &[String]) -> Option<ModPath> {
        self.follow(self.absolute(from, path)?, 0)
    }

    /// A path written in `from`, from the crate root; `None` outside the crate.
    fn absolute(&self, from: &ModPath, path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let (mut base, rest) = match first.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "super" | "self" => {
                let mut base = from.clone();
                let mut rest = path;
                while let Some(head) = rest.first() {
                    match head.as_str() {
                        "super" => {
                            base.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                (base, rest)
            }
            // A child module named without `self::` (`use drive::Driver;`).
            name if self
                .modules
                .contains_key(&[from.clone(), vec![name.to_owned()]].concat()) =>
            {
                (from.clone(), path)
            }
            _ => return None,
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The longest prefix of `path` that is a module, and, if the next segment is a name that
    /// module re-exports, the module the re-export names.
    fn follow(&self, path: Vec<String>, depth: usize) -> Option<ModPath> {
        let found = (0..=path.len())
            .rev()
            .find(|&n| self.modules.contains_key(&path[..n]))?;
        let module = path[..found].to_vec();
        if depth < 8
            && let Some(name) = path.get(found)
            && let Some(target) = self.modules[&module].reexports.get(name)
            && let Some(mut reexported) = self.absolute(&module, target)
        {
            reexported.extend(path[found + 1..].iter().cloned());
            return self.follow(reexported, depth + 1);
        }
        Some(module)
    }

    /// The import cycles: strongly connected components of more than one module, each sorted.
    fn cycles(&self) -> Vec<Vec<String>> {
        let edges = self.edges();
        let nodes: Vec<&ModPath> = edges.keys().copied().collect();
        let index_of: BTreeMap<&ModPath, usize> =
            nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let adjacency: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                edges[n]
                    .iter()
                    .filter_map(|t| index_of.get(t).copied())
                    .collect()
            })
            .collect();
        strongly_connected(&adjacency)
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| {
                let mut names: Vec<String> =
                    component.into_iter().map(|i| display(nodes[i])).collect();
                names.sort();
                names
            })
            .collect()
    }
}

fn display(path: &ModPath) -> String {
    if path.is_empty() {
        "lib".into()
    } else {
        path.join("/")
    }
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a readable source folder")
        .map(|entry| entry.expect("a readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The code with comments removed and the contents of string and char literals emptied, so
/// that only code is scanned (a doc link or a message naming `crate::x` is not an import).
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (i == 0 || !is_ident(chars[i - 1]) || chars[i - 1] == 'b')
            && matches!(next, Some('"' | '#'))
            && let Some(hashes) = raw_string_hashes(&chars[i + 1..])
        {
            // r"…", r#"…"#: ends at a quote followed by as many hashes.
            let mut j = i + 2 + hashes;
            while j < chars.len()
                && !(chars[j] == '"'
                    && chars[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes)
            {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{7b}': past the escaped character, then to the closing quote.
            i += 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            // Code, and lifetimes (`'a`).
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#`s of a raw string that starts at `rest` (after the `r`), if it is one.
fn raw_string_hashes(rest: &[char]) -> Option<usize> {
    let hashes = rest.iter().take_while(|c| **c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

static CFG_TEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#\[cfg\(test\)\]").expect("the regex is valid"));
static MOD_DECL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;",
    )
    .expect("the regex is valid")
});
static USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[;{}\]\s])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);").expect("the regex is valid")
});
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:crate|super)(?:::[A-Za-z_][A-Za-z0-9_]*)+").expect("the regex is valid")
});

/// The code without its `#[cfg(test)]` items, and the child modules declared `#[cfg(test)]`
/// (`#[cfg(test)] mod tests;`).
fn without_tests(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_children = Vec::new();
    let mut rest = code;
    while let Some(found) = CFG_TEST.find(rest) {
        out.push_str(&rest[..found.start()]);
        let item = &rest[found.end()..];
        if let Some(declared) = MOD_DECL.captures(item) {
            test_children.push(declared[1].to_owned());
        }
        // The item ends at its first `;` outside braces, or with the braces it opens.
        let mut depth = 0usize;
        let mut end = item.len();
        for (at, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = at + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = at + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_children)
}

/// Every path of a `use` tree, each as its segments (`a::{b, c::d}` → `a::b`, `a::c::d`);
/// `self` stands for the path before it, an alias is dropped, a glob keeps its base.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    expand(&tree)
        .into_iter()
        .map(|path| {
            path.split("::")
                .map(|s| s.split(" as ").next().unwrap_or(s).trim().to_owned())
                .filter(|s| !s.is_empty() && s != "*")
                .collect()
        })
        .collect()
}

fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let base = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .flat_map(expand)
        .map(|path| match path.as_str() {
            "self" => base.to_owned(),
            _ if base.is_empty() => path,
            _ => format!("{base}::{path}"),
        })
        .collect()
}

/// The names a module re-exports and the paths they name.
fn reexports(code: &str) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for captures in USE.captures_iter(code) {
        if captures.get(1).is_none() {
            continue;
        }
        for leaf in expand(&captures[2].split_whitespace().collect::<Vec<_>>().join(" ")) {
            let (path, alias) = match leaf.split_once(" as ") {
                Some((path, alias)) => (path, Some(alias.trim())),
                None => (leaf.as_str(), None),
            };
            let segments: Vec<String> = path.split("::").map(|s| s.trim().to_owned()).collect();
            let Some(name) = alias.or(segments.last().map(String::as_str)) else {
                continue;
            };
            if name != "*" && name != "self" {
                names.insert(name.to_owned(), segments.clone());
            }
        }
    }
    names
}

/// Every path the code names in a `use` line or as a `crate::` / `super::` path.
fn imported_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = USE
        .captures_iter(code)
        .flat_map(|captures| expand_use(&captures[2]))
        .collect();
    paths.extend(
        PATH.find_iter(code)
            .map(|found| found.as_str().split("::").map(str::to_owned).collect()),
    );
    paths
}

/// Tarjan's strongly connected components.
fn strongly_connected(adjacency: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        adjacency: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(state: &mut State<'_>, v: usize) {
        state.index[v] = Some(state.next);
        state.low[v] = state.next;
        state.next += 1;
        state.stack.push(v);
        state.on_stack[v] = true;
        for &w in &state.adjacency[v] {
            match state.index[w] {
                None => {
                    visit(state, w);
                    state.low[v] = state.low[v].min(state.low[w]);
                }
                Some(index) if state.on_stack[w] => state.low[v] = state.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(state.low[v]) == state.index[v] {
            let mut component = Vec::new();
            while let Some(w) = state.stack.pop() {
                state.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            state.components.push(component);
        }
    }
    let n = adjacency.len();
    let mut state = State {
        adjacency,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.components
}

/// The cycles of `src`, each with the imports that close it, one per line.
fn describe(krate: &Crate, cycles: &[Vec<String>]) -> String {
    let edges = krate.edges();
    let mut text = String::new();
    for cycle in cycles {
        text.push_str(&format!("cycle: {}\n", cycle.join(" ")));
        for (from, targets) in &edges {
            let from = display(from);
            if !cycle.contains(&from) {
                continue;
            }
            for to in targets.iter().map(display).filter(|t| cycle.contains(t)) {
                text.push_str(&format!("  {from} imports {to}\n"));
            }
        }
    }
    text
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn the_harness_has_no_import_cycle() {
    let krate = Crate::read(&crate_src("harness"));
    assert!(krate.modules.len() > 50, "the harness's files are read");
    let cycles = krate.cycles();
    assert!(
        cycles.is_empty(),
        "import cycles in harness/src (imports go one way; see harness/README.md):\n{}",
        describe(&krate, &cycles)
    );
}

#[test]
fn telemetry_has_no_import_cycle_outside_sdk() {
    let src = crate_src("telemetry");
    let krate = Crate::read(&src);
    let outside_sdk: Vec<Vec<String>> = krate
        .cycles()
        .into_iter()
        .filter(|cycle| !cycle.iter().all(|module| module.starts_with("sdk/")))
        .collect();
    if outside_sdk.is_empty() {
        return;
    }
    let text = describe(&krate, &outside_sdk);
    if src.join("sdk").is_dir() {
        panic!("import cycles in telemetry/src outside sdk/:\n{text}");
    }
    // Until the restructured telemetry crate (with `sdk/`) is merged: report only.
    let _ = writeln!(
        std::io::stderr(),
        "telemetry/src has import cycles outside sdk/ (reported, not failed, until telemetry/src/sdk/ exists):\n{text}"
    );
}

/// A crate in a temporary folder, from (path, text) pairs.
fn scratch(files: &[(&str, &str)]) -> (tempfile::TempDir, Crate) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        std::fs::write(path, text).expect("a file");
    }
    let krate = Crate::read(dir.path());
    (dir, krate)
}

#[test]
fn a_cycle_is_found_through_use_lines_paths_and_reexports() {
    let (_dir, krate) = scratch(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod m;\n"),
        ("a.rs", "use crate::m::Verdict;\n"),
        (
            "m/mod.rs",
            "mod verdict;\npub use verdict::{Verdict, judge as judge_cell};\n",
        ),
        (
            "m/verdict.rs",
            "pub struct Verdict;\npub fn judge() { let _ = crate::a::X; }\n",
        ),
        ("b.rs", "use super::m::judge_cell;\n"),
    ]);
    assert_eq!(
        krate.cycles(),
        vec![vec!["a".to_owned(), "m/verdict".to_owned()]]
    );
    let text = describe(&krate, &krate.cycles());
    assert!(text.contains("a imports m/verdict"), "{text}");
    assert!(text.contains("m/verdict imports a"), "{text}");
}

#[test]
fn comments_strings_and_test_code_are_not_imports() {
    let (_dir, krate) = scratch(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "//! Built by [`crate::b::make`].\nuse crate::b::make;\n#[cfg(test)]\nmod tests;\n",
        ),
        ("a/tests.rs", "use crate::b::X;\n"),
        (
            "b.rs",
            "/* crate::a */ pub fn make() -> &'static str { \"crate::a::x\" }\n#[cfg(test)]\nmod tests {\n    use crate::a::Y;\n}\n",
        ),
    ]);
    assert!(krate.cycles().is_empty(), "{:?}", krate.cycles());
    assert!(
        !krate
            .modules
            .contains_key(&vec!["a".to_owned(), "tests".to_owned()])
    );
}
