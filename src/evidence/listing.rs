//! What `collateral validate` says about an assay's drugs and the evidence tables: which names
//! were recognized as which drug (and by what kind of name), the classes each belongs to, the
//! names not recognized, and the screen's pairs with reported relations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Agent, Evidence, MatchedBy};

/// The listing of [`describe_matches`], and the lab aliases that name nothing the tables know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchListing {
    /// Lines of text, each ending in a newline.
    pub text: String,
    /// `drug_aliases` entries whose target the tables do not know (alias, target).
    pub(crate) unknown_aliases: Vec<(String, String)>,
}

/// Lists which of `drugs` (the assay's tested and selecting drugs) the tables recognize, as
/// what and by which name, the classes each falls in, the names not recognized, and the pairs
/// (each selecting drug of `selected` → each tested drug) with reported relations.
pub fn describe_matches(
    evidence: &Evidence,
    drugs: &[String],
    selected: &[String],
    aliases: &BTreeMap<String, String>,
) -> MatchListing {
    let found = evidence.resolve_assay(drugs, aliases);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "evidence: {} of {} drug names recognized, {} relations in the tables",
        found.resolved.len(),
        found.resolved.len() + found.unresolved.len(),
        evidence.relations().len()
    );
    for (name, m) in &found.resolved {
        let how = match &m.matched_by {
            MatchedBy::Canonical => "its name".to_string(),
            MatchedBy::Synonym(kind) => format!("{} name", kind.as_str()),
            MatchedBy::LabAlias(target) => format!("lab alias for `{target}`"),
            MatchedBy::Combination => "a combination".to_string(),
        };
        let classes: Vec<&str> = match &m.agent {
            Agent::Drug(drug) => evidence
                .classes()
                .filter(|c| c.members.contains(drug))
                .map(|c| c.name.as_str())
                .collect(),
            _ => Vec::new(),
        };
        let _ = writeln!(
            text,
            "  {name} = {} (by {how}){}",
            m.agent,
            if classes.is_empty() {
                String::new()
            } else {
                format!("; classes: {}", classes.join(", "))
            }
        );
    }
    if !found.unresolved.is_empty() {
        let _ = writeln!(
            text,
            "  not recognized (no relation can be matched; add them to drug_aliases if the tables know them by another name): {}",
            found.unresolved.join(", ")
        );
    }
    let mut pairs = Vec::new();
    for s in selected {
        for d in drugs {
            let (Some(a), Some(b)) = (found.resolved.get(s), found.resolved.get(d)) else {
                continue;
            };
            let reported = evidence.reported(&a.agent, &b.agent);
            if !reported.is_empty() {
                let kinds: Vec<&str> = reported.iter().map(|r| r.kind.as_str()).collect();
                pairs.push(format!("{s} -> {d} ({})", kinds.join(", ")));
            }
        }
    }
    let _ = writeln!(
        text,
        "  pairs with reported relations (selecting drug -> tested drug): {}",
        if pairs.is_empty() {
            "none".to_string()
        } else {
            format!("{}: {}", pairs.len(), pairs.join(", "))
        }
    );
    let unknown_aliases = aliases
        .iter()
        .filter(|(_, target)| evidence.resolve(target).is_none())
        .map(|(a, t)| (a.clone(), t.clone()))
        .collect();
    MatchListing {
        text,
        unknown_aliases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_classes_and_pairs_are_listed() {
        let evidence = Evidence::bundled().unwrap();
        let drugs: Vec<String> = ["Xalkori", "Etop", "VP-16", "XYZ-1", "pemetrexed"]
            .map(String::from)
            .to_vec();
        let mut aliases = BTreeMap::new();
        aliases.insert("Etop".to_string(), "etoposide".to_string());
        aliases.insert("Q".to_string(), "nothing known".to_string());
        let listing = describe_matches(&evidence, &drugs, &["Xalkori".to_string()], &aliases);
        let t = &listing.text;
        assert!(t.contains("4 of 5 drug names recognized"), "{t}");
        assert!(
            t.contains("Xalkori = crizotinib (by brand name); classes: ALK-TKIs"),
            "{t}"
        );
        assert!(
            t.contains("Etop = etoposide (by lab alias for `etoposide`)"),
            "{t}"
        );
        assert!(t.contains("not recognized"), "{t}");
        assert!(t.contains("XYZ-1"), "{t}");
        assert!(
            t.contains("Xalkori -> Etop (collateral_sensitivity)"),
            "{t}"
        );
        assert!(
            t.contains("Xalkori -> pemetrexed (collateral_sensitivity)"),
            "{t}"
        );
        assert_eq!(
            listing.unknown_aliases,
            vec![("Q".to_string(), "nothing known".to_string())]
        );
    }
}
