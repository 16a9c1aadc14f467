//! Contour lines of a grid of values by marching squares, as line segments in cell coordinates
//! (x = column, y = row), for drawing iso-lines over a heat map.

/// Segments where the bilinear surface through `values` (rows x cols, row-major) crosses
/// `level`. Cells with a non-finite corner are skipped.
pub fn segments(values: &[f64], rows: usize, cols: usize, level: f64) -> Vec<[[f64; 2]; 2]> {
    let mut out = Vec::new();
    if values.len() < rows * cols {
        return out;
    }
    let at = |r: usize, c: usize| values[r * cols + c];
    for r in 0..rows.saturating_sub(1) {
        for c in 0..cols.saturating_sub(1) {
            // Corners counter-clockwise from bottom-left.
            let corners = [
                ([c as f64, r as f64], at(r, c)),
                ([c as f64 + 1.0, r as f64], at(r, c + 1)),
                ([c as f64 + 1.0, r as f64 + 1.0], at(r + 1, c + 1)),
                ([c as f64, r as f64 + 1.0], at(r + 1, c)),
            ];
            if corners.iter().any(|(_, v)| !v.is_finite()) {
                continue;
            }
            // Crossing points on the four edges, in order.
            let mut crossings = Vec::with_capacity(4);
            for e in 0..4 {
                let (p0, v0) = corners[e];
                let (p1, v1) = corners[(e + 1) % 4];
                if (v0 < level) != (v1 < level) {
                    let t = (level - v0) / (v1 - v0);
                    crossings.push([p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])]);
                }
            }
            // Two crossings: one segment; four (a saddle): pair them up edge by edge.
            for pair in crossings.chunks_exact(2) {
                out.push([pair[0], pair[1]]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::segments;

    #[test]
    fn a_plane_gives_a_straight_line() {
        // v = column: the level 1.5 line is x = 1.5 on every row band.
        let values: Vec<f64> = (0..3).flat_map(|_| (0..4).map(f64::from)).collect();
        let segs = segments(&values, 3, 4, 1.5);
        assert_eq!(segs.len(), 2);
        for s in &segs {
            assert!((s[0][0] - 1.5).abs() < 1e-12 && (s[1][0] - 1.5).abs() < 1e-12);
        }
        assert!(segments(&values, 3, 4, 10.0).is_empty());
        assert!(segments(&[f64::NAN; 4], 2, 2, 0.5).is_empty());
        assert!(
            segments(&[0.0; 3], 2, 2, 0.5).is_empty(),
            "short input is refused"
        );
    }
}
