//! `shifts.csv`: its columns, writing it (with extra provenance columns for a merge), and
//! reading it back (for `collateral plan`).

use super::*;

/// Reads a `shifts.csv` back (this tool's, or one with at least `resistant_line, drug,
/// selected_with, log2_fc, call`): what a planner or another reader of a finished comparison
/// needs, and every column of [`SHIFT_COLUMNS`] but `tau` and `evidence_agreement` (which
/// follows from `evidence` and the call) when the table has it, so this tool's own table reads
/// back into the rows that wrote it. Columns it lacks are empty or NaN; a cell
/// that is not what its column holds is a problem at its file and line (all are reported
/// together).
// Long because it reads one column after another, each with its own parse and message: split
// into pieces it would scatter the table's column list over several functions.
pub fn read_shifts(path: &std::path::Path) -> crate::Result<Vec<Shift>> {
    use crate::error::{Error, ErrorKind, Problem};
    use crate::table::{field, Table};
    let mut t = Table::open(path)?;
    let c_line = t.require("resistant_line")?;
    let c_drug = t.require("drug")?;
    let c_sel = t.require("selected_with")?;
    let c_fc = t.require("log2_fc")?;
    let c_call = t.require("call")?;
    let c = |name: &str| t.column(name);
    let (c_parent, c_rep, c_metric, c_qual) = (
        c("parental_line"),
        c("replicate"),
        c("metric"),
        c("log2_fc_qualifier"),
    );
    let (c_lo, c_hi, c_p, c_q, c_reason) = (
        c("ci_low"),
        c("ci_high"),
        c("p_value"),
        c("q_value"),
        c("reason"),
    );
    // Added after the contract columns; older run folders and users' tables lack it.
    let c_evidence = c("evidence");
    let (c_value_r, c_qual_r, c_value_p, c_qual_p, c_f_test) = (
        c("value_resistant"),
        c("qualifier_resistant"),
        c("value_parental"),
        c("qualifier_parental"),
        c("ec50_f_test_p"),
    );
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = t.next_row(&mut rec)? {
        let mut bad = |message: String| {
            problems.push(Problem {
                location: t.at(line),
                message,
            })
        };
        let mut number = |col: Option<usize>, what: &str| match field(&rec, col) {
            "" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| {
                bad(format!(
                    "`{what}` is `{v}`; expected a number or an empty cell"
                ));
                f64::NAN
            }),
        };
        let log2_fc = number(Some(c_fc), "log2_fc");
        let (ci_low, ci_high) = (number(c_lo, "ci_low"), number(c_hi, "ci_high"));
        let (p_value, q_value) = (number(c_p, "p_value"), number(c_q, "q_value"));
        let (value_resistant, value_parental) = (
            number(c_value_r, "value_resistant"),
            number(c_value_p, "value_parental"),
        );
        let ec50_f_test_p = number(c_f_test, "ec50_f_test_p");
        let mut bound = |col: Option<usize>, what: &str| match field(&rec, col) {
            "" => None,
            v => Bound::parse(v).or_else(|| {
                problems.push(Problem {
                    location: t.at(line),
                    message: format!("`{what}` is `{v}`; expected =, >, < or an empty cell"),
                });
                None
            }),
        };
        let log2_fc_qualifier = bound(c_qual, "log2_fc_qualifier");
        let qualifier_resistant = bound(c_qual_r, "qualifier_resistant");
        let qualifier_parental = bound(c_qual_p, "qualifier_parental");
        let call = match Call::parse(field(&rec, Some(c_call))) {
            Some(call) => call,
            None => {
                problems.push(Problem {
                    location: t.at(line),
                    message: format!(
                        "`call` is `{}`; expected collateral_sensitive, cross_resistant, neutral or undetermined",
                        field(&rec, Some(c_call))
                    ),
                });
                continue;
            }
        };
        let evidence = match crate::evidence::parse_reported(field(&rec, c_evidence)) {
            Ok(evidence) => evidence,
            Err(message) => {
                problems.push(Problem {
                    location: t.at(line),
                    message: format!("`evidence`: {message}"),
                });
                continue;
            }
        };
        let metric = match field(&rec, c_metric) {
            "" => Metric::Ic50,
            m => match serde_json::from_value(serde_json::Value::String(m.to_string())) {
                Ok(m) => m,
                Err(_) => {
                    problems.push(Problem {
                        location: t.at(line),
                        message: format!("`metric` is `{m}`, not a metric of this tool"),
                    });
                    continue;
                }
            },
        };
        out.push(Shift {
            resistant_line: field(&rec, Some(c_line)).to_string(),
            replicate: field(&rec, c_rep).to_string(),
            parental_line: field(&rec, c_parent).to_string(),
            drug: field(&rec, Some(c_drug)).to_string(),
            selected_with: field(&rec, Some(c_sel)).to_string(),
            metric,
            log2_fc,
            log2_fc_qualifier,
            ci_low,
            ci_high,
            p_value,
            q_value,
            call,
            value_resistant,
            qualifier_resistant,
            value_parental,
            qualifier_parental,
            reason: field(&rec, c_reason).to_string(),
            ec50_f_test_p,
            evidence,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// Columns of `shifts.csv`: the DESIGN.md contract, then details; `evidence` and
/// `evidence_agreement` last (docs/evidence.md), which a reader does not require.
pub const SHIFT_COLUMNS: [&str; 22] = [
    "resistant_line",
    "parental_line",
    "drug",
    "selected_with",
    "metric",
    "log2_fc",
    "log2_fc_qualifier",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "call",
    "replicate",
    "value_resistant",
    "qualifier_resistant",
    "value_parental",
    "qualifier_parental",
    "reason",
    "tau",
    "ec50_f_test_p",
    "evidence",
    "evidence_agreement",
];

/// Columns of [`SHIFT_COLUMNS`] a reader of `shifts.csv` does without: `tau` (a setting) and
/// the evidence columns, which tables written before them, or by other tools, lack.
pub const SHIFT_COLUMNS_OPTIONAL: [&str; 3] = ["tau", "evidence", "evidence_agreement"];

/// Writes `shifts.csv`.
pub fn write_shifts(
    w: &mut dyn std::io::Write,
    rows: &[Shift],
    settings: &ShiftSettings,
) -> std::io::Result<()> {
    write_shifts_with(w, rows, settings, &[])
}

/// Writes `shifts.csv` with extra columns after [`SHIFT_COLUMNS`], each a name and one value
/// per row: `collateral merge` adds where each row's fits came from, and the contract columns
/// must keep their names and order whatever is added.
pub fn write_shifts_with(
    w: &mut dyn std::io::Write,
    rows: &[Shift],
    settings: &ShiftSettings,
    extra: &[(&str, Vec<String>)],
) -> std::io::Result<()> {
    let f = crate::text::opt_nan;
    let q = |b: Option<Bound>| b.map_or("", |b| b.symbol()).to_string();
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = SHIFT_COLUMNS.to_vec();
    header.extend(extra.iter().map(|(name, _)| *name));
    out.write_record(&header)?;
    for (i, r) in rows.iter().enumerate() {
        out.write_record(
            [
                r.resistant_line.clone(),
                r.parental_line.clone(),
                r.drug.clone(),
                r.selected_with.clone(),
                r.metric.name().to_string(),
                f(r.log2_fc),
                q(r.log2_fc_qualifier),
                f(r.ci_low),
                f(r.ci_high),
                f(r.p_value),
                f(r.q_value),
                r.call.name().to_string(),
                r.replicate.clone(),
                f(r.value_resistant),
                q(r.qualifier_resistant),
                f(r.value_parental),
                q(r.qualifier_parental),
                r.reason.clone(),
                settings.tau.to_string(),
                f(r.ec50_f_test_p),
                crate::evidence::format_reported(&r.evidence),
                r.evidence_agreement().map_or("", |a| a.name()).to_string(),
            ]
            .into_iter()
            .chain(
                extra
                    .iter()
                    .map(|(_, values)| values.get(i).cloned().unwrap_or_default()),
            ),
        )?;
    }
    out.flush()
}

impl Shift {
    /// How this row's call stands to what was reported for its pair
    /// ([`crate::evidence::Agreement`]); `None` when nothing was.
    pub fn evidence_agreement(&self) -> Option<crate::evidence::Agreement> {
        let called_resistant = match self.call {
            Call::CrossResistant => Some(true),
            Call::CollateralSensitive => Some(false),
            Call::Neutral | Call::Undetermined => None,
        };
        crate::evidence::agreement(&self.evidence, called_resistant)
    }
}

/// Fills in each row's [`Shift::evidence`]: the relations `evidence` reports for its (selecting
/// drug, tested drug) pair, the names matched through the lab's `aliases` first. Rows without
/// a selecting drug, or whose names the tables do not know, get none. Returns the names not
/// recognized, sorted, so the caller can say so once.
pub fn annotate_evidence(
    shifts: &mut [Shift],
    evidence: &crate::evidence::Evidence,
    aliases: &BTreeMap<String, String>,
) -> Vec<String> {
    use crate::evidence::Agent;
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for s in shifts.iter() {
        if !s.selected_with.is_empty() {
            names.insert(&s.selected_with);
            names.insert(&s.drug);
        }
    }
    let names: Vec<&str> = names.into_iter().collect();
    let found = evidence.resolve_assay(&names, aliases);
    let agent = |name: &str| -> Option<&Agent> { found.resolved.get(name).map(|m| &m.agent) };
    let mut pairs: BTreeMap<(String, String), Vec<crate::evidence::Reported>> = BTreeMap::new();
    for s in shifts.iter_mut() {
        let (Some(selected), Some(tested)) = (agent(&s.selected_with), agent(&s.drug)) else {
            s.evidence.clear();
            continue;
        };
        s.evidence = pairs
            .entry((s.selected_with.clone(), s.drug.clone()))
            .or_insert_with(|| evidence.reported(selected, tested))
            .clone();
    }
    found.unresolved
}
