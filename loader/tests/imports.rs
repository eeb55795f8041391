//! The loader's module import graph has no circle spanning more than two files (issue 19): the
//! data flow (sources -> readers -> object trees -> compilers -> engines -> the binder ->
//! predictors) is one direction. `scripts/import_graph.py` draws the graph from the
//! `use crate::...` lines and reports its strongly connected components.

use std::path::Path;
use std::process::Command;

#[test]
fn loader_modules_import_without_circles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = match Command::new("python3")
        .arg(root.join("scripts/import_graph.py"))
        .arg(root.join("loader/src"))
        .args(["--max", "2"])
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("SKIPPED: python3 is not available to draw the import graph ({e})");
            return;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("circle(s)"), "{text}");
}

/// No flavor reads another flavor's internals: XGBoost, LightGBM, CatBoost and scikit-learn
/// share the binder (`binder/`) and output helpers (`outputs.rs`), never each other's files.
#[test]
fn flavors_do_not_import_sibling_flavors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = match Command::new("python3")
        .arg(root.join("scripts/import_graph.py"))
        .arg(root.join("loader/src"))
        .arg("--edges")
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("SKIPPED: python3 is not available to draw the import graph ({e})");
            return;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let flavors = ["sklearn", "xgboost", "lightgbm", "catboost"];
    let top = |m: &str| m.split("::").next().unwrap_or_default().to_owned();
    let crossing: Vec<&str> = text
        .lines()
        .filter(|line| {
            let Some((from, to)) = line.split_once(" -> ") else {
                return false;
            };
            let (a, b) = (top(from), top(to));
            // Test modules may compare flavors (the LightGBM fixtures reuse XGBoost's readers).
            a != b
                && flavors.contains(&a.as_str())
                && flavors.contains(&b.as_str())
                && !from.ends_with("_tests")
        })
        .collect();
    assert!(crossing.is_empty(), "{}", crossing.join("\n"));
}
