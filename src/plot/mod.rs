//! Drawing helpers shared by labs: heat maps and colour maps (egui painter, no plot crate), and
//! axis label formats for egui_plot.

pub mod axis;
pub mod contour;
mod heatmap;
pub mod thumbnails;

pub use heatmap::{HeatMap, viridis};
