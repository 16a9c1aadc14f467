//! Axis labels that stay short, so a plot a third of a screen wide keeps its scale readable as
//! counts grow (egui_plot drops labels that would overlap: "10000 20000 ..." left only "0").

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

#[cfg(test)]
mod tests {
    use super::compact_count;

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
