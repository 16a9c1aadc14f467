//! Axis labels that stay short, so a plot a third of a screen wide keeps its scale readable as
//! counts grow (egui_plot drops labels that would overlap: "10000 20000 ..." left only "0").

use std::ops::RangeInclusive;

use egui_plot::{GridInput, GridMark};

/// A count as at most about four characters: 950, 12k, 2.5k, 1.2M (fractions below 1,000 with
/// at most two decimals: 0.5).
pub fn compact_count(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else if (value - value.round()).abs() < 1e-9 {
        // `+ 0.0` turns -0 into 0: no "-0" label.
        return format!("{:.0}", value.round() + 0.0);
    } else {
        // A fraction (an axis spanning a few units steps by 0.2 or 0.5): at most two decimals.
        let text = format!("{value:.2}");
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        return if trimmed == "-0" { "0" } else { trimmed }.to_string();
    };
    let text = if scaled.abs() >= 10.0 || scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else {
        format!("{scaled:.1}")
    };
    format!("{text}{suffix}")
}

/// Most intervals between labels on a log10 axis: at the labs' 200-point plot heights that
/// keeps them about 40 points apart.
const LOG10_AXIS_INTERVALS: f64 = 5.0;
/// Most intervals between labels on a count axis: a third of a 1280-point screen is about 300
/// points, and egui_plot paints x labels only more than 60 points apart.
const COUNT_AXIS_INTERVALS: f64 = 4.0;
/// Most intervals on a count y axis: y labels need only 20 points, so a 360-point plot has room
/// for more.
const COUNT_Y_AXIS_INTERVALS: f64 = 5.0;

/// The labelled step of an axis spanning `span`: the smallest of ..., 0.1, 0.2, 0.5, 1, 2, 5,
/// 10, ... that leaves at most `max_intervals` intervals. Why: egui_plot's default marks step in
/// powers of ten only, so a loss falling through twelve decades in 200 points put its
/// one-decade labels 17 points apart, too close to paint, and the next step (ten decades) left
/// the GFlowNet loss axis with the single label "0"; 56,000 trajectories likewise had no x label
/// but "0".
pub fn nice_step(span: f64, max_intervals: f64) -> f64 {
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        1.0
    };
    let target = span / max_intervals.max(1.0);
    let decade = 10f64.powf(target.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&step| step >= target * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// Grid lines at [`nice_step`], a finer one between (a fifth, or a half of a 2-step) and a
/// coarser one.
fn nice_grid_spacer(max_intervals: f64) -> Box<dyn Fn(GridInput) -> Vec<GridMark>> {
    egui_plot::uniform_grid_spacer(move |input: GridInput| {
        let step = nice_step((input.bounds.1 - input.bounds.0).abs(), max_intervals);
        let leading = step / 10f64.powf(step.log10().floor());
        let fine = if (leading - 2.0).abs() < 1e-9 {
            step / 2.0
        } else {
            step / 5.0
        };
        [fine, step, 10.0 * step]
    })
}

/// `text(mark)` where the mark is a whole number of [`nice_step`]s, else empty (egui_plot then
/// paints no label there).
fn label_on_step(
    mark: GridMark,
    range: &RangeInclusive<f64>,
    max_intervals: f64,
    text: fn(f64) -> String,
) -> String {
    let step = nice_step(range.end() - range.start(), max_intervals);
    let multiples = mark.value / step;
    if (multiples - multiples.round()).abs() < 1e-6 {
        text(mark.value)
    } else {
        String::new()
    }
}

/// `plot` with its x axis as a count (trajectories, steps): [`count_grid_spacer`] and
/// [`count_label`].
pub fn count_x(plot: egui_plot::Plot<'_>) -> egui_plot::Plot<'_> {
    plot.x_grid_spacer(count_grid_spacer())
        .x_axis_formatter(count_label)
}

/// `plot` with its y axis as a count or a total (regret in loss units): 1-2-5 steps, at most
/// five intervals, labels as [`compact_count`].
pub fn count_y(plot: egui_plot::Plot<'_>) -> egui_plot::Plot<'_> {
    plot.y_grid_spacer(nice_grid_spacer(COUNT_Y_AXIS_INTERVALS))
        .y_axis_formatter(|mark, range| {
            label_on_step(mark, range, COUNT_Y_AXIS_INTERVALS, compact_count)
        })
}

/// `plot` with its y axis holding log10 of a quantity: [`log10_grid_spacer`] and
/// [`log10_label`].
pub fn log10_y(plot: egui_plot::Plot<'_>) -> egui_plot::Plot<'_> {
    plot.y_grid_spacer(log10_grid_spacer())
        .y_axis_formatter(log10_label)
}

/// `plot` with its x axis holding log10 of a quantity: [`log10_grid_spacer`] and
/// [`log10_label`].
pub fn log10_x(plot: egui_plot::Plot<'_>) -> egui_plot::Plot<'_> {
    plot.x_grid_spacer(log10_grid_spacer())
        .x_axis_formatter(log10_label)
}

/// Narrowest and widest spans, in decades, that a log10 axis labels at 1, 2 and 5 times each
/// power of ten. Why: with whole steps of the exponent, 1.5 decades (the bandits' horizons
/// 156..5,000) got the single label "1000", and half-decade steps read "3.2", "32". Narrower
/// spans keep the exponent steps (1, 2, 5 could leave a single label); wider ones have room for
/// decades.
const ONE_TWO_FIVE_DECADES: RangeInclusive<f64> = 0.7..=2.5;
/// The step size egui_plot is told for the 2 and 5 marks: their smallest gap to a neighbour
/// (1 to 2 and 5 to 10), so that it paints their labels only where those gaps have room.
const TWO_FIVE_STEP: f64 = std::f64::consts::LOG10_2;
/// The step size of the unlabelled lines at 3, 4, 6, 7, 8 and 9 times a power of ten (faint).
const FINE_LOG_STEP: f64 = 0.05;

/// Whether a log10 axis over `span` decades is labelled at 1, 2 and 5 times powers of ten.
fn labels_one_two_five(span: f64) -> bool {
    ONE_TWO_FIVE_DECADES.contains(&span.abs())
}

/// Grid lines for an axis that holds log10 of a quantity (pair with [`log10_label`]): at
/// [`nice_step`]s of the exponent, or, over 0.7 to 2.5 decades, at every digit times a power of
/// ten (1, 2, 5 labelled).
fn log10_grid_spacer() -> Box<dyn Fn(GridInput) -> Vec<GridMark>> {
    let exponent_steps = nice_grid_spacer(LOG10_AXIS_INTERVALS);
    Box::new(move |input: GridInput| {
        let (low, high) = input.bounds;
        if labels_one_two_five(high - low) {
            digit_marks(low.min(high), low.max(high))
        } else {
            exponent_steps(input)
        }
    })
}

/// Marks at log10(d * 10^k) for every digit d within [low, high]: decades strongest, 2 and 5
/// next, the rest faint.
fn digit_marks(low: f64, high: f64) -> Vec<GridMark> {
    // The span is at most 2.5 decades here, so at most four decades are visited.
    let first_decade = low.floor() as i64;
    let last_decade = high.ceil() as i64;
    let mut marks = Vec::new();
    for decade in first_decade..=last_decade {
        for digit in 1..=9u8 {
            let value = decade as f64 + f64::from(digit).log10();
            if value < low || value > high {
                continue;
            }
            let step_size = match digit {
                1 => 1.0,
                2 | 5 => TWO_FIVE_STEP,
                _ => FINE_LOG_STEP,
            };
            marks.push(GridMark { value, step_size });
        }
    }
    marks
}

/// The label of a log10 axis mark as the quantity itself: "1", "0.01", "1e-6", "3.2e-5"; over
/// 0.7 to 2.5 decades "200", "500", "1000", "2000", "0.05"; empty between the labelled marks
/// (egui_plot then paints no text there).
fn log10_label(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    if !labels_one_two_five(range.end() - range.start()) {
        return label_on_step(mark, range, LOG10_AXIS_INTERVALS, power_of_ten);
    }
    let decade = mark.value.floor();
    let leading = 10f64.powf(mark.value - decade);
    let digit = leading.round();
    if (leading - digit).abs() > 1e-6 || ![1.0, 2.0, 5.0].contains(&digit) {
        return String::new();
    }
    digit_times_power_of_ten(digit, decade as i32)
}

/// `digit` x 10^`decade` as plain digits from 0.001 to 99,999 ("0.05", "2000"), else as "5e-6".
fn digit_times_power_of_ten(digit: f64, decade: i32) -> String {
    match decade {
        0..=4 => format!("{:.0}", digit * 10f64.powi(decade)),
        -3..=-1 => {
            let decimals = decade.unsigned_abs() as usize;
            format!("{:.decimals$}", digit * 10f64.powi(decade))
        }
        _ => format!("{digit:.0}e{decade}"),
    }
}

/// Grid lines for a count axis (pair with [`count_label`]).
fn count_grid_spacer() -> Box<dyn Fn(GridInput) -> Vec<GridMark>> {
    nice_grid_spacer(COUNT_AXIS_INTERVALS)
}

/// The label of a count axis mark as [`compact_count`]; empty between the labelled steps and
/// where no count can be. Why: an empty plot (before training) spans egui_plot's default -1..1,
/// whose half-steps read "-0", "0", "0" (-0.5, 0 and 0.5 rounded).
fn count_label(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    let whole = (mark.value - mark.value.round()).abs() < 1e-9;
    if !whole || mark.value < -0.5 {
        return String::new();
    }
    label_on_step(mark, range, COUNT_AXIS_INTERVALS, compact_count)
}

/// 10^`log10` as short text: whole decades as "1e-6" (plain digits from 0.01 to 100), others
/// with two significant digits (whole numbers from 100 up).
fn power_of_ten(log10: f64) -> String {
    let rounded = log10.round();
    if (log10 - rounded).abs() < 1e-9 {
        return match rounded as i64 {
            -2 => "0.01".into(),
            -1 => "0.1".into(),
            0 => "1".into(),
            1 => "10".into(),
            2 => "100".into(),
            k => format!("1e{k}"),
        };
    }
    let value = 10f64.powf(log10);
    if (0.01..1000.0).contains(&value) {
        let decimals = (1.0 - log10.floor()).max(0.0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::{
        compact_count, count_label, digit_marks, digit_times_power_of_ten, log10_label, nice_step,
        power_of_ten,
    };
    use egui_plot::GridMark;

    #[test]
    fn only_whole_steps_get_labels() {
        let mark = |value| GridMark {
            value,
            step_size: 1.0,
        };
        // 0..56,000 trajectories: labels every 20k, none on the finer lines between.
        assert_eq!(count_label(mark(40_000.0), &(0.0..=56_000.0)), "40k");
        assert_eq!(count_label(mark(4_000.0), &(0.0..=56_000.0)), "");
        // Twelve decades: labels every 5 decades.
        assert_eq!(log10_label(mark(-10.0), &(-11.0..=1.0)), "1e-10");
        assert_eq!(log10_label(mark(-4.0), &(-11.0..=1.0)), "");
        // An empty plot's default -1..1: 0 and 1, no "-0" and no half counts.
        let empty = -1.0..=1.0;
        let labels: Vec<String> = [-1.0, -0.5, 0.0, 0.5, 1.0]
            .into_iter()
            .map(|v| count_label(mark(v), &empty))
            .collect();
        assert_eq!(labels, ["", "", "0", "", "1"]);
        assert_eq!(compact_count(-0.0), "0");
        assert_eq!(compact_count(-0.5), "-0.5");
        assert_eq!(compact_count(0.2), "0.2");
        assert_eq!(compact_count(3.001), "3");
        assert_eq!(compact_count(-0.001), "0");
        assert_eq!(compact_count(-3.0), "-3");
    }

    #[test]
    fn steps_are_1_2_5_and_leave_at_most_the_intervals_asked() {
        for (span, step) in [
            (12.0, 5.0),
            (10.0, 2.0),
            (9.0, 2.0),
            (5.0, 1.0),
            (3.0, 1.0),
            (1.0, 0.2),
            (0.3, 0.1),
            (40.0, 10.0),
            (0.0, 0.2),
            (f64::NAN, 0.2),
        ] {
            let got = nice_step(span, 5.0);
            assert!(
                (got - step).abs() < 1e-12,
                "span {span}: {got} against {step}"
            );
            if span.is_finite() && span > 0.0 {
                assert!(span / got <= 5.0 + 1e-9, "span {span}: {got}");
            }
        }
        // Trajectory counts at four intervals: 56,000 gets labels every 20k.
        assert_eq!(nice_step(56_000.0, 4.0), 20_000.0);
        assert_eq!(nice_step(129_000.0, 4.0), 50_000.0);
    }

    #[test]
    fn short_log_axes_are_labelled_at_one_two_five() {
        // The bandits' horizons, 156..5,000: 200, 500, 1000, 2000, 5000; 3000 unlabelled.
        let range = 156f64.log10()..=5000f64.log10();
        let marks = digit_marks(*range.start(), *range.end());
        let labels: Vec<String> = marks
            .iter()
            .map(|m| log10_label(*m, &range))
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(labels, ["200", "500", "1000", "2000", "5000"]);
        assert_eq!(marks.len(), 13, "every digit's line from 200 to 5000");
        // The MaM speed axis, 0.07..3.2 ms: from 0.1 to 2.
        let range = 0.07f64.log10()..=3.2f64.log10();
        let labels: Vec<String> = digit_marks(*range.start(), *range.end())
            .iter()
            .map(|m| log10_label(*m, &range))
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(labels, ["0.1", "0.2", "0.5", "1", "2"]);
        // Far from 1: exponents.
        assert_eq!(digit_times_power_of_ten(5.0, -6), "5e-6");
        assert_eq!(digit_times_power_of_ten(2.0, 5), "2e5");
        assert_eq!(digit_times_power_of_ten(5.0, -3), "0.005");
        // Wider spans keep the exponent steps: three decades label whole decades only.
        let wide = 0.0..=3.0;
        assert_eq!(
            log10_label(
                GridMark {
                    value: 2f64.log10(),
                    step_size: 0.3
                },
                &wide
            ),
            ""
        );
        assert_eq!(
            log10_label(
                GridMark {
                    value: 1.0,
                    step_size: 1.0
                },
                &wide
            ),
            "10"
        );
    }

    #[test]
    fn powers_of_ten_read_as_the_quantity() {
        for (log10, text) in [
            (0.0, "1"),
            (-1.0, "0.1"),
            (-2.0, "0.01"),
            (2.0, "100"),
            (-6.0, "1e-6"),
            (-10.0, "1e-10"),
            (3.0, "1e3"),
            (-0.5, "0.32"),
            (-4.5, "3.2e-5"),
            (2.5, "316"),
            (0.5, "3.2"),
            (-1.5, "0.032"),
        ] {
            assert_eq!(power_of_ten(log10), text, "{log10}");
        }
    }

    #[test]
    fn counts_are_short_and_exact_where_round() {
        for (value, text) in [
            (0.0, "0"),
            (950.0, "950"),
            (1000.0, "1k"),
            (2500.0, "2.5k"),
            (12_000.0, "12k"),
            (57_616.0, "58k"),
            (1_200_000.0, "1.2M"),
            (3e9, "3G"),
            (-2000.0, "-2k"),
        ] {
            assert_eq!(compact_count(value), text, "{value}");
        }
    }
}
