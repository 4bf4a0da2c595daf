//! The collateral-sensitivity matrix and network (Dhawan et al. 2017), and its drug cycles.
//!
//! Nodes are drugs. An edge runs from the drug a line was selected with to each drug it was
//! tested with, carrying the line's log2_fc, q-value and call. When several lines share a
//! selecting drug their calls are summarised on one edge: how many lines showed CS, CR, neither,
//! or could not be called, and the **CS likelihood** (lines with CS / lines with a call).
//!
//! Cycles of the CS graph (edges whose call is `collateral_sensitive`) are candidate
//! drug-cycling regimens (Imamovic & Sommer 2013, Dhawan 2017): resistance to each drug makes
//! the line sensitive to the next. They are enumerated up to a length and ranked by their
//! summed log2_fc, most negative first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

use crate::shift::{Call, Shift};

/// The call of a network edge: the call of most of its lines, or `mixed` on a tie between
/// collateral sensitivity and cross-resistance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeCall {
    /// The lines' call.
    Call(Call),
    /// As many lines called CS as CR (and no other call more often).
    Mixed,
}

impl EdgeCall {
    /// Every edge call, in the order the tables list calls, `mixed` last.
    pub const ALL: [EdgeCall; 5] = [
        EdgeCall::Call(Call::CrossResistant),
        EdgeCall::Call(Call::CollateralSensitive),
        EdgeCall::Call(Call::Neutral),
        EdgeCall::Call(Call::Undetermined),
        EdgeCall::Mixed,
    ];

    /// The name written to `network.json`, `.graphml` and `.dot`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeCall::Call(call) => call.name(),
            EdgeCall::Mixed => "mixed",
        }
    }

    /// The lines' call; `None` when mixed.
    pub fn call(self) -> Option<Call> {
        match self {
            EdgeCall::Call(call) => Some(call),
            EdgeCall::Mixed => None,
        }
    }
}

impl serde::Serialize for EdgeCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One drug → drug edge of the network.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Edge {
    /// Drug the lines were selected with.
    pub source: String,
    /// Drug tested.
    pub target: String,
    /// Resistant lines behind the edge.
    pub lines: Vec<String>,
    /// Mean log2_fc over the lines with a point estimate or bound (NaN when none).
    pub log2_fc: f64,
    /// Smallest q-value over the lines (NaN when none).
    pub q_value: f64,
    /// The edge's call: the call of most lines; `mixed` on a tie between CS and CR.
    pub call: EdgeCall,
    /// Lines called collateral_sensitive.
    pub n_cs: usize,
    /// Lines called cross_resistant.
    pub n_cr: usize,
    /// Lines called neutral.
    pub n_neutral: usize,
    /// Lines left undetermined.
    pub n_undetermined: usize,
    /// n_cs / (lines with a call other than undetermined); NaN when none.
    pub cs_likelihood: f64,
    /// What was reported before for the drug pair, as `shifts.csv`'s `evidence` column writes
    /// it (the lines' reports joined); empty when nothing was.
    pub evidence: String,
    /// How the edge's call stands to it (`agrees`, `contradicts`, `not_tested`; `mixed` counts
    /// as no call); empty when nothing was reported.
    pub evidence_agreement: String,
}

/// Builds the drug network from the shifts (lines without a selecting drug have no edge).
pub fn edges(shifts: &[Shift]) -> Vec<Edge> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Shift>> = BTreeMap::new();
    for s in shifts.iter().filter(|s| !s.selected_with.is_empty()) {
        groups
            .entry((s.selected_with.as_str(), s.drug.as_str()))
            .or_default()
            .push(s);
    }
    groups
        .into_iter()
        .map(|((source, target), rows)| {
            let count = |c: Call| rows.iter().filter(|r| r.call == c).count();
            let (n_cs, n_cr, n_neutral, n_undetermined) = (
                count(Call::CollateralSensitive),
                count(Call::CrossResistant),
                count(Call::Neutral),
                count(Call::Undetermined),
            );
            let fcs: Vec<f64> = rows
                .iter()
                .map(|r| r.log2_fc)
                .filter(|x| x.is_finite())
                .collect();
            let qs = rows.iter().map(|r| r.q_value).filter(|x| x.is_finite());
            let called = n_cs + n_cr + n_neutral;
            let best = [
                (n_cs, Call::CollateralSensitive),
                (n_cr, Call::CrossResistant),
                (n_neutral, Call::Neutral),
                (n_undetermined, Call::Undetermined),
            ];
            let top = best.iter().map(|b| b.0).max().unwrap_or(0);
            let leaders: Vec<Call> = best.iter().filter(|b| b.0 == top).map(|b| b.1).collect();
            let call = if leaders.len() == 1 {
                EdgeCall::Call(leaders[0])
            } else if n_cs == top && n_cr == top {
                EdgeCall::Mixed
            } else {
                // A tie with neutral or undetermined: the more cautious of the two.
                EdgeCall::Call(leaders.last().copied().unwrap_or(Call::Undetermined))
            };
            let reported =
                crate::evidence::merge_reported(rows.iter().map(|r| r.evidence.as_slice()));
            let called_resistant = match call {
                EdgeCall::Call(Call::CrossResistant) => Some(true),
                EdgeCall::Call(Call::CollateralSensitive) => Some(false),
                _ => None,
            };
            let evidence_agreement = crate::evidence::agreement(&reported, called_resistant)
                .map_or(String::new(), |a| a.name().to_string());
            Edge {
                evidence: crate::evidence::format_reported(&reported),
                evidence_agreement,
                source: source.to_string(),
                target: target.to_string(),
                lines: rows
                    .iter()
                    .map(|r| {
                        if r.replicate.is_empty() {
                            r.resistant_line.clone()
                        } else {
                            format!("{} rep {}", r.resistant_line, r.replicate)
                        }
                    })
                    .collect(),
                log2_fc: if fcs.is_empty() {
                    f64::NAN
                } else {
                    fcs.iter().sum::<f64>() / fcs.len() as f64
                },
                q_value: qs.fold(f64::NAN, f64::min),
                call,
                n_cs,
                n_cr,
                n_neutral,
                n_undetermined,
                cs_likelihood: if called == 0 {
                    f64::NAN
                } else {
                    n_cs as f64 / called as f64
                },
            }
        })
        .collect()
}

/// A drug cycle of the CS graph.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Cycle {
    /// Drugs in order; the last is followed by the first.
    pub drugs: Vec<String>,
    /// Sum of the edges' log2_fc (more negative: stronger collateral sensitivity).
    pub sum_log2_fc: f64,
    /// Largest q-value along the cycle.
    pub(crate) max_q_value: f64,
}

/// Simple directed cycles of the edges called `collateral_sensitive`, up to `max_len` drugs,
/// each listed once (starting at its alphabetically first drug), ranked by summed log2_fc.
pub fn cycles(edges: &[Edge], max_len: usize) -> Vec<Cycle> {
    let cs: Vec<&Edge> = edges
        .iter()
        .filter(|e| e.call == EdgeCall::Call(Call::CollateralSensitive) && e.source != e.target)
        .collect();
    let nodes: Vec<&str> = cs
        .iter()
        .flat_map(|e| [e.source.as_str(), e.target.as_str()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |n: &str| nodes.binary_search(&n).expect("node listed");
    let mut adj: Vec<Vec<(usize, &Edge)>> = vec![Vec::new(); nodes.len()];
    for e in &cs {
        adj[index(&e.source)].push((index(&e.target), e));
    }
    let mut found = Vec::new();
    // Each cycle is found once: from its smallest node, visiting only larger ones.
    for start in 0..nodes.len() {
        let mut path = vec![start];
        let mut path_edges: Vec<&Edge> = Vec::new();
        extend(
            start,
            &adj,
            max_len,
            &mut path,
            &mut path_edges,
            &mut |p, es| {
                found.push(Cycle {
                    drugs: p.iter().map(|&i| nodes[i].to_string()).collect(),
                    sum_log2_fc: es.iter().map(|e| e.log2_fc).sum(),
                    max_q_value: es.iter().map(|e| e.q_value).fold(f64::NAN, f64::max),
                });
            },
        );
    }
    found.sort_by(|a, b| {
        a.sum_log2_fc
            .total_cmp(&b.sum_log2_fc)
            .then_with(|| a.drugs.cmp(&b.drugs))
    });
    found
}

fn extend<'a>(
    start: usize,
    adj: &[Vec<(usize, &'a Edge)>],
    max_len: usize,
    path: &mut Vec<usize>,
    path_edges: &mut Vec<&'a Edge>,
    emit: &mut dyn FnMut(&[usize], &[&Edge]),
) {
    let last = *path.last().expect("path starts with start");
    for &(next, e) in &adj[last] {
        if next == start && path.len() >= 2 {
            path_edges.push(e);
            emit(path, path_edges);
            path_edges.pop();
        } else if next > start && !path.contains(&next) && path.len() < max_len {
            path.push(next);
            path_edges.push(e);
            extend(start, adj, max_len, path, path_edges, emit);
            path.pop();
            path_edges.pop();
        }
    }
}

/// The resistant-line rows of the matrix: a line, or a line and replicate in per-replicate mode.
fn row_key(s: &Shift) -> String {
    if s.replicate.is_empty() {
        s.resistant_line.clone()
    } else {
        format!("{} rep {}", s.resistant_line, s.replicate)
    }
}

/// Resistant lines × drugs, a value per shift: `matrix.csv` (log2_fc, or the bound for
/// censored cells) and `calls.csv` (calls). Drugs sorted by name; lines (a line and replicate
/// in per-replicate mode: `line rep r`) in order of first appearance; a later shift of the
/// same cell replaces an earlier; a cell without a shift is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<T> {
    /// The drugs, the columns after `resistant_line`.
    pub drugs: Vec<String>,
    /// Each row's line and its value per drug.
    pub rows: Vec<(String, Vec<Option<T>>)>,
}

impl<T> Matrix<T> {
    /// The matrix of `value` of each shift.
    pub fn of(shifts: &[Shift], value: impl Fn(&Shift) -> T) -> Matrix<T> {
        let mut drugs: Vec<&str> = shifts
            .iter()
            .map(|s| s.drug.as_str())
            .collect::<HashSet<&str>>()
            .into_iter()
            .collect();
        drugs.sort_unstable();
        let column: HashMap<&str, usize> = drugs.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        let mut rows: Vec<(String, Vec<Option<T>>)> = Vec::new();
        let mut row_of: HashMap<String, usize> = HashMap::new();
        for s in shifts {
            let k = row_key(s);
            let r = *row_of.entry(k.clone()).or_insert_with(|| {
                rows.push((k, (0..drugs.len()).map(|_| None).collect()));
                rows.len() - 1
            });
            rows[r].1[column[s.drug.as_str()]] = Some(value(s));
        }
        Matrix {
            drugs: drugs.into_iter().map(str::to_string).collect(),
            rows,
        }
    }
}

fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return s.into();
    }
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .into()
}

fn nodes_of(edges: &[Edge]) -> BTreeSet<&str> {
    edges
        .iter()
        .flat_map(|e| [e.source.as_str(), e.target.as_str()])
        .collect()
}

/// Writes the network as GraphML (opens in Cytoscape and Gephi).
pub(crate) fn write_graphml(w: &mut dyn Write, edges: &[Edge]) -> std::io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#
    )?;
    let keys = [
        ("label", "node", "string"),
        ("log2_fc", "edge", "double"),
        ("q_value", "edge", "double"),
        ("call", "edge", "string"),
        ("n_lines", "edge", "int"),
        ("n_cs", "edge", "int"),
        ("n_cr", "edge", "int"),
        ("n_neutral", "edge", "int"),
        ("n_undetermined", "edge", "int"),
        ("cs_likelihood", "edge", "double"),
        ("lines", "edge", "string"),
    ];
    // The evidence keys only when some edge has a report, so networks without one read as before.
    let with_evidence = edges.iter().any(|e| !e.evidence.is_empty());
    let evidence_keys = [
        ("evidence", "edge", "string"),
        ("evidence_agreement", "edge", "string"),
    ];
    let evidence_keys = if with_evidence {
        &evidence_keys[..]
    } else {
        &[]
    };
    for &(name, on, ty) in keys.iter().chain(evidence_keys) {
        writeln!(
            w,
            r#"  <key id="{name}" for="{on}" attr.name="{name}" attr.type="{ty}"/>"#
        )?;
    }
    writeln!(w, r#"  <graph id="collateral" edgedefault="directed">"#)?;
    for n in nodes_of(edges) {
        let n = xml_escape(n);
        writeln!(
            w,
            r#"    <node id="{n}"><data key="label">{n}</data></node>"#
        )?;
    }
    // Each edge is put together in one reused buffer (100,000 edges in a large screen).
    let mut text = String::new();
    let mut number = String::new();
    for (i, e) in edges.iter().enumerate() {
        use std::fmt::Write as _;
        text.clear();
        let _ = writeln!(
            text,
            r#"    <edge id="e{i}" source="{}" target="{}">"#,
            xml_escape(&e.source),
            xml_escape(&e.target)
        );
        // Absent numbers are left out: GraphML has no NaN for doubles.
        for (k, v) in [
            ("log2_fc", e.log2_fc),
            ("q_value", e.q_value),
            ("cs_likelihood", e.cs_likelihood),
        ] {
            if v.is_finite() {
                crate::text::format_plain_into(&mut number, v);
                let _ = writeln!(text, r#"      <data key="{k}">{number}</data>"#);
            }
        }
        let _ = writeln!(
            text,
            r#"      <data key="call">{}</data>"#,
            xml_escape(e.call.name())
        );
        for (k, v) in [
            ("n_lines", e.lines.len()),
            ("n_cs", e.n_cs),
            ("n_cr", e.n_cr),
            ("n_neutral", e.n_neutral),
            ("n_undetermined", e.n_undetermined),
        ] {
            let _ = writeln!(text, r#"      <data key="{k}">{v}</data>"#);
        }
        let _ = writeln!(
            text,
            r#"      <data key="lines">{}</data>"#,
            xml_escape(&e.lines.join("; "))
        );
        evidence_data(&mut text, e);
        text.push_str("    </edge>\n");
        w.write_all(text.as_bytes())?;
    }
    writeln!(w, "  </graph>\n</graphml>")
}

/// An edge's GraphML `evidence` and `evidence_agreement`, when something was reported for it.
fn evidence_data(text: &mut String, e: &Edge) {
    use std::fmt::Write as _;
    if e.evidence.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        r#"      <data key="evidence">{}</data>"#,
        xml_escape(&e.evidence)
    );
    let _ = writeln!(
        text,
        r#"      <data key="evidence_agreement">{}</data>"#,
        e.evidence_agreement
    );
}

/// Edge colour by call: blue for CS, red for CR (Dhawan's convention), grey otherwise.
pub(crate) fn call_colour(call: EdgeCall) -> &'static str {
    match call {
        EdgeCall::Call(Call::CollateralSensitive) => "#2166ac",
        EdgeCall::Call(Call::CrossResistant) => "#b2182b",
        EdgeCall::Mixed => "#7b3294",
        EdgeCall::Call(Call::Neutral | Call::Undetermined) => "#9e9e9e",
    }
}

/// Writes the network as Graphviz DOT.
pub(crate) fn write_dot(w: &mut dyn Write, edges: &[Edge]) -> std::io::Result<()> {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    writeln!(w, "digraph collateral {{")?;
    writeln!(w, "  node [shape=ellipse, fontname=\"Helvetica\"];")?;
    for n in nodes_of(edges) {
        writeln!(w, "  {};", q(n))?;
    }
    // Each edge is put together in one reused buffer (100,000 edges in a large screen).
    let mut text = String::new();
    let mut number = String::new();
    let quoted = |text: &mut String, s: &str| {
        text.push('"');
        for c in s.chars() {
            if c == '\\' || c == '"' {
                text.push('\\');
            }
            text.push(c);
        }
        text.push('"');
    };
    for e in edges {
        use std::fmt::Write as _;
        let width = if e.log2_fc.is_finite() {
            1.0 + e.log2_fc.abs().min(4.0)
        } else {
            1.0
        };
        let style = if matches!(e.call, EdgeCall::Call(Call::Neutral | Call::Undetermined)) {
            "dashed"
        } else {
            "solid"
        };
        text.clear();
        text.push_str("  ");
        quoted(&mut text, &e.source);
        text.push_str(" -> ");
        quoted(&mut text, &e.target);
        text.push_str(" [label=");
        if e.log2_fc.is_finite() {
            let _ = write!(text, "\"{:.2}\"", e.log2_fc);
        } else {
            text.push_str("\"n/a\"");
        }
        text.push_str(", color=");
        quoted(&mut text, call_colour(e.call));
        let _ = write!(text, ", penwidth={width:.2}, style={style}, call=");
        quoted(&mut text, e.call.name());
        text.push_str(", log2_fc=");
        crate::text::format_number_into(&mut number, e.log2_fc);
        quoted(&mut text, &number);
        text.push_str(", q_value=");
        crate::text::format_number_into(&mut number, e.q_value);
        quoted(&mut text, &number);
        let _ = write!(text, ", n_cs={}, n_cr={}", e.n_cs, e.n_cr);
        if !e.evidence.is_empty() {
            text.push_str(", evidence=");
            quoted(&mut text, &e.evidence);
            text.push_str(", evidence_agreement=");
            quoted(&mut text, &e.evidence_agreement);
        }
        text.push_str("];\n");
        w.write_all(text.as_bytes())?;
    }
    writeln!(w, "}}")
}

/// `network.json` as a serde value: `{"edges": [...], "nodes": [{"id": ...}]}`, keys in
/// alphabetical order, non-finite numbers as `null`.
pub fn to_json(edges: &[Edge]) -> serde_json::Value {
    serde_json::to_value(NetworkJson::of(edges)).expect("network serializes")
}

/// Writes `network.json` (pretty, with a final newline) straight from the edges: a run with
/// 100,000 edges should not build a map per edge first.
pub(crate) fn write_json(w: &mut dyn Write, edges: &[Edge]) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &NetworkJson::of(edges))
        .map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// The shape of `network.json`. Fields are declared in alphabetical order, the order the file
/// has always had (it was written from a sorted map).
#[derive(serde::Serialize)]
struct NetworkJson<'a> {
    edges: Vec<EdgeJson<'a>>,
    nodes: Vec<NodeJson<'a>>,
}

#[derive(serde::Serialize)]
struct NodeJson<'a> {
    id: &'a str,
}

#[derive(serde::Serialize)]
struct EdgeJson<'a> {
    call: &'a str,
    cs_likelihood: Option<f64>,
    // Left out when nothing was reported, so networks without reports read as before.
    #[serde(skip_serializing_if = "str::is_empty")]
    evidence: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    evidence_agreement: &'a str,
    lines: &'a [String],
    log2_fc: Option<f64>,
    n_cr: usize,
    n_cs: usize,
    n_neutral: usize,
    n_undetermined: usize,
    q_value: Option<f64>,
    source: &'a str,
    target: &'a str,
}

impl<'a> NetworkJson<'a> {
    fn of(edges: &'a [Edge]) -> Self {
        let finite = |x: f64| x.is_finite().then_some(x);
        NetworkJson {
            edges: edges
                .iter()
                .map(|e| EdgeJson {
                    call: e.call.name(),
                    cs_likelihood: finite(e.cs_likelihood),
                    evidence: &e.evidence,
                    evidence_agreement: &e.evidence_agreement,
                    lines: &e.lines,
                    log2_fc: finite(e.log2_fc),
                    n_cr: e.n_cr,
                    n_cs: e.n_cs,
                    n_neutral: e.n_neutral,
                    n_undetermined: e.n_undetermined,
                    q_value: finite(e.q_value),
                    source: &e.source,
                    target: &e.target,
                })
                .collect(),
            nodes: nodes_of(edges)
                .into_iter()
                .map(|id| NodeJson { id })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shift::{Bound, Metric};

    fn shift(line: &str, sel: &str, drug: &str, fc: f64, call: Call) -> Shift {
        Shift {
            resistant_line: line.into(),
            replicate: String::new(),
            parental_line: "P".into(),
            drug: drug.into(),
            selected_with: sel.into(),
            metric: Metric::Ic50,
            log2_fc: fc,
            log2_fc_qualifier: Some(Bound::Equal),
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            p_value: 0.001,
            q_value: 0.01,
            call,
            value_resistant: 1.0,
            qualifier_resistant: Some(Bound::Equal),
            value_parental: 1.0,
            qualifier_parental: Some(Bound::Equal),
            reason: String::new(),
            ec50_f_test_p: f64::NAN,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn edges_summarise_lines_sharing_a_selecting_drug() {
        let s = vec![
            shift("A1", "A", "B", -2.0, Call::CollateralSensitive),
            shift("A2", "A", "B", -1.5, Call::CollateralSensitive),
            shift("A3", "A", "B", 0.1, Call::Neutral),
            shift("B1", "B", "A", 2.0, Call::CrossResistant),
        ];
        let e = edges(&s);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].source.as_str(), e[0].target.as_str()), ("A", "B"));
        assert_eq!(
            (e[0].n_cs, e[0].n_neutral, e[0].call.name()),
            (2, 1, "collateral_sensitive")
        );
        assert!((e[0].cs_likelihood - 2.0 / 3.0).abs() < 1e-12);
        assert!((e[0].log2_fc - (-3.4 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn cycles_are_found_once_and_ranked() {
        // A→B→C→A and A→B→A, all CS.
        let s = vec![
            shift("a", "A", "B", -2.0, Call::CollateralSensitive),
            shift("b", "B", "C", -1.0, Call::CollateralSensitive),
            shift("c", "C", "A", -1.0, Call::CollateralSensitive),
            shift("b2", "B", "A", -3.0, Call::CollateralSensitive),
            shift("n", "C", "B", -3.0, Call::Neutral),
        ];
        let c = cycles(&edges(&s), 4);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].drugs, vec!["A", "B"]);
        assert_eq!(c[0].sum_log2_fc, -5.0);
        assert_eq!(c[1].drugs, vec!["A", "B", "C"]);
        assert_eq!(cycles(&edges(&s), 2).len(), 1);
    }

    #[test]
    fn graph_files_are_well_formed() {
        let s = vec![shift("a", "A&B", "C\"D", -2.0, Call::CollateralSensitive)];
        let e = edges(&s);
        let mut g = Vec::new();
        write_graphml(&mut g, &e).unwrap();
        let g = String::from_utf8(g).unwrap();
        assert!(g.contains(r#"source="A&amp;B" target="C&quot;D""#), "{g}");
        let mut d = Vec::new();
        write_dot(&mut d, &e).unwrap();
        let d = String::from_utf8(d).unwrap();
        assert!(d.contains(r#""A&B" -> "C\"D""#), "{d}");
    }
}
