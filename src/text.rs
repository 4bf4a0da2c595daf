//! Ground-floor text helpers shared by every layer: how numbers and cells are written into the
//! output tables, and where a key sits in a TOML file. Imports nothing of ours, so any module may use it.
//!
//! ```
//! use collateral::text::{format_number, key_line};
//! assert_eq!(format_number(0.5), "0.5");
//! assert_eq!(format_number(1e-7), "1e-7");
//! assert_eq!(format_number(f64::NAN), "");
//! assert_eq!(key_line("name = \"x\"\n[qc]\nz_prime_warn = 0.4\n", "qc"), Some(2));
//! ```

use std::borrow::Cow;

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
    buf.clear();
    if x.is_finite() {
        push_shortest(buf, x, x == 0.0 || (1e-4..1e15).contains(&x.abs()));
    }
}

/// Writes the text std's `{}` gives a finite `x` (shortest round-trip digits, never an
/// exponent: `0.0000001`, `100000000000000000000`) into `buf` (cleared first); for formats
/// such as GraphML whose numbers were always written that way.
pub(crate) fn format_plain_into(buf: &mut String, x: f64) {
    buf.clear();
    if x.is_finite() {
        push_shortest(buf, x, true);
    } else {
        use std::fmt::Write as _;
        let _ = write!(buf, "{x}");
    }
}

/// Appends finite `x` as std's `{}` (`plain`) or `{:e}` writes it.
fn push_shortest(buf: &mut String, x: f64, plain: bool) {
    use std::fmt::Write as _;
    if x == 0.0 {
        // `0` and `-0`, as std writes them.
        let _ = write!(buf, "{x}");
        return;
    }
    // std's shortest formatting (Grisu with a Dragon fallback) was a tenth of a large run's
    // cycles; zmij finds the same shortest round-trip digits several times faster, and the
    // layout below is std's `{}` / `{:e}` (checked against std in the tests below). The two
    // differ only where the float lies exactly halfway between two shortest candidates (std
    // rounds the tie up, zmij to even): those few values are left to std.
    let mut zmij = zmij::Buffer::new();
    let text = zmij.format_finite(x);
    if may_be_halfway(x, text) {
        let _ = if plain {
            write!(buf, "{x}")
        } else {
            write!(buf, "{x:e}")
        };
        return;
    }
    if plain && (1e-4..1e15).contains(&x.abs()) {
        // zmij writes this range as plain decimals too, whole numbers with a `.0` std leaves
        // out.
        buf.push_str(text.strip_suffix(".0").unwrap_or(text));
        return;
    }
    let parts = Decimal::of(text);
    let digits = parts.digits();
    if x < 0.0 {
        buf.push('-');
    }
    let n = digits.len() as i32;
    let exponent = parts.exponent;
    if plain {
        // Plain decimal: the digits with the point placed, no exponent, no trailing `.0`.
        if exponent >= 0 {
            buf.push_str(digits);
            buf.extend(std::iter::repeat_n('0', exponent as usize));
        } else if n > -exponent {
            let point = (n + exponent) as usize;
            buf.push_str(&digits[..point]);
            buf.push('.');
            buf.push_str(&digits[point..]);
        } else {
            buf.push_str("0.");
            buf.extend(std::iter::repeat_n('0', (-exponent - n) as usize));
            buf.push_str(digits);
        }
    } else {
        // Scientific: `d.ddde-7`, a lone digit without a point, the exponent without `+`.
        buf.push_str(&digits[..1]);
        if n > 1 {
            buf.push('.');
            buf.push_str(&digits[1..]);
        }
        let _ = write!(buf, "e{}", exponent + n - 1);
    }
}

/// Whether the exact binary value of finite non-zero `x` could lie halfway between two
/// shortest decimals, zmij's `text` being one: its exact decimal expansion then has one
/// significant digit more, the last a 5. Integers below 2^53 are exact in their shortest form;
/// larger floats are answered "maybe" (rare in tables, and std handles them).
fn may_be_halfway(x: f64, text: &str) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if exponent >= 0 {
        return exponent > 0;
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    // x = mantissa / 2^k exactly, = mantissa·5^k / 10^k: an odd mantissa times 5^k ends in 5
    // and has no trailing zero, so its digit count is the count of significant digits.
    let k = -exponent - zeros as i32;
    // 5^26 > 10^18: beyond that the expansion has more digits than any shortest form + 1.
    if k <= 0 || k > 25 {
        return false;
    }
    let exact = u128::from(mantissa) * 5u128.pow(k as u32);
    exact.ilog10() as usize + 1 == significant_digits(text) + 1
}

/// The significant digits in zmij's text of a float (no sign, point, exponent or leading and
/// trailing zeros).
fn significant_digits(text: &str) -> usize {
    Decimal::of(text).len
}

/// A finite non-zero float's shortest decimal form as significant digits (no leading or
/// trailing zeros) times a power of ten: `-0.0125` is `125` and `-4`.
struct Decimal {
    buf: [u8; 32],
    len: usize,
    exponent: i32,
}

impl Decimal {
    /// Reads zmij's text (`1.25`, `0.0125`, `1.5e+20`, `-3e-7`): the digits are gathered
    /// without the point, whose place moves into the exponent.
    fn of(text: &str) -> Decimal {
        let text = text.trim_start_matches('-');
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let mut d = Decimal {
            buf: [0; 32],
            len: 0,
            exponent,
        };
        let mut after_point = false;
        for &b in mantissa.as_bytes() {
            match b {
                b'.' => after_point = true,
                b'0'..=b'9' => {
                    if after_point {
                        d.exponent -= 1;
                    }
                    // Leading zeros carry no digit; the buffer holds 17 digits and more.
                    if (d.len > 0 || b != b'0') && d.len < d.buf.len() {
                        d.buf[d.len] = b;
                        d.len += 1;
                    }
                }
                _ => {}
            }
        }
        while d.len > 1 && d.buf[d.len - 1] == b'0' {
            d.len -= 1;
            d.exponent += 1;
        }
        d
    }

    fn digits(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

/// Formats an optional float: empty when absent.
pub(crate) fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, format_number)
}

/// Formats a float that may not exist (NaN or infinite): empty when absent.
pub(crate) fn opt_nan(v: f64) -> String {
    format_number(v)
}

/// One cell of a row as its table writes it, typed: the CSV's text and the frame's value both
/// come from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Names and words, written as they are.
    Text(Cow<'a, str>),
    /// A float in the tables' form ([`crate::text::format_number`]: shortest round-trip
    /// digits, an exponent outside [1e-4, 1e15), empty for NaN and infinities).
    Number(f64),
    /// A float as std's `{}` writes it (never an exponent): settings copied into a table.
    Plain(f64),
    /// A whole number.
    Count(u64),
    /// `true` or `false`.
    Flag(bool),
    /// An empty cell: NaN in a number column, absent in a count or flag column.
    Absent,
}

impl<'a> Cell<'a> {
    /// A text cell borrowing `s`.
    pub fn text(s: &'a str) -> Cell<'a> {
        Cell::Text(Cow::Borrowed(s))
    }

    /// A text cell owning `s`.
    pub fn owned(s: String) -> Cell<'a> {
        Cell::Text(Cow::Owned(s))
    }

    /// A count cell of `n`.
    pub fn count(n: usize) -> Cell<'a> {
        Cell::Count(n as u64)
    }

    /// The CSV text of the cell, into `buf` (cleared first).
    pub(crate) fn write_into(&self, buf: &mut String) {
        use std::fmt::Write as _;
        buf.clear();
        match self {
            Cell::Text(s) => buf.push_str(s),
            Cell::Number(x) => format_number_into(buf, *x),
            Cell::Plain(x) => {
                let _ = write!(buf, "{x}");
            }
            Cell::Count(n) => {
                let _ = write!(buf, "{n}");
            }
            Cell::Flag(b) => buf.push_str(if *b { "true" } else { "false" }),
            Cell::Absent => {}
        }
    }
}

/// Writes a table of `header` and rows of cells, as the csv crate writes records.
pub fn write_rows<'a, I>(
    w: &mut dyn std::io::Write,
    header: &[&str],
    rows: I,
) -> std::io::Result<()>
where
    I: IntoIterator<Item = Vec<Cell<'a>>>,
{
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header)?;
    let mut buf = String::new();
    for cells in rows {
        debug_assert_eq!(cells.len(), header.len(), "one cell per column");
        for cell in &cells {
            cell.write_into(&mut buf);
            out.write_field(&buf)?;
        }
        out.write_record(None::<&[u8]>)?;
    }
    out.flush()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The text std writes, which [`format_number_into`] must reproduce byte for byte (every
    /// output table was written this way before, and the golden files hold it).
    fn std_text(x: f64) -> String {
        if !x.is_finite() {
            String::new()
        } else if x == 0.0 || (1e-4..1e15).contains(&x.abs()) {
            format!("{x}")
        } else {
            format!("{x:e}")
        }
    }

    fn check(x: f64) {
        let mut buf = String::new();
        format_number_into(&mut buf, x);
        assert_eq!(buf, std_text(x), "bits {:#x}", x.to_bits());
        format_plain_into(&mut buf, x);
        assert_eq!(buf, format!("{x}"), "plain, bits {:#x}", x.to_bits());
    }

    #[test]
    fn numbers_read_as_std_writes_them() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            0.2,
            0.3,
            1e-4,
            9.999999999999999e-5,
            1e15,
            999999999999999.9,
            1e14,
            123456789012345.6,
            1e-7,
            1.5e20,
            -2.5e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1e16,
            1e22,
            1e23,
            0.000123,
            100.0,
            1234.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2f64.powi(53),
            2f64.powi(60),
            // Halfway between two shortest candidates: std rounds up, zmij to even.
            f64::from_bits(0x430a_4fc7_73e5_0c2a),
            0.125,
            2.5,
            1.0000000000000002,
            9007199254740993.0,
        ] {
            check(x);
        }
        for e in -330..=310 {
            for m in [1.0, 1.5, 3.0, 9.999, 7.2] {
                check(m * 10f64.powi(e));
            }
        }
    }

    #[test]
    fn random_numbers_read_as_std_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261202);
        for _ in 0..300_000 {
            // Any bit pattern (every exponent), and values of the size tables hold.
            check(f64::from_bits(rng.random::<u64>()));
            check(rng.random::<f64>());
            check(rng.random_range(-10.0..10.0) * 10f64.powi(rng.random_range(-12..12)));
            let digits: u64 = rng.random_range(1..1_000_000);
            check(digits as f64 / 10f64.powi(rng.random_range(0..9)));
            // Few binary fraction digits: where the halfway cases are.
            let whole: u64 = rng.random_range(1..1u64 << 53);
            check(whole as f64 / 2f64.powi(rng.random_range(1..30)));
        }
    }
}
