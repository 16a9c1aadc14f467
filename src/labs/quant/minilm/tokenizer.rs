//! BERT's uncased WordPiece tokenizer, as the model's `BertTokenizer` configures it
//! (`do_lower_case`, accents stripped, Chinese characters split, `[CLS] ... [SEP]`).
//!
//! Basic tokenization: control characters dropped, whitespace normalised, text lowercased,
//! accents stripped, then split on whitespace and around punctuation. WordPiece: each word
//! greedily split into the longest vocabulary entries (continuations spelled `##piece`); a
//! word with no split, or longer than 100 characters, becomes `[UNK]`.
//!
//! Accent stripping without Unicode tables: Latin-1 and Latin Extended-A letters with
//! diacritics map to their base letter (what NFD followed by dropping marks gives for them),
//! and combining marks (U+0300-U+036F) are dropped. The shipped text is ASCII; the check
//! against the reference tokenizer covers accented and CJK input too.

use std::collections::HashMap;

pub const CLS: &str = "[CLS]";
pub const SEP: &str = "[SEP]";
pub const UNK: &str = "[UNK]";
const MAX_WORD_CHARS: usize = 100;

pub struct Tokenizer {
    ids: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl Tokenizer {
    /// From vocab.txt: one token a line, the id is the line number.
    pub fn from_vocab(text: &str) -> Result<Self, String> {
        let ids: HashMap<String, u32> = text
            .lines()
            .enumerate()
            .map(|(i, t)| (t.to_owned(), i as u32))
            .collect();
        let id = |t: &str| {
            ids.get(t)
                .copied()
                .ok_or_else(|| format!("vocab.txt has no {t} token"))
        };
        let (cls, sep, unk) = (id(CLS)?, id(SEP)?, id(UNK)?);
        if ids.len() < 1000 {
            return Err(format!(
                "vocab.txt has {} tokens: not a BERT vocabulary",
                ids.len()
            ));
        }
        Ok(Self { ids, cls, sep, unk })
    }

    pub fn vocab_size(&self) -> usize {
        self.ids.len()
    }

    /// `[CLS] tokens [SEP]`, truncated to `max_len` ids in all.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut out = vec![self.cls];
        'words: for word in basic_tokens(text) {
            for id in self.wordpiece(&word) {
                if out.len() + 1 >= max_len {
                    break 'words;
                }
                out.push(id);
            }
        }
        out.push(self.sep);
        out
    }

    fn wordpiece(&self, word: &str) -> Vec<u32> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let mut piece: String = chars[start..end].iter().collect();
                if start > 0 {
                    piece.insert_str(0, "##");
                }
                if let Some(&id) = self.ids.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        pieces
    }
}

/// Lowercased, accent-free words and punctuation marks, in order.
fn basic_tokens(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            spaced.push(' ');
        } else if is_cjk(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    let mut tokens = Vec::new();
    for word in spaced.split(' ').filter(|w| !w.is_empty()) {
        let mut current = String::new();
        for c in word.chars().flat_map(char::to_lowercase) {
            let Some(c) = strip_accent(c) else { continue };
            if is_punctuation(c) {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                tokens.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            tokens.push(current);
        }
    }
    tokens
}

/// BERT's punctuation: all non-alphanumeric ASCII printables, and Unicode punctuation (the
/// General Punctuation block, CJK symbols and punctuation, fullwidth forms, and the Latin-1
/// marks).
fn is_punctuation(c: char) -> bool {
    let u = c as u32;
    c.is_ascii_punctuation()
        || matches!(u, 0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF)
        || (0x2010..=0x2027).contains(&u)
        || (0x2030..=0x205E).contains(&u)
        || (0x3001..=0x3003).contains(&u)
        || (0x3008..=0x3011).contains(&u)
        || (0xFF01..=0xFF0F).contains(&u)
        || (0xFF1A..=0xFF20).contains(&u)
}

fn is_cjk(c: char) -> bool {
    let u = c as u32;
    (0x4E00..=0x9FFF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x20000..=0x2A6DF).contains(&u)
        || (0x2A700..=0x2B81F).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0x2F800..=0x2FA1F).contains(&u)
}

/// The base letter of a lowercase letter with a diacritic; `None` for a combining mark.
fn strip_accent(c: char) -> Option<char> {
    if ('\u{300}'..='\u{36f}').contains(&c) {
        return None;
    }
    Some(match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "un", "##aff", "##able", "a", ",", "!",
            "cafe",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain((0..1000).map(|i| format!("filler{i}")))
        .collect::<Vec<_>>()
        .join("\n");
        Tokenizer::from_vocab(&vocab).unwrap()
    }

    #[test]
    fn wordpiece_splits_greedily_and_unknowns_are_whole_words() {
        let t = tiny();
        // [CLS] the un ##aff ##able , a [UNK] ! cafe [SEP]
        assert_eq!(
            t.encode("The  UNaffable,a xyz! Café", 64),
            vec![2, 4, 5, 6, 7, 9, 8, 1, 10, 11, 3]
        );
        assert_eq!(t.encode("the the the", 3), vec![2, 4, 3]);
        assert!(Tokenizer::from_vocab("a\nb").is_err());
    }
}
