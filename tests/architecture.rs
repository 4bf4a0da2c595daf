//! The module graph: imports run one way along the data flow (ARCHITECTURE.md in the docs
//! folder names the layers). This reads every `crate::…` path in `src/` (comments and string
//! literals left out) and fails on an import that runs up a layer or closes a loop, naming the
//! file, the line and the path, so a newcomer's shortcut is caught at `cargo test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer, from the ground up. A module may use modules
/// of its own layer or below; within a layer the graph must still have no loop.
const LAYERS: [(&str, u8); 38] = [
    ("error", 1),
    ("plate", 1),
    ("stats", 1),
    ("table", 1),
    ("text", 1),
    ("units", 1),
    ("outdir", 1),
    ("progress", 1),
    ("checked", 1),
    ("words", 1),
    ("wells", 2),
    ("lines", 2),
    ("read", 2),
    ("normalize", 3),
    ("qc", 3),
    ("checks", 3),
    ("fit", 3),
    ("growth", 3),
    ("mic", 3),
    ("shift", 3),
    ("lineage", 3),
    ("network", 3),
    ("plan", 3),
    ("evidence", 3),
    ("assay", 4),
    ("output", 5),
    ("frame", 5),
    ("plot", 5),
    ("report", 5),
    ("workbook", 5),
    ("run", 6),
    ("validate", 6),
    ("merge", 6),
    ("simulate", 7),
    ("serve", 7),
    ("cli", 8),
    ("lib", 8),
    ("main", 9),
];

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level module a file of `src/` belongs to (`src/fit/engine.rs` → `fit`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text of a line without its comment and string literals (a doc example or a message
/// naming `crate::x` is not an import).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            break;
        }
        out.push(c);
    }
    out
}

/// Every (line, module used) of a file: `crate::m` anywhere in code, and the names inside
/// `use crate::{a, b::c}` groups, which may span lines.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut group: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = code_of(raw);
        if let Some((_, buf)) = group.as_mut() {
            buf.push_str(&line);
            if line.contains(';') {
                let (start, buf) = group.take().unwrap();
                out.extend(group_modules(&buf).into_iter().map(|m| (start, m)));
            }
            continue;
        }
        if let Some(pos) = line.find("use crate::{") {
            let rest = line[pos + "use crate::{".len()..].to_string();
            if rest.contains(';') {
                out.extend(group_modules(&rest).into_iter().map(|m| (i + 1, m)));
            } else {
                group = Some((i + 1, rest));
            }
            continue;
        }
        let mut s = line.as_str();
        while let Some(pos) = s.find("crate::") {
            let after = &s[pos + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.chars().next().unwrap().is_ascii_lowercase() {
                out.push((i + 1, name));
            }
            s = after;
        }
    }
    out
}

/// The first path segment of each item of a `use crate::{…}` group, nested groups included.
fn group_modules(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    let mut word = String::new();
    for c in body.chars() {
        match c {
            '{' => {
                depth += 1;
                at_item_start = depth == 0;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && (c.is_ascii_alphanumeric() || c == '_') => word.push(c),
            _ => {
                if at_item_start && !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                    at_item_start = false;
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && w != "self");
    out
}

/// The module graph of `src/`: module → (used module → first place it is used).
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in &files {
        let from = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let edges = g.entry(from.clone()).or_default();
        for (line, to) in uses(&text) {
            if to != from {
                let rel = f.strip_prefix(src.parent().unwrap()).unwrap();
                edges
                    .entry(to)
                    .or_insert_with(|| format!("{}:{line}", rel.display()));
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    let g = graph();
    let unknown: Vec<&String> = g.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unknown.is_empty(),
        "modules without a layer in tests/architecture.rs: {unknown:?}; place each on purpose"
    );
}

#[test]
fn imports_never_run_up_a_layer() {
    let g = graph();
    let mut bad = Vec::new();
    for (from, edges) in &g {
        let Some(lf) = layer_of(from) else { continue };
        for (to, at) in edges {
            if to == "collateral" {
                continue;
            }
            match layer_of(to) {
                Some(lt) if lt <= lf => {}
                Some(lt) => bad.push(format!(
                    "{at}: `{from}` (layer {lf}) uses `{to}` (layer {lt})"
                )),
                None => bad.push(format!(
                    "{at}: `{from}` uses `{to}`, a module with no layer"
                )),
            }
        }
    }
    assert!(bad.is_empty(), "imports that run up:\n{}", bad.join("\n"));
}

#[test]
fn the_module_graph_has_no_loop() {
    let g = graph();
    // Depth-first search for a back edge; report the loop it closes.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for to in g.get(m).into_iter().flat_map(|e| e.keys()) {
            if !g.contains_key(to) {
                continue;
            }
            match state.get(to.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|s| s == to).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(to.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(to, g, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        if !state.contains_key(m.as_str()) {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(m, &g, &mut state, &mut stack) {
                let places: Vec<String> = cycle
                    .windows(2)
                    .map(|w| format!("{} -> {} ({})", w[0], w[1], g[&w[0]][&w[1]]))
                    .collect();
                panic!("import loop:\n{}", places.join("\n"));
            }
        }
    }
}

#[test]
fn the_checker_sees_grouped_and_inline_paths() {
    // The reader must not be blind: a grouped use over two lines and an inline path are seen,
    // a comment and a string are not.
    let text = "use crate::{\n    run::Staging,\n    qc::{self, PlateQc},\n};\nfn f() { crate::shift::x(); }\n// crate::report\nlet s = \"crate::plot\";\n";
    let found: BTreeSet<String> = uses(text).into_iter().map(|(_, m)| m).collect();
    let want: BTreeSet<String> = ["run", "qc", "shift"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}

/// The files of one folder module (`src/plot/data.rs`, `src/plot/plate_map.rs`, …) must not
/// use each other in a loop either. A file and its folder's `mod.rs` are parent and child (the
/// usual Rust shape), so only siblings are checked.
#[test]
fn sibling_files_of_a_folder_have_no_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // Folder (as a `::` path) → sibling file stem → sibling stems it uses.
    let mut folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        if parts.len() < 2 || parts.last().unwrap() == "mod" {
            continue;
        }
        let folder = parts[..parts.len() - 1].join("::");
        let stem = parts.last().unwrap().clone();
        folders.entry(folder).or_default().entry(stem).or_default();
    }
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        if parts.len() < 2 || parts.last().unwrap() == "mod" {
            continue;
        }
        let folder = parts[..parts.len() - 1].join("::");
        let stem = parts.last().unwrap().clone();
        let siblings: BTreeSet<String> = folders[&folder].keys().cloned().collect();
        let text = std::fs::read_to_string(f).unwrap();
        let mut used = BTreeSet::new();
        for raw in text.lines() {
            let line = code_of(raw);
            for prefix in ["super::".to_string(), format!("crate::{folder}::")] {
                let mut s = line.as_str();
                while let Some(pos) = s.find(&prefix) {
                    let after = &s[pos + prefix.len()..];
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if siblings.contains(&name) && name != stem {
                        used.insert(name);
                    }
                    s = after;
                }
            }
        }
        folders.get_mut(&folder).unwrap().insert(stem, used);
    }
    let mut loops = Vec::new();
    for (folder, graph) in &folders {
        for (a, uses) in graph {
            for b in uses {
                if a < b && graph[b].contains(a) {
                    loops.push(format!(
                        "src/{}: {a}.rs and {b}.rs use each other",
                        folder.replace("::", "/")
                    ));
                }
            }
        }
    }
    assert!(
        loops.is_empty(),
        "sibling files in a loop:\n{}",
        loops.join("\n")
    );
}
