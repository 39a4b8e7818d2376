//! Entity strings -> character spans.
//!
//! A model that writes entity strings (not offsets) must have them mapped back to the input.
//! Policy `left-to-right, non-overlapping`: within one group (for `iepile-json`, one label's
//! list), strings are placed in the order the model wrote them, each on the leftmost
//! occurrence that overlaps no span already placed in the same group. A string whose every
//! occurrence is taken is placed on its leftmost occurrence with status
//! [`AlignStatus::Duplicate`]; a string that does not occur at all (or is empty) is
//! [`AlignStatus::Ungrounded`] and gets no span.

use memchr::memmem;
use rayon::prelude::*;

use crate::text::byte_to_char;

/// How an entity string was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlignStatus {
    /// Placed on a free exact occurrence.
    Exact = 0,
    /// Every occurrence was already taken in its group; placed on the leftmost one.
    Duplicate = 1,
    /// Not found in the text.
    Ungrounded = 2,
}

/// One placement: half-open code point offsets (both 0 when ungrounded) and a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligned {
    /// Start, in code points.
    pub start: u32,
    /// End (exclusive), in code points.
    pub end: u32,
    /// How the string was placed.
    pub status: AlignStatus,
}

/// Place `items` (`(surface, group)`, in model order) in `text`.
pub fn align_left_to_right(text: &str, items: &[(&str, u32)]) -> Vec<Aligned> {
    let hay = text.as_bytes();
    let b2c = byte_to_char(text);
    // Claimed byte spans per group: (group, start, end).
    let mut claimed: Vec<(u32, usize, usize)> = Vec::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for &(surface, group) in items {
        if surface.is_empty() {
            out.push(Aligned {
                start: 0,
                end: 0,
                status: AlignStatus::Ungrounded,
            });
            continue;
        }
        let finder = memmem::Finder::new(surface.as_bytes());
        let n = surface.len();
        let mut first: Option<usize> = None;
        let mut free: Option<usize> = None;
        let mut pos = 0usize;
        while pos + n <= hay.len() {
            let Some(rel) = finder.find(&hay[pos..]) else {
                break;
            };
            let at = pos + rel;
            first.get_or_insert(at);
            let overlaps = claimed
                .iter()
                .any(|&(g, s, e)| g == group && at < e && s < at + n);
            if !overlaps {
                free = Some(at);
                break;
            }
            // Next candidate: the next character boundary after `at` (occurrences may overlap).
            pos = at + 1;
            while pos < hay.len() && hay[pos] & 0xC0 == 0x80 {
                pos += 1;
            }
        }
        let (at, status) = match (free, first) {
            (Some(a), _) => (a, AlignStatus::Exact),
            (None, Some(a)) => (a, AlignStatus::Duplicate),
            (None, None) => {
                out.push(Aligned {
                    start: 0,
                    end: 0,
                    status: AlignStatus::Ungrounded,
                });
                continue;
            }
        };
        if status == AlignStatus::Exact {
            claimed.push((group, at, at + n));
        }
        out.push(Aligned {
            start: b2c[at],
            end: b2c[at + n],
            status,
        });
    }
    out
}

/// [`align_left_to_right`] over many documents in parallel.
pub fn align_batch(docs: &[(&str, Vec<(&str, u32)>)]) -> Vec<Vec<Aligned>> {
    docs.par_iter()
        .map(|(text, items)| align_left_to_right(text, items))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_mentions_take_successive_occurrences() {
        let t = "北京和北京大学在北京";
        let r = align_left_to_right(t, &[("北京", 0), ("北京", 0), ("北京大学", 1), ("上海", 0)]);
        assert_eq!((r[0].start, r[0].end), (0, 2));
        assert_eq!((r[1].start, r[1].end), (3, 5));
        assert_eq!(
            (r[2].start, r[2].end, r[2].status),
            (3, 7, AlignStatus::Exact)
        );
        assert_eq!(r[3].status, AlignStatus::Ungrounded);
        let r = align_left_to_right("甲乙", &[("甲", 0), ("甲", 0)]);
        assert_eq!(r[1].status, AlignStatus::Duplicate);
        assert_eq!((r[1].start, r[1].end), (0, 1));
    }

    #[test]
    fn overlapping_occurrences_are_found() {
        let r = align_left_to_right("aaa", &[("a", 0), ("aa", 0)]);
        assert_eq!(
            (r[1].start, r[1].end, r[1].status),
            (1, 3, AlignStatus::Exact)
        );
    }
}
