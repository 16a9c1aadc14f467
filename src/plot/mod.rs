//! Drawing helpers shared by labs: heat maps and colour maps (egui painter, no plot crate).

pub mod contour;
mod heatmap;
pub mod thumbnails;

pub use heatmap::{HeatMap, viridis};
