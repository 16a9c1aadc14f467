//! The lab's real text: Proverbs 10-22 (KJV, public domain; `assets/quant/proverbs-kjv.txt`,
//! made by `scripts/extract-proverbs`). Chapters 10-15 calibrate, chapters 16-22 are held out:
//! whole chapters, so no held-out verse was seen, even in part, while fitting.

pub const PROVERBS: &str = include_str!("../../../../assets/quant/proverbs-kjv.txt");
/// The first held-out chapter.
pub const FIRST_HELD_OUT_CHAPTER: u32 = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Verse {
    pub chapter: u32,
    pub verse: u32,
    pub text: String,
}

/// The verses of a file in the shipped format (`chapter:verse<TAB>text`, `#` comments).
pub fn parse(file: &str) -> Result<Vec<Verse>, String> {
    file.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, line)| {
            let bad = || format!("line {}: expected chapter:verse, a tab, the text", i + 1);
            let (reference, text) = line.split_once('\t').ok_or_else(bad)?;
            let (c, v) = reference.split_once(':').ok_or_else(bad)?;
            Ok(Verse {
                chapter: c.parse().map_err(|_| bad())?,
                verse: v.parse().map_err(|_| bad())?,
                text: text.to_owned(),
            })
        })
        .collect()
}

/// Each verse as the model's token ids (`[CLS] ... [SEP]`, cut at `max_tokens`).
pub fn encode(
    tokenizer: &super::tokenizer::Tokenizer,
    verses: &[Verse],
    max_tokens: usize,
) -> Vec<Vec<u32>> {
    verses
        .iter()
        .map(|v| tokenizer.encode(&v.text, max_tokens))
        .collect()
}

/// (calibration, held-out) verses of the shipped text.
pub fn split() -> (Vec<Verse>, Vec<Verse>) {
    // The file is compiled in and its format is tested: a parse error is a build bug.
    let verses = parse(PROVERBS).unwrap_or_default();
    verses
        .into_iter()
        .partition(|v| v.chapter < FIRST_HELD_OUT_CHAPTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_text_splits_by_chapter() {
        let (calibration, held_out) = split();
        assert_eq!((calibration.len(), held_out.len()), (184, 204));
        assert!(calibration.iter().all(|v| (10..16).contains(&v.chapter)));
        assert!(held_out.iter().all(|v| (16..23).contains(&v.chapter)));
        assert!(
            held_out[0]
                .text
                .starts_with("The preparations of the heart")
        );
        assert!(parse("1:2 no tab").is_err());
    }
}
