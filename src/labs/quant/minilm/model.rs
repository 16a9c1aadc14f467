//! all-MiniLM-L6-v2's forward pass (a 6-layer BERT encoder, hidden 384, 12 heads, GELU MLP of
//! 1536, post-LayerNorm), then mean pooling over the tokens and L2 normalisation, as
//! sentence-transformers computes the sentence embedding.
//!
//! Every linear layer's weight is a [`Matrix`] (rows = outputs), the same type the quantizers
//! take, so a quantized model is this model with its matrices replaced. The tokens of all
//! sentences are stacked so each linear layer is one GEMM on the nn core; attention runs per
//! sentence (no padding, so no mask).

use crate::labs::quant::matrix::Matrix;
use crate::nn::{View, gemm};

use super::safetensors::SafeTensors;

pub const HIDDEN: usize = 384;
pub const HEADS: usize = 12;
pub const HEAD_DIM: usize = HIDDEN / HEADS;
pub const INTERMEDIATE: usize = 1536;
pub const LAYERS: usize = 6;
pub const MAX_POSITIONS: usize = 512;
/// sentence-transformers' max_seq_length for this model.
pub const MAX_TOKENS: usize = 256;
const LN_EPS: f64 = 1e-12;

#[derive(Clone, Debug)]
pub struct Linear {
    pub w: Matrix,
    pub b: Vec<f32>,
}

impl Linear {
    /// y = x W^T + b for `tokens` stacked rows of x.
    fn apply(&self, x: &[f32], tokens: usize) -> Vec<f32> {
        times_transposed(x, tokens, &self.w, Some(&self.b))
    }
}

/// x W^T (+ b on every row) for `rows` stacked rows of x (`rows x w.cols`).
pub fn times_transposed(x: &[f32], rows: usize, w: &Matrix, bias: Option<&[f32]>) -> Vec<f32> {
    let (mut y, beta) = match bias {
        Some(b) => ((0..rows).flat_map(|_| b.iter().copied()).collect(), 1.0),
        None => (vec![0.0; rows * w.rows], 0.0),
    };
    gemm(
        1.0,
        x,
        View::row_major(rows, w.cols),
        &w.data,
        View::row_major(w.rows, w.cols).transposed(),
        beta,
        &mut y,
        View::row_major(rows, w.rows),
    );
    y
}

#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

impl LayerNorm {
    fn apply(&self, x: &mut [f32]) {
        let n = self.gamma.len();
        for row in x.chunks_exact_mut(n) {
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
            let var = row
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n as f64;
            let inv = 1.0 / (var + LN_EPS).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = ((f64::from(*v) - mean) * inv) as f32 * g + b;
            }
        }
    }
}

/// The six linear layers of one encoder layer, in the order [`Layer::linears`] lists them.
pub const LINEAR_NAMES: [&str; 6] = ["query", "key", "value", "attn_out", "mlp_up", "mlp_down"];

#[derive(Clone, Debug)]
pub struct Layer {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub attn_out: Linear,
    pub attn_norm: LayerNorm,
    pub mlp_up: Linear,
    pub mlp_down: Linear,
    pub out_norm: LayerNorm,
}

impl Layer {
    pub fn linears_mut(&mut self) -> [&mut Linear; 6] {
        [
            &mut self.query,
            &mut self.key,
            &mut self.value,
            &mut self.attn_out,
            &mut self.mlp_up,
            &mut self.mlp_down,
        ]
    }

    pub fn linears(&self) -> [&Linear; 6] {
        [
            &self.query,
            &self.key,
            &self.value,
            &self.attn_out,
            &self.mlp_up,
            &self.mlp_down,
        ]
    }
}

/// Where a linear layer sits: encoder layer and index in [`LINEAR_NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinearId {
    pub layer: usize,
    pub which: usize,
}

impl LinearId {
    pub fn all() -> impl Iterator<Item = LinearId> {
        (0..LAYERS).flat_map(|layer| (0..6).map(move |which| LinearId { layer, which }))
    }

    pub fn name(self) -> String {
        format!("layer{}.{}", self.layer, LINEAR_NAMES[self.which])
    }
}

#[derive(Clone, Debug)]
pub struct MiniLm {
    /// vocab x HIDDEN word embeddings.
    pub word: Vec<f32>,
    pub vocab: usize,
    pub position: Vec<f32>,
    /// Token type 0 (a single sentence uses no other).
    pub token_type0: Vec<f32>,
    pub embed_norm: LayerNorm,
    pub layers: Vec<Layer>,
}

/// A tap on every linear layer's input (`tokens x in`, row-major), for calibration statistics
/// and held-out errors.
pub type Tap<'a> = &'a mut dyn FnMut(LinearId, &[f32], usize);

impl MiniLm {
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, String> {
        let st = SafeTensors::parse(bytes)?;
        let (shape, word) = st.tensor("embeddings.word_embeddings.weight")?;
        if shape.len() != 2 || shape[1] != HIDDEN || shape[0] < 1000 {
            return Err(format!(
                "embeddings.word_embeddings.weight: shape {shape:?}, expected [vocab, {HIDDEN}]"
            ));
        }
        let vocab = shape[0];
        let norm = |prefix: &str| -> Result<LayerNorm, String> {
            Ok(LayerNorm {
                gamma: st.expect(&format!("{prefix}.weight"), &[HIDDEN])?,
                beta: st.expect(&format!("{prefix}.bias"), &[HIDDEN])?,
            })
        };
        let linear = |prefix: &str, out: usize, inp: usize| -> Result<Linear, String> {
            Ok(Linear {
                w: Matrix {
                    rows: out,
                    cols: inp,
                    data: st.expect(&format!("{prefix}.weight"), &[out, inp])?,
                },
                b: st.expect(&format!("{prefix}.bias"), &[out])?,
            })
        };
        let layers = (0..LAYERS)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: linear(&format!("{p}.attention.self.query"), HIDDEN, HIDDEN)?,
                    key: linear(&format!("{p}.attention.self.key"), HIDDEN, HIDDEN)?,
                    value: linear(&format!("{p}.attention.self.value"), HIDDEN, HIDDEN)?,
                    attn_out: linear(&format!("{p}.attention.output.dense"), HIDDEN, HIDDEN)?,
                    attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                    mlp_up: linear(&format!("{p}.intermediate.dense"), INTERMEDIATE, HIDDEN)?,
                    mlp_down: linear(&format!("{p}.output.dense"), HIDDEN, INTERMEDIATE)?,
                    out_norm: norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let token_types = st.expect("embeddings.token_type_embeddings.weight", &[2, HIDDEN])?;
        Ok(Self {
            word,
            vocab,
            position: st.expect(
                "embeddings.position_embeddings.weight",
                &[MAX_POSITIONS, HIDDEN],
            )?,
            token_type0: token_types[..HIDDEN].to_vec(),
            embed_norm: norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    pub fn linear(&self, id: LinearId) -> &Linear {
        self.layers[id.layer].linears()[id.which]
    }

    pub fn linear_mut(&mut self, id: LinearId) -> &mut Linear {
        let [q, k, v, o, u, d] = self.layers[id.layer].linears_mut();
        match id.which {
            0 => q,
            1 => k,
            2 => v,
            3 => o,
            4 => u,
            _ => d,
        }
    }

    /// Unit-length sentence embeddings of token-id sequences (ids checked against the
    /// vocabulary, sequences cut to [`MAX_TOKENS`]).
    pub fn embed(&self, sentences: &[Vec<u32>]) -> Vec<Vec<f32>> {
        self.embed_tapped(sentences, &mut |_, _, _| {})
    }

    pub fn embed_tapped(&self, sentences: &[Vec<u32>], tap: Tap<'_>) -> Vec<Vec<f32>> {
        let lens: Vec<usize> = sentences.iter().map(|s| s.len().min(MAX_TOKENS)).collect();
        let tokens: usize = lens.iter().sum();
        let mut x = Vec::with_capacity(tokens * HIDDEN);
        for (s, &len) in sentences.iter().zip(&lens) {
            for (pos, &id) in s.iter().take(len).enumerate() {
                let id = (id as usize).min(self.vocab - 1);
                let word = &self.word[id * HIDDEN..(id + 1) * HIDDEN];
                let position = &self.position[pos * HIDDEN..(pos + 1) * HIDDEN];
                x.extend(
                    word.iter()
                        .zip(position)
                        .zip(&self.token_type0)
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        self.embed_norm.apply(&mut x);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer_forward(layer, i, &x, &lens, tap);
        }
        let mut out = Vec::with_capacity(sentences.len());
        let mut start = 0;
        for &len in &lens {
            let mut mean = vec![0.0f64; HIDDEN];
            for t in start..start + len {
                for (m, v) in mean.iter_mut().zip(&x[t * HIDDEN..(t + 1) * HIDDEN]) {
                    *m += f64::from(*v);
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            out.push(mean.iter().map(|v| (v / norm) as f32).collect());
            start += len;
        }
        out
    }
}

fn layer_forward(layer: &Layer, index: usize, x: &[f32], lens: &[usize], tap: Tap<'_>) -> Vec<f32> {
    let tokens: usize = lens.iter().sum();
    let id = |which| LinearId {
        layer: index,
        which,
    };
    for which in 0..3 {
        tap(id(which), x, tokens);
    }
    let q = layer.query.apply(x, tokens);
    let k = layer.key.apply(x, tokens);
    let v = layer.value.apply(x, tokens);
    let context = attention(&q, &k, &v, lens);
    tap(id(3), &context, tokens);
    let mut h = layer.attn_out.apply(&context, tokens);
    h.iter_mut().zip(x).for_each(|(a, b)| *a += b);
    layer.attn_norm.apply(&mut h);
    tap(id(4), &h, tokens);
    let mut up = layer.mlp_up.apply(&h, tokens);
    up.iter_mut().for_each(|u| *u = gelu(*u));
    tap(id(5), &up, tokens);
    let mut out = layer.mlp_down.apply(&up, tokens);
    out.iter_mut().zip(&h).for_each(|(a, b)| *a += b);
    layer.out_norm.apply(&mut out);
    out
}

/// BERT's exact GELU: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.
fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))) as f32
}

/// Softmax(Q K^T / sqrt(d)) V per sentence and head.
fn attention(q: &[f32], k: &[f32], v: &[f32], lens: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0f32; q.len()];
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let mut start = 0;
    let mut scores = Vec::new();
    for &len in lens {
        for h in 0..HEADS {
            let col = h * HEAD_DIM..(h + 1) * HEAD_DIM;
            for i in start..start + len {
                let qi = &q[i * HIDDEN..][col.clone()];
                scores.clear();
                scores.extend((start..start + len).map(|j| {
                    let kj = &k[j * HIDDEN..][col.clone()];
                    qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale
                }));
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut total = 0.0f32;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    total += *s;
                }
                let o = &mut out[i * HIDDEN..][col.clone()];
                for (j, p) in (start..start + len).zip(&scores) {
                    let vj = &v[j * HIDDEN..][col.clone()];
                    let p = p / total;
                    o.iter_mut().zip(vj).for_each(|(a, b)| *a += p * b);
                }
            }
        }
        start += len;
    }
    out
}
