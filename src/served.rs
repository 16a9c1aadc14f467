//! Data files served next to the page (copied into `dist` by Trunk, named in `web/index.html`
//! so the service worker caches them): compiled into native builds, fetched once on the web.
//!
//! Why not compile them into the wasm everywhere: every visitor would download every lab's
//! data before the first frame (the MiniLM weights alone grew the gzipped wasm by 2.5 MB).

/// A served file: its URL relative to the page (so a sub-path deployment works) and, natively,
/// its bytes.
#[derive(Clone, Copy)]
pub struct Served {
    pub url: &'static str,
    #[cfg(not(target_arch = "wasm32"))]
    pub bytes: &'static [u8],
}

/// `Served { url, bytes: include_bytes!(path) }` natively, just the URL on the web.
#[macro_export]
macro_rules! served {
    ($url:literal, $path:literal) => {
        $crate::served::Served {
            url: $url,
            #[cfg(not(target_arch = "wasm32"))]
            bytes: include_bytes!($path),
        }
    };
}

/// Runs `f` on the file: `Ok(None)` while it is still being fetched (web only).
#[cfg(not(target_arch = "wasm32"))]
pub fn with_served<R>(file: Served, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, String> {
    Ok(Some(f(file.bytes)))
}

#[cfg(target_arch = "wasm32")]
mod fetch {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    pub enum State {
        Loading,
        Done(Vec<u8>),
        Failed(String),
    }

    thread_local! {
        pub static FILES: RefCell<HashMap<&'static str, State>> = RefCell::new(HashMap::new());
    }

    async fn get(url: &str) -> Result<Vec<u8>, String> {
        let window = web_sys::window().ok_or("no window")?;
        let response = JsFuture::from(window.fetch_with_str(url))
            .await
            .map_err(|e| format!("{e:?}"))?;
        let response: web_sys::Response = response
            .dyn_into()
            .map_err(|_| "fetch did not return a Response".to_owned())?;
        if !response.ok() {
            return Err(format!("HTTP {}", response.status()));
        }
        let buffer = JsFuture::from(response.array_buffer().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    pub fn start(url: &'static str) {
        FILES.with(|f| f.borrow_mut().insert(url, State::Loading));
        wasm_bindgen_futures::spawn_local(async move {
            let state = match get(url).await {
                Ok(bytes) => State::Done(bytes),
                Err(e) => State::Failed(format!("{url} did not load: {e}")),
            };
            FILES.with(|f| f.borrow_mut().insert(url, state));
        });
    }
}

#[cfg(target_arch = "wasm32")]
pub fn with_served<R>(file: Served, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, String> {
    use fetch::State;
    let started = fetch::FILES.with(|files| files.borrow().contains_key(file.url));
    if !started {
        fetch::start(file.url);
    }
    fetch::FILES.with(|files| match files.borrow().get(file.url) {
        Some(State::Done(bytes)) => Ok(Some(f(bytes))),
        Some(State::Failed(e)) => Err(e.clone()),
        Some(State::Loading) | None => Ok(None),
    })
}
