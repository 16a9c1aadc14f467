//! `paperlab`: no subcommand opens the desktop app; subcommands serve scripts and benchmarks.
//! On the web (wasm32) `main` starts the app on the page's canvas.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(paperlab::cli::main());
}

#[cfg(target_arch = "wasm32")]
fn main() {
    paperlab::web::start();
}
