//! The whole all-MiniLM-L6-v2 sentence encoder, for judging the quantizers on a real model:
//! `safetensors.rs` (the weight file), `tokenizer.rs` (WordPiece), `model.rs` (forward pass),
//! `text.rs` (the calibration and held-out verses), `eval.rs` (calibrate, quantize every
//! linear layer, score on held-out text).

pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod model;
pub mod safetensors;
pub mod table;
pub mod text;
pub mod tokenizer;
