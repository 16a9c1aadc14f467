//! The MiniLM forward pass against the independent numpy reference
//! (`tests/data/minilm-reference.json`, from `scripts/minilm-reference`), and
//! `paperlab quant model` as a user runs it, bad input included. Needs the model folder that
//! `scripts/fetch-minilm` writes (scripts/setup runs it).

use crate::support::run;
use paperlab::labs::quant::minilm::files;
use paperlab::labs::quant::minilm::model::MAX_TOKENS;

const REFERENCE: &str = include_str!("../data/minilm-reference.json");

#[test]
fn forward_pass_matches_the_numpy_reference() {
    let dir = files::default_dir();
    let (model, tokenizer) = files::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let reference: serde_json::Value = serde_json::from_str(REFERENCE).expect("reference JSON");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    let mut sentences = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let ids: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        assert_eq!(
            tokenizer.encode(text, MAX_TOKENS),
            ids,
            "tokens of {text:?}"
        );
        sentences.push(ids);
    }
    let embeddings = model.embed(&sentences);
    let mut worst = 0.0f64;
    for (case, ours) in cases.iter().zip(&embeddings) {
        let theirs: Vec<f64> = case["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert_eq!(theirs.len(), ours.len());
        let diff: f64 = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (f64::from(*a) - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = theirs.iter().map(|b| b * b).sum::<f64>().sqrt();
        worst = worst.max(diff / norm);
        assert!(
            diff / norm <= 1e-4,
            "{}: relative error {:.2e}",
            case["text"],
            diff / norm
        );
    }
    eprintln!("MiniLM forward pass vs numpy: largest relative error {worst:.2e}");
    // One at a time equals all at once: sentences do not leak into each other's attention.
    let alone = model.embed(&sentences[1..2]);
    let most = alone[0]
        .iter()
        .zip(&embeddings[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(most < 1e-6, "{most}");
}

#[test]
fn quant_model_refuses_bad_input_clearly() {
    let (code, _, err) = run(&["quant", "model", "--method", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("method"), "{err}");
    for bits in ["1", "9"] {
        let (code, _, err) = run(&["quant", "model", "--method", "rtn", "--bits", bits]);
        assert_eq!(code, 2, "--bits {bits}: {err}");
        assert!(err.contains("bits"), "{err}");
    }
    let tmp = std::env::temp_dir().join(format!("paperlab-minilm-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let tmp_arg = tmp.to_string_lossy().into_owned();
    let (code, _, err) = run(&["quant", "model", "--model", &tmp_arg]);
    assert_ne!(code, 0);
    assert!(
        err.contains("vocab.txt") && err.contains("fetch-minilm"),
        "{err}"
    );
    // A vocabulary and a truncated weight file.
    let dir = files::default_dir();
    std::fs::copy(dir.join("vocab.txt"), tmp.join("vocab.txt")).expect("copy vocab");
    let weights = std::fs::read(dir.join("model.safetensors")).expect("weights");
    std::fs::write(tmp.join("model.safetensors"), &weights[..weights.len() / 2]).expect("write");
    let (code, out, err) = run(&["quant", "model", "--model", &tmp_arg]);
    assert_ne!(code, 0);
    assert!(out.is_empty() && err.contains("model.safetensors"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&tmp).ok();
}

/// The table the page shows (`assets/quant/minilm-heldout.json`) is what the code computes:
/// two of its rows recomputed from the model, calibration and held-out verses.
#[test]
fn the_shipped_table_reproduces() {
    use paperlab::labs::quant::minilm::eval::{
        HeldOut, calibrate, quantize_model, score, sweep_configs,
    };
    use paperlab::labs::quant::minilm::{table, text};
    let (model, tokenizer) = files::load(&files::default_dir()).unwrap_or_else(|e| panic!("{e}"));
    let shipped = table::parse(table::SHIPPED).expect("shipped table");
    let (calibration, held_out) = text::split();
    let tokens = |verses: &[text::Verse]| text::encode(&tokenizer, verses, MAX_TOKENS);
    let sensitivities = calibrate(&model, &tokens(&calibration));
    let reference = HeldOut::new(&model, tokens(&held_out));
    for (label, config) in sweep_configs(1, 50)
        .into_iter()
        .filter(|(l, c)| c.bits == 3 && (l == "squeeze+sparse" || l == "rtn_g128"))
    {
        let row = shipped
            .iter()
            .find(|r| r.method == label && r.bits == 3)
            .expect("row in the table");
        let s = score(
            &reference,
            &quantize_model(&model, &sensitivities, &config, |_| {}),
        );
        // Float sums may differ in the last bits across CPUs (the GEMM picks its kernel at
        // run time); the figures are printed to three decimals.
        let close = |a: f64, b: f64| (a - b).abs() <= 2e-4 * b.abs().max(1e-3);
        assert!(
            close(s.embedding_cosine_heldout, row.embedding_cosine_heldout)
                && close(s.output_rel_error_heldout, row.output_rel_error_heldout)
                && close(s.bits_per_weight, row.bits_per_weight)
                && (s.top1_agreement_heldout - row.top1_agreement_heldout).abs() <= 1.0 / 204.0,
            "{label}: computed {s:?}, shipped {row:?}"
        );
    }
}

/// The page's real activations for the layer-0 matrices (`assets/quant/minilm-l6-layer0-acts.*`)
/// are what the model computes on the calibration and held-out verses.
#[test]
fn the_shipped_layer0_activations_reproduce() {
    use paperlab::labs::quant::minilm::eval::layer0_activations;
    use paperlab::labs::quant::minilm::text;
    use paperlab::labs::quant::real::minilm_activations;
    let (model, tokenizer) = files::load(&files::default_dir()).unwrap_or_else(|e| panic!("{e}"));
    let (calibration, held_out) = text::split();
    let tokens = |verses: &[text::Verse]| text::encode(&tokenizer, verses, MAX_TOKENS);
    let computed = layer0_activations(&model, &tokens(&calibration), &tokens(&held_out), 256);
    assert_eq!(computed.tokens, 256);
    for (name, sensitivity, inputs) in &computed.matrices {
        let (shipped_s, shipped) = minilm_activations(name, 256)
            .expect("shipped")
            .expect("compiled in");
        assert_eq!(shipped.data.len(), inputs.len(), "{name}");
        for (a, b) in sensitivity.iter().zip(&shipped_s) {
            assert!((a - b).abs() <= 1e-5 + 1e-5 * a.abs(), "{name}: {a} vs {b}");
        }
        // f16 storage: half a unit in the last place, 2^-11 relative (and subnormals).
        for (a, b) in inputs.iter().zip(&shipped.data) {
            assert!(
                (a - b).abs() <= a.abs() / 1024.0 + 1e-4,
                "{name}: {a} vs {b}"
            );
        }
    }
}
