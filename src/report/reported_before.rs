//! The report's "Reported before" section: each relation the evidence tables report for a pair
//! of the screen (selecting drug → tested drug), what the screen measured for it, whether the
//! call agrees, and the references (docs/evidence.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{escape, table, table_link};
use crate::evidence::{Agreement, Direction, Evidence, RelationKind, Reported};
use crate::plot::data::{RunData, ShiftRow};

/// Columns of the section's table.
const COLUMNS: [&str; 11] = [
    "reported relation",
    "reported in",
    "resistant_line",
    "selected_with",
    "drug",
    "log2_fc",
    "ci_low",
    "ci_high",
    "q_value",
    "call",
    "agreement",
];

/// The tables the run matched its drugs against (its `[evidence]` settings from `run.json`),
/// with its drug aliases, to name each relation as the tables write it; `None` when they cannot
/// be loaded from here (the rows then name the pair and the kind of relation only).
fn run_evidence(data: &RunData) -> Option<(Evidence, BTreeMap<String, String>)> {
    let settings = data.run.settings.evidence.clone().unwrap_or_default();
    let evidence = settings.load().ok()?;
    Some((evidence, settings.drug_aliases))
}

/// The user's evidence files `run.json` names (`settings.evidence.files`) that are not where
/// the run read them: a report drawn now names the pairs they reported by their kind only.
pub(crate) fn missing_evidence_files(
    run: &crate::output::run_json::RunJson,
) -> Vec<std::path::PathBuf> {
    run.settings
        .evidence
        .as_ref()
        .map(|s| s.files.iter().filter(|f| !f.is_file()).cloned().collect())
        .unwrap_or_default()
}

/// How the tables write the relations of one kind behind a row (`ALK-TKIs → etoposide`), and
/// where they were reported (cancer types), each once.
fn as_written(
    found: Option<&(Evidence, BTreeMap<String, String>)>,
    row: &ShiftRow,
    reported: &Reported,
) -> (String, String) {
    let mut relations: Vec<String> = Vec::new();
    let mut cancers: Vec<String> = Vec::new();
    if let Some((evidence, aliases)) = found {
        let selected = evidence.resolve_with(&row.selected_with, aliases);
        let tested = evidence.resolve_with(&row.drug, aliases);
        if let (Some(selected), Some(tested)) = (selected, tested) {
            for a in evidence.relations_between(&selected.agent, &tested.agent) {
                let r = a.relation;
                if r.kind != reported.kind || !reported.references.contains(&r.reference) {
                    continue;
                }
                let text = match a.direction {
                    Direction::AsReported => {
                        format!("{} → {}", r.previous_as_written, r.subsequent_as_written)
                    }
                    Direction::Reverse => format!(
                        "{} → {} (reported both ways)",
                        r.previous_as_written, r.subsequent_as_written
                    ),
                };
                if !relations.contains(&text) {
                    relations.push(text);
                }
                if !r.cancer_type.is_empty() && !cancers.contains(&r.cancer_type) {
                    cancers.push(r.cancer_type.clone());
                }
            }
        }
    }
    if relations.is_empty() {
        relations.push(format!("{} → {}", row.selected_with, row.drug));
    }
    let kind = match reported.kind {
        RelationKind::CrossResistance => "cross-resistance",
        RelationKind::CollateralSensitivity => "collateral sensitivity",
    };
    (
        format!("{kind}: {}", relations.join("; ")),
        cancers.join("; "),
    )
}

/// The "Reported before" section: one row per shift row and kind of relation reported for its
/// pair, the references below the table. Written only when the run compared lines.
pub(super) fn reported_before_section(h: &mut String, data: &RunData) {
    h.push_str("<h2 id=\"reported\">Reported before</h2>\n");
    let annotated: Vec<&ShiftRow> = data
        .shifts
        .iter()
        .filter(|r| !r.evidence.is_empty())
        .collect();
    if annotated.is_empty() {
        let _ = writeln!(
            h,
            "<p>No pair of this screen (selecting drug → tested drug) matches a cross-resistance or collateral sensitivity reported in the evidence tables. <code>collateral validate</code> lists which of the assay's drug names were recognized; a lab's own names go in <code>drug_aliases</code> (docs/evidence.md).</p>"
        );
        return;
    }
    let _ = writeln!(
        h,
        "<p>Pairs of this screen for which cross-resistance or collateral sensitivity was reported before (the evidence tables, docs/evidence.md), beside what this screen measured ({} columns <code>evidence</code> and <code>evidence_agreement</code>). <b>agrees</b>: the call is the one the report predicts (cross_resistant for cross-resistance, collateral_sensitive for collateral sensitivity); <b>contradicts</b>: the call goes the other way; <b>not_tested</b>: the screen made no call either way (neutral or undetermined), which neither confirms nor refutes the report.</p>",
        table_link(data, "shifts.csv")
    );
    let missing = missing_evidence_files(&data.run);
    if !missing.is_empty() {
        let names: Vec<String> = missing
            .iter()
            .map(|f| format!("<code>{}</code>", escape(&f.display().to_string())))
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"warn\">The run's evidence file(s) {} are not where the run read them, so the relations below are named by their kind only.</p>",
            names.join(", ")
        );
    }
    let found = run_evidence(data);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut references: Vec<String> = Vec::new();
    for r in &annotated {
        for reported in &r.evidence {
            let (relation, cancer) = as_written(found.as_ref(), r, reported);
            let agreement = crate::evidence::agreement(
                std::slice::from_ref(reported),
                match r.call {
                    crate::shift::Call::CrossResistant => Some(true),
                    crate::shift::Call::CollateralSensitive => Some(false),
                    _ => None,
                },
            );
            let mut row = vec![relation, cancer];
            // The measured columns, named as in shifts.csv: the table's columns between the
            // relation's two and the agreement.
            row.extend(
                COLUMNS[2..COLUMNS.len() - 1]
                    .iter()
                    .map(|c| r.cells.text(c)),
            );
            row.push(agreement.map_or("", Agreement::name).to_string());
            rows.push(row);
            for reference in &reported.references {
                if !references.contains(reference) {
                    references.push(reference.clone());
                }
            }
        }
    }
    h.push_str(&table("reported-table", &COLUMNS, &rows, &[]));
    h.push_str("<p>References, as the evidence tables cite them (the bundled tables: the review's reference numbers in brackets, evidence/SOURCE.md):</p>\n<ul class=\"references\">\n");
    for reference in &references {
        let _ = writeln!(h, "<li>{}</li>", escape(reference));
    }
    h.push_str("</ul>\n");
}
