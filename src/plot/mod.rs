//! Drawing helpers shared by labs: heat maps and colour maps (egui painter, no plot crate).

mod heatmap;
pub mod thumbnails;

pub use heatmap::{HeatMap, viridis};
