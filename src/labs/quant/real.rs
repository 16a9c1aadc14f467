//! The shipped real weights: three MiniLM-L6 layer-0 matrices (assets/quant, f16).

use serde::Deserialize;

use super::matrix::Matrix;

/// Compiled in natively (CLI, tests, desktop). On the web the 2.6 MB of f16 weights would grow
/// the gzipped wasm by 2.5 MB for every visitor, so the page fetches the file (served next to
/// the app, `web/index.html`) the first time a shipped matrix is asked for.
#[cfg(not(target_arch = "wasm32"))]
const DATA: &[u8] = include_bytes!("../../../assets/quant/minilm-l6-layer0.f16");

/// Runs `f` on the weights file: `Ok(None)` while it is still being fetched (web only).
#[cfg(not(target_arch = "wasm32"))]
fn with_data<R>(f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, String> {
    Ok(Some(f(DATA)))
}

#[cfg(target_arch = "wasm32")]
mod fetch {
    use std::cell::RefCell;

    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    /// Next to index.html (Trunk copies it there), so a sub-path deployment works too.
    const URL: &str = "./minilm-l6-layer0.f16";

    pub enum State {
        NotStarted,
        Loading,
        Done(Vec<u8>),
        Failed(String),
    }

    thread_local! {
        pub static STATE: RefCell<State> = const { RefCell::new(State::NotStarted) };
    }

    async fn get() -> Result<Vec<u8>, String> {
        let window = web_sys::window().ok_or("no window")?;
        let response = JsFuture::from(window.fetch_with_str(URL))
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

    pub fn start() {
        STATE.with(|s| *s.borrow_mut() = State::Loading);
        wasm_bindgen_futures::spawn_local(async {
            let result = get().await;
            STATE.with(|s| {
                *s.borrow_mut() = match result {
                    Ok(bytes) => State::Done(bytes),
                    Err(e) => {
                        State::Failed(format!("the MiniLM weights ({URL}) did not load: {e}"))
                    }
                }
            });
        });
    }
}

#[cfg(target_arch = "wasm32")]
fn with_data<R>(f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, String> {
    use fetch::State;
    let not_started = fetch::STATE.with(|s| matches!(*s.borrow(), State::NotStarted));
    if not_started {
        fetch::start();
    }
    fetch::STATE.with(|s| match &*s.borrow() {
        State::Done(bytes) => Ok(Some(f(bytes))),
        State::Failed(e) => Err(e.clone()),
        State::NotStarted | State::Loading => Ok(None),
    })
}
const INDEX: &str = include_str!("../../../assets/quant/minilm-l6-layer0.json");

#[derive(Deserialize)]
struct Entry {
    name: String,
    rows: usize,
    cols: usize,
    offset_bytes: usize,
}

#[derive(Deserialize)]
struct Index {
    matrices: Vec<Entry>,
}

/// The names of the shipped matrices.
pub fn names() -> Vec<String> {
    serde_json::from_str::<Index>(INDEX)
        .map(|i| i.matrices.into_iter().map(|e| e.name).collect())
        .unwrap_or_default()
}

/// f16 bits to f32 (normal, subnormal, zero; the weights hold no inf/NaN, which map to inf).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f32::from(bits & 0x3ff);
    sign * match exponent {
        0 => mantissa * 2f32.powi(-24),
        31 => f32::INFINITY,
        e => (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// A shipped matrix by name (e.g. `mlp_up`); `Ok(None)` while the web page still fetches the
/// weights file.
pub fn minilm(name: &str) -> Result<Option<Matrix>, String> {
    let index: Index =
        serde_json::from_str(INDEX).map_err(|e| format!("the weights index is unreadable: {e}"))?;
    let entry = index
        .matrices
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("no matrix '{name}' (shipped: {})", names().join(", ")))?;
    let len = entry.rows * entry.cols;
    let decoded = with_data(|data| {
        data.get(entry.offset_bytes..entry.offset_bytes + 2 * len)
            .map(|bytes| {
                bytes
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect::<Vec<f32>>()
            })
    })?;
    match decoded {
        None => Ok(None),
        Some(None) => Err(format!(
            "the weights file is shorter than the index says ({name})"
        )),
        Some(Some(data)) => Ok(Some(Matrix {
            rows: entry.rows,
            cols: entry.cols,
            data,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_matrices_load_with_their_shapes_and_plausible_values() {
        assert_eq!(names(), ["attn_query", "mlp_up", "mlp_down"]);
        for (name, rows, cols) in [
            ("attn_query", 384, 384),
            ("mlp_up", 1536, 384),
            ("mlp_down", 384, 1536),
        ] {
            let m = minilm(name).expect("shipped").expect("compiled in");
            assert_eq!((m.rows, m.cols), (rows, cols));
            assert!(m.data.iter().all(|v| v.is_finite()));
            let rms = (m.data.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>()
                / m.data.len() as f64)
                .sqrt();
            assert!((0.01..0.2).contains(&rms), "{name}: rms {rms}");
        }
        assert!(minilm("nope").is_err());
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}
