//! Web backend, worker side: what `paperlab-worker`'s `main` runs inside the Web Worker.
//!
//! The worker steps its job in slices of [`STEP_BUDGET`] and yields to its event loop between
//! them (a `MessageChannel` ping, which unlike `setTimeout` is never clamped to 4 ms), so a
//! pause, a control message or a new job is taken within one slice.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::STEP_BUDGET;
use super::core::{JobKind, WorkerCore};
use super::wire::{FromWorker, ToWorker};

thread_local! {
    /// The job being stepped, for the panic report.
    static CURRENT_JOB: Cell<u64> = const { Cell::new(0) };
}

fn post(scope: &web_sys::DedicatedWorkerGlobalScope, message: &FromWorker) {
    if let Err(e) = scope.post_message(&JsValue::from_str(&message.to_json())) {
        log::error!("the worker could not post: {e:?}");
    }
}

/// Takes messages from the page and runs their jobs until the page terminates the worker.
pub fn run(kinds: Vec<JobKind>) {
    let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() else {
        log::error!("paperlab-worker runs only as a dedicated Web Worker");
        return;
    };
    // A panic aborts the module: say why to the page first (it shows the job as failed).
    {
        let scope = scope.clone();
        std::panic::set_hook(Box::new(move |info| {
            let job = CURRENT_JOB.with(Cell::get);
            post(
                &scope,
                &FromWorker::Failed {
                    job,
                    error: format!("the job stopped: {info}"),
                },
            );
        }));
    }
    let core = Rc::new(RefCell::new(WorkerCore::new(kinds)));
    let scheduled = Rc::new(Cell::new(false));
    let Ok(channel) = web_sys::MessageChannel::new() else {
        log::error!("no MessageChannel in this worker");
        return;
    };
    let wake = channel.port2();

    let on_tick = {
        let core = Rc::clone(&core);
        let scheduled = Rc::clone(&scheduled);
        let scope = scope.clone();
        let wake = wake.clone();
        Closure::<dyn FnMut()>::new(move || {
            let mut core = core.borrow_mut();
            for message in core.step(STEP_BUDGET) {
                post(&scope, &message);
            }
            if core.is_running() {
                let _ = wake.post_message(&JsValue::NULL);
            } else {
                scheduled.set(false);
            }
        })
    };
    channel
        .port1()
        .set_onmessage(Some(on_tick.as_ref().unchecked_ref()));

    let on_message = {
        let scope = scope.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            let message = match serde_json::from_str::<ToWorker>(&text) {
                Ok(message) => message,
                Err(e) => {
                    log::warn!("unreadable message from the page: {e}");
                    return;
                }
            };
            if let ToWorker::Start { job, .. } = &message {
                CURRENT_JOB.with(|c| c.set(*job));
            }
            let mut core = core.borrow_mut();
            core.handle(message);
            for answer in core.take_outbox() {
                post(&scope, &answer);
            }
            if core.is_running() && !scheduled.get() {
                scheduled.set(true);
                let _ = wake.post_message(&JsValue::NULL);
            }
        })
    };
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Both handlers live as long as the worker.
    on_tick.forget();
    on_message.forget();
    post(&scope, &FromWorker::Ready);
}
