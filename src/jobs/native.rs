//! Native backend: a thread per job slot, driving a [`WorkerCore`] as a Web Worker does.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::core::{JobKind, WorkerCore};
use super::wire::{FromWorker, ToWorker};
use super::{STEP_BUDGET, WorkerLost};

pub struct ThreadWorker {
    to_thread: Sender<ToWorker>,
    from_thread: Receiver<FromWorker>,
}

impl ThreadWorker {
    pub fn spawn(name: &str, kinds: Vec<JobKind>) -> Result<Self, String> {
        let (to_thread, inbox) = mpsc::channel::<ToWorker>();
        let (outbox, from_thread) = mpsc::channel::<FromWorker>();
        std::thread::Builder::new()
            .name(format!("job {name}"))
            .spawn(move || run(WorkerCore::new(kinds), &inbox, &outbox))
            .map_err(|e| format!("could not start a thread: {e}"))?;
        Ok(Self {
            to_thread,
            from_thread,
        })
    }

    pub fn send(&self, message: ToWorker) -> Result<(), String> {
        // The messages cross as JSON, as they do to a Web Worker, so the same form is tested.
        let message: ToWorker = serde_json::from_str(&message.to_json())
            .map_err(|e| format!("message not serialisable: {e}"))?;
        self.to_thread
            .send(message)
            .map_err(|_| "the job's thread has stopped".to_owned())
    }

    pub fn receive(&self) -> Result<Vec<FromWorker>, WorkerLost> {
        let mut messages = Vec::new();
        loop {
            match self.from_thread.try_recv() {
                Ok(message) => messages.push(message),
                Err(mpsc::TryRecvError::Empty) => return Ok(messages),
                // The thread only ends on its own by panicking under a job.
                Err(mpsc::TryRecvError::Disconnected) if messages.is_empty() => {
                    return Err(WorkerLost {
                        before_ready: false,
                        why: "the job's thread stopped (a panic; see the log)".to_owned(),
                    });
                }
                Err(mpsc::TryRecvError::Disconnected) => return Ok(messages),
            }
        }
    }
}

/// The thread's loop: take every waiting message, then step while there is work; sleep on the
/// inbox while idle or paused. Ends when the handle (the sender) is dropped.
fn run(mut core: WorkerCore, inbox: &Receiver<ToWorker>, outbox: &Sender<FromWorker>) {
    loop {
        let waiting = if core.is_running() {
            match inbox.try_recv() {
                Ok(message) => Some(message),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match inbox.recv_timeout(Duration::from_millis(200)) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(message) = waiting {
            core.handle(message);
            for answer in core.take_outbox() {
                if outbox.send(answer).is_err() {
                    return;
                }
            }
            continue;
        }
        if core.is_running() {
            for message in core.step(STEP_BUDGET) {
                let message = FromWorker::to_json(&message);
                let Ok(message) = serde_json::from_str(&message) else {
                    continue;
                };
                if outbox.send(message).is_err() {
                    return;
                }
            }
        }
    }
}
