//! Ground-floor text helpers shared by every layer: how numbers are written into the output
//! tables, and where a key sits in a TOML file. Imports nothing of ours, so any module may use it.
//!
//! ```
//! use collateral::text::{format_number, key_line};
//! assert_eq!(format_number(0.5), "0.5");
//! assert_eq!(format_number(1e-7), "1e-7");
//! assert_eq!(format_number(f64::NAN), "");
//! assert_eq!(key_line("name = \"x\"\n[qc]\nz_prime_warn = 0.4\n", "qc"), Some(2));
//! ```

/// Formats a float so that it reads back bit-identically: shortest round-trip digits, scientific
/// notation outside [1e-4, 1e15), and an empty cell for NaN/inf (values that do not exist).
pub fn format_number(x: f64) -> String {
    let mut s = String::new();
    format_number_into(&mut s, x);
    s
}

/// Writes [`format_number`]'s text of `x` into `buf` (cleared first), without allocating, for
/// writers of large tables.
pub fn format_number_into(buf: &mut String, x: f64) {
    use std::fmt::Write as _;
    buf.clear();
    let _ = if !x.is_finite() {
        Ok(())
    } else if x == 0.0 || (1e-4..1e15).contains(&x.abs()) {
        write!(buf, "{x}")
    } else {
        write!(buf, "{x:e}")
    };
}

/// Formats an optional float: empty when absent.
pub fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, format_number)
}

/// Formats a float that may not exist (NaN or infinite): empty when absent.
pub fn opt_nan(v: f64) -> String {
    format_number(v)
}

/// The 1-based line on which `key` is assigned or opened as a section in TOML `text`, if it can
/// be found; error messages about a settings value point there.
pub fn key_line(text: &str, key: &str) -> Option<u64> {
    text.lines().enumerate().find_map(|(i, line)| {
        let t = line.trim_start();
        let t = t
            .strip_prefix('[')
            .map(|s| s.trim_start_matches('['))
            .unwrap_or(t);
        let rest = t.strip_prefix(key)?;
        let rest = rest.trim_start();
        (rest.starts_with('=') || rest.starts_with(']')).then_some(i as u64 + 1)
    })
}
