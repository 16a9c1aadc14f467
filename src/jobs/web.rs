//! Web backend, page side: a dedicated Web Worker running `paperlab-worker` (Trunk's second
//! wasm entry), started by `worker-loader.js` with the page's build key in every URL so a
//! browser cache never pairs this page with another build's worker.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::WorkerLost;
use super::wire::{FromWorker, ToWorker};

#[derive(Default)]
struct Shared {
    ready: bool,
    lost: Option<String>,
    /// Messages written before the worker said it was ready.
    waiting: Vec<String>,
    inbox: Vec<FromWorker>,
}

pub struct PageWorker {
    worker: web_sys::Worker,
    shared: Rc<RefCell<Shared>>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

/// The build's key: Trunk names the app `paperlab-<content hash>.js` (as `sw-register.js` reads
/// it); "dev" where the page has no such file.
fn build_key() -> String {
    let href = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("link[rel=\"modulepreload\"][href*=\"paperlab-\"]")
                .ok()
                .flatten()
        })
        .and_then(|link| link.get_attribute("href"));
    href.as_deref()
        .and_then(|h| h.rsplit_once("paperlab-"))
        .and_then(|(_, rest)| rest.strip_suffix(".js"))
        .filter(|hash| hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(|| "dev".to_owned(), str::to_owned)
}

impl PageWorker {
    pub fn spawn(name: &str) -> Result<Self, String> {
        let options = web_sys::WorkerOptions::new();
        options.set_name(name);
        let url = format!("./worker-loader.js?build={}", build_key());
        let worker = web_sys::Worker::new_with_options(&url, &options)
            .map_err(|e| format!("the browser refused a worker: {e:?}"))?;
        let shared = Rc::new(RefCell::new(Shared::default()));

        let on_message = {
            let shared = Rc::clone(&shared);
            let worker = worker.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                let mut shared = shared.borrow_mut();
                match serde_json::from_str::<FromWorker>(&text) {
                    Ok(FromWorker::Ready) => {
                        shared.ready = true;
                        for message in std::mem::take(&mut shared.waiting) {
                            if let Err(e) = worker.post_message(&message.into()) {
                                shared.lost = Some(format!("postMessage failed: {e:?}"));
                            }
                        }
                    }
                    Ok(message) => shared.inbox.push(message),
                    Err(e) => log::warn!("unreadable message from the worker: {e}"),
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let on_error = {
            let shared = Rc::clone(&shared);
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                event.prevent_default();
                let why = event
                    .dyn_ref::<web_sys::ErrorEvent>()
                    .map(web_sys::ErrorEvent::message)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "its script or module did not load".to_owned());
                shared.borrow_mut().lost.get_or_insert(why);
            })
        };
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Ok(Self {
            worker,
            shared,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn send(&self, message: &ToWorker) -> Result<(), String> {
        let mut shared = self.shared.borrow_mut();
        if let Some(why) = &shared.lost {
            return Err(why.clone());
        }
        let text = message.to_json();
        if shared.ready {
            self.worker
                .post_message(&text.into())
                .map_err(|e| format!("postMessage failed: {e:?}"))
        } else {
            shared.waiting.push(text);
            Ok(())
        }
    }

    pub fn receive(&self) -> Result<Vec<FromWorker>, WorkerLost> {
        let mut shared = self.shared.borrow_mut();
        let messages = std::mem::take(&mut shared.inbox);
        match &shared.lost {
            Some(why) if messages.is_empty() => Err(WorkerLost {
                before_ready: !shared.ready,
                why: why.clone(),
            }),
            _ => Ok(messages),
        }
    }
}

impl Drop for PageWorker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}
