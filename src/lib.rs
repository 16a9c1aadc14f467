//! paperlab: recent ML and decision-science papers made tangible, in the browser.
//!
//! Layers, bottom up: `rng` and `share` (plain Rust), `gpu` (the one compute context, kernels,
//! read-back, timing), `kernels` (shared WGSL kernels with their Rust references), `selftest`,
//! `labs` (one folder per lab), `app` (the shell), `platform`/`web` (browser specifics),
//! `command` (what a lab's CLI builds on) and `cli` (the command line, from the lab registry).

pub mod app;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod command;
pub mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod gpu;
pub mod jobs;
pub mod kernels;
pub mod labs;
pub mod nn;
pub mod platform;
pub mod plot;
pub mod rng;
pub mod selftest;
pub mod served;
pub mod share;
pub mod shortcuts;
pub mod stats;
#[cfg(target_arch = "wasm32")]
pub mod web;
