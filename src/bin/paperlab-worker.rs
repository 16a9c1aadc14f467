//! `paperlab-worker`: the page's Web Worker, a second wasm entry that Trunk builds
//! (`data-type="worker"` in web/index.html). It runs the labs' long jobs (`labs::all_jobs`) off
//! the page's main thread; see `paperlab::jobs`. Natively the same jobs run on threads of
//! `paperlab` itself, so this binary only says so.

#[cfg(target_arch = "wasm32")]
fn main() {
    paperlab::jobs::worker_scope::run(paperlab::labs::all_jobs());
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "paperlab-worker is the web page's background worker; natively, `paperlab` runs the same \
         jobs on its own threads."
    );
    std::process::exit(2);
}
