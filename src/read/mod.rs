//! Reading what plate readers actually write: plate grids, vendor exports and layouts.
//!
//! A plate file ([`sheet`]) is scanned for reads ([`grid`], [`vendor`]); one read is chosen
//! (`read = "…"`, or the only raw one), combined with a layout ([`layout`]) and becomes wells
//! of the tidy [`crate::wells::WellTable`], so everything downstream is the same as for the
//! tidy form of an assay.

pub mod grid;
pub mod inputs;
pub mod layout;
pub mod sheet;
pub mod vendor;

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Problem, Result};
use crate::plate::PlateFormat;
use crate::wells::Signal;

pub use grid::{GridCell, Read};
pub use inputs::{assay_wells, AssayWells, PlateEntry, WellSources};
pub use vendor::Format;

/// A plate file read into its reads.
#[derive(Debug, Clone)]
pub struct PlateFile {
    /// The file.
    pub path: PathBuf,
    /// The format detected (or forced).
    pub format: Format,
    /// Its sheets (one for text files).
    pub sheets: Vec<sheet::Sheet>,
    /// Every read found, in file order; names are unique (repeats get ` #2`, ` #3` …).
    pub reads: Vec<Read>,
}

impl PlateFile {
    /// Reads a plate file; `format` forces the format instead of detecting it.
    pub fn read(path: &Path, format: Option<Format>) -> Result<PlateFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
        Self::from_bytes(&bytes, path, format)
    }

    /// [`PlateFile::read`] on bytes already read.
    pub fn from_bytes(bytes: &[u8], path: &Path, format: Option<Format>) -> Result<PlateFile> {
        let sheets = sheet::sheets_from_bytes(bytes, path)?;
        let format = format.unwrap_or_else(|| vendor::detect(&sheets));
        let mut reads: Vec<Read> = Vec::new();
        for (i, s) in sheets.iter().enumerate() {
            reads.extend(vendor::reads_of(s, i, format));
        }
        // A block with no number at all is an annotation (EnVision/Kaleido `Platemap`, a
        // SMART Control `Layout`), never a reading.
        for r in &mut reads {
            if !r.layout && r.cells.iter().all(|c| c.text.parse::<f64>().is_err()) {
                r.layout = true;
                r.computed = false;
            }
        }
        // Unique names: EnVision repeats a section per plate, Gen5 per read step.
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for r in &mut reads {
            let n = counts.entry(r.name.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                r.name = format!("{} #{n}", r.name);
            }
        }
        if reads.is_empty() {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "no plate data found (read as {}): expected a grid headed by column numbers 1, 2, … with row letters A, B, … down the side, a table with well names as columns, or a list with a `Well` column",
                    format.name()
                ),
            ));
        }
        Ok(PlateFile {
            path: path.to_path_buf(),
            format,
            sheets,
            reads,
        })
    }

    /// Writes every read of the file as a table: `read, kind, well, signal`, one row per
    /// well with a value, `kind` being `raw`, `computed` (by the reader software) or `layout`
    /// (an annotation block), `signal` the text as written. What a file holds, before a layout
    /// says what its wells are.
    pub fn write_reads(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["read", "kind", "well", "signal"])?;
        for r in &self.reads {
            let kind = if r.layout {
                "layout"
            } else if r.computed {
                "computed"
            } else {
                "raw"
            };
            for c in &r.cells {
                out.write_record([r.name.as_str(), kind, &c.pos.to_string(), &c.text])?;
            }
        }
        out.flush()
    }

    /// Reads that are raw readings (not vendor-computed, not embedded layouts).
    pub(crate) fn raw_reads(&self) -> impl Iterator<Item = &Read> {
        self.reads.iter().filter(|r| !r.computed && !r.layout)
    }

    /// Chooses a read: by name (exact, case-insensitive, or a unique part of a name), or the
    /// only raw read when `wanted` is `None`.
    pub fn choose(&self, wanted: Option<&str>) -> Result<&Read> {
        let r = self.choose_any(wanted)?;
        if r.layout {
            return Err(Error::input(
                Location::file(&self.path),
                format!(
                    "`{}` is a layout embedded in the file (no numbers), not a reading; choose a read",
                    r.name
                ),
            ));
        }
        Ok(r)
    }

    fn choose_any(&self, wanted: Option<&str>) -> Result<&Read> {
        let list = |it: &mut dyn Iterator<Item = &Read>| {
            it.map(|r| {
                let tag = if r.layout {
                    " (layout)"
                } else if r.computed {
                    " (computed by the reader software)"
                } else {
                    ""
                };
                format!("`{}`{tag}", r.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
        };
        let loc = Location::file(&self.path);
        match wanted {
            Some(w) => {
                let wl = w.trim().to_lowercase();
                if let Some(r) = self.reads.iter().find(|r| r.name.to_lowercase() == wl) {
                    return Ok(r);
                }
                let part: Vec<&Read> = self
                    .reads
                    .iter()
                    .filter(|r| r.name.to_lowercase().contains(&wl))
                    .collect();
                match part.len() {
                    1 => Ok(part[0]),
                    0 => Err(Error::input(
                        loc,
                        format!(
                            "no read `{w}` in this file; reads found: {}",
                            list(&mut self.reads.iter())
                        ),
                    )),
                    _ => Err(Error::input(
                        loc,
                        format!(
                            "read `{w}` matches several reads: {}; give the whole name",
                            list(&mut part.into_iter())
                        ),
                    )),
                }
            }
            None => {
                let raw: Vec<&Read> = self.raw_reads().collect();
                match raw.len() {
                    1 => Ok(raw[0]),
                    0 => Err(Error::input(
                        loc,
                        format!(
                            "no raw read in this file, only {}; name one with `read = \"…\"` if it is what you want",
                            list(&mut self.reads.iter())
                        ),
                    )),
                    _ => Err(Error::input(
                        loc,
                        format!(
                            "{} raw reads in this file: {}; choose one with `read = \"…\"`",
                            raw.len(),
                            list(&mut raw.into_iter())
                        ),
                    )),
                }
            }
        }
    }

    /// The values of a read as signals, each with its location; decimal commas are read with a
    /// warning (see [`sheet::parse_signal`]).
    pub fn signals(
        &self,
        read: &Read,
        plate: &str,
        warnings: &mut Vec<Problem>,
    ) -> Vec<(GridCell, Signal, Location)> {
        let s = &self.sheets[read.sheet];
        read.cells
            .iter()
            .map(|c| {
                let loc = s.at(c.row).at_well(plate, &c.pos.to_string());
                let sig = sheet::parse_signal(&c.text, s.delimiter, &loc, warnings);
                (c.clone(), sig, loc)
            })
            .collect()
    }

    /// The plate format of a read, or an error naming a well outside the declared format.
    pub fn format_of(
        &self,
        read: &Read,
        plate: &str,
        declared: Option<PlateFormat>,
    ) -> Result<PlateFormat> {
        let s = &self.sheets[read.sheet];
        match declared {
            Some(f) => {
                let outside: Vec<Problem> = read
                    .cells
                    .iter()
                    .filter(|c| !f.contains(c.pos))
                    .take(10)
                    .map(|c| Problem {
                        location: s.at(c.row).at_well(plate, &c.pos.to_string()),
                        message: format!(
                            "well {} is outside the declared {f} plate (rows A-{}, columns 1-{})",
                            c.pos,
                            crate::plate::row_name(f.rows - 1),
                            f.columns
                        ),
                    })
                    .collect();
                if !outside.is_empty() {
                    return Err(Error::problems(crate::ErrorKind::Input, outside));
                }
                if read.columns > f.columns {
                    return Err(Error::input(
                        s.at(read.header_row).at_well(plate, ""),
                        format!(
                            "the grid has {} columns but the plate is declared {f} ({} columns)",
                            read.columns, f.columns
                        ),
                    ));
                }
                Ok(f)
            }
            None => read.format().ok_or_else(|| {
                Error::input(
                    s.at(read.header_row).at_well(plate, ""),
                    "the grid is larger than a 1536-well plate",
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_only_raw_read_or_asks() {
        let f = PlateFile::from_bytes(
            b"Results\n\t1\t2\nA\t5\t6\tLUM:Lum\n\t0.5\t0.6\tNormLum\n",
            Path::new("g.txt"),
            None,
        )
        .unwrap();
        assert_eq!(f.choose(None).unwrap().name, "LUM:Lum");
        assert_eq!(f.choose(Some("normlum")).unwrap().name, "NormLum");
        let e = PlateFile::from_bytes(
            b"Layout\n\t1\t2\nA\tPOS\tNEG\tWell ID\n",
            Path::new("l.txt"),
            None,
        )
        .unwrap()
        .choose(Some("Well ID"))
        .unwrap_err();
        assert!(
            e.to_string().contains("is a layout embedded in the file"),
            "{e}"
        );
        let e = f.choose(Some("OD")).unwrap_err();
        assert!(e.to_string().contains("no read `OD`"), "{e}");
        let f = PlateFile::from_bytes(b"X,1,2\nA,1,2\n\nY,1,2\nA,3,4\n", Path::new("g.csv"), None)
            .unwrap();
        let e = f.choose(None).unwrap_err();
        assert!(e.to_string().contains("2 raw reads"), "{e}");
        let e = PlateFile::from_bytes(b"nothing here\n", Path::new("g.csv"), None).unwrap_err();
        assert!(e.to_string().contains("no plate data"), "{e}");
    }

    #[test]
    fn tecan_kinetic_sections_give_a_read_per_cycle() {
        let f = PlateFile::from_bytes(
            "\u{feff}Application: SparkControl,,,,V2.3\nOD600,,,\nCycle Nr.,1,2\nTime [s],0,600\nTemp. [°C],35.6,35.7\nA1,,\nC1,0.1074,0.1144\nH12,0.5,0.6\nEnd Time,,,,28/02/2020 09:11\n"
                .as_bytes(),
            Path::new("spark.csv"),
            None,
        )
        .unwrap();
        assert_eq!(f.format, Format::Spark);
        let r = f.choose(Some("OD600 cycle 2")).unwrap();
        assert_eq!(r.cells.len(), 2);
        assert_eq!(
            (r.cells[0].pos.to_string(), r.cells[0].text.as_str()),
            ("C1".into(), "0.1144")
        );
        assert_eq!(f.sheets[0].lines[r.cells[1].row], 8);
    }

    #[test]
    fn gen5_style_well_table_gives_a_read_per_row() {
        let f = PlateFile::from_bytes(
            b"Software Version,3.13.15\nReader Type:,Cytation7\n\n,Well,A1,A2,A3,B1\n,OD600:600,1.47,,OVRFLW,0.5\n,\"GFP 30:485,530\",845,846,847,848\n",
            Path::new("g5.csv"),
            None,
        )
        .unwrap();
        assert_eq!(f.format, Format::Gen5);
        let r = f.choose(Some("OD600:600")).unwrap();
        let cells: Vec<(String, &str)> = r
            .cells
            .iter()
            .map(|c| (c.pos.to_string(), c.text.as_str()))
            .collect();
        assert_eq!(
            cells,
            vec![
                ("A1".into(), "1.47"),
                ("A3".into(), "OVRFLW"),
                ("B1".into(), "0.5")
            ]
        );
        let e = f.choose(None).unwrap_err();
        assert!(e.to_string().contains("2 raw reads"), "{e}");
        assert_eq!(f.choose(Some("GFP 30")).unwrap().cells[0].text, "845");
    }

    #[test]
    fn wrong_size_for_the_declared_plate_names_the_well() {
        let f =
            PlateFile::from_bytes(b",1,2,3,4,5\nA,1,2,3,4,5\n", Path::new("g.csv"), None).unwrap();
        let r = f.choose(None).unwrap();
        assert_eq!(f.format_of(r, "P", None).unwrap().wells(), 24);
        let e = f
            .format_of(r, "P", PlateFormat::from_wells(12))
            .unwrap_err();
        assert!(e.to_string().contains("g.csv:2: plate P, well A5"), "{e}");
    }
}
