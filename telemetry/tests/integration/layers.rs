//! The layering of `src/` (README, "Layers"): each top folder imports only from the folders
//! below it, and no import cycle joins files outside `sdk/`.
//!
//! Imports are counted the way `rust_cycles.py` (the project's measure) counts them: every
//! `crate::…` and `super::…` path of a file's code, resolved to the longest module path that
//! is a file, leaving out comments (rustdoc links are not imports) and the trailing test
//! module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top folders of `src/`, lowest first: a folder imports only from lower ranks.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("sdk", 1),
    ("processors", 2),
    ("events", 2),
    ("lifecycle", 3),
    ("otel", 3),
    ("subscriber", 3),
];

/// The only folder where files may import each other in a cycle (span, trace, processors and
/// the context that holds them).
const CYCLE_ALLOWED_IN: &str = "sdk";

type Module = Vec<String>;

#[test]
fn each_layer_imports_only_from_the_layers_below() {
    let graph = Graph::read(&src());
    let mut wrong = Vec::new();
    for (from, targets) in &graph.edges {
        for to in targets {
            let (Some(a), Some(b)) = (from.first(), to.first()) else {
                continue;
            };
            if a != b && rank(a).zip(rank(b)).is_some_and(|(a, b)| a <= b) {
                wrong.push(format!("{} -> {}", from.join("/"), to.join("/")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports up or across the layers:\n{}",
        wrong.join("\n")
    );
    for (folder, _) in LAYERS {
        assert!(
            graph
                .edges
                .keys()
                .any(|m| m.first().map(String::as_str) == Some(folder)),
            "no module under src/{folder}: update LAYERS"
        );
    }
}

#[test]
fn no_import_cycle_outside_the_sdk_core() {
    let graph = Graph::read(&src());
    let outside: Vec<String> = graph
        .cycles()
        .into_iter()
        .filter(|cycle| {
            cycle
                .iter()
                .any(|m| m.first().map(String::as_str) != Some(CYCLE_ALLOWED_IN))
        })
        .map(|cycle| {
            let names: Vec<String> = cycle.iter().map(|m| m.join("/")).collect();
            names.join(" ")
        })
        .collect();
    assert!(outside.is_empty(), "import cycles:\n{}", outside.join("\n"));
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rank(folder: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == folder)
        .map(|(_, rank)| *rank)
}

/// Files as modules (`a/b.rs` and `a/b/mod.rs` are `a::b`), and what each imports.
struct Graph {
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

impl Graph {
    fn read(src: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        let modules: BTreeSet<Module> = files.keys().cloned().collect();
        let edges = files
            .iter()
            .map(|(module, path)| {
                let text = std::fs::read_to_string(path).expect("a readable source file");
                let targets = references(module, &code(&text))
                    .into_iter()
                    .filter_map(|path| resolve(&path, &modules))
                    .filter(|target| !target.starts_with(module))
                    .collect();
                (module.clone(), targets)
            })
            .collect();
        Self { edges }
    }

    /// The strongly connected components of more than one module (Tarjan).
    fn cycles(&self) -> Vec<Vec<Module>> {
        struct Walk<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a Module, usize>,
            low: BTreeMap<&'a Module, usize>,
            stack: Vec<&'a Module>,
            found: Vec<Vec<Module>>,
        }
        impl<'a> Walk<'a> {
            fn visit(&mut self, v: &'a Module) {
                let i = self.index.len();
                self.index.insert(v, i);
                self.low.insert(v, i);
                self.stack.push(v);
                for w in &self.graph.edges[v] {
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.stack.contains(&w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = self.stack.pop() {
                        component.push(w.clone());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.found.push(component);
                    }
                }
            }
        }
        let mut walk = Walk {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            found: Vec::new(),
        };
        for v in self.edges.keys() {
            if !walk.index.contains_key(v) {
                walk.visit(v);
            }
        }
        walk.found
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<Module, PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path
                .strip_prefix(root)
                .expect("under src/")
                .with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            files.insert(module, path);
        }
    }
}

/// The code of a file: without comment lines and without its trailing test module.
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` and `super::a::b` path of `code`, as module paths from the crate root.
fn references(module: &Module, code: &str) -> Vec<Module> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        found.push(segments(&code[at + "crate::".len()..]));
    }
    for (at, _) in code.match_indices("use super::") {
        let mut rest = &code[at + "use ".len()..];
        let mut base = module.clone();
        while let Some(after) = rest.strip_prefix("super::") {
            base.pop();
            rest = after;
        }
        base.extend(segments(rest));
        found.push(base);
    }
    found
}

/// The leading `a::b::c` of `text` (identifiers joined by `::`).
fn segments(text: &str) -> Module {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// The longest prefix of `path` that is a module.
fn resolve(path: &Module, modules: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
}
