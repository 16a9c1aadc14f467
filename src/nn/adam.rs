//! Adam (Kingma & Ba, 2015) with PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8.

use super::mlp::{Gradients, Mlp};

/// Moments this small are stored as 0. Why: a parameter whose gradient has stopped (a dead
/// unit) decays its moments by beta each step into subnormal floats, which x86 computes with
/// microcode assists many times slower: `bench gfn` lost 40% of its speed to that between
/// 10^4 and 2 x 10^4 trajectories. Neither threshold changes a parameter in practice: a first
/// moment under 1e-30 moves a parameter by under step_size x 1e-22 (eps = 1e-8 bounds the
/// denominator), below half an ulp of any parameter larger than step_size x 2e-15; a second
/// moment under 1e-34 adds under 32 x 1e-17 to a denominator of at least eps (half an ulp
/// there is 4.4e-16). `bench gfn`'s exact L1 after 10^4, 2 x 10^4 and 4 x 10^4 trajectories
/// is the same to the last bit with and without them.
const FIRST_MOMENT_FLUSH: f32 = 1e-30;
const SECOND_MOMENT_FLUSH: f32 = 1e-34;

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
        let end = offset + params.len();
        let moments = Moments {
            step_size,
            inv_sqrt_c2,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        };
        let first = &mut self.first[offset..end];
        let second = &mut self.second[offset..end];
        moments.update_wide(params, grads, first, second);
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

/// One step's constants of the elementwise update.
#[derive(Clone, Copy)]
struct Moments {
    step_size: f32,
    inv_sqrt_c2: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

impl Moments {
    #[inline(always)]
    fn update(self, params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
        let Self {
            step_size,
            inv_sqrt_c2,
            beta1,
            beta2,
            eps,
        } = self;
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(first).zip(second) {
            let m_next = beta1 * *m + (1.0 - beta1) * g;
            let v_next = beta2 * *v + (1.0 - beta2) * g * g;
            *m = if m_next.abs() < FIRST_MOMENT_FLUSH {
                0.0
            } else {
                m_next
            };
            *v = if v_next < SECOND_MOMENT_FLUSH {
                0.0
            } else {
                v_next
            };
            *p -= step_size * *m / (v.sqrt() * inv_sqrt_c2 + eps);
        }
    }

    /// `update` in the widest vectors the CPU has. The same results to the bit: Rust never
    /// fuses a multiply and an add on its own, and sqrt and division are exactly rounded at
    /// any width (the default x86-64 target vectorises 4 lanes; this is a tenth of `bench gfn`).
    fn update_wide(self, params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe {
                self.update_avx512(params, grads, first, second)
            };
            return;
        }
        self.update(params, grads, first, second);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn update_avx512(
        self,
        params: &mut [f32],
        grads: &[f32],
        first: &mut [f32],
        second: &mut [f32],
    ) {
        self.update(params, grads, first, second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gradient that stops leaves its moments at exactly 0, never in the subnormal range
    /// that x86 computes slowly; a parameter still moves as without the flush.
    #[test]
    fn stopped_gradients_leave_no_subnormal_moments() {
        let mut adam = Adam::new(2, 1e-3);
        let mut p = [0.5f32, -0.25];
        adam.step(&mut p, &[1e-3, 2.0]);
        for _ in 0..2_000 {
            adam.step(&mut p, &[0.0, 0.0]);
        }
        for x in adam.first.iter().chain(&adam.second) {
            assert!(*x == 0.0 || x.is_normal(), "moment {x:e}");
        }
        assert_eq!(adam.first, [0.0, 0.0]);
        assert!(p[0] < 0.5 && p[1] < -0.25, "{p:?}");
    }

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
