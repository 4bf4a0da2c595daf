//! The bundled evidence tables (`evidence/`): every row traced to the review it was read from,
//! known values only, every agent and synonym unambiguous, and the bundled assays' drugs matched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use collateral::evidence::{
    normalize_name, Agent, Direction, Evidence, EvidenceType, RelationKind,
};

use crate::common::{read_csv, root, write};

/// The review's text (see /work/shared/seed/README.md), beside the repository, not in it.
const REVIEW: &str = "../shared/seed/000_86140e093235a358.txt";

fn bundled() -> Evidence {
    match Evidence::bundled() {
        Ok(e) => e,
        Err(e) => panic!("the bundled evidence does not load:\n{e}"),
    }
}

fn relations_rows() -> Vec<HashMap<String, String>> {
    read_csv(&root().join("evidence/relations.csv"))
}

/// The review's text with dashes made plain, or `None` (and a note) where it is absent: a fresh
/// clone has no `../shared`. On CI a missing text is a failure, so the check cannot silently
/// stop running.
fn review_text() -> Option<String> {
    let path = root().join(REVIEW);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text.replace(['—', '–'], "-")),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but the review text {} is missing: {e}",
                    path.display()
                );
            }
            eprintln!(
                "skipping the reference check: {} is absent ({e}); it lives beside the \
                 repository, not in it",
                path.display()
            );
            None
        }
    }
}

/// Every number the text cites, with the byte offsets where it is cited: `(47)`, `(41, 42)`,
/// `(36-47)` and the extraction's broken `47)`. Ranges count every number inside.
fn citations(text: &str) -> BTreeMap<u32, Vec<usize>> {
    let bytes = text.as_bytes();
    let mut out: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (end, _) in text.match_indices(')') {
        let mut start = end;
        while start > 0 && b"0123456789, -".contains(&bytes[start - 1]) {
            start -= 1;
        }
        for token in text[start..end].split(',') {
            let token = token.trim();
            let (a, b) = match token.split_once('-') {
                Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
                None => (token.parse::<u32>(), token.parse::<u32>()),
            };
            if let (Ok(a), Ok(b)) = (a, b) {
                // Reference numbers, not years or trial numbers.
                if a <= b && b - a < 50 && b < 1000 {
                    for n in a..=b {
                        out.entry(n).or_default().push(start);
                    }
                }
            }
        }
    }
    out
}

/// A reference cell split into its items: `Author, Journal Year [n, m]; ...` → (citation, numbers).
fn reference_items(reference: &str) -> Vec<(String, Vec<u32>)> {
    reference
        .split("; ")
        .map(|item| {
            let open = item
                .rfind('[')
                .unwrap_or_else(|| panic!("no [n] in `{item}`"));
            assert!(item.ends_with(']'), "`{item}` does not end with [n]");
            let numbers = item[open + 1..item.len() - 1]
                .split(',')
                .map(|n| {
                    n.trim()
                        .parse::<u32>()
                        .unwrap_or_else(|_| panic!("`{item}`"))
                })
                .collect();
            (item[..open].trim().to_string(), numbers)
        })
        .collect()
}

/// Years the extraction garbled in the text, as they appear there: Noda-Narita's 2019 is
/// printed `20179` in Table 1.
const GARBLED_YEARS: [(&str, &str); 1] = [("Noda-Narita S", "20179")];

/// Whether the citation (`Author, Journal words Year`) and its numbers appear together: the
/// author as written, then within a few lines every journal word, the year and each number.
fn cited_together(text: &str, cites: &BTreeMap<u32, Vec<usize>>, cite: &str, ns: &[u32]) -> bool {
    const WINDOW: usize = 400;
    let (author, rest) = cite.split_once(',').unwrap_or((cite, ""));
    let author = author.trim();
    let lower = text.to_lowercase();
    lower.match_indices(&author.to_lowercase()).any(|(at, _)| {
        let mut end = (at + WINDOW).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let window = &lower[at..end];
        let words_here = rest.split_whitespace().all(|w| {
            let w = w.trim_matches('.').to_lowercase();
            window.contains(&w)
                || GARBLED_YEARS
                    .iter()
                    .any(|(a, garbled)| *a == author && window.contains(garbled))
        });
        let numbers_here = ns.iter().all(|n| {
            cites
                .get(n)
                .is_some_and(|at_n| at_n.iter().any(|&p| p >= at && p < end))
        });
        words_here && numbers_here
    })
}

#[test]
fn every_reference_appears_in_the_review() {
    let Some(text) = review_text() else { return };
    let cites = citations(&text);
    let mut missing = Vec::new();
    for (i, row) in relations_rows().iter().enumerate() {
        for (cite, numbers) in reference_items(&row["reference"]) {
            let found = if cite.is_empty() {
                numbers.iter().all(|n| cites.contains_key(n))
            } else {
                cited_together(&text, &cites, &cite, &numbers)
            };
            if !found {
                missing.push(format!("line {}: {}", i + 2, row["reference"]));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not found in the review:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_row_has_known_values() {
    let rows = relations_rows();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    for (i, row) in rows.iter().enumerate() {
        let at = format!("evidence/relations.csv:{}", i + 2);
        assert!(
            RelationKind::parse(&row["relation"]).is_some(),
            "{at}: relation"
        );
        assert!(
            ["true", "false"].contains(&row["bidirectional"].as_str()),
            "{at}"
        );
        for part in row["evidence_type"].split('+') {
            assert!(
                EvidenceType::parse(part).is_some(),
                "{at}: evidence `{part}`"
            );
        }
        assert!(!row["cancer_type"].is_empty(), "{at}: cancer_type");
        assert!(
            row["source"].starts_with("Table ") || row["source"].starts_with("text: "),
            "{at}: source"
        );
    }
    // Tables 1-5 each have rows; the text adds cross-resistance and collateral sensitivity.
    for table in 1..=5 {
        let name = format!("Table {table}");
        assert!(rows.iter().any(|r| r["source"] == name), "{name}");
    }
    let cs = rows
        .iter()
        .filter(|r| r["relation"] == "collateral_sensitivity");
    assert!(cs.clone().all(|r| r["source"].starts_with("text: ")));
    assert!(cs.count() >= 15);
    // The loader agrees: every row becomes a relation.
    assert_eq!(bundled().relations().len(), rows.len());
}

#[test]
fn every_agent_resolves_to_a_drug_class_or_combination_of_them() {
    let evidence = bundled();
    for (i, row) in relations_rows().iter().enumerate() {
        for column in ["previous_agent", "subsequent_agent"] {
            let name = &row[column];
            let found = evidence.resolve(name);
            assert!(
                found.is_some(),
                "evidence/relations.csv:{}: `{name}`",
                i + 2
            );
        }
    }
    // Every class member is a drug of the names table.
    let drugs: BTreeSet<&str> = evidence.drugs().collect();
    for class in evidence.classes() {
        assert!(
            class.members.iter().all(|m| drugs.contains(m.as_str())),
            "{}",
            class.name
        );
    }
}

#[test]
fn no_name_stands_for_two_canonical_names() {
    let names = read_csv(&root().join("evidence/drug_names.csv"));
    let classes = read_csv(&root().join("evidence/drug_classes.csv"));
    let mut meaning: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &names {
        for name in [&row["canonical"], &row["name"]] {
            if row["kind"] == "class" && name == &row["canonical"] {
                continue;
            }
            meaning
                .entry(normalize_name(name))
                .or_default()
                .insert(normalize_name(&row["canonical"]));
        }
    }
    for row in &classes {
        meaning
            .entry(normalize_name(&row["class"]))
            .or_default()
            .insert(normalize_name(&row["class"]));
    }
    let twice: Vec<_> = meaning.iter().filter(|(_, m)| m.len() > 1).collect();
    assert!(twice.is_empty(), "names with two meanings: {twice:?}");
    assert!(meaning.keys().all(|k| !k.is_empty()));
}

#[test]
fn brand_and_code_names_resolve() {
    let evidence = bundled();
    for (name, canonical) in [
        ("Herceptin", "trastuzumab"),
        ("kadcyla", "trastuzumab emtansine"),
        ("ado-trastuzumab emtansine", "trastuzumab emtansine"),
        ("Tykerb", "lapatinib"),
        ("gefitinib", "gefitinib"),
        ("Tagrisso", "osimertinib"),
        ("AZD9291", "osimertinib"),
        ("XTANDI", "enzalutamide"),
        ("Zytiga", "abiraterone"),
        ("Xalkori", "crizotinib"),
        ("Lapatinib ditosylate", "lapatinib"),
    ] {
        let found = evidence.resolve(name).map(|m| m.agent);
        assert_eq!(found, Some(Agent::Drug(canonical.to_string())), "{name}");
    }
}

/// The drug names and selecting drugs of a bundled assay.
fn assay_drugs(assay: &str) -> Vec<String> {
    let dir = root().join("assays").join(assay);
    let mut drugs = BTreeSet::new();
    // Only the drug column: the wells tables have hundreds of thousands of rows.
    let path = dir.join("wells.csv");
    let mut wells = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let column = wells
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "drug")
        .unwrap();
    for rec in wells.records() {
        drugs.insert(rec.unwrap()[column].to_string());
    }
    for row in read_csv(&dir.join("lines.csv")) {
        drugs.insert(row["selected_with"].clone());
    }
    drugs.into_iter().filter(|d| !d.is_empty()).collect()
}

#[test]
fn dhawan2017_alk_inhibitors_meet_the_reviews_collateral_sensitivities() {
    let evidence = bundled();
    let drugs = assay_drugs("dhawan2017");
    let assay = evidence.resolve_assay(&drugs, &BTreeMap::new());
    assert!(assay.unresolved.is_empty(), "{:?}", assay.unresolved);
    let alk = evidence.class_members("ALK-TKIs").expect("ALK-TKIs class");
    let alk_in_assay: Vec<&String> = drugs
        .iter()
        .filter(|d| matches!(&assay.resolved[*d].agent, Agent::Drug(c) if alk.contains(c)))
        .collect();
    assert_eq!(
        alk_in_assay,
        ["Alectinib", "Ceritinib", "Crizotinib", "Lorlatinib"]
    );
    // The review (ref 172, Dhawan et al. 2017): lines resistant to ALK TKIs are sensitized to
    // etoposide and pemetrexed; both are tested in the assay.
    for tested in ["Etoposide", "Pemetrexed"] {
        assert!(drugs.iter().any(|d| d == tested));
        for selected in &alk_in_assay {
            let found = evidence.relations_for(selected, tested);
            assert!(
                found
                    .iter()
                    .any(|a| a.relation.kind == RelationKind::CollateralSensitivity
                        && a.direction == Direction::AsReported
                        && a.relation.reference.contains("[172]")),
                "{selected} -> {tested}: {found:?}"
            );
        }
        // Not reported the other way round.
        assert!(evidence.relations_for(tested, "Crizotinib").is_empty());
    }
}

#[test]
fn the_bacterial_assays_resolve_what_their_sources_expand() {
    let evidence = bundled();
    // Abbreviations their SOURCE.md does not expand, or that mean another drug elsewhere
    // (DOX: doxycycline here, doxorubicin in oncology; CTX: cefotaxime here, cyclophosphamide
    // in oncology), stay unresolved: a lab gives them as aliases.
    for (assay, unresolved) in [
        ("iwasawa2022", vec!["NQO", "PLM", "SDC", "SS"]),
        ("maltas-wood-temporal", vec!["DOX"]),
    ] {
        let found = evidence.resolve_assay(&assay_drugs(assay), &BTreeMap::new());
        assert_eq!(found.unresolved, unresolved, "{assay}");
    }
    let mut aliases = BTreeMap::new();
    aliases.insert("DOX".to_string(), "doxycycline".to_string());
    let found = evidence.resolve_assay(&assay_drugs("maltas-wood-temporal"), &aliases);
    assert!(found.unresolved.is_empty());
    assert_eq!(
        found.resolved["DOX"].agent,
        Agent::Drug("doxycycline".into())
    );
}

#[test]
fn a_labs_own_tables_load_beside_the_bundled_ones() {
    let dir = tempfile::tempdir().unwrap();
    let names = write(
        dir.path(),
        "my_names.csv",
        "canonical,name,kind\ncompound-7,C7,abbreviation\n",
    );
    let header = "previous_agent,subsequent_agent,relation,bidirectional,cancer_type,\
                  evidence_type,mechanism,reference\n";
    let good = write(
        dir.path(),
        "my_evidence.csv",
        &format!(
            "{header}osimertinib,C7,collateral_sensitivity,false,EGFR-mutant NSCLC,in_vitro,,\
             \"Our lab, unpublished 2026 [notebook 12]\"\n"
        ),
    );
    // Relations before names: the order of the files does not matter.
    let evidence = Evidence::with_files(&[&good, &names]).unwrap();
    let found = evidence.relations_for("Tagrisso", "compound 7");
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].relation.origin.to_string(),
        format!("{}:2", good.display())
    );
    // The EGFR-TKI row of the review applies too.
    assert_eq!(evidence.relations_for("Tagrisso", "alisertib").len(), 1);

    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("{header}osimertinib,alisertb,collateral_sensitivity,false,x,cells,,R [1]\n"),
    );
    let err = Evidence::with_files(&[&bad]).unwrap_err().to_string();
    let at = bad.display();
    assert!(
        err.contains(&format!(
            "{at}:2: column 2 (`subsequent_agent`): unknown drug or class `alisertb` \
             (did you mean `alisertib`?)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{at}:2: column 6 (`evidence_type`): unknown evidence type `cells`"
        )),
        "{err}"
    );
}
