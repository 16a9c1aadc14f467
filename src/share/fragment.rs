//! The URL fragment as an ordered list of `key=value` pairs, percent-encoded where needed.
//! Parsing accepts any string (a link is untrusted input) and never panics.

pub type Pairs = Vec<(String, String)>;

/// `#lab=device&rows=4096` -> [("lab", "device"), ("rows", "4096")].
/// Empty segments are skipped; a segment without `=` is a key with an empty value.
pub fn parse_fragment(fragment: &str) -> Pairs {
    let body = fragment.strip_prefix('#').unwrap_or(fragment);
    body.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// The inverse of [`parse_fragment`], with a leading `#`.
pub fn format_fragment(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    format!("#{}", body.join("&"))
}

/// Characters kept as they are: unreserved URL characters plus a few that read well in links.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b',' | b':')
}

pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if is_plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX`; a malformed escape is kept literally; invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex_value(*b)),
                bytes.get(i + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_special_characters() {
        let pairs: Pairs = vec![
            ("lab".into(), "device".into()),
            ("name".into(), "a b&c=d#e%f/ü".into()),
            ("empty".into(), String::new()),
        ];
        let text = format_fragment(&pairs);
        assert_eq!(parse_fragment(&text), pairs);
        assert!(text.starts_with("#lab=device&"));
    }

    #[test]
    fn garbage_parses_without_panic() {
        for text in [
            "", "#", "&&&", "=", "#=x", "%", "%G1", "a=%E2%82", "k=v=w", "#%%%&=&",
        ] {
            let _ = parse_fragment(text);
        }
        assert_eq!(parse_fragment("k=v=w"), vec![("k".into(), "v=w".into())]);
        assert_eq!(parse_fragment("%zz=1"), vec![("%zz".into(), "1".into())]);
    }
}
