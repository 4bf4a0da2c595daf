//! Which read of a wells table serves what, when wells are read at several times.
//!
//! Without a `time` column every row is a well's only read: the endpoint. With one, a well may
//! be read many times (a time course, or a time-0 read for GR), and each read gets one role:
//!
//! - **time 0** (`time = 0`): the count at treatment, x₀ of GR. Never normalized, judged or
//!   fitted.
//! - **endpoint**: a read at its plate's latest time after treatment (or a read without a
//!   time). Only these enter normalization, plate QC and the viability fits, exactly as the
//!   rows of a table without times do.
//! - **course**: any other read; used only by the DIP time courses.
//!
//! The endpoint is a time per plate, not per well: normalization compares treated with
//! untreated wells read at the same moment. It is the plate's latest complete scan — the
//! latest time at which every well of the plate read after time 0 (empty wells aside) has a
//! read — so that a time course whose last scans skip some wells (overgrown wells dropped, a
//! scan cut short) keeps all its wells at the endpoint. A plate without a complete scan takes
//! the time at which most of its wells were read (the latest of equals), and its wells without
//! a read then are named in a warning; they still count for DIP. Reads of one scan must share
//! their time.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Location, Problem};
use crate::qc::WellOutcome;
use crate::wells::{Role, WellTable};

/// How the `exclusion_reason` of every read that is not an endpoint read begins in
/// `wells.csv`, so readers of a run (the figures) can leave such reads out.
pub(crate) const NOT_ENDPOINT: &str = "not an endpoint read";

/// The role of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRole {
    /// Read at the plate's endpoint (or without a time): normalized, judged and fitted.
    Endpoint,
    /// Read at time 0: x₀ of GR only.
    TimeZero,
    /// Read at another time: DIP time courses only.
    Course,
}

/// The role of every read of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// One role per row of the table, in table order.
    pub role: Vec<ReadRole>,
    /// The endpoint time of each plate that has reads after time 0, in hours.
    pub(crate) endpoint_time: BTreeMap<String, f64>,
}

impl ReadPlan {
    /// The roles of the reads of `table`.
    pub fn of(table: &WellTable) -> ReadPlan {
        if !table.has_time {
            return ReadPlan {
                role: vec![ReadRole::Endpoint; table.wells.len()],
                endpoint_time: BTreeMap::new(),
            };
        }
        // Per plate: the wells read after time 0, and how many were read at each such time.
        let mut wells: HashMap<&str, std::collections::HashSet<crate::plate::WellPos>> =
            HashMap::new();
        let mut scans: HashMap<&str, BTreeMap<u64, usize>> = HashMap::new();
        for w in &table.wells {
            let Some(t) = w.time.filter(|&t| t > 0.0) else {
                continue;
            };
            if w.role == Role::Empty {
                continue;
            }
            wells
                .entry(w.plate.as_str())
                .or_default()
                .insert(w.position);
            // Positive floats order as their bits.
            *scans
                .entry(w.plate.as_str())
                .or_default()
                .entry(t.to_bits())
                .or_default() += 1;
        }
        let latest: BTreeMap<String, f64> = scans
            .into_iter()
            .map(|(plate, counts)| {
                let all = wells[plate].len();
                let complete = counts.iter().rev().find(|(_, &n)| n == all);
                let (bits, _) = complete.unwrap_or_else(|| {
                    counts
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
                        .expect("a plate with reads after time 0")
                });
                (plate.to_string(), f64::from_bits(*bits))
            })
            .collect();
        let role = table
            .wells
            .iter()
            .map(|w| match w.time {
                None => ReadRole::Endpoint,
                Some(0.0) => ReadRole::TimeZero,
                Some(t) if latest.get(w.plate.as_str()) == Some(&t) => ReadRole::Endpoint,
                Some(_) => ReadRole::Course,
            })
            .collect();
        ReadPlan {
            role,
            endpoint_time: latest,
        }
    }

    /// Whether every read is an endpoint read (a table without times, or one read per well):
    /// the table is then used as it is.
    pub(crate) fn all_endpoint(&self) -> bool {
        self.role.iter().all(|r| *r == ReadRole::Endpoint)
    }

    /// The endpoint reads as a table of their own, and the index in `table` of each.
    pub fn endpoint_table(&self, table: &WellTable) -> (WellTable, Vec<usize>) {
        let index: Vec<usize> = (0..self.role.len())
            .filter(|&i| self.role[i] == ReadRole::Endpoint)
            .collect();
        let mut wells = table.wells.clone();
        let mut i = 0;
        wells.retain(|_| {
            let keep = self.role[i] == ReadRole::Endpoint;
            i += 1;
            keep
        });
        let endpoint = WellTable {
            wells,
            extra_columns: table.extra_columns.clone(),
            has_replicate: table.has_replicate,
            has_time: table.has_time,
            formats: table.formats.clone(),
            warnings: Vec::new(),
        };
        (endpoint, index)
    }

    /// The outcome of every read of `table` from the outcomes of its endpoint reads
    /// (`endpoint_index` as [`ReadPlan::endpoint_table`] gives it): time-0 and course reads are
    /// excluded from the endpoint analysis, with the reason.
    pub(crate) fn all_outcomes(
        &self,
        table: &WellTable,
        endpoint: &[WellOutcome],
        endpoint_index: &[usize],
    ) -> Vec<WellOutcome> {
        let mut out: Vec<Option<WellOutcome>> = vec![None; self.role.len()];
        for (o, &i) in endpoint.iter().zip(endpoint_index) {
            out[i] = Some(o.clone());
        }
        out.into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    let w = table.wells.get(i);
                    let reason = match self.role[i] {
                        ReadRole::TimeZero => {
                            format!("{NOT_ENDPOINT}: time-0 read, x0 of GR only")
                        }
                        _ => format!(
                            "{NOT_ENDPOINT}: read at {} h, time course (DIP) only; the plate's endpoint is {} h",
                            w.time.unwrap_or(f64::NAN),
                            self.endpoint_time
                                .get(w.plate.as_str())
                                .copied()
                                .unwrap_or(f64::NAN)
                        ),
                    };
                    WellOutcome {
                        viability: None,
                        excluded: true,
                        exclusion_reason: reason.into(),
                    }
                })
            })
            .collect()
    }

    /// Warnings about wells read during the course whose series has no read at the plate's
    /// endpoint (left out of normalization, QC and the viability fits), one per plate.
    ///
    /// A well read only at time 0 is a time-0 well (x₀ of GR, as GRmetrics lays out separate
    /// time-0 wells): it is not missing anything and gets no warning.
    pub fn warnings(&self, table: &WellTable, source: &std::path::Path) -> Vec<Problem> {
        // Per plate and well: whether it has an endpoint read, a course read, and its first line.
        let mut seen: HashMap<(&str, crate::plate::WellPos), (bool, bool, u64)> = HashMap::new();
        for (w, role) in table.wells.iter().zip(&self.role) {
            if w.role == Role::Empty {
                continue;
            }
            let e = seen
                .entry((w.plate.as_str(), w.position))
                .or_insert((false, false, w.line));
            e.0 |= *role == ReadRole::Endpoint;
            e.1 |= *role == ReadRole::Course;
        }
        let mut missing: BTreeMap<&str, Vec<(crate::plate::WellPos, u64)>> = BTreeMap::new();
        for ((plate, pos), (has_endpoint, has_course, line)) in seen {
            if !has_endpoint && has_course {
                missing.entry(plate).or_default().push((pos, line));
            }
        }
        missing
            .into_iter()
            .filter_map(|(plate, mut wells)| {
                let end = *self.endpoint_time.get(plate)?;
                wells.sort();
                let names: Vec<String> = wells.iter().take(5).map(|(p, _)| p.to_string()).collect();
                let more = if wells.len() > 5 {
                    format!(" and {} more", wells.len() - 5)
                } else {
                    String::new()
                };
                Some(Problem {
                    location: Location::file(source)
                        .at_line(wells[0].1)
                        .at_well(plate, ""),
                    message: format!(
                        "{} well(s) ({}{more}) have no read at the plate's endpoint ({end} h, its scan with the most wells: no scan read every well); they are left out of normalization, QC and the viability fits and count only for DIP rates",
                        wells.len(),
                        names.join(", ")
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Table;
    use std::path::Path;

    fn table(text: &str) -> WellTable {
        let mut t = Table::from_bytes(text.as_bytes(), Path::new("w.csv")).unwrap();
        WellTable::from_table(&mut t, None).unwrap()
    }

    #[test]
    fn time_zero_endpoint_and_course_reads() {
        // Plate P: A2 is not read at 48 h, so the endpoint is the last complete scan, 24 h.
        // Plate R has no complete scan: the time with most wells (the latest of equals).
        let t = table(
            "plate,well,cell_line,drug,concentration,role,signal,time\n\
             P,A1,L,,,vehicle,10,0\nP,A1,L,,,vehicle,20,24\nP,A1,L,,,vehicle,40,48\n\
             P,A2,L,d,1,sample,10,0\nP,A2,L,d,1,sample,12,24\n\
             Q,A1,L,,,vehicle,5,\n\
             R,B1,L,,,vehicle,5,24\nR,B2,L,d,1,sample,5,48\n",
        );
        let plan = ReadPlan::of(&t);
        use ReadRole::*;
        assert_eq!(
            plan.role,
            vec![TimeZero, Endpoint, Course, TimeZero, Endpoint, Endpoint, Course, Endpoint]
        );
        assert_eq!(plan.endpoint_time["P"], 24.0);
        assert_eq!(plan.endpoint_time["R"], 48.0);
        let (e, index) = plan.endpoint_table(&t);
        assert_eq!(index, vec![1, 4, 5, 7]);
        assert_eq!(e.wells.len(), 4);
        assert_eq!(e.wells.get(0).time, Some(24.0));
        let w = plan.warnings(&t, Path::new("w.csv"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("1 well(s) (B1)"), "{w:?}");
        assert_eq!(w[0].location.plate.as_deref(), Some("R"));
        let o = plan.all_outcomes(
            &t,
            &vec![
                WellOutcome {
                    viability: Some(1.0),
                    excluded: false,
                    exclusion_reason: "".into(),
                };
                4
            ],
            &index,
        );
        assert_eq!(
            &*o[0].exclusion_reason,
            "not an endpoint read: time-0 read, x0 of GR only"
        );
        assert!(o[2].exclusion_reason.contains("read at 48 h"), "{o:?}");
        assert!(!o[1].excluded && !o[5].excluded);
    }

    #[test]
    fn separate_time_zero_wells_are_not_missing_their_endpoint() {
        // GRmetrics' layout: time-0 wells (A1, A2) read once at 0 h, other wells at 72 h only.
        // The time-0 wells are x0 of GR, not wells that lost their endpoint read; a well read
        // at 0 h and 24 h but not at 72 h (B1) is.
        let t = table(
            "plate,well,cell_line,drug,concentration,role,signal,time\n\
             P,A1,L,,,vehicle,10,0\nP,A2,L,d,1,sample,10,0\n\
             P,A3,L,,,vehicle,40,72\nP,A4,L,d,1,sample,20,72\n\
             P,B1,L,d,1,sample,10,0\nP,B1,L,d,1,sample,12,24\n",
        );
        let plan = ReadPlan::of(&t);
        assert_eq!(plan.endpoint_time["P"], 72.0);
        let w = plan.warnings(&t, Path::new("w.csv"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.starts_with("1 well(s) (B1)"), "{w:?}");
        assert_eq!(w[0].location.line, Some(6), "{w:?}");
    }

    #[test]
    fn a_table_without_times_is_all_endpoint() {
        let t = table("plate,well,cell_line,drug,concentration,role,signal\nP,A1,L,,,vehicle,10\n");
        assert!(ReadPlan::of(&t).all_endpoint());
    }
}
