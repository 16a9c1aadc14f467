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
    pub fn step<'a>(
        &mut self,
        params: impl Iterator<Item = &'a mut f32>,
        grads: impl Iterator<Item = &'a f32>,
    ) {
        self.steps = self.steps.saturating_add(1);
        let correction1 = 1.0 - self.beta1.powi(self.steps);
        let correction2 = 1.0 - self.beta2.powi(self.steps);
        let step_size = self.lr / correction1;
        for (((p, &g), m), v) in params
            .zip(grads)
            .zip(self.first.iter_mut())
            .zip(self.second.iter_mut())
        {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            *p -= step_size * *m / ((*v / correction2).sqrt() + self.eps);
        }
    }

    pub fn step_mlp(&mut self, mlp: &mut Mlp, grads: &Gradients) {
        let grads = grads
            .layers
            .iter()
            .flat_map(|l| l.weights.iter().chain(&l.bias));
        self.step(mlp.parameters_mut(), grads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        let mut adam = Adam::new(2, 0.1);
        let mut p = [1.0f32, -1.0];
        adam.step(p.iter_mut(), [0.5f32, -3.0].iter());
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
            adam.step(x.iter_mut(), g.iter());
        }
        assert!((x[0] - 2.0).abs() < 1e-2, "{x:?}");
    }
}
