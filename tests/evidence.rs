//! The bundled evidence tables (`evidence/`): every row traced to the review it was read from,
//! known values only, every agent and synonym unambiguous, and the bundled assays' drugs matched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use collateral::evidence::{
    normalize_name, Agent, Direction, Evidence, EvidenceType, RelationKind,
};

use crate::common::{collateral, read_csv, root, write};

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

/// The seven clinical names of the issue, as a lab might write them, given to the simulated
/// drugs drug01..drug07 (resistant01..07 are selected with them); drug08 and drug09 keep names
/// the tables do not know.
const CLINICAL: [(&str, &str); 9] = [
    ("drug01", "Herceptin"),
    ("drug02", "kadcyla"),
    ("drug03", "Tykerb"),
    ("drug04", "gefitinib"),
    ("drug05", "Tagrisso"),
    ("drug06", "XTANDI"),
    ("drug07", "Zytiga"),
    ("drug08", "cmpd-8"),
    ("drug09", "cmpd-9"),
];

/// A simulated screen (7 resistant lines, 9 drugs) whose drugs carry [`CLINICAL`]'s names,
/// run into `dir/out`.
fn clinical_screen(dir: &std::path::Path) {
    collateral()
        .args(["simulate", "-o"])
        .arg(dir)
        .args([
            "--seed",
            "5",
            "--lines",
            "8",
            "--drugs",
            "9",
            "--replicates",
            "2",
        ])
        .assert()
        .success();
    for file in ["wells.csv", "lines.csv"] {
        let path = dir.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (simulated, clinical) in CLINICAL {
            text = text.replace(&format!(",{simulated},"), &format!(",{clinical},"));
            text = text.replace(&format!(",{simulated}\n"), &format!(",{clinical}\n"));
        }
        std::fs::write(&path, text).unwrap();
    }
    collateral()
        .arg("run")
        .arg(dir.join("assay.toml"))
        .arg("-o")
        .arg(dir.join("out"))
        .assert()
        .success();
}

#[test]
fn a_simulated_screen_of_clinical_names_is_marked_on_exactly_the_reported_pairs() {
    let dir = tempfile::tempdir().unwrap();
    clinical_screen(dir.path());
    let shifts = read_csv(&dir.path().join("out/shifts.csv"));
    assert_eq!(shifts.len(), 7 * 9);
    for (simulated, clinical) in CLINICAL.iter().take(7) {
        assert!(
            shifts.iter().any(|s| s["selected_with"] == *clinical),
            "{simulated} was not renamed to {clinical}"
        );
    }
    let marked: BTreeSet<(String, String, String)> = shifts
        .iter()
        .filter(|s| !s["evidence"].is_empty())
        .map(|s| {
            let kind = s["evidence"].split(':').next().unwrap().to_string();
            (s["selected_with"].clone(), s["drug"].clone(), kind)
        })
        .collect();
    // Read off evidence/relations.csv by hand (the review's Tables 1, 3 and 4):
    // lapatinib <-> trastuzumab and enzalutamide <-> abiraterone are cross-resistant both ways
    // (Table 1 ref 41-42; Table 4), gefitinib -> osimertinib one way (Table 3). T-DM1 (kadcyla)
    // is reported only after trastuzumab + pertuzumab, a combination this screen does not give,
    // and the class rows (anti-HER2 -> neratinib, EGFR-TKIs -> Aurora kinase inhibitors, ARSIs
    // -> docetaxel) name drugs it does not test.
    let cr = "cross_resistance".to_string();
    let expected: BTreeSet<(String, String, String)> = [
        ("Tykerb", "Herceptin"),
        ("Herceptin", "Tykerb"),
        ("gefitinib", "Tagrisso"),
        ("XTANDI", "Zytiga"),
        ("Zytiga", "XTANDI"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string(), cr.clone()))
    .collect();
    assert_eq!(marked, expected);
    // Not the other way round where the review reports one direction only.
    assert!(shifts
        .iter()
        .filter(|s| s["selected_with"] == "Tagrisso" && s["drug"] == "gefitinib")
        .all(|s| s["evidence"].is_empty()));
    // The agreement follows the call exactly as docs/evidence.md defines it.
    for s in shifts.iter().filter(|s| !s["evidence"].is_empty()) {
        let expected = match s["call"].as_str() {
            "cross_resistant" => "agrees",
            "collateral_sensitive" => "contradicts",
            _ => "not_tested",
        };
        assert_eq!(s["evidence_agreement"], expected, "{s:?}");
        assert!(s["evidence"].contains('['), "a reference: {s:?}");
    }
    for s in shifts.iter().filter(|s| s["evidence"].is_empty()) {
        assert_eq!(s["evidence_agreement"], "", "{s:?}");
    }
    // The network carries the same pairs.
    let network: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/network.json")).unwrap(),
    )
    .unwrap();
    let edges: BTreeSet<(String, String)> = network["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("evidence").is_some())
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected_edges: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(a, b, _)| (a.clone(), b.clone()))
        .collect();
    assert_eq!(edges, expected_edges);
    let graphml = std::fs::read_to_string(dir.path().join("out/network.graphml")).unwrap();
    assert_eq!(graphml.matches("<data key=\"evidence\">").count(), 5);
}

#[test]
fn plan_avoid_never_proposes_a_reported_cross_resistant_step() {
    let dir = tempfile::tempdir().unwrap();
    clinical_screen(dir.path());
    let reported = [
        "Tykerb -> Herceptin",
        "Herceptin -> Tykerb",
        "gefitinib -> Tagrisso",
        "XTANDI -> Zytiga",
        "Zytiga -> XTANDI",
    ];
    let steps_of = |sequence: &str| -> Vec<String> {
        let drugs: Vec<&str> = sequence.split(" -> ").collect();
        drugs
            .windows(2)
            .map(|w| format!("{} -> {}", w[0], w[1]))
            .collect()
    };
    for length in ["2", "3"] {
        let out = dir.path().join(format!("avoid{length}"));
        collateral()
            .arg("plan")
            .arg(dir.path().join("out"))
            .arg("-o")
            .arg(&out)
            .args(["--evidence", "avoid", "--length", length, "--top", "100000"])
            .assert()
            .success();
        let plan = read_csv(&out.join("plan.csv"));
        assert!(!plan.is_empty());
        for row in &plan {
            for step in steps_of(&row["sequence"]) {
                assert!(!reported.contains(&step.as_str()), "{row:?}");
            }
            assert_eq!(row["reported_cross_resistance"], "", "{row:?}");
        }
        // The words say which reported relations left sequences out.
        let words = std::fs::read_to_string(out.join("plan.md")).unwrap();
        assert!(words.contains("left out (--evidence avoid)"), "{words}");
        for step in reported {
            assert!(words.contains(step), "{step}: {words}");
        }
    }
    // `flag` (the default) lists those sequences and names the reports on each.
    let flagged = dir.path().join("flag");
    collateral()
        .arg("plan")
        .arg(dir.path().join("out"))
        .arg("-o")
        .arg(&flagged)
        .args(["--length", "2", "--top", "100000"])
        .assert()
        .success();
    let plan = read_csv(&flagged.join("plan.csv"));
    let with_step: Vec<&HashMap<String, String>> = plan
        .iter()
        .filter(|r| reported.contains(&r["sequence"].as_str()))
        .collect();
    assert_eq!(with_step.len(), 5, "{plan:?}");
    for row in with_step {
        assert!(
            row["reported_cross_resistance"].starts_with(&format!("{}: ", row["sequence"])),
            "{row:?}"
        );
    }
    assert!(plan
        .iter()
        .filter(|r| !reported.contains(&r["sequence"].as_str()))
        .all(|r| r["reported_cross_resistance"].is_empty()));
    // `ignore` plans on the screen alone.
    let ignored = dir.path().join("ignore");
    collateral()
        .arg("plan")
        .arg(dir.path().join("out"))
        .arg("-o")
        .arg(&ignored)
        .args(["--evidence", "ignore", "--length", "2", "--top", "100000"])
        .assert()
        .success();
    let plan = read_csv(&ignored.join("plan.csv"));
    assert_eq!(plan.len(), with_len(&flagged));
    assert!(plan
        .iter()
        .all(|r| r["reported_cross_resistance"].is_empty()));
}

fn with_len(dir: &std::path::Path) -> usize {
    read_csv(&dir.join("plan.csv")).len()
}

#[test]
fn dhawan2017_report_names_the_alk_tki_relations_with_what_the_screen_measured() {
    let out = crate::common::run_bundled("assays/dhawan2017/assay.toml");
    let shifts = read_csv(&out.path().join("shifts.csv"));
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    let start = html
        .find("<h2 id=\"reported\">Reported before</h2>")
        .expect("section");
    let end = html[start + 1..]
        .find("<h2")
        .map_or(html.len(), |i| start + 1 + i);
    let section = &html[start..end];
    assert!(
        section.contains("collateral sensitivity: ALK-TKIs → etoposide"),
        "{section}"
    );
    assert!(
        section.contains("collateral sensitivity: ALK-TKIs → pemetrexed"),
        "{section}"
    );
    assert!(section.contains("Dhawan, 2017 [172]"), "{section}");
    // Each ALK-TKI line's row shows its measured log2 FC, CI, q, call and agreement.
    let mut rows = 0;
    for s in shifts.iter().filter(|s| !s["evidence"].is_empty()) {
        assert!(
            ["Etoposide", "Pemetrexed"].contains(&s["drug"].as_str()),
            "{s:?}"
        );
        assert!(
            ["Alectinib", "Ceritinib", "Crizotinib", "Lorlatinib"]
                .contains(&s["selected_with"].as_str()),
            "{s:?}"
        );
        assert_eq!(s["evidence"], "collateral_sensitivity: Dhawan, 2017 [172]");
        let row_start = section
            .find(&format!(
                "<td>{}</td><td>{}</td><td>{}</td>",
                s["resistant_line"], s["selected_with"], s["drug"]
            ))
            .unwrap_or_else(|| panic!("no row for {s:?}"));
        let row = &section[row_start..section[row_start..].find("</tr>").unwrap() + row_start];
        if !s["log2_fc"].is_empty() {
            assert!(
                row.contains(&format!("data-value=\"{}\"", s["log2_fc"])),
                "{row}"
            );
            assert!(
                row.contains(&format!("data-value=\"{}\"", s["q_value"])),
                "{row}"
            );
        }
        assert!(row.contains(&format!("<td>{}</td>", s["call"])), "{row}");
        assert!(
            row.contains(&format!("<td>{}</td>", s["evidence_agreement"])),
            "{row}"
        );
        rows += 1;
    }
    // Four ALK-TKI lines, two drugs each.
    assert_eq!(rows, 8);
}

/// The clinical names of `assays/dhawan2017-clinic` (its SOURCE.md), back to dhawan2017's.
const CLINIC_NAMES: [(&str, &str); 10] = [
    ("Xalkori", "Crizotinib"),
    ("ZYKADIA", "Ceritinib"),
    ("alecensa", "Alectinib"),
    ("Lorbrena", "Lorlatinib"),
    ("Etop", "Etoposide"),
    ("Alimta", "Pemetrexed"),
    ("Taxol", "Paclitaxel"),
    ("IPI-504", "IPI504"),
    ("ganetespib", "Ganetespib"),
    ("AUY-922", "AUY922"),
];

fn dhawan_name(clinic: &str) -> String {
    CLINIC_NAMES
        .iter()
        .find(|(c, _)| *c == clinic)
        .map_or(clinic.to_string(), |(_, d)| d.to_string())
}

#[test]
fn dhawan2017_clinic_is_dhawan2017_renamed() {
    for (file, column) in [("wells.csv", "drug"), ("lines.csv", "selected_with")] {
        let ours = read_csv(&root().join("assays/dhawan2017-clinic").join(file));
        let theirs = read_csv(&root().join("assays/dhawan2017").join(file));
        assert_eq!(ours.len(), theirs.len(), "{file}");
        for (mut a, b) in ours.into_iter().zip(theirs) {
            let renamed = dhawan_name(&a[column]);
            a.insert(column.to_string(), renamed);
            assert_eq!(a, b, "{file}");
        }
    }
}

#[test]
fn clinical_names_give_dhawan2017s_numbers_and_the_same_reported_pairs() {
    let clinic = crate::common::run_bundled("assays/dhawan2017-clinic/assay.toml");
    let plain = crate::common::run_bundled("assays/dhawan2017/assay.toml");
    let key = |s: &HashMap<String, String>| {
        (
            s["resistant_line"].clone(),
            dhawan_name(&s["selected_with"]),
            dhawan_name(&s["drug"]),
        )
    };
    let plain: HashMap<_, _> = read_csv(&plain.path().join("shifts.csv"))
        .into_iter()
        .map(|s| (key(&s), s))
        .collect();
    let clinic = read_csv(&clinic.path().join("shifts.csv"));
    assert_eq!(clinic.len(), plain.len());
    let mut marked = 0;
    for s in &clinic {
        let p = &plain[&key(s)];
        for column in [
            "log2_fc",
            "ci_low",
            "ci_high",
            "q_value",
            "call",
            "evidence",
            "evidence_agreement",
        ] {
            assert_eq!(s[column], p[column], "{column}: {s:?}");
        }
        marked += usize::from(!s["evidence"].is_empty());
    }
    // Xalkori, ZYKADIA, alecensa and Lorbrena lines against Etop (the lab alias) and Alimta.
    assert_eq!(marked, 8);
}

#[test]
fn assay_keys_give_aliases_and_users_evidence_files_with_located_errors() {
    use collateral::assay::Assay;
    let dir = tempfile::tempdir().unwrap();
    let min = "name = \"s\"\nconcentration_unit = \"uM\"\nwells = \"w.csv\"\n";
    // A table in the assay file ...
    let a = Assay::from_str(
        &format!("{min}[drug_aliases]\nEtop = \"etoposide\"\n\"Crz 1\" = \"Xalkori\"\n"),
        &dir.path().join("a.toml"),
    )
    .unwrap();
    assert_eq!(a.settings.evidence.drug_aliases["Etop"], "etoposide");
    assert!(a.settings.evidence.bundled);
    // ... or a CSV beside it.
    write(dir.path(), "aliases.csv", "alias,drug\nPem,Alimta\n");
    let a = Assay::from_str(
        &format!("drug_aliases = \"aliases.csv\"\n{min}"),
        &dir.path().join("a.toml"),
    )
    .unwrap();
    assert_eq!(a.settings.evidence.drug_aliases["Pem"], "Alimta");
    let json = serde_json::to_value(&a.settings).unwrap();
    assert_eq!(json["evidence"]["drug_aliases"]["Pem"], "Alimta");
    // A bad alias table is located by file and line.
    write(dir.path(), "bad_aliases.csv", "alias,drug\nPem,\n");
    let e = Assay::from_str(
        &format!("drug_aliases = \"bad_aliases.csv\"\n{min}"),
        &dir.path().join("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bad_aliases.csv:2: `Pem` has an empty `drug`"),
        "{e}"
    );
    // An unknown key of [evidence] is refused with the valid ones.
    let e = Assay::from_str(
        &format!("{min}[evidence]\nfile = [\"x.csv\"]\n"),
        &dir.path().join("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown key `evidence.file`"), "{e}");
    assert!(e.contains("did you mean `files`"), "{e}");
    // Users' files resolve beside the assay file and load with the bundled ones.
    let header = "previous_agent,subsequent_agent,relation,bidirectional,cancer_type,\
                  evidence_type,mechanism,reference\n";
    write(
        dir.path(),
        "mine.csv",
        &format!(
            "{header}crizotinib,paclitaxel,cross_resistance,false,NSCLC,in_vitro,,Us 2026 [1]\n"
        ),
    );
    let a = Assay::from_str(
        &format!("{min}[evidence]\nfiles = [\"mine.csv\"]\n"),
        &dir.path().join("a.toml"),
    )
    .unwrap();
    assert_eq!(a.settings.evidence.files, [dir.path().join("mine.csv")]);
    let evidence = a.settings.evidence.load().unwrap();
    assert_eq!(evidence.relations_for("Xalkori", "Taxol").len(), 1);
    assert!(evidence.relations().len() > 1);
    // Without the bundled tables a relations file needs its own names.
    let a = Assay::from_str(
        &format!("{min}[evidence]\nbundled = false\nfiles = [\"mine.csv\"]\n"),
        &dir.path().join("a.toml"),
    )
    .unwrap();
    let e = a.settings.evidence.load().unwrap_err().to_string();
    assert!(
        e.contains("mine.csv:2: column 1 (`previous_agent`): unknown drug or class `crizotinib`"),
        "{e}"
    );
}

#[test]
fn a_users_evidence_file_marks_the_run_and_a_bad_one_stops_it_located() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("assays/dhawan2017");
    let assay = std::fs::read_to_string(src.join("assay.toml"))
        .unwrap()
        .replace(
            "wells = \"wells.csv\"",
            &format!("wells = {:?}", src.join("wells.csv")),
        )
        .replace(
            "lines = \"lines.csv\"",
            &format!("lines = {:?}", src.join("lines.csv")),
        );
    let header = "previous_agent,subsequent_agent,relation,bidirectional,cancer_type,\
                  evidence_type,mechanism,reference\n";
    write(
        dir.path(),
        "mine.csv",
        &format!("{header}HSP90 inhibitors,paclitaxel,cross_resistance,false,NSCLC,in_vitro,,\"Our lab, 2026 [nb 3]\"\n"),
    );
    let path = write(
        dir.path(),
        "assay.toml",
        &format!("{assay}\n[evidence]\nfiles = [\"mine.csv\"]\n"),
    );
    collateral()
        .args(["run"])
        .arg(&path)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let shifts = read_csv(&dir.path().join("out/shifts.csv"));
    let ours: BTreeSet<String> = shifts
        .iter()
        .filter(|s| s["evidence"].contains("Our lab, 2026 [nb 3]"))
        .map(|s| format!("{} -> {}", s["selected_with"], s["drug"]))
        .collect();
    let expected: BTreeSet<String> = ["AUY922", "Ganetespib", "IPI504"]
        .iter()
        .map(|d| format!("{d} -> Paclitaxel"))
        .collect();
    assert_eq!(ours, expected);
    // The run records the file among its inputs and settings.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/run.json")).unwrap())
            .unwrap();
    assert!(run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"].as_str().unwrap().ends_with("mine.csv")));
    assert!(run["settings"]["evidence"]["files"][0]
        .as_str()
        .unwrap()
        .ends_with("mine.csv"));
    // A bad file stops the run, located by file, line and column.
    write(
        dir.path(),
        "mine.csv",
        &format!(
            "{header}HSP90 inhibitors,paclitaxl,cross_resistance,false,NSCLC,in_vitro,,R [1]\n"
        ),
    );
    let out = collateral()
        .args(["run"])
        .arg(&path)
        .arg("-o")
        .arg(dir.path().join("out2"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(
            "mine.csv:2: column 2 (`subsequent_agent`): unknown drug or class `paclitaxl`"
        ),
        "{stderr}"
    );
}

#[test]
fn shifts_tables_without_the_evidence_columns_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(
        dir.path(),
        "shifts.csv",
        "resistant_line,drug,selected_with,log2_fc,call\nR1,B,A,-2,collateral_sensitive\n",
    );
    let rows = collateral::output::tables::read_shifts(&old).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].evidence.is_empty());
    assert_eq!(rows[0].evidence_agreement(), None);
    // This tool's own table reads back into the rows that wrote it, evidence included.
    let mut rows = rows;
    rows[0].evidence =
        collateral::evidence::parse_reported("collateral_sensitivity: X, 2017 [1]").unwrap();
    let mut bytes = Vec::new();
    collateral::shift::write_shifts(&mut bytes, &rows, &Default::default()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(",evidence,evidence_agreement"),
        "{text}"
    );
    assert!(
        text.contains("\"collateral_sensitivity: X, 2017 [1]\",agrees"),
        "{text}"
    );
    let again = write(dir.path(), "again.csv", &text);
    let read = collateral::output::tables::read_shifts(&again).unwrap();
    // (NaN cells compare unequal: the fields that carry something are compared.)
    assert_eq!(read[0].evidence, rows[0].evidence);
    assert_eq!(
        (read[0].call, read[0].log2_fc),
        (rows[0].call, rows[0].log2_fc)
    );
    // A malformed evidence cell is located.
    let bad = write(
        dir.path(),
        "bad.csv",
        "resistant_line,drug,selected_with,log2_fc,call,evidence\nR1,B,A,-2,neutral,sensitivity: X [1]\n",
    );
    let e = collateral::output::tables::read_shifts(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv:2: `evidence`: `sensitivity` is not a relation"),
        "{e}"
    );
}

#[test]
fn validate_lists_the_matched_names_classes_and_reported_pairs() {
    let out = collateral()
        .args(["validate", "assays/dhawan2017-clinic/assay.toml"])
        .current_dir(root())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("evidence: 10 of 10 drug names recognized"),
        "{text}"
    );
    assert!(
        text.contains("Xalkori = crizotinib (by brand name); classes: ALK-TKIs"),
        "{text}"
    );
    assert!(
        text.contains("Etop = etoposide (by lab alias for `etoposide`)"),
        "{text}"
    );
    assert!(
        text.contains("IPI-504 = retaspimycin (by code name)"),
        "{text}"
    );
    assert!(
        text.contains("pairs with reported relations (selecting drug -> tested drug): 8:"),
        "{text}"
    );
    assert!(
        text.contains("Xalkori -> Etop (collateral_sensitivity)"),
        "{text}"
    );
}
