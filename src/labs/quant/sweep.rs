//! Every method at every width on the page's matrix (the trade-off curves), as a background
//! job (`crate::jobs`): 44 quantizations with 50 Lloyd iterations each take tens of seconds
//! in a browser, so they run in a Web Worker (a thread natively) and the page draws the points
//! as they come.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use web_time::{Duration, Instant};

use super::lab::{MatrixState, QuantJob, Series, SweepPoint};
use super::matrix::{Activations, Matrix};
use super::settings::QuantSettings;
use crate::jobs::{Job, Step, wire};

/// Every series at every width, cheapest widths first so the curves fill from the left.
pub fn sweep_plan() -> VecDeque<(Series, u32)> {
    let mut plan = VecDeque::new();
    for bits in 2..=8 {
        for series in Series::CURVES {
            plan.push_back((series, bits));
        }
        if bits == 4 {
            plan.push_back((Series::Q40, 4));
            plan.push_back((Series::Iq4Nl, 4));
        }
    }
    plan
}

/// The page's matrix and settings: the worker rebuilds the activations and sensitivities from
/// the settings' seed, exactly as the page does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSpec {
    pub settings: QuantSettings,
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    /// The weights, f32 little-endian.
    #[serde(with = "wire::base64")]
    pub weights: Vec<u8>,
    /// A shipped matrix's real activations (the worker cannot rebuild them from a seed).
    #[serde(default)]
    pub real: Option<RealActivations>,
}

/// The calibration sensitivity and the held-out inputs (`batch x cols`, f32 little-endian).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RealActivations {
    pub sensitivity: Vec<f64>,
    pub batch: usize,
    #[serde(with = "wire::base64")]
    pub inputs: Vec<u8>,
}

impl RealActivations {
    fn decode(&self, cols: usize) -> Result<(Vec<f64>, Activations), String> {
        if self.sensitivity.len() != cols
            || self.batch.checked_mul(cols).and_then(|n| n.checked_mul(4))
                != Some(self.inputs.len())
        {
            return Err(format!(
                "real activations: {} sensitivities and {} bytes for {} x {cols}",
                self.sensitivity.len(),
                self.inputs.len(),
                self.batch
            ));
        }
        let data = f32s(&self.inputs);
        if data.iter().any(|v| !v.is_finite()) || self.sensitivity.iter().any(|v| !v.is_finite()) {
            return Err("real activations: a value is not finite".to_owned());
        }
        Ok((
            self.sensitivity.clone(),
            Activations {
                batch: self.batch,
                cols,
                data,
            },
        ))
    }
}

impl SweepSpec {
    pub fn of(m: &MatrixState, settings: &QuantSettings) -> Self {
        Self {
            settings: settings.clone(),
            name: m.name.clone(),
            rows: m.w.rows,
            cols: m.w.cols,
            weights: m.w.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            real: m.real_activations.then(|| RealActivations {
                sensitivity: m.sensitivity.clone(),
                batch: m.acts.batch,
                inputs: m.acts.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            }),
        }
    }

    fn matrix(&self) -> Result<Matrix, String> {
        let count = self.rows.checked_mul(self.cols).filter(|&n| n > 0);
        if count.and_then(|n| n.checked_mul(4)) != Some(self.weights.len()) {
            return Err(format!(
                "{} weight bytes for a {} x {} matrix",
                self.weights.len(),
                self.rows,
                self.cols
            ));
        }
        let data = f32s(&self.weights);
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!("weight {i} is not finite"));
        }
        Ok(Matrix {
            rows: self.rows,
            cols: self.cols,
            data,
        })
    }
}

/// Little-endian f32 bytes (a length checked by the caller) as values.
fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SweepUpdate {
    /// Points finished since the last update.
    pub points: Vec<SweepPoint>,
    /// Share of the whole sweep done.
    pub fraction: f64,
}

pub struct SweepJob {
    matrix: MatrixState,
    settings: QuantSettings,
    plan: VecDeque<(Series, u32)>,
    total: usize,
    done: usize,
    running: Option<(Series, u32, QuantJob)>,
}

impl Job for SweepJob {
    const KIND: &'static str = "quant-sweep";
    type Spec = SweepSpec;
    type Update = SweepUpdate;
    type Control = ();

    fn start(spec: SweepSpec) -> Result<Self, String> {
        let w = spec.matrix()?;
        let plan = sweep_plan();
        Ok(Self {
            matrix: {
                let real = spec.real.as_ref().map(|r| r.decode(w.cols)).transpose()?;
                MatrixState::from_weights(w, spec.name.clone(), &spec.settings, real)
            },
            settings: spec.settings,
            total: plan.len(),
            plan,
            done: 0,
            running: None,
        })
    }

    fn step(&mut self, budget: Duration) -> Step<SweepUpdate> {
        let deadline = Instant::now() + budget;
        let mut points = Vec::new();
        while Instant::now() < deadline {
            if self.running.is_none() {
                let Some((series, bits)) = self.plan.pop_front() else {
                    break;
                };
                let job = QuantJob::new(&self.matrix, series.config(bits, &self.settings));
                self.running = Some((series, bits, job));
            }
            let Some((series, bits, job)) = &mut self.running else {
                break;
            };
            if let Some((_, metrics)) = job.work(&self.matrix, deadline) {
                points.push(SweepPoint {
                    series: *series,
                    bits: *bits,
                    metrics,
                });
                self.done += 1;
                self.running = None;
            }
        }
        let running = self
            .running
            .as_ref()
            .map_or(0.0, |(_, _, j)| j.fraction(self.matrix.w.rows));
        let update = SweepUpdate {
            points,
            fraction: (self.done as f64 + running) / self.total.max(1) as f64,
        };
        Step::new(update, self.running.is_none() && self.plan.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Event, JobHandle, poll_until};
    use crate::labs::quant::methods::{metrics, quantize};
    use crate::labs::quant::settings::MatrixSource;

    #[test]
    fn the_worker_s_sweep_equals_one_shot_quantizations() {
        let s = QuantSettings {
            matrix: MatrixSource::Synthetic,
            rows: 12,
            cols: 64,
            batch: 8,
            ..QuantSettings::default()
        };
        let m = MatrixState::build(&s).unwrap().unwrap();
        let mut handle = JobHandle::<SweepJob>::default();
        handle.start(&SweepSpec::of(&m, &s), false);
        let mut points = Vec::new();
        for event in poll_until(&mut handle, |e| matches!(e, Event::Finished)) {
            match event {
                Event::Update(update) => points.extend(update.points),
                Event::Finished => {}
                Event::Failed(why) => panic!("{why}"),
            }
        }
        assert_eq!(points.len(), sweep_plan().len());
        for p in points.iter().step_by(7) {
            let config = p.series.config(p.bits, &s);
            let q = quantize(&m.w, &m.sensitivity, &config);
            assert_eq!(
                p.metrics,
                metrics(&m.w, &q, &m.sensitivity, &m.acts),
                "{p:?}"
            );
        }
    }

    #[test]
    fn malformed_weights_are_refused() {
        let s = QuantSettings::default();
        let bad = SweepSpec {
            settings: s.clone(),
            name: "x".into(),
            rows: 2,
            cols: 2,
            weights: vec![0; 15],
            real: None,
        };
        assert!(
            SweepJob::start(bad)
                .err()
                .unwrap()
                .contains("15 weight bytes")
        );
        let nan = SweepSpec {
            settings: s,
            name: "x".into(),
            rows: 1,
            cols: 1,
            weights: f32::NAN.to_le_bytes().to_vec(),
            real: None,
        };
        assert!(SweepJob::start(nan).err().unwrap().contains("not finite"));
        let short = SweepSpec {
            real: Some(RealActivations {
                sensitivity: vec![1.0; 2],
                batch: 1,
                inputs: vec![0; 4],
            }),
            ..SweepSpec::of(
                &MatrixState::build(&QuantSettings {
                    matrix: MatrixSource::Synthetic,
                    rows: 2,
                    cols: 2,
                    ..QuantSettings::default()
                })
                .unwrap()
                .unwrap(),
                &QuantSettings::default(),
            )
        };
        assert!(
            SweepJob::start(short)
                .err()
                .unwrap()
                .contains("real activations")
        );
    }

    #[test]
    fn a_shipped_matrix_reaches_the_worker_with_its_real_activations() {
        let s = QuantSettings {
            matrix: MatrixSource::AttnQuery,
            batch: 16,
            ..QuantSettings::default()
        };
        let m = MatrixState::build(&s).unwrap().unwrap();
        assert!(m.real_activations && m.acts.batch == 16);
        let job = SweepJob::start(SweepSpec::of(&m, &s)).unwrap();
        assert!(job.matrix.real_activations);
        assert_eq!(job.matrix.acts, m.acts);
        assert_eq!(job.matrix.sensitivity, m.sensitivity);
        assert_eq!(job.matrix.reference, m.reference);
    }
}
