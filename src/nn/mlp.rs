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
    /// Residual connections between equal-width hidden layers, as the MaM reference's
    /// `MLPRes`: a hidden layer after the first computes act(x W + b) + x. Absent in files
    /// written before it existed (and not written when false, so those files are unchanged).
    #[serde(default, skip_serializing_if = "is_false")]
    pub residual: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
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
    /// Rows being rearranged by `forward_append` (kept to reuse its allocation).
    scratch: Vec<f32>,
}

/// The most rows `forward_append` compares for repeats (a rollout step's batch); beyond it the
/// quadratic comparison would stop paying and big batches rarely repeat whole rows.
const DISTINCT_MAX_ROWS: usize = 16;

/// Where `rows` rows of `input` (each `width` wide) repeat one another bit for bit: the first
/// row of each distinct input, and for every row the index (into those) of its copy; `None`
/// when all rows differ or there are too many rows to compare.
fn distinct_rows(input: &[f32], rows: usize, width: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    if !(2..=DISTINCT_MAX_ROWS).contains(&rows) {
        return None;
    }
    let row = |r: usize| &input[r * width..(r + 1) * width];
    let same = |p: usize, q: usize| {
        row(p)
            .iter()
            .zip(row(q))
            .all(|(x, y)| x.to_bits() == y.to_bits())
    };
    let mut distinct: Vec<usize> = Vec::with_capacity(rows);
    let mut copy_of = Vec::with_capacity(rows);
    for r in 0..rows {
        match distinct.iter().position(|&d| same(d, r)) {
            Some(i) => copy_of.push(i),
            None => {
                copy_of.push(distinct.len());
                distinct.push(r);
            }
        }
    }
    (distinct.len() < rows).then_some((distinct, copy_of))
}

impl ForwardCache {
    /// The rows appended after `first` were computed once per distinct input: lays them out
    /// again as one row per original input (`copy_of[r]` is row r's computed row).
    fn expand_rows(&mut self, first: usize, copy_of: &[usize]) {
        for values in &mut self.values {
            let width = values.len() / self.batch;
            self.scratch.clear();
            self.scratch.extend_from_slice(&values[first * width..]);
            values.truncate(first * width);
            for &d in copy_of {
                values.extend_from_slice(&self.scratch[d * width..(d + 1) * width]);
            }
            debug_assert_eq!(values.len(), (first + copy_of.len()) * width);
        }
        self.batch = first + copy_of.len();
    }

    pub fn output(&self) -> &[f32] {
        self.values.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Empties the cache, keeping its allocations.
    pub fn clear(&mut self) {
        self.batch = 0;
        self.values.iter_mut().for_each(Vec::clear);
    }
}

/// The backward pass's per-layer buffers (dLoss/d activations), kept between calls.
#[derive(Clone, Debug, Default)]
pub struct BackwardScratch {
    delta: Vec<f32>,
    delta_prev: Vec<f32>,
    /// dLoss/d(a residual layer's output), which also reaches its input through the skip.
    through_skip: Vec<f32>,
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

    /// Whether layer `l` adds its input to its output: a hidden-to-hidden layer of equal
    /// width in a residual network (never the first or the output layer).
    pub fn skips(&self, l: usize) -> bool {
        let layer = &self.layers[l];
        self.spec.residual && l != 0 && l + 1 < self.layers.len() && layer.inputs == layer.outputs
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
        cache.clear();
        self.forward_append(input, batch, cache);
    }

    /// Forward pass of `rows` more rows, appended to the rows already in `cache` (whose outputs
    /// are untouched): many small forward passes (a rollout's steps) then share one backward
    /// pass without copying their activations. Each row's result does not depend on the other
    /// rows, so it is the same as a separate `forward` of those rows, to the bit. Returns the new
    /// rows' outputs (rows x outputs).
    pub fn forward_append<'c>(
        &self,
        input: &[f32],
        rows: usize,
        cache: &'c mut ForwardCache,
    ) -> &'c [f32] {
        assert_eq!(input.len(), rows * self.spec.inputs, "input shape");
        let first = cache.batch;
        if let Some((distinct, copy_of)) = distinct_rows(input, rows, self.spec.inputs) {
            // Identical inputs give identical rows: compute each distinct row once, then copy.
            cache.scratch.clear();
            for &r in &distinct {
                let from = r * self.spec.inputs;
                cache
                    .scratch
                    .extend_from_slice(&input[from..from + self.spec.inputs]);
            }
            let distinct_input = std::mem::take(&mut cache.scratch);
            self.compute_rows(&distinct_input, distinct.len(), cache);
            cache.scratch = distinct_input;
            cache.expand_rows(first, &copy_of);
        } else {
            self.compute_rows(input, rows, cache);
        }
        let outputs = self.spec.outputs;
        &cache.output()[first * outputs..]
    }

    /// `forward_append` without looking for repeated rows.
    fn compute_rows(&self, input: &[f32], rows: usize, cache: &mut ForwardCache) {
        let first = cache.batch;
        cache.batch += rows;
        cache.values.resize(self.layers.len() + 1, Vec::new());
        cache.values[0].extend_from_slice(input);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = cache.values.split_at_mut(l + 1);
            let x = &before[l][first * layer.inputs..];
            let y = &mut after[0];
            y.truncate(first * layer.outputs);
            // Each row starts as the bias; gemm adds x W on top (beta = 1).
            for _ in 0..rows {
                y.extend_from_slice(&layer.bias);
            }
            let y_new = &mut y[first * layer.outputs..];
            gemm(
                1.0,
                x,
                View::row_major(rows, layer.inputs),
                &layer.weights,
                View::row_major(layer.inputs, layer.outputs),
                1.0,
                y_new,
                View::row_major(rows, layer.outputs),
            );
            if l != last {
                let activation = self.spec.activation;
                for v in y_new.iter_mut() {
                    *v = activation.apply(*v);
                }
            }
            if self.skips(l) {
                for (v, &skip) in y_new.iter_mut().zip(x) {
                    *v += skip;
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
        self.backward_with(cache, grad_output, grads, &mut BackwardScratch::default());
    }

    /// `backward` with its per-layer buffers kept in `scratch` between calls (a training loop
    /// that calls it thousands of times a second would otherwise allocate and zero them each
    /// time). Same results.
    pub fn backward_with(
        &self,
        cache: &ForwardCache,
        grad_output: &[f32],
        grads: &mut Gradients,
        scratch: &mut BackwardScratch,
    ) {
        let batch = cache.batch;
        assert_eq!(
            grad_output.len(),
            batch * self.spec.outputs,
            "gradient shape"
        );
        let BackwardScratch {
            delta,
            delta_prev,
            through_skip,
        } = scratch;
        delta.clear();
        delta.extend_from_slice(grad_output);
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let x = &cache.values[l];
            let g = &mut grads.layers[l];
            // dW += x^T delta  (inputs x outputs)
            gemm(
                1.0,
                x,
                View::row_major(batch, layer.inputs).transposed(),
                delta,
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
            // beta = 0 below: gemm writes every element without reading it, so only the length
            // matters (a fill would cost a pass over memory per layer).
            delta_prev.resize(batch * layer.inputs, 0.0);
            gemm(
                1.0,
                delta,
                View::row_major(batch, layer.outputs),
                &layer.weights,
                View::row_major(layer.inputs, layer.outputs).transposed(),
                0.0,
                delta_prev,
                View::row_major(batch, layer.inputs),
            );
            if self.skips(l) {
                // x also reached this layer's output unchanged.
                for (d, &s) in delta_prev.iter_mut().zip(through_skip.iter()) {
                    *d += s;
                }
            }
            let activation = self.spec.activation;
            if self.skips(l - 1) {
                // x = act(u) + x_below, so the branch is read from the sign of x - x_below
                // (rounding can flip it only where act(u) is within rounding of 0, at the kink,
                // where either slope is a valid subgradient).
                through_skip.clear();
                through_skip.extend_from_slice(delta_prev);
                let below = &cache.values[l - 1];
                for ((d, &y), &skip) in delta_prev.iter_mut().zip(x.iter()).zip(below) {
                    *d *= activation.derivative_from_output(y - skip);
                }
            } else {
                for (d, &y) in delta_prev.iter_mut().zip(x.iter()) {
                    *d *= activation.derivative_from_output(y);
                }
            }
            std::mem::swap(delta, delta_prev);
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
            residual: false,
        }
    }

    /// Three hidden layers of one width: the second and third add their inputs.
    fn residual_spec(activation: Activation) -> MlpSpec {
        MlpSpec {
            inputs: 5,
            hidden: vec![7, 7, 7],
            outputs: 3,
            activation,
            residual: true,
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

    /// Steps appended to one cache (some rows repeated, as a rollout's trajectories share
    /// states) give, bit for bit, the rows each step's own forward pass gives, and the same
    /// gradients as one forward pass over all rows.
    #[test]
    fn appended_steps_with_repeated_rows_match_separate_passes() {
        let wide = MlpSpec {
            inputs: 6,
            hidden: vec![40, 40],
            outputs: 3,
            activation: Activation::Relu,
            residual: false,
        };
        let mlp = Mlp::new(wide, 5);
        let width = 6;
        // Row patterns per step: which distinct input each row takes (0..), from all rows
        // alike (the origin) to all different, across the repeat-check limit.
        let steps: Vec<Vec<usize>> = vec![
            vec![0; 16],
            vec![0, 1, 0, 1, 1, 0, 2],
            (0..16).collect(),
            vec![3],
            vec![1, 1],
            (0..17).map(|r| r % 3).collect(),
        ];
        let mut cache = ForwardCache::default();
        let mut all_input = Vec::new();
        for (s, pattern) in steps.iter().enumerate() {
            let step_input: Vec<f32> = pattern
                .iter()
                .flat_map(|&d| {
                    (0..width)
                        .map(move |i| crate::rng::hash_f32(s as u64 * 100 + d as u64, i as u64))
                })
                .collect();
            let rows = pattern.len();
            let got = mlp.forward_append(&step_input, rows, &mut cache).to_vec();
            // Each row alone: no other row to repeat.
            for r in 0..rows {
                let want = mlp.predict(&step_input[r * width..(r + 1) * width], 1);
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got[r * 3..(r + 1) * 3]),
                    bits(&want),
                    "step {s} row {r}"
                );
            }
            all_input.extend_from_slice(&step_input);
        }
        let total = cache.batch;
        assert_eq!(total, steps.iter().map(Vec::len).sum::<usize>());
        // The same rows in one pass of many rows (not compared for repeats).
        let mut one_pass = ForwardCache::default();
        mlp.forward(&all_input, total, &mut one_pass);
        assert_eq!(cache.values, one_pass.values, "every layer's rows");
        let grad_out: Vec<f32> = (0..total * 3)
            .map(|i| crate::rng::hash_f32(77, i as u64) - 0.5)
            .collect();
        let mut g1 = mlp.zero_gradients();
        mlp.backward(&cache, &grad_out, &mut g1);
        let mut g2 = mlp.zero_gradients();
        let mut scratch = BackwardScratch::default();
        mlp.backward_with(&one_pass, &grad_out, &mut g2, &mut scratch);
        // Twice with the same scratch: nothing left over from the first call.
        let mut g3 = mlp.zero_gradients();
        mlp.backward_with(&one_pass, &grad_out, &mut g3, &mut scratch);
        assert_eq!(g1, g2);
        assert_eq!(g1, g3);
    }

    #[test]
    fn distinct_rows_finds_repeats_bit_for_bit() {
        let rows = [1.0f32, 2.0, 1.0, 2.0, 0.0, 2.0, -0.0, 2.0];
        let (distinct, copy_of) = distinct_rows(&rows, 4, 2).expect("rows 0 and 1 repeat");
        assert_eq!(distinct, vec![0, 2, 3], "0 and -0 differ in bits");
        assert_eq!(copy_of, vec![0, 0, 1, 2]);
        assert!(
            distinct_rows(&[1.0, 2.0, 3.0], 3, 1).is_none(),
            "all differ"
        );
        assert!(distinct_rows(&[1.0], 1, 1).is_none());
        assert!(distinct_rows(&[0.0; 17], 17, 1).is_none(), "past the limit");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let specs = [
            spec(Activation::Relu),
            spec(Activation::LeakyRelu { slope: 0.1 }),
            residual_spec(Activation::Relu),
            residual_spec(Activation::LeakyRelu { slope: 0.1 }),
        ];
        for spec in specs {
            let activation = spec.activation;
            let residual = spec.residual;
            let mlp = Mlp::new(spec, 3);
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
                        "{activation:?} (residual: {residual}) parameter {index}: analytic {a}, numeric {numeric}"
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
        let activation = Activation::LeakyRelu { slope: 0.01 };
        for spec in [spec(activation), residual_spec(activation)] {
            forward_matches_a_naive_loop_for(spec);
        }
    }

    fn forward_matches_a_naive_loop_for(spec: MlpSpec) {
        let mlp = Mlp::new(spec, 5);
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
                // The reference's MLPRes: every hidden layer after the first adds its input.
                if mlp.spec.residual && l > 0 && l + 1 < mlp.layers.len() {
                    out.iter_mut().zip(&h).for_each(|(v, hv)| *v += hv);
                }
                h = out;
            }
            for o in 0..3 {
                assert!((h[o] - y[b * 3 + o]).abs() < 1e-5);
            }
        }
    }
}
