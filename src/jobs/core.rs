//! The worker's side of a job slot, as a plain state machine: messages in, messages out. A Web
//! Worker, a native thread and the in-page fallback all drive this one type.

use web_time::Duration;

use super::wire::{FromWorker, ToWorker};
use super::{Job, Step};

/// A job behind JSON: what a worker holds without knowing the job's types.
pub trait ErasedJob {
    /// The update (JSON), whether the job finished, and why it failed if it did.
    fn step(&mut self, budget: Duration) -> (Option<String>, bool, Option<String>);
    fn control(&mut self, message: &str) -> Result<Option<String>, String>;
}

struct Typed<J: Job>(J);

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // The job's own types: serialising them cannot fail short of a non-string map key, which
    // none has; an error would still reach the page as an unreadable update.
    serde_json::to_string(value).unwrap_or_else(|e| format!("\"unserialisable: {e}\""))
}

impl<J: Job> ErasedJob for Typed<J> {
    fn step(&mut self, budget: Duration) -> (Option<String>, bool, Option<String>) {
        let Step {
            update,
            finished,
            failed,
        } = self.0.step(budget);
        (update.as_ref().map(to_json), finished, failed)
    }

    fn control(&mut self, message: &str) -> Result<Option<String>, String> {
        let message: J::Control =
            serde_json::from_str(message).map_err(|e| format!("unreadable control: {e}"))?;
        Ok(self.0.control(message).as_ref().map(to_json))
    }
}

/// A job a worker can start by name.
#[derive(Clone, Copy)]
pub struct JobKind {
    pub name: &'static str,
    start: fn(&str) -> Result<Box<dyn ErasedJob>, String>,
}

impl JobKind {
    pub fn of<J: Job>() -> Self {
        Self {
            name: J::KIND,
            start: |spec| {
                let spec: J::Spec = serde_json::from_str(spec)
                    .map_err(|e| format!("{}: unreadable spec: {e}", J::KIND))?;
                let job = J::start(spec)?;
                Ok(Box::new(Typed(job)))
            },
        }
    }
}

/// One slot: at most one job, running or paused.
pub struct WorkerCore {
    kinds: Vec<JobKind>,
    job: Option<(u64, Box<dyn ErasedJob>)>,
    paused: bool,
    /// Answers to messages, waiting for the next `step` or `take_outbox`.
    outbox: Vec<FromWorker>,
}

impl WorkerCore {
    pub fn new(kinds: Vec<JobKind>) -> Self {
        Self {
            kinds,
            job: None,
            paused: false,
            outbox: Vec::new(),
        }
    }

    /// Whether `step` has work to do.
    pub fn is_running(&self) -> bool {
        self.job.is_some() && !self.paused
    }

    pub fn handle(&mut self, message: ToWorker) {
        match message {
            ToWorker::Start {
                job,
                kind,
                spec,
                paused,
            } => {
                self.job = None;
                self.paused = paused;
                let Some(found) = self.kinds.iter().find(|k| k.name == kind) else {
                    self.outbox.push(FromWorker::Failed {
                        job,
                        error: format!("this worker has no job '{kind}'"),
                    });
                    return;
                };
                match (found.start)(&spec) {
                    Ok(started) => self.job = Some((job, started)),
                    Err(error) => self.outbox.push(FromWorker::Failed { job, error }),
                }
            }
            ToWorker::Pause { job, paused } => {
                if self.current(job) {
                    self.paused = paused;
                }
            }
            ToWorker::Control { job, message } => {
                let Some((id, running)) = &mut self.job else {
                    return;
                };
                if *id != job {
                    return;
                }
                match running.control(&message) {
                    Ok(Some(update)) => self.outbox.push(FromWorker::Update { job, update }),
                    Ok(None) => {}
                    Err(error) => self.outbox.push(FromWorker::Failed { job, error }),
                }
            }
            ToWorker::Stop { job } => {
                if self.current(job) {
                    self.job = None;
                }
            }
        }
    }

    fn current(&self, job: u64) -> bool {
        self.job.as_ref().is_some_and(|(id, _)| *id == job)
    }

    /// Answers waiting from `handle`.
    pub fn take_outbox(&mut self) -> Vec<FromWorker> {
        std::mem::take(&mut self.outbox)
    }

    /// Runs the job for about `budget`; returns the messages for the page.
    pub fn step(&mut self, budget: Duration) -> Vec<FromWorker> {
        let mut out = self.take_outbox();
        if self.paused {
            return out;
        }
        let Some((job, running)) = &mut self.job else {
            return out;
        };
        let job = *job;
        let (update, finished, failed) = running.step(budget);
        if let Some(update) = update {
            out.push(FromWorker::Update { job, update });
        }
        if let Some(error) = failed {
            self.job = None;
            out.push(FromWorker::Failed { job, error });
        } else if finished {
            self.job = None;
            out.push(FromWorker::Finished { job });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// Counts to `to`, one per step; "jump" sets the count.
    struct Counter {
        count: u32,
        to: u32,
    }

    #[derive(Serialize, Deserialize)]
    struct CounterSpec {
        to: u32,
    }

    #[derive(Serialize, Deserialize)]
    enum CounterControl {
        Jump(u32),
    }

    impl Job for Counter {
        const KIND: &'static str = "counter";
        type Spec = CounterSpec;
        type Update = u32;
        type Control = CounterControl;

        fn start(spec: CounterSpec) -> Result<Self, String> {
            if spec.to == 0 {
                return Err("nothing to count".into());
            }
            Ok(Self {
                count: 0,
                to: spec.to,
            })
        }

        fn step(&mut self, _budget: Duration) -> Step<u32> {
            self.count += 1;
            // 13 stands for a run that diverges on its way.
            if self.count == 13 {
                return Step::failed("diverged at 13".into());
            }
            if self.count >= self.to {
                Step::finished(self.count)
            } else {
                Step::running(self.count)
            }
        }

        fn control(&mut self, message: CounterControl) -> Option<u32> {
            let CounterControl::Jump(to) = message;
            self.count = to;
            Some(to)
        }
    }

    fn core() -> WorkerCore {
        WorkerCore::new(vec![JobKind::of::<Counter>()])
    }

    fn start(core: &mut WorkerCore, job: u64, to: u32) {
        core.handle(ToWorker::Start {
            job,
            kind: "counter".into(),
            spec: format!("{{\"to\":{to}}}"),
            paused: false,
        });
    }

    #[test]
    fn runs_a_job_to_its_end_then_idles() {
        let mut core = core();
        start(&mut core, 1, 2);
        assert_eq!(
            core.step(Duration::ZERO),
            vec![FromWorker::Update {
                job: 1,
                update: "1".into()
            }]
        );
        assert_eq!(
            core.step(Duration::ZERO),
            vec![
                FromWorker::Update {
                    job: 1,
                    update: "2".into()
                },
                FromWorker::Finished { job: 1 }
            ]
        );
        assert!(!core.is_running());
        assert!(core.step(Duration::ZERO).is_empty());
    }

    #[test]
    fn a_failed_step_ends_the_job_with_its_reason() {
        let mut core = core();
        start(&mut core, 1, 20);
        core.handle(ToWorker::Control {
            job: 1,
            message: "{\"Jump\":12}".into(),
        });
        core.take_outbox();
        assert_eq!(
            core.step(Duration::ZERO),
            vec![FromWorker::Failed {
                job: 1,
                error: "diverged at 13".into()
            }]
        );
        assert!(!core.is_running());
    }

    #[test]
    fn pause_holds_the_state_and_control_answers_while_paused() {
        let mut core = core();
        start(&mut core, 1, 10);
        core.step(Duration::ZERO);
        core.handle(ToWorker::Pause {
            job: 1,
            paused: true,
        });
        assert!(!core.is_running());
        core.handle(ToWorker::Control {
            job: 1,
            message: "{\"Jump\":5}".into(),
        });
        assert_eq!(
            core.step(Duration::ZERO),
            vec![FromWorker::Update {
                job: 1,
                update: "5".into()
            }]
        );
        core.handle(ToWorker::Pause {
            job: 1,
            paused: false,
        });
        assert_eq!(
            core.step(Duration::ZERO),
            vec![FromWorker::Update {
                job: 1,
                update: "6".into()
            }]
        );
    }

    #[test]
    fn a_new_job_replaces_the_old_and_stale_messages_are_ignored() {
        let mut core = core();
        start(&mut core, 1, 10);
        start(&mut core, 2, 10);
        core.handle(ToWorker::Pause {
            job: 1,
            paused: true,
        });
        core.handle(ToWorker::Stop { job: 1 });
        assert!(core.is_running());
        assert_eq!(
            core.step(Duration::ZERO),
            vec![FromWorker::Update {
                job: 2,
                update: "1".into()
            }]
        );
        core.handle(ToWorker::Stop { job: 2 });
        assert!(!core.is_running());
    }

    #[test]
    fn bad_specs_kinds_and_controls_are_reported_not_panics() {
        let mut core = core();
        start(&mut core, 1, 0);
        core.handle(ToWorker::Start {
            job: 2,
            kind: "counter".into(),
            spec: "{not json".into(),
            paused: false,
        });
        core.handle(ToWorker::Start {
            job: 3,
            kind: "nope".into(),
            spec: "{}".into(),
            paused: false,
        });
        start(&mut core, 4, 3);
        core.handle(ToWorker::Control {
            job: 4,
            message: "\"Fly\"".into(),
        });
        let out = core.take_outbox();
        let errors: Vec<(u64, &str)> = out
            .iter()
            .filter_map(|m| match m {
                FromWorker::Failed { job, error } => Some((*job, error.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 4, "{out:?}");
        assert_eq!(errors[0], (1, "nothing to count"));
        assert!(errors[1].1.contains("unreadable spec"), "{}", errors[1].1);
        assert!(errors[2].1.contains("no job 'nope'"), "{}", errors[2].1);
        assert!(
            errors[3].1.contains("unreadable control"),
            "{}",
            errors[3].1
        );
    }
}
