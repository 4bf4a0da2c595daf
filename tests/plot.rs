//! Figures and report.html: every SVG parses and holds its series and labels, every number in
//! the report is one the run's CSVs or run.json hold, and `collateral plot` redraws from the
//! files alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{collateral, read_csv, root};

/// Runs the bundled Dhawan assay into a fresh temporary folder.
pub fn dhawan_run() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "-q", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    out
}

/// Every text element's content in an SVG, after checking that it parses as XML.
pub fn svg_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
    assert_eq!(
        doc.root_element().tag_name().name(),
        "svg",
        "{}",
        path.display()
    );
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect()
}

/// One `<text>` of an SVG: its anchor point, `text-anchor` and content.
#[derive(Debug, Clone)]
pub struct SvgText {
    pub x: f64,
    pub y: f64,
    pub anchor: String,
    pub text: String,
}

/// Every text element of an SVG with its position.
pub fn svg_text_nodes(path: &Path) -> Vec<SvgText> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| SvgText {
            x: n.attribute("x").unwrap().parse().unwrap(),
            y: n.attribute("y").unwrap().parse().unwrap(),
            anchor: n.attribute("text-anchor").unwrap_or("start").to_string(),
            text: n
                .descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
                .trim()
                .to_string(),
        })
        .collect()
}

/// Labels along one axis of a heatmap with their positions (y of rows, x of columns).
pub type Axis = Vec<(String, f64)>;

/// The heatmap's row labels top to bottom and column labels left to right, read from the
/// positions of its texts: row labels are right-aligned, column labels centred above the first
/// row of cells.
pub fn heatmap_axes(
    nodes: &[SvgText],
    rows: &BTreeSet<&str>,
    cols: &BTreeSet<&str>,
) -> (Axis, Axis) {
    let mut row_labels: Axis = nodes
        .iter()
        .filter(|n| n.anchor == "end" && rows.contains(n.text.as_str()))
        .map(|n| (n.text.clone(), n.y))
        .collect();
    row_labels.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut col_labels: Axis = nodes
        .iter()
        .filter(|n| n.anchor == "middle" && cols.contains(n.text.as_str()))
        .map(|n| (n.text.clone(), n.x))
        .collect();
    col_labels.sort_by(|a, b| a.1.total_cmp(&b.1));
    (row_labels, col_labels)
}

/// The label a heatmap cell shows for a `shifts.csv` row (as `Cell::label`).
pub fn cell_label(s: &std::collections::HashMap<String, String>, alpha: f64) -> String {
    let Ok(x) = s["log2_fc"].parse::<f64>() else {
        return "NA".into();
    };
    let bound = match s["log2_fc_qualifier"].as_str() {
        b @ (">" | "<") => b,
        _ => "",
    };
    let star = match s["q_value"].parse::<f64>() {
        Ok(q) if q < alpha => "*",
        _ => "",
    };
    format!("{bound}{:.1}{star}", if x.abs() < 0.05 { 0.0 } else { x })
}

/// The order the heatmap's rows (or columns) must have: the crate's clustering of the
/// matrix as shifts.csv gives it, values clipped to the colour scale (the largest |log2 FC|
/// outside the selecting drugs' cells, rounded up).
pub fn expected_orders(
    shifts: &[std::collections::HashMap<String, String>],
) -> (Vec<String>, Vec<String>) {
    let mut lines: Vec<String> = Vec::new();
    let mut drugs: Vec<String> = Vec::new();
    for s in shifts {
        if !lines.contains(&s["resistant_line"]) {
            lines.push(s["resistant_line"].clone());
        }
        if !drugs.contains(&s["drug"]) {
            drugs.push(s["drug"].clone());
        }
    }
    let value = |s: &std::collections::HashMap<String, String>| {
        s["log2_fc"].parse::<f64>().unwrap_or(f64::NAN)
    };
    let limit = shifts
        .iter()
        .filter(|s| s["drug"] != s["selected_with"])
        .map(value)
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .ceil()
        .max(1.0);
    let mut m = ndarray::Array2::from_elem((lines.len(), drugs.len()), f64::NAN);
    for s in shifts {
        let r = lines
            .iter()
            .position(|l| *l == s["resistant_line"])
            .unwrap();
        let d = drugs.iter().position(|l| *l == s["drug"]).unwrap();
        m[[r, d]] = value(s).clamp(-limit, limit);
    }
    let rows = collateral::plot::cluster::cluster(m.view()).order;
    let cols = collateral::plot::cluster::cluster(m.t()).order;
    (
        rows.into_iter().map(|i| lines[i].clone()).collect(),
        cols.into_iter().map(|i| drugs[i].clone()).collect(),
    )
}

fn svg_count(path: &Path, tag: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The cells (data-value when present, text otherwise) of the rows of an HTML table by id.
pub fn html_table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = start + html[start..].find("</table>").unwrap();
    let body = &html[start..end];
    let body = &body[body.find("<tbody>").unwrap()..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    if let Some(i) = cell.find("data-value=\"") {
                        let rest = &cell[i + 12..];
                        unescape(&rest[..rest.find('"').unwrap()])
                    } else {
                        let rest = &cell[cell.find('>').unwrap() + 1..];
                        unescape(&rest[..rest.find("</td>").unwrap()])
                    }
                })
                .collect()
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn run_writes_a_parsable_svg_for_every_figure() {
    let out = dhawan_run();
    let dir = out.path();
    let plots = files_under(&dir.join("plots"));
    let shifts = read_csv(&dir.join("shifts.csv"));
    let lines: BTreeSet<&str> = shifts
        .iter()
        .map(|s| s["resistant_line"].as_str())
        .collect();
    let drugs: BTreeSet<&str> = shifts.iter().map(|s| s["drug"].as_str()).collect();
    // One grid per resistant line, one overview per drug, one map per plate, plus the QC
    // overview, heatmap and network.
    let qc = read_csv(&dir.join("qc.csv"));
    let plates: BTreeSet<String> = qc.iter().map(|q| q["plate"].clone()).collect();
    assert_eq!(
        plots.len(),
        3 + lines.len() + drugs.len() + plates.len(),
        "{plots:?}"
    );
    for p in &plots {
        assert_eq!(p.extension().unwrap(), "svg");
        assert!(!svg_texts(p).is_empty(), "{} has no text", p.display());
    }

    let heat = svg_texts(&dir.join("plots/heatmap.svg"));
    for name in lines.iter().chain(&drugs) {
        assert!(heat.iter().any(|t| t == name), "heatmap lacks {name}");
    }
    assert!(heat.iter().any(|t| t == "log2 FC"), "colour bar title");
    assert!(heat.iter().any(|t| t == "0"), "colour bar has a tick at 0");
    // Cell by cell: the text at each (row label, column label) position is that shift's
    // log2_fc to one decimal, with its bound and star (NA when undetermined).
    let nodes = svg_text_nodes(&dir.join("plots/heatmap.svg"));
    let (rows, cols) = heatmap_axes(&nodes, &lines, &drugs);
    assert_eq!(rows.len(), lines.len());
    assert_eq!(cols.len(), drugs.len());
    let alpha = 0.05;
    for s in &shifts {
        let y = rows.iter().find(|r| r.0 == s["resistant_line"]).unwrap().1;
        let x = cols.iter().find(|c| c.0 == s["drug"]).unwrap().1;
        let at: Vec<&SvgText> = nodes
            .iter()
            .filter(|n| n.anchor == "middle" && n.x == x && n.y == y)
            .collect();
        assert_eq!(at.len(), 1, "{} / {}", s["resistant_line"], s["drug"]);
        assert_eq!(
            at[0].text,
            cell_label(s, alpha),
            "{} / {}",
            s["resistant_line"],
            s["drug"]
        );
    }
    // Rows and columns are in the clustered order of the matrix.
    let (row_order, col_order) = expected_orders(&shifts);
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        row_order
    );
    assert_eq!(
        cols.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        col_order
    );

    // The QC overview counts qc.csv's unit rows.
    let units: Vec<_> = qc.iter().filter(|q| !q["cell_line"].is_empty()).collect();
    let verdicts = |v: &str| units.iter().filter(|q| q["verdict"] == v).count();
    let title = format!(
        "Plate QC: {} units on {} plates: {} pass, {} warn, {} fail; median Z′ NA",
        units.len(),
        plates.len(),
        verdicts("pass"),
        verdicts("warn"),
        verdicts("fail")
    );
    let qc_texts = svg_texts(&dir.join("plots/qc.svg"));
    assert!(qc_texts.contains(&title), "{title}: {qc_texts:?}");

    let grid = dir.join("plots/dose_response/CeritR.svg");
    let texts = svg_texts(&grid);
    assert!(texts.iter().any(|t| t == "CeritR vs parental H3122"));
    assert!(texts.iter().any(|t| t == "H3122 (parental)"));
    for d in &drugs {
        assert!(
            texts.iter().any(|t| t.starts_with(&format!("{d}: "))),
            "no panel for {d}: {texts:?}"
        );
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let unit = run["assay"]["concentration_unit"].as_str().unwrap();
    assert!(texts
        .iter()
        .any(|t| *t == format!("concentration ({unit})")));
    // Panels carry the compared potency of fits.csv (the Dhawan assay compares ec50s).
    assert_eq!(run["settings"]["shift"]["metric"], "ec50");
    let fits = read_csv(&dir.join("fits.csv"));
    let ec50 = |line: &str, drug: &str| {
        let f = fits
            .iter()
            .find(|f| f["cell_line"] == line && f["drug"] == drug)
            .unwrap();
        collateral::plot::style::short_number(f["ec50"].parse::<f64>().unwrap())
    };
    let label = format!(
        "EC50 ({unit}): P {}, R {}",
        ec50("H3122", "Alectinib"),
        ec50("CeritR", "Alectinib")
    );
    assert!(texts.contains(&label), "no label {label}: {texts:?}");
    // Fitted curves are polylines: two per panel (parental and resistant) when both fitted.
    let ok = |l: &str| {
        fits.iter()
            .filter(|f| f["cell_line"] == l && f["status"] == "ok")
            .count()
    };
    assert!(svg_count(&grid, "polyline") >= ok("CeritR") + ok("H3122"));

    // The overview of a drug lists every line with its potency.
    let overview = svg_texts(&dir.join("plots/drugs/Alectinib.svg"));
    assert!(overview.iter().any(|t| t == "Alectinib: all lines"));
    assert!(
        overview
            .iter()
            .any(|t| *t == format!("H3122 (parental): {}", ec50("H3122", "Alectinib"))),
        "{overview:?}"
    );
    for l in &lines {
        assert!(
            overview
                .iter()
                .any(|t| *t == format!("{l}: {}", ec50(l, "Alectinib"))),
            "overview lacks {l}: {overview:?}"
        );
    }

    let net = svg_texts(&dir.join("plots/network.svg"));
    for d in &drugs {
        assert!(net.iter().any(|t| t == d), "network lacks {d}");
    }
    assert!(net
        .iter()
        .any(|t| t.starts_with("Top CS cycles (0 in cycles.csv)")));

    let plate = svg_texts(&dir.join("plots/plates/CeritR.svg"));
    assert!(
        plate.iter().any(|t| t.starts_with("plate CeritR: Z′ ")),
        "{plate:?}"
    );
}

#[test]
fn report_numbers_are_the_csv_values() {
    let out = dhawan_run();
    let dir = out.path();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for bad in [
        "src=\"http",
        "href=\"http",
        "<link",
        "<script src",
        "url(",
        "@import",
    ] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    assert_eq!(
        html.matches("<svg").count(),
        files_under(&dir.join("plots")).len()
    );

    let fits = read_csv(&dir.join("fits.csv"));
    let table = html_table(&html, "fits-table");
    assert_eq!(table.len(), fits.len());
    for (row, f) in table.iter().zip(&fits) {
        let expect: Vec<String> = collateral::report::FIT_TABLE_COLUMNS
            .iter()
            .map(|c| f[*c].clone())
            .collect();
        assert_eq!(row, &expect);
    }
    let qc = read_csv(&dir.join("qc.csv"));
    let table = html_table(&html, "qc-table");
    assert_eq!(table.len(), qc.len());
    for (row, q) in table.iter().zip(&qc) {
        let expect: Vec<String> = collateral::report::QC_TABLE_COLUMNS
            .iter()
            .map(|c| q[*c].clone())
            .collect();
        assert_eq!(row, &expect);
    }
    let shifts = read_csv(&dir.join("shifts.csv"));
    let table = html_table(&html, "shifts-table");
    assert_eq!(table.len(), shifts.len());
    for (row, s) in table.iter().zip(&shifts) {
        assert_eq!(row[5], s["log2_fc"]);
        assert_eq!(row[9], s["q_value"]);
        assert_eq!(row[10], s["call"]);
    }
    // Summary tiles and input checksums are run.json's.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let c = &run["counts"];
    for (value, label) in [
        (c["plates"].to_string(), "plates"),
        (c["wells"].to_string(), "wells"),
        (
            format!(
                "{} / {} / {} / {}",
                c["curves"]["ok"],
                c["curves"]["flat"],
                c["curves"]["insufficient_data"],
                c["curves"]["failed"]
            ),
            "curves ok / flat / insufficient data / failed",
        ),
        (
            format!(
                "{} / {} / {} / {}",
                c["shifts"]["collateral_sensitive"],
                c["shifts"]["cross_resistant"],
                c["shifts"]["neutral"],
                c["shifts"]["undetermined"]
            ),
            "shifts CS / CR / neutral / undetermined",
        ),
    ] {
        let tile = format!("<div><b>{value}</b>{label}</div>");
        assert!(html.contains(&tile), "no tile {tile}");
    }
    let inputs = html_table(&html, "inputs-table");
    let recorded: Vec<Vec<String>> = run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            vec![
                i["path"].as_str().unwrap().to_string(),
                i["sha256"].as_str().unwrap().to_string(),
                i["bytes"].to_string(),
            ]
        })
        .collect();
    assert_eq!(inputs, recorded);
    // The warning of the run (no blanks in the Dhawan tables) is shown first, before QC.
    let warning = run["warnings"][0].as_str().unwrap();
    let at = html
        .find(&collateral::report::escape(warning))
        .expect("warning shown");
    assert!(at < html.find("id=\"qc\"").unwrap());
}

#[test]
fn plot_redraws_from_the_files_with_a_selection() {
    let out = dhawan_run();
    let dir = out.path();
    // A cycle added to cycles.csv shows in the network and report: they read the files only.
    let cycles = dir.join("cycles.csv");
    let mut text = std::fs::read_to_string(&cycles).unwrap();
    text.push_str("1,2,Ceritinib -> Lorlatinib -> Ceritinib,-3.5,0.0125\n");
    std::fs::write(&cycles, text).unwrap();
    std::fs::remove_dir_all(dir.join("plots")).unwrap();
    std::fs::remove_file(dir.join("report.html")).unwrap();
    collateral()
        .args([
            "plot",
            "-q",
            "--lines",
            "CeritR,LorlR",
            "--drugs",
            "Ceritinib,Lorlatinib,Alectinib",
        ])
        .arg(dir)
        .assert()
        .success();
    let heat = svg_texts(&dir.join("plots/heatmap.svg"));
    assert!(heat.iter().any(|t| t == "CeritR") && heat.iter().any(|t| t == "LorlR"));
    assert!(!heat.iter().any(|t| t == "AlecR" || t == "Crizotinib"));
    let grids = files_under(&dir.join("plots/dose_response"));
    assert_eq!(grids.len(), 2, "{grids:?}");
    let net = svg_texts(&dir.join("plots/network.svg"));
    assert!(
        net.iter()
            .any(|t| t == "1. Ceritinib -> Lorlatinib -> Ceritinib"),
        "{net:?}"
    );
    assert!(net.iter().any(|t| t.contains("max q 0.0125")), "{net:?}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(
        html_table(&html, "cycles-table"),
        vec![vec![
            "1".to_string(),
            "2".into(),
            "Ceritinib -> Lorlatinib -> Ceritinib".into(),
            "-3.5".into(),
            "0.0125".into()
        ]]
    );

    collateral()
        .args([
            "plot", "-q", "--format", "png", "--width", "300", "--height", "240",
        ])
        .arg(dir)
        .assert()
        .success();
    let png = std::fs::read(dir.join("plots/heatmap.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height are the IHDR's first two big-endian words.
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 300);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 240);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("src=\"data:image/png;base64,iVBORw0KGgo"));
}

#[test]
fn plot_of_a_folder_without_a_run_fails_clearly() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .arg("plot")
        .arg(out.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("run.json"));
    assert!(files_under(out.path()).is_empty());
}

#[test]
fn a_run_without_lines_draws_one_grid_per_cell_line_and_no_map() {
    let out = tempfile::tempdir().unwrap();
    let sim = out.path().join("sim");
    collateral()
        .args([
            "simulate",
            "-q",
            "--lines",
            "2",
            "--drugs",
            "2",
            "--plate-size",
            "96",
            "-o",
        ])
        .arg(&sim)
        .assert()
        .success();
    // The same screen without its lines table.
    let assay = std::fs::read_to_string(sim.join("assay.toml")).unwrap();
    let assay: String = assay
        .lines()
        .filter(|l| !l.trim_start().starts_with("lines"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(sim.join("assay.toml"), assay).unwrap();
    let res = out.path().join("res");
    collateral()
        .args(["run", "-q"])
        .arg(sim.join("assay.toml"))
        .arg("-o")
        .arg(&res)
        .assert()
        .success();
    let fits = read_csv(&res.join("fits.csv"));
    let cell_lines: BTreeSet<&str> = fits.iter().map(|f| f["cell_line"].as_str()).collect();
    assert!(!res.join("plots/heatmap.svg").exists());
    assert!(!res.join("plots/network.svg").exists());
    let grids = files_under(&res.join("plots/dose_response"));
    assert_eq!(grids.len(), cell_lines.len());
    let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in &grids {
        titles.insert(g.display().to_string(), svg_texts(g));
    }
    for l in &cell_lines {
        assert!(
            titles
                .values()
                .any(|t| t.first().map(String::as_str) == Some(l)),
            "{l}"
        );
    }
    let html = std::fs::read_to_string(res.join("report.html")).unwrap();
    assert!(!html.contains("id=\"map\""));
}

#[test]
fn a_run_that_cannot_write_its_figures_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    // A file where the plots folder must go.
    std::fs::write(out.path().join("plots"), "not a folder").unwrap();
    collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "-q", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("plots"));
    assert_eq!(files_under(out.path()), vec![out.path().join("plots")]);
}

#[test]
fn lines_reported_per_replicate_get_one_heatmap_row_per_replicate() {
    let out = tempfile::tempdir().unwrap();
    let sim = out.path().join("sim");
    collateral()
        .args(["simulate", "-q", "--lines", "2", "--drugs", "3", "-o"])
        .arg(&sim)
        .assert()
        .success();
    let mut assay = std::fs::read_to_string(sim.join("assay.toml")).unwrap();
    assay.push_str("\n[shift]\nper_replicate = true\n");
    std::fs::write(sim.join("assay.toml"), assay).unwrap();
    let res = out.path().join("res");
    collateral()
        .args(["run", "-q"])
        .arg(sim.join("assay.toml"))
        .arg("-o")
        .arg(&res)
        .assert()
        .success();
    let matrix = read_csv(&res.join("matrix.csv"));
    let heat = svg_texts(&res.join("plots/heatmap.svg"));
    assert!(matrix.len() > 1);
    for row in &matrix {
        let label = &row["resistant_line"];
        assert!(label.contains(" rep "), "{label}");
        assert!(heat.contains(label), "heatmap lacks row {label}: {heat:?}");
    }
    // The line's grid summarises the replicate calls in each panel title.
    let shifts = read_csv(&res.join("shifts.csv"));
    let line = &shifts[0]["resistant_line"];
    let drug = &shifts[0]["drug"];
    let short = |c: &str| match c {
        "collateral_sensitive" => "CS".to_string(),
        "cross_resistant" => "CR".to_string(),
        "undetermined" => "undet.".to_string(),
        other => other.to_string(),
    };
    let title = format!(
        "{drug}: {}",
        shifts
            .iter()
            .filter(|s| &s["resistant_line"] == line && &s["drug"] == drug)
            .map(|s| format!("rep {} {}", s["replicate"], short(&s["call"])))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let grid = svg_texts(&res.join(format!("plots/dose_response/{line}.svg")));
    assert!(grid.contains(&title), "no title {title}: {grid:?}");
}

#[test]
fn figures_can_be_left_for_later() {
    let out = tempfile::tempdir().unwrap();
    crate::common::collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "--no-figures", "-o"])
        .arg(out.path())
        .current_dir(crate::common::root())
        .assert()
        .success();
    assert!(out.path().join("shifts.csv").exists());
    assert!(!out.path().join("report.html").exists() && !out.path().join("plots").exists());
    crate::common::collateral()
        .arg("plot")
        .arg(out.path())
        .assert()
        .success();
    assert!(
        out.path().join("report.html").exists() && out.path().join("plots/heatmap.svg").exists()
    );
}

#[test]
fn identical_lines_sit_together_and_figures_do_not_depend_on_the_thread_count() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("run");
    collateral()
        .args([
            "run",
            "assays/dhawan2017/assay.toml",
            "-q",
            "--no-figures",
            "-o",
        ])
        .arg(&dir)
        .current_dir(root())
        .assert()
        .success();
    // A second line with exactly CeritR's shifts.
    let path = dir.join("shifts.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    let line = header.iter().position(|h| h == "resistant_line").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&header).unwrap();
    for r in &rows {
        writer.write_record(r).unwrap();
    }
    for r in rows.iter().filter(|r| &r[line] == "CeritR") {
        let copy: Vec<&str> = r
            .iter()
            .enumerate()
            .map(|(i, f)| if i == line { "CeritR-copy" } else { f })
            .collect();
        writer.write_record(copy).unwrap();
    }
    writer.flush().unwrap();

    let mut drawings = Vec::new();
    for threads in ["1", "3"] {
        collateral()
            .args(["--threads", threads, "plot", "-q"])
            .arg(&dir)
            .assert()
            .success();
        let mut files = files_under(&dir.join("plots"));
        files.push(dir.join("report.html"));
        let bytes: Vec<(PathBuf, Vec<u8>)> = files
            .into_iter()
            .map(|f| {
                let b = std::fs::read(&f).unwrap();
                (f, b)
            })
            .collect();
        drawings.push(bytes);
    }
    assert_eq!(drawings[0].len(), drawings[1].len());
    for ((f, a), (_, b)) in drawings[0].iter().zip(&drawings[1]) {
        assert!(a == b, "{} differs between 1 and 3 threads", f.display());
    }

    let shifts = read_csv(&path);
    let lines: BTreeSet<&str> = shifts
        .iter()
        .map(|s| s["resistant_line"].as_str())
        .collect();
    let drugs: BTreeSet<&str> = shifts.iter().map(|s| s["drug"].as_str()).collect();
    let nodes = svg_text_nodes(&dir.join("plots/heatmap.svg"));
    let (rows, _) = heatmap_axes(&nodes, &lines, &drugs);
    let at = |name: &str| rows.iter().position(|r| r.0 == name).unwrap();
    assert_eq!(at("CeritR").abs_diff(at("CeritR-copy")), 1, "{rows:?}");
}

/// Decodes standard base64 (padding allowed).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | (d as u32) << (18 - 6 * i));
        for k in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    out
}

/// Every `href` of an HTML page that leads away from it: not an anchor on the page, not an
/// image embedded as a `data:` URI.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| unescape(&rest[..rest.find('"').unwrap()]))
        .filter(|h| !h.starts_with('#') && !h.starts_with("data:"))
        .collect()
}

#[test]
fn the_report_of_a_large_screen_is_a_summary_that_links_the_rest() {
    // 30 lines × 200 drugs: 6,000 curves, beyond the full report's 2,000.
    let out = tempfile::tempdir().unwrap();
    let sim = out.path().join("sim");
    collateral()
        .args([
            "simulate",
            "-q",
            "--seed",
            "11",
            "--lines",
            "30",
            "--drugs",
            "200",
            "--plate-size",
            "384",
            "-o",
        ])
        .arg(&sim)
        .assert()
        .success();
    let dir = out.path().join("res");
    collateral()
        .args(["run", "-q"])
        .arg(sim.join("assay.toml"))
        .arg("-o")
        .arg(&dir)
        .assert()
        .success();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // The page stays small: overviews and capped tables only (every grid alone is megabytes).
    assert!(
        html.len() < 3_000_000,
        "report.html is {} bytes",
        html.len()
    );
    assert!(html.contains("<p class=\"mode\">A large screen (6000 curves"));

    // Every link is relative and names a file of the folder; every figure file is inlined or
    // linked, and only the overviews are inlined.
    let hrefs: BTreeSet<String> = links(&html).into_iter().collect();
    for h in &hrefs {
        assert!(!h.contains(':') && !h.starts_with('/'), "{h}");
        assert!(dir.join(h).is_file(), "link to a missing file: {h}");
    }
    let plots: Vec<String> = files_under(&dir.join("plots"))
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let inlined: BTreeSet<String> = html
        .split("<figure data-file=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect();
    let top_level: BTreeSet<String> = plots
        .iter()
        .filter(|p| p.matches('/').count() == 1)
        .cloned()
        .collect();
    assert_eq!(
        top_level,
        [
            "plots/heatmap.svg",
            "plots/heatmap_top.svg",
            "plots/network.svg",
            "plots/qc.svg",
            "plots/strongest_cr.svg",
            "plots/strongest_cs.svg"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    assert_eq!(inlined, top_level);
    assert_eq!(html.matches("<svg").count(), inlined.len());
    for p in &plots {
        assert!(hrefs.contains(p), "{p} is neither inlined nor linked");
    }
    for csv in ["qc.csv", "shifts.csv", "fits.csv", "cycles.csv"] {
        assert!(hrefs.contains(csv), "no link to {csv}");
    }

    // QC: the worst units, failed then warned then lowest Z′, each row as in qc.csv.
    let qc = read_csv(&dir.join("qc.csv"));
    let units: Vec<_> = qc.iter().filter(|q| !q["cell_line"].is_empty()).collect();
    let worst = html_table(&html, "qc-worst-table");
    assert_eq!(worst.len(), 50.min(units.len()));
    let rank = |v: &str| match v {
        "fail" => 0,
        "warn" => 1,
        _ => 2,
    };
    let columns = collateral::report::QC_TABLE_COLUMNS;
    let mut last = (0, f64::NEG_INFINITY);
    for row in &worst {
        let q = units
            .iter()
            .find(|q| q["plate"] == row[0] && q["cell_line"] == row[1] && q["replicate"] == row[2])
            .unwrap();
        let expect: Vec<String> = columns.iter().map(|c| q[*c].clone()).collect();
        assert_eq!(&row[..columns.len()], &expect[..]);
        let key = (
            rank(&q["verdict"]),
            q["z_prime"].parse().unwrap_or(f64::NEG_INFINITY),
        );
        assert!(
            key.0 > last.0 || (key.0 == last.0 && key.1 >= last.1),
            "{row:?}"
        );
        last = key;
    }
    // No unit left out is worse than the last one shown.
    let shown: BTreeSet<(String, String, String)> = worst
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    for q in &units {
        if !shown.contains(&(
            q["plate"].clone(),
            q["cell_line"].clone(),
            q["replicate"].clone(),
        )) {
            let key = (
                rank(&q["verdict"]),
                q["z_prime"].parse().unwrap_or(f64::NEG_INFINITY),
            );
            assert!(key.0 > last.0 || (key.0 == last.0 && key.1 >= last.1));
        }
    }

    // Shifts: the 200 strongest calls, each row as in shifts.csv.
    let shifts = read_csv(&dir.join("shifts.csv"));
    let effects: Vec<_> = shifts
        .iter()
        .filter(|s| {
            matches!(
                s["call"].as_str(),
                "collateral_sensitive" | "cross_resistant"
            )
        })
        .collect();
    let table = html_table(&html, "shifts-table");
    assert_eq!(table.len(), 200.min(effects.len()));
    let mut previous = f64::INFINITY;
    let strength = |s: &std::collections::HashMap<String, String>| {
        s["log2_fc"].parse::<f64>().map_or(-1.0, f64::abs)
    };
    for row in &table {
        let s = effects
            .iter()
            .find(|s| s["resistant_line"] == row[0] && s["drug"] == row[2])
            .unwrap();
        let expect: Vec<String> = collateral::report::SHIFT_TABLE_COLUMNS
            .iter()
            .map(|c| s[*c].clone())
            .collect();
        assert_eq!(row, &expect);
        assert!(strength(s) <= previous);
        previous = strength(s);
    }
    let weakest_shown = previous;
    assert!(
        effects
            .iter()
            .filter(|s| strength(s) > weakest_shown)
            .count()
            <= table.len()
    );
    // Fits: the curves that are not ok, in fits.csv order, up to 200.
    let fits = read_csv(&dir.join("fits.csv"));
    let not_ok: Vec<_> = fits.iter().filter(|f| f["status"] != "ok").collect();
    let table = html_table(&html, "fits-table");
    assert_eq!(table.len(), 200.min(not_ok.len()));
    for (row, f) in table.iter().zip(&not_ok) {
        let expect: Vec<String> = collateral::report::FIT_TABLE_COLUMNS
            .iter()
            .map(|c| f[*c].clone())
            .collect();
        assert_eq!(row, &expect);
    }

    // The heatmap is a raster: one block of colour per cell, checked cell by cell against
    // shifts.csv, rows and columns in the clustered order.
    let lines: BTreeSet<&str> = shifts
        .iter()
        .map(|s| s["resistant_line"].as_str())
        .collect();
    let drugs: BTreeSet<&str> = shifts.iter().map(|s| s["drug"].as_str()).collect();
    let (row_order, col_order) = expected_orders(&shifts);
    let svg = std::fs::read_to_string(dir.join("plots/heatmap.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let image = doc
        .descendants()
        .find(|n| n.has_tag_name("image"))
        .expect("the cells as an image");
    let href = image.attribute("href").unwrap();
    let png = base64_decode(href.strip_prefix("data:image/png;base64,").unwrap());
    let pixels = image::load_from_memory(&png).unwrap().to_rgb8();
    let (w, h) = pixels.dimensions();
    assert_eq!(image.attribute("width").unwrap(), w.to_string());
    assert_eq!(w % drugs.len() as u32, 0);
    assert_eq!(h % lines.len() as u32, 0);
    let (cw, ch) = (w / drugs.len() as u32, h / lines.len() as u32);
    let nodes = svg_text_nodes(&dir.join("plots/heatmap.svg"));
    let (rows, cols) = heatmap_axes(&nodes, &lines, &drugs);
    assert!(cols.is_empty(), "a raster has no column labels");
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        row_order
    );
    let limit = shifts
        .iter()
        .filter(|s| s["drug"] != s["selected_with"])
        .filter_map(|s| s["log2_fc"].parse::<f64>().ok())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .ceil()
        .max(1.0);
    for (i, line) in row_order.iter().enumerate() {
        for (j, drug) in col_order.iter().enumerate() {
            let s = shifts
                .iter()
                .find(|s| &s["resistant_line"] == line && &s["drug"] == drug)
                .unwrap();
            let fc = s["log2_fc"].parse::<f64>().unwrap_or(f64::NAN);
            let c = collateral::plot::style::diverging(fc, limit);
            let p = pixels.get_pixel(j as u32 * cw + cw / 2, i as u32 * ch + ch / 2);
            assert_eq!(p.0, [c.0, c.1, c.2], "{line} / {drug}: {fc}");
        }
    }

    // Its labelled view: the 30 drugs with the most calls, every value written, in the
    // overview's order.
    let nodes = svg_text_nodes(&dir.join("plots/heatmap_top.svg"));
    let (rows, cols) = heatmap_axes(&nodes, &lines, &drugs);
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        row_order
    );
    assert_eq!(cols.len(), 30);
    let score = |drug: &str| {
        let cells: Vec<_> = shifts
            .iter()
            .filter(|s| s["drug"] == drug && s["selected_with"] != drug)
            .collect();
        let calls = cells
            .iter()
            .filter(|s| {
                matches!(
                    s["call"].as_str(),
                    "collateral_sensitive" | "cross_resistant"
                )
            })
            .count();
        let values: Vec<f64> = cells
            .iter()
            .filter_map(|s| s["log2_fc"].parse::<f64>().ok())
            .map(|v| v.abs().min(limit))
            .collect();
        let mean = if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        };
        (calls, mean)
    };
    let mut ranked: Vec<&str> = drugs.iter().copied().collect();
    ranked.sort_by(|a, b| {
        let (x, y) = (score(a), score(b));
        y.0.cmp(&x.0).then(y.1.total_cmp(&x.1)).then(a.cmp(b))
    });
    let chosen: BTreeSet<&str> = ranked[..30].iter().copied().collect();
    let expect: Vec<String> = col_order
        .iter()
        .filter(|d| chosen.contains(d.as_str()))
        .cloned()
        .collect();
    assert_eq!(cols.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), expect);
    for (line, y) in &rows {
        for (drug, x) in &cols {
            let s = shifts
                .iter()
                .find(|s| &s["resistant_line"] == line && &s["drug"] == drug)
                .unwrap();
            let at: Vec<&SvgText> = nodes
                .iter()
                .filter(|n| n.anchor == "middle" && n.x == *x && n.y == *y)
                .collect();
            assert_eq!(at.len(), 1);
            assert_eq!(at[0].text, cell_label(s, 0.05), "{line} / {drug}");
        }
    }

    // The network keeps the strongest edges and says how many there are.
    let network: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("network.json")).unwrap()).unwrap();
    let edges = network["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["source"] != e["target"]
                && matches!(
                    e["call"].as_str(),
                    Some("collateral_sensitive" | "cross_resistant")
                )
        })
        .count();
    let net = svg_texts(&dir.join("plots/network.svg"));
    let title = net
        .iter()
        .find(|t| t.starts_with("Collateral-sensitivity network: strongest "))
        .expect("a title saying the edges are a subset");
    assert!(title.ends_with(&format!(" of {edges} edges")), "{title}");
    let on_circle = net.iter().filter(|t| drugs.contains(t.as_str())).count();
    assert!((2..=40).contains(&on_circle), "{on_circle} drugs drawn");

    // The highlights open with the most negative collateral sensitivity.
    let cs: Vec<_> = shifts
        .iter()
        .filter(|s| s["call"] == "collateral_sensitive" && s["drug"] != s["selected_with"])
        .collect();
    let strongest = cs
        .iter()
        .min_by(|a, b| {
            let v = |s: &std::collections::HashMap<String, String>| {
                s["log2_fc"].parse::<f64>().unwrap()
            };
            v(a).total_cmp(&v(b))
        })
        .unwrap();
    let texts = svg_texts(&dir.join("plots/strongest_cs.svg"));
    assert!(texts.contains(&format!(
        "Strongest collateral sensitivity: {} of {} CS shifts",
        12.min(cs.len()),
        cs.len()
    )));
    let first = texts
        .iter()
        .find(|t| t.contains(" · "))
        .expect("a panel title");
    assert!(
        first.starts_with(&format!(
            "{} · {}: log2 FC ",
            strongest["resistant_line"], strongest["drug"]
        )),
        "{first}"
    );
}
