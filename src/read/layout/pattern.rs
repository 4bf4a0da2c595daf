//! wellmap's well patterns: `A-D`, `'A,C,E'`, `'A,C,...,G'`, `'A1,C3,...,E5'`, `A1-C3` and
//! block sizes `WxH`, expanded to rows, columns and wells. Errors are plain messages; the caller
//! adds the file and line.

use crate::plate::WellPos;

pub(super) fn parse_size(s: &str) -> std::result::Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("block size `{s}`: expected WIDTHxHEIGHT such as 3x2"))?;
    let p = |t: &str| {
        t.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=48).contains(n))
    };
    match (p(w), p(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!(
            "block size `{s}`: expected WIDTHxHEIGHT such as 3x2"
        )),
    }
}

pub(super) fn row_index(s: &str) -> std::result::Result<u16, String> {
    let t = s.trim();
    match crate::read::grid::row_label(t) {
        Some((r, _)) => Ok(r),
        None => Err(format!("`{t}` is not a row (A-P, AA-AF)")),
    }
}

pub(super) fn col_index(s: &str) -> std::result::Result<u16, String> {
    let t = s.trim();
    match t.parse::<u16>() {
        Ok(c) if (1..=48).contains(&c) => Ok(c - 1),
        _ => Err(format!("`{t}` is not a column (1-48)")),
    }
}

/// Expands a 1-D pattern: `A`, `A-D`, `A,C,E`, `A,C,...,G` (and the same with numbers).
pub(super) fn expand_1d(
    pat: &str,
    one: &dyn Fn(&str) -> std::result::Result<u16, String>,
) -> std::result::Result<Vec<u16>, String> {
    let parts: Vec<&str> = pat.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        if p == "..." {
            if i < 2 || i + 1 >= parts.len() {
                return Err(format!(
                    "`{pat}`: `...` needs two items before it and one after"
                ));
            }
            let (a, b) = (one(parts[i - 2])?, one(parts[i - 1])?);
            let end = one(parts[i + 1])?;
            let step = i32::from(b) - i32::from(a);
            if step <= 0 || (i32::from(end) - i32::from(b)) % step != 0 || end < b {
                return Err(format!(
                    "`{pat}`: the progression does not reach `{}`",
                    parts[i + 1]
                ));
            }
            let mut x = i32::from(b) + step;
            while x < i32::from(end) {
                out.push(x as u16);
                x += step;
            }
            i += 1;
            continue;
        }
        if let Some((a, b)) = p.split_once('-') {
            let (a, b) = (one(a)?, one(b)?);
            if b < a {
                return Err(format!("`{p}`: a range runs from low to high"));
            }
            out.extend(a..=b);
        } else {
            out.push(one(p)?);
        }
        i += 1;
    }
    Ok(out)
}

pub(super) fn expand_rows(pat: &str) -> std::result::Result<Vec<u16>, String> {
    expand_1d(pat, &row_index)
}

pub(super) fn expand_cols(pat: &str) -> std::result::Result<Vec<u16>, String> {
    expand_1d(pat, &col_index)
}

/// Expands a well pattern: `A1`, `A1-B3` (rectangle), `A1,C3`, `A1,C3,...,E5` (2-D step).
pub(super) fn expand_wells(pat: &str) -> std::result::Result<Vec<WellPos>, String> {
    let parts: Vec<&str> = pat.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        if p == "..." {
            if i < 2 || i + 1 >= parts.len() {
                return Err(format!(
                    "`{pat}`: `...` needs two wells before it and one after"
                ));
            }
            let a = WellPos::parse(parts[i - 2])?;
            let b = WellPos::parse(parts[i - 1])?;
            let end = WellPos::parse(parts[i + 1])?;
            let (dr, dc) = (
                i32::from(b.row) - i32::from(a.row),
                i32::from(b.column) - i32::from(a.column),
            );
            let (er, ec) = (
                i32::from(end.row) - i32::from(b.row),
                i32::from(end.column) - i32::from(b.column),
            );
            let ok = (dr, dc) != (0, 0)
                && dr >= 0
                && dc >= 0
                && (dr == 0 || (er % dr == 0 && er >= 0))
                && (dc == 0 || (ec % dc == 0 && ec >= 0));
            if !ok {
                return Err(format!(
                    "`{pat}`: the progression does not reach `{}`",
                    parts[i + 1]
                ));
            }
            // 2-D: every combination of the row and column progressions.
            let rows: Vec<i32> = if dr == 0 {
                vec![i32::from(a.row)]
            } else {
                (i32::from(a.row)..=i32::from(end.row))
                    .step_by(dr as usize)
                    .collect()
            };
            let cols: Vec<i32> = if dc == 0 {
                vec![i32::from(a.column)]
            } else {
                (i32::from(a.column)..=i32::from(end.column))
                    .step_by(dc as usize)
                    .collect()
            };
            for r in &rows {
                for c in &cols {
                    let w = WellPos {
                        row: *r as u16,
                        column: *c as u16,
                    };
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
            i += 2;
            continue;
        }
        if let Some((a, b)) = p.split_once('-') {
            let (a, b) = (WellPos::parse(a)?, WellPos::parse(b)?);
            if b.row < a.row || b.column < a.column {
                return Err(format!(
                    "`{p}`: a well range runs from top-left to bottom-right"
                ));
            }
            for r in a.row..=b.row {
                for c in a.column..=b.column {
                    out.push(WellPos { row: r, column: c });
                }
            }
        } else {
            out.push(WellPos::parse(p)?);
        }
        i += 1;
    }
    Ok(out)
}
