//! A run's tables as typed columns ([`crate::frame`]), for the faces that hand them on without
//! writing a folder (`collateral.run` in Python returns them as DataFrames).

use super::write::{well_columns, FitTables};
use super::{Comparison, Results};
use crate::frame::matrix_frame;
use crate::frame::{
    fits_frame, frame_of, frame_of_rows, mics_frame, qc_frame, shifts_frame, wells_frame, Frame,
};
use crate::growth::columns::growth_fit_rows;
use crate::output::run_json::RunJson;
use crate::output::tables::{call_matrix, log2_fc_matrix, Trajectory};

impl Results {
    /// Every table this run writes as typed columns, each by the name of the file it equals
    /// value for value when read back, in the order the run writes them: `wells.csv`,
    /// `qc.csv`, `dip_rates.csv` (wells read in time), `fits.csv` (with the growth columns
    /// with growth data), `fits_by_replicate.csv` (curves per replicate), `fits_by_batch.csv`
    /// (wells that name batches), `mics.csv` (metric mic), and with a lines table
    /// `shifts.csv`, `matrix.csv`, `calls.csv`, `likelihood.csv`, `trajectories.csv` and
    /// `stability.csv` (evolution times), `cycles.csv`, `plan.csv` and `policy.csv` (`[plan]`;
    /// `policy.csv` with evolution times).
    pub fn frames(&self) -> Vec<(String, Frame)> {
        let (outcomes, gr) = well_columns(&self.screen, &self.wells);
        let wells = wells_frame(&self.screen.wells, &outcomes, gr.as_deref());
        let mut frames = vec![("wells.csv".to_string(), wells)];
        frames.push((
            "qc.csv".to_string(),
            qc_frame(self.qc(), &self.screen.skipped),
        ));
        if !self.wells.dip_rates.is_empty() {
            frames.push(("dip_rates.csv".into(), frame_of(&self.wells.dip_rates)));
        }
        frames.extend(self.fit_frames());
        if let Some(c) = &self.comparison {
            let settings = &self.screen.settings.shift;
            frames.push(("shifts.csv".into(), shifts_frame(self.shifts(), settings)));
            frames.extend(comparison_frames(c));
        }
        frames
    }

    /// `run.json` of the run as held in memory (what [`Results::write`] writes but for the
    /// folder's manifest, its start time and the writing's timing), for the faces that show it
    /// without a folder.
    pub fn run_record(&self) -> crate::Result<RunJson> {
        self.run_json(&self.report(std::path::Path::new("")), &self.timings)
    }

    /// `network.json` of the run's comparison (the bytes [`Results::write`] writes); `None`
    /// without a lines table.
    pub fn network_json(&self) -> Option<Vec<u8>> {
        let c = self.comparison.as_ref()?;
        let mut bytes = Vec::new();
        crate::network::write_json(&mut bytes, &c.edges).expect("writing to memory");
        Some(bytes)
    }

    /// The frames of the fit tables: `fits.csv` (with the growth columns when the run has
    /// growth data), `fits_by_replicate.csv`, `fits_by_batch.csv`, `mics.csv`.
    fn fit_frames(&self) -> Vec<(String, Frame)> {
        let t = FitTables::of(&self.curves, &self.fits);
        let mut frames = Vec::new();
        match (&t.pooled_growth, &t.by_replicate_growth) {
            (Some(growth), Some(by_replicate_growth)) => {
                let (header, rows) = growth_fit_rows(&t.pooled, growth, None);
                let frame = frame_of_rows("fits.csv", &header, rows.len(), rows);
                frames.push(("fits.csv".into(), frame));
                if t.replicate_curves {
                    let (fits, labels) = t.replicate_labels();
                    let (header, rows) = growth_fit_rows(&fits, by_replicate_growth, Some(&labels));
                    let file = "fits_by_replicate.csv";
                    frames.push((file.into(), frame_of_rows(file, &header, rows.len(), rows)));
                }
            }
            _ => {
                frames.push(("fits.csv".into(), fits_frame(&t.pooled)));
                if t.replicate_curves {
                    frames.push(("fits_by_replicate.csv".into(), frame_of(&t.by_replicate)));
                }
            }
        }
        if let Some(rows) = &t.by_batch {
            frames.push(("fits_by_batch.csv".into(), frame_of(rows)));
        }
        if let Some(mics) = self.mics() {
            frames.push(("mics.csv".into(), mics_frame(mics)));
        }
        frames
    }
}

/// The frames of the tables a comparison yields after `shifts.csv`.
fn comparison_frames(c: &Comparison) -> Vec<(String, Frame)> {
    let mut frames = vec![
        (
            "matrix.csv".to_string(),
            matrix_frame(&log2_fc_matrix(&c.shifts)),
        ),
        (
            "calls.csv".to_string(),
            matrix_frame(&call_matrix(&c.shifts)),
        ),
        ("likelihood.csv".to_string(), frame_of(&c.likelihood)),
    ];
    if let (Some(points), Some(stability)) = (c.trajectory_points(), &c.stability) {
        let rows: Vec<Trajectory> = points.iter().map(Trajectory::from).collect();
        frames.push(("trajectories.csv".into(), frame_of(&rows)));
        frames.push(("stability.csv".into(), frame_of(stability)));
    }
    frames.push(("cycles.csv".into(), frame_of(&c.cycles)));
    if let Some(plan) = &c.plan {
        frames.push(("plan.csv".into(), frame_of(&plan.plan.sequences)));
        if let Some(policy) = &plan.policy {
            frames.push(("policy.csv".into(), frame_of(policy)));
        }
    }
    frames
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use crate::checked::Check;
    use crate::error::{Location, Problem};
    use crate::frame::assert_reads_back;
    use crate::frame::read_typed;
    use crate::output::record::tests::assert_located_errors;
    use crate::plan::PlanSettings;
    use crate::progress::Silent;
    use crate::read::inputs::SkippedPlate;
    use crate::run::{RunOptions, Screen};

    /// Per typed table: the column taken out, and a column with the cell put into its first row
    /// (neither of which its type accepts).
    const BROKEN: [(&str, &str, &str, &str); 15] = [
        ("qc.csv", "verdict", "z_prime", "high"),
        ("wells.csv", "role", "viability", "most"),
        ("fits.csv", "ic50", "status", "fine"),
        ("fits_by_replicate.csv", "replicate", "n_points", "1.5"),
        ("dip_rates.csv", "dip_rate", "excluded", "yes"),
        ("likelihood.csv", "n_cs", "n_cr", "-1"),
        ("trajectories.csv", "call", "log2_fc_qualifier", "~"),
        ("stability.csv", "course", "course", "sometimes"),
        ("cycles.csv", "cycle", "sum_log2_fc", "x"),
        ("plan.csv", "scorable", "scorable", "yes"),
        ("policy.csv", "support", "time", "soon"),
        ("shifts.csv", "call", "metric", "potency"),
        ("mics.csv", "mic_qualifier", "n_concentrations", "1.5"),
        ("matrix.csv", "resistant_line", "", "strong"),
        ("calls.csv", "resistant_line", "", "maybe"),
    ];

    /// Writes `results` and checks every table: its frame equals the file read back; the
    /// file read through its type gives the same frame and, written again, the same bytes;
    /// a missing column and a malformed cell are located errors. Every `.csv` the run wrote
    /// has a frame but those listed in `no_frame`.
    fn check_tables(assay: &str, results: &crate::run::Results, no_frame: &[&str]) {
        let out = tempfile::tempdir().unwrap();
        let options = RunOptions {
            figures: false,
            format: Some(crate::outdir::TableFormat::Both),
            ..Default::default()
        };
        results.write(out.path(), &options).unwrap();
        let frames = results.frames();
        let framed: BTreeSet<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
        let written: BTreeSet<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".csv") && !no_frame.contains(&n.as_str()))
            .collect();
        let written: BTreeSet<&str> = written.iter().map(String::as_str).collect();
        assert_eq!(framed, written, "{assay}: tables with frames");
        for (name, frame) in &frames {
            let path = out.path().join(name);
            let bytes = std::fs::read(&path).unwrap();
            assert_reads_back(name, frame, &bytes);
            // The Parquet twin (`wells.parquet` from the wells themselves, the others from the
            // CSV text) holds the same values.
            let parquet = out.path().join(crate::outdir::parquet_name(name));
            let back = crate::frame::parquet::read_frame(&parquet).unwrap();
            crate::frame::parquet::assert_same_frame(name, frame, &back);
            let typed = read_typed(&path)
                .unwrap()
                .unwrap_or_else(|| panic!("{assay} {name}: reads through its row type"));
            assert_eq!(
                String::from_utf8(typed.bytes).unwrap(),
                String::from_utf8(bytes.clone()).unwrap(),
                "{assay} {name}: read through its type and written again"
            );
            assert_reads_back(name, &typed.frame, &bytes);
            let (_, missing, column, bad) = BROKEN.iter().find(|b| b.0 == name).unwrap();
            let header = bytes.split(|&b| b == b'\n').next().unwrap();
            let first_drug = String::from_utf8_lossy(header)
                .split(',')
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let column: &str = if column.is_empty() {
                &first_drug
            } else {
                column
            };
            if bytes.iter().filter(|&&b| b == b'\n').count() > 1 {
                assert_located_errors(&path, &bytes, missing, column, bad, |p| {
                    read_typed(p).map(|_| ())
                });
            }
        }
    }

    /// Every table of every bundled assay's run (with a plate left out, so `qc.csv` has a
    /// skipped plate's row, and with `[plan]`, so `plan.csv` and, with evolution times,
    /// `policy.csv` are written) equals its frame and reads back through its type.
    #[test]
    fn frames_equal_the_written_tables_read_back() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for assay in [
            "assays/dhawan2017/assay.toml",
            "assays/iwasawa2022/assay.toml",
            "assays/iwasawa2022-plates/assay.toml",
            "assays/iwasawa2022-timeseries/assay.toml",
            "assays/maltas-wood-temporal/assay.toml",
        ] {
            let mut screen = Screen::read(&root.join(assay), false).unwrap();
            // Plans of the two smaller screens with lines: one without and one with evolution
            // times (`policy.csv`).
            if assay.contains("dhawan") || assay.contains("maltas") {
                let plan = PlanSettings {
                    length: 2,
                    bootstrap: 100,
                    ..Default::default()
                };
                screen.settings.plan = Some(plan.check().unwrap());
            }
            let mut results = screen.run(&Silent).unwrap();
            results.screen.skipped.push(SkippedPlate {
                plate: "P, \"gone\"".into(),
                file: PathBuf::from("gone.csv"),
                problems: vec![Problem {
                    location: Location::file(Path::new("gone.csv")).at_line(3),
                    message: "unreadable".into(),
                }],
            });
            check_tables(assay, &results, &[]);
        }
    }
}
