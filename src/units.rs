//! Concentration units written beside a number (`0.37 uM`, `370 nM`, `5 ug/mL`): which units
//! convert into which, and the conversion itself, done in decimal so that `370 nM` read in µM
//! is the same `f64` as `0.37` (the power of ten moves the decimal exponent before the text is
//! parsed once, correctly rounded, instead of multiplying a rounded number by a rounded factor).
//!
//! Molar units (M, mM, µM, nM, pM, fM) convert into each other, and so do mass per volume units
//! (g/L, mg/L, µg/L, ng/L, g/mL, mg/mL, µg/mL, ng/mL, pg/mL); between the two a molecular
//! weight would be needed, which a table does not carry, so that is an error naming the cell.

use std::fmt;

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    /// Amount of substance per volume (mol/L).
    Molar,
    /// Mass per volume (g/L).
    MassPerVolume,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Molar => "molar",
            Dimension::MassPerVolume => "mass per volume",
        })
    }
}

/// A concentration unit we can convert: a power of ten of its dimension's base (M or g/L).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    dimension: Dimension,
    /// A value in this unit is `value × 10^exponent` in the base unit.
    exponent: i32,
}

impl Unit {
    /// The unit `text` names (`uM`, `µM`, `μM`, `nm`, `mg/mL`, `ug/ml` …), if we know it. Only
    /// the molar `M` and milli `m` are told apart by case (`mM` is millimolar; `mm` is refused).
    pub fn parse(text: &str) -> Option<Unit> {
        let t = text.trim();
        if let Some((mass, volume)) = t.split_once('/') {
            let mass_exp = match mass.trim() {
                "g" => 0,
                "mg" => -3,
                "ug" | "µg" | "μg" | "mcg" => -6,
                "ng" => -9,
                "pg" => -12,
                _ => return None,
            };
            let volume_exp = match volume.trim() {
                "L" | "l" => 0,
                "mL" | "ml" => -3,
                "uL" | "µL" | "μL" | "ul" | "µl" | "μl" => -6,
                _ => return None,
            };
            return Some(Unit {
                dimension: Dimension::MassPerVolume,
                exponent: mass_exp - volume_exp,
            });
        }
        let exponent = match t {
            "M" => 0,
            "mM" => -3,
            _ => {
                let mut chars = t.chars();
                let prefix = chars.next()?;
                let molar = chars.as_str();
                if molar != "M" && molar != "m" {
                    return None;
                }
                match prefix {
                    'u' | 'U' | 'µ' | 'μ' => -6,
                    'n' | 'N' => -9,
                    'p' | 'P' => -12,
                    'f' | 'F' => -15,
                    _ => return None,
                }
            }
        };
        Some(Unit {
            dimension: Dimension::Molar,
            exponent,
        })
    }
}

/// The unit every concentration of an assay is in, as its `concentration_unit` names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetUnit {
    /// As written in the assay.
    name: String,
    /// The unit, when we know how to convert into it.
    unit: Option<Unit>,
}

impl TargetUnit {
    /// The assay's `concentration_unit`.
    pub fn new(name: &str) -> TargetUnit {
        TargetUnit {
            name: name.trim().to_string(),
            unit: Unit::parse(name),
        }
    }

    /// The number of `text` in this unit: a plain number as it is, a number with a unit
    /// suffix converted. `None` when `text` has no number at its start (the caller says so in
    /// its own words); an error (for the cell's message) when its suffix cannot be converted.
    pub fn value(&self, text: &str) -> Option<Result<f64, String>> {
        if let Ok(v) = text.parse::<f64>() {
            return Some(Ok(v));
        }
        let (number, suffix) = split_unit(text)?;
        Some(self.convert(number, suffix, text))
    }

    fn convert(&self, number: &str, suffix: &str, text: &str) -> Result<f64, String> {
        if suffix == self.name {
            return parse_decimal(number, 0, text);
        }
        let Some(from) = Unit::parse(suffix) else {
            return Err(format!(
                "`{text}`: the unit `{suffix}` is not one we can convert (molar: M, mM, uM, nM, pM, fM; mass per volume: g/L, mg/mL, ug/mL, ng/mL …)"
            ));
        };
        let Some(to) = self.unit else {
            return Err(format!(
                "`{text}`: the assay's concentration unit `{}` is not one we can convert `{suffix}` into; write the number in `{}`",
                self.name, self.name
            ));
        };
        if from.dimension != to.dimension {
            return Err(format!(
                "`{text}`: `{suffix}` is a {} unit and the assay's `{}` a {} one; converting needs a molecular weight, so write the number in `{}`",
                from.dimension, self.name, to.dimension, self.name
            ));
        }
        parse_decimal(number, from.exponent - to.exponent, text)
    }
}

/// `text` as a number and a unit suffix (`0.37 uM`, `5ug/mL`), if it is one: the number as
/// Rust reads it, then optional spaces, then the unit.
pub(crate) fn split_unit(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let end = number_end(text)?;
    let (number, rest) = text.split_at(end);
    let suffix = rest.trim_start();
    let unit_like = suffix
        .chars()
        .all(|c| c.is_alphabetic() || c == '/' || c == 'µ' || c == 'μ');
    (!suffix.is_empty() && unit_like && number.parse::<f64>().is_ok()).then_some((number, suffix))
}

/// Where the number at the start of `text` ends (sign, digits, one decimal point, an
/// exponent), if it starts with one.
fn number_end(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_from = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i == digits_from {
        return None;
    }
    // An exponent only when digits follow it: `5 e` is not one, `1e-3` is.
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < b.len() && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        let from = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > from {
            i = j;
        }
    }
    Some(i)
}

/// `number × 10^shift`, read as one decimal so the result is correctly rounded.
fn parse_decimal(number: &str, shift: i32, text: &str) -> Result<f64, String> {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(i) => (&number[..i], number[i + 1..].parse::<i32>().ok()),
        None => (number, Some(0)),
    };
    exponent
        .and_then(|e| e.checked_add(shift))
        .and_then(|e| format!("{mantissa}e{e}").parse::<f64>().ok())
        .ok_or_else(|| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_in_decimal() {
        let um = TargetUnit::new("uM");
        for (text, want) in [
            ("0.37", 0.37),
            ("0.37 uM", 0.37),
            ("0.37µM", 0.37),
            ("0.37 μM", 0.37),
            ("370 nM", 0.37),
            ("370 nm", 0.37),
            ("3.7e2 nM", 0.37),
            ("0.00037 mM", 0.37),
            ("0.1 mM", 100.0),
            ("1 M", 1e6),
            ("0.3 nM", 0.0003),
        ] {
            assert_eq!(um.value(text), Some(Ok(want)), "{text}");
        }
        let ugml = TargetUnit::new("ug/mL");
        assert_eq!(ugml.value("5 mg/L"), Some(Ok(5.0)));
        assert_eq!(ugml.value("0.5 mg/mL"), Some(Ok(500.0)));
        assert_eq!(ugml.value("500 ng/mL"), Some(Ok(0.5)));
        assert_eq!(ugml.value("2 µg/ml"), Some(Ok(2.0)));
    }

    #[test]
    fn what_cannot_convert_is_named() {
        let um = TargetUnit::new("uM");
        let e = um.value("5 ug/mL").unwrap().unwrap_err();
        assert!(e.contains("molecular weight"), "{e}");
        let e = um.value("5 mm").unwrap().unwrap_err();
        assert!(e.contains("unit `mm` is not one we can convert"), "{e}");
        // A unit we do not know, written as the assay writes it, is taken as it is.
        let x = TargetUnit::new("dilution");
        assert_eq!(x.value("4 dilution"), Some(Ok(4.0)));
        let e = x.value("4 uM").unwrap().unwrap_err();
        assert!(e.contains("`dilution` is not one we can convert"), "{e}");
        // Not a number at all: the caller's own words.
        assert_eq!(um.value("abc"), None);
        assert_eq!(um.value("uM 5"), None);
        assert_eq!(um.value("5 u-M"), None);
    }
}
