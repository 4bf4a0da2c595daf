//! CurveCurator's reference fits (CTRP 40 µM subset): our ec50 against their pEC50 on the curves
//! both tools call fitted (theirs: regulated `down`/`up`; ours: status `ok`).

use collateral::fit::{fit_curve, DosePoint, FitConfig, FitStatus};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/curvecurator/ctrp40_curves_subset.tsv"
);
/// Doses of `Raw 0 … Raw 16` in µM (`parameters_40.0.toml`); `Raw 0` is the DMSO control.
const DOSES_UM: [f64; 17] = [
    0.0, 0.0012, 0.0024, 0.0049, 0.0097, 0.019, 0.039, 0.078, 0.16, 0.31, 0.62, 1.2, 2.5, 5.0,
    10.0, 20.0, 40.0,
];

#[test]
fn ec50_agrees_with_curvecurator_pec50() {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(FILE)
        .unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (pec50, regulation) = (col("pEC50"), col("Curve Regulation"));
    let raw0 = col("Raw 0");
    let config = FitConfig::default();
    let (mut both, mut theirs_only, mut ours_only) = (0, 0, 0);
    let mut diffs = Vec::new();
    for row in r.records() {
        let row = row.unwrap();
        let points: Vec<DosePoint> = (1..17)
            .map(|k| DosePoint {
                concentration: DOSES_UM[k],
                response: row[raw0 + k].parse().unwrap_or(f64::NAN),
            })
            .collect();
        let fit = fit_curve(&points, &config);
        let theirs_fitted = matches!(&row[regulation], "down" | "up");
        let ours_fitted = fit.status == FitStatus::Ok;
        match (theirs_fitted, ours_fitted) {
            (true, true) => {
                both += 1;
                let their_log10_ec50_um = 6.0 - row[pec50].parse::<f64>().unwrap();
                diffs.push((fit.ec50.log10() - their_log10_ec50_um).abs());
            }
            (true, false) => theirs_only += 1,
            (false, true) => ours_only += 1,
            _ => {}
        }
    }
    let med = super::median(diffs.clone());
    let within = |d: f64| diffs.iter().filter(|&&x| x <= d).count() as f64 / diffs.len() as f64;
    eprintln!(
        "curvecurator: both fitted {both}, theirs only {theirs_only}, ours only {ours_only}; \
         median |Δlog10 ec50| {med:.4}, within 0.1 decade {:.3}, within 0.3 {:.3}",
        within(0.1),
        within(0.3)
    );
    assert!(both > 450, "{both}");
    assert!(med < 0.02, "median |Δlog10 ec50| {med}");
    assert!(within(0.1) > 0.85, "{}", within(0.1));
    assert!(within(0.3) > 0.98, "{}", within(0.3));
}
