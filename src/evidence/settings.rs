//! The assay's evidence settings: whether the bundled tables are used, the user's own tables
//! (`[evidence] files = [...]`) and the lab's own drug names (`drug_aliases`, a table in the
//! assay file or a CSV of `alias, drug`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{normalize_name, Evidence};
use crate::checked::Check;
use crate::error::{Error, ErrorKind, Problem, Result};
use crate::table::{field, Table};

/// Which evidence tables a run matches its drugs against, and the lab's own names of its
/// drugs. The default (the bundled tables, no files, no aliases) is left out of `run.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EvidenceSettings {
    /// Whether the bundled tables (the review's relations, names and classes) are used.
    pub bundled: bool,
    /// The user's own tables (relations, names or classes; told apart by their headers),
    /// resolved against the assay file's folder.
    pub files: Vec<PathBuf>,
    /// The lab's names of its drugs → a name the tables know (`Etop` → `etoposide`), tried
    /// before the tables.
    pub drug_aliases: BTreeMap<String, String>,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        EvidenceSettings {
            bundled: true,
            files: Vec::new(),
            drug_aliases: BTreeMap::new(),
        }
    }
}

impl EvidenceSettings {
    /// Keys of the `[evidence]` section of an assay file (`drug_aliases` is a top-level key).
    pub(crate) const KEYS: [&'static str; 2] = ["bundled", "files"];

    /// The tables these settings name, loaded and cross-checked (every problem of a user's
    /// file located by file, line and column).
    pub fn load(&self) -> Result<Evidence> {
        if self.bundled {
            Evidence::with_files(&self.files)
        } else {
            Evidence::from_files(&self.files)
        }
    }

    /// Whether these are the defaults (left out of `run.json`).
    pub(crate) fn is_default(&self) -> bool {
        *self == EvidenceSettings::default()
    }
}

impl Check for EvidenceSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (alias, drug) in &self.drug_aliases {
            if normalize_name(alias).is_empty() {
                out.push((
                    "drug_aliases",
                    format!("`drug_aliases`: the alias `{alias}` has no letter or digit"),
                ));
            } else if normalize_name(drug).is_empty() {
                out.push((
                    "drug_aliases",
                    format!("`drug_aliases`: `{alias}` stands for an empty name; write the drug it means"),
                ));
            }
        }
        // Two aliases that differ only in case or punctuation would match the same names.
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for alias in self.drug_aliases.keys() {
            let key = normalize_name(alias);
            if key.is_empty() {
                continue;
            }
            if let Some(first) = seen.insert(key, alias) {
                out.push((
                    "drug_aliases",
                    format!("`drug_aliases`: `{first}` and `{alias}` are the same name (case, spaces and punctuation are ignored); keep one"),
                ));
            }
        }
        out
    }
}

/// Reads a lab's alias table: a delimited file with columns `alias, drug` (headers in any
/// case), one name of the lab's per row; every problem located by line.
pub fn read_drug_aliases(path: &Path) -> Result<BTreeMap<String, String>> {
    let mut table = Table::open(path)?;
    let alias_col = table.require("alias")?;
    let drug_col = table.require("drug")?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = table.next_row(&mut rec)? {
        let alias = field(&rec, Some(alias_col)).to_string();
        let drug = field(&rec, Some(drug_col)).to_string();
        let message = if normalize_name(&alias).is_empty() {
            Some("empty `alias`".to_string())
        } else if normalize_name(&drug).is_empty() {
            Some(format!("`{alias}` has an empty `drug`"))
        } else if out.contains_key(&alias) {
            Some(format!("`{alias}` is given twice"))
        } else {
            None
        };
        match message {
            Some(message) => problems.push(Problem {
                location: table.at(line),
                message,
            }),
            None => {
                out.insert(alias, drug);
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_table_is_read_with_located_problems() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aliases.csv");
        std::fs::write(&path, "Alias,Drug\nEtop,etoposide\nCrz,Xalkori\n").unwrap();
        let aliases = read_drug_aliases(&path).unwrap();
        assert_eq!(aliases["Etop"], "etoposide");
        std::fs::write(&path, "alias,drug\nEtop,\n,x\n").unwrap();
        let e = read_drug_aliases(&path).unwrap_err().to_string();
        assert!(
            e.contains("aliases.csv:2: `Etop` has an empty `drug`"),
            "{e}"
        );
        assert!(e.contains("aliases.csv:3: empty `alias`"), "{e}");
    }

    #[test]
    fn aliases_equal_up_to_spelling_are_refused() {
        let mut s = EvidenceSettings::default();
        s.drug_aliases.insert("ETOP".into(), "etoposide".into());
        s.drug_aliases.insert("etop".into(), "etoposide".into());
        let problems = s.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("the same name"), "{problems:?}");
        assert!(EvidenceSettings::default().is_default());
    }
}
