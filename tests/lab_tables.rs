//! Tables as labs save them (issue 19): the same simulated screen read from `wells.csv`, from
//! `wells.xlsx`, from a `;`-separated table with decimal commas, and with concentrations
//! written in nM beside their unit while the assay declares µM gives the same `shifts.csv`;
//! what cannot be read that way is a located error.

use std::path::{Path, PathBuf};

use crate::common::collateral;

/// Columns whose cells are names, never numbers (a plate named `7` stays text).
const TEXT_COLUMNS: [&str; 5] = ["plate", "well", "cell_line", "drug", "role"];

/// A small simulated screen in `dir`: its header and rows, split on commas.
fn simulated(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    collateral()
        .args([
            "simulate", "-q", "--seed", "5", "--lines", "3", "--drugs", "3", "-o",
        ])
        .arg(dir)
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.join("wells.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// The assay of `dir` with its wells table at `wells` and `extra` lines at the end.
fn assay_with(dir: &Path, wells: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir.join("assay.toml")).unwrap();
    let text = text.replace("wells = \"wells.csv\"", &format!("wells = \"{wells}\""));
    assert!(text.contains(wells), "{text}");
    let path = dir.join(format!("assay-{}.toml", wells.replace('.', "-")));
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    path
}

/// `shifts.csv` of a run of `assay` (which must succeed).
fn shifts_of(assay: &Path, out: &Path) -> Vec<u8> {
    collateral()
        .arg("run")
        .arg(assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(out)
        .assert()
        .success();
    std::fs::read(out.join("shifts.csv")).unwrap()
}

/// `text` (a decimal number) times 1000, written in decimal: the point moved three places.
fn thousand_times(text: &str) -> String {
    if let Some((m, e)) = text.split_once(['e', 'E']) {
        return format!("{m}e{}", e.parse::<i32>().unwrap() + 3);
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<3}");
    let digits = format!("{int}{}", &frac[..3]);
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    match &frac[3..] {
        "" => digits.to_string(),
        rest => format!("{digits}.{rest}"),
    }
}

fn write_xlsx(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Screen").unwrap();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, col) = (r as u32 + 1, c as u16);
            match cell.parse::<f64>() {
                Ok(v) if !TEXT_COLUMNS.contains(&header[c].as_str()) => {
                    sheet.write_number(r, col, v).unwrap();
                }
                _ if cell.is_empty() => {}
                _ => {
                    sheet.write_string(r, col, cell).unwrap();
                }
            }
        }
    }
    book.save(path).unwrap();
}

#[test]
fn a_screen_saved_as_labs_save_it_gives_the_same_shifts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (header, rows) = simulated(d);
    let want = shifts_of(&d.join("assay.toml"), &d.join("out-csv"));
    assert!(want.len() > 200, "{}", String::from_utf8_lossy(&want));
    let conc = header.iter().position(|h| h == "concentration").unwrap();

    // Saved from Excel as a workbook; the sheet named, as a lab with several would.
    write_xlsx(&d.join("wells.xlsx"), &header, &rows);
    let xlsx = assay_with(d, "wells.xlsx", "\n[tables]\nsheet = \"Screen\"\n");
    assert_eq!(shifts_of(&xlsx, &d.join("out-xlsx")), want, "xlsx");

    // Saved by Excel in a locale with decimal commas: `;` between fields, `3,333`.
    let mut text = header.join(";") + "\r\n";
    for row in &rows {
        let cells: Vec<String> = row.iter().map(|c| c.replacen('.', ",", 1)).collect();
        text += &(cells.join(";") + "\r\n");
    }
    assert!(
        text.contains(",5") || text.contains(",0"),
        "no decimal comma written"
    );
    std::fs::write(d.join("wells-comma.csv"), text).unwrap();
    let comma = assay_with(d, "wells-comma.csv", "");
    assert_eq!(
        shifts_of(&comma, &d.join("out-comma")),
        want,
        "decimal commas"
    );

    // Concentrations written in nM with their unit; the assay declares µM.
    let mut text = header.join(",") + "\n";
    let mut suffixed = 0;
    for row in &rows {
        let mut row = row.clone();
        if !row[conc].is_empty() {
            row[conc] = format!("{} nM", thousand_times(&row[conc]));
            suffixed += 1;
        }
        text += &(row.join(",") + "\n");
    }
    assert!(suffixed > 100, "{suffixed}");
    std::fs::write(d.join("wells-nM.csv"), text).unwrap();
    let nm = assay_with(d, "wells-nM.csv", "");
    assert_eq!(shifts_of(&nm, &d.join("out-nM")), want, "nM suffixes");
}

#[test]
fn thousand_times_moves_the_point() {
    assert_eq!(
        thousand_times("0.0015241579027587258"),
        "1.5241579027587258"
    );
    assert_eq!(thousand_times("3.7"), "3700");
    assert_eq!(thousand_times("12"), "12000");
    assert_eq!(thousand_times("1.5e-7"), "1.5e-4");
    assert_eq!(thousand_times("0.25"), "250");
}

/// Runs `assay` expecting failure; its stderr.
fn failure(assay: &Path, out: &Path) -> String {
    let o = collateral()
        .arg("run")
        .arg(assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(out)
        .assert()
        .failure()
        .get_output()
        .clone();
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn what_cannot_be_read_so_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (header, rows) = simulated(d);
    let conc = header.iter().position(|h| h == "concentration").unwrap();
    let first_sample = rows.iter().position(|r| !r[conc].is_empty()).unwrap();

    // A `;` table with both decimal marks: ambiguous, named with both lines.
    let mut text = header.join(";") + "\n";
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                if i == 0 {
                    c.clone()
                } else {
                    c.replacen('.', ",", 1)
                }
            })
            .collect();
        text += &(cells.join(";") + "\n");
    }
    std::fs::write(d.join("mixed.csv"), text).unwrap();
    let e = failure(&assay_with(d, "mixed.csv", ""), &d.join("o1"));
    assert!(
        e.contains("mixed.csv") && e.contains("both with a decimal comma") && e.contains("line"),
        "{e}"
    );
    assert!(e.contains("[tables] decimal"), "{e}");

    // A mass unit where the assay is molar: named with its line and well.
    let mut text = header.join(",") + "\n";
    for (i, row) in rows.iter().enumerate() {
        let mut row = row.clone();
        if i == first_sample {
            row[conc] = format!("{} ug/mL", row[conc]);
        }
        text += &(row.join(",") + "\n");
    }
    std::fs::write(d.join("mass.csv"), text).unwrap();
    let e = failure(&assay_with(d, "mass.csv", ""), &d.join("o2"));
    let at = format!("mass.csv:{}:", first_sample + 2);
    assert!(e.contains(&at), "{e}");
    assert!(e.contains("ug/mL") && e.contains("molecular weight"), "{e}");
    assert!(e.contains(&rows[first_sample][1]), "names the well: {e}");

    // A sheet the workbook does not have: the sheets it has are listed.
    write_xlsx(&d.join("wells.xlsx"), &header, &rows);
    let e = failure(
        &assay_with(d, "wells.xlsx", "\n[tables]\nsheet = \"Wells\"\n"),
        &d.join("o3"),
    );
    assert!(
        e.contains("no sheet `Wells`") && e.contains("Screen"),
        "{e}"
    );
}
