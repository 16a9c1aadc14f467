//! A grid of coloured cells with optional overlays (polylines in cell coordinates) and a
//! clicked-cell report, for distributions over 2D grids.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};

/// Approximation of matplotlib's viridis (perceptually uniform, colour-blind safe), t in [0, 1].
pub fn viridis(t: f32) -> Color32 {
    const STOPS: [(f32, [u8; 3]); 6] = [
        (0.0, [68, 1, 84]),
        (0.2, [65, 68, 135]),
        (0.4, [42, 120, 142]),
        (0.6, [34, 168, 132]),
        (0.8, [122, 209, 81]),
        (1.0, [253, 231, 37]),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    for pair in STOPS.windows(2) {
        let ((t0, c0), (t1, c1)) = (pair[0], pair[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            let mix =
                |a: u8, b: u8| (f32::from(a) + f * (f32::from(b) - f32::from(a))).round() as u8;
            return Color32::from_rgb(mix(c0[0], c1[0]), mix(c0[1], c1[1]), mix(c0[2], c1[2]));
        }
    }
    Color32::from_rgb(253, 231, 37)
}

/// A heat map of `values` (rows x cols, row-major; row 0 drawn at the bottom, like a plot).
pub struct HeatMap<'a> {
    pub title: &'a str,
    pub values: &'a [f64],
    pub rows: usize,
    pub cols: usize,
    /// Colour scale maximum (values above saturate); `None`: the largest value.
    pub max: Option<f64>,
    /// Polylines in cell coordinates (x = column, y = row), drawn over the cells.
    pub paths: &'a [Vec<(f32, f32)>],
    /// Cells outlined (e.g. modes found), as (column, row).
    pub marked: &'a [(usize, usize)],
    pub hover_text: &'a dyn Fn(usize, usize) -> String,
}

impl HeatMap<'_> {
    /// Draws into a square of `side` points; returns the clicked cell (column, row), if any.
    pub fn ui(&self, ui: &mut egui::Ui, side: f32) -> Option<(usize, usize)> {
        ui.vertical(|ui| {
            ui.label(egui::RichText::new(self.title).strong());
            let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::click());
            let painter = ui.painter_at(rect);
            let (rows, cols) = (self.rows.max(1), self.cols.max(1));
            let cell = Vec2::new(rect.width() / cols as f32, rect.height() / rows as f32);
            let max = self
                .max
                .unwrap_or_else(|| self.values.iter().copied().fold(0.0, f64::max))
                .max(f64::MIN_POSITIVE);
            let cell_rect = |c: usize, r: usize| {
                let min = Pos2::new(
                    rect.left() + c as f32 * cell.x,
                    rect.bottom() - (r + 1) as f32 * cell.y,
                );
                Rect::from_min_size(min, cell)
            };
            for r in 0..rows {
                for c in 0..cols {
                    let v = self.values.get(r * cols + c).copied().unwrap_or(0.0);
                    painter.rect_filled(cell_rect(c, r), 0.0, viridis((v / max) as f32));
                }
            }
            let to_screen = |(x, y): (f32, f32)| {
                Pos2::new(
                    rect.left() + (x + 0.5) * cell.x,
                    rect.bottom() - (y + 0.5) * cell.y,
                )
            };
            let path_colour = Color32::from_rgba_unmultiplied(255, 255, 255, 150);
            for path in self.paths {
                let points: Vec<Pos2> = path.iter().copied().map(to_screen).collect();
                painter.add(egui::Shape::line(points, Stroke::new(1.5, path_colour)));
                if let Some(&end) = path.last() {
                    painter.circle_filled(to_screen(end), 2.5, Color32::WHITE);
                }
            }
            for &(c, r) in self.marked {
                painter.rect_stroke(
                    cell_rect(c, r),
                    0.0,
                    Stroke::new(2.0, Color32::from_rgb(255, 80, 80)),
                    egui::StrokeKind::Inside,
                );
            }
            let locate = |pos: Pos2| {
                let c = ((pos.x - rect.left()) / cell.x).floor();
                let r = ((rect.bottom() - pos.y) / cell.y).floor();
                (c >= 0.0 && r >= 0.0 && (c as usize) < cols && (r as usize) < rows)
                    .then_some((c as usize, r as usize))
            };
            if let Some(pos) = response.hover_pos()
                && let Some((c, r)) = locate(pos)
            {
                response.clone().on_hover_text((self.hover_text)(c, r));
            }
            if response.clicked() {
                response.interact_pointer_pos().and_then(locate)
            } else {
                None
            }
        })
        .inner
    }
}

#[cfg(test)]
mod tests {
    use super::viridis;

    #[test]
    fn viridis_ends_and_bad_input() {
        assert_eq!(viridis(0.0), egui::Color32::from_rgb(68, 1, 84));
        assert_eq!(viridis(1.0), egui::Color32::from_rgb(253, 231, 37));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
    }
}
