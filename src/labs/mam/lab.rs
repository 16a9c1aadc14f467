//! The page's live state: which networks answer (shipped or trained here), the painted query's
//! answers three ways, the GPU batch, sampling, the gallery and the speed measurements. Every
//! piece of work is bounded per frame; GPU runs are polled, never waited on.

use web_time::{Duration, Instant};

use super::arm::Arm;
use super::gpu::{MamOnDevice, Net};
use super::ising::{
    Exact, ExactMoments, ExactMomentsJob, Ising, MAX_EXACT_SIZE, MAX_TRANSFER_SIZE,
    TransferMarginalJob, gibbs_sample, spins_of,
};
use super::jobs::{PageTraining, TrainJob, TrainSpec};
use super::nets::{CLASSES, MamNets, encode_into, observed_in_order, random_order};
use super::partial::{Partial, Site};
use super::settings::{MamSettings, Sampler};
use super::speed::{QueryTime, query_batch, time_ms, time_query};
use super::weights::{
    WeightsHeader, load_shipped, load_shipped_arm, shipped_arm_file, shipped_file,
};
use crate::gpu::{Compute, GpuContext, KernelRun};
use crate::jobs::{Event, JobHandle};
use crate::nn::Mlp;
use crate::rng::SplitMix64;

/// Queries recomputed at most this often while training changes the networks.
const REQUERY_WHILE_TRAINING: Duration = Duration::from_millis(500);
/// Samples per side of the gallery statistics.
pub const GALLERY_SAMPLES: usize = 256;
/// Gibbs sweeps per reference sample on lattices without exact sampling.
const GIBBS_SWEEPS: usize = 200;
/// Queries in the GPU throughput batch.
pub const SPEED_BATCH: usize = 256;

/// Where the answering networks come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Shipped(WeightsHeader),
    /// Fetching the shipped file (web).
    Loading,
    /// Trained on this page (the trainer holds them).
    Trained,
    /// Nothing shipped for this target and nothing trained yet.
    None,
}

/// Which network answers the autoregressive route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArmNetwork {
    /// The separately trained ARM (shipped), the paper's baseline.
    Separate,
    /// MaM's own conditional network (no ARM for this target, or the page trains its own MaM).
    MamConditional,
}

impl ArmNetwork {
    pub fn label(self) -> &'static str {
        match self {
            ArmNetwork::Separate => "autoregressive (separate ARM)",
            ArmNetwork::MamConditional => "autoregressive (MaM's conditional net)",
        }
    }
}

/// The painted query answered three ways, with the time each took.
#[derive(Clone, Debug)]
pub struct QueryAnswer {
    pub log_p_model: f64,
    pub ms_mam: f64,
    pub log_p_arm: f64,
    pub ms_arm: f64,
    /// Which network gave `log_p_arm`.
    pub arm_network: ArmNetwork,
    pub observed: usize,
    pub log_p_exact: Option<f64>,
    /// p(x_i = +1 | painted) from one conditional pass.
    pub heat_conditional: Vec<f64>,
    /// The same from D + 1 marginals in one batch (CPU).
    pub heat_marginals: Vec<f64>,
    pub heat_exact: Option<Vec<f64>>,
}

/// The D + 1 marginal batch on the GPU.
pub struct GpuHeat {
    pub heat: Vec<f64>,
    pub wall_ms: f64,
    /// max |GPU heat - conditional-net heat| over unknown sites.
    pub max_diff_vs_conditional: f64,
}

/// Any-order sampling, revealed one site at a time.
pub struct Sampling {
    pub start: Partial,
    pub steps: Vec<(usize, i8, f64)>,
    pub started: Instant,
}

impl Sampling {
    /// Sites revealed so far (about two seconds for the whole lattice).
    pub fn revealed(&self) -> usize {
        let per_site_s = (2.0 / self.steps.len().max(1) as f64).clamp(0.01, 0.25);
        ((self.started.elapsed().as_secs_f64() / per_site_s) as usize).min(self.steps.len())
    }

    pub fn done(&self) -> bool {
        self.revealed() >= self.steps.len()
    }
}

pub use super::eval::SampleStats;

/// Samples by the model (any order, random each) and by the reference (exact for L <= 4,
/// Gibbs otherwise), grown within each frame's budget.
pub struct Gallery {
    pub model_samples: Vec<Vec<i8>>,
    pub reference_samples: Vec<Vec<i8>>,
    pub reference_is_exact: bool,
    /// The target's exact magnetisation and neighbour correlation (L <= 10), once computed.
    pub exact_moments: Option<ExactMoments>,
    /// Their transfer-matrix runs in progress (a second at L = 10, so spread over frames);
    /// `None` when done or when the lattice is too large for them.
    moments_job: Option<ExactMomentsJob>,
    rng: SplitMix64,
    cumulative: Option<Vec<f64>>,
    /// Samples per side.
    target: usize,
    sampler: Sampler,
}

impl Gallery {
    fn new(model: &Ising, exact: Option<&Exact>, seed: u64, sampler: Sampler) -> Self {
        // Exact sampling by inverting the CDF of every state's probability.
        let cumulative = exact.map(|e| {
            let mut acc = 0.0;
            e.log_f
                .iter()
                .map(|lf| {
                    acc += (lf - e.log_z).exp();
                    acc
                })
                .collect()
        });
        Self {
            model_samples: Vec::new(),
            reference_samples: Vec::new(),
            reference_is_exact: cumulative.is_some(),
            exact_moments: None,
            moments_job: ExactMomentsJob::new(model).ok(),
            rng: SplitMix64::new(seed ^ 0x6a11),
            cumulative,
            target: GALLERY_SAMPLES,
            sampler,
        }
    }

    pub fn done(&self) -> bool {
        self.model_samples.len() >= self.target
            && self.reference_samples.len() >= self.target
            && self.moments_job.is_none()
    }

    /// `n` samples each, blocking (CLI).
    pub fn complete(model: &Ising, nets: &MamNets, n: usize, seed: u64, sampler: Sampler) -> Self {
        let exact = Exact::new(*model).ok();
        let mut g = Self::new(model, exact.as_ref(), seed, sampler);
        g.target = n;
        while !g.done() {
            g.work(model, nets, Instant::now() + Duration::from_secs(1));
        }
        g
    }

    fn work(&mut self, model: &Ising, nets: &MamNets, deadline: Instant) {
        let d = model.sites();
        while !self.done() && Instant::now() < deadline {
            if self.model_samples.len() < self.target {
                let order = random_order(d, &mut self.rng);
                let start = Partial::unknown(d);
                let steps = nets.sample(self.sampler, &start, &order, &mut self.rng);
                let mut spins = vec![0i8; d];
                steps.iter().for_each(|&(i, s, _)| spins[i] = s);
                self.model_samples.push(spins);
            }
            if self.reference_samples.len() < self.target {
                let sample = match &self.cumulative {
                    Some(cdf) => {
                        let u = self.rng.next_f64() * cdf.last().copied().unwrap_or(1.0);
                        let state = cdf.partition_point(|&c| c < u).min(cdf.len() - 1);
                        spins_of(state, d)
                    }
                    None => gibbs_sample(model, GIBBS_SWEEPS, &mut self.rng),
                };
                self.reference_samples.push(sample);
            }
            if let Some(job) = &mut self.moments_job {
                match job.step() {
                    Ok(None) => {}
                    Ok(Some(moments)) => {
                        self.exact_moments = Some(moments);
                        self.moments_job = None;
                    }
                    // The table shows no exact row then; nothing else depends on it.
                    Err(_) => self.moments_job = None,
                }
            }
        }
    }
}

/// The speed view's measurements: CPU per-query times by |S|, then the GPU batch.
pub struct SpeedJob {
    pub sizes: Vec<usize>,
    pub cpu: Vec<QueryTime>,
    pub cpu_batch_ms: Option<f64>,
    pub gpu: Option<GpuSpeed>,
    pub gpu_error: Option<String>,
    gpu_pending: Vec<(Net, usize)>,
    gpu_run: Option<(Net, usize, KernelRun)>,
    device: Option<MamOnDevice>,
    batch_input: Vec<f32>,
}

/// GPU batch figures: ms per forward of the batch for MaM, and the ARM's |S| passes.
#[derive(Clone, Debug, Default)]
pub struct GpuSpeed {
    pub ms_mam: Option<f64>,
    /// (|S|, ms for |S| conditional passes over the batch).
    pub ms_arm: Vec<(usize, f64)>,
    pub timing: String,
}

impl SpeedJob {
    fn new(d: usize, seed: u64) -> Self {
        let mut sizes = vec![1, d / 8, d / 4, d / 2, 3 * d / 4, d];
        sizes.retain(|&s| s >= 1);
        sizes.dedup();
        Self {
            sizes,
            cpu: Vec::new(),
            cpu_batch_ms: None,
            gpu: None,
            gpu_error: None,
            gpu_pending: super::speed::goal_sizes(d)
                .iter()
                .map(|&s| (Net::Conditional, s))
                .chain([(Net::Marginal, 1)])
                .collect(),
            gpu_run: None,
            device: None,
            batch_input: query_batch(d, SPEED_BATCH, seed),
        }
    }

    pub fn done(&self, on_gpu: bool) -> bool {
        let cpu_done = self.cpu.len() == self.sizes.len() && self.cpu_batch_ms.is_some();
        let gpu_done = !on_gpu
            || self.gpu_error.is_some()
            || (self.gpu_pending.is_empty() && self.gpu_run.is_none());
        cpu_done && gpu_done
    }

    /// One CPU measurement per frame (each about 5 ms per route), and the GPU runs polled.
    fn work(&mut self, nets: &MamNets, arm: &Mlp, compute: &Compute) {
        if self.cpu.len() < self.sizes.len() {
            let observed = self.sizes[self.cpu.len()];
            self.cpu.push(time_query(nets, arm, observed, 7, 5.0));
        } else if self.cpu_batch_ms.is_none() {
            let (_, ms) = time_ms(20.0, || {
                nets.log_marginals_encoded(&self.batch_input, SPEED_BATCH)
            });
            self.cpu_batch_ms = Some(ms);
        }
        if let Some(ctx) = compute.gpu()
            && self.gpu_error.is_none()
            && let Err(e) = self.gpu_work(ctx, nets)
        {
            self.gpu_error = Some(e);
        }
    }

    fn gpu_work(&mut self, ctx: &GpuContext, nets: &MamNets) -> Result<(), String> {
        if self.device.is_none() {
            self.device =
                Some(MamOnDevice::upload(ctx, nets, SPEED_BATCH).map_err(|e| e.to_string())?);
        }
        let Some(device) = &self.device else {
            return Ok(());
        };
        if let Some((net, observed, run)) = &mut self.gpu_run {
            let Some(result) = run.try_finish(ctx) else {
                return Ok(());
            };
            let out = result.map_err(|e| e.to_string())?;
            let ms = crate::stats::median(&out.pass_ms);
            let gpu = self.gpu.get_or_insert_with(GpuSpeed::default);
            gpu.timing = out.timing.label().to_owned();
            match net {
                Net::Marginal => gpu.ms_mam = Some(ms),
                Net::Conditional => gpu.ms_arm.push((*observed, ms * *observed as f64)),
            }
            self.gpu_run = None;
        }
        if self.gpu_run.is_none()
            && let Some((net, observed)) = self.gpu_pending.pop()
        {
            let repeats = if net == Net::Marginal {
                8
            } else {
                observed as u32
            };
            let run = device
                .timed_forward(ctx, net, &self.batch_input, SPEED_BATCH, 5, repeats)
                .map_err(|e| e.to_string())?;
            self.gpu_run = Some((net, observed, run));
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MamState {
    target_key: Option<(u32, u64, u64)>,
    pub model: Option<Ising>,
    pub exact: Option<Exact>,
    pub shipped: Option<MamNets>,
    /// The separately trained ARM shipped for this target (fetched after the MaM).
    pub shipped_arm: Option<Arm>,
    /// Whether the shipped ARM is still to be loaded.
    arm_pending: bool,
    pub source: Option<Source>,
    pub load_error: Option<String>,
    /// Training on this page: what its job (a Web Worker, a thread natively) reported.
    pub training: Option<PageTraining>,
    train_job: JobHandle<TrainJob>,
    /// Bumped whenever the answering networks change.
    nets_version: u64,
    query_key: Option<(String, u64)>,
    last_query_at: Option<Instant>,
    pub answer: Option<QueryAnswer>,
    pub gpu_heat: Option<GpuHeat>,
    pub gpu_error: Option<String>,
    gpu_device: Option<(u64, MamOnDevice)>,
    gpu_run: Option<(Partial, KernelRun, Instant)>,
    pub sampling: Option<Sampling>,
    pub gallery: Option<Gallery>,
    pub speed: Option<SpeedJob>,
    /// The painted query's exact log p above 4x4 (transfer matrix, L <= 10), spread over
    /// frames: the pattern it answers, the job (until done), its result.
    pub transfer_query: Option<TransferQuery>,
    /// The target's log Z, once a transfer-matrix query computed it.
    transfer_log_z: Option<f64>,
}

/// See [`MamState::transfer_query`].
pub struct TransferQuery {
    pattern: String,
    job: Option<TransferMarginalJob>,
    pub result: Option<Result<f64, String>>,
}

impl MamState {
    /// The networks answering queries: the page's training's, else the shipped ones.
    pub fn nets(&self) -> Option<&MamNets> {
        self.training
            .as_ref()
            .map(|t| &t.nets)
            .or(self.shipped.as_ref())
    }

    /// Why training runs in the page rather than in a worker (`None`: in a worker).
    pub fn training_fallback_reason(&self) -> Option<&str> {
        self.train_job.fallback_reason()
    }

    /// The autoregressive network: the shipped ARM while the shipped MaM answers, else MaM's
    /// own conditional network.
    pub fn arm(&self) -> Option<(&Mlp, ArmNetwork)> {
        match (&self.training, &self.shipped_arm) {
            (None, Some(arm)) => Some((&arm.net, ArmNetwork::Separate)),
            _ => self
                .nets()
                .map(|n| (&n.conditional, ArmNetwork::MamConditional)),
        }
    }

    pub fn source(&self) -> Source {
        if self.training.is_some() {
            return Source::Trained;
        }
        self.source.clone().unwrap_or(Source::None)
    }

    /// A new target (size, J, h): drop everything that depended on the old one.
    fn reset_target(&mut self, s: &MamSettings) {
        *self = Self::default();
        let model = s.model();
        self.target_key = Some(s.target_key());
        self.exact = (model.size <= MAX_EXACT_SIZE)
            .then(|| Exact::new(model).ok())
            .flatten();
        self.model = Some(model);
        self.arm_pending = shipped_arm_file(&model).is_some();
        self.source = Some(if shipped_file(&model).is_some() {
            Source::Loading
        } else {
            Source::None
        });
    }

    fn networks_changed(&mut self) {
        self.nets_version += 1;
        self.gallery = None;
        self.speed = None;
        self.sampling = None;
    }

    /// Starts training from scratch with the settings' seed (in its job; paused unless the
    /// settings say train).
    pub fn start_training(&mut self, s: &MamSettings) {
        let Some(model) = self.model else { return };
        let spec = TrainSpec {
            size: model.size,
            coupling: model.coupling,
            field: model.field,
            seed: s.train_seed,
        };
        self.train_job.start(&spec, !s.train);
        self.training = Some(PageTraining::new(spec));
        self.networks_changed();
    }

    /// Back to the shipped networks (where there are some).
    pub fn use_shipped(&mut self) {
        self.train_job.stop();
        self.training = None;
        self.networks_changed();
    }

    pub fn restart_gallery(&mut self) {
        self.gallery = None;
    }

    pub fn restart_speed(&mut self) {
        self.speed = None;
    }

    pub fn restart_sampling(&mut self) {
        self.sampling = None;
    }

    /// The transfer matrix's log p for `pattern`, if it has been computed.
    fn transfer_answer(&self, pattern: &str) -> Option<f64> {
        self.transfer_query
            .as_ref()
            .filter(|t| t.pattern == pattern)
            .and_then(|t| t.result.clone())
            .and_then(Result::ok)
    }

    /// Starts the exact answer for the painted pattern (4 < L <= 10) if it is a new one, and
    /// runs it until `deadline`; fills the answer's exact log p when done.
    fn work_transfer_query(&mut self, s: &MamSettings, model: &Ising, deadline: Instant) {
        if self.exact.is_some() || model.size > MAX_TRANSFER_SIZE {
            return;
        }
        if self
            .transfer_query
            .as_ref()
            .is_none_or(|t| t.pattern != s.pattern)
        {
            let job = TransferMarginalJob::new(model, self.transfer_log_z, &s.partial());
            self.transfer_query = Some(match job {
                Ok(job) => TransferQuery {
                    pattern: s.pattern.clone(),
                    job: Some(job),
                    result: None,
                },
                Err(e) => TransferQuery {
                    pattern: s.pattern.clone(),
                    job: None,
                    result: Some(Err(e)),
                },
            });
        }
        let Some(query) = &mut self.transfer_query else {
            return;
        };
        while let Some(job) = &mut query.job
            && Instant::now() < deadline
        {
            match job.step() {
                Ok(None) => {}
                Ok(Some(log_p)) => {
                    self.transfer_log_z = job.log_z();
                    query.result = Some(Ok(log_p));
                    query.job = None;
                }
                Err(e) => {
                    query.result = Some(Err(e));
                    query.job = None;
                }
            }
        }
        let log_p = self.transfer_answer(&s.pattern);
        let answers_pattern = self
            .query_key
            .as_ref()
            .is_some_and(|(p, _)| *p == s.pattern);
        if let (Some(a), Some(log_p), true) = (&mut self.answer, log_p, answers_pattern) {
            a.log_p_exact = Some(log_p);
        }
    }

    pub fn is_busy(&self, s: &MamSettings, on_gpu: bool) -> bool {
        s.train
            || self
                .transfer_query
                .as_ref()
                .is_some_and(|t| t.job.is_some())
            || self.source == Some(Source::Loading) && self.shipped.is_none()
            || self.arm_pending && self.shipped.is_some()
            || self.gpu_run.is_some()
            || self.sampling.as_ref().is_some_and(|x| !x.done())
            || self.gallery.as_ref().is_some_and(|g| !g.done())
            || self.speed.as_ref().is_some_and(|j| !j.done(on_gpu))
    }

    /// The frame's work, within `budget`.
    pub fn work(&mut self, s: &mut MamSettings, compute: &Compute, budget: Duration) {
        let started = Instant::now();
        let deadline = started + budget;
        if self.target_key != Some(s.target_key()) {
            self.reset_target(s);
        }
        let Some(model) = self.model else { return };
        if self.source == Some(Source::Loading) && self.shipped.is_none() {
            match load_shipped(&model) {
                Ok(Some((header, nets))) => {
                    self.shipped = Some(nets);
                    self.source = Some(Source::Shipped(header));
                    self.networks_changed();
                }
                Ok(None) => {}
                Err(e) => {
                    self.load_error = Some(e);
                    self.source = Some(Source::None);
                }
            }
        }
        if self.arm_pending && self.shipped.is_some() {
            match load_shipped_arm(&model) {
                Ok(Some((_, arm))) => {
                    self.shipped_arm = Some(arm);
                    self.arm_pending = false;
                    self.networks_changed();
                }
                Ok(None) => {}
                Err(e) => {
                    // The MaM still answers; the ARM route falls back to its conditional net.
                    self.load_error = Some(e);
                    self.arm_pending = false;
                }
            }
        }
        if s.train && self.training.is_none() {
            self.start_training(s);
        }
        self.poll_training(s, budget.mul_f32(0.7));
        self.update_query(s, compute);
        // Half the frame's budget at most, so that sampling and the gallery go on meanwhile.
        self.work_transfer_query(s, &model, started + budget / 2);
        self.poll_gpu(compute);
        if let Some(nets) = self
            .training
            .as_ref()
            .map(|t| &t.nets)
            .or(self.shipped.as_ref())
        {
            let sampling_key_missing = self.sampling.is_none();
            if sampling_key_missing {
                let start = s.partial();
                let order = s.order.sites(model.size, s.seed);
                let mut rng = SplitMix64::new(s.seed);
                let steps = nets.sample(s.sampler, &start, &order, &mut rng);
                self.sampling = Some(Sampling {
                    steps,
                    start,
                    started: Instant::now(),
                });
            }
            match s.view {
                super::settings::View::Sample => {
                    let gallery = self.gallery.get_or_insert_with(|| {
                        Gallery::new(&model, self.exact.as_ref(), s.seed, s.sampler)
                    });
                    gallery.work(&model, nets, deadline);
                }
                super::settings::View::Speed => {
                    let arm = match (&self.training, &self.shipped_arm) {
                        (None, Some(a)) => &a.net,
                        _ => &nets.conditional,
                    };
                    if let Some(job) = &mut self.speed {
                        job.work(nets, arm, compute);
                    }
                }
                super::settings::View::Train => {}
            }
        }
    }

    /// Follows the Train switch and takes the training job's news: figures every step, new
    /// networks a few times a second (the answers follow them). `budget` is only spent where
    /// no worker could start.
    fn poll_training(&mut self, s: &MamSettings, budget: Duration) {
        let Some(training) = &mut self.training else {
            return;
        };
        self.train_job.set_paused(!s.train);
        for event in self.train_job.poll(budget) {
            match event {
                Event::Update(update) => {
                    if training.take(update) {
                        self.nets_version += 1;
                    }
                }
                Event::Finished => {}
                Event::Failed(why) => training.error = Some(why),
            }
        }
    }

    /// Starts the speed measurements (a button: they take the CPU for a second or two).
    pub fn start_speed(&mut self, seed: u64) {
        if let Some(model) = self.model {
            self.speed = Some(SpeedJob::new(model.sites(), seed));
        }
    }

    /// Recomputes the painted query's answers when the pattern or the networks changed.
    fn update_query(&mut self, s: &MamSettings, compute: &Compute) {
        let key = (s.pattern.clone(), self.nets_version);
        if self.query_key.as_ref() == Some(&key) {
            return;
        }
        let pattern_changed = self.query_key.as_ref().is_none_or(|(p, _)| *p != s.pattern);
        if !pattern_changed
            && self
                .last_query_at
                .is_some_and(|t| t.elapsed() < REQUERY_WHILE_TRAINING)
        {
            return;
        }
        let (Some(nets), Some((arm, arm_network))) = (self.nets(), self.arm()) else {
            return;
        };
        let p = s.partial();
        let order = observed_in_order(&p, &[]);
        let (log_p_model, ms_mam) = time_ms(0.0, || nets.log_marginal(&p));
        let (log_p_arm, ms_arm) = time_ms(0.0, || super::arm::log_marginal(arm, &p, &order));
        let answer = QueryAnswer {
            log_p_model,
            ms_mam,
            log_p_arm,
            ms_arm,
            arm_network,
            observed: order.len(),
            log_p_exact: match &self.exact {
                Some(e) => Some(e.log_marginal(&p)),
                None => self.transfer_answer(&s.pattern),
            },
            heat_conditional: nets.conditionals_up(&p),
            heat_marginals: nets.heat_map_by_marginals(&p),
            heat_exact: self.exact.as_ref().map(|e| e.conditionals_up(&p)),
        };
        if pattern_changed {
            self.sampling = None;
        }
        self.answer = Some(answer);
        self.query_key = Some(key);
        self.last_query_at = Some(Instant::now());
        if let Some(ctx) = compute.gpu()
            && self.gpu_run.is_none()
            && let Err(e) = self.submit_gpu_heat(ctx, &p)
        {
            self.gpu_error = Some(e);
        }
    }

    fn submit_gpu_heat(&mut self, ctx: &GpuContext, p: &Partial) -> Result<(), String> {
        let d = p.sites.len();
        if self
            .gpu_device
            .as_ref()
            .is_none_or(|(v, _)| *v != self.nets_version)
        {
            let Some(nets) = self.nets() else {
                return Ok(());
            };
            let device = MamOnDevice::upload(ctx, nets, d + 1).map_err(|e| e.to_string())?;
            self.gpu_device = Some((self.nets_version, device));
        }
        let Some((_, device)) = &self.gpu_device else {
            return Ok(());
        };
        let queries = MamNets::heat_map_queries(p);
        let mut x = Vec::with_capacity(queries.len() * CLASSES * d);
        queries.iter().for_each(|q| encode_into(&q.sites, &mut x));
        let run = device
            .forward(ctx, Net::Marginal, &x, queries.len())
            .map_err(|e| e.to_string())?;
        self.gpu_run = Some((p.clone(), run, Instant::now()));
        Ok(())
    }

    fn poll_gpu(&mut self, compute: &Compute) {
        let (Some(ctx), Some((_, run, _))) = (compute.gpu(), &mut self.gpu_run) else {
            return;
        };
        let Some(result) = run.try_finish(ctx) else {
            return;
        };
        let Some((p, _, submitted)) = self.gpu_run.take() else {
            return;
        };
        let p = &p;
        let wall_ms = submitted.elapsed().as_secs_f64() * 1e3;
        match (result, &self.gpu_device) {
            (Ok(out), Some((_, device))) => {
                let heat = MamNets::heat_map_from_marginals(p, &device.log_marginals(&out.bytes));
                let max_diff_vs_conditional = self.answer.as_ref().map_or(f64::NAN, |a| {
                    heat.iter()
                        .zip(&a.heat_conditional)
                        .zip(&p.sites)
                        .filter(|(_, s)| **s == Site::Unknown)
                        .map(|((g, c), _)| (g - c).abs())
                        .fold(0.0, f64::max)
                });
                self.gpu_heat = Some(GpuHeat {
                    heat,
                    wall_ms,
                    max_diff_vs_conditional,
                });
                self.gpu_error = None;
            }
            (Err(e), _) => self.gpu_error = Some(e.to_string()),
            (Ok(_), None) => {}
        }
        // The pattern may have changed while the run was in flight: ask again.
        if self
            .query_key
            .as_ref()
            .is_some_and(|(pattern, _)| *pattern != super::settings::pattern_of(p))
        {
            self.query_key = None;
        }
    }
}

impl MamState {
    /// Figures for scripts and browser tests.
    pub fn status_json(&self, s: &MamSettings) -> serde_json::Value {
        let source = match self.source() {
            Source::Shipped(_) => "shipped",
            Source::Loading => "loading",
            Source::Trained => "trained",
            Source::None => "none",
        };
        let a = self.answer.as_ref();
        let gallery = self.gallery.as_ref().map(|g| {
            let model = self.model.unwrap_or(s.model());
            let m = SampleStats::of(&model, &g.model_samples);
            let r = SampleStats::of(&model, &g.reference_samples);
            serde_json::json!({
                "model_samples": m.count,
                "reference_samples": r.count,
                "reference_is_exact": g.reference_is_exact,
                "model_magnetisation": m.magnetisation,
                "reference_magnetisation": r.magnetisation,
                "model_correlation": m.neighbour_correlation,
                "reference_correlation": r.neighbour_correlation,
                "exact_magnetisation": g.exact_moments.map(|e| e.magnetisation),
                "exact_correlation": g.exact_moments.map(|e| e.neighbour_correlation),
            })
        });
        let speed = self.speed.as_ref().map(|j| {
            serde_json::json!({
                "cpu": j.cpu,
                "cpu_batch_ms": j.cpu_batch_ms,
                "gpu_ms_mam": j.gpu.as_ref().and_then(|g| g.ms_mam),
                "gpu_ms_arm": j.gpu.as_ref().map(|g| g.ms_arm.clone()),
                "gpu_error": j.gpu_error,
            })
        });
        serde_json::json!({
            "source": source,
            "load_error": self.load_error,
            "training_steps": self.training.as_ref().map(|t| t.steps),
            "self_consistency": self.training.as_ref().and_then(|t| t.recent(50)).map(|r| r.self_consistency),
            "kl_estimate": self.training.as_ref().and_then(|t| t.recent(50)).and_then(|r| r.kl_estimate),
            "training_in_worker": self.training.as_ref().map(|_| self.train_job.fallback_reason().is_none()),
            "training_error": self.training.as_ref().and_then(|t| t.error.clone()),
            "observed": a.map(|a| a.observed),
            "log_p_model": a.map(|a| a.log_p_model),
            "log_p_arm": a.map(|a| a.log_p_arm),
            "arm_network": a.map(|a| match a.arm_network {
                ArmNetwork::Separate => "separate",
                ArmNetwork::MamConditional => "mam_conditional",
            }),
            "log_p_exact": a.and_then(|a| a.log_p_exact),
            "ms_mam": a.map(|a| a.ms_mam),
            "ms_arm": a.map(|a| a.ms_arm),
            "gpu_heat_max_diff": self.gpu_heat.as_ref().map(|g| g.max_diff_vs_conditional),
            "gpu_error": self.gpu_error,
            "sampling_done": self.sampling.as_ref().map(Sampling::done),
            "gallery": gallery,
            "speed": speed,
        })
    }
}
