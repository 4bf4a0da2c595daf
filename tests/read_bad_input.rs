//! Bad plate files: each an error naming file, line and well, or a warning with the well kept;
//! and property tests that no parser panics on arbitrary bytes.

use std::path::Path;

use collateral::read::layout::Layout;
use collateral::read::PlateFile;
use proptest::prelude::*;

use crate::common::{root, write};

fn parse(bytes: &[u8]) -> collateral::Result<PlateFile> {
    PlateFile::from_bytes(bytes, Path::new("plate.csv"), None)
}

#[test]
fn line_ends_bom_and_trailing_separators_do_not_change_values() {
    let lf = "Raw\n,1,2,3\nA,1.5,2,3\nB,4,5,6\n";
    let crlf = lf.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    let trailing = "Raw\n,1,2,3,\nA,1.5,2,3,\nB,4,5,6,\n";
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            lf.replace(',', "\t")
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    for bytes in [
        lf.as_bytes().to_vec(),
        crlf.into_bytes(),
        bom.into_bytes(),
        trailing.as_bytes().to_vec(),
        utf16,
    ] {
        let f = parse(&bytes).unwrap();
        let r = f.choose(None).unwrap();
        let texts: Vec<&str> = r.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["1.5", "2", "3", "4", "5", "6"]);
        assert_eq!(r.format().unwrap().wells(), 6);
        // The line of B3 is 4 in every variant.
        let b3 = r.cells.last().unwrap();
        assert_eq!(f.sheets[0].lines[b3.row], 4);
    }
}

#[test]
fn empty_and_headless_files_are_errors() {
    for (bytes, msg) in [
        (&b""[..], "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b",1,2,3\n", "no plate data found"),
        (b"A,5,6\nB,3,4\n", "no plate data found"),
        (b"\xFF\xFE\x41", "truncated"),
        (
            b"ok\n\xC3\x28\n",
            "plate.csv:2: this line is not valid UTF-8",
        ),
    ] {
        let e = parse(bytes).unwrap_err();
        assert!(e.to_string().contains(msg), "{bytes:?}: {e}");
    }
}

#[test]
fn a_truncated_workbook_is_an_error_naming_the_file() {
    let bytes =
        std::fs::read(root().join("tests/data/exports/tecan-magellan/SLA01P01_OD.xlsx")).unwrap();
    let e =
        PlateFile::from_bytes(&bytes[..bytes.len() / 2], Path::new("cut.xlsx"), None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cut.xlsx: cannot open the workbook"),
        "{e}"
    );
}

#[test]
fn non_numeric_cells_keep_their_well() {
    let f = parse(b"Raw\n,1,2\nA,OVRFLW,-\nB,,3\n").unwrap();
    let r = f.choose(Some("Raw")).unwrap();
    let mut w = Vec::new();
    let s = f.signals(r, "P", &mut w);
    assert_eq!(s.len(), 3);
    assert_eq!(
        s[0].1,
        collateral::wells::Signal::NotNumeric("OVRFLW".into())
    );
    assert_eq!(s[0].2.to_string(), "plate.csv:3: plate P, well A1");
    assert_eq!(s[1].0.pos.to_string(), "A2");
}

#[test]
fn layout_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "l.toml",
        "[row.A]\ndrug = \"x\"\n[row.Q9]\ndrug = 1\n",
    );
    let e = Layout::read(&p).unwrap_err();
    assert!(e.to_string().contains("l.toml:3: `Q9` is not a row"), "{e}");
    let p = write(
        dir.path(),
        "l.toml",
        "[row.A]\ndrug = \"x\"\ndrug = \"y\"\n",
    );
    let e = Layout::read(&p).unwrap_err();
    assert!(
        e.to_string().contains("l.toml:3: not a valid TOML layout"),
        "{e}"
    );
    let p = write(dir.path(), "l.toml", "[meta]\ninclude = 'missing.toml'\n");
    let e = Layout::read(&p).unwrap_err();
    assert!(e.to_string().contains("missing.toml"), "{e}");
    let p = write(dir.path(), "l.toml", "[block.3x2.AF47]\nrole = 'blank'\n");
    let e = Layout::read(&p).unwrap_err();
    assert!(e.to_string().contains("runs off the largest plate"), "{e}");
}

proptest! {
    // 128 cases each in the normal suite (a few seconds); PROPTEST_CASES=N for a long run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes never panic the plate-file reader.
    #[test]
    fn plate_reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&bytes);
    }

    /// Grid-like text (the shapes the scanners look for, shuffled) never panics either, and
    /// every read found has wells on a 1536-well plate at most.
    #[test]
    fn plate_reader_never_panics_on_grid_like_text(
        tokens in proptest::collection::vec(
            prop_oneof![
                Just("1"), Just("2"), Just("3"), Just("01"), Just("48"), Just("A"), Just("a"), Just("AF"),
                Just("Z"), Just("e"), Just("A1"), Just("H12"), Just("OVRFLW"), Just("0,5"), Just("\"=\"\"x\"\"\""),
                Just("Plate:"), Just("~End"), Just("##BLOCKS= 1"), Just("Well"), Just("Results"),
                Just("TimeFormat"), Just(""), Just("1.5"), Just("-"),
            ],
            0..200,
        ),
        seps in proptest::collection::vec(prop_oneof![Just(","), Just("\t"), Just("\n"), Just("\r\n"), Just(";")], 200),
    ) {
        let mut text = String::new();
        for (t, s) in tokens.iter().zip(&seps) {
            text.push_str(t);
            text.push_str(s);
        }
        if let Ok(f) = parse(text.as_bytes()) {
            for r in &f.reads {
                prop_assert!(r.cells.iter().all(|c| c.pos.row < 32 && c.pos.column < 48));
                let _ = r.format();
            }
            let _ = f.choose(None);
        }
    }

    /// Arbitrary TOML-ish layouts never panic the wellmap reader.
    #[test]
    fn layout_reader_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("[row.A]"), Just("[col.'1,3,...,11']"), Just("[block.2x3.B2]"), Just("[well.'A1-C3']"),
                Just("[irow.B]"), Just("[icol.2]"), Just("[expt]"), Just("[plate.p1.row.C]"),
                Just("[block.48x32.A1]"), Just("[row.'A,C,...,AF']"), Just("[col.'48-1']"),
                Just("drug = 'x'"), Just("role = 'vehicle'"), Just("concentration = 1e3"),
                Just("top_concentration = 10"), Just("dilution = 3"), Just("series_start = 2"),
                Just("direction = 'up'"), Just("A1.z = 2"), Just("x = 2018-02-20"), Just("[meta]"),
            ],
            0..20,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "l.toml", &lines.join("\n"));
        if let Ok(l) = Layout::read(&p) {
            for (plate, wells) in &l.plates {
                for (pos, params) in wells {
                    let _ = l.spec(plate, *pos, params, "L");
                }
            }
        }
    }
}
