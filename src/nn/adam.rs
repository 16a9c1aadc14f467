//! Adam (Kingma & Ba, 2015) with PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8.

use super::mlp::{Gradients, Mlp};

#[derive(Clone, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    steps: i32,
    first: Vec<f32>,
    second: Vec<f32>,
}

impl Adam {
    pub fn new(parameter_count: usize, lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            steps: 0,
            first: vec![0.0; parameter_count],
            second: vec![0.0; parameter_count],
        }
    }

    pub fn for_mlp(mlp: &Mlp, lr: f32) -> Self {
        Self::new(mlp.parameter_count(), lr)
    }

    /// One update of `params` with `grads` (the same length and order).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.begin_step();
        self.update_slice(0, params, grads);
    }

    /// Counts a step; call once before the `update_slice` calls of that step.
    fn begin_step(&mut self) {
        self.steps = self.steps.saturating_add(1);
    }

    /// Updates the contiguous `params` whose moments start at `offset`: slices rather than
    /// chained iterators, so the loop vectorises (it was a quarter of a GFlowNet iteration).
    fn update_slice(&mut self, offset: usize, params: &mut [f32], grads: &[f32]) {
        let correction1 = 1.0 - self.beta1.powi(self.steps);
        let correction2 = 1.0 - self.beta2.powi(self.steps);
        let step_size = self.lr / correction1;
        let inv_sqrt_c2 = 1.0 / correction2.sqrt();
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        let end = offset + params.len();
        let first = &mut self.first[offset..end];
        let second = &mut self.second[offset..end];
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(first).zip(second) {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *p -= step_size * *m / (v.sqrt() * inv_sqrt_c2 + eps);
        }
    }

    pub fn step_mlp(&mut self, mlp: &mut Mlp, grads: &Gradients) {
        self.begin_step();
        let mut offset = 0;
        for (layer, grad) in mlp.layers.iter_mut().zip(&grads.layers) {
            self.update_slice(offset, &mut layer.weights, &grad.weights);
            offset += layer.weights.len();
            self.update_slice(offset, &mut layer.bias, &grad.bias);
            offset += layer.bias.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        let mut adam = Adam::new(2, 0.1);
        let mut p = [1.0f32, -1.0];
        adam.step(&mut p, &[0.5f32, -3.0]);
        // Bias-corrected first step is lr * g / |g|.
        assert!(
            (p[0] - 0.9).abs() < 1e-6 && (p[1] + 0.9).abs() < 1e-6,
            "{p:?}"
        );
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut adam = Adam::new(1, 0.05);
        let mut x = [5.0f32];
        for _ in 0..2000 {
            let g = [2.0 * (x[0] - 2.0)];
            adam.step(&mut x, &g);
        }
        assert!((x[0] - 2.0).abs() < 1e-2, "{x:?}");
    }
}
