//! Long CPU jobs off the UI thread: training, sweeps, frontiers.
//!
//! A lab describes a job as a [`Job`]: a serde `Spec` that starts it, `step`s of bounded length
//! that each return an `Update` for the page, and optional `Control` messages (a new setting,
//! "evaluate now"). The page holds a [`JobHandle`] and only draws what the updates say.
//!
//! Where a job runs:
//! - **web**: in a Web Worker (`src/bin/paperlab-worker.rs`, built by Trunk as a second wasm
//!   entry, `data-type="worker"`), one worker per handle, kept across jobs. Messages are JSON
//!   strings through `postMessage`: no SharedArrayBuffer, so no COOP/COEP headers, which static
//!   hosts such as GitHub Pages cannot set.
//! - **native** (desktop app, tests): on a thread per handle, same messages.
//! - **in the page**, in frame slices, only where a worker cannot start (the handle says why).
//!
//! All three drive the same [`WorkerCore`], so the native tests exercise what the worker runs:
//! the spec and every update go through their JSON form on every backend.

mod core;
pub mod wire;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub mod worker_scope;

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use web_time::Duration;

pub use self::core::{ErasedJob, JobKind, WorkerCore};
pub use wire::{FromWorker, ToWorker};

/// How long one step runs in a worker or thread before it reports: long enough that messages
/// cost little (about 25 updates a second), short enough that a pause or a new job is taken
/// within a few tens of milliseconds.
pub const STEP_BUDGET: Duration = Duration::from_millis(40);

/// A long CPU job, described for a worker.
pub trait Job: Sized + Send + 'static {
    /// Stable name, unique among jobs (the worker finds the job by it).
    const KIND: &'static str;
    /// Everything the job needs to start.
    type Spec: Serialize + DeserializeOwned;
    /// What the page hears after a step.
    type Update: Serialize + DeserializeOwned;
    /// Messages the page may send to a running job.
    type Control: Serialize + DeserializeOwned;

    /// Builds the job; an error is shown to the user.
    fn start(spec: Self::Spec) -> Result<Self, String>;

    /// Works for about `budget`.
    fn step(&mut self, budget: Duration) -> Step<Self::Update>;

    /// A control message; may answer at once (also while the job is paused).
    fn control(&mut self, _message: Self::Control) -> Option<Self::Update> {
        None
    }
}

/// What one step produced.
pub struct Step<U> {
    pub update: Option<U>,
    /// The job has nothing more to do (the worker stays, idle, for the next job).
    pub finished: bool,
    /// The job cannot go on (it diverged, say): the page shows why.
    pub failed: Option<String>,
}

impl<U> Step<U> {
    pub fn running(update: U) -> Self {
        Self {
            update: Some(update),
            finished: false,
            failed: None,
        }
    }

    pub fn finished(update: U) -> Self {
        Self {
            update: Some(update),
            finished: true,
            failed: None,
        }
    }

    /// `update`, and whether the job is done with it.
    pub fn new(update: U, finished: bool) -> Self {
        Self {
            update: Some(update),
            finished,
            failed: None,
        }
    }

    pub fn failed(why: String) -> Self {
        Self {
            update: None,
            finished: true,
            failed: Some(why),
        }
    }
}

/// What the page hears from its job.
#[derive(Debug)]
pub enum Event<U> {
    Update(U),
    Finished,
    Failed(String),
}

/// A worker (or thread) that went away. `before_ready`: it never loaded, so the job can run in
/// the page instead; otherwise it stopped under a job (a panic), which the page would repeat.
pub struct WorkerLost {
    pub before_ready: bool,
    pub why: String,
}

/// Where a handle's jobs run.
enum Backend {
    #[cfg(not(target_arch = "wasm32"))]
    Thread(native::ThreadWorker),
    #[cfg(target_arch = "wasm32")]
    Worker(web::PageWorker),
    /// No worker could start: the core runs in the page, in frame slices.
    InPage(Box<WorkerCore>),
}

impl Backend {
    fn send(&mut self, message: ToWorker) -> Result<(), String> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Self::Thread(thread) => thread.send(message),
            #[cfg(target_arch = "wasm32")]
            Self::Worker(worker) => worker.send(&message),
            Self::InPage(core) => {
                // Answers go to the core's outbox, read by the next poll.
                core.handle(message);
                Ok(())
            }
        }
    }

    fn receive(&mut self, budget: Duration) -> Result<Vec<FromWorker>, WorkerLost> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Self::Thread(thread) => thread.receive(),
            #[cfg(target_arch = "wasm32")]
            Self::Worker(worker) => worker.receive(),
            Self::InPage(core) => {
                let deadline = web_time::Instant::now() + budget;
                let mut out = core.take_outbox();
                while core.is_running() && web_time::Instant::now() < deadline {
                    out.extend(core.step(budget.min(STEP_BUDGET)));
                }
                Ok(out)
            }
        }
    }
}

/// The page's side of one job slot: start a job (replacing the one before), pause it, send it
/// control messages, and take its updates each frame.
pub struct JobHandle<J: Job> {
    backend: Option<Backend>,
    /// Id of the current job; updates of earlier jobs still in flight are dropped.
    job: u64,
    running: bool,
    paused: bool,
    /// The current job's start message, replayed in the page if its worker never loads.
    last_start: Option<ToWorker>,
    /// Why this handle's jobs run in the page instead of a worker, if they do.
    fallback_reason: Option<String>,
    _job: PhantomData<fn() -> J>,
}

impl<J: Job> Default for JobHandle<J> {
    fn default() -> Self {
        Self {
            backend: None,
            job: 0,
            running: false,
            paused: false,
            last_start: None,
            fallback_reason: None,
            _job: PhantomData,
        }
    }
}

impl<J: Job> JobHandle<J> {
    /// Starts `spec` (paused: built but idle until resumed), replacing any job this handle runs.
    pub fn start(&mut self, spec: &J::Spec, paused: bool) {
        let spec = match serde_json::to_string(spec) {
            Ok(spec) => spec,
            Err(e) => {
                log::error!("{}: spec not serialisable: {e}", J::KIND);
                return;
            }
        };
        self.job += 1;
        self.running = true;
        self.paused = paused;
        let start = ToWorker::Start {
            job: self.job,
            kind: J::KIND.to_owned(),
            spec,
            paused,
        };
        self.last_start = Some(start.clone());
        self.send(start);
    }

    /// Pauses or resumes the current job (it keeps its state).
    pub fn set_paused(&mut self, paused: bool) {
        if self.running && paused != self.paused {
            self.paused = paused;
            self.send(ToWorker::Pause {
                job: self.job,
                paused,
            });
        }
    }

    /// Sends a control message to the current job.
    pub fn control(&mut self, message: &J::Control) {
        if !self.running {
            return;
        }
        match serde_json::to_string(message) {
            Ok(message) => self.send(ToWorker::Control {
                job: self.job,
                message,
            }),
            Err(e) => log::error!("{}: control not serialisable: {e}", J::KIND),
        }
    }

    /// Stops the current job (its worker stays for the next one).
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            self.last_start = None;
            self.send(ToWorker::Stop { job: self.job });
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Why this handle's jobs run in the page rather than in a worker (`None`: in a worker).
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// Whether the current job advances only in the page's frames (no worker or thread runs
    /// it): then every frame counts, and the page must not slow its redraws.
    pub fn runs_in_page(&self) -> bool {
        self.running && matches!(self.backend, Some(Backend::InPage(_)))
    }

    /// The current job's events since the last call. `budget` is only spent where the job runs
    /// in the page (no worker).
    pub fn poll(&mut self, budget: Duration) -> Vec<Event<J::Update>> {
        let Some(backend) = &mut self.backend else {
            return Vec::new();
        };
        let messages = match backend.receive(budget) {
            Ok(messages) => messages,
            Err(lost) if lost.before_ready => {
                self.fall_back(lost.why);
                return Vec::new();
            }
            Err(lost) => {
                // Not replayed: what stopped the worker would stop the page too.
                self.backend = None;
                if !self.running {
                    return Vec::new();
                }
                self.running = false;
                self.last_start = None;
                return vec![Event::Failed(lost.why)];
            }
        };
        let mut events = Vec::new();
        for message in messages {
            let (job, event) = match message {
                FromWorker::Ready => continue,
                FromWorker::Update { job, update } => {
                    match serde_json::from_str::<J::Update>(&update) {
                        Ok(update) => (job, Event::Update(update)),
                        Err(e) => (job, Event::Failed(format!("unreadable update: {e}"))),
                    }
                }
                FromWorker::Finished { job } => (job, Event::Finished),
                FromWorker::Failed { job, error } => (job, Event::Failed(error)),
            };
            if job != self.job {
                continue;
            }
            if matches!(event, Event::Finished | Event::Failed(_)) {
                self.running = false;
                self.last_start = None;
            }
            events.push(event);
        }
        events
    }

    /// Sends `message` (its effect is already in `last_start` and `paused`, which a fallback
    /// replays; only a control message is lost if the worker goes away under it).
    fn send(&mut self, message: ToWorker) {
        let backend = match &mut self.backend {
            Some(backend) => backend,
            None => match spawn::<J>() {
                Ok(backend) => self.backend.insert(backend),
                Err(why) => return self.fall_back(why),
            },
        };
        if let Err(why) = backend.send(message) {
            // The worker is gone before or while taking this message: the page takes over.
            self.fall_back(why);
        }
    }

    /// For tests: what a page without workers does (the current job restarts in the page).
    #[cfg(test)]
    pub fn fall_back_for_test(&mut self) {
        self.fall_back("a test takes the job into the page".into());
    }

    /// Runs this handle's jobs in the page from now on, restarting the current one there.
    fn fall_back(&mut self, why: String) {
        log::warn!("{}: no worker ({why}); the job runs in the page", J::KIND);
        self.fallback_reason = Some(why);
        let mut core = WorkerCore::new(vec![JobKind::of::<J>()]);
        if let Some(start) = self.last_start.clone() {
            core.handle(start);
            core.handle(ToWorker::Pause {
                job: self.job,
                paused: self.paused,
            });
        }
        self.backend = Some(Backend::InPage(Box::new(core)));
    }
}

fn spawn<J: Job>() -> Result<Backend, String> {
    #[cfg(not(target_arch = "wasm32"))]
    return native::ThreadWorker::spawn(J::KIND, vec![JobKind::of::<J>()]).map(Backend::Thread);
    #[cfg(target_arch = "wasm32")]
    return web::PageWorker::spawn(J::KIND).map(Backend::Worker);
}

/// For tests: polls `handle` (its job runs on a thread) until `done` says so, within 120 s;
/// every event seen, the last one included.
#[cfg(test)]
pub fn poll_until<J: Job>(
    handle: &mut JobHandle<J>,
    mut done: impl FnMut(&Event<J::Update>) -> bool,
) -> Vec<Event<J::Update>> {
    let mut seen = Vec::new();
    let deadline = web_time::Instant::now() + Duration::from_secs(120);
    while web_time::Instant::now() < deadline {
        for event in handle.poll(Duration::ZERO) {
            let stop = done(&event);
            seen.push(event);
            if stop {
                return seen;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("{}: no such event within 120 s", J::KIND);
}
