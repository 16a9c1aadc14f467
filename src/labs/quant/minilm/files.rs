//! The model folder on disk (native only): `model.safetensors` and `vocab.txt`, as
//! `scripts/fetch-minilm` writes them to `target/models/minilm-l6/`.

use std::path::{Path, PathBuf};

use super::model::MiniLm;
use super::tokenizer::Tokenizer;

/// Where `scripts/fetch-minilm` puts the model, relative to the repository root.
pub const DEFAULT_DIR: &str = "target/models/minilm-l6";

/// `PAPERLAB_MINILM_DIR`, else [`DEFAULT_DIR`] under the crate root (so tests and the CLI
/// run from the checkout find it wherever they start), else relative to the working folder.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PAPERLAB_MINILM_DIR") {
        return PathBuf::from(dir);
    }
    let in_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
    if in_crate.is_dir() {
        in_crate
    } else {
        PathBuf::from(DEFAULT_DIR)
    }
}

/// The model and its tokenizer, or a message that says what is wrong and how to get it.
pub fn load(dir: &Path) -> Result<(MiniLm, Tokenizer), String> {
    let hint = "scripts/fetch-minilm downloads it (scripts/setup runs it)";
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}; {hint}", path.display()))
    };
    let vocab = read("vocab.txt")?;
    let vocab = String::from_utf8(vocab)
        .map_err(|_| format!("{}: not UTF-8 text", dir.join("vocab.txt").display()))?;
    let tokenizer = Tokenizer::from_vocab(&vocab).map_err(|e| format!("{}: {e}", dir.display()))?;
    let weights = read("model.safetensors")?;
    let model = MiniLm::from_safetensors(&weights)
        .map_err(|e| format!("{}: {e}", dir.join("model.safetensors").display()))?;
    if model.vocab != tokenizer.vocab_size() {
        return Err(format!(
            "{}: {} embeddings for {} vocabulary entries",
            dir.display(),
            model.vocab,
            tokenizer.vocab_size()
        ));
    }
    Ok((model, tokenizer))
}
