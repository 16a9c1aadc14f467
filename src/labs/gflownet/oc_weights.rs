//! Shipped OC-GFN weights (`assets/gfn/`), produced by `paperlab gfn pretrain ... --out`.

use super::env::Hypergrid;
use crate::nn::Mlp;
use crate::served::{Served, with_served};

/// 2D, H = 8 (the lab's default grid) and 2D, H = 16: see assets/gfn/README.md for the
/// commands that produced them and their success rates. Compiled in (the page shows them at
/// start).
pub const OC_2D_H8: &[u8] = include_bytes!("../../../assets/gfn/oc-2d-h8.plnn");
pub const OC_2D_H16: &[u8] = include_bytes!("../../../assets/gfn/oc-2d-h16.plnn");

/// 4D, H = 8, the harder grid of the fine-tuning comparison: f16, fetched by the page when
/// that grid is chosen (compiled in, it would take the gzipped wasm past 3 MB).
pub const OC_4D_H8: Served = crate::served!("./oc-4d-h8.plnn", "../../../assets/gfn/oc-4d-h8.plnn");

/// Where a grid's shipped network stands.
pub enum Shipped {
    /// No network is shipped for this grid.
    None,
    /// The page is still fetching it.
    Loading,
    Ready(Mlp),
    /// Shipped, but it did not load (the reason, with the file).
    Failed(String),
}

/// The grid an OC-GFN network was built for, from its input and output sizes
/// (inputs = 2 D H, outputs = D + 2); `None` if they fit no hypergrid.
pub fn grid_of(net: &Mlp) -> Option<Hypergrid> {
    let ndim = net.spec.outputs.checked_sub(2)?;
    if !(2..=4).contains(&ndim) || !net.spec.inputs.is_multiple_of(2 * ndim) {
        return None;
    }
    Some(Hypergrid::new(ndim, net.spec.inputs / (2 * ndim)))
}

/// The shipped network for `grid` (fetching it first on the web, for the fetched ones).
pub fn load_shipped(grid: Hypergrid) -> Shipped {
    let parse = |bytes: &[u8]| -> Result<Mlp, String> {
        let net = Mlp::from_bytes(bytes).map_err(|e| e.to_string())?;
        if grid_of(&net) == Some(grid) {
            Ok(net)
        } else {
            Err(format!("it holds a network for another grid than {grid:?}"))
        }
    };
    let loaded = match (grid.ndim, grid.height) {
        (2, 8) => Ok(Some(parse(OC_2D_H8))),
        (2, 16) => Ok(Some(parse(OC_2D_H16))),
        // A failed fetch names the file already.
        (4, 8) => with_served(OC_4D_H8, parse)
            .map(|r| r.map(|net| net.map_err(|e| format!("{}: {e}", OC_4D_H8.url)))),
        _ => return Shipped::None,
    };
    match loaded {
        Ok(None) => Shipped::Loading,
        Ok(Some(Ok(net))) => Shipped::Ready(net),
        Ok(Some(Err(e))) | Err(e) => Shipped::Failed(e),
    }
}

/// The shipped network for `grid`, where it is at hand now (always, natively).
pub fn shipped(grid: Hypergrid) -> Option<Mlp> {
    match load_shipped(grid) {
        Shipped::Ready(net) => Some(net),
        Shipped::None | Shipped::Loading | Shipped::Failed(_) => None,
    }
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
        let grid = Hypergrid::new(4, 8);
        assert_eq!(grid_of(&shipped(grid).expect("shipped 4D")), Some(grid));
        assert!(shipped(Hypergrid::new(2, 32)).is_none());
        assert!(shipped(Hypergrid::new(3, 8)).is_none());
    }

    /// Every shipped network reaches the paper's 93% of its outcomes: all of them on 2D, an
    /// evenly spread quarter of the 4,096 on 4D H=8 (the whole set is `gfn pretrain`'s figure).
    #[test]
    fn shipped_networks_reach_their_outcomes() {
        for (ndim, height, stride) in [(2, 8, 1), (2, 16, 1), (4, 8, 4)] {
            let grid = Hypergrid::new(ndim, height);
            let model = super::super::oc::OcModel {
                grid,
                net: shipped(grid).expect("shipped"),
            };
            let outcomes: Vec<_> = (0..grid.n_states())
                .step_by(stride)
                .map(|i| grid.state(i))
                .collect();
            let rate = super::super::oc::success_rate(&model, &outcomes, 12345);
            assert!(rate >= 0.93, "{ndim}D H={height}: success rate {rate}");
        }
    }
}
