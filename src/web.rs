//! Browser entry point: panic box, WebGPU-aware device setup, start of the eframe web runner.

use std::sync::Arc;

use wasm_bindgen::JsCast;

use crate::app::{PaperlabApp, StartOptions};
use crate::gpu::device_descriptor_for;

/// Starts the app on `<canvas id="paperlab_canvas">`.
pub fn start() {
    install_panic_box();
    let _ = eframe::WebLogger::init(log::LevelFilter::Info);
    let options = start_options();
    wasm_bindgen_futures::spawn_local(async move {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(canvas) = document
            .get_element_by_id("paperlab_canvas")
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            show_error("the page has no <canvas id=\"paperlab_canvas\">");
            return;
        };
        let runner = eframe::WebRunner::new();
        let result = runner
            .start(
                canvas,
                web_options(),
                Box::new(move |cc| Ok(Box::new(PaperlabApp::new(cc, options)))),
            )
            .await;
        if let Some(loading) = document.get_element_by_id("loading") {
            loading.remove();
        }
        if let Err(e) = result {
            show_error(&format!("paperlab could not start: {e:?}"));
        }
    });
}

fn start_options() -> StartOptions {
    let location = web_sys::window().map(|w| w.location());
    let fragment = location
        .as_ref()
        .and_then(|l| l.hash().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let param = |name: &str| params.as_ref().and_then(|p| p.get(name));
    let selftest = param("selftest").is_some_and(|v| v == "1" || v == "true");
    let compute_on_cpu = param("compute").is_some_and(|v| v == "cpu");
    StartOptions {
        fragment,
        selftest,
        compute_on_cpu,
    }
}

/// WebGPU first, WebGL2 as the fallback. On WebGPU we request the adapter's real limits (see
/// `device_descriptor_for`); on WebGL2 the app computes on the CPU.
fn web_options() -> eframe::WebOptions {
    let mut setup = egui_wgpu_setup();
    setup.instance_descriptor.backends = wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::GL;
    setup.device_descriptor = Arc::new(device_descriptor_for);
    eframe::WebOptions {
        wgpu_options: eframe::egui_wgpu::WgpuConfiguration {
            wgpu_setup: eframe::egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn egui_wgpu_setup() -> eframe::egui_wgpu::WgpuSetupCreateNew {
    eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle()
}

/// Shows every panic (at start-up or later) in the page's error box, not only in the console.
fn install_panic_box() {
    std::panic::set_hook(Box::new(|info| {
        show_error(&format!("paperlab crashed: {info}"));
    }));
}

fn show_error(message: &str) {
    log::error!("{message}");
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(panel) = document
        .get_element_by_id("panic-box")
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        panel.set_inner_text(&format!("{message}\n\nReload the page to start again."));
        let _ = panel.style().set_property("display", "block");
    }
}
