//! `shifts.csv`: its columns, writing it (with extra provenance columns for a merge), and
//! its row's cells (`output::tables::ShiftRecord` reads them back).

use super::*;
use crate::text::Cell;

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
pub(crate) fn write_shifts_with(
    w: &mut dyn std::io::Write,
    rows: &[Shift],
    settings: &ShiftSettings,
    extra: &[(&str, Vec<String>)],
) -> std::io::Result<()> {
    let (header, cells) = shift_rows_with(rows, settings, extra);
    crate::text::write_rows(w, &header, cells)
}

/// The header and the rows' cells of `shifts.csv` with the text columns `extra` after
/// [`SHIFT_COLUMNS`] (see [`write_shifts_with`]): what its CSV and its Parquet table hold.
pub(crate) fn shift_rows_with<'a>(
    rows: &'a [Shift],
    settings: &ShiftSettings,
    extra: &'a [(&str, Vec<String>)],
) -> (Vec<&'a str>, impl Iterator<Item = Vec<Cell<'a>>> + 'a) {
    let mut header: Vec<&str> = SHIFT_COLUMNS.to_vec();
    header.extend(extra.iter().map(|(name, _)| *name));
    let tau = settings.tau;
    let cells = rows.iter().enumerate().map(move |(i, r)| {
        let mut cells = r.cells(tau);
        cells.extend(
            extra
                .iter()
                .map(|(_, values)| Cell::text(values.get(i).map_or("", String::as_str))),
        );
        cells
    });
    (header, cells)
}

impl Shift {
    /// The row's cells, in the order of [`SHIFT_COLUMNS`]: what `shifts.csv` writes and its
    /// typed frame holds; `tau` is the setting the calls were made with.
    pub fn cells(&self, tau: f64) -> Vec<Cell<'_>> {
        let q = |b: Option<Bound>| Cell::text(b.map_or("", |b| b.symbol()));
        vec![
            Cell::text(&self.resistant_line),
            Cell::text(&self.parental_line),
            Cell::text(&self.drug),
            Cell::text(&self.selected_with),
            Cell::text(self.metric.name()),
            Cell::Number(self.log2_fc),
            q(self.log2_fc_qualifier),
            Cell::Number(self.ci_low),
            Cell::Number(self.ci_high),
            Cell::Number(self.p_value),
            Cell::Number(self.q_value),
            Cell::text(self.call.name()),
            Cell::text(&self.replicate),
            Cell::Number(self.value_resistant),
            q(self.qualifier_resistant),
            Cell::Number(self.value_parental),
            q(self.qualifier_parental),
            Cell::text(&self.reason),
            Cell::Plain(tau),
            Cell::Number(self.ec50_f_test_p),
            Cell::owned(crate::evidence::format_reported(&self.evidence)),
            Cell::text(self.evidence_agreement().map_or("", |a| a.name())),
        ]
    }

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
