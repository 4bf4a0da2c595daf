//! The curves of a run: the dose–response points of every cell line × drug (and replicate),
//! gathered from the wells that were not excluded.

use std::collections::{BTreeSet, HashMap};

use crate::fit::{CurveInput, DosePoint};
use crate::qc::WellOutcome;
use crate::wells::{Role, WellTable};

/// The curves of a run: one per (cell line, drug) with replicates pooled, plus one per
/// (cell line, replicate, drug) for the lines reported per replicate.
#[derive(Debug, Clone, Default)]
pub struct Curves {
    /// The curves, pooled ones first, each group in (cell line, drug) order.
    pub inputs: Vec<CurveInput>,
    /// The replicate of each curve; empty for pooled curves.
    pub replicate: Vec<String>,
}

/// Gathers the points of every curve from the wells that were not excluded. With
/// `include_untreated`, the vehicle wells of the curve's cell line on the plates the curve was
/// measured on join as zero-concentration points (for plateaus fixed at the observed extremes).
// Long because it is the one loop over every well of a screen (millions) that groups points
// by dense name ids; its state (groups, index, the last group) stays in locals on purpose.
pub fn curve_inputs(
    table: &WellTable,
    outcomes: &[WellOutcome],
    per_replicate: &BTreeSet<&str>,
    include_untreated: bool,
) -> Curves {
    // Grouped by the table's dense name ids, then put in (pooled first, cell line, replicate,
    // drug) name order once: a sorted map keyed by name tuples spent most of a 3-million-well
    // run comparing strings. `NONE` stands for the empty replicate of pooled curves.
    const NONE: u32 = u32::MAX;
    type Key = (bool, u32, u32, u32);
    struct Group {
        key: Key,
        points: Vec<DosePoint>,
        plates: Vec<u32>,
    }
    let wells = &table.wells;
    let name = |id: u32| {
        if id == NONE {
            ""
        } else {
            wells.name(id).as_str()
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut untreated: HashMap<(u32, u32, u32), Vec<f64>> = HashMap::new();
    // Wells of a curve mostly come together (a dose series): the last group is tried first.
    let mut last: Option<(Key, usize)> = None;
    let mut add = |key: Key, plate: u32, point: DosePoint| {
        let i = match last {
            Some((k, i)) if k == key => i,
            _ => *index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    key,
                    points: Vec::new(),
                    plates: Vec::new(),
                });
                groups.len() - 1
            }),
        };
        last = Some((key, i));
        let g = &mut groups[i];
        g.points.push(point);
        // Wells of one plate mostly come together: skip the repeat before sorting at the end.
        if g.plates.last() != Some(&plate) {
            g.plates.push(plate);
        }
    };
    for (i, (w, o)) in wells.iter().zip(outcomes).enumerate() {
        let Some(v) = o.viability.filter(|_| !o.excluded) else {
            continue;
        };
        let [plate, line, drug, rep] = wells.name_ids(i);
        match w.role {
            Role::Sample => {
                let conc = w
                    .concentration
                    .expect("checked: samples have a concentration");
                let point = DosePoint {
                    concentration: conc,
                    response: v,
                };
                add((false, line, NONE, drug), plate, point);
                if !w.replicate.is_empty() && per_replicate.contains(w.cell_line.as_str()) {
                    add((true, line, rep, drug), plate, point);
                }
            }
            Role::Vehicle if include_untreated => {
                untreated.entry((plate, line, NONE)).or_default().push(v);
                if !w.replicate.is_empty() {
                    untreated.entry((plate, line, rep)).or_default().push(v);
                }
            }
            _ => {}
        }
    }
    // Name order as ranks: the names are sorted once, the groups by integers.
    let mut by_name: Vec<u32> = (0..wells.name_count() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| name(a).cmp(name(b)));
    let mut rank = vec![0u32; by_name.len()];
    for (r, &id) in by_name.iter().enumerate() {
        rank[id as usize] = r as u32 + 1;
    }
    // The empty replicate of pooled curves sorts first, as "" does.
    let rank_of = |id: u32| if id == NONE { 0 } else { rank[id as usize] };
    groups.sort_unstable_by_key(|g| {
        let (replicate_curve, line, rep, drug) = g.key;
        (replicate_curve, rank_of(line), rank_of(rep), rank_of(drug))
    });
    let mut out = Curves::default();
    for g in groups {
        let (_, line, rep, drug) = g.key;
        let mut pts = g.points;
        if include_untreated {
            let mut plates = g.plates;
            plates.sort_unstable_by(|a, b| name(*a).cmp(name(*b)));
            plates.dedup();
            for plate in plates {
                if let Some(vs) = untreated.get(&(plate, line, rep)) {
                    pts.extend(vs.iter().map(|&v| DosePoint {
                        concentration: 0.0,
                        response: v,
                    }));
                }
            }
        }
        out.inputs.push(CurveInput {
            cell_line: name(line).to_string(),
            drug: name(drug).to_string(),
            points: pts,
        });
        out.replicate.push(name(rep).to_string());
    }
    out
}
