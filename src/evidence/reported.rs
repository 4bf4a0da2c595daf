//! What a shift row, a network edge or a plan step carries of the relations reported for its
//! pair: each kind of relation with its references, in one compact text that a table holds in
//! one cell and reads back, and how the screen's call stands to it.

use super::{Agent, Evidence, RelationKind};

/// The relations of one kind reported for a pair, by their references (each once, in the
/// tables' order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Cross-resistance or collateral sensitivity.
    pub kind: RelationKind,
    /// The studies, as the tables cite them (`Dhawan, 2017 [172]`).
    pub references: Vec<String>,
}

/// How a screen's call stands to what was reported for its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Agreement {
    /// The call is the one a reported relation predicts: `cross_resistant` where
    /// cross-resistance was reported, `collateral_sensitive` where collateral sensitivity was.
    Agrees,
    /// The call goes the other way from every relation reported: `collateral_sensitive` where
    /// only cross-resistance was reported, `cross_resistant` where only collateral sensitivity.
    Contradicts,
    /// The screen made no call either way (`neutral` or `undetermined`): it neither confirms
    /// nor refutes the report, since `neutral` means "no shift beyond τ was shown", not "no
    /// shift was shown to exist".
    NotTested,
}

crate::words::words!(Agreement, "evidence agreement", {
    Agrees => "agrees",
    Contradicts => "contradicts",
    NotTested => "not_tested",
});

/// Separates the kinds of relation in the compact text.
const KIND_SEPARATOR: &str = " | ";
/// Separates the references of one kind.
const REFERENCE_SEPARATOR: &str = "; ";

/// The compact text of what was reported for a pair, as `shifts.csv`, the network and
/// `plan.csv` write it: `cross_resistance: A, J 2020 [47]; B, J 2019 [48] | collateral_sensitivity:
/// C, 2017 [172]`; empty when nothing was. [`parse_reported`] reads it back.
///
/// ```
/// use collateral::evidence::{format_reported, parse_reported, RelationKind, Reported};
/// let reported = vec![Reported {
///     kind: RelationKind::CollateralSensitivity,
///     references: vec!["Dhawan, 2017 [172]".into()],
/// }];
/// let text = format_reported(&reported);
/// assert_eq!(text, "collateral_sensitivity: Dhawan, 2017 [172]");
/// assert_eq!(parse_reported(&text), Ok(reported));
/// ```
pub fn format_reported(reported: &[Reported]) -> String {
    reported
        .iter()
        .map(|r| {
            // A separator inside a user's reference would split it when read back.
            let references: Vec<String> = r
                .references
                .iter()
                .map(|s| s.replace(KIND_SEPARATOR.trim(), "/").replace(';', ","))
                .collect();
            format!(
                "{}: {}",
                r.kind.as_str(),
                references.join(REFERENCE_SEPARATOR)
            )
        })
        .collect::<Vec<_>>()
        .join(KIND_SEPARATOR)
}

/// Reads [`format_reported`]'s text back; an empty text is nothing reported. The error says
/// what part is not of that form.
pub fn parse_reported(text: &str) -> std::result::Result<Vec<Reported>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in text.split(KIND_SEPARATOR.trim()) {
        let part = part.trim();
        let Some((kind, references)) = part.split_once(':') else {
            return Err(format!(
                "`{part}` is not `relation: references` (e.g. `cross_resistance: Bon G, J Exp Clin Cancer Res 2020 [47]`)"
            ));
        };
        let Some(kind) = RelationKind::parse(kind) else {
            return Err(format!(
                "`{}` is not a relation; expected cross_resistance or collateral_sensitivity",
                kind.trim()
            ));
        };
        let references: Vec<String> = references
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        out.push(Reported { kind, references });
    }
    Ok(out)
}

/// How a call stands to what was reported for its pair (see [`Agreement`]); `None` when
/// nothing was. `cross_resistant` and `collateral_sensitive` are given as whether the shift
/// was toward resistance (`Some(true)`) or sensitivity (`Some(false)`); `None` for no call.
pub fn agreement(reported: &[Reported], called_resistant: Option<bool>) -> Option<Agreement> {
    if reported.is_empty() {
        return None;
    }
    let Some(resistant) = called_resistant else {
        return Some(Agreement::NotTested);
    };
    let predicted = if resistant {
        RelationKind::CrossResistance
    } else {
        RelationKind::CollateralSensitivity
    };
    Some(if reported.iter().any(|r| r.kind == predicted) {
        Agreement::Agrees
    } else {
        Agreement::Contradicts
    })
}

/// Whether cross-resistance was reported among `reported`.
pub fn reports_cross_resistance(reported: &[Reported]) -> bool {
    reported
        .iter()
        .any(|r| r.kind == RelationKind::CrossResistance)
}

/// Joins what was reported for several rows of one pair (the lines of a network edge or a
/// plan step): each kind once, its references each once, in first-seen order.
pub fn merge_reported<'a>(all: impl IntoIterator<Item = &'a [Reported]>) -> Vec<Reported> {
    let mut out: Vec<Reported> = Vec::new();
    for reported in all {
        for r in reported {
            let at = match out.iter().position(|o| o.kind == r.kind) {
                Some(i) => i,
                None => {
                    out.push(Reported {
                        kind: r.kind,
                        references: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            for reference in &r.references {
                if !out[at].references.contains(reference) {
                    out[at].references.push(reference.clone());
                }
            }
        }
    }
    // Cross-resistance first, as the tables' documentation lists the kinds.
    out.sort_by_key(|r| r.kind);
    out
}

impl Evidence {
    /// What was reported for a line selected with `selected` and tested with `tested`: the
    /// applicable relations ([`Evidence::relations_between`], either direction) grouped by kind.
    pub fn reported(&self, selected: &Agent, tested: &Agent) -> Vec<Reported> {
        let found = self.relations_between(selected, tested);
        let each: Vec<Vec<Reported>> = found
            .iter()
            .map(|a| {
                vec![Reported {
                    kind: a.relation.kind,
                    references: vec![a.relation.reference.clone()],
                }]
            })
            .collect();
        merge_reported(each.iter().map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cr(refs: &[&str]) -> Reported {
        Reported {
            kind: RelationKind::CrossResistance,
            references: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn cs(refs: &[&str]) -> Reported {
        Reported {
            kind: RelationKind::CollateralSensitivity,
            references: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn compact_text_reads_back() {
        let both = vec![
            cr(&["A, J 2020 [1]", "B, K 2019 [2]"]),
            cs(&["C, 2017 [3]"]),
        ];
        let text = format_reported(&both);
        assert_eq!(
            text,
            "cross_resistance: A, J 2020 [1]; B, K 2019 [2] | collateral_sensitivity: C, 2017 [3]"
        );
        assert_eq!(parse_reported(&text).unwrap(), both);
        assert_eq!(parse_reported("").unwrap(), Vec::new());
        // A reference's own separators cannot split it.
        let odd = vec![cr(&["X; Y | Z [4]"])];
        assert_eq!(parse_reported(&format_reported(&odd)).unwrap().len(), 1);
        assert!(parse_reported("cross resistance").is_err());
        let e = parse_reported("sensitivity: A [1]").unwrap_err();
        assert!(e.contains("`sensitivity` is not a relation"), "{e}");
    }

    #[test]
    fn agreement_follows_the_call() {
        let r = [cr(&["A [1]"])];
        assert_eq!(agreement(&r, Some(true)), Some(Agreement::Agrees));
        assert_eq!(agreement(&r, Some(false)), Some(Agreement::Contradicts));
        assert_eq!(agreement(&r, None), Some(Agreement::NotTested));
        assert_eq!(agreement(&[], Some(true)), None);
        // Reports of both kinds: a call either way agrees with one of them.
        let mixed = [cr(&["A [1]"]), cs(&["B [2]"])];
        assert_eq!(agreement(&mixed, Some(false)), Some(Agreement::Agrees));
        assert_eq!(Agreement::NAMES, ["agrees", "contradicts", "not_tested"]);
    }

    #[test]
    fn reports_merge_by_kind() {
        let a = vec![cs(&["C [3]"])];
        let b = vec![cr(&["A [1]"]), cs(&["C [3]", "D [4]"])];
        let merged = merge_reported([a.as_slice(), b.as_slice()]);
        assert_eq!(merged, vec![cr(&["A [1]"]), cs(&["C [3]", "D [4]"])]);
        assert!(reports_cross_resistance(&merged));
    }
}
