//! What the marks of a drawn figure stand for, for the report to make them answer a pointer:
//! where each heatmap cell, network edge and dose-response point was drawn (in the figure's
//! own pixels, the SVG's `viewBox` units) and the numbers it shows, and where each
//! dose-response panel is, so a click on a heatmap cell can open its line × drug's panel.
//!
//! Marks are found while drawing (or from the same geometry the drawing uses), never by reading
//! the image back, and they change nothing drawn: the figure files are the same with or without.

/// The shape a pointer must be over (or near) to show a mark's numbers, in figure pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A rectangle: left, top, width, height.
    Rect(f64, f64, f64, f64),
    /// A point: centre and radius (the report accepts a few pixels more).
    Dot(f64, f64, f64),
    /// A line segment from (x1, y1) to (x2, y2), drawn this wide.
    Segment(f64, f64, f64, f64, f64),
}

/// One mark: its shape, the lines of text it shows (the first a heading), and the key of the
/// dose-response panel it opens when clicked (`line` TAB `drug`), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Where it is.
    pub shape: Shape,
    /// Its numbers, as lines of text.
    pub tip: Vec<String>,
    /// The panel a click opens: [`panel_key`] of its line and drug.
    pub opens: Option<String>,
}

/// A dose-response panel: its rectangle (left, top, width, height) and [`panel_key`].
#[derive(Debug, Clone, PartialEq)]
pub struct PanelArea {
    /// left, top, width, height in figure pixels.
    pub rect: (f64, f64, f64, f64),
    /// [`panel_key`] of the panel's line and drug.
    pub key: String,
}

/// Every mark and panel of one figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// Marks that answer a pointer, in drawing order (the report prefers later ones, drawn on
    /// top).
    pub marks: Vec<Mark>,
    /// Panels a heatmap cell can open.
    pub panels: Vec<PanelArea>,
}

/// The key joining a heatmap cell to its dose-response panel: the resistant line and the drug.
pub fn panel_key(line: &str, drug: &str) -> String {
    format!("{line}\t{drug}")
}

/// A coordinate to a tenth of a pixel: enough to find a mark, short in the page.
fn px(v: f64) -> serde_json::Value {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() && r.abs() < 1e9 {
        serde_json::Value::from(r as i64)
    } else {
        serde_json::Value::from(r)
    }
}

impl Marks {
    /// Whether there is nothing to point at.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty() && self.panels.is_empty()
    }

    /// The marks as compact JSON (`{"m":[{"r"|"d"|"s":[…],"t":[…],"k":…}],"p":[{"r":[…],"k":…}]}`),
    /// safe inside an HTML `<script type="application/json">` element: `<` is escaped, so no
    /// text can close the element.
    pub(crate) fn to_json(&self) -> String {
        use serde_json::{json, Map, Value};
        let marks: Vec<Value> = self
            .marks
            .iter()
            .map(|m| {
                let mut o = Map::new();
                let (name, coords) = match m.shape {
                    Shape::Rect(x, y, w, h) => ("r", vec![x, y, w, h]),
                    Shape::Dot(x, y, r) => ("d", vec![x, y, r]),
                    Shape::Segment(x1, y1, x2, y2, w) => ("s", vec![x1, y1, x2, y2, w]),
                };
                o.insert(
                    name.into(),
                    Value::Array(coords.into_iter().map(px).collect()),
                );
                o.insert("t".into(), json!(m.tip));
                if let Some(k) = &m.opens {
                    o.insert("k".into(), json!(k));
                }
                Value::Object(o)
            })
            .collect();
        let panels: Vec<Value> = self
            .panels
            .iter()
            .map(|p| {
                let (x, y, w, h) = p.rect;
                json!({"r": [px(x), px(y), px(w), px(h)], "k": p.key})
            })
            .collect();
        json!({"m": marks, "p": panels})
            .to_string()
            .replace('<', "\\u003c")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_serialize_compactly_and_cannot_close_their_script_element() {
        let marks = Marks {
            marks: vec![
                Mark {
                    shape: Shape::Rect(10.0, 20.0, 30.5, 40.0),
                    tip: vec!["a × b".into(), "log2 FC < -2".into()],
                    opens: Some(panel_key("a", "b")),
                },
                Mark {
                    shape: Shape::Dot(1.04, 2.0, 3.0),
                    tip: vec!["</script>".into()],
                    opens: None,
                },
            ],
            panels: vec![PanelArea {
                rect: (0.0, 78.0, 360.0, 300.0),
                key: panel_key("a", "b"),
            }],
        };
        let text = marks.to_json();
        assert!(!text.contains('<'), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["m"][0]["r"], serde_json::json!([10, 20, 30.5, 40]));
        assert_eq!(v["m"][0]["k"], "a\tb");
        assert_eq!(v["m"][0]["t"][1], "log2 FC < -2");
        assert_eq!(v["m"][1]["d"], serde_json::json!([1, 2, 3]));
        assert_eq!(v["m"][1]["t"][0], "</script>");
        assert!(v["m"][1].get("k").is_none());
        assert_eq!(v["p"][0]["r"], serde_json::json!([0, 78, 360, 300]));
        assert!(Marks::default().is_empty());
    }
}
