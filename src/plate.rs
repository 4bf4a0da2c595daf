//! Plate geometry: standard formats and well names.
//!
//! Wells are written `A1` or `A01`; rows run A–Z then AA–AF (1536-well plates have 32 rows),
//! upper or lower case.

use std::fmt;

/// A standard microplate format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PlateFormat {
    /// Number of rows.
    pub rows: u16,
    /// Number of columns.
    pub columns: u16,
}

/// The formats we know, smallest first.
pub(crate) const FORMATS: [PlateFormat; 7] = [
    PlateFormat {
        rows: 2,
        columns: 3,
    },
    PlateFormat {
        rows: 3,
        columns: 4,
    },
    PlateFormat {
        rows: 4,
        columns: 6,
    },
    PlateFormat {
        rows: 6,
        columns: 8,
    },
    PlateFormat {
        rows: 8,
        columns: 12,
    },
    PlateFormat {
        rows: 16,
        columns: 24,
    },
    PlateFormat {
        rows: 32,
        columns: 48,
    },
];

impl PlateFormat {
    /// Number of wells.
    pub fn wells(&self) -> u32 {
        u32::from(self.rows) * u32::from(self.columns)
    }

    /// The format with this many wells (6, 12, 24, 48, 96, 384 or 1536).
    pub fn from_wells(n: u32) -> Option<Self> {
        FORMATS.iter().copied().find(|f| f.wells() == n)
    }

    /// The smallest standard format that contains `well`.
    pub(crate) fn smallest_containing(well: WellPos) -> Option<Self> {
        FORMATS.iter().copied().find(|f| f.contains(well))
    }

    /// Whether `well` lies on this plate.
    pub fn contains(&self, well: WellPos) -> bool {
        well.row < self.rows && well.column < self.columns
    }

    /// Whether `well` is on the outer ring of the plate.
    pub(crate) fn is_edge(&self, well: WellPos) -> bool {
        well.row == 0
            || well.column == 0
            || well.row + 1 == self.rows
            || well.column + 1 == self.columns
    }

    /// The last well, e.g. `P24` for 384 wells.
    pub fn last_well(&self) -> WellPos {
        WellPos {
            row: self.rows - 1,
            column: self.columns - 1,
        }
    }
}

impl fmt::Display for PlateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-well", self.wells())
    }
}

/// A plate whose format was inferred from its wells, where all but a few wells fit a smaller
/// standard format. One mistyped well (`Q25` on a 384-well plate) would otherwise make the plate
/// 1536-well without a word; the readers keep the larger format (no data changes behind the
/// user's back) and warn with these wells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StrayWells {
    /// The smallest format the other wells fit.
    pub fits: PlateFormat,
    /// The format the plate was taken as (the smallest holding every well).
    pub taken_as: PlateFormat,
    /// The wells outside `fits`, in the order given.
    pub wells: Vec<WellPos>,
    /// Wells of the plate, strays included.
    pub total: usize,
}

/// The share of a plate's wells that may lie outside a smaller format for the plate to count as
/// that format with a few stray wells: 1 in 50 (2 %). A few typos fit under it; a plate that
/// really uses the larger format's extra rows or columns does not.
pub(crate) const STRAY_WELLS_PER: usize = 50;

impl StrayWells {
    /// Finds stray wells of a plate taken as `taken_as`: the smallest standard format that holds
    /// at least `rows` × `columns` (what the file itself declares, e.g. a grid header of 24
    /// columns; 0 for nothing) and all but at most 2 % of `wells` (distinct positions).
    pub fn find(
        wells: &[WellPos],
        taken_as: PlateFormat,
        rows: u16,
        columns: u16,
    ) -> Option<StrayWells> {
        FORMATS
            .iter()
            .filter(|f| f.wells() < taken_as.wells() && f.rows >= rows && f.columns >= columns)
            .find_map(|f| {
                let outside: Vec<WellPos> =
                    wells.iter().copied().filter(|w| !f.contains(*w)).collect();
                let few = !outside.is_empty() && outside.len() * STRAY_WELLS_PER <= wells.len();
                few.then_some(StrayWells {
                    fits: *f,
                    taken_as,
                    wells: outside,
                    total: wells.len(),
                })
            })
    }

    /// The warning for one stray well of `plate`. `declare` says how this input declares a
    /// size (`` `plate_size = 384` in the assay ``), with `{}` where the number goes.
    pub fn message(&self, well: WellPos, plate: &str, declare: &str) -> String {
        let fits = declare.replace("{}", &self.fits.wells().to_string());
        let taken = declare.replace("{}", &self.taken_as.wells().to_string());
        format!(
            "well {well} lies outside a {fits_f} plate, where the other {others} wells of plate {plate} all lie ({n} outside); the plate is taken as {taken_f}, the smallest format holding every well. If it is a {fits_f} plate, the well name is probably mistyped: declare {fits} so wells outside it are errors, or {taken} if it really is {taken_f}",
            fits_f = self.fits,
            taken_f = self.taken_as,
            others = self.total - self.wells.len(),
            n = self.wells.len(),
        )
    }
}

/// A well position, 0-based row and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WellPos {
    /// 0-based row (A = 0).
    pub row: u16,
    /// 0-based column (1 = 0).
    pub column: u16,
}

impl WellPos {
    /// Parses `A1`, `A01`, `p24`, `AF48`. Returns a message saying what was expected on failure.
    ///
    /// ```
    /// use collateral::plate::WellPos;
    /// let w = WellPos::parse("B03").unwrap();
    /// assert_eq!((w.row, w.column), (1, 2));
    /// assert_eq!(w.to_string(), "B3");
    /// assert_eq!(WellPos::parse("AF48").unwrap().row, 31);
    /// assert!(WellPos::parse("B0").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, String> {
        // Read once per well of a screen: no allocation on the way to a position.
        let t = s.trim();
        let split = t
            .bytes()
            .position(|c| !c.is_ascii_alphabetic())
            .unwrap_or(t.len());
        let (letters, digits) = t.split_at(split);
        let expected = "expected a well name like A1 or A01 (rows A-P or AA-AF, columns 1-48)";
        if letters.is_empty() || digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("`{s}` is not a well name; {expected}"));
        }
        let b = letters.as_bytes();
        let row = match b.len() {
            1 => u16::from(b[0].to_ascii_uppercase() - b'A'),
            2 if b[0].eq_ignore_ascii_case(&b'A') => {
                26 + u16::from(b[1].to_ascii_uppercase() - b'A')
            }
            _ => return Err(format!("`{s}` has row `{letters}`; {expected}")),
        };
        let col: u32 = digits
            .parse()
            .map_err(|_| format!("`{s}` has column `{digits}`; {expected}"))?;
        if col == 0 || col > 48 || row >= 32 {
            return Err(format!(
                "`{s}` is outside the largest plate (1536 wells, AF48); {expected}"
            ));
        }
        Ok(WellPos {
            row,
            column: (col - 1) as u16,
        })
    }

    /// The row letter(s): `A` … `Z`, `AA` … `AF`.
    pub fn row_name(&self) -> String {
        row_name(self.row)
    }
}

/// The letter(s) of a 0-based row index.
pub fn row_name(row: u16) -> String {
    if row < 26 {
        ((b'A' + row as u8) as char).to_string()
    } else {
        format!("A{}", (b'A' + (row - 26) as u8) as char)
    }
}

impl WellPos {
    /// Writes the well's name (`B3`, `AF48`) into `buf` (cleared first), without allocating,
    /// for writers of millions of wells.
    pub(crate) fn write_name(&self, buf: &mut String) {
        buf.clear();
        if self.row >= 26 {
            buf.push('A');
        }
        buf.push((b'A' + (self.row % 26) as u8) as char);
        let column = self.column + 1;
        if column >= 10 {
            buf.push((b'0' + (column / 10) as u8) as char);
        }
        buf.push((b'0' + (column % 10) as u8) as char);
    }
}

impl fmt::Display for WellPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row_name(), self.column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_names_are_written_as_displayed() {
        let mut buf = String::new();
        for row in 0..32 {
            for column in 0..48 {
                let p = WellPos { row, column };
                p.write_name(&mut buf);
                assert_eq!(buf, p.to_string());
            }
        }
    }

    #[test]
    fn formats_cover_the_standard_sizes() {
        let sizes: Vec<u32> = FORMATS.iter().map(|f| f.wells()).collect();
        assert_eq!(sizes, vec![6, 12, 24, 48, 96, 384, 1536]);
    }

    #[test]
    fn well_names_round_trip() {
        for f in FORMATS {
            for r in 0..f.rows {
                for c in 0..f.columns {
                    let w = WellPos { row: r, column: c };
                    assert_eq!(WellPos::parse(&w.to_string()).unwrap(), w);
                    let padded = format!("{}{:02}", w.row_name(), c + 1);
                    assert_eq!(WellPos::parse(&padded).unwrap(), w);
                    assert_eq!(WellPos::parse(&padded.to_lowercase()).unwrap(), w);
                }
            }
        }
    }

    #[test]
    fn smallest_format() {
        let w = WellPos::parse("H12").unwrap();
        assert_eq!(PlateFormat::smallest_containing(w).unwrap().wells(), 96);
        let w = WellPos::parse("I1").unwrap();
        assert_eq!(PlateFormat::smallest_containing(w).unwrap().wells(), 384);
        let w = WellPos::parse("AF1").unwrap();
        assert_eq!(PlateFormat::smallest_containing(w).unwrap().wells(), 1536);
    }

    fn all(f: PlateFormat) -> Vec<WellPos> {
        (0..f.rows)
            .flat_map(|row| (0..f.columns).map(move |column| WellPos { row, column }))
            .collect()
    }

    #[test]
    fn a_few_stray_wells_are_found_and_many_are_not() {
        let f384 = PlateFormat::from_wells(384).unwrap();
        let f1536 = PlateFormat::from_wells(1536).unwrap();
        let q25 = WellPos::parse("Q25").unwrap();
        let mut wells = all(f384);
        wells.push(q25);
        let s = StrayWells::find(&wells, f1536, 0, 0).unwrap();
        assert_eq!((s.fits, s.wells.clone(), s.total), (f384, vec![q25], 385));
        let m = s.message(q25, "P1", "`plate_size = {}`");
        assert!(m.starts_with("well Q25 lies outside a 384-well plate, where the other 384 wells of plate P1 all lie (1 outside); the plate is taken as 1536-well"), "{m}");
        assert!(m.contains("declare `plate_size = 384`"), "{m}");
        // The other wells fit 96: the smallest such format is named.
        let mut wells = all(PlateFormat::from_wells(96).unwrap());
        wells.push(q25);
        assert_eq!(
            StrayWells::find(&wells, f1536, 0, 0).unwrap().fits.wells(),
            96
        );
        // A grid header of 24 columns declares the larger shape itself.
        assert_eq!(
            StrayWells::find(&wells, f1536, 0, 24).unwrap().fits.wells(),
            384
        );
        // 2 % is the limit: 7 strays on 384 wells (1.8 %) warn, 8 (2.04 %) do not.
        let strays: Vec<WellPos> = (0..8).map(|c| WellPos { row: 16, column: c }).collect();
        let mut wells = all(f384);
        wells.extend(&strays[..7]);
        assert_eq!(
            StrayWells::find(&wells, f1536, 0, 0).unwrap().wells.len(),
            7
        );
        wells.push(strays[7]);
        assert_eq!(StrayWells::find(&wells, f1536, 0, 0), None);
        // A clean plate has none.
        assert_eq!(StrayWells::find(&all(f1536), f1536, 0, 0), None);
        assert_eq!(StrayWells::find(&all(f384), f384, 0, 0), None);
    }

    #[test]
    fn bad_wells_say_what_was_expected() {
        for bad in ["", "1A", "A", "A49", "AG1", "ABC1", "A-1", "B0"] {
            let e = WellPos::parse(bad).unwrap_err();
            assert!(e.contains("expected a well name"), "{bad}: {e}");
        }
    }
}
