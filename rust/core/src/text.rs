//! Offset maps between Unicode code points and UTF-8 bytes.
//!
//! nerlm's public offsets are half-open intervals in code points (Python string indices).
//! Internally the core searches UTF-8 bytes; these helpers convert between the two.

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
