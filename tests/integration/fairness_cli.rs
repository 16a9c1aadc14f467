//! `paperlab pid` and `paperlab aglfop` as a user runs them: the public check values of the
//! BROJA decomposition from CSV files, the AGLFOP JSON, and clear errors for bad input.

use std::path::PathBuf;

use crate::support::run;

fn write_csv(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paperlab-fairness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write csv");
    path
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Rows `t,a,b` each with probability 1/len; columns named as given, plus an extra column
/// that must be summed out.
fn table(names: [&str; 3], rows: &[(&str, &str, &str)]) -> String {
    let mut text = format!("{},extra,{},{},p\n", names[0], names[1], names[2]);
    for (t, a, b) in rows {
        // Each outcome split over two values of the extra column.
        for e in ["u", "v"] {
            text.push_str(&format!("{t},{e},{a},{b},{}\n", 0.5 / rows.len() as f64));
        }
    }
    text
}

/// One equally likely (t, a, b) outcome.
type Outcome<'a> = (&'a str, &'a str, &'a str);

#[test]
fn pid_reproduces_the_public_check_values() {
    let bits = [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")];
    let xor: Vec<_> = bits
        .iter()
        .map(|&(a, b)| (if a == b { "0" } else { "1" }, a, b))
        .collect();
    let and: Vec<_> = bits
        .iter()
        .map(|&(a, b)| (if a == "1" && b == "1" { "yes" } else { "no" }, a, b))
        .collect();
    let copy = [
        ("00", "0", "0"),
        ("01", "0", "1"),
        ("10", "1", "0"),
        ("11", "1", "1"),
    ];
    let rdn = [("0", "0", "0"), ("1", "1", "1")];
    let unq: Vec<_> = bits.iter().map(|&(a, b)| (a, a, b)).collect();
    // (name, rows, uni_a, uni_b, red, syn)
    let cases: [(&str, Vec<Outcome>, [f64; 4]); 5] = [
        ("xor", xor, [0.0, 0.0, 0.0, 1.0]),
        ("and", and, [0.0, 0.0, 0.311278, 0.5]),
        ("copy", copy.to_vec(), [1.0, 1.0, 0.0, 0.0]),
        ("rdn", rdn.to_vec(), [0.0, 0.0, 1.0, 0.0]),
        ("unq", unq, [1.0, 0.0, 0.0, 0.0]),
    ];
    for (name, rows, [uni_a, uni_b, red, syn]) in cases {
        let path = write_csv(&format!("{name}.csv"), &table(["T", "X1", "X2"], &rows));
        let path = path.to_str().expect("utf-8 path");
        let (code, out, err) = run(&["pid", "--target", "T", "--sources", "X1,X2", path]);
        assert_eq!(code, 0, "{name}: {err}");
        let v = json(&out);
        assert_eq!(v["target"], "T");
        assert_eq!(v["sources"], serde_json::json!(["X1", "X2"]));
        for (key, want) in [
            ("unique_a", uni_a),
            ("unique_b", uni_b),
            ("redundant", red),
            ("synergistic", syn),
        ] {
            let got = v[key].as_f64().expect("number");
            assert!((got - want).abs() < 1e-6, "{name} {key}: {got} vs {want}");
        }
        let parts: f64 = ["unique_a", "unique_b", "redundant", "synergistic"]
            .iter()
            .map(|k| v[*k].as_f64().expect("number"))
            .sum();
        assert!(
            (parts - v["mi_joint"].as_f64().expect("number")).abs() < 1e-7,
            "{name}"
        );
    }
}

/// `paperlab pid --target z --sources yhat,s FILE`, which must succeed.
fn pid_of_predictions(path: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = run(&[
        "pid",
        "--target",
        "z",
        "--sources",
        "yhat,s",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    json(&out)
}

#[test]
fn pid_fairness_examples_with_sources_in_any_column_order() {
    // Target Z, sources (Yhat, S), the file's columns in another order.
    let masked = "s,yhat,z,p\n0,0,0,0.25\n0,1,1,0.25\n1,1,0,0.25\n1,0,1,0.25\n";
    let v = pid_of_predictions(&write_csv("masked.csv", masked));
    assert!(
        v["mi_a"].as_f64().expect("number").abs() < 1e-9,
        "global 0: {v}"
    );
    assert!(
        (v["synergistic"].as_f64().expect("number") - 1.0).abs() < 1e-6,
        "{v}"
    );
}

#[test]
fn aglfop_solves_and_grids() {
    let data = "s,z,y,p\n0,0,0,0.2\n0,1,1,0.25\n0,0,1,0.05\n1,1,0,0.1\n1,0,0,0.3\n1,1,1,0.1\n";
    let path = write_csv("clients.csv", data);
    let path = path.to_str().expect("utf-8");
    let (code, out, err) = run(&["aglfop", "--eps-global", "inf", "--eps-local", "inf", path]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["status"], "solved");
    assert!(
        (v["accuracy"].as_f64().expect("number") - 1.0).abs() < 1e-6,
        "{v}"
    );
    let (code, out, _) = run(&["aglfop", "--eps-global", "0.01", "--eps-local", "0", path]);
    assert_eq!(code, 0);
    let v = json(&out);
    assert!(
        v["global_disparity"].as_f64().expect("number") <= 0.01 + 1e-6,
        "{v}"
    );
    assert!(
        v["local_disparity"].as_f64().expect("number") <= 1e-7,
        "{v}"
    );
    assert!(v["accuracy"].as_f64().expect("number") < 1.0, "{v}");
    let (code, out, err) = run(&["aglfop", "--grid", "3", path]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(json).collect();
    assert_eq!(lines.len(), 9);
    assert!(
        lines
            .iter()
            .all(|l| l["status"] != "failed" && l["eps_global"].is_number())
    );
    // The unconstrained corner of the grid is the best cell.
    let best = lines
        .iter()
        .map(|l| l["accuracy"].as_f64().unwrap_or(0.0))
        .fold(0.0, f64::max);
    assert!((lines[8]["accuracy"].as_f64().expect("number") - best).abs() < 1e-6);
    assert_eq!(lines[0]["variant"], "aglfop");
    assert_eq!(lines[0]["accuracy_is_upper_bound"], true);
}

/// A model's predictions in a yhat column: the model-specific optimum is reachable by
/// post-processing it, so it lies between the model's accuracy and AGLFOP's bound.
#[test]
fn aglfop_model_specific_from_a_yhat_column() {
    // Clients 0/1; the model is right on 70% of each (s, z, y) cell.
    let mut text = String::from("s,z,y,yhat,p\n");
    let cells = [
        (0, 0, 0, 0.2),
        (0, 1, 1, 0.25),
        (0, 0, 1, 0.05),
        (1, 1, 0, 0.1),
        (1, 0, 0, 0.3),
        (1, 1, 1, 0.1),
    ];
    for (s, z, y, p) in cells {
        text.push_str(&format!("{s},{z},{y},{y},{}\n", 0.7 * p));
        text.push_str(&format!("{s},{z},{y},{},{}\n", 1 - y, 0.3 * p));
    }
    let path = write_csv("model.csv", &text);
    let path = path.to_str().expect("utf-8");
    let accuracy = |extra: &[&str]| {
        let mut args = vec!["aglfop"];
        args.extend_from_slice(extra);
        args.extend(["--eps-global", "0.005", "--eps-local", "0.005", path]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let v = json(&out);
        (v["accuracy"].as_f64().expect("number"), v)
    };
    let (any, v_any) = accuracy(&[]);
    let (ms, v_ms) = accuracy(&["--model-specific"]);
    assert_eq!(v_any["variant"], "aglfop");
    assert_eq!(v_ms["variant"], "model_specific");
    assert_eq!(v_ms["accuracy_is_upper_bound"], false);
    assert!(ms <= any + 1e-6, "{v_ms} vs {v_any}");
    assert!(
        ms < any - 1e-3,
        "a 70% model cannot reach the bound: {v_ms} vs {v_any}"
    );
    // A bare flag right before FILE leaves FILE alone (it once took it as its value), and
    // `--flag=false` turns it off.
    let (code, out, err) = run(&["aglfop", "--model-specific", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["variant"], "model_specific");
    let (code, out, err) = run(&["aglfop", "--model-specific=false", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["variant"], "aglfop");
    // Without a yhat column the flag is a usage error.
    let plain = write_csv("plain.csv", "s,z,y,p\n0,0,0,0.5\n1,1,1,0.5\n");
    let (code, _, err) = run(&[
        "aglfop",
        "--model-specific",
        "--",
        plain.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("yhat"), "{err}");
}

/// 300 records in the census format: every third a woman with HS-grad, the others men with
/// Bachelors or Masters; income above 50K where `rich(i)`.
fn census_lines(rich: impl Fn(usize) -> bool) -> String {
    (0..300)
        .map(|i| {
            format!(
                "{}, Private, 1, {}, 9, Never-married, Sales, Own-child, White, {}, {}, 0, {}, United-States, {}\n",
                20 + i % 45,
                ["HS-grad", "Bachelors", "Masters"][i % 3],
                if i % 3 == 0 { "Female" } else { "Male" },
                (i % 7) * 1000,
                30 + i % 25,
                if rich(i) { ">50K" } else { "<=50K" },
            )
        })
        .collect()
}

/// `paperlab adult` on a small file in the census format: six JSON lines (three splits, train
/// and held out), tables that `paperlab pid` reads, and clear errors for a bad file.
#[test]
fn adult_writes_tables_the_other_commands_read() {
    let census = census_lines(|i| i % 4 == 0 || i % 7 == 0);
    let data = write_csv("adult.data", &census);
    let out_dir = std::env::temp_dir().join(format!("paperlab-adult-{}", std::process::id()));
    let (code, out, err) = run(&[
        "adult",
        "--data",
        data.to_str().expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(json).collect();
    assert_eq!(lines.len(), 6, "{out}");
    for line in &lines {
        let records = line["records"].as_u64().expect("records");
        assert_eq!(records, if line["set"] == "train" { 210 } else { 90 });
        assert_eq!(line["pid_predictions"]["status"], "solved", "{line}");
        assert_eq!(
            line["model_specific_at_model"]["accuracy_is_upper_bound"],
            false
        );
    }
    let v = pid_of_predictions(&out_dir.join("synergy-held_out.csv"));
    assert!(v["synergistic"].as_f64().is_some(), "{v}");
    let bad = write_csv("bad.data", &census.replacen("Female", "F", 1));
    for (args, code, needle) in [
        (vec!["adult"], 2, "--data <FILE>"),
        (
            vec!["adult", "--data", "/nonexistent/adult.data"],
            1,
            "/nonexistent",
        ),
        (
            vec!["adult", "--data", bad.to_str().expect("utf-8")],
            1,
            "line 1: sex 'F'",
        ),
        (
            vec![
                "adult",
                "--data",
                data.to_str().expect("utf-8"),
                "--seed",
                "x",
            ],
            2,
            "not a number",
        ),
        (
            vec![
                "adult",
                "--data",
                data.to_str().expect("utf-8"),
                "--lambda-local",
                "-1",
            ],
            2,
            "--lambda-local",
        ),
    ] {
        let (got, out, err) = run(&args);
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(needle), "{args:?}: '{err}' lacks '{needle}'");
    }
}

/// `paperlab adult --lambda-global`: the lines name the penalty, and it lowers the global
/// disparity on the training records of every split.
#[test]
fn adult_fairness_penalties_lower_the_disparity() {
    // The label follows the education column, which carries the sex exactly (every third
    // record is a woman with HS-grad), so the unpenalised model's predictions are far from fair.
    let skewed = census_lines(|i| i % 3 == 0 || i % 11 == 0);
    let skewed = write_csv("skewed.data", &skewed);
    let adult = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["adult", "--data", skewed.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        out.lines().map(json).collect()
    };
    let (plain, penalised) = (adult(&[]), adult(&["--lambda-global", "50"]));
    assert_eq!(penalised.len(), 6);
    for (fair, plain) in penalised.iter().zip(&plain) {
        assert_eq!(fair["lambda_global"], 50.0);
        let global = |line: &serde_json::Value| {
            line["model"]["global_disparity"]
                .as_f64()
                .expect("a disparity")
        };
        if fair["set"] == "train" {
            assert!(global(plain) > 0.3, "{}", global(plain));
            assert!(
                global(fair) < 0.5 * global(plain),
                "{} against {}",
                global(fair),
                global(plain)
            );
        }
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let good = write_csv("good.csv", "s,z,y,p\n0,0,0,0.5\n1,1,1,0.5\n");
    let good = good.to_str().expect("utf-8");
    let not_summing = write_csv("bad-sum.csv", "s,z,y,p\n0,0,0,0.5\n1,1,1,0.6\n");
    let bad_z = write_csv("bad-z.csv", "s,z,y,p\n0,2,0,0.5\n1,1,1,0.5\n");
    for (args, code, needle) in [
        (vec!["aglfop", "--eps-global", "-1", good], 2, "bits >= 0"),
        (vec!["aglfop", "--eps-global", "x", good], 2, "bits >= 0"),
        (vec!["aglfop", "--grid", "1", good], 2, "2..=100"),
        (vec!["aglfop", good, good], 2, "unexpected argument"),
        (vec!["aglfop"], 2, "<FILE.csv>"),
        (
            vec!["aglfop", not_summing.to_str().expect("utf-8")],
            1,
            "sum to",
        ),
        (
            vec!["aglfop", bad_z.to_str().expect("utf-8")],
            1,
            "must be 0 or 1",
        ),
        (
            vec!["aglfop", "/nonexistent/file.csv"],
            1,
            "/nonexistent/file.csv",
        ),
        (
            vec!["pid", "--target", "z", "--sources", "y", good],
            2,
            "two column names",
        ),
        (
            vec!["pid", "--target", "q", "--sources", "y,s", good],
            1,
            "no column 'q'",
        ),
        (vec!["pid", "--sources", "y,s", good], 2, "--target <T>"),
        (
            vec!["pid", "--target", "z", "--sources", "z,s", good],
            1,
            "three different columns",
        ),
    ] {
        let (got, out, err) = run(&args);
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(needle), "{args:?}: '{err}' lacks '{needle}'");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
