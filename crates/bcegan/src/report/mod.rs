//! Pictures of a run: sample grids.

mod grid;

pub use grid::{GridError, GridLayout, encode_grid_png, write_grid_png};
