//! What the clinic already knows: cross-resistance and collateral sensitivity reported between
//! sequential anti-cancer therapies, with the drug names and classes needed to match an assay's
//! drugs against them.
//!
//! The bundled tables (`evidence/` at the top of the repository, `docs/evidence.md`) were read
//! from the review this project started from; users add their own tables in the same three
//! formats. A screen's selecting drug and tested drug are looked up here by name (brand, code,
//! salt and spelling variants, lab aliases), and [`Evidence::relations_between`] says which
//! reported relations apply to the pair and in which direction, so a measured collateral
//! sensitivity can be read beside what was seen in patients and other models.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Problem, Result};
use crate::table::{field, read_bytes, Table};

mod listing;
mod reported;
mod settings;

pub use listing::{describe_matches, MatchListing};
pub use reported::{
    agreement, format_reported, merge_reported, parse_reported, reports_cross_resistance,
    Agreement, Reported,
};
pub use settings::{read_drug_aliases, EvidenceSettings};

/// The bundled relations, read from the review (`evidence/SOURCE.md`).
const BUNDLED_RELATIONS: &str = include_str!("../evidence/relations.csv");
/// The bundled drug names: canonical generic names with brand, code and other names.
const BUNDLED_NAMES: &str = include_str!("../evidence/drug_names.csv");
/// The bundled drug classes the review uses as agents (anti-PD1, ARSIs, platinum, ...).
const BUNDLED_CLASSES: &str = include_str!("../evidence/drug_classes.csv");

/// Trailing words that name a salt, ester or hydrate form rather than another drug, so that
/// "imatinib mesylate" and "imatinib" (or "abiraterone acetate" and "abiraterone") match.
const SALT_WORDS: [&str; 34] = [
    "hydrochloride",
    "dihydrochloride",
    "hcl",
    "mesylate",
    "dimesylate",
    "mesilate",
    "maleate",
    "dimaleate",
    "sulfate",
    "sulphate",
    "tosylate",
    "ditosylate",
    "citrate",
    "acetate",
    "phosphate",
    "sodium",
    "disodium",
    "potassium",
    "calcium",
    "tartrate",
    "bitartrate",
    "besylate",
    "fumarate",
    "succinate",
    "malate",
    "hydrate",
    "monohydrate",
    "dihydrate",
    "trihydrate",
    "sesquihydrate",
    "isethionate",
    "bromide",
    "chloride",
    "lactate",
];

/// The key a name is matched by: lower case, without spaces, hyphens or other punctuation,
/// and without trailing salt words, because labs, vendors and papers write the same drug as
/// "T-DM1", "t dm1" or "Lapatinib ditosylate". Empty when the name has no letter or digit.
///
/// ```
/// use collateral::evidence::normalize_name;
/// assert_eq!(normalize_name("Osimertinib Mesylate"), "osimertinib");
/// assert_eq!(normalize_name("T-DM1"), normalize_name("t dm1"));
/// assert_eq!(normalize_name("SP-2509"), "sp2509");
/// ```
pub fn normalize_name(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| SALT_WORDS.contains(&w.as_str()))
    {
        words.pop();
    }
    words.concat()
}

/// What a reported relation says happens to the subsequent agent after resistance to the
/// previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelationKind {
    /// Resistance to the previous agent came with resistance to the subsequent one.
    CrossResistance,
    /// Resistance to the previous agent came with sensitivity to the subsequent one.
    CollateralSensitivity,
}

impl RelationKind {
    /// Both kinds, in the order the tables' documentation lists them.
    pub const ALL: [RelationKind; 2] = [
        RelationKind::CrossResistance,
        RelationKind::CollateralSensitivity,
    ];

    /// The word the `relation` column uses.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::CrossResistance => "cross_resistance",
            RelationKind::CollateralSensitivity => "collateral_sensitivity",
        }
    }

    /// Reads the `relation` column's word (case-insensitive).
    pub fn parse(s: &str) -> Option<RelationKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// The kind of study a relation was reported in, so a later step can weigh a trial above a
/// cell model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvidenceType {
    /// Resistant cell lines (including patient-derived lines) grown in vitro.
    InVitro,
    /// Mouse models (xenografts, genetically engineered models).
    MouseModel,
    /// Ex vivo tissue culture (e.g. 3D organotypic culture).
    ExVivo,
    /// Patient-derived organoids.
    Organoid,
    /// Analysis of patients' tumours, biopsies or sera.
    PatientAnalysis,
    /// Observational (retrospective, real-world) clinical studies.
    Observational,
    /// Clinical trials (including pilot and phase II studies).
    Trial,
    /// Pre-clinical evidence of a kind the source does not specify.
    Preclinical,
    /// Clinical evidence of a kind the source does not specify.
    Clinical,
    /// The source does not say what kind of study it was.
    Unspecified,
}

impl EvidenceType {
    /// Every type, in the order `docs/evidence.md` lists them.
    pub const ALL: [EvidenceType; 10] = [
        EvidenceType::InVitro,
        EvidenceType::MouseModel,
        EvidenceType::ExVivo,
        EvidenceType::Organoid,
        EvidenceType::PatientAnalysis,
        EvidenceType::Observational,
        EvidenceType::Trial,
        EvidenceType::Preclinical,
        EvidenceType::Clinical,
        EvidenceType::Unspecified,
    ];

    /// The word the `evidence_type` column uses (several joined by `+`).
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceType::InVitro => "in_vitro",
            EvidenceType::MouseModel => "mouse_model",
            EvidenceType::ExVivo => "ex_vivo",
            EvidenceType::Organoid => "organoid",
            EvidenceType::PatientAnalysis => "patient_analysis",
            EvidenceType::Observational => "observational",
            EvidenceType::Trial => "trial",
            EvidenceType::Preclinical => "preclinical",
            EvidenceType::Clinical => "clinical",
            EvidenceType::Unspecified => "unspecified",
        }
    }

    /// Reads one word of the `evidence_type` column (case-insensitive).
    pub fn parse(s: &str) -> Option<EvidenceType> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// What kind of name a row of a drug-names table gives, so a report can say "matched by brand
/// name" and class aliases are told from drug names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NameKind {
    /// The generic (INN/USAN) name or a generic variant of it.
    Generic,
    /// A brand (trade) name.
    Brand,
    /// A development code (AZD9291, MDV3100, ...).
    Code,
    /// An abbreviation (T-DM1, 5-FU, TET, ...).
    Abbreviation,
    /// Another written form.
    Alias,
    /// Another name of a drug class: the row's canonical name is a class.
    Class,
}

impl NameKind {
    /// Every kind, in the order `docs/evidence.md` lists them.
    pub const ALL: [NameKind; 6] = [
        NameKind::Generic,
        NameKind::Brand,
        NameKind::Code,
        NameKind::Abbreviation,
        NameKind::Alias,
        NameKind::Class,
    ];

    /// The word the `kind` column uses.
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Generic => "generic",
            NameKind::Brand => "brand",
            NameKind::Code => "code",
            NameKind::Abbreviation => "abbreviation",
            NameKind::Alias => "alias",
            NameKind::Class => "class",
        }
    }

    /// Reads the `kind` column's word (case-insensitive).
    pub fn parse(s: &str) -> Option<NameKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// An agent of a relation or a screen: one drug, a class of drugs, or drugs given together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Agent {
    /// One drug, by its canonical name.
    Drug(String),
    /// A class of drugs, by its class name; it stands for each of its members.
    Class(String),
    /// Agents given together ("trastuzumab + pertuzumab"), sorted, so the order they are
    /// written in does not matter.
    Combination(Vec<Agent>),
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agent::Drug(name) | Agent::Class(name) => write!(f, "{name}"),
            Agent::Combination(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        write!(f, " + ")?;
                    }
                    write!(f, "{part}")?;
                }
                Ok(())
            }
        }
    }
}

/// One reported relation: one study's report that resistance to `previous` came with
/// resistance (or sensitivity) to `subsequent`.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The agent resistance was acquired to.
    pub previous: Agent,
    /// The agent given (or tested) after it.
    pub subsequent: Agent,
    /// `previous_agent` as the table writes it.
    pub(crate) previous_as_written: String,
    /// `subsequent_agent` as the table writes it.
    pub(crate) subsequent_as_written: String,
    /// Cross-resistance or collateral sensitivity.
    pub kind: RelationKind,
    /// Whether it was also reported the other way round (it then applies both ways).
    pub bidirectional: bool,
    /// The cancer (or model) it was reported in.
    pub cancer_type: String,
    /// The kinds of study, in the order written.
    pub evidence: Vec<EvidenceType>,
    /// The proposed mechanism; empty when none was given.
    pub mechanism: String,
    /// The study as the source cites it: `First author, Journal Year [n]`.
    pub reference: String,
    /// Where in the source the row was read (`Table 3`, `text: MAPK Inhibitors`); may be empty.
    pub source: String,
    /// The file and line the row came from.
    pub origin: Location,
}

/// Which way a relation applies to a (selecting drug, tested drug) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The selecting drug is the relation's previous agent, the tested drug its subsequent one.
    AsReported,
    /// The other way round, which a bidirectional relation also covers.
    Reverse,
}

/// A relation that applies to a pair, and the way it applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Applicable<'a> {
    /// The reported relation.
    pub relation: &'a Relation,
    /// Which way it applies to the pair.
    pub direction: Direction,
}

/// How a name was recognized, so a report can show "Tagrisso (brand name of osimertinib)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MatchedBy {
    /// The name is the canonical name (or a class name) up to case, spaces and salts.
    Canonical,
    /// The name is another name of the drug or class in the names tables.
    Synonym(NameKind),
    /// The lab's alias map sent the name to this name.
    LabAlias(String),
    /// The name joins several names by `+`.
    Combination,
}

/// A name recognized as an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The name as given.
    pub name: String,
    /// The agent it names.
    pub agent: Agent,
    /// How it was recognized.
    pub(crate) matched_by: MatchedBy,
}

/// An assay's drug names sorted into those recognized and those not, so the caller can warn
/// about the second once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssayDrugs {
    /// Each recognized name (as written in the assay) and what it matched.
    pub resolved: BTreeMap<String, Match>,
    /// The names not recognized, sorted.
    pub unresolved: Vec<String>,
}

/// A class of drugs and its members' canonical names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugClass {
    /// The class name as first written.
    pub name: String,
    /// Canonical names of its drugs.
    pub members: BTreeSet<String>,
}

/// One name's entry: the canonical name it stands for and where that was said.
#[derive(Debug, Clone)]
struct NameEntry {
    canonical: String,
    kind: NameKind,
    origin: Location,
}

/// The evidence tables, loaded and cross-checked: names, classes and relations.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Normalized name → its entry (canonical names of drugs included).
    names: BTreeMap<String, NameEntry>,
    /// Normalized canonical name → canonical name as written, for every drug.
    drugs: BTreeMap<String, String>,
    /// Normalized class name → class.
    classes: BTreeMap<String, DrugClass>,
    relations: Vec<Relation>,
}

/// Which of the three table formats a file is, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TableKind {
    Names,
    Classes,
    Relations,
}

/// A problem at a data line and column of a table: the message names the column by number and
/// header, since `Location` has no column of its own.
fn problem_at(table: &Table, line: u64, column: usize, message: impl fmt::Display) -> Problem {
    let header = table.headers.get(column).map_or("", String::as_str);
    Problem {
        location: table.at(line),
        message: format!("column {} (`{header}`): {message}", column + 1),
    }
}

impl Evidence {
    /// No names, classes or relations: the start for tables that should not include the
    /// bundled ones.
    pub fn empty() -> Evidence {
        Evidence::default()
    }

    /// The bundled tables (the review's relations, names and classes). An error here is a bug
    /// in the bundled files, which the tests load.
    pub fn bundled() -> Result<Evidence> {
        let mut evidence = Evidence::empty();
        evidence.load(&bundled_sources())?;
        Ok(evidence)
    }

    /// The bundled tables plus the user's files (names, classes or relations, told apart by
    /// their headers), so a lab can add its own evidence and names; a user's name may not give
    /// a bundled name another meaning (use lab aliases for that).
    pub fn with_files<P: AsRef<Path>>(paths: &[P]) -> Result<Evidence> {
        let mut sources = bundled_sources();
        for path in paths {
            let path = path.as_ref();
            sources.push((path.to_path_buf(), read_bytes(path)?));
        }
        let mut evidence = Evidence::empty();
        evidence.load(&sources)?;
        Ok(evidence)
    }

    /// Only the given files, without the bundled tables.
    pub(crate) fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Evidence> {
        let mut sources = Vec::new();
        for path in paths {
            let path = path.as_ref();
            sources.push((path.to_path_buf(), read_bytes(path)?));
        }
        let mut evidence = Evidence::empty();
        evidence.load(&sources)?;
        Ok(evidence)
    }

    /// Only tables held in memory, each with the path its errors should name.
    pub fn from_bytes(sources: &[(PathBuf, Vec<u8>)]) -> Result<Evidence> {
        let mut evidence = Evidence::empty();
        evidence.load(sources)?;
        Ok(evidence)
    }

    /// Every relation, in the order read (bundled first, then the user's files).
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// Every drug class, by class name.
    pub fn classes(&self) -> impl Iterator<Item = &DrugClass> {
        self.classes.values()
    }

    /// Canonical names of every known drug, sorted by their normalized form.
    pub fn drugs(&self) -> impl Iterator<Item = &str> {
        self.drugs.values().map(String::as_str)
    }

    /// The members of a class (by any of its names), if it is one.
    pub fn class_members(&self, class: &str) -> Option<&BTreeSet<String>> {
        match self.lookup(&normalize_name(class))? {
            (Agent::Class(name), _) => self.classes.get(&normalize_name(&name)).map(|c| &c.members),
            _ => None,
        }
    }

    /// The agent a name stands for: a drug (by canonical, brand, code or other name, in any
    /// case, spacing or salt form), a class, or a combination written with `+`.
    pub fn resolve(&self, name: &str) -> Option<Match> {
        self.resolve_with(name, &BTreeMap::new())
    }

    /// As [`Evidence::resolve`], but the lab's aliases (its own abbreviation → a name the
    /// tables know, e.g. `DOX` → `doxorubicin`) are tried first, since a lab knows what its
    /// abbreviations mean better than a global table.
    pub(crate) fn resolve_with(
        &self,
        name: &str,
        aliases: &BTreeMap<String, String>,
    ) -> Option<Match> {
        let key = normalize_name(name);
        if key.is_empty() {
            return None;
        }
        if let Some(target) = aliases
            .iter()
            .find(|(alias, _)| normalize_name(alias) == key)
            .map(|(_, target)| target)
        {
            let agent = self.resolve_with(target, &BTreeMap::new())?.agent;
            return Some(Match {
                name: name.to_string(),
                agent,
                matched_by: MatchedBy::LabAlias(target.clone()),
            });
        }
        if let Some(found) = self.resolve_plain(name) {
            return Some(found);
        }
        if !name.contains('+') {
            return None;
        }
        let mut parts = Vec::new();
        for part in name.split('+') {
            parts.push(self.resolve_with(part, aliases)?.agent);
        }
        Some(Match {
            name: name.to_string(),
            agent: combination(parts),
            matched_by: MatchedBy::Combination,
        })
    }

    /// A whole name (no `+` splitting, no aliases) looked up in the tables.
    fn resolve_plain(&self, name: &str) -> Option<Match> {
        let key = normalize_name(name);
        let (agent, kind) = self.lookup(&key)?;
        let canonical = match &agent {
            Agent::Drug(n) | Agent::Class(n) => normalize_name(n),
            Agent::Combination(_) => String::new(),
        };
        let matched_by = if canonical == key {
            MatchedBy::Canonical
        } else {
            MatchedBy::Synonym(kind)
        };
        Some(Match {
            name: name.to_string(),
            agent,
            matched_by,
        })
    }

    /// The agent a normalized name stands for, and the kind of name it is.
    fn lookup(&self, key: &str) -> Option<(Agent, NameKind)> {
        if let Some(entry) = self.names.get(key) {
            let canonical = normalize_name(&entry.canonical);
            if entry.kind == NameKind::Class {
                let class = self.classes.get(&canonical)?;
                return Some((Agent::Class(class.name.clone()), entry.kind));
            }
            let drug = self.drugs.get(&canonical)?;
            return Some((Agent::Drug(drug.clone()), entry.kind));
        }
        let class = self.classes.get(key)?;
        Some((Agent::Class(class.name.clone()), NameKind::Class))
    }

    /// Every drug name of an assay resolved (lab aliases first), the unrecognized ones listed.
    pub fn resolve_assay<S: AsRef<str>>(
        &self,
        drugs: &[S],
        aliases: &BTreeMap<String, String>,
    ) -> AssayDrugs {
        let mut out = AssayDrugs::default();
        for drug in drugs {
            let drug = drug.as_ref();
            if drug.trim().is_empty() || out.resolved.contains_key(drug) {
                continue;
            }
            match self.resolve_with(drug, aliases) {
                Some(found) => {
                    out.resolved.insert(drug.to_string(), found);
                }
                None => out.unresolved.push(drug.to_string()),
            }
        }
        out.unresolved.sort();
        out.unresolved.dedup();
        out
    }

    /// The relations that apply to a line selected with `selected_with` and tested with
    /// `drug`, both given as names; none when either name is not recognized.
    pub fn relations_for(&self, selected_with: &str, drug: &str) -> Vec<Applicable<'_>> {
        match (self.resolve(selected_with), self.resolve(drug)) {
            (Some(selected), Some(tested)) => {
                self.relations_between(&selected.agent, &tested.agent)
            }
            _ => Vec::new(),
        }
    }

    /// The relations that apply to a line selected with `selected` and tested with `tested`,
    /// in the order read: as reported when the selecting agent falls under the relation's
    /// previous agent and the tested one under its subsequent agent, reversed when a
    /// bidirectional relation matches the other way. A drug tested against itself has none.
    pub fn relations_between(&self, selected: &Agent, tested: &Agent) -> Vec<Applicable<'_>> {
        if selected == tested {
            return Vec::new();
        }
        let mut out = Vec::new();
        for relation in &self.relations {
            let direction = if self.covers(&relation.previous, selected)
                && self.covers(&relation.subsequent, tested)
            {
                Direction::AsReported
            } else if relation.bidirectional
                && self.covers(&relation.subsequent, selected)
                && self.covers(&relation.previous, tested)
            {
                Direction::Reverse
            } else {
                continue;
            };
            out.push(Applicable {
                relation,
                direction,
            });
        }
        out
    }

    /// Whether a relation's agent covers a screen's agent: the same drug; a class and one of
    /// its drugs, a class inside it, or a combination of its drugs; combinations of the same
    /// size whose parts cover each other one to one. A single drug does not stand for a
    /// combination it is part of, nor a combination for its parts.
    pub fn covers(&self, pattern: &Agent, actual: &Agent) -> bool {
        match (pattern, actual) {
            (Agent::Drug(a), Agent::Drug(b)) => a == b,
            (Agent::Class(c), Agent::Drug(d)) => self.members(c).is_some_and(|m| m.contains(d)),
            (Agent::Class(c), Agent::Class(d)) => {
                c == d
                    || match (self.members(c), self.members(d)) {
                        (Some(outer), Some(inner)) => !inner.is_empty() && inner.is_subset(outer),
                        _ => false,
                    }
            }
            (Agent::Class(_), Agent::Combination(parts)) => {
                parts.iter().all(|p| self.covers(pattern, p))
            }
            (Agent::Combination(ps), Agent::Combination(xs)) => {
                ps.len() == xs.len() && self.pairs_one_to_one(ps, xs)
            }
            _ => false,
        }
    }

    /// Whether every part of `actual` can be given its own part of `pattern` that covers it
    /// (a bipartite matching by augmenting paths, so the order of parts does not matter).
    fn pairs_one_to_one(&self, pattern: &[Agent], actual: &[Agent]) -> bool {
        fn augment(
            e: &Evidence,
            i: usize,
            pattern: &[Agent],
            actual: &[Agent],
            seen: &mut [bool],
            owner: &mut [Option<usize>],
        ) -> bool {
            for j in 0..pattern.len() {
                if seen[j] || !e.covers(&pattern[j], &actual[i]) {
                    continue;
                }
                seen[j] = true;
                if owner[j].is_none_or(|k| augment(e, k, pattern, actual, seen, owner)) {
                    owner[j] = Some(i);
                    return true;
                }
            }
            false
        }
        let mut owner = vec![None; pattern.len()];
        (0..actual.len()).all(|i| {
            let mut seen = vec![false; pattern.len()];
            augment(self, i, pattern, actual, &mut seen, &mut owner)
        })
    }

    fn members(&self, class: &str) -> Option<&BTreeSet<String>> {
        self.classes.get(&normalize_name(class)).map(|c| &c.members)
    }

    /// Reads the tables: all names first, then all classes, then all relations, whatever
    /// order the files come in, since classes name drugs and relations name both.
    fn load(&mut self, sources: &[(PathBuf, Vec<u8>)]) -> Result<()> {
        let mut tables = Vec::new();
        for (path, bytes) in sources {
            let table = Table::from_bytes(bytes, path)?;
            tables.push((table_kind(&table)?, table));
        }
        // A stable sort: files of one kind keep their order.
        tables.sort_by_key(|(kind, _)| *kind);
        let mut problems = Vec::new();
        for (kind, mut table) in tables {
            if kind != TableKind::Names && !problems.is_empty() {
                // Later tables would only repeat the unknown names as unknown agents.
                break;
            }
            match kind {
                TableKind::Names => self.read_names(&mut table, &mut problems)?,
                TableKind::Classes => self.read_classes(&mut table, &mut problems)?,
                TableKind::Relations => {
                    self.check_class_aliases(&mut problems);
                    if problems.is_empty() {
                        self.read_relations(&mut table, &mut problems)?;
                    }
                }
            }
        }
        if problems.is_empty() {
            self.check_class_aliases(&mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::problems(ErrorKind::Input, problems))
        }
    }

    /// Every name row whose kind is `class` must name a class of the classes tables, and may
    /// not be the name of another class (the alias would hide that class).
    fn check_class_aliases(&self, problems: &mut Vec<Problem>) {
        for (key, entry) in &self.names {
            if entry.kind != NameKind::Class || problems.iter().any(|p| p.location == entry.origin)
            {
                continue;
            }
            let class = normalize_name(&entry.canonical);
            let message = if !self.classes.contains_key(&class) {
                format!(
                    "`{}` (name `{key}`) is marked `class` but no classes table defines the \
                     class `{}`",
                    entry.canonical, entry.canonical
                )
            } else if let Some(other) = self.classes.get(key).filter(|_| *key != class) {
                format!(
                    "`{key}` is the name of the class `{}`; it cannot also name the class `{}`",
                    other.name, entry.canonical
                )
            } else {
                continue;
            };
            problems.push(Problem {
                location: entry.origin.clone(),
                message,
            });
        }
    }

    /// Names rows: `canonical, name[, kind]`.
    fn read_names(&mut self, table: &mut Table, problems: &mut Vec<Problem>) -> Result<()> {
        let canonical_col = table.require("canonical")?;
        let name_col = table.require("name")?;
        let kind_col = table.column("kind");
        let mut rec = csv::StringRecord::new();
        while let Some(line) = table.next_row(&mut rec)? {
            let canonical = field(&rec, Some(canonical_col));
            let name = field(&rec, Some(name_col));
            let kind_text = field(&rec, kind_col);
            let kind = if kind_text.is_empty() {
                Some(NameKind::Generic)
            } else {
                NameKind::parse(kind_text)
            };
            let Some(kind) = kind else {
                let words: Vec<&str> = NameKind::ALL.iter().map(|k| k.as_str()).collect();
                let message = format!(
                    "unknown kind `{kind_text}`{}; expected one of {}",
                    did_you_mean(kind_text, &words),
                    words.join(", ")
                );
                problems.push(problem_at(table, line, kind_col.unwrap_or(0), message));
                continue;
            };
            if normalize_name(canonical).is_empty() {
                problems.push(problem_at(
                    table,
                    line,
                    canonical_col,
                    "empty canonical name",
                ));
                continue;
            }
            if normalize_name(name).is_empty() {
                problems.push(problem_at(table, line, name_col, "empty name"));
                continue;
            }
            let origin = table.at(line);
            if kind != NameKind::Class {
                if let Some(p) = self.add_name(canonical, canonical, NameKind::Generic, &origin) {
                    problems.push(problem_at(table, line, canonical_col, p));
                    continue;
                }
                self.drugs
                    .entry(normalize_name(canonical))
                    .or_insert_with(|| canonical.to_string());
            }
            if let Some(p) = self.add_name(name, canonical, kind, &origin) {
                problems.push(problem_at(table, line, name_col, p));
            }
        }
        Ok(())
    }

    /// Records that `name` stands for `canonical`; a message when it already stands for
    /// something else, since one name must mean one drug.
    fn add_name(
        &mut self,
        name: &str,
        canonical: &str,
        kind: NameKind,
        origin: &Location,
    ) -> Option<String> {
        let key = normalize_name(name);
        if let Some(entry) = self.names.get(&key) {
            if normalize_name(&entry.canonical) == normalize_name(canonical) {
                return None;
            }
            return Some(format!(
                "`{name}` already names `{}` ({}); a name stands for one drug or class \
                 (give a lab's own meaning of an abbreviation as a lab alias instead)",
                entry.canonical, entry.origin
            ));
        }
        self.names.insert(
            key,
            NameEntry {
                canonical: canonical.to_string(),
                kind,
                origin: origin.clone(),
            },
        );
        None
    }

    /// Classes rows: `class, member`; a member is any name of a known drug.
    fn read_classes(&mut self, table: &mut Table, problems: &mut Vec<Problem>) -> Result<()> {
        let class_col = table.require("class")?;
        let member_col = table.require("member")?;
        let mut rec = csv::StringRecord::new();
        while let Some(line) = table.next_row(&mut rec)? {
            let class = field(&rec, Some(class_col));
            let member = field(&rec, Some(member_col));
            let key = normalize_name(class);
            if key.is_empty() {
                problems.push(problem_at(table, line, class_col, "empty class name"));
                continue;
            }
            if let Some(entry) = self.names.get(&key).filter(|e| e.kind != NameKind::Class) {
                let message = format!(
                    "the class name `{class}` already names the drug `{}` ({})",
                    entry.canonical, entry.origin
                );
                problems.push(problem_at(table, line, class_col, message));
                continue;
            }
            let drug = match self.lookup(&normalize_name(member)) {
                Some((Agent::Drug(drug), _)) => drug,
                Some(_) => {
                    let message = format!("`{member}` is a class; list its drugs instead");
                    problems.push(problem_at(table, line, member_col, message));
                    continue;
                }
                None => {
                    let message = format!(
                        "unknown drug `{member}`{}; add it to a drug names table first",
                        self.suggest(member)
                    );
                    problems.push(problem_at(table, line, member_col, message));
                    continue;
                }
            };
            self.classes
                .entry(key)
                .or_insert_with(|| DrugClass {
                    name: class.to_string(),
                    members: BTreeSet::new(),
                })
                .members
                .insert(drug);
        }
        Ok(())
    }

    /// " (did you mean `x`?)" for the nearest known name, or nothing.
    fn suggest(&self, name: &str) -> String {
        let known: Vec<&str> = self
            .names
            .values()
            .map(|e| e.canonical.as_str())
            .chain(self.classes.values().map(|c| c.name.as_str()))
            .collect();
        did_you_mean(name, &known)
    }

    /// Relations rows (see `docs/evidence.md` for the columns).
    fn read_relations(&mut self, table: &mut Table, problems: &mut Vec<Problem>) -> Result<()> {
        let columns = RelationColumns::of(table)?;
        let mut rec = csv::StringRecord::new();
        while let Some(line) = table.next_row(&mut rec)? {
            let before = problems.len();
            let agent = |col: usize, problems: &mut Vec<Problem>| {
                let text = field(&rec, Some(col));
                let found = self.resolve(text).map(|m| m.agent);
                if found.is_none() {
                    let message = if text.is_empty() {
                        "empty agent".to_string()
                    } else {
                        format!("unknown drug or class `{text}`{}", self.suggest(text))
                    };
                    problems.push(problem_at(table, line, col, message));
                }
                found
            };
            let previous = agent(columns.previous, problems);
            let subsequent = agent(columns.subsequent, problems);
            let kind = parse_relation_kind(table, &rec, line, columns.relation, problems);
            let bidirectional = parse_bool(table, &rec, line, columns.bidirectional, problems);
            let evidence = parse_evidence(table, &rec, line, columns.evidence, problems);
            let reference = field(&rec, Some(columns.reference));
            if reference.is_empty() {
                problems.push(problem_at(
                    table,
                    line,
                    columns.reference,
                    "empty reference",
                ));
            }
            if let (Some(p), Some(s)) = (&previous, &subsequent) {
                if p == s {
                    let message = "the subsequent agent is the previous one";
                    problems.push(problem_at(table, line, columns.subsequent, message));
                }
            }
            let (Some(previous), Some(subsequent), Some(kind), Some(bidirectional)) =
                (previous, subsequent, kind, bidirectional)
            else {
                continue;
            };
            if problems.len() > before {
                continue;
            }
            self.relations.push(Relation {
                previous,
                subsequent,
                previous_as_written: field(&rec, Some(columns.previous)).to_string(),
                subsequent_as_written: field(&rec, Some(columns.subsequent)).to_string(),
                kind,
                bidirectional,
                cancer_type: field(&rec, Some(columns.cancer_type)).to_string(),
                evidence,
                mechanism: field(&rec, Some(columns.mechanism)).to_string(),
                reference: reference.to_string(),
                source: field(&rec, columns.source).to_string(),
                origin: table.at(line),
            });
        }
        Ok(())
    }
}

/// The bundled tables with the paths their errors name.
fn bundled_sources() -> Vec<(PathBuf, Vec<u8>)> {
    [
        ("evidence/drug_names.csv", BUNDLED_NAMES),
        ("evidence/drug_classes.csv", BUNDLED_CLASSES),
        ("evidence/relations.csv", BUNDLED_RELATIONS),
    ]
    .into_iter()
    .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
    .collect()
}

/// Combination of agents, sorted and flattened so equal combinations compare equal.
fn combination(parts: Vec<Agent>) -> Agent {
    let mut flat = Vec::new();
    for part in parts {
        match part {
            Agent::Combination(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    flat.sort();
    flat.dedup();
    if flat.len() == 1 {
        flat.remove(0)
    } else {
        Agent::Combination(flat)
    }
}

/// Which format a table is, from its header.
fn table_kind(table: &Table) -> Result<TableKind> {
    if table.column("previous_agent").is_some() {
        Ok(TableKind::Relations)
    } else if table.column("class").is_some() && table.column("member").is_some() {
        Ok(TableKind::Classes)
    } else if table.column("canonical").is_some() && table.column("name").is_some() {
        Ok(TableKind::Names)
    } else {
        Err(Error::input(
            Location::file(&table.path).at_line(1),
            format!(
                "not an evidence table: the header ({}) is none of relations \
                 (previous_agent, subsequent_agent, relation, ...), drug names (canonical, \
                 name[, kind]) or drug classes (class, member)",
                table.headers.join(", ")
            ),
        ))
    }
}

/// The column indices of a relations table.
struct RelationColumns {
    previous: usize,
    subsequent: usize,
    relation: usize,
    bidirectional: usize,
    cancer_type: usize,
    evidence: usize,
    mechanism: usize,
    reference: usize,
    source: Option<usize>,
}

impl RelationColumns {
    fn of(table: &Table) -> Result<RelationColumns> {
        Ok(RelationColumns {
            previous: table.require("previous_agent")?,
            subsequent: table.require("subsequent_agent")?,
            relation: table.require("relation")?,
            bidirectional: table.require("bidirectional")?,
            cancer_type: table.require("cancer_type")?,
            evidence: table.require("evidence_type")?,
            mechanism: table.require("mechanism")?,
            reference: table.require("reference")?,
            source: table.column("source"),
        })
    }
}

fn parse_relation_kind(
    table: &Table,
    rec: &csv::StringRecord,
    line: u64,
    col: usize,
    problems: &mut Vec<Problem>,
) -> Option<RelationKind> {
    let text = field(rec, Some(col));
    let kind = RelationKind::parse(text);
    if kind.is_none() {
        let words: Vec<&str> = RelationKind::ALL.iter().map(|k| k.as_str()).collect();
        let message = format!(
            "unknown relation `{text}`{}; expected {}",
            did_you_mean(text, &words),
            words.join(" or ")
        );
        problems.push(problem_at(table, line, col, message));
    }
    kind
}

fn parse_bool(
    table: &Table,
    rec: &csv::StringRecord,
    line: u64,
    col: usize,
    problems: &mut Vec<Problem>,
) -> Option<bool> {
    let text = field(rec, Some(col));
    match text.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            let message = format!("`{text}` is not `true` or `false`");
            problems.push(problem_at(table, line, col, message));
            None
        }
    }
}

fn parse_evidence(
    table: &Table,
    rec: &csv::StringRecord,
    line: u64,
    col: usize,
    problems: &mut Vec<Problem>,
) -> Vec<EvidenceType> {
    let text = field(rec, Some(col));
    let words: Vec<&str> = EvidenceType::ALL.iter().map(|k| k.as_str()).collect();
    let mut out = Vec::new();
    for part in text.split('+') {
        match EvidenceType::parse(part) {
            Some(t) => out.push(t),
            None => {
                let part = part.trim();
                let message = format!(
                    "unknown evidence type `{part}`{}; expected one or more of {} joined by `+` \
                     (`unspecified` when the source does not say)",
                    did_you_mean(part, &words),
                    words.join(", ")
                );
                problems.push(problem_at(table, line, col, message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Evidence {
        match Evidence::bundled() {
            Ok(e) => e,
            Err(e) => panic!("bundled evidence does not load:\n{e}"),
        }
    }

    fn load(files: &[(&str, &str)]) -> Result<Evidence> {
        let sources: Vec<(PathBuf, Vec<u8>)> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.as_bytes().to_vec()))
            .collect();
        Evidence::from_bytes(&sources)
    }

    const NAMES: &str = "canonical,name,kind\n\
        alpha,Alphabrand,brand\n\
        beta,BX-1,code\n\
        gamma,gamma,generic\n\
        AB class,ABs,class\n";
    const CLASSES: &str = "class,member\nAB class,alpha\nAB class,Alphabrand\nAB class,beta\n";
    const HEADER: &str = "previous_agent,subsequent_agent,relation,bidirectional,cancer_type,\
        evidence_type,mechanism,reference\n";

    #[test]
    fn names_match_whatever_the_case_spacing_and_salt() {
        assert_eq!(normalize_name("Lapatinib Ditosylate"), "lapatinib");
        assert_eq!(normalize_name("erlotinib HCl"), "erlotinib");
        assert_eq!(normalize_name("Neratinib maleate"), "neratinib");
        assert_eq!(normalize_name("vinblastine sulfate"), "vinblastine");
        assert_eq!(
            normalize_name("Ado-Trastuzumab  Emtansine"),
            "adotrastuzumabemtansine"
        );
        assert_eq!(normalize_name("Herceptin®"), "herceptin");
        assert_eq!(normalize_name("ICI 182,780"), "ici182780");
        // A salt word alone is a name, not a salt to strip.
        assert_eq!(normalize_name("Sodium"), "sodium");
        assert_eq!(normalize_name(" - "), "");
    }

    #[test]
    fn bundled_tables_load_and_resolve_brand_and_code_names() {
        let e = bundled();
        assert!(e.relations().len() >= 35);
        let drug = |name: &str| e.resolve(name).map(|m| m.agent);
        let d = |c: &str| Some(Agent::Drug(c.to_string()));
        assert_eq!(drug("Herceptin"), d("trastuzumab"));
        assert_eq!(drug("kadcyla"), d("trastuzumab emtansine"));
        assert_eq!(drug("T-DM1"), d("trastuzumab emtansine"));
        assert_eq!(drug("Tagrisso"), d("osimertinib"));
        assert_eq!(drug("AZD-9291"), d("osimertinib"));
        assert_eq!(drug("osimertinib mesylate"), d("osimertinib"));
        assert_eq!(drug("XTANDI"), d("enzalutamide"));
        assert_eq!(drug("Abiraterone Acetate"), d("abiraterone"));
        assert_eq!(drug("IPI504"), d("retaspimycin"));
        assert_eq!(drug("ALK TKIs"), Some(Agent::Class("ALK-TKIs".into())));
        assert_eq!(drug("no such drug"), None);
        let m = e.resolve("Tykerb").unwrap();
        assert_eq!(m.matched_by, MatchedBy::Synonym(NameKind::Brand));
        assert_eq!(
            e.resolve("lapatinib").unwrap().matched_by,
            MatchedBy::Canonical
        );
    }

    #[test]
    fn combinations_resolve_in_any_order() {
        let e = bundled();
        let a = e.resolve("Dabrafenib + Trametinib").unwrap();
        let b = e.resolve("Mekinist+Tafinlar").unwrap();
        assert_eq!(a.agent, b.agent);
        assert_eq!(a.matched_by, MatchedBy::Combination);
        assert!(e.resolve("dabrafenib + nothing").is_none());
        let table5 = |selected: &str, tested: &str| {
            e.relations_for(selected, tested)
                .iter()
                .filter(|a| a.relation.source == "Table 5")
                .count()
        };
        // Both the single agent and the combination rows of Table 5 reach anti-PD1 ...
        assert_eq!(table5("dabrafenib+trametinib", "nivolumab"), 1);
        assert_eq!(table5("dabrafenib", "pembrolizumab"), 1);
        // ... but trametinib alone is neither dabrafenib nor the combination; only the text's
        // class-level rows (MAPK inhibitors -> immune checkpoint inhibitors) reach it.
        assert_eq!(table5("trametinib", "nivolumab"), 0);
        assert_eq!(e.relations_for("trametinib", "nivolumab").len(), 3);
    }

    #[test]
    fn classes_expand_to_their_members_and_bidirectional_rows_apply_both_ways() {
        let e = bundled();
        let forward = e.relations_for("crizotinib", "etoposide");
        assert_eq!(forward.len(), 1);
        assert_eq!(forward[0].direction, Direction::AsReported);
        assert_eq!(
            forward[0].relation.kind,
            RelationKind::CollateralSensitivity
        );
        // Not reported the other way.
        assert!(e.relations_for("etoposide", "crizotinib").is_empty());
        let back = e.relations_for("paclitaxel", "cisplatin");
        assert!(back.iter().any(|a| a.direction == Direction::Reverse
            && a.relation.kind == RelationKind::CollateralSensitivity));
        let nera = e.relations_for("Tykerb", "neratinib");
        assert!(nera.iter().any(|a| a.direction == Direction::Reverse));
        // A drug is not cross-resistant with itself, even when its class is.
        assert!(e.relations_for("cisplatin", "cisplatin").is_empty());
        assert_eq!(e.relations_for("cisplatin", "carboplatin").len(), 1);
        assert!(e.class_members("platinum").unwrap().contains("oxaliplatin"));
    }

    #[test]
    fn lab_aliases_come_first() {
        let e = bundled();
        let mut aliases = BTreeMap::new();
        aliases.insert("DOX".to_string(), "doxorubicin".to_string());
        aliases.insert("Crz".to_string(), "crizotinib".to_string());
        let m = e.resolve_with("dox", &aliases).unwrap();
        assert_eq!(m.agent, Agent::Drug("doxorubicin".into()));
        assert_eq!(m.matched_by, MatchedBy::LabAlias("doxorubicin".into()));
        assert!(e.resolve("DOX").is_none());
        // An alias may stand for a combination.
        aliases.insert("D+T".to_string(), "dabrafenib + trametinib".to_string());
        let combo = e.resolve("trametinib+dabrafenib").unwrap().agent;
        assert_eq!(e.resolve_with("d+t", &aliases).unwrap().agent, combo);
        let assay = e.resolve_assay(&["Crz", "Etoposide", "XYZ-1", "Crz"], &aliases);
        assert_eq!(assay.resolved.len(), 2);
        assert_eq!(assay.unresolved, vec!["XYZ-1".to_string()]);
    }

    #[test]
    fn users_tables_load_in_any_order() {
        let rel =
            format!("{HEADER}ABs,gamma,collateral_sensitivity,TRUE,x,in_vitro,,Me 2024 [1]\n");
        let e = load(&[("r.csv", &rel), ("c.csv", CLASSES), ("n.csv", NAMES)]).unwrap();
        assert_eq!(e.relations().len(), 1);
        assert_eq!(e.relations_for("BX-1", "gamma").len(), 1);
        assert_eq!(
            e.relations_for("gamma", "alpha")[0].direction,
            Direction::Reverse
        );
        assert_eq!(e.relations()[0].origin, Location::file("r.csv").at_line(2));
    }

    #[test]
    fn bad_rows_are_located_by_file_line_and_column() {
        let rel = format!(
            "{HEADER}alpha,gamma,cross_resistence,true,x,in_vitro,,R [1]\n\
             alpha,delta,cross_resistance,maybe,x,in_vitro+mice,,\n"
        );
        let err = load(&[("n.csv", NAMES), ("c.csv", CLASSES), ("r.csv", &rel)]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("r.csv:2: column 3 (`relation`)"), "{text}");
        assert!(text.contains("did you mean `cross_resistance`"), "{text}");
        assert!(
            text.contains("r.csv:3: column 2 (`subsequent_agent`): unknown drug or class `delta`")
        );
        assert!(
            text.contains("r.csv:3: column 4 (`bidirectional`)"),
            "{text}"
        );
        assert!(text.contains("r.csv:3: column 6 (`evidence_type`): unknown evidence type `mice`"));
        assert!(
            text.contains("r.csv:3: column 8 (`reference`): empty reference"),
            "{text}"
        );
    }

    #[test]
    fn a_name_cannot_mean_two_drugs() {
        let names = format!("{NAMES}gamma,BX 1,code\n");
        let err = load(&[("n.csv", &names)]).unwrap_err().to_string();
        assert!(err.contains("n.csv:6: column 2 (`name`): `BX 1` already names `beta` (n.csv:3)"));
        // A user's table may not give a bundled name another meaning either.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.csv");
        std::fs::write(&path, "canonical,name\ndoxycycline,Herceptin\n").unwrap();
        let err = Evidence::with_files(&[&path]).unwrap_err().to_string();
        assert!(
            err.contains("`Herceptin` already names `trastuzumab`"),
            "{err}"
        );
    }

    #[test]
    fn class_rows_must_name_known_drugs_and_class_aliases_known_classes() {
        let classes = "class,member\nAB class,alpha\nAB class,omega\nbeta,alpha\n";
        let err = load(&[("n.csv", NAMES), ("c.csv", classes)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.csv:3: column 2 (`member`): unknown drug `omega`"),
            "{err}"
        );
        assert!(err.contains("c.csv:4: column 1 (`class`): the class name `beta` already names"));
        let err = load(&[("n.csv", NAMES)]).unwrap_err().to_string();
        assert!(
            err.contains("n.csv:5: `AB class` (name `abs`) is marked `class`"),
            "{err}"
        );
        // An alias of one class may not be another class's name.
        let names = format!("{NAMES}AB class,G class,class\n");
        let classes = format!("{CLASSES}G class,gamma\n");
        let err = load(&[("n.csv", &names), ("c.csv", &classes)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("n.csv:6: `gclass` is the name of the class `G class`"),
            "{err}"
        );
    }

    #[test]
    fn a_table_of_another_format_is_named() {
        let err = load(&[("x.csv", "a,b\n1,2\n")]).unwrap_err().to_string();
        assert!(err.starts_with("x.csv:1: not an evidence table"), "{err}");
    }

    #[test]
    fn combinations_match_one_to_one() {
        let e = bundled();
        let agent = |n: &str| e.resolve(n).unwrap().agent;
        let pattern = agent("BRAF inhibitors + MEK inhibitors");
        assert!(e.covers(&pattern, &agent("trametinib + dabrafenib")));
        assert!(e.covers(&pattern, &agent("encorafenib + binimetinib")));
        assert!(!e.covers(&pattern, &agent("dabrafenib + vemurafenib")));
        assert!(!e.covers(&pattern, &agent("dabrafenib")));
        // A class covers a combination of its own drugs.
        assert!(e.covers(&agent("MAPK inhibitors"), &agent("dabrafenib+trametinib")));
    }
}
