//! One error type for the whole library.
//!
//! Every problem with user input says *where* it is: the file, the line (1-based, as an editor
//! shows it), the plate and the well when known, and what was expected. Several problems found
//! in one pass over a file are reported together, so a user fixes them all in one go instead of
//! re-running once per typo.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in the inputs a problem was found. All parts are optional; the ones that are known
/// are printed as `file:line: plate P, well A1: message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The input file.
    pub file: Option<PathBuf>,
    /// 1-based line number in that file.
    pub line: Option<u64>,
    /// Plate identifier.
    pub plate: Option<String>,
    /// Well name as written in the input.
    pub well: Option<String>,
}

impl Location {
    /// A location in a file.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Location {
            file: Some(path.as_ref().to_path_buf()),
            ..Default::default()
        }
    }

    /// The same location at a given line.
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// The same location at a line, if known (for lines found by searching a file's text).
    pub(crate) fn at_line_opt(mut self, line: Option<u64>) -> Self {
        self.line = line;
        self
    }

    /// The same location on a plate and well (either may be empty).
    pub fn at_well(mut self, plate: &str, well: &str) -> Self {
        if !plate.is_empty() {
            self.plate = Some(plate.to_string());
        }
        if !well.is_empty() {
            self.well = Some(well.to_string());
        }
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            wrote = true;
        } else if let Some(line) = self.line {
            write!(f, "line {line}")?;
            wrote = true;
        }
        let mut parts = Vec::new();
        if let Some(p) = &self.plate {
            parts.push(format!("plate {p}"));
        }
        if let Some(w) = &self.well {
            parts.push(format!("well {w}"));
        }
        if !parts.is_empty() {
            if wrote {
                write!(f, ": ")?;
            }
            write!(f, "{}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// One problem found in the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it is.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{loc}: {}", self.message)
        }
    }
}

/// What kind of failure an [`Error`] is. Query it with [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The inputs are wrong (bad value, missing column, inconsistent design).
    Input,
    /// A settings value (assay file or command-line flag) is wrong.
    Config,
    /// Reading or writing a file failed.
    Io,
}

/// The library's error: a kind and one or more located problems.
///
/// The cause of an I/O failure is part of the problem's message (`creating failed: Permission
/// denied (os error 13)`), so `to_string()` alone says everything. It is therefore not also
/// returned by [`std::error::Error::source`]: reporters that print the source chain (anyhow's
/// `{:#}`, `Report`-style printers) would state the cause twice.
///
/// ```
/// use collateral::{Error, Location};
/// let e = Error::input(Location::file("wells.csv").at_line(7).at_well("P1", "B25"),
///                      "column 25 is outside a 384-well plate (columns 1-24)");
/// assert_eq!(e.to_string(),
///     "wells.csv:7: plate P1, well B25: column 25 is outside a 384-well plate (columns 1-24)");
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    problems: Vec<Problem>,
}

/// Most problems a single error prints; the rest are counted.
const MAX_SHOWN: usize = 25;

impl Error {
    fn new(kind: ErrorKind, problems: Vec<Problem>) -> Self {
        Error(Box::new(Inner { kind, problems }))
    }

    /// Bad input at a location.
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Input,
            vec![Problem {
                location,
                message: message.into(),
            }],
        )
    }

    /// A bad setting.
    pub fn config(location: Location, message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Config,
            vec![Problem {
                location,
                message: message.into(),
            }],
        )
    }

    /// Several input problems at once. `problems` must not be empty.
    pub fn problems(kind: ErrorKind, problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        Self::new(kind, problems)
    }

    /// An I/O failure on `path` while doing `what` (e.g. "reading", "writing"); the message
    /// ends with the cause.
    pub fn io(path: impl AsRef<Path>, what: &str, err: std::io::Error) -> Self {
        Self::new(
            ErrorKind::Io,
            vec![Problem {
                location: Location::file(path),
                message: format!("{what} failed: {err}"),
            }],
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The located problems, in the order found.
    pub fn problems_found(&self) -> &[Problem] {
        &self.0.problems
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let probs = &self.0.problems;
        if probs.len() == 1 {
            return write!(f, "{}", probs[0]);
        }
        write!(f, "{} problems found:", probs.len())?;
        for p in probs.iter().take(MAX_SHOWN) {
            write!(f, "\n  {p}")?;
        }
        if probs.len() > MAX_SHOWN {
            write!(f, "\n  ... and {} more", probs.len() - MAX_SHOWN)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {})", self.0.kind, self)
    }
}

/// No `source()`: the message already states the cause (see [`Error`]).
impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Levenshtein distance, for "did you mean" hints on keys and names.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(w.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" or "".
pub(crate) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match nearest(word, candidates) {
        Some(c) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos() {
        assert_eq!(
            nearest("vehicel", &["sample", "vehicle", "blank"]),
            Some("vehicle")
        );
        assert_eq!(
            nearest("z_prime_fial", &["z_prime_fail", "z_prime_warn"]),
            Some("z_prime_fail")
        );
        assert_eq!(nearest("zzzzzz", &["sample", "vehicle"]), None);
    }

    #[test]
    fn an_io_cause_is_stated_once_by_chain_printers() {
        let cause = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        let cause_text = cause.to_string();
        let e = Error::io("out", "creating the output folder", cause);
        // anyhow's `{:#}` prints the message, then each source: the CLI prints errors so.
        let shown = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(shown.matches(cause_text.as_str()).count(), 1, "{shown}");
        assert_eq!(
            shown,
            format!("out: creating the output folder failed: {cause_text}")
        );
    }

    #[test]
    fn several_problems_are_listed() {
        let e = Error::problems(
            ErrorKind::Input,
            vec![
                Problem {
                    location: Location::file("a.csv").at_line(2),
                    message: "x".into(),
                },
                Problem {
                    location: Location::file("a.csv").at_line(3),
                    message: "y".into(),
                },
            ],
        );
        assert_eq!(
            e.to_string(),
            "2 problems found:\n  a.csv:2: x\n  a.csv:3: y"
        );
    }
}
