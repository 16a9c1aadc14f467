//! The home page's lab thumbnails: small pictures drawn with the painter (no image files).

use egui::{Color32, Painter, Pos2, Rect, Stroke, Vec2, pos2};

/// Whether the page is in the dark theme (the thumbnails' paper follows it).
fn dark(painter: &Painter) -> bool {
    painter.ctx().global_style().visuals.dark_mode
}

fn frame(painter: &Painter, rect: Rect) {
    let (paper, edge) = if dark(painter) {
        (Color32::from_gray(32), Color32::from_gray(80))
    } else {
        (Color32::from_gray(245), Color32::from_gray(180))
    };
    painter.rect_filled(rect, 4.0, paper);
    painter.rect_stroke(rect, 4.0, Stroke::new(1.0, edge), egui::StrokeKind::Inside);
}

fn at(rect: Rect, x: f32, y: f32) -> Pos2 {
    pos2(
        rect.left() + x * rect.width(),
        rect.bottom() - y * rect.height(),
    )
}

/// Device: a roofline-like pair of bars (copy bandwidth, GEMV as a fraction of it).
pub fn device(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let inner = rect.shrink(10.0);
    for (i, (height, color)) in [
        (0.9, Color32::from_rgb(78, 121, 167)),
        (0.72, Color32::from_rgb(242, 142, 43)),
    ]
    .into_iter()
    .enumerate()
    {
        let x0 = 0.15 + 0.45 * i as f32;
        painter.rect_filled(
            Rect::from_two_pos(at(inner, x0, 0.0), at(inner, x0 + 0.3, height)),
            2.0,
            color,
        );
    }
}

/// GFlowNets: the standard hypergrid reward on an 8 x 8 grid (R0 0.1, band 0.5, modes 2).
pub fn gflownet(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let h = 8;
    let side = (rect.height() - 8.0) / h as f32;
    let origin = pos2(rect.center().x - side * h as f32 / 2.0, rect.top() + 4.0);
    let coord = |i: usize| (i as f64 / (h - 1) as f64 - 0.5).abs();
    for x in 0..h {
        for y in 0..h {
            let band = coord(x) > 0.25 && coord(y) > 0.25;
            let mode = [x, y].iter().all(|&i| (0.3..0.4).contains(&coord(i)));
            let reward = 0.1 + if band { 0.5 } else { 0.0 } + if mode { 2.0 } else { 0.0 };
            let cell = Rect::from_min_size(
                origin + egui::vec2(x as f32 * side, y as f32 * side),
                egui::vec2(side, side),
            );
            painter.rect_filled(cell, 0.0, super::viridis((reward / 2.6) as f32));
        }
    }
}

/// Bandits: regret curves, linear for the switching baselines, flat for the paper's algorithm.
pub fn bandits(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let inner = rect.shrink(8.0);
    let lines: [(&[(f32, f32)], Color32); 3] = [
        (&[(0.0, 0.0), (1.0, 0.95)], Color32::from_rgb(214, 39, 140)),
        (&[(0.0, 0.0), (1.0, 0.55)], Color32::from_rgb(117, 107, 177)),
        (
            &[(0.0, 0.0), (0.12, 0.2), (0.3, 0.3), (1.0, 0.33)],
            Color32::from_rgb(230, 85, 13),
        ),
    ];
    for (points, color) in lines {
        let pts: Vec<Pos2> = points.iter().map(|&(x, y)| at(inner, x, y)).collect();
        painter.line(pts, Stroke::new(2.0, color));
    }
}

/// Fairness: two stacked bars, global (unique + redundant) and local (unique + masked).
pub fn fairness(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let inner = rect.shrink(10.0);
    let unique = Color32::from_rgb(78, 121, 167);
    let stacks: [(f32, [(f32, Color32); 2]); 2] = [
        (
            0.15,
            [(0.35, unique), (0.5, Color32::from_rgb(242, 142, 43))],
        ),
        (
            0.55,
            [(0.35, unique), (0.25, Color32::from_rgb(89, 161, 79))],
        ),
    ];
    for (x0, parts) in stacks {
        let mut base = 0.0;
        for (height, color) in parts {
            painter.rect_filled(
                Rect::from_two_pos(at(inner, x0, base), at(inner, x0 + 0.3, base + height)),
                0.0,
                color,
            );
            base += height;
        }
    }
}

/// Quantized matmul: a weight histogram with a non-uniform codebook's levels over it.
pub fn quant(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let inner = rect.shrink(10.0);
    let bins = 15;
    for i in 0..bins {
        let t = (i as f32 - 7.0) / 3.0;
        let height = 0.85 * (-0.5 * t * t).exp();
        let x0 = i as f32 / bins as f32;
        painter.rect_filled(
            Rect::from_two_pos(
                at(inner, x0, 0.0),
                at(inner, x0 + 0.9 / bins as f32, height),
            ),
            0.0,
            Color32::from_rgb(78, 121, 167),
        );
    }
    // Levels dense near the centre, where the weights are.
    for x in [0.12, 0.3, 0.4, 0.47, 0.53, 0.6, 0.7, 0.88] {
        painter.line_segment(
            [at(inner, x, 0.0), at(inner, x, 1.0)],
            Stroke::new(1.5, Color32::from_rgb(225, 57, 89)),
        );
    }
}

/// Marginalization models: a painted lattice (+1 / -1 / unknown) whose unknown sites are
/// shaded by p(+1).
pub fn mam(painter: &Painter, rect: Rect) {
    frame(painter, rect);
    let inner = rect.shrink(10.0);
    let side = inner.width().min(inner.height());
    let n = 6;
    let cell = side / n as f32;
    let origin = Pos2::new(inner.center().x - side / 2.0, inner.center().y - side / 2.0);
    let up = Color32::from_rgb(225, 87, 89);
    let down = Color32::from_rgb(78, 121, 167);
    for r in 0..n {
        for c in 0..n {
            let min = origin + Vec2::new(c as f32 * cell, r as f32 * cell);
            let cell_rect = Rect::from_min_size(min, Vec2::splat(cell)).shrink(1.0);
            let painted = (r + 2 * c) % 5;
            let fill = match painted {
                0 => up,
                1 => down,
                _ => {
                    // Unknown: a pale shade leaning to the painted neighbours.
                    let t = ((r * 7 + c * 3) % 10) as f32 / 10.0;
                    let l = |a: u8, b: u8| (f32::from(a) * t + f32::from(b) * (1.0 - t)) as u8;
                    if dark(painter) {
                        Color32::from_rgb(l(95, 50), l(55, 65), l(60, 100))
                    } else {
                        Color32::from_rgb(l(250, 200), l(205, 215), l(205, 240))
                    }
                }
            };
            painter.rect_filled(cell_rect, 1.0, fill);
        }
    }
}
