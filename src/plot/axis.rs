//! Axis labels that stay short, so a plot a third of a screen wide keeps its scale readable as
//! counts grow (egui_plot drops labels that would overlap: "10000 20000 ..." left only "0").

use std::ops::RangeInclusive;

use egui_plot::{GridInput, GridMark};

/// A count as at most about four characters: 950, 12k, 2.5k, 1.2M.
pub fn compact_count(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        return format!("{value:.0}");
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

/// Grid lines for an axis that holds log10 of a quantity (pair with [`log10_label`]).
pub fn log10_grid_spacer() -> Box<dyn Fn(GridInput) -> Vec<GridMark>> {
    nice_grid_spacer(LOG10_AXIS_INTERVALS)
}

/// The label of a log10 axis mark as the quantity itself: "1", "0.01", "1e-6", "3.2e-5";
/// empty between the labelled steps (egui_plot then paints no text there).
pub fn log10_label(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    label_on_step(mark, range, LOG10_AXIS_INTERVALS, power_of_ten)
}

/// Grid lines for a count axis (pair with [`count_label`]).
pub fn count_grid_spacer() -> Box<dyn Fn(GridInput) -> Vec<GridMark>> {
    nice_grid_spacer(COUNT_AXIS_INTERVALS)
}

/// The label of a count axis mark as [`compact_count`]; empty between the labelled steps.
pub fn count_label(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    label_on_step(mark, range, COUNT_AXIS_INTERVALS, compact_count)
}

/// 10^`log10` as short text: whole decades as "1e-6" (plain digits from 0.01 to 100), others
/// with two significant digits (whole numbers from 100 up).
pub fn power_of_ten(log10: f64) -> String {
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
    use super::{compact_count, count_label, log10_label, nice_step, power_of_ten};
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
