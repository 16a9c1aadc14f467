//! Every integration test in one binary: one link of the crate instead of one per file (the
//! links dominated `cargo test`'s build time on a 2-core machine). Each module is one former
//! `tests/<name>.rs`.

mod bandits_gpu;
mod cli_jobs;
mod fairness_cli;
mod gfn_quality;
mod gpu_kernels;
mod mam_gpu;
mod minilm;
mod quant_gpu;
mod share_links;
mod support;
