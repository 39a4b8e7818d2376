//! Grounded strings: a byte automaton that accepts exactly the escaped forms of the non-empty
//! substrings of an input text (or, ungrounded, of any valid UTF-8 string).
//!
//! The substring set is a suffix automaton over the UTF-8 bytes of the text (Blumer et al.
//! 1985; at most `2n` states), built in O(n) per request. A substring may start only on a
//! character boundary and may be closed only on one, so every accepted string is valid UTF-8
//! and decodes to a substring of the text. Escaping is layered on top: for JSON
//! (`json.dumps(..., ensure_ascii=False)`) the raw bytes `"` and `\` and control characters
//! must be written as `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX` (lowercase hex), the
//! canonical forms Python writes; other escapes are never produced.

use crate::text::{is_continuation, utf8_tail_len};

/// A suffix automaton over bytes, with transitions in CSR form (sorted by byte per state).
#[derive(Debug, Clone)]
pub struct SuffixAutomaton {
    offsets: Vec<u32>,
    edges: Vec<(u8, u32)>,
}

impl SuffixAutomaton {
    /// Build the automaton of all substrings of `text`.
    pub fn new(text: &[u8]) -> SuffixAutomaton {
        // Construction with per-state sorted small vectors, then flattened.
        let cap = 2 * text.len() + 2;
        let mut next: Vec<Vec<(u8, u32)>> = Vec::with_capacity(cap);
        let mut link: Vec<i64> = Vec::with_capacity(cap);
        let mut len: Vec<usize> = Vec::with_capacity(cap);
        next.push(Vec::new());
        link.push(-1);
        len.push(0);
        let mut last = 0usize;
        fn get(v: &[(u8, u32)], b: u8) -> Option<u32> {
            v.binary_search_by_key(&b, |e| e.0).ok().map(|i| v[i].1)
        }
        fn set(v: &mut Vec<(u8, u32)>, b: u8, t: u32) {
            match v.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => v[i].1 = t,
                Err(i) => v.insert(i, (b, t)),
            }
        }
        for &c in text {
            let cur = next.len();
            next.push(Vec::new());
            len.push(len[last] + 1);
            link.push(0);
            let mut p = last as i64;
            while p >= 0 && get(&next[p as usize], c).is_none() {
                set(&mut next[p as usize], c, cur as u32);
                p = link[p as usize];
            }
            if p >= 0 {
                let q = get(&next[p as usize], c).expect("transition exists") as usize;
                if len[p as usize] + 1 == len[q] {
                    link[cur] = q as i64;
                } else {
                    let clone = next.len();
                    next.push(next[q].clone());
                    len.push(len[p as usize] + 1);
                    link.push(link[q]);
                    while p >= 0 && get(&next[p as usize], c) == Some(q as u32) {
                        set(&mut next[p as usize], c, clone as u32);
                        p = link[p as usize];
                    }
                    link[q] = clone as i64;
                    link[cur] = clone as i64;
                }
            }
            last = cur;
        }
        let mut offsets = Vec::with_capacity(next.len() + 1);
        let mut edges = Vec::with_capacity(next.iter().map(Vec::len).sum());
        offsets.push(0);
        for v in &next {
            edges.extend_from_slice(v);
            offsets.push(edges.len() as u32);
        }
        SuffixAutomaton { offsets, edges }
    }

    /// The transitions of `state`, sorted by byte.
    #[inline]
    pub fn edges(&self, state: u32) -> &[(u8, u32)] {
        &self.edges
            [self.offsets[state as usize] as usize..self.offsets[state as usize + 1] as usize]
    }

    /// Follow byte `b` from `state`.
    #[inline]
    pub fn step(&self, state: u32, b: u8) -> Option<u32> {
        let e = self.edges(state);
        if e.len() <= 8 {
            e.iter().find(|x| x.0 == b).map(|x| x.1)
        } else {
            e.binary_search_by_key(&b, |x| x.0).ok().map(|i| e[i].1)
        }
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Always false: the automaton has at least its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Is `s` a substring of the text the automaton was built on?
    pub fn contains(&self, s: &[u8]) -> bool {
        let mut st = 0u32;
        for &b in s {
            match self.step(st, b) {
                Some(n) => st = n,
                None => return false,
            }
        }
        true
    }
}

/// Where the escape layer is inside one escape sequence.
const ESC_NONE: u8 = 0;
const ESC_BACKSLASH: u8 = 1;
/// `\u` read, expecting `0`, `0`, hex hi, hex lo (stages 2, 3, 4, 5).
const ESC_U0: u8 = 2;
const ESC_U1: u8 = 3;
const ESC_UHI: u8 = 4;
const ESC_ULO: u8 = 5;

/// State inside one string literal (between its quotes). 12 bytes, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrState {
    /// Suffix-automaton state (grounded) or 0 (free).
    pub sam: u32,
    /// Characters of the decoded string so far.
    pub chars: u16,
    /// Continuation bytes still owed by the current character.
    pub pending: u8,
    /// Escape stage (`ESC_*`).
    pub esc: u8,
    /// Free mode: allowed range code of the next continuation byte; escape mode: hex hi digit.
    pub aux: u8,
}

/// JSON string content, grounded in a text or free.
#[derive(Debug, Clone)]
pub struct JsonString {
    sam: Option<SuffixAutomaton>,
    max_chars: Option<u16>,
    /// Escapable raw bytes that are reachable from the SAM at all (bitset over 0..0x60).
    has_escapable: bool,
}

/// The raw byte a short escape letter stands for (`\n` -> 0x0A), canonical forms only.
#[inline]
fn short_escape(letter: u8) -> Option<u8> {
    match letter {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'b' => Some(0x08),
        b'f' => Some(0x0C),
        _ => None,
    }
}

/// Must raw byte `r` be escaped in a JSON string, and is its canonical form `\u00XX`?
#[inline]
fn needs_escape(r: u8) -> bool {
    r < 0x20 || r == b'"' || r == b'\\'
}

#[inline]
fn uses_u_escape(r: u8) -> bool {
    r < 0x20 && !matches!(r, b'\n' | b'\r' | b'\t' | 0x08 | 0x0C)
}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

impl JsonString {
    /// Strings grounded in `text` (`Some`) or free (`None`), at most `max_chars` characters.
    pub fn new(text: Option<&str>, max_chars: Option<u16>) -> JsonString {
        let sam = text.map(|t| SuffixAutomaton::new(t.as_bytes()));
        let has_escapable = text.is_none_or(|t| t.bytes().any(needs_escape));
        JsonString {
            sam,
            max_chars,
            has_escapable,
        }
    }

    /// The state at the opening quote.
    pub fn start(&self) -> StrState {
        StrState {
            sam: 0,
            chars: 0,
            pending: 0,
            esc: ESC_NONE,
            aux: 0,
        }
    }

    /// May the string be closed (the closing quote written) in state `s`?
    #[inline]
    pub fn can_close(&self, s: StrState) -> bool {
        s.chars > 0 && s.pending == 0 && s.esc == ESC_NONE
    }

    /// Is `s` inside an escape sequence (so that `"` is content, not the closing quote)?
    #[inline]
    pub fn in_escape(&self, s: StrState) -> bool {
        s.esc != ESC_NONE
    }

    /// Is there a reachable raw byte from `s` satisfying `pred`?
    fn any_raw(&self, s: StrState, pred: impl Fn(u8) -> bool) -> bool {
        match &self.sam {
            Some(sam) => sam.edges(s.sam).iter().any(|e| pred(e.0)),
            None => (0u8..0x20).chain([b'"', b'\\']).any(pred),
        }
    }

    /// Consume decoded raw byte `r` (already unescaped).
    #[inline]
    fn feed_raw(&self, mut s: StrState, r: u8) -> Option<StrState> {
        if s.pending == 0 {
            // A new character starts.
            if let Some(m) = self.max_chars {
                if s.chars >= m {
                    return None;
                }
            }
            let tail = utf8_tail_len(r)?;
            s.pending = tail;
            s.chars = s.chars.saturating_add(1);
            s.aux = match r {
                0xE0 => 1,
                0xED => 2,
                0xF0 => 3,
                0xF4 => 4,
                _ => 0,
            };
        } else {
            if !is_continuation(r) {
                return None;
            }
            if self.sam.is_none() {
                let ok = match s.aux {
                    1 => r >= 0xA0,
                    2 => r <= 0x9F,
                    3 => r >= 0x90,
                    4 => r <= 0x8F,
                    _ => true,
                };
                if !ok {
                    return None;
                }
            }
            s.aux = 0;
            s.pending -= 1;
        }
        if let Some(sam) = &self.sam {
            s.sam = sam.step(s.sam, r)?;
        }
        Some(s)
    }

    /// Consume output byte `b` inside the string (never the closing quote: the caller handles
    /// `"` with [`JsonString::can_close`]).
    #[inline]
    pub fn step(&self, s: StrState, b: u8) -> Option<StrState> {
        match s.esc {
            ESC_NONE => {
                if b == b'\\' {
                    if s.pending != 0 || !self.has_escapable || !self.any_raw(s, needs_escape) {
                        return None;
                    }
                    if let Some(m) = self.max_chars {
                        if s.chars >= m {
                            return None;
                        }
                    }
                    Some(StrState {
                        esc: ESC_BACKSLASH,
                        ..s
                    })
                } else if b == b'"' || b < 0x20 {
                    None
                } else {
                    self.feed_raw(s, b)
                }
            }
            ESC_BACKSLASH => {
                if b == b'u' {
                    if self.any_raw(s, uses_u_escape) {
                        Some(StrState { esc: ESC_U0, ..s })
                    } else {
                        None
                    }
                } else {
                    let r = short_escape(b)?;
                    let n = self.feed_raw(s, r)?;
                    Some(StrState { esc: ESC_NONE, ..n })
                }
            }
            ESC_U0 => (b == b'0').then_some(StrState { esc: ESC_U1, ..s }),
            ESC_U1 => {
                if b == b'0' {
                    Some(StrState { esc: ESC_UHI, ..s })
                } else {
                    None
                }
            }
            ESC_UHI => {
                let hi = hex_val(b)?;
                if hi > 1 || !self.any_raw(s, |r| uses_u_escape(r) && r >> 4 == hi) {
                    return None;
                }
                Some(StrState {
                    esc: ESC_ULO,
                    aux: hi,
                    ..s
                })
            }
            ESC_ULO => {
                let r = (s.aux << 4) | hex_val(b)?;
                if !uses_u_escape(r) {
                    return None;
                }
                let n = self.feed_raw(StrState { aux: 0, ..s }, r)?;
                Some(StrState { esc: ESC_NONE, ..n })
            }
            _ => None,
        }
    }
}

/// Escape `s` as the content of a JSON string, exactly as `json.dumps(s, ensure_ascii=False)`
/// writes it (without the surrounding quotes).
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(js: &JsonString, out: &str) -> bool {
        let mut s = js.start();
        for &b in out.as_bytes() {
            match js.step(s, b) {
                Some(n) => s = n,
                None => return false,
            }
        }
        js.can_close(s)
    }

    #[test]
    fn sam_substrings() {
        let sam = SuffixAutomaton::new("abcbc".as_bytes());
        for s in ["", "a", "bcb", "cbc", "abcbc", "bc"] {
            assert!(sam.contains(s.as_bytes()), "{s}");
        }
        for s in ["ac", "cc", "abcbcb", "ba"] {
            assert!(!sam.contains(s.as_bytes()), "{s}");
        }
        assert!(sam.len() <= 2 * 5);
    }

    #[test]
    fn grounded_json_strings() {
        let text = "他说\"你好\"\n\u{1}再见\\龘";
        let js = JsonString::new(Some(text), None);
        assert!(accepts(&js, "你好"));
        assert!(accepts(&js, "\\\"你好\\\"\\n"));
        assert!(accepts(&js, "\\n\\u0001再见\\\\龘"));
        assert!(!accepts(&js, "\"")); // raw quote is never content
        assert!(!accepts(&js, "你好\\\"\\\"")); // not a substring
        assert!(!accepts(&js, "")); // empty
        assert!(!accepts(&js, "\\u0002")); // not in the text
                                           // Half a character cannot be closed.
        let half = &"龘".as_bytes()[..2];
        let mut s = js.start();
        for &b in half {
            s = js.step(s, b).unwrap();
        }
        assert!(!js.can_close(s));
        // A substring cannot start inside a character.
        assert!(js.step(js.start(), "龘".as_bytes()[1]).is_none());
    }

    #[test]
    fn max_chars() {
        let js = JsonString::new(Some("abcdef"), Some(3));
        assert!(accepts(&js, "abc"));
        assert!(!accepts(&js, "abcd"));
    }

    #[test]
    fn free_strings_are_valid_utf8() {
        let js = JsonString::new(None, None);
        assert!(accepts(&js, "any 文本 \\\" ok"));
        let mut s = js.start();
        s = js.step(s, 0xED).unwrap();
        assert!(js.step(s, 0xA0).is_none()); // surrogate range
        assert!(js.step(js.start(), 0xC0).is_none());
    }

    #[test]
    fn escape_matches_python() {
        assert_eq!(json_escape("a\"b\\c\nd\u{1}é"), "a\\\"b\\\\c\\nd\\u0001é");
    }
}
