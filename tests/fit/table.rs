//! Reading the `collateral fit` input table and writing `fits.csv`.

use std::path::Path;

use collateral::fit::table::parse_fit_input;
use collateral::fit::{fit_curves, write_fits, FitConfig, FITS_COLUMNS};
use collateral::text::format_number;

#[test]
fn curves_are_grouped_in_order_with_replicates_pooled() {
    let text = "cell_line\tdrug\tconcentration\tresponse\treplicate\textra\n\
                A\tx\t0.1\t0.9\t1\tfoo\n\
                B\tx\t0.1\t0.8\t1\t\n\
                A\tx\t0.1\t0.95\t2\t\n\
                A\ty\t1\tNA\t1\t\n";
    let curves = parse_fit_input(text, Path::new("in.tsv")).unwrap();
    let names: Vec<(&str, &str, usize)> = curves
        .iter()
        .map(|c| (c.cell_line.as_str(), c.drug.as_str(), c.points.len()))
        .collect();
    assert_eq!(names, [("A", "x", 2), ("B", "x", 1), ("A", "y", 1)]);
    assert!(curves[2].points[0].response.is_nan());
}

#[test]
fn errors_name_file_and_line() {
    let e = parse_fit_input(
        "cell_line,drug,conc,response\nA,x,1,2\n",
        Path::new("in.csv"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("in.csv:1: missing column `concentration`"),
        "{e}"
    );
    let text = "cell_line,drug,concentration,response\nA,x,1,0.5\nA,x,abc,0.5\n,x,1,0.2\n";
    let e = parse_fit_input(text, Path::new("in.csv")).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("in.csv:3: `concentration` is not a number: `abc`"),
        "{s}"
    );
    assert!(s.contains("in.csv:4: empty `cell_line`"), "{s}");
}

#[test]
fn fits_csv_has_the_contract_columns_first_and_round_trips_numbers() {
    assert_eq!(
        FITS_COLUMNS[..17],
        [
            "cell_line",
            "drug",
            "n_points",
            "top",
            "bottom",
            "ec50",
            "hill",
            "ic50",
            "ic50_qualifier",
            "ic50_ci_low",
            "ic50_ci_high",
            "auc",
            "aac",
            "r2",
            "rmse",
            "status",
            "message"
        ]
    );
    let text = "cell_line,drug,concentration,response\n".to_string()
        + &(0..9)
            .map(|k| {
                let c = 10f64.powi(k - 6);
                format!("L,d,{c},{}\n", 0.1 + 0.9 / (1.0 + c / 0.01))
            })
            .collect::<String>();
    let curves = parse_fit_input(&text, Path::new("t.csv")).unwrap();
    let fits = fit_curves(
        &curves,
        &FitConfig::default(),
        &collateral::progress::Silent,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fits.csv");
    write_fits(&out, &fits).unwrap();
    let mut r = csv::Reader::from_path(&out).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        FITS_COLUMNS
    );
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(&row[15], "ok");
    assert_eq!(row[5].parse::<f64>().unwrap(), fits[0].ec50);
    assert_eq!(format_number(f64::NAN), "");
    assert_eq!(format_number(1.5e-7), "1.5e-7");
    assert_eq!(format_number(0.25), "0.25");
}
