//! A multilayer perceptron: dense layers with ReLU / LeakyReLU between them (the last layer is
//! linear), forward with a cache, backward to parameter gradients, seeded initialisation.

use serde::{Deserialize, Serialize};

use super::gemm::{View, gemm};
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    LeakyRelu { slope: f32 },
}

impl Activation {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Self::Relu => x.max(0.0),
            Self::LeakyRelu { slope } => {
                if x > 0.0 {
                    x
                } else {
                    slope * x
                }
            }
        }
    }

    /// The derivative, computed from the activation's *output* (both keep the sign of their
    /// input for positive slopes, so the output tells which branch was taken).
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Self::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::LeakyRelu { slope } => {
                if y > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
        }
    }

    /// Code used by the WGSL dense kernel: 1 ReLU, 2 LeakyReLU (0 is "none").
    pub fn gpu_code(self) -> (u32, f32) {
        match self {
            Self::Relu => (1, 0.0),
            Self::LeakyRelu { slope } => (2, slope),
        }
    }
}

/// The shape of an MLP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
}

impl MlpSpec {
    /// (inputs, outputs) of every layer.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        sizes.windows(2).map(|w| (w[0], w[1])).collect()
    }
}

/// One dense layer: `y = x W + b`, W stored row-major as inputs x outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub spec: MlpSpec,
    pub layers: Vec<Layer>,
}

/// Activations kept by a forward pass for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct ForwardCache {
    pub batch: usize,
    /// `values[0]` is the input, `values[l + 1]` the output of layer l (after its activation,
    /// except for the last layer).
    values: Vec<Vec<f32>>,
}

impl ForwardCache {
    pub fn output(&self) -> &[f32] {
        self.values.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Empties the cache, keeping its allocations.
    pub fn clear(&mut self) {
        self.batch = 0;
        self.values.iter_mut().for_each(Vec::clear);
    }

    /// Appends the rows of `other` (a forward pass of the same network): many small forward
    /// passes then share one backward pass with large, efficient matrix products.
    pub fn append(&mut self, other: &ForwardCache) {
        if self.values.len() < other.values.len() {
            self.values.resize(other.values.len(), Vec::new());
        }
        for (mine, theirs) in self.values.iter_mut().zip(&other.values) {
            mine.extend_from_slice(theirs);
        }
        self.batch += other.batch;
    }
}

/// Parameter gradients, laid out like the layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    pub layers: Vec<Layer>,
}

impl Gradients {
    pub fn zero(&mut self) {
        for layer in &mut self.layers {
            layer.weights.fill(0.0);
            layer.bias.fill(0.0);
        }
    }

    /// The squared L2 norm of all gradients.
    pub fn norm_squared(&self) -> f64 {
        self.layers
            .iter()
            .flat_map(|l| l.weights.iter().chain(&l.bias))
            .map(|&g| f64::from(g) * f64::from(g))
            .sum()
    }
}

impl Mlp {
    /// PyTorch's default `nn.Linear` initialisation: weights and biases uniform in
    /// ±1/sqrt(fan_in), from a seeded generator (so a seed reproduces a network exactly).
    pub fn new(spec: MlpSpec, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let layers = spec
            .layer_shapes()
            .into_iter()
            .map(|(inputs, outputs)| {
                let bound = 1.0 / (inputs.max(1) as f64).sqrt();
                let mut uniform = || ((rng.next_f64() * 2.0 - 1.0) * bound) as f32;
                Layer {
                    inputs,
                    outputs,
                    weights: (0..inputs * outputs).map(|_| uniform()).collect(),
                    bias: (0..outputs).map(|_| uniform()).collect(),
                }
            })
            .collect();
        Self { spec, layers }
    }

    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.bias.len())
            .sum()
    }

    pub fn zero_gradients(&self) -> Gradients {
        Gradients {
            layers: self
                .layers
                .iter()
                .map(|l| Layer {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weights: vec![0.0; l.weights.len()],
                    bias: vec![0.0; l.bias.len()],
                })
                .collect(),
        }
    }

    /// Forward pass of `batch` rows of `input` (batch x inputs, row-major); the output
    /// (batch x outputs) is `cache.output()`. The cache's buffers are reused between calls.
    pub fn forward(&self, input: &[f32], batch: usize, cache: &mut ForwardCache) {
        assert_eq!(input.len(), batch * self.spec.inputs, "input shape");
        cache.batch = batch;
        cache.values.resize(self.layers.len() + 1, Vec::new());
        cache.values[0].clear();
        cache.values[0].extend_from_slice(input);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = cache.values.split_at_mut(l + 1);
            let x = &before[l];
            let y = &mut after[0];
            y.clear();
            y.resize(batch * layer.outputs, 0.0);
            // Each row starts as the bias; gemm adds x W on top (beta = 1).
            for row in y.chunks_exact_mut(layer.outputs) {
                row.copy_from_slice(&layer.bias);
            }
            gemm(
                1.0,
                x,
                View::row_major(batch, layer.inputs),
                &layer.weights,
                View::row_major(layer.inputs, layer.outputs),
                1.0,
                y,
                View::row_major(batch, layer.outputs),
            );
            if l != last {
                let activation = self.spec.activation;
                for v in y.iter_mut() {
                    *v = activation.apply(*v);
                }
            }
        }
    }

    /// Convenience: forward without keeping a cache.
    pub fn predict(&self, input: &[f32], batch: usize) -> Vec<f32> {
        let mut cache = ForwardCache::default();
        self.forward(input, batch, &mut cache);
        cache.values.pop().unwrap_or_default()
    }

    /// Backward pass: given dLoss/dOutput (batch x outputs) for the forward pass in `cache`,
    /// **adds** dLoss/dParameters into `grads`.
    pub fn backward(&self, cache: &ForwardCache, grad_output: &[f32], grads: &mut Gradients) {
        let batch = cache.batch;
        assert_eq!(
            grad_output.len(),
            batch * self.spec.outputs,
            "gradient shape"
        );
        let mut delta = grad_output.to_vec();
        let mut delta_prev = Vec::new();
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let x = &cache.values[l];
            let g = &mut grads.layers[l];
            // dW += x^T delta  (inputs x outputs)
            gemm(
                1.0,
                x,
                View::row_major(batch, layer.inputs).transposed(),
                &delta,
                View::row_major(batch, layer.outputs),
                1.0,
                &mut g.weights,
                View::row_major(layer.inputs, layer.outputs),
            );
            for row in delta.chunks_exact(layer.outputs) {
                for (gb, d) in g.bias.iter_mut().zip(row) {
                    *gb += d;
                }
            }
            if l == 0 {
                break;
            }
            // delta_prev = (delta W^T) * act'(x)
            delta_prev.clear();
            delta_prev.resize(batch * layer.inputs, 0.0);
            gemm(
                1.0,
                &delta,
                View::row_major(batch, layer.outputs),
                &layer.weights,
                View::row_major(layer.inputs, layer.outputs).transposed(),
                0.0,
                &mut delta_prev,
                View::row_major(batch, layer.inputs),
            );
            let activation = self.spec.activation;
            for (d, &y) in delta_prev.iter_mut().zip(x.iter()) {
                *d *= activation.derivative_from_output(y);
            }
            std::mem::swap(&mut delta, &mut delta_prev);
        }
    }

    /// Every parameter, layer by layer (weights then bias): the serialised order.
    pub fn parameters(&self) -> impl Iterator<Item = &f32> {
        self.layers
            .iter()
            .flat_map(|l| l.weights.iter().chain(&l.bias))
    }

    pub fn parameters_mut(&mut self) -> impl Iterator<Item = &mut f32> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.weights.iter_mut().chain(l.bias.iter_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(activation: Activation) -> MlpSpec {
        MlpSpec {
            inputs: 5,
            hidden: vec![7, 6],
            outputs: 3,
            activation,
        }
    }

    fn input(batch: usize, inputs: usize) -> Vec<f32> {
        (0..batch * inputs)
            .map(|i| crate::rng::hash_f32(9, i as u64) * 2.0)
            .collect()
    }

    /// Loss = sum_ij c_ij * y_ij with fixed random c: dLoss/dy = c.
    fn loss(mlp: &Mlp, x: &[f32], batch: usize, c: &[f32]) -> f64 {
        mlp.predict(x, batch)
            .iter()
            .zip(c)
            .map(|(y, c)| f64::from(*y) * f64::from(*c))
            .sum()
    }

    #[test]
    fn gradients_match_finite_differences() {
        for activation in [Activation::Relu, Activation::LeakyRelu { slope: 0.1 }] {
            let mlp = Mlp::new(spec(activation), 3);
            let batch = 4;
            let x = input(batch, 5);
            let c: Vec<f32> = (0..batch * 3)
                .map(|i| crate::rng::hash_f32(4, i as u64))
                .collect();
            let mut cache = ForwardCache::default();
            mlp.forward(&x, batch, &mut cache);
            let mut grads = mlp.zero_gradients();
            mlp.backward(&cache, &c, &mut grads);
            let analytic: Vec<f32> = grads
                .layers
                .iter()
                .flat_map(|l| l.weights.iter().chain(&l.bias))
                .copied()
                .collect();
            let h = 1e-3f32;
            let mut checked = 0;
            for index in 0..mlp.parameter_count() {
                let mut plus = mlp.clone();
                let mut minus = mlp.clone();
                if let Some(p) = plus.parameters_mut().nth(index) {
                    *p += h;
                }
                if let Some(p) = minus.parameters_mut().nth(index) {
                    *p -= h;
                }
                let numeric = (loss(&plus, &x, batch, &c) - loss(&minus, &x, batch, &c))
                    / (2.0 * f64::from(h));
                let a = f64::from(analytic[index]);
                // A ReLU kink inside [-h, h] makes the difference quotient meaningless: skip
                // only those (rare) parameters, and require most to be checked.
                if (numeric - a).abs() > 1e-2 * (1.0 + a.abs()) {
                    let near_kink = (loss(&plus, &x, batch, &c) + loss(&minus, &x, batch, &c)
                        - 2.0 * loss(&mlp, &x, batch, &c))
                    .abs()
                        > 1e-4;
                    assert!(
                        near_kink,
                        "{activation:?} parameter {index}: analytic {a}, numeric {numeric}"
                    );
                    continue;
                }
                checked += 1;
            }
            assert!(
                checked * 10 >= mlp.parameter_count() * 9,
                "only {checked} parameters checked"
            );
        }
    }

    #[test]
    fn seeded_init_is_reproducible_and_bounded() {
        let a = Mlp::new(spec(Activation::Relu), 1);
        assert_eq!(a, Mlp::new(spec(Activation::Relu), 1));
        assert_ne!(a, Mlp::new(spec(Activation::Relu), 2));
        let bound = 1.0 / 5f32.sqrt();
        assert!(a.layers[0].weights.iter().all(|w| w.abs() <= bound));
        assert_eq!(a.parameter_count(), 5 * 7 + 7 + 7 * 6 + 6 + 6 * 3 + 3);
    }

    #[test]
    fn forward_matches_a_naive_loop() {
        let mlp = Mlp::new(spec(Activation::LeakyRelu { slope: 0.01 }), 5);
        let x = input(3, 5);
        let y = mlp.predict(&x, 3);
        for b in 0..3 {
            let mut h: Vec<f32> = x[b * 5..(b + 1) * 5].to_vec();
            for (l, layer) in mlp.layers.iter().enumerate() {
                let mut out = layer.bias.clone();
                for (i, hv) in h.iter().enumerate() {
                    for (o, ov) in out.iter_mut().enumerate() {
                        *ov += hv * layer.weights[i * layer.outputs + o];
                    }
                }
                if l + 1 < mlp.layers.len() {
                    out.iter_mut()
                        .for_each(|v| *v = mlp.spec.activation.apply(*v));
                }
                h = out;
            }
            for o in 0..3 {
                assert!((h[o] - y[b * 3 + o]).abs() < 1e-5);
            }
        }
    }
}
