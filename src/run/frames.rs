//! A run's tables as typed columns ([`crate::frame`]), for the faces that hand them on without
//! writing a folder (`collateral.run` in Python returns them as DataFrames).

use super::Results;
use crate::fit::CurveFit;
use crate::frame::{fits_frame, mics_frame, qc_frame, shifts_frame, Frame};

impl Results {
    /// The tables this run holds as typed columns, each by the name of the file it equals value
    /// for value when read back: `qc.csv`; `fits.csv` (not with growth data, whose `fits.csv`
    /// has growth columns no frame builds yet); `shifts.csv` with a lines table; `mics.csv`
    /// with metric mic. The other tables (`wells.csv` among them) have no frame yet.
    pub fn frames(&self) -> Vec<(String, Frame)> {
        let mut frames = vec![(
            "qc.csv".to_string(),
            qc_frame(self.qc(), &self.screen.skipped),
        )];
        if self.fits.growth.is_none() {
            let pooled: Vec<CurveFit> = self.fits().into_iter().cloned().collect();
            frames.push(("fits.csv".into(), fits_frame(&pooled)));
        }
        if let Some(mics) = self.mics() {
            frames.push(("mics.csv".into(), mics_frame(mics)));
        }
        if self.comparison.is_some() {
            let settings = &self.screen.settings.shift;
            frames.push(("shifts.csv".into(), shifts_frame(self.shifts(), settings)));
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::error::{Location, Problem};
    use crate::frame::assert_reads_back;
    use crate::progress::Silent;
    use crate::read::inputs::SkippedPlate;
    use crate::run::{RunOptions, Screen};

    /// Every frame of a bundled assay's run (with a plate left out, so `qc.csv` has a skipped
    /// plate's row) equals the file the run writes, read back.
    #[test]
    fn frames_equal_the_written_tables_read_back() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (assay, tables) in [
            (
                "assays/dhawan2017/assay.toml",
                &["qc.csv", "fits.csv", "shifts.csv"][..],
            ),
            // No lines table: no shifts.
            (
                "assays/iwasawa2022-plates/assay.toml",
                &["qc.csv", "fits.csv"][..],
            ),
        ] {
            let mut results = Screen::read(&root.join(assay), false)
                .unwrap()
                .run(&Silent)
                .unwrap();
            results.screen.skipped.push(SkippedPlate {
                plate: "P, \"gone\"".into(),
                file: PathBuf::from("gone.csv"),
                problems: vec![Problem {
                    location: Location::file(Path::new("gone.csv")).at_line(3),
                    message: "unreadable".into(),
                }],
            });
            let out = tempfile::tempdir().unwrap();
            let options = RunOptions {
                figures: false,
                ..Default::default()
            };
            results.write(out.path(), &options).unwrap();
            let frames = results.frames();
            let names: Vec<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, tables, "{assay}");
            for (name, frame) in &frames {
                let bytes = std::fs::read(out.path().join(name)).unwrap();
                assert_reads_back(name, frame, &bytes);
            }
        }
    }
}
