//! Code point spans <-> token spans, and long documents cut into windows of model tokens.
//!
//! A tokenizer's offset mapping gives, per token, the half-open code point range of the text
//! it covers (`tokenizers`' `return_offsets_mapping`). Special tokens cover nothing (`(0, 0)`,
//! or any empty range) and are skipped. Several tokens may share one range: byte-level BPE
//! splits a rare character into tokens that each hold part of its UTF-8 bytes (Qwen2.5 writes
//! `龘` as two tokens, both covering the one character).
//!
//! An entity span need not fall on token boundaries (167 of CLUENER dev's 3,072 gold spans do
//! not with Qwen2.5, whose tokens merge characters across entity edges, e.g. `叶老桂博士` ->
//! `叶|老|桂|博士` is fine but `在北京` may be one token). [`TokenPolicy`] says what to do:
//!
//! * `Strict`: only spans whose both ends are token boundaries map; the others give `None`;
//! * `Expand`: the smallest run of tokens covering the span (may cover more text);
//! * `Contract`: the largest run of tokens inside the span (may cover less; `None` when no
//!   token lies wholly inside).

use crate::{Error, Result};

/// What [`char_to_token_spans`] does with span ends inside a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPolicy {
    /// Both ends must be token boundaries.
    Strict,
    /// Grow to the covering tokens.
    Expand,
    /// Shrink to the tokens inside.
    Contract,
}

impl TokenPolicy {
    /// Parse `"strict"`, `"expand"` or `"contract"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "strict" => Ok(Self::Strict),
            "expand" => Ok(Self::Expand),
            "contract" => Ok(Self::Contract),
            _ => Err(Error::Offset(format!(
                "unknown token policy {s:?} (expected 'strict', 'expand' or 'contract')"
            ))),
        }
    }
}

/// The non-empty tokens of an offset mapping, checked to be in text order.
struct Tokens {
    idx: Vec<u32>,
    start: Vec<u32>,
    end: Vec<u32>,
}

impl Tokens {
    fn new(offsets: &[(u32, u32)]) -> Result<Self> {
        let mut t = Self {
            idx: Vec::with_capacity(offsets.len()),
            start: Vec::with_capacity(offsets.len()),
            end: Vec::with_capacity(offsets.len()),
        };
        for (i, &(s, e)) in offsets.iter().enumerate() {
            if e < s {
                return Err(Error::Offset(format!(
                    "token {i}: end {e} before start {s}"
                )));
            }
            if s == e {
                continue;
            }
            if let (Some(&ps), Some(&pe)) = (t.start.last(), t.end.last()) {
                if s < ps || e < pe {
                    return Err(Error::Offset(format!(
                        "token {i} ({s}, {e}) is before the token ending at {pe}: the offset \
                         mapping must be in text order"
                    )));
                }
            }
            t.idx.push(i as u32);
            t.start.push(s);
            t.end.push(e);
        }
        Ok(t)
    }

    /// First non-empty token (position in `idx`) with `end > a`.
    fn first_ending_after(&self, a: u32) -> usize {
        self.end.partition_point(|&e| e <= a)
    }

    /// One past the last non-empty token with `start < b`.
    fn past_last_starting_before(&self, b: u32) -> usize {
        self.start.partition_point(|&s| s < b)
    }
}

/// Map half-open code point spans to half-open token index spans.
///
/// `offsets[t]` is token `t`'s code point range. Returns one entry per span: `None` when the
/// policy cannot map it (module docs) or no token overlaps it.
///
/// # Errors
/// [`Error::Offset`] for an offset mapping out of text order or a span with `end < start`.
pub fn char_to_token_spans(
    offsets: &[(u32, u32)],
    spans: &[(u32, u32)],
    policy: TokenPolicy,
) -> Result<Vec<Option<(u32, u32)>>> {
    let toks = Tokens::new(offsets)?;
    spans
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            if b < a {
                return Err(Error::Offset(format!("span {k}: end {b} before start {a}")));
            }
            let (lo, hi) = match policy {
                TokenPolicy::Expand | TokenPolicy::Strict => (
                    toks.first_ending_after(a),
                    toks.past_last_starting_before(b),
                ),
                TokenPolicy::Contract => (
                    toks.start.partition_point(|&s| s < a),
                    toks.end.partition_point(|&e| e <= b),
                ),
            };
            if lo >= hi {
                return Ok(None);
            }
            if policy == TokenPolicy::Strict && (toks.start[lo] != a || toks.end[hi - 1] != b) {
                return Ok(None);
            }
            Ok(Some((toks.idx[lo], toks.idx[hi - 1] + 1)))
        })
        .collect()
}

/// Map half-open token spans back to code point spans: from the first covered character of
/// the first non-empty token to the last of the last one (`None` when all are empty).
///
/// # Errors
/// [`Error::Offset`] for a token span past the mapping or with `end < start`.
pub fn token_to_char_spans(
    offsets: &[(u32, u32)],
    spans: &[(u32, u32)],
) -> Result<Vec<Option<(u32, u32)>>> {
    spans
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            if b < a || b as usize > offsets.len() {
                return Err(Error::Offset(format!(
                    "token span {k} ({a}, {b}) is not within {} tokens",
                    offsets.len()
                )));
            }
            let toks = offsets[a as usize..b as usize]
                .iter()
                .filter(|(s, e)| s < e);
            let mut r: Option<(u32, u32)> = None;
            for &(s, e) in toks {
                r = Some(match r {
                    None => (s, e),
                    Some((rs, re)) => (rs.min(s), re.max(e)),
                });
            }
            Ok(r)
        })
        .collect()
}

/// One window of a long document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First token (index into the document's offset mapping).
    pub tok_start: u32,
    /// One past the last token.
    pub tok_end: u32,
    /// First code point of the window's text.
    pub char_start: u32,
    /// One past its last code point.
    pub char_end: u32,
}

/// Cut a document of `n_chars` code points, tokenized as `offsets`, into windows of at most
/// `max_tokens` tokens, consecutive windows sharing `stride` tokens.
///
/// Cuts never fall between tokens that share a character (a character split over several
/// byte-level tokens stays whole), so a window may hold fewer tokens than `max_tokens` and
/// the overlap may differ from `stride` by those tokens. The windows cover the text: the first
/// starts at 0, the last ends at `n_chars`, and without overlap a window ends where the next
/// starts (text between tokens, like spaces a tokenizer drops, goes to the earlier window).
/// A document of at most `max_tokens` tokens is one window.
///
/// # Errors
/// [`Error::Shape`] when `stride >= max_tokens` or `max_tokens == 0`; [`Error::Offset`] for
/// an offset mapping out of text order or past `n_chars`, or a character covered by more
/// than `max_tokens` tokens.
pub fn plan_windows(
    offsets: &[(u32, u32)],
    n_chars: u32,
    max_tokens: usize,
    stride: usize,
) -> Result<Vec<Window>> {
    if max_tokens == 0 || stride >= max_tokens {
        return Err(Error::Shape(format!(
            "windows need 0 <= stride < max_tokens (got stride {stride}, max_tokens {max_tokens})"
        )));
    }
    Tokens::new(offsets)?;
    if let Some((i, _)) = offsets.iter().enumerate().find(|(_, &(_, e))| e > n_chars) {
        return Err(Error::Offset(format!(
            "token {i} ends past the text's {n_chars} code points"
        )));
    }
    let n = offsets.len();
    // A cut before token `t` is allowed when `t` does not share a character with `t - 1`.
    let cut_ok = |t: usize| -> bool {
        if t == 0 || t >= n {
            return true;
        }
        let (s, e) = offsets[t];
        let (ps, pe) = offsets[t - 1];
        s == e || ps == pe || s >= pe
    };
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    loop {
        let mut end = (start + max_tokens).min(n);
        while end > start && !cut_ok(end) {
            end -= 1;
        }
        if end == start {
            return Err(Error::Offset(format!(
                "token {start}: one character is split over more than {max_tokens} tokens"
            )));
        }
        spans.push((start, end));
        if end >= n {
            break;
        }
        let mut next = end.saturating_sub(stride).max(start + 1);
        while next < end && !cut_ok(next) {
            next += 1;
        }
        start = next;
    }
    let first_char = |t: usize| -> u32 {
        offsets[t..]
            .iter()
            .find(|(s, e)| s < e)
            .map_or(n_chars, |&(s, _)| s)
    };
    let last_char = |t: usize| -> u32 {
        offsets[..t]
            .iter()
            .rev()
            .find(|(s, e)| s < e)
            .map_or(0, |&(_, e)| e)
    };
    let k = spans.len();
    let mut out: Vec<Window> = spans
        .iter()
        .enumerate()
        .map(|(i, &(s, e))| Window {
            tok_start: s as u32,
            tok_end: e as u32,
            char_start: if i == 0 { 0 } else { first_char(s) },
            char_end: if i + 1 == k { n_chars } else { last_char(e) },
        })
        .collect();
    for i in 1..k {
        if out[i].char_start > out[i - 1].char_end {
            out[i - 1].char_end = out[i].char_start;
        }
    }
    Ok(out)
}

/// A span found in one window, in document code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpan {
    /// Index of the window it came from.
    pub window: u32,
    /// Label id.
    pub label: u32,
    /// Start (document code points).
    pub start: u32,
    /// End, exclusive.
    pub end: u32,
}

/// Merge spans found in overlapping windows into one list for the document.
///
/// Identical `(label, start, end)` spans found by several windows are one span. When spans
/// from different windows overlap without being identical, one of them was likely cut by a
/// window edge or seen without enough context: the one farther from its window's inner edges
/// (edges that are not the document's ends; distance in code points) is kept, ties keeping
/// both. Spans of the same window are never dropped (nested entities stay). Returns the kept
/// spans sorted by `(start, end, label)` and the number dropped as edge conflicts.
pub fn merge_window_spans(windows: &[Window], spans: &[WindowSpan]) -> (Vec<WindowSpan>, usize) {
    let n_chars = windows.last().map_or(0, |w| w.char_end);
    let margin = |s: &WindowSpan| -> u32 {
        let w = &windows[s.window as usize];
        let left = if w.char_start == 0 {
            u32::MAX
        } else {
            s.start.saturating_sub(w.char_start)
        };
        let right = if w.char_end >= n_chars {
            u32::MAX
        } else {
            w.char_end.saturating_sub(s.end)
        };
        left.min(right)
    };
    let mut v: Vec<WindowSpan> = spans.to_vec();
    v.sort_by_key(|s| (s.start, s.end, s.label, s.window));
    v.dedup_by(|b, a| (a.start, a.end, a.label) == (b.start, b.end, b.label));
    let mut keep = vec![true; v.len()];
    for i in 0..v.len() {
        for j in i + 1..v.len() {
            if v[j].start >= v[i].end {
                break;
            }
            if v[i].window == v[j].window {
                continue;
            }
            let (mi, mj) = (margin(&v[i]), margin(&v[j]));
            if mi > mj {
                keep[j] = false;
            } else if mj > mi {
                keep[i] = false;
            }
        }
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let out = v
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect();
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_policies() {
        // "在北京市" tokenized as 在北 | 京 | 市, plus a special token.
        let off = [(0, 0), (0, 2), (2, 3), (3, 4)];
        let spans = [(1, 3), (0, 3), (2, 4), (1, 2)];
        let s = char_to_token_spans(&off, &spans, TokenPolicy::Strict).unwrap();
        assert_eq!(s, vec![None, Some((1, 3)), Some((2, 4)), None]);
        let e = char_to_token_spans(&off, &spans, TokenPolicy::Expand).unwrap();
        assert_eq!(
            e,
            vec![Some((1, 3)), Some((1, 3)), Some((2, 4)), Some((1, 2))]
        );
        let c = char_to_token_spans(&off, &spans, TokenPolicy::Contract).unwrap();
        assert_eq!(c, vec![Some((2, 3)), Some((1, 3)), Some((2, 4)), None]);
        assert_eq!(
            token_to_char_spans(&off, &[(0, 2), (2, 4), (0, 1)]).unwrap(),
            vec![Some((0, 2)), Some((2, 4)), None]
        );
    }

    #[test]
    fn split_character_stays_whole() {
        // 龘 as two tokens sharing one character.
        let off = [(0, 1), (1, 2), (1, 2), (2, 3)];
        let s = char_to_token_spans(&off, &[(1, 2)], TokenPolicy::Strict).unwrap();
        assert_eq!(s, vec![Some((1, 3))]);
        let w = plan_windows(&off, 3, 2, 0).unwrap();
        assert_eq!(
            w.iter()
                .map(|w| (w.tok_start, w.tok_end))
                .collect::<Vec<_>>(),
            vec![(0, 1), (1, 3), (3, 4)]
        );
        assert_eq!(w[1].char_start, 1);
        assert_eq!(w[1].char_end, 2);
    }

    #[test]
    fn windows_cover_and_overlap() {
        let off: Vec<(u32, u32)> = (0..10).map(|i| (i * 2, i * 2 + 1)).collect(); // "a a a ..."
        let w = plan_windows(&off, 20, 4, 1).unwrap();
        assert_eq!(
            w.iter()
                .map(|w| (w.tok_start, w.tok_end))
                .collect::<Vec<_>>(),
            vec![(0, 4), (3, 7), (6, 10)]
        );
        assert_eq!((w[0].char_start, w[2].char_end), (0, 20));
        let w = plan_windows(&off, 20, 5, 0).unwrap();
        assert_eq!(w[0].char_end, w[1].char_start);
        assert!(plan_windows(&off, 20, 4, 4).is_err());
    }

    #[test]
    fn merging_prefers_the_span_away_from_edges() {
        let windows = [
            Window {
                tok_start: 0,
                tok_end: 10,
                char_start: 0,
                char_end: 10,
            },
            Window {
                tok_start: 6,
                tok_end: 16,
                char_start: 6,
                char_end: 16,
            },
        ];
        let spans = [
            WindowSpan {
                window: 0,
                label: 0,
                start: 8,
                end: 10,
            }, // cut by window 0's edge
            WindowSpan {
                window: 1,
                label: 0,
                start: 8,
                end: 12,
            },
            WindowSpan {
                window: 0,
                label: 1,
                start: 2,
                end: 4,
            },
            WindowSpan {
                window: 1,
                label: 1,
                start: 14,
                end: 15,
            },
            WindowSpan {
                window: 0,
                label: 2,
                start: 6,
                end: 7,
            },
            WindowSpan {
                window: 1,
                label: 2,
                start: 6,
                end: 7,
            },
        ];
        let (out, dropped) = merge_window_spans(&windows, &spans);
        assert_eq!(dropped, 1);
        assert_eq!(
            out.iter()
                .map(|s| (s.start, s.end, s.label))
                .collect::<Vec<_>>(),
            vec![(2, 4, 1), (6, 7, 2), (8, 12, 0), (14, 15, 1)]
        );
    }
}
