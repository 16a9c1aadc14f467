//! The few things that differ between the browser and the desktop: the address bar, the page
//! elements that report status, and what a shareable link looks like.

#[cfg(target_arch = "wasm32")]
mod imp {
    use wasm_bindgen::JsCast;

    fn window() -> Option<web_sys::Window> {
        web_sys::window()
    }

    fn element(id: &str) -> Option<web_sys::HtmlElement> {
        window()?
            .document()?
            .get_element_by_id(id)?
            .dyn_into::<web_sys::HtmlElement>()
            .ok()
    }

    pub fn location_fragment() -> Option<String> {
        window()?.location().hash().ok()
    }

    pub fn replace_fragment(fragment: &str) {
        let Some(window) = window() else { return };
        let Ok(history) = window.history() else {
            return;
        };
        // replaceState, not pushState: dragging a slider must not flood the back button.
        if let Err(e) =
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(fragment))
        {
            log::warn!("could not update the address bar: {e:?}");
        }
    }

    /// Repaints when the user edits the address bar's fragment, so the app follows the new link
    /// even while idle (egui only redraws on its own events).
    pub fn repaint_on_hashchange(ctx: egui::Context) {
        use wasm_bindgen::closure::Closure;
        let Some(window) = window() else { return };
        let callback = Closure::<dyn FnMut()>::new(move || ctx.request_repaint());
        if let Err(e) =
            window.add_event_listener_with_callback("hashchange", callback.as_ref().unchecked_ref())
        {
            log::warn!("no hashchange listener: {e:?}");
        }
        // The listener lives as long as the page.
        callback.forget();
    }

    /// Starts a download of `bytes` as `filename` (an object URL clicked through a hidden link).
    pub fn download(filename: &str, mime: &str, bytes: &[u8]) -> Result<String, String> {
        let fail = |e: wasm_bindgen::JsValue| format!("{e:?}");
        let document = window().and_then(|w| w.document()).ok_or("no document")?;
        let array = js_sys::Uint8Array::from(bytes);
        let parts = js_sys::Array::of1(&array);
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(fail)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
        let link = document
            .create_element("a")
            .map_err(fail)?
            .dyn_into::<web_sys::HtmlAnchorElement>()
            .map_err(|_| "not an anchor".to_owned())?;
        link.set_href(&url);
        link.set_download(filename);
        link.click();
        // The click has started the download; the URL can go.
        let _ = web_sys::Url::revoke_object_url(&url);
        Ok(format!("downloaded {filename}"))
    }

    /// A new history entry for `fragment` (a change of lab: back returns to the previous one).
    pub fn push_fragment(fragment: &str) {
        let Some(window) = window() else { return };
        let Ok(history) = window.history() else {
            return;
        };
        if let Err(e) =
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(fragment))
        {
            log::warn!("could not add a history entry: {e:?}");
        }
    }

    pub fn shareable_link(fragment: &str) -> String {
        let Some(location) = window().map(|w| w.location()) else {
            return fragment.to_owned();
        };
        let origin = location.origin().unwrap_or_default();
        let path = location.pathname().unwrap_or_default();
        // The query (e.g. ?selftest=1) is for testing, not part of the view.
        format!("{origin}{path}{fragment}")
    }

    /// The tab's title (and so the history entry's).
    pub fn set_title(title: &str) {
        if let Some(document) = window().and_then(|w| w.document()) {
            document.set_title(title);
        }
    }

    pub fn publish_selftest(json: &str, passed: bool) {
        if let Some(pre) = element("selftest-result") {
            pre.set_inner_text(json);
        }
        if let Some(document) = window().and_then(|w| w.document()) {
            document.set_title(if passed {
                "paperlab selftest: PASS"
            } else {
                "paperlab selftest: FAIL"
            });
        }
    }

    pub fn adapter_hint() -> Option<String> {
        let window: wasm_bindgen::JsValue = window()?.into();
        let info = js_sys::Reflect::get(&window, &"paperlabAdapterInfo".into()).ok()?;
        let text = info.as_string()?;
        (!text.trim().is_empty()).then_some(text)
    }

    /// Machine-readable status for scripts and browser tests, in a hidden
    /// `<pre id="status-NAME">` (created on first use).
    pub fn publish_status(name: &str, json: &str) {
        let Some(document) = window().and_then(|w| w.document()) else {
            return;
        };
        let id = format!("status-{name}");
        let element = match document.get_element_by_id(&id) {
            Some(element) => element,
            None => {
                let Ok(element) = document.create_element("pre") else {
                    return;
                };
                element.set_id(&id);
                let _ = element.set_attribute("hidden", "");
                if let Some(body) = document.body() {
                    let _ = body.append_child(&element);
                }
                element
            }
        };
        element.set_text_content(Some(json));
    }

    /// Milliseconds on the page's clock (`performance.now()`).
    pub fn now_ms() -> Option<f64> {
        Some(window()?.performance()?.now())
    }

    /// The longest main-thread task (the browser's long-task entries, over 50 ms) that started
    /// at or after `since_ms`; 0 when there was none. `webgpu-probe.js` collects the entries
    /// from the start of the page.
    pub fn longest_main_task_ms_since(since_ms: f64) -> Option<f64> {
        let window: wasm_bindgen::JsValue = window()?.into();
        let tasks = js_sys::Reflect::get(&window, &"paperlabLongTasks".into()).ok()?;
        let tasks: js_sys::Array = tasks.dyn_into().ok()?;
        let mut longest = 0.0f64;
        for entry in tasks.iter() {
            let Ok(pair) = entry.dyn_into::<js_sys::Array>() else {
                continue;
            };
            let (Some(start), Some(duration)) = (pair.get(0).as_f64(), pair.get(1).as_f64()) else {
                continue;
            };
            if start >= since_ms {
                longest = longest.max(duration);
            }
        }
        Some(longest)
    }

    pub fn set_webgpu_notice(visible: bool) {
        if let Some(notice) = element("webgpu-notice") {
            let _ = notice
                .style()
                .set_property("display", if visible { "block" } else { "none" });
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub fn location_fragment() -> Option<String> {
        None
    }

    pub fn replace_fragment(_fragment: &str) {}

    pub fn repaint_on_hashchange(_ctx: egui::Context) {}

    pub fn push_fragment(_fragment: &str) {}

    /// The desktop window's title is set through the viewport by the shell.
    pub fn set_title(_title: &str) {}

    /// The desktop app writes the file into the working folder.
    pub fn download(filename: &str, _mime: &str, bytes: &[u8]) -> Result<String, String> {
        let path = std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(filename);
        // Atomically: a crash mid-write never leaves half a file where a good one was.
        crate::files::write_atomic(&path, bytes).map_err(|e| e.to_string())?;
        Ok(format!("saved {}", path.display()))
    }

    /// The desktop app has no page address: the fragment alone, to paste after the hosted URL
    /// or to pass to `paperlab --link`.
    pub fn shareable_link(fragment: &str) -> String {
        fragment.to_owned()
    }

    pub fn publish_selftest(json: &str, _passed: bool) {
        log::info!("self-test report: {json}");
    }

    pub fn adapter_hint() -> Option<String> {
        None
    }

    pub fn publish_status(_name: &str, _json: &str) {}

    pub fn now_ms() -> Option<f64> {
        None
    }

    /// Long tasks are a browser's measure; natively there is no main-thread budget to report.
    pub fn longest_main_task_ms_since(_since_ms: f64) -> Option<f64> {
        None
    }

    pub fn set_webgpu_notice(_visible: bool) {}
}

pub use imp::*;
