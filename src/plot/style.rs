//! Shared look of the figures: the embedded font, the diverging colour scale and the colours of
//! calls, so the heatmap, the network and the report agree.

use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor};

use crate::shift::Call;

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`), embedded so figures
/// render identically on machines without system fonts.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family name the figures use.
pub const FONT: &str = "sans-serif";

/// Registers the embedded font under [`FONT`] once per process. Every drawing function calls it,
/// so library users need no set-up.
pub(crate) fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
        })
        .clone()
}

/// Blue end of the diverging scale: collateral sensitivity (IC50 down).
pub(crate) const SENSITIVE_BLUE: RGBColor = RGBColor(33, 102, 172);
/// Red end of the diverging scale: cross-resistance (IC50 up).
pub(crate) const RESISTANT_RED: RGBColor = RGBColor(178, 24, 43);
/// Colour of cells and edges without a value.
pub const MISSING_GREY: RGBColor = RGBColor(200, 200, 200);
/// Colour of the parental line's points and curve.
pub const PARENTAL_GREY: RGBColor = RGBColor(90, 90, 90);
/// Colour of a resistant line's points and curve.
pub(crate) const RESISTANT_ORANGE: RGBColor = RGBColor(213, 94, 0);

/// Seven stops of ColorBrewer RdBu (reversed so negative is blue), interpolated linearly.
const DIVERGING_STOPS: [(u8, u8, u8); 7] = [
    (33, 102, 172),
    (103, 169, 207),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (239, 138, 98),
    (178, 24, 43),
];

/// Colour of `value` on a blue–white–red scale centred on 0 and saturating at ±`limit`.
/// NaN maps to [`MISSING_GREY`].
pub fn diverging(value: f64, limit: f64) -> RGBColor {
    if !value.is_finite() || !limit.is_finite() || limit <= 0.0 {
        return MISSING_GREY;
    }
    // t in [0, 1], 0.5 at zero.
    let t = ((value / limit).clamp(-1.0, 1.0) + 1.0) / 2.0;
    let x = t * (DIVERGING_STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(DIVERGING_STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (DIVERGING_STOPS[i], DIVERGING_STOPS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Whether text on `c` should be white for contrast (relative luminance below one half).
pub(crate) fn needs_light_text(c: RGBColor) -> bool {
    let lum = 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
    lum < 128.0
}

/// The symmetric limit of a diverging scale for these values: the largest |value| rounded up to
/// a whole number, at least 1, so the colour bar has round ticks.
pub(crate) fn symmetric_limit(values: impl Iterator<Item = f64>) -> f64 {
    let m = values
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    m.ceil().max(1.0)
}

/// Colour of a call: blue for sensitive, red for resistant, grey otherwise (and for no call,
/// such as a network edge whose lines tie).
pub(crate) fn call_colour(call: Option<Call>) -> RGBColor {
    match call {
        Some(Call::CollateralSensitive) => SENSITIVE_BLUE,
        Some(Call::CrossResistant) => RESISTANT_RED,
        _ => MISSING_GREY,
    }
}

/// Hex form `#rrggbb` of a colour, for HTML.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// A short number for labels: 3 significant digits, scientific outside [1e-3, 1e4).
pub fn short_number(x: f64) -> String {
    if !x.is_finite() {
        return "NA".into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        format!("{x:.2e}")
    } else {
        let digits = if a == 0.0 {
            0
        } else {
            (2 - a.log10().floor() as i32).max(0) as usize
        };
        format!("{x:.digits$}")
    }
}

/// An axis tick label: at most 3 significant digits without trailing zeros (`0.01`, `10`,
/// `2.5`), scientific outside [1e-3, 1e4).
pub(crate) fn tick_label(x: f64) -> String {
    let s = short_number(x);
    let (mantissa, exponent) = match s.find('e') {
        Some(i) => s.split_at(i),
        None => (s.as_str(), ""),
    };
    if !mantissa.contains('.') {
        return s;
    }
    format!(
        "{}{exponent}",
        mantissa.trim_end_matches('0').trim_end_matches('.')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_is_white_at_zero_and_saturates_at_the_ends() {
        assert_eq!(diverging(0.0, 2.0), RGBColor(247, 247, 247));
        assert_eq!(diverging(-5.0, 2.0), SENSITIVE_BLUE);
        assert_eq!(diverging(2.0, 2.0), RESISTANT_RED);
        assert_eq!(diverging(f64::NAN, 2.0), MISSING_GREY);
        // Negative values are bluer than red: the blue channel exceeds the red one.
        let c = diverging(-1.0, 2.0);
        assert!(c.2 > c.0);
    }

    #[test]
    fn limit_rounds_up_and_ignores_missing_values() {
        assert_eq!(symmetric_limit([0.2, -2.3, f64::NAN].into_iter()), 3.0);
        assert_eq!(symmetric_limit(std::iter::empty()), 1.0);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(141.908), "142");
        assert_eq!(short_number(1.999), "2.00");
        assert_eq!(short_number(0.0123), "0.0123");
        assert_eq!(short_number(12345.0), "1.23e4");
    }

    #[test]
    fn tick_labels_drop_trailing_zeros() {
        assert_eq!(tick_label(0.0100), "0.01");
        assert_eq!(tick_label(10.0), "10");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(1e5), "1e5");
        assert_eq!(tick_label(2.5e-5), "2.5e-5");
    }

    #[test]
    fn embedded_font_registers() {
        assert_eq!(ensure_font(), Ok(()));
    }
}
