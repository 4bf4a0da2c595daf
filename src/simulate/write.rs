//! Writing a simulated screen: the inputs a run reads (wells, lines, assay) and the truth
//! tables to check it against.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{growth, SimulatedScreen};
use crate::error::{Error, Result};
use crate::text::{format_number, opt};

/// A folder being written, and the files written to it so far.
struct Files<'a> {
    dir: &'a Path,
    written: Vec<PathBuf>,
}

impl Files<'_> {
    /// Writes one file through a buffer; an error names the file.
    fn file(
        &mut self,
        name: &str,
        f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path).map_err(|e| Error::io(&path, "creating", e))?,
        );
        f(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io(&path, "writing", e))?;
        self.written.push(path);
        Ok(())
    }
}

impl SimulatedScreen {
    /// Writes `wells.csv`, `lines.csv`, `assay.toml`, `truth_curves.csv`, `truth_plates.csv`
    /// and `truth_wells.csv` into `dir`, with lineages `truth_courses.csv` and
    /// `truth_likelihood.csv`, and for growing cells `truth_growth.csv` (and a `time` column in
    /// the wells, `doubling_time_h` in the lines).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating", e))?;
        let mut files = Files {
            dir,
            written: Vec::new(),
        };
        files.file("wells.csv", &|w| self.write_wells(w))?;
        files.file("lines.csv", &|w| self.write_lines(w))?;
        files.file("assay.toml", &|w| self.write_assay(w))?;
        files.file("truth_curves.csv", &|w| self.write_truth_curves(w))?;
        files.file("truth_plates.csv", &|w| self.write_truth_plates(w))?;
        files.file("truth_wells.csv", &|w| self.write_truth_wells(w))?;
        if self.growing() {
            files.file("truth_growth.csv", &|w| {
                growth::write_truth(w, &self.growth)
            })?;
        }
        if self.timed() {
            files.file("truth_courses.csv", &|w| self.write_truth_courses(w))?;
            files.file("truth_likelihood.csv", &|w| self.write_truth_likelihood(w))?;
        }
        Ok(files.written)
    }

    /// Screens of growing cells read wells in time: a `time` column, and doubling times.
    fn growing(&self) -> bool {
        self.settings.doubling_time.is_some()
    }

    /// Screens with lineages sample lines in evolution time.
    fn timed(&self) -> bool {
        self.settings.lineages > 0
    }

    fn write_wells(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let growing = self.growing();
        let mut out = csv::Writer::from_writer(w);
        let mut header = crate::wells::COLUMNS.to_vec();
        header.push("replicate");
        if growing {
            header.push("time");
        }
        out.write_record(&header)?;
        for x in &self.wells {
            let mut row = vec![
                x.plate.clone(),
                x.position.to_string(),
                x.cell_line.clone(),
                x.drug.clone(),
                opt(x.concentration),
                x.role.as_str().to_string(),
                x.signal.clone(),
                x.replicate.to_string(),
            ];
            if growing {
                row.push(opt(x.time));
            }
            out.write_record(&row)?;
        }
        out.flush()
    }

    fn write_lines(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let (growing, timed) = (self.growing(), self.timed());
        let mut out = csv::Writer::from_writer(w);
        let mut header = vec!["cell_line", "parental_line", "selected_with"];
        if timed {
            header.extend(["lineage", "evolution_time"]);
        }
        if growing {
            header.push("doubling_time_h");
        }
        out.write_record(&header)?;
        for l in &self.lines {
            let mut row = vec![
                l.name.clone(),
                l.parental_line.clone(),
                l.selected_with.clone(),
            ];
            if timed {
                let (lineage, time) = l
                    .sampled
                    .as_ref()
                    .map_or((String::new(), String::new()), |(l, t)| {
                        (l.clone(), t.to_string())
                    });
                row.extend([lineage, time]);
            }
            if let Some(g) = self.growth.iter().find(|g| g.cell_line == l.name) {
                row.push(format_number(g.doubling_time_h));
            }
            out.write_record(&row)?;
        }
        out.flush()
    }

    fn write_assay(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let s = &self.settings;
        writeln!(
            w,
            "# Simulated by `collateral simulate` (seed {}); truth in truth_*.csv.",
            s.seed
        )?;
        writeln!(w, "name = \"simulated screen (seed {})\"", s.seed)?;
        writeln!(w, "concentration_unit = \"uM\"")?;
        if self.timed() {
            writeln!(w, "evolution_time_unit = \"day\"")?;
        }
        writeln!(
            w,
            "wells = \"wells.csv\"\nlines = \"lines.csv\"\nplate_size = {}",
            s.plate_size
        )
    }

    fn write_truth_curves(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "cell_line",
            "drug",
            "kind",
            "top",
            "bottom",
            "ec50",
            "hill",
            "abs_ic50",
            "parental_line",
            "true_log2_fc",
        ])?;
        for c in &self.curves {
            out.write_record([
                c.cell_line.as_str(),
                &c.drug,
                c.kind,
                &c.top.to_string(),
                &c.bottom.to_string(),
                &c.ec50.to_string(),
                &c.hill.to_string(),
                &opt(c.abs_ic50),
                &c.parental_line,
                &opt(c.true_log2_fc),
            ])?;
        }
        out.flush()
    }

    fn write_truth_plates(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "plate",
            "cell_line",
            "replicate",
            "gain",
            "background",
            "noise_sd",
        ])?;
        for p in &self.plates {
            out.write_record([
                p.plate.as_str(),
                &p.cell_line,
                &p.replicate.to_string(),
                &p.gain.to_string(),
                &p.background.to_string(),
                &p.noise_sd.to_string(),
            ])?;
        }
        out.flush()
    }

    fn write_truth_wells(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let growing = self.growing();
        let mut out = csv::Writer::from_writer(w);
        let mut header = vec!["plate", "well", "true_viability", "outlier"];
        if growing {
            header.push("time");
        }
        out.write_record(&header)?;
        for x in &self.wells {
            let mut row = vec![
                x.plate.clone(),
                x.position.to_string(),
                opt(x.true_viability),
                x.outlier.to_string(),
            ];
            if growing {
                row.push(opt(x.time));
            }
            out.write_record(&row)?;
        }
        out.flush()
    }

    fn write_truth_courses(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "lineage",
            "selected_with",
            "drug",
            "course",
            "cross_resistant",
            "cs_probability",
        ])?;
        for c in &self.courses {
            out.write_record([
                c.lineage.as_str(),
                &c.selected_with,
                &c.drug,
                c.course,
                &c.cross_resistant.to_string(),
                &format_number(c.cs_probability),
            ])?;
        }
        out.flush()
    }

    fn write_truth_likelihood(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "selected_with",
            "drug",
            "evolution_time",
            "cs_probability",
            "cr_probability",
        ])?;
        for l in &self.likelihoods {
            out.write_record([
                l.selected_with.as_str(),
                &l.drug,
                &format_number(l.evolution_time),
                &format_number(l.cs_probability),
                &format_number(l.cr_probability),
            ])?;
        }
        out.flush()
    }
}
