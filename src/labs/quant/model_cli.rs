//! `paperlab quant model`: every linear layer of all-MiniLM-L6-v2 quantized with one method
//! (or, with `--sweep`, every method at 2-4 bits), fitted on the calibration verses and scored
//! on the held-out ones (see `minilm/eval.rs`). One JSON object per configuration.

use std::path::PathBuf;

use serde_json::{Value, json};
use web_time::Instant;

use super::cli::base;
use super::lab::KMEANS_ITERATIONS;
use super::methods::{Config, Method};
use super::minilm::eval::{
    HeldOut, Layer0Activations, ModelScore, calibrate, layer0_activations, quantize_model, score,
    sweep_configs,
};
use super::minilm::model::{LinearId, MAX_TOKENS, MiniLm};
use super::minilm::{files, text};
use super::settings::QuantSettings;
use crate::command::{
    Args, CommandError, LabCommand, Progress, emit, flag_arg, number_arg, output_arg,
    settings_args, text_arg,
};
use crate::share::{Flag, Setting};

const KEYS: &[&str] = &["method", "bits", "outliers", "sensitive", "seed"];
const TABLE: Flag = Flag::new("table", false).help(
    "With --sweep: after the JSON lines, a markdown table on stderr: method, bits, bits/weight, cosine, top-1 kept, layer error, sorted by bits/weight per method (the page's two plots as text).",
);
const SWEEP: Flag = Flag::new("sweep", false)
    .help("Every method at 2, 3 and 4 bits (Q4_0 and IQ4_NL at 4; SqueezeLLM with and without its sparse part): one JSON line each.");
const ITERATIONS: Setting<u32> = Setting::new("iterations", KMEANS_ITERATIONS, 1, 500)
    .help("Lloyd iterations of the k-means codebooks.");
/// Held-out input vectors per layer-0 matrix shipped to the page (the batch setting's maximum).
const EXPORTED_TOKENS: usize = 256;
/// The bit widths the issue asks the model to be judged at.
const MIN_BITS: u32 = 2;
const MAX_BITS: u32 = 8;

pub fn command() -> LabCommand {
    LabCommand {
        path: &["quant", "model"],
        about: "quantize every linear layer of MiniLM-L6 (calibrated on Proverbs 10-15) and score it on held-out verses (16-22): embedding_cosine_heldout, top1_agreement_heldout, bits_per_weight, output_rel_error_heldout",
        long_about: "Needs the model folder scripts/fetch-minilm writes (target/models/minilm-l6; --model DIR for another). Sensitivity: each layer's calibration input second moment. --outliers and --sensitive default to 0 except for squeeze (0.45 and 0.05). Example: paperlab quant model --method squeeze --bits 3",
        args: || {
            let mut args = settings_args(&base(Method::Squeeze, BITS), KEYS);
            args.push(text_arg(
                "model",
                "DIR",
                "folder with model.safetensors and vocab.txt (default: target/models/minilm-l6)",
            ));
            args.push(number_arg(&ITERATIONS));
            args.push(flag_arg(&SWEEP));
            args.push(flag_arg(&TABLE));
            args.push(output_arg("the sweep's JSON array"));
            args.push(text_arg(
                "export-activations",
                "DIR",
                "write layer 0's calibration sensitivities and 256 held-out input vectors for the page (minilm-l6-layer0-acts.f16 and .json) into DIR, then stop",
            ));
            args
        },
        run,
    }
}

/// `paperlab quant model`'s default width: where the paper's ordering is in question.
const BITS: u32 = 3;

fn run(args: &Args<'_>) -> Result<i32, CommandError> {
    let method = args.settings(QuantSettings::default(), &["method"])?.method;
    let s = args.settings(base(method, BITS), KEYS)?;
    let bits = method.fixed_bits().unwrap_or(s.bits);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(CommandError::usage(format!(
            "--bits {bits}: the model is judged at {MIN_BITS}..{MAX_BITS} bits"
        )));
    }
    let iterations = args.number(&ITERATIONS)?;
    let sweep = args.flag(&SWEEP)?;
    let out_path = args.output()?;
    let table = args.flag(&TABLE)?;
    if (out_path.is_some() || table) && !sweep {
        return Err(CommandError::usage(
            "--out and --table are for the sweep: add --sweep",
        ));
    }
    let dir = args
        .text("model")
        .map_or_else(files::default_dir, PathBuf::from);
    let t0 = Instant::now();
    let (model, tokenizer) = files::load(&dir).map_err(CommandError::failed)?;
    let (calibration, held_out) = text::split();
    let tokens = |verses: &[text::Verse]| text::encode(&tokenizer, verses, MAX_TOKENS);
    if let Some(dir) = args.text("export-activations") {
        return export_activations(
            std::path::Path::new(dir),
            &layer0_activations(
                &model,
                &tokens(&calibration),
                &tokens(&held_out),
                EXPORTED_TOKENS,
            ),
        );
    }
    let sensitivities = calibrate(&model, &tokens(&calibration));
    let reference = HeldOut::new(&model, tokens(&held_out));
    let setup_s = t0.elapsed().as_secs_f64();
    let context = json!({
        "calibration_verses": calibration.len(),
        "heldout_verses": held_out.len(),
        "heldout_tokens_per_layer": reference.tokens_per_layer(),
        "sensitivity": "per-layer input second moment E[x^2] on the calibration verses",
        "setup_s": setup_s,
    });
    let judge = Judge {
        model: &model,
        sensitivities: &sensitivities,
        reference: &reference,
        context: &context,
    };
    let layers = LinearId::all().count() as u64;
    if !sweep {
        let config = Config {
            method,
            bits,
            outlier_percent: s.outliers,
            sensitive_percent: s.sensitive,
            seed: s.seed,
            iterations,
        };
        let progress = Progress::new(layers, "quantizing MiniLM's linear layers");
        let line = judge.row(method.code(), &config, &|i| progress.set(i as u64));
        progress.finish();
        emit(line);
        return Ok(0);
    }
    let configs = sweep_configs(s.seed, iterations);
    let progress = Progress::new(configs.len() as u64 * layers, "sweep: layers quantized");
    let mut rows = Vec::new();
    for (n, (label, config)) in configs.iter().enumerate() {
        if crate::command::interrupted() {
            progress.finish();
            return Err(CommandError::failed("interrupted"));
        }
        let done = n as u64 * layers;
        let line = judge.row(label, config, &|i| progress.set(done + i as u64));
        progress.emit(&line);
        rows.push(line);
    }
    progress.finish();
    if table {
        eprintln!("{}", markdown_table(&rows));
    }
    if let Some(path) = out_path {
        let text = serde_json::to_string_pretty(&Value::Array(rows))
            .map_err(|e| CommandError::failed(e.to_string()))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| CommandError::failed(format!("{}: {e}", path.display())))?;
    }
    Ok(0)
}

/// The fitted model and its held-out reference, which every configuration is scored against.
struct Judge<'a> {
    model: &'a MiniLm,
    sensitivities: &'a [Vec<f64>],
    reference: &'a HeldOut,
    context: &'a Value,
}

impl Judge<'_> {
    /// One configuration quantized and scored: its JSON line. `progress` hears each layer.
    fn row(&self, label: &str, config: &Config, progress: &dyn Fn(usize)) -> Value {
        let (model, sensitivities, reference, context) =
            (self.model, self.sensitivities, self.reference, self.context);
        let t0 = Instant::now();
        let q = quantize_model(model, sensitivities, config, progress);
        let quantize_s = t0.elapsed().as_secs_f64();
        let ModelScore {
            embedding_cosine_heldout,
            top1_agreement_heldout,
            bits_per_weight,
            output_rel_error_heldout,
            worst_layer,
            worst_layer_rel_error,
            sparse_nonzeros,
        } = score(reference, &q);
        let mut out = json!({
            "method": label,
            "bits": config.bits,
            "outliers_percent": config.outlier_percent,
            "sensitive_percent": config.sensitive_percent,
            "embedding_cosine_heldout": embedding_cosine_heldout,
            "top1_agreement_heldout": top1_agreement_heldout,
            "bits_per_weight": bits_per_weight,
            "output_rel_error_heldout": output_rel_error_heldout,
            "worst_layer": worst_layer,
            "worst_layer_rel_error": worst_layer_rel_error,
            "sparse_nonzeros": sparse_nonzeros,
            "quantize_s": quantize_s,
            "total_s": t0.elapsed().as_secs_f64(),
        });
        if let (Some(o), Some(c)) = (out.as_object_mut(), context.as_object()) {
            o.extend(c.clone());
        }
        out
    }
}

/// Writes `minilm-l6-layer0-acts.f16` (per matrix, one after another: the calibration
/// sensitivities as f32, then the held-out inputs as f16, row-major) and
/// `minilm-l6-layer0-acts.json` (shapes and byte offsets) for `real.rs`.
fn export_activations(
    dir: &std::path::Path,
    acts: &Layer0Activations,
) -> Result<i32, CommandError> {
    let mut blob = Vec::new();
    let mut index = Vec::new();
    for (name, sensitivity, x) in &acts.matrices {
        // The sensitivities as f32 first (kept out of the JSON, which the page compiles in),
        // then the held-out inputs as f16.
        let sensitivity_offset = blob.len();
        for v in sensitivity {
            blob.extend_from_slice(&(*v as f32).to_le_bytes());
        }
        index.push(json!({
            "name": name,
            "tokens": acts.tokens,
            "cols": sensitivity.len(),
            "sensitivity_offset_bytes": sensitivity_offset,
            "offset_bytes": blob.len(),
        }));
        for v in x {
            blob.extend_from_slice(&super::formats::f16_bits(*v).to_le_bytes());
        }
    }
    let index = json!({
        "source": "paperlab quant model --export-activations: all-MiniLM-L6-v2 layer-0 linear inputs",
        "sensitivity": "E[x^2] per input channel over every token of Proverbs 10-15 (mean 1)",
        "held_out": "input vectors of evenly spaced tokens of Proverbs 16-22, f16",
        "matrices": index,
    });
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| CommandError::failed(format!("{}: {e}", path.display())))
    };
    write("minilm-l6-layer0-acts.f16", &blob)?;
    write(
        "minilm-l6-layer0-acts.json",
        (serde_json::to_string_pretty(&index).unwrap_or_default() + "\n").as_bytes(),
    )?;
    emit(json!({ "wrote": dir.display().to_string(), "bytes": blob.len(), "tokens": acts.tokens }));
    Ok(0)
}

/// The sweep's rows as a markdown table, each method's rows together in order of bits/weight.
fn markdown_table(rows: &[Value]) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(m) = r["method"].as_str().filter(|m| !methods.contains(m)) {
            methods.push(m);
        }
    }
    let mut out = String::from(
        "| method | bits | bits/weight | cosine (held out) | top-1 kept | layer error |\n|---|---|---|---|---|---|\n",
    );
    for method in methods {
        let mut mine: Vec<&Value> = rows.iter().filter(|r| r["method"] == method).collect();
        mine.sort_by(|a, b| {
            let key = |r: &Value| r["bits_per_weight"].as_f64().unwrap_or(0.0);
            key(a).total_cmp(&key(b))
        });
        for r in mine {
            let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
            out.push_str(&format!(
                "| {method} | {} | {:.2} | {:.3} | {:.3} | {:.3} |\n",
                r["bits"],
                f("bits_per_weight"),
                f("embedding_cosine_heldout"),
                f("top1_agreement_heldout"),
                f("output_rel_error_heldout"),
            ));
        }
    }
    out
}
