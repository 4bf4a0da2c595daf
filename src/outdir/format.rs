//! How a command writes its tables: CSV (the default), Parquet, or both (`--format`, the
//! assay's `[output] format`).

/// The form of a command's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// CSV only (`wells.csv`, …), as every version before wrote.
    #[default]
    Csv,
    /// Parquet only (`wells.parquet`, …): typed columns, zstd, the CSV's column names.
    Parquet,
    /// Both, side by side.
    Both,
}

crate::words::words!(TableFormat, "table format", {
    Csv => "csv",
    Parquet => "parquet",
    Both => "both",
});

impl TableFormat {
    /// Whether the tables are written as CSV (`csv` or `both`).
    pub fn csv(self) -> bool {
        matches!(self, TableFormat::Csv | TableFormat::Both)
    }

    /// Whether the tables are written as Parquet (`parquet` or `both`).
    pub fn parquet(self) -> bool {
        matches!(self, TableFormat::Parquet | TableFormat::Both)
    }
}

/// The Parquet file of a table named by its CSV file name: `wells.csv` → `wells.parquet`
/// (a name without `.csv` gets `.parquet` added).
pub fn parquet_name(csv_name: &str) -> String {
    let stem = csv_name.strip_suffix(".csv").unwrap_or(csv_name);
    format!("{stem}.parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_and_the_parquet_name() {
        assert_eq!(TableFormat::NAMES, ["csv", "parquet", "both"]);
        assert!(TableFormat::Both.csv() && TableFormat::Both.parquet());
        assert!(!TableFormat::Csv.parquet() && !TableFormat::Parquet.csv());
        assert_eq!("Parquet".parse::<TableFormat>(), Ok(TableFormat::Parquet));
        assert!("arrow"
            .parse::<TableFormat>()
            .unwrap_err()
            .contains("csv, parquet or both"));
        assert_eq!(parquet_name("plots/x.csv"), "plots/x.parquet");
    }
}
