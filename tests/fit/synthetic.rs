//! Curves with known truth: recovery, statuses, qualifiers, robustness, determinism.

use collateral::fit::synthetic::{
    synthetic_batch, synthetic_curve, SyntheticDesign, SyntheticKind,
};
use collateral::fit::{
    fit_curve, fit_curves, Curve, CurveInput, DosePoint, FitConfig, FitSettings, FitStatus,
    Ic50Qualifier, Model, Plateaus, RobustLoss,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{median, nine_doses, points_of};

#[test]
fn noise_free_curves_are_recovered_exactly_by_each_model() {
    let doses = nine_doses();
    let cases = [
        (
            Model::Ll4,
            Curve {
                top: 0.97,
                bottom: 0.12,
                log10_ec50: -1.3,
                hill: 1.4,
            },
        ),
        (
            Model::Ll3,
            Curve {
                top: 1.0,
                bottom: 0.2,
                log10_ec50: -0.4,
                hill: 0.8,
            },
        ),
        (
            Model::Ll2,
            Curve {
                top: 1.0,
                bottom: 0.0,
                log10_ec50: -2.0,
                hill: 2.2,
            },
        ),
    ];
    for (model, truth) in cases {
        let config = {
            let mut s = FitSettings::default();
            s.model = model;
            s
        }
        .check()
        .unwrap();
        let fit = fit_curve(&points_of(&truth, &doses, 2, |_| 0.0), &config);
        assert_eq!(fit.status, FitStatus::Ok, "{model}: {}", fit.message);
        assert!(
            (fit.ec50.log10() - truth.log10_ec50).abs() < 1e-6,
            "{model}: ec50 {}",
            fit.ec50
        );
        assert!(
            (fit.hill - truth.hill).abs() < 1e-5,
            "{model}: hill {}",
            fit.hill
        );
        assert!((fit.top - truth.top).abs() < 1e-6 && (fit.bottom - truth.bottom).abs() < 1e-6);
        let ic50 = truth.log10_crossing(0.5).unwrap();
        assert!((fit.ic50.log10() - ic50).abs() < 1e-6);
        assert_eq!(fit.ic50_qualifier, Some(Ic50Qualifier::Equal));
        let (lo, hi) = (doses[0].log10(), doses[8].log10());
        assert!((fit.auc - truth.mean_over_log10(lo, hi)).abs() < 1e-6);
        assert!((fit.aac - (1.0 - fit.auc)).abs() < 1e-15);
        assert!(fit.converged && fit.r2 > 0.999_999);
    }
}

#[test]
fn log10_ec50_is_recovered_on_noisy_curves_and_well_formed_curves_never_fail() {
    let design = SyntheticDesign::default();
    let batch = synthetic_batch(&design, 7, 600).unwrap();
    let inputs: Vec<CurveInput> = batch.iter().map(|c| c.input.clone()).collect();
    let fits = fit_curves(
        &inputs,
        &FitConfig::default(),
        &collateral::progress::Silent,
    );
    let mut errors = Vec::new();
    for (c, f) in batch.iter().zip(&fits) {
        assert_ne!(
            f.status,
            FitStatus::Failed,
            "{}: {}",
            c.input.cell_line,
            f.message
        );
        if matches!(c.kind, SyntheticKind::Sigmoid | SyntheticKind::Steep) {
            assert_eq!(
                f.status,
                FitStatus::Ok,
                "{} {:?}: {}",
                c.input.cell_line,
                c.kind,
                f.message
            );
            errors.push((f.ec50.log10() - c.truth.log10_ec50).abs());
        }
    }
    let med = median(errors.clone());
    errors.sort_by(f64::total_cmp);
    let p90 = errors[errors.len() * 9 / 10];
    // σ = 0.05 on 27 points: the noise limit is a few hundredths of a decade.
    assert!(med < 0.06, "median |log10 ec50 error| {med}");
    assert!(p90 < 0.25, "p90 |log10 ec50 error| {p90}");
}

#[test]
fn flat_curves_are_flat_or_censored_never_an_in_range_ic50() {
    let design = SyntheticDesign {
        outlier_rate: 0.0,
        ..SyntheticDesign::default()
    };
    let mut flat_calls = 0;
    let mut n = 0;
    for i in 0..2000 {
        let c = synthetic_curve(&design, 11, i).unwrap();
        if c.kind != SyntheticKind::Flat {
            continue;
        }
        n += 1;
        let f = fit_curve(&c.input.points, &FitConfig::default());
        assert_ne!(
            f.ic50_qualifier,
            Some(Ic50Qualifier::Equal),
            "{}: {f:?}",
            c.input.cell_line
        );
        assert_ne!(f.status, FitStatus::Failed, "{}", f.message);
        if f.status == FitStatus::Flat {
            flat_calls += 1;
            assert!(f.ec50.is_nan() && f.message.contains("not better than a constant"));
            assert_eq!(f.ic50_qualifier, Some(Ic50Qualifier::Greater));
            assert_eq!(f.ic50, 10.0);
        }
    }
    // The F-test at α = 0.05 calls about 95 % of no-effect curves flat.
    assert!(
        flat_calls as f64 >= 0.9 * n as f64,
        "{flat_calls} of {n} flat"
    );
}

#[test]
fn censored_ic50s_carry_the_range_edge_and_no_interval() {
    let doses = nine_doses();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let noise = Normal::new(0.0, 0.02).unwrap();
    let mut noisy = |_| noise.sample(&mut rng);
    // Partial response that never reaches 0.5.
    let partial = Curve {
        top: 1.0,
        bottom: 0.65,
        log10_ec50: -1.0,
        hill: 1.5,
    };
    let f = fit_curve(
        &points_of(&partial, &doses, 3, &mut noisy),
        &FitConfig::default(),
    );
    assert_eq!(f.status, FitStatus::Ok, "{}", f.message);
    assert_eq!(f.ic50_qualifier, Some(Ic50Qualifier::Greater));
    assert_eq!(f.ic50, doses[8]);
    assert!(f.ic50_ci_low.is_nan() && f.ic50_ci_high.is_nan() && f.log10_ic50_se.is_nan());
    assert!(f.ec50.is_finite() && f.log10_ec50_se.is_finite());
    // Potent drug: below 0.5 from the lowest dose on, but the upper part of the fall is seen.
    let potent = Curve {
        top: 1.0,
        bottom: 0.05,
        log10_ec50: -2.9,
        hill: 1.0,
    };
    let f = fit_curve(
        &points_of(&potent, &doses, 3, &mut noisy),
        &FitConfig::default(),
    );
    assert_eq!(f.ic50_qualifier, Some(Ic50Qualifier::Less), "{f:?}");
    assert_eq!(f.ic50, doses[0]);
}

#[test]
fn confidence_intervals_bracket_the_estimate_and_cover_the_truth_mostly() {
    let doses = nine_doses();
    let truth = Curve {
        top: 1.0,
        bottom: 0.1,
        log10_ec50: -1.0,
        hill: 1.2,
    };
    let true_ic50 = truth.log10_crossing(0.5).unwrap();
    let noise = Normal::new(0.0, 0.05).unwrap();
    let mut covered = 0;
    let runs = 200;
    for seed in 0..runs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let f = fit_curve(
            &points_of(&truth, &doses, 3, |_| noise.sample(&mut rng)),
            &FitConfig::default(),
        );
        assert_eq!(f.status, FitStatus::Ok);
        assert!(f.ic50_ci_low < f.ic50 && f.ic50 < f.ic50_ci_high);
        assert!(f.ec50_ci_low < f.ec50 && f.ec50 < f.ec50_ci_high);
        assert!(f.log10_ic50_se > 0.0 && f.log10_ec50_se > 0.0);
        if f.ic50_ci_low.log10() <= true_ic50 && true_ic50 <= f.ic50_ci_high.log10() {
            covered += 1;
        }
    }
    // Nominal 95 %; the delta method on 27 points is close to nominal.
    assert!((180..=200).contains(&covered), "coverage {covered}/{runs}");
}

#[test]
fn too_few_doses_is_insufficient_data_with_the_reason() {
    let curve = Curve {
        top: 1.0,
        bottom: 0.1,
        log10_ec50: 0.0,
        hill: 1.0,
    };
    let points = points_of(&curve, &[0.1, 1.0, 10.0, 100.0], 3, |i| {
        0.01 * (i % 3) as f64
    });
    let f = fit_curve(&points, &FitConfig::default());
    assert_eq!(f.status, FitStatus::InsufficientData);
    assert!(
        f.message.contains("at least 5 distinct concentrations") && f.message.contains("got 4"),
        "{}",
        f.message
    );
    // ll2 needs only 3.
    let ll2 = {
        let mut s = FitSettings::default();
        s.model = Model::Ll2;
        s
    }
    .check()
    .unwrap();
    assert_eq!(fit_curve(&points, &ll2).status, FitStatus::Ok);
    assert_eq!(
        fit_curve(&[], &FitConfig::default()).status,
        FitStatus::InsufficientData
    );
}

#[test]
fn bad_points_are_reported_not_fatal() {
    let doses = nine_doses();
    let truth = Curve {
        top: 1.0,
        bottom: 0.1,
        log10_ec50: -1.0,
        hill: 1.2,
    };
    let mut points = points_of(&truth, &doses, 2, |i| 0.01 * ((i % 5) as f64 - 2.0));
    points.push(DosePoint {
        concentration: f64::NAN,
        response: 0.5,
    });
    points.push(DosePoint {
        concentration: 1.0,
        response: f64::INFINITY,
    });
    points.push(DosePoint {
        concentration: -1.0,
        response: 0.5,
    });
    points.push(DosePoint {
        concentration: 0.0,
        response: 1.0,
    });
    let f = fit_curve(&points, &FitConfig::default());
    assert_eq!(f.status, FitStatus::Ok, "{}", f.message);
    assert_eq!(f.n_points, 18);
    for needle in [
        "2 point(s) with a non-finite",
        "1 point(s) at concentration 0",
        "1 point(s) with a negative",
    ] {
        assert!(
            f.message.contains(needle),
            "{needle:?} not in {:?}",
            f.message
        );
    }
    let garbage = vec![
        DosePoint {
            concentration: f64::NAN,
            response: f64::NAN
        };
        30
    ];
    assert_eq!(
        fit_curve(&garbage, &FitConfig::default()).status,
        FitStatus::InsufficientData
    );
    let huge: Vec<DosePoint> = doses
        .iter()
        .map(|&c| DosePoint {
            concentration: c,
            response: if c > 0.1 { 1e300 } else { -1e300 },
        })
        .collect();
    let f = fit_curve(&huge, &FitConfig::default());
    assert!(!f.message.is_empty());
}

#[test]
fn observed_plateaus_fix_top_and_bottom_at_the_extremes() {
    let doses = nine_doses();
    let truth = Curve {
        top: 0.95,
        bottom: 0.15,
        log10_ec50: -1.2,
        hill: 1.0,
    };
    let mut points = points_of(&truth, &doses, 1, |i| 0.02 * ((i % 3) as f64 - 1.0));
    points.push(DosePoint {
        concentration: 0.0,
        response: 1.0,
    });
    let config = {
        let mut s = FitSettings::default();
        s.plateaus = Plateaus::Observed;
        s
    }
    .check()
    .unwrap();
    let f = fit_curve(&points, &config);
    assert_eq!(f.status, FitStatus::Ok, "{}", f.message);
    // The untreated point is the highest response; the lowest dose-point is the bottom.
    assert_eq!(f.top, 1.0);
    let min = points
        .iter()
        .map(|p| p.response)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(f.bottom, min);
    assert_eq!(f.dof, 9 - 2);
}

#[test]
fn robust_fit_flags_an_outlier_and_resists_it() {
    let doses = nine_doses();
    let noise = Normal::new(0.0, 0.03).unwrap();
    let (mut robust_err, mut ols_err) = (Vec::new(), Vec::new());
    let cauchy = {
        let mut s = FitSettings::default();
        s.robust = RobustLoss::Cauchy;
        s
    }
    .check()
    .unwrap();
    let huber = {
        let mut s = FitSettings::default();
        s.robust = RobustLoss::Huber;
        s
    }
    .check()
    .unwrap();
    for seed in 0..40u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let truth = Curve {
            top: 1.0,
            bottom: 0.1,
            log10_ec50: rng.random_range(-2.0..0.0),
            hill: 1.3,
        };
        let mut points = points_of(&truth, &doses, 3, |_| noise.sample(&mut rng));
        // One dead well in the upper plateau.
        let bad = rng.random_range(0..3usize);
        points[bad].response = 0.02;
        let r = fit_curve(&points, &cauchy);
        assert_eq!(r.status, FitStatus::Ok, "{}", r.message);
        assert!(
            r.outliers.contains(&bad),
            "seed {seed}: outliers {:?}, {}",
            r.outliers,
            r.message
        );
        assert!(r.message.contains("robust cauchy fit by IRLS"));
        assert_eq!(r.n_outliers, r.outliers.len());
        let h = fit_curve(&points, &huber);
        assert_eq!(h.status, FitStatus::Ok);
        let o = fit_curve(&points, &FitConfig::default());
        assert_eq!(o.n_outliers, 0);
        robust_err.push((r.ec50.log10() - truth.log10_ec50).abs());
        ols_err.push((o.ec50.log10() - truth.log10_ec50).abs());
    }
    assert!(
        median(robust_err.clone()) < median(ols_err.clone()),
        "{robust_err:?} vs {ols_err:?}"
    );
}

#[test]
fn results_are_identical_with_one_and_several_threads() {
    let batch = synthetic_batch(&SyntheticDesign::default(), 5, 300).unwrap();
    let inputs: Vec<CurveInput> = batch.into_iter().map(|c| c.input).collect();
    let config = {
        let mut s = FitSettings::default();
        s.robust = RobustLoss::Huber;
        s
    }
    .check()
    .unwrap();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit_curves(&inputs, &config, &collateral::progress::Silent))
    };
    let one = run(1);
    let three = run(3);
    assert_eq!(one.len(), inputs.len());
    for ((a, b), input) in one.iter().zip(&three).zip(&inputs) {
        assert_eq!(a.cell_line, input.cell_line);
        assert_eq!(a.to_record(), b.to_record());
    }
}

/// Counts what a progress observer is told, from every thread.
#[derive(Default)]
struct Counting {
    advanced: std::sync::atomic::AtomicU64,
    calls: std::sync::atomic::AtomicU64,
}

impl collateral::progress::Progress for Counting {
    fn begin(&self, _: collateral::progress::Stage, _: &'static str, _: Option<u64>) {}
    fn advance(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.advanced.fetch_add(n, Relaxed);
        self.calls.fetch_add(1, Relaxed);
    }
    fn end(&self, _: u64) {}
}

#[test]
fn progress_counts_every_curve_and_changes_no_fit_nor_their_order() {
    use std::sync::atomic::Ordering::Relaxed;
    let batch = synthetic_batch(&SyntheticDesign::default(), 11, 200).unwrap();
    let inputs: Vec<CurveInput> = batch.into_iter().map(|c| c.input).collect();
    let config = FitConfig::default();
    let plain = fit_curves(&inputs, &config, &collateral::progress::Silent);
    for threads in [1, 3] {
        let counting = Counting::default();
        let observed = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit_curves(&inputs, &config, &counting));
        assert_eq!(counting.advanced.load(Relaxed), inputs.len() as u64);
        assert_eq!(counting.calls.load(Relaxed), inputs.len() as u64);
        assert_eq!(observed.len(), plain.len());
        for (a, b) in plain.iter().zip(&observed) {
            assert_eq!(a.to_record(), b.to_record());
        }
    }
}

#[test]
fn settings_are_validated_once() {
    let bad = {
        let mut s = FitSettings::default();
        s.hill_bounds = (0.0, 10.0);
        s.ci_level = 1.5;
        s
    };
    let e = bad.check().unwrap_err();
    assert!(
        e.to_string().contains("hill bounds must be positive"),
        "{e}"
    );
    assert!(e.to_string().contains("CI level"), "{e}");
    assert!("ll5".parse::<Model>().is_err());
    assert_eq!("observed".parse::<Plateaus>(), Ok(Plateaus::Observed));
}

/// The design's fields are public: a NaN noise, an outlier rate outside [0, 1] or a series
/// narrower than a decade is an error naming the field, never a panic.
#[test]
fn a_bad_synthetic_design_is_an_error_not_a_panic() {
    for (design, field) in [
        (
            SyntheticDesign {
                noise_sd: f64::NAN,
                ..SyntheticDesign::default()
            },
            "noise_sd",
        ),
        (
            SyntheticDesign {
                noise_sd: -1.0,
                ..SyntheticDesign::default()
            },
            "noise_sd",
        ),
        (
            SyntheticDesign {
                outlier_rate: 1.5,
                ..SyntheticDesign::default()
            },
            "outlier_rate",
        ),
        (
            SyntheticDesign {
                concentrations: vec![1.0, 2.0],
                ..SyntheticDesign::default()
            },
            "span",
        ),
        (
            SyntheticDesign {
                concentrations: vec![],
                ..SyntheticDesign::default()
            },
            "span",
        ),
    ] {
        let err = synthetic_curve(&design, 1, 0).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
        assert!(synthetic_batch(&design, 1, 3).is_err());
    }
}
