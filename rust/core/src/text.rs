//! Offset maps between Unicode code points and UTF-8 bytes.
//!
//! nerlm's public offsets are half-open intervals in code points (Python string indices).
//! Internally the core searches UTF-8 bytes or fixed-width code points ([`CodePoints`], the
//! layout of Python strings); these helpers convert between them.

/// Code point index of every UTF-8 byte offset that starts a character, plus the end.
///
/// `byte_to_char(text)[b]` is the code point offset of byte offset `b` when `b` is a
/// character boundary (or `text.len()`); values at non-boundary bytes are the index of the
/// character that contains them.
pub fn byte_to_char(text: &str) -> Vec<u32> {
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut ci = 0u32;
    for (i, ch) in text.char_indices() {
        debug_assert_eq!(map.len(), i);
        for _ in 0..ch.len_utf8() {
            map.push(ci);
        }
        ci += 1;
    }
    map.push(ci);
    map
}

/// UTF-8 byte offset of every code point offset `0..=n_chars`.
pub fn char_to_byte(text: &str) -> Vec<usize> {
    let mut map: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    map.push(text.len());
    map
}

/// A string as fixed-width code points, in CPython's layout (PEP 393): Latin-1 bytes when every
/// code point is below U+0100, UCS-2 when below U+10000, else UCS-4. Index `i` is code point
/// `i`, so offsets need no conversion. Any width may hold any string whose code points fit it
/// (the narrowest is not required); UCS-2 and UCS-4 may hold lone surrogates, as Python
/// strings can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePoints<'a> {
    /// U+0000..U+00FF, one byte each.
    Latin1(&'a [u8]),
    /// U+0000..U+FFFF, two bytes each.
    Ucs2(&'a [u16]),
    /// Any code point, four bytes each.
    Ucs4(&'a [u32]),
}

impl<'a> CodePoints<'a> {
    /// Length in code points.
    pub fn len(&self) -> usize {
        match self {
            Self::Latin1(s) => s.len(),
            Self::Ucs2(s) => s.len(),
            Self::Ucs4(s) => s.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The code point at index `i`.
    pub fn get(&self, i: usize) -> u32 {
        match self {
            Self::Latin1(s) => u32::from(s[i]),
            Self::Ucs2(s) => u32::from(s[i]),
            Self::Ucs4(s) => s[i],
        }
    }

    /// The string as UTF-8, one `char` per code point, so code point offsets carry over; a
    /// lone surrogate (or a value beyond U+10FFFF) becomes U+FFFD.
    pub fn to_utf8(&self) -> String {
        (0..self.len())
            .map(|i| char::from_u32(self.get(i)).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }
}

/// An owned [`CodePoints`] in the narrowest width, built from UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodePointBuf {
    /// See [`CodePoints::Latin1`].
    Latin1(Vec<u8>),
    /// See [`CodePoints::Ucs2`].
    Ucs2(Vec<u16>),
    /// See [`CodePoints::Ucs4`].
    Ucs4(Vec<u32>),
}

impl CodePointBuf {
    /// The code points of `s` in the narrowest width that holds them all.
    pub fn new(s: &str) -> Self {
        let max = s.chars().map(u32::from).max().unwrap_or(0);
        if max < 0x100 {
            Self::Latin1(s.chars().map(|c| u32::from(c) as u8).collect())
        } else if max < 0x1_0000 {
            Self::Ucs2(s.chars().map(|c| u32::from(c) as u16).collect())
        } else {
            Self::Ucs4(s.chars().map(u32::from).collect())
        }
    }

    /// Borrow as [`CodePoints`].
    pub fn as_code_points(&self) -> CodePoints<'_> {
        match self {
            Self::Latin1(v) => CodePoints::Latin1(v),
            Self::Ucs2(v) => CodePoints::Ucs2(v),
            Self::Ucs4(v) => CodePoints::Ucs4(v),
        }
    }
}

/// Is `b` a UTF-8 continuation byte (`10xxxxxx`)?
#[inline]
pub fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Number of continuation bytes that follow lead byte `b`, or `None` if `b` cannot start a
/// character (a continuation byte or an invalid lead such as `0xC0`, `0xF5..`).
#[inline]
pub fn utf8_tail_len(b: u8) -> Option<u8> {
    match b {
        0x00..=0x7F => Some(0),
        0xC2..=0xDF => Some(1),
        0xE0..=0xEF => Some(2),
        0xF0..=0xF4 => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip() {
        let t = "a浙商😀b";
        let b2c = byte_to_char(t);
        let c2b = char_to_byte(t);
        assert_eq!(c2b, vec![0, 1, 4, 7, 11, 12]);
        for (ci, &bi) in c2b.iter().enumerate() {
            assert_eq!(b2c[bi] as usize, ci);
        }
    }
}

/// A unit of text offsets: code points (nerlm's public unit, Python string indices), UTF-8
/// bytes (Rust strings, most C libraries) or UTF-16 code units (JavaScript, Java, Label Studio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetUnit {
    /// Unicode code points.
    Char,
    /// UTF-8 bytes.
    Byte,
    /// UTF-16 code units (a character outside the BMP counts 2).
    Utf16,
}

impl OffsetUnit {
    /// Parse `"char"`, `"byte"` or `"utf16"`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "char" | "codepoint" => Ok(Self::Char),
            "byte" | "utf8" => Ok(Self::Byte),
            "utf16" => Ok(Self::Utf16),
            _ => Err(crate::Error::Offset(format!(
                "unknown offset unit {s:?} (expected 'char', 'byte' or 'utf16')"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Char => "code point",
            Self::Byte => "UTF-8 byte",
            Self::Utf16 => "UTF-16",
        }
    }
}

/// Converts offsets of one text between code points, UTF-8 bytes and UTF-16 code units.
///
/// Built once per text in O(length); each conversion is O(log n) (O(1) for ASCII text).
#[derive(Debug, Clone)]
pub struct OffsetMap {
    /// Per code point boundary `0..=n_chars`: its UTF-8 byte offset.
    byte: Vec<u64>,
    /// Per code point boundary: its UTF-16 offset; empty when equal to `byte` (ASCII).
    utf16: Vec<u64>,
    ascii: bool,
    n_chars: u64,
}

impl OffsetMap {
    /// Build the map of `text`.
    pub fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Self {
                byte: Vec::new(),
                utf16: Vec::new(),
                ascii: true,
                n_chars: text.len() as u64,
            };
        }
        let mut byte = Vec::with_capacity(text.len() + 1);
        let mut utf16 = Vec::with_capacity(text.len() + 1);
        let mut u = 0u64;
        for (i, ch) in text.char_indices() {
            byte.push(i as u64);
            utf16.push(u);
            u += ch.len_utf16() as u64;
        }
        byte.push(text.len() as u64);
        utf16.push(u);
        let n_chars = (byte.len() - 1) as u64;
        Self {
            byte,
            utf16,
            ascii: false,
            n_chars,
        }
    }

    /// Number of code points of the text.
    pub fn len_chars(&self) -> u64 {
        self.n_chars
    }

    fn table(&self, unit: OffsetUnit) -> Option<&[u64]> {
        match unit {
            _ if self.ascii => None,
            OffsetUnit::Char => None,
            OffsetUnit::Byte => Some(&self.byte),
            OffsetUnit::Utf16 => Some(&self.utf16),
        }
    }

    /// Convert offset `off` from `from` to `to`.
    ///
    /// # Errors
    /// [`crate::Error::Offset`] when `off` is past the end of the text or falls inside a
    /// character (a UTF-8 continuation byte, or between the two halves of a surrogate pair).
    pub fn convert(&self, off: u64, from: OffsetUnit, to: OffsetUnit) -> crate::Result<u64> {
        let ci = match self.table(from) {
            None => {
                if off > self.n_chars {
                    return Err(crate::Error::Offset(format!(
                        "{} offset {off} is past the end of a text of {} code points",
                        from.name(),
                        self.n_chars
                    )));
                }
                off
            }
            Some(t) => match t.binary_search(&off) {
                Ok(ci) => ci as u64,
                Err(ci) if ci >= t.len() => {
                    return Err(crate::Error::Offset(format!(
                        "{} offset {off} is past the end of the text ({} in all)",
                        from.name(),
                        t[t.len() - 1]
                    )))
                }
                Err(ci) => {
                    return Err(crate::Error::Offset(format!(
                        "{} offset {off} falls inside code point {} (which starts at {})",
                        from.name(),
                        ci - 1,
                        t[ci - 1]
                    )))
                }
            },
        };
        Ok(match self.table(to) {
            None => ci,
            Some(t) => t[ci as usize],
        })
    }
}

/// Which normalisations [`Normalized::new`] applies before matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Normalization {
    /// Unicode NFKC (compatibility composition: ﬁ -> fi, ① -> 1, full-width forms -> ASCII).
    pub nfkc: bool,
    /// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space (U+3000) to ASCII, alone.
    pub width: bool,
    /// Lower case (Unicode `to_lowercase`).
    pub case: bool,
    /// What to do with whitespace.
    pub whitespace: Whitespace,
}

impl Normalization {
    /// True when no normalisation is asked for.
    pub fn is_identity(&self) -> bool {
        !self.nfkc && !self.width && !self.case && self.whitespace == Whitespace::Keep
    }
}

/// Whitespace handling of [`Normalization`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Whitespace {
    /// Leave whitespace as it is.
    #[default]
    Keep,
    /// Every run of whitespace becomes one space.
    Collapse,
    /// Whitespace is removed (`北京 大学` matches `北京大学`).
    Remove,
}

/// A normalised text with a map from each of its characters back to the original.
///
/// The text is cut into segments (a starter and the non-starters after it, so NFKC can
/// compose within a segment); each segment is normalised alone and every character it
/// produces maps to the segment's original code point range. A match in the normalised text
/// maps back only when both its ends fall on segment boundaries ([`Normalized::to_original`]).
#[derive(Debug, Clone)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// Per normalised code point: (original start, original end) of its segment.
    pub origin: Vec<(u32, u32)>,
    /// Per normalised UTF-8 byte offset of a code point start (and the end): its code point
    /// index in `text`.
    pub byte_to_char: Vec<u32>,
}

fn width_fold(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

impl Normalized {
    /// Normalise `text` as `norm` asks.
    pub fn new(text: &str, norm: &Normalization) -> Self {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::UnicodeNormalization;
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut origin: Vec<(u32, u32)> = Vec::with_capacity(chars.len());
        let mut i = 0usize;
        let mut seg = String::new();
        let mut in_space = false;
        while i < chars.len() {
            let mut j = i + 1;
            if norm.nfkc {
                while j < chars.len() && canonical_combining_class(chars[j]) != 0 {
                    j += 1;
                }
            }
            let (s, e) = (i as u32, j as u32);
            seg.clear();
            seg.extend(chars[i..j].iter());
            let mut push = |c: char, out: &mut String, origin: &mut Vec<(u32, u32)>| {
                let c = if norm.width { width_fold(c) } else { c };
                if c.is_whitespace() {
                    match norm.whitespace {
                        Whitespace::Keep => {}
                        Whitespace::Remove => return,
                        Whitespace::Collapse => {
                            if in_space {
                                if let Some(last) = origin.last_mut() {
                                    last.1 = e;
                                }
                                return;
                            }
                            in_space = true;
                            out.push(' ');
                            origin.push((s, e));
                            return;
                        }
                    }
                }
                in_space = false;
                if norm.case {
                    for l in c.to_lowercase() {
                        out.push(l);
                        origin.push((s, e));
                    }
                } else {
                    out.push(c);
                    origin.push((s, e));
                }
            };
            if norm.nfkc {
                for c in seg.nfkc() {
                    push(c, &mut out, &mut origin);
                }
            } else {
                for &c in &chars[i..j] {
                    push(c, &mut out, &mut origin);
                }
            }
            i = j;
        }
        let mut byte_to_char = vec![0u32; out.len() + 1];
        let mut n = 0u32;
        for (b, _) in out.char_indices() {
            byte_to_char[b] = n;
            n += 1;
        }
        byte_to_char[out.len()] = n;
        Self {
            text: out,
            origin,
            byte_to_char,
        }
    }

    /// Normalise a short string (an entity) without keeping the map.
    pub fn string(s: &str, norm: &Normalization) -> String {
        Self::new(s, norm).text
    }

    /// Map the normalised code point range `[start, end)` back to original code points, or
    /// `None` when an end cuts a segment (the match covers part of what one original
    /// character became) or the range is empty.
    pub fn to_original(&self, start: usize, end: usize) -> Option<(u32, u32)> {
        if start >= end || end > self.origin.len() {
            return None;
        }
        if start > 0 && self.origin[start - 1] == self.origin[start] {
            return None;
        }
        if end < self.origin.len() && self.origin[end] == self.origin[end - 1] {
            return None;
        }
        Some((self.origin[start].0, self.origin[end - 1].1))
    }
}

#[cfg(test)]
mod offset_tests {
    use super::*;

    #[test]
    fn offset_map_converts_and_rejects_inside_characters() {
        let t = "a浙😀b";
        let m = OffsetMap::new(t);
        use OffsetUnit::*;
        assert_eq!(m.convert(2, Char, Byte).unwrap(), 4);
        assert_eq!(m.convert(3, Char, Utf16).unwrap(), 4);
        assert_eq!(m.convert(4, Utf16, Char).unwrap(), 3);
        assert_eq!(m.convert(8, Byte, Utf16).unwrap(), 4);
        assert!(m.convert(2, Byte, Char).is_err());
        assert!(m.convert(3, Utf16, Char).is_err());
        assert!(m.convert(5, Char, Byte).is_err());
        let a = OffsetMap::new("abc");
        assert_eq!(a.convert(3, Utf16, Byte).unwrap(), 3);
        assert!(a.convert(4, Byte, Char).is_err());
    }

    #[test]
    fn normalisation_maps_back() {
        let norm = Normalization {
            nfkc: true,
            case: true,
            whitespace: Whitespace::Remove,
            ..Default::default()
        };
        let n = Normalized::new("ＡＢ  ﬁx 北京", &norm);
        assert_eq!(n.text, "abfix北京");
        // "fix" starts inside nothing: ﬁ is one segment -> "fi"
        assert_eq!(n.to_original(2, 5), Some((4, 6)));
        // "ix" cuts the ﬁ segment
        assert_eq!(n.to_original(3, 5), None);
        assert_eq!(n.to_original(5, 7), Some((7, 9)));
        let c = Normalized::new(
            "a \t b",
            &Normalization {
                whitespace: Whitespace::Collapse,
                ..Default::default()
            },
        );
        assert_eq!(c.text, "a b");
        assert_eq!(c.origin[1], (1, 4));
    }
}
