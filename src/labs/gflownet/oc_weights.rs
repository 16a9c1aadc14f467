//! Shipped OC-GFN weights (`assets/gfn/`), produced by `paperlab gfn pretrain ... --out`.

use super::env::Hypergrid;
use crate::nn::Mlp;

/// 2D, H = 8 (the lab's default grid) and 2D, H = 16: see assets/gfn/README.md for the
/// commands that produced them and their success rates.
pub const OC_2D_H8: &[u8] = include_bytes!("../../../assets/gfn/oc-2d-h8.plnn");
pub const OC_2D_H16: &[u8] = include_bytes!("../../../assets/gfn/oc-2d-h16.plnn");

/// The grid an OC-GFN network was built for, from its input and output sizes
/// (inputs = 2 D H, outputs = D + 2); `None` if they fit no hypergrid.
pub fn grid_of(net: &Mlp) -> Option<Hypergrid> {
    let ndim = net.spec.outputs.checked_sub(2)?;
    if !(2..=4).contains(&ndim) || !net.spec.inputs.is_multiple_of(2 * ndim) {
        return None;
    }
    Some(Hypergrid::new(ndim, net.spec.inputs / (2 * ndim)))
}

/// The shipped network for `grid`, if there is one.
pub fn shipped(grid: Hypergrid) -> Option<Mlp> {
    let bytes = match (grid.ndim, grid.height) {
        (2, 8) => OC_2D_H8,
        (2, 16) => OC_2D_H16,
        _ => return None,
    };
    Mlp::from_bytes(bytes)
        .ok()
        .filter(|net| grid_of(net) == Some(grid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_weights_load_for_their_grids_only() {
        for height in [8, 16] {
            let grid = Hypergrid::new(2, height);
            let net = shipped(grid).expect("shipped");
            assert_eq!(grid_of(&net), Some(grid));
        }
        assert!(shipped(Hypergrid::new(2, 32)).is_none());
        assert!(shipped(Hypergrid::new(3, 8)).is_none());
    }

    #[test]
    fn shipped_h8_reaches_its_outcomes() {
        let grid = Hypergrid::new(2, 8);
        let model = super::super::oc::OcModel {
            grid,
            net: shipped(grid).expect("shipped"),
        };
        let outcomes: Vec<_> = (0..grid.n_states()).map(|i| grid.state(i)).collect();
        let rate = super::super::oc::success_rate(&model, &outcomes, 12345);
        assert!(rate >= 0.95, "success rate {rate}");
    }
}
