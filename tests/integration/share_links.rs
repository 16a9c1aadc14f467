//! Property test: links are untrusted input. Over more than 10,000 random and mutated fragments,
//! opening a link never panics, always lands on a valid, canonical state, and that state's own
//! link opens silently to the same state.

use paperlab::app::{PaperlabApp, StartOptions};
use paperlab::gpu::Compute;
use paperlab::labs::device::settings::{COPY_MIB, DeviceSettings, MAX_DIM, MIN_DIM, REPS};
use paperlab::share::{decode, parse_fragment};
use proptest::prelude::*;

fn open(fragment: &str) -> PaperlabApp {
    PaperlabApp::with_compute(
        Compute::CpuFallback {
            reason: "property test".into(),
        },
        StartOptions {
            fragment: fragment.to_owned(),
            selftest: false,
            compute_on_cpu: false,
        },
    )
}

const KEYS: &[&str] = &[
    "lab", "rows", "cols", "copy_mib", "reps", "seed", "cpu", "zzz", "", "ROWS",
];

/// Values that probe parsers: numbers at and past type limits, floats, signs, names, escapes.
fn nasty_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        Just("NaN".to_owned()),
        Just("inf".to_owned()),
        Just("-0".to_owned()),
        Just("1e309".to_owned()),
        Just("4294967296".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("device".to_owned()),
        Just("%".to_owned()),
        Just("%zz".to_owned()),
        Just("%E2%82".to_owned()),
        "[a-z0-9%&=#+.-]{0,12}",
        any::<String>(),
    ]
}

fn pair() -> impl Strategy<Value = String> {
    (prop::sample::select(KEYS), nasty_value()).prop_map(|(k, v)| format!("{k}={v}"))
}

/// A fragment assembled from plausible and nasty pairs, plus raw noise.
fn structured_fragment() -> impl Strategy<Value = String> {
    (prop::collection::vec(pair(), 0..12), any::<bool>())
        .prop_map(|(pairs, hash)| format!("{}{}", if hash { "#" } else { "" }, pairs.join("&")))
}

/// A valid link with random byte-level edits.
fn mutated_fragment() -> impl Strategy<Value = String> {
    let valid = "#lab=device&rows=2048&cols=1024&copy_mib=8&reps=5&seed=42&cpu=true&gemv=workgroup"
        .to_owned();
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8).prop_map(
        move |edits| {
            let mut bytes = valid.clone().into_bytes();
            for (index, byte, kind) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let at = index.index(bytes.len());
                match kind {
                    0 => bytes[at] = byte,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, byte),
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        },
    )
}

fn any_fragment() -> impl Strategy<Value = String> {
    prop_oneof![structured_fragment(), mutated_fragment(), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12_000, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn any_link_opens_to_a_valid_canonical_state(fragment in any_fragment()) {
        let app = open(&fragment);
        let canonical = app.current_fragment();

        // The state is within every documented range.
        let pairs: Vec<(String, String)> = parse_fragment(&canonical)
            .into_iter()
            .filter(|(k, _)| k != "lab")
            .collect();
        let (settings, corrections) = decode::<DeviceSettings>(&pairs);
        prop_assert!(corrections.is_empty(), "canonical link needs corrections: {corrections:?}");
        prop_assert!((MIN_DIM..=MAX_DIM).contains(&settings.rows) && settings.rows % 64 == 0);
        prop_assert!((MIN_DIM..=MAX_DIM).contains(&settings.cols) && settings.cols % 64 == 0);
        prop_assert!((COPY_MIB.min..=COPY_MIB.max).contains(&settings.copy_mib));
        prop_assert!((REPS.min..=REPS.max).contains(&settings.reps));

        // The canonical link reopens silently to the same state.
        let again = open(&canonical);
        prop_assert!(again.corrections().is_empty(), "{:?}", again.corrections());
        prop_assert_eq!(again.current_fragment(), canonical);
    }
}

#[test]
fn every_key_of_a_garbage_link_is_accounted_for() {
    let app = open("#lab=device&rows=1e3&cols=-64&copy_mib=99999&reps=0&seed=&cpu=perhaps&extra=1");
    let keys: Vec<&str> = app.corrections().iter().map(|c| c.key.as_str()).collect();
    for key in ["rows", "cols", "copy_mib", "reps", "seed", "cpu", "extra"] {
        assert!(keys.contains(&key), "{key} not reported in {keys:?}");
    }
    assert_eq!(
        app.current_fragment(),
        format!(
            "#lab=device&rows=4096&cols=4096&copy_mib={}&reps={}&seed=1&cpu=true&gemv=auto",
            COPY_MIB.max, REPS.min
        )
    );
}

const FAIRNESS_KEYS: &[&str] = &[
    "view",
    "scenario",
    "samples",
    "alpha",
    "clients",
    "lambda_global",
    "lambda_local",
    "rounds",
    "local_steps",
    "lr",
    "sensitive_input",
    "seed",
    "grid",
    "fix_local",
    "fix_global",
    "zzz",
];

/// Values for the fairness lab's keys: the nasty ones plus client lists, good and broken.
fn fairness_value() -> impl Strategy<Value = String> {
    prop_oneof![
        nasty_value(),
        "[0-9.:,]{0,24}",
        prop::collection::vec((0.0f64..1.2, 0.0f64..1.2, 0.0f64..1.2), 0..10).prop_map(|v| v
            .iter()
            .map(|(a, b, c)| format!("{a:.2}:{b:.2}:{c:.2}"))
            .collect::<Vec<_>>()
            .join(",")),
        prop::sample::select(vec![
            "pid", "frontier", "curves", "training", "masked", "custom", "iid"
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn any_fairness_link_decodes_to_a_valid_canonical_state(
        pairs in prop::collection::vec((prop::sample::select(FAIRNESS_KEYS), fairness_value()), 0..12)
    ) {
        use paperlab::labs::fairness::settings::FairnessSettings;
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let (settings, _) = decode::<FairnessSettings>(&pairs);
        let clients = paperlab::labs::fairness::data::clients_from_text(&settings.clients);
        prop_assert!(clients.is_ok_and(|c| (1..=8).contains(&c.len())));
        prop_assert!((0.5..=1.0).contains(&settings.alpha) && settings.lr > 0.0);
        let canonical = paperlab::share::encode(&settings);
        let (again, corrections) = decode::<FairnessSettings>(&canonical);
        prop_assert!(corrections.is_empty(), "canonical link needs corrections: {corrections:?}");
        prop_assert_eq!(again, settings);
    }
}

const QUANT_KEYS: &[&str] = &[
    "view",
    "matrix",
    "rows",
    "cols",
    "weight_outliers",
    "seed",
    "batch",
    "hot_channels",
    "method",
    "bits",
    "outliers",
    "sensitive",
    "metric",
    "row",
    "kernel_rows",
    "kernel_cols",
    "zzz",
];

/// Values for the quantization lab's keys: the nasty ones plus the enums' names.
fn quant_value() -> impl Strategy<Value = String> {
    prop_oneof![
        nasty_value(),
        prop::sample::select(vec![
            "tradeoff",
            "row",
            "sparse",
            "kernels",
            "synthetic",
            "mlp_up",
            "squeeze",
            "q4_0",
            "bipolar",
            "signed_int",
            "weighted",
            "4096",
            "31",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn any_quant_link_decodes_to_a_valid_canonical_state(
        pairs in prop::collection::vec((prop::sample::select(QUANT_KEYS), quant_value()), 0..12)
    ) {
        use paperlab::labs::quant::settings::{MAX_SYNTHETIC_WEIGHTS, QuantSettings};
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let (settings, _) = decode::<QuantSettings>(&pairs);
        prop_assert!(settings.rows * settings.cols <= MAX_SYNTHETIC_WEIGHTS);
        prop_assert!(settings.kernel_cols % 32 == 0 && (1..=8).contains(&settings.method_bits()));
        prop_assert!((0.0..=2.0).contains(&settings.outliers));
        let canonical = paperlab::share::encode(&settings);
        let (again, corrections) = decode::<QuantSettings>(&canonical);
        prop_assert!(corrections.is_empty(), "canonical link needs corrections: {corrections:?}");
        prop_assert_eq!(again, settings);
    }
}
