//! What an upload may be: file names that stay inside the analysis folder, an assay file (sent
//! or made from the form) whose every path stays inside it too, checked before any input is
//! read, so the server never reads a file it was not given.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::store::Located;

/// The assay file of an analysis, at the top of its input folder.
pub(crate) const ASSAY_FILE: &str = "assay.toml";

/// The relative path an uploaded file is stored under, or why the name is refused: a name
/// must be relative, made of ordinary parts (no `..`, no root, no drive, no NUL, no part
/// starting with `.`), at most 8 folders deep and 255 bytes a part. Browsers send folder
/// uploads as `reads/d01-p01.csv`, so `/` (and `\`) separate folders.
pub(crate) fn safe_name(name: &str) -> Result<PathBuf, String> {
    let refuse = |why: &str| Err(format!("file name {name:?} refused: {why}"));
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.contains('\0') {
        return refuse("it holds a NUL character");
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return refuse("it is an absolute path");
    }
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    if parts.len() > 9 {
        return refuse("it is more than 8 folders deep");
    }
    let mut path = PathBuf::new();
    for part in parts {
        if part.is_empty() || part == "." {
            continue;
        }
        if part == ".." {
            return refuse("it leads out of the analysis folder");
        }
        if part.starts_with('.') {
            return refuse("a part starts with `.` (hidden files are the server's)");
        }
        if part.contains(':') {
            return refuse("it names a drive or a stream (`:`)");
        }
        if part.len() > 255 || part.chars().any(char::is_control) {
            return refuse("a part is too long or holds a control character");
        }
        path.push(part);
    }
    if path.as_os_str().is_empty() {
        return refuse("it has no file name");
    }
    Ok(path)
}

/// Whether `target`, as written in the file at `base` (both relative to the input folder),
/// leads outside the input folder: absolute, a drive, or more `..` than folders above it.
/// Lexical on purpose: nothing on disk is looked at.
pub(crate) fn leaves_folder(base: &Path, target: &str) -> bool {
    let target = Path::new(target);
    if target.has_root() || target.is_absolute() || target.to_string_lossy().contains(':') {
        return true;
    }
    let mut depth: i64 = base
        .parent()
        .map(|p| {
            p.components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count() as i64
        })
        .unwrap_or(0);
    for c in target.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// The paths an assay file names (wells, lines, and each `[[plates]]` entry's file, glob or
/// layout) and a layout's `[meta] include`s, with the key that names each.
fn named_paths(table: &toml::Table) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for key in ["wells", "lines"] {
        if let Some(s) = table.get(key).and_then(toml::Value::as_str) {
            out.push((key, s.to_string()));
        }
    }
    if let Some(plates) = table.get("plates").and_then(toml::Value::as_array) {
        for p in plates {
            for key in ["file", "layout"] {
                if let Some(s) = p.get(key).and_then(toml::Value::as_str) {
                    out.push((key, s.to_string()));
                }
            }
        }
    }
    match table.get("meta").and_then(|m| m.get("include")) {
        Some(toml::Value::String(s)) => out.push(("include", s.clone())),
        Some(toml::Value::Array(a)) => out.extend(
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|s| ("include", s.into())),
        ),
        _ => {}
    }
    out
}

/// Every path named by the TOML files of an upload (the assay and any wellmap layouts) that
/// leads outside the input folder, located at its file and line. Read only from the uploaded
/// text, before anything is run.
pub(crate) fn outside_paths(input: &Path, tomls: &[PathBuf]) -> Vec<Located> {
    let mut problems = Vec::new();
    for rel in tomls {
        let Ok(text) = std::fs::read_to_string(input.join(rel)) else {
            continue;
        };
        // A TOML that does not parse is the run's to report, with its line.
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        for (key, target) in named_paths(&table) {
            if leaves_folder(rel, &target) {
                problems.push(Located {
                    file: Some(rel.to_string_lossy().replace('\\', "/")),
                    line: crate::text::key_line(&text, key),
                    message: format!(
                        "`{key} = \"{target}\"` leads outside the analysis folder; the server reads only the files uploaded with the assay: upload that file and name it relative to the assay"
                    ),
                    ..Default::default()
                });
            }
        }
    }
    problems
}

/// The assay file made from the form's fields when no `assay.toml` was uploaded: `name`,
/// `concentration_unit`, and either `wells` (the tidy wells table; default: an uploaded
/// `wells.csv`/`.tsv`/`.xlsx`) or `layout` (a layout for every other uploaded plate file, with
/// `read` and `format` when given), and `lines` (default: an uploaded `lines.csv`/`.tsv`).
/// `Err` says what is missing.
pub(crate) fn assay_from_form(
    fields: &BTreeMap<String, String>,
    files: &[String],
) -> Result<String, String> {
    let field = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let named = |stems: &[&str]| {
        files
            .iter()
            .find(|f| stems.iter().any(|s| f.eq_ignore_ascii_case(s)))
            .map(String::as_str)
    };
    let name = field("name").unwrap_or("analysis");
    let Some(unit) = field("concentration_unit") else {
        return Err("no assay.toml and no `concentration_unit`: upload an assay.toml, or say the unit of the concentrations (e.g. uM)".into());
    };
    let mut toml = format!(
        "name = {}\nconcentration_unit = {}\n",
        quote(name),
        quote(unit)
    );
    let lines = field("lines").or_else(|| named(&["lines.csv", "lines.tsv"]));
    if let Some(lines) = lines {
        toml += &format!("lines = {}\n", quote(lines));
    }
    if let Some(size) = field("plate_size") {
        let n: u32 = size
            .parse()
            .map_err(|_| format!("plate size {size:?} is not a number of wells"))?;
        toml += &format!("plate_size = {n}\n");
    }
    if let Some(layout) = field("layout") {
        let plates: Vec<&String> = files
            .iter()
            .filter(|f| f.as_str() != layout && Some(f.as_str()) != lines)
            .collect();
        if plates.is_empty() {
            return Err("a layout but no plate files: upload the reader's files too".into());
        }
        for f in plates {
            toml += &format!(
                "\n[[plates]]\nfile = {}\nlayout = {}\n",
                quote(f),
                quote(layout)
            );
            for key in ["read", "format"] {
                if let Some(v) = field(key) {
                    toml += &format!("{key} = {}\n", quote(v));
                }
            }
        }
    } else {
        let wells = field("wells").or_else(|| named(&["wells.csv", "wells.tsv", "wells.xlsx"]));
        let Some(wells) = wells else {
            return Err("no assay.toml, no wells table and no layout: upload an assay.toml, a wells table (wells.csv), or plate files with a layout".into());
        };
        toml += &format!("wells = {}\n", quote(wells));
    }
    Ok(toml)
}

/// The lines table made from the form when none was uploaded: every cell line of the wells
/// (read through the assay, whose paths were checked), `parental_line` as the parent of all the
/// others, each selected with what `selected_with` says (`R1=cisplatin; R2=taxol`). `None`
/// when the form names no parental line or the wells cannot be read (the run then says why).
pub(crate) fn lines_from_form(
    fields: &BTreeMap<String, String>,
    assay: &crate::assay::Assay,
) -> Option<String> {
    let parental = fields
        .get("parental_line")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())?;
    let selected: BTreeMap<&str, &str> = fields
        .get("selected_with")
        .map(String::as_str)
        .unwrap_or("")
        .split([';', '\n'])
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let read = assay.read_wells().ok()?;
    let lines: std::collections::BTreeSet<&str> = read
        .table
        .wells
        .iter()
        .map(|w| w.cell_line.as_str())
        .collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["cell_line", "parental_line", "selected_with"])
        .ok()?;
    csv.write_record([parental, "", ""]).ok()?;
    for line in lines
        .into_iter()
        .filter(|l| *l != parental && !l.is_empty())
    {
        let with = selected.get(line).copied().unwrap_or("");
        csv.write_record([line, parental, with]).ok()?;
    }
    String::from_utf8(csv.into_inner().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for bad in [
            "../x",
            "/etc/x",
            "a/../../x",
            "x\0y",
            "..",
            "",
            ".hidden",
            "C:x",
            "\\etc\\x",
        ] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            safe_name("reads/d01.csv").unwrap(),
            Path::new("reads/d01.csv")
        );
        assert_eq!(safe_name("./wells.csv").unwrap(), Path::new("wells.csv"));
    }

    #[test]
    fn paths_are_judged_from_the_naming_file() {
        let assay = Path::new("assay.toml");
        assert!(leaves_folder(assay, "../x.csv"));
        assert!(leaves_folder(assay, "/etc/passwd"));
        assert!(leaves_folder(assay, "reads/../../x"));
        assert!(!leaves_folder(assay, "reads/*.csv"));
        assert!(!leaves_folder(
            Path::new("layouts/a.toml"),
            "../common.toml"
        ));
        assert!(leaves_folder(
            Path::new("layouts/a.toml"),
            "../../common.toml"
        ));
    }

    #[test]
    fn a_form_becomes_an_assay() {
        let fields = BTreeMap::from([
            ("name".to_string(), "My \"screen\"".to_string()),
            ("concentration_unit".to_string(), "uM".to_string()),
        ]);
        let files = vec!["wells.csv".to_string(), "lines.csv".to_string()];
        let toml = assay_from_form(&fields, &files).unwrap();
        let t: toml::Table = toml.parse().unwrap();
        assert_eq!(t["name"].as_str(), Some("My \"screen\""));
        assert_eq!(t["wells"].as_str(), Some("wells.csv"));
        assert_eq!(t["lines"].as_str(), Some("lines.csv"));
    }
}
