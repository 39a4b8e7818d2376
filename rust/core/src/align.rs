//! Entity strings -> character spans.
//!
//! A model that writes entity strings (not offsets) must have them mapped back to the input.
//! Each item is a `(surface, group)` pair in the order the model wrote it (for `iepile-json`
//! a group is one label's list). Every item goes through up to three stages, stopping at the
//! first that finds it:
//!
//! 1. **exact**: occurrences of the surface in the text (overlapping occurrences included);
//! 2. **normalised** (when [`AlignOptions::normalization`] asks for any): occurrences of the
//!    normalised surface in the normalised text ([`Normalized`]: NFKC, full/half width, case,
//!    whitespace), mapped back to the original text through the offset map; an occurrence
//!    whose ends cut what one original character became is not used;
//! 3. **fuzzy** (when [`AlignOptions::fuzzy`] is set): the substring of the (normalised) text
//!    with the least Levenshtein distance to the surface (Sellers, 1980: semi-global edit
//!    distance), accepted when its similarity `1 - distance / max(len surface, len match)`
//!    (in code points) is at least the threshold.
//!
//! Among the occurrences a stage finds, the [`Occurrence`] policy picks:
//!
//! * `First`: the leftmost occurrence (every repeat of a string gets the same span);
//! * `All`: every occurrence, scanned left to right without overlaps (one item -> many spans);
//! * `LeftToRight` (the default): the leftmost occurrence that overlaps no span already placed
//!   in the same group; when all are taken, the leftmost with status
//!   [`AlignStatus::Duplicate`];
//! * `NearestAfter`: the first occurrence starting at or after the end of the previously
//!   placed item (any group); when there is none, the last one starting before it.
//!
//! An item found by no stage (or empty) is [`AlignStatus::Ungrounded`] and gets no span.
//! Offsets are half-open code point offsets of the original text.

use memchr::memmem;
use rayon::prelude::*;

use crate::text::{Normalization, Normalized};

/// How an entity string was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlignStatus {
    /// Placed on an exact occurrence.
    Exact = 0,
    /// `LeftToRight`: every occurrence was already taken in its group; placed on the leftmost.
    Duplicate = 1,
    /// Not found in the text.
    Ungrounded = 2,
    /// Found after normalising text and surface.
    Normalized = 3,
    /// Found by approximate matching; see [`Aligned::score`].
    Fuzzy = 4,
}

/// Which occurrence an item is placed on (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Occurrence {
    /// The leftmost occurrence.
    First,
    /// Every non-overlapping occurrence.
    All,
    /// The leftmost occurrence free in the item's group.
    #[default]
    LeftToRight,
    /// The first occurrence at or after the previous item's end, else the last before it.
    NearestAfter,
}

impl Occurrence {
    /// Parse `"first"`, `"all"`, `"left-to-right"` or `"nearest-after"`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "first" => Ok(Self::First),
            "all" => Ok(Self::All),
            "left-to-right" => Ok(Self::LeftToRight),
            "nearest-after" => Ok(Self::NearestAfter),
            _ => Err(crate::Error::Shape(format!(
                "unknown occurrence policy {s:?} (expected 'first', 'all', 'left-to-right' or \
                 'nearest-after')"
            ))),
        }
    }
}

/// Options of [`align_doc`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AlignOptions {
    /// Which occurrence to use.
    pub occurrence: Occurrence,
    /// Normalisations of the second stage (none: the stage is skipped).
    pub normalization: Normalization,
    /// Least similarity of a fuzzy match in `(0, 1]`; `None` skips the fuzzy stage.
    pub fuzzy: Option<f32>,
}

/// One placement: half-open code point offsets (both 0 when ungrounded), a status and a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aligned {
    /// Index of the item (within its document for [`align_doc`], global for [`align_columns`]).
    pub item: u32,
    /// Start, in code points.
    pub start: u32,
    /// End (exclusive), in code points.
    pub end: u32,
    /// How the string was placed.
    pub status: AlignStatus,
    /// Similarity in `[0, 1]`: 1 unless fuzzy, 0 when ungrounded.
    pub score: f32,
}

/// Converts byte offsets of one text to code points, quickly for increasing offsets.
struct CharCounter<'a> {
    hay: &'a [u8],
    ascii: bool,
    last_b: usize,
    last_c: u32,
}

impl<'a> CharCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            hay: text.as_bytes(),
            ascii: text.is_ascii(),
            last_b: 0,
            last_c: 0,
        }
    }

    /// Code points in `hay[a..b]` (`a`, `b` character boundaries).
    fn count(&self, a: usize, b: usize) -> u32 {
        if self.ascii {
            return (b - a) as u32;
        }
        count_chars(&self.hay[a..b])
    }

    fn chars(&mut self, b: usize) -> u32 {
        if self.ascii {
            return b as u32;
        }
        if b < self.last_b {
            self.last_b = 0;
            self.last_c = 0;
        }
        self.last_c += self.count(self.last_b, b);
        self.last_b = b;
        self.last_c
    }
}

/// Code points in a UTF-8 byte string: bytes that are not continuation bytes (`10xxxxxx`),
/// counted eight at a time (SWAR).
#[inline]
fn count_chars(b: &[u8]) -> u32 {
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut cont = 0u32;
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // Bit 7 set and bit 6 clear.
        cont += (w & !(w << 1) & HI).count_ones();
    }
    cont += chunks
        .remainder()
        .iter()
        .map(|&x| u32::from(x & 0xC0 == 0x80))
        .sum::<u32>();
    b.len() as u32 - cont
}

/// First occurrence of `needle` (non-empty, last byte `last`) in `hay` starting at or after
/// `pos`: candidate ends are the bytes equal to `last`, found eight at a time (SWAR zero-byte
/// test; its rare false positives are rejected by the full comparison).
#[inline]
fn find_short(hay: &[u8], needle: &[u8], pos: usize, last: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let n = needle.len();
    let pattern = LO.wrapping_mul(u64::from(last));
    // A byte loop: needles are short, and a `memcmp` call costs more than the comparison.
    let check = |end: usize| -> bool {
        let cand = &hay[end - n..end];
        (0..n).all(|j| cand[j] == needle[j])
    };
    // Candidate last-byte positions run from pos + n - 1 to hay.len() - 1.
    let mut i = pos + n - 1;
    while i + 8 <= hay.len() {
        let w = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
        let x = w ^ pattern;
        let mut hits = x.wrapping_sub(LO) & !x & HI;
        while hits != 0 {
            let k = (hits.trailing_zeros() / 8) as usize;
            if check(i + k + 1) {
                return Some(i + k + 1 - n);
            }
            hits &= hits - 1;
        }
        i += 8;
    }
    while i < hay.len() {
        if hay[i] == last && check(i + 1) {
            return Some(i + 1 - n);
        }
        i += 1;
    }
    None
}

/// Byte occurrences of `needle` in `hay`, overlapping ones included, in increasing order.
///
/// Short haystacks (most sentences) are scanned for the needle's last byte with `memchr`
/// (a continuation byte for CJK, so few false hits) and checked in place; building a
/// `memmem::Finder` costs more than that scan. Long ones use the finder.
fn occurrences<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    const SHORT: usize = 256;
    let n = needle.len();
    let finder = (hay.len() > SHORT).then(|| memmem::Finder::new(needle));
    let last = needle[n - 1];
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if n == 0 || pos + n > hay.len() {
            return None;
        }
        let at = match &finder {
            Some(f) => pos + f.find(&hay[pos..])?,
            None => find_short(hay, needle, pos, last)?,
        };
        // Next candidate: the next character boundary after `at`.
        pos = at + 1;
        while pos < hay.len() && hay[pos] & 0xC0 == 0x80 {
            pos += 1;
        }
        Some(at)
    })
}

/// The aligner of one document: claimed spans and the cursor persist across items.
struct DocAligner<'a> {
    text: &'a str,
    opts: &'a AlignOptions,
    counter: CharCounter<'a>,
    norm: Option<Normalized>,
    norm_chars: Option<Vec<char>>,
    raw_chars: Option<Vec<char>>,
    /// `(group, start, end)` in code points, of exact/normalised/fuzzy placements.
    claimed: Vec<(u32, u32, u32)>,
    cursor: u32,
    /// Reused candidate buffer.
    buf: Vec<(u32, u32)>,
}

enum Pick {
    Free(u32, u32),
    Taken(u32, u32),
    None,
}

impl<'a> DocAligner<'a> {
    fn new(text: &'a str, opts: &'a AlignOptions) -> Self {
        Self {
            text,
            opts,
            counter: CharCounter::new(text),
            norm: None,
            norm_chars: None,
            raw_chars: None,
            claimed: Vec::new(),
            cursor: 0,
            buf: Vec::new(),
        }
    }

    /// Start over on another document, keeping the buffers.
    fn reset(&mut self, text: &'a str) {
        self.text = text;
        self.counter = CharCounter::new(text);
        self.norm = None;
        self.norm_chars = None;
        self.raw_chars = None;
        self.claimed.clear();
        self.cursor = 0;
    }

    fn is_free(&self, group: u32, s: u32, e: u32) -> bool {
        !self
            .claimed
            .iter()
            .any(|&(g, cs, ce)| g == group && s < ce && cs < e)
    }

    /// Apply the (single-span) policy to candidates in increasing order.
    fn pick(&mut self, group: u32, cands: &mut dyn Iterator<Item = (u32, u32)>) -> Pick {
        match self.opts.occurrence {
            Occurrence::First | Occurrence::All => match cands.next() {
                Some((s, e)) => Pick::Free(s, e),
                None => Pick::None,
            },
            Occurrence::LeftToRight => {
                let mut first = None;
                for (s, e) in cands {
                    first.get_or_insert((s, e));
                    if self.is_free(group, s, e) {
                        return Pick::Free(s, e);
                    }
                }
                match first {
                    Some((s, e)) => Pick::Taken(s, e),
                    None => Pick::None,
                }
            }
            Occurrence::NearestAfter => {
                let mut before = None;
                for (s, e) in cands {
                    if s >= self.cursor {
                        return Pick::Free(s, e);
                    }
                    before = Some((s, e));
                }
                match before {
                    Some((s, e)) => Pick::Free(s, e),
                    None => Pick::None,
                }
            }
        }
    }

    fn normalized(&mut self) -> &Normalized {
        if self.norm.is_none() {
            self.norm = Some(Normalized::new(self.text, &self.opts.normalization));
        }
        self.norm.as_ref().expect("set above")
    }

    /// Candidates of the exact stage, in code points, into `out`; stops at the first one the
    /// policy will surely pick (so a search rarely runs past what it needs).
    fn exact_cands(&mut self, surface: &str, group: u32, out: &mut Vec<(u32, u32)>) {
        let hay = self.text.as_bytes();
        for at in occurrences(hay, surface.as_bytes()) {
            let s = self.counter.chars(at);
            let e = s + self.counter.count(at, at + surface.len());
            out.push((s, e));
            let settled = match self.opts.occurrence {
                Occurrence::First => true,
                Occurrence::All => false,
                Occurrence::LeftToRight => self.is_free(group, s, e),
                Occurrence::NearestAfter => s >= self.cursor,
            };
            if settled {
                break;
            }
        }
    }

    /// Candidates of the normalised stage, in original code points, into `out`.
    fn normalized_cands(&mut self, surface: &str, out: &mut Vec<(u32, u32)>) {
        let needle = Normalized::string(surface, &self.opts.normalization);
        if needle.is_empty() {
            return;
        }
        let n = self.normalized();
        for at in occurrences(n.text.as_bytes(), needle.as_bytes()) {
            let s = n.byte_to_char[at] as usize;
            let e = n.byte_to_char[at + needle.len()] as usize;
            if let Some(span) = n.to_original(s, e) {
                out.push(span);
            }
        }
    }

    /// The best fuzzy match: `(start, end, score)` in original code points.
    fn fuzzy(&mut self, surface: &str, min_score: f32) -> Option<(u32, u32, f32)> {
        let use_norm = !self.opts.normalization.is_identity();
        let pat: Vec<char> = if use_norm {
            Normalized::string(surface, &self.opts.normalization)
                .chars()
                .collect()
        } else {
            surface.chars().collect()
        };
        if pat.is_empty() {
            return None;
        }
        let hay: &[char] = if use_norm {
            if self.norm_chars.is_none() {
                let c = self.normalized().text.chars().collect();
                self.norm_chars = Some(c);
            }
            self.norm_chars.as_deref().expect("set above")
        } else {
            if self.raw_chars.is_none() {
                self.raw_chars = Some(self.text.chars().collect());
            }
            self.raw_chars.as_deref().expect("set above")
        };
        let (s, e, score) = best_fuzzy(hay, &pat)?;
        if score < min_score {
            return None;
        }
        if use_norm {
            let n = self.norm.as_ref().expect("built above");
            Some((n.origin[s].0, n.origin[e - 1].1, score))
        } else {
            Some((s as u32, e as u32, score))
        }
    }

    /// Record a placement that claims its span in `group` and moves the cursor to its end.
    fn claim(&mut self, group: u32, placed: Aligned, out: &mut Vec<Aligned>) {
        self.claimed.push((group, placed.start, placed.end));
        self.cursor = placed.end;
        out.push(placed);
    }

    fn place(&mut self, item: u32, surface: &str, group: u32, out: &mut Vec<Aligned>) {
        let at = |start, end, status, score| Aligned {
            item,
            start,
            end,
            status,
            score,
        };
        if surface.is_empty() {
            out.push(at(0, 0, AlignStatus::Ungrounded, 0.0));
            return;
        }
        let normalize = !self.opts.normalization.is_identity();
        for status in [AlignStatus::Exact, AlignStatus::Normalized] {
            if status == AlignStatus::Normalized && !normalize {
                break;
            }
            let mut cands = std::mem::take(&mut self.buf);
            cands.clear();
            if status == AlignStatus::Exact {
                self.exact_cands(surface, group, &mut cands);
            } else {
                self.normalized_cands(surface, &mut cands);
            }
            let picked = if cands.is_empty() {
                Pick::None
            } else if self.opts.occurrence == Occurrence::All {
                let mut last_end = 0u32;
                for &(s, e) in &cands {
                    if s >= last_end {
                        out.push(at(s, e, status, 1.0));
                        last_end = e;
                    }
                }
                self.buf = cands;
                return;
            } else {
                self.pick(group, &mut cands.iter().copied())
            };
            self.buf = cands;
            match picked {
                Pick::Free(s, e) => return self.claim(group, at(s, e, status, 1.0), out),
                Pick::Taken(s, e) => return out.push(at(s, e, AlignStatus::Duplicate, 1.0)),
                Pick::None => {}
            }
        }
        if let Some(min) = self.opts.fuzzy {
            if let Some((s, e, score)) = self.fuzzy(surface, min) {
                return self.claim(group, at(s, e, AlignStatus::Fuzzy, score), out);
            }
        }
        out.push(at(0, 0, AlignStatus::Ungrounded, 0.0));
    }
}

/// The substring of `hay` closest to `pat` in Levenshtein distance: `(start, end, similarity)`.
///
/// Among substrings at the least distance `d` (found with Sellers' semi-global edit distance),
/// the one with the highest similarity `1 - d / max(len pat, len match)` wins, then the one
/// whose length is closest to the pattern's, then the leftmost. Lengths are in code points.
/// Returns `None` when `d >= len pat` (nothing in common).
pub fn best_fuzzy(hay: &[char], pat: &[char]) -> Option<(usize, usize, f32)> {
    let m = pat.len();
    if m == 0 || hay.is_empty() {
        return None;
    }
    // Sellers: column over the pattern, free start in the text; ends reaching the least d.
    let mut col: Vec<u32> = (0..=m as u32).collect();
    let mut d = u32::MAX;
    let mut ends: Vec<usize> = Vec::new();
    for (j, &c) in hay.iter().enumerate() {
        let mut diag = col[0];
        col[0] = 0;
        for i in 1..=m {
            let up = col[i];
            let sub = diag + u32::from(pat[i - 1] != c);
            let v = sub.min(up + 1).min(col[i - 1] + 1);
            diag = up;
            col[i] = v;
        }
        if col[m] < d {
            d = col[m];
            ends.clear();
        }
        if col[m] == d && ends.len() < 64 {
            ends.push(j + 1);
        }
    }
    if d as usize >= m {
        return None;
    }
    let mut best: Option<(usize, usize, f32)> = None;
    let key = |(s, e, score): (usize, usize, f32)| (score, std::cmp::Reverse((e - s).abs_diff(m)));
    for end in ends {
        // Reverse pass anchored at `end`: distance of pat to hay[end-k..end] for each k.
        let maxk = (m + d as usize).min(end);
        let mut prev: Vec<u32> = (0..=maxk as u32).collect();
        let mut cur = vec![0u32; maxk + 1];
        for i in 1..=m {
            let pc = pat[m - i];
            cur[0] = i as u32;
            for k in 1..=maxk {
                let tc = hay[end - k];
                cur[k] = (prev[k - 1] + u32::from(pc != tc))
                    .min(prev[k] + 1)
                    .min(cur[k - 1] + 1);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        for (k, &dist) in prev.iter().enumerate().skip(1) {
            if dist != d {
                continue;
            }
            let cand = (end - k, end, 1.0 - d as f32 / m.max(k) as f32);
            if best.is_none_or(|b| key(cand) > key(b)) {
                best = Some(cand);
            }
        }
    }
    best
}

/// Place `items` (`(surface, group)`, in model order) in `text` (module docs).
///
/// For every policy but [`Occurrence::All`] the result has one entry per item, in order;
/// with `All`, an item found `k` times has `k` entries (one if ungrounded).
pub fn align_doc(text: &str, items: &[(&str, u32)], opts: &AlignOptions) -> Vec<Aligned> {
    let mut a = DocAligner::new(text, opts);
    let mut out = Vec::with_capacity(items.len());
    for (i, &(surface, group)) in items.iter().enumerate() {
        a.place(i as u32, surface, group, &mut out);
    }
    out
}

/// Place `items` in `text` with the default policy (left to right, exact only).
pub fn align_left_to_right(text: &str, items: &[(&str, u32)]) -> Vec<Aligned> {
    align_doc(text, items, &AlignOptions::default())
}

/// [`align_doc`] over many documents in parallel.
pub fn align_batch(docs: &[(&str, Vec<(&str, u32)>)], opts: &AlignOptions) -> Vec<Vec<Aligned>> {
    docs.par_iter()
        .map(|(text, items)| align_doc(text, items, opts))
        .collect()
}

/// Columnar input: item `i` is `surfaces[i]` in `texts[doc[i]]`, in group `group[i]`.
///
/// Items of one document keep their relative order (model order); documents may interleave.
/// Returns placements in item order, `item` being the global item index.
///
/// # Errors
/// [`crate::Error::Shape`] when the columns differ in length or a document index is out of
/// range.
pub fn align_columns(
    texts: &[&str],
    surfaces: &[&str],
    doc: &[u32],
    group: Option<&[u32]>,
    opts: &AlignOptions,
) -> crate::Result<Vec<Aligned>> {
    let m = surfaces.len();
    if doc.len() != m || group.is_some_and(|g| g.len() != m) {
        return Err(crate::Error::Shape(format!(
            "{m} surfaces but {} document indices and {} groups",
            doc.len(),
            group.map_or(m, <[u32]>::len)
        )));
    }
    if let Some((i, &d)) = doc
        .iter()
        .enumerate()
        .find(|(_, &d)| d as usize >= texts.len())
    {
        return Err(crate::Error::Shape(format!(
            "item {i}: document index {d} but there are {} texts",
            texts.len()
        )));
    }
    // Item ranges per document: `order[starts[d]..starts[d + 1]]` are document d's items in
    // model order; `order` is the identity when the items come sorted by document (usual).
    let mut starts = vec![0usize; texts.len() + 1];
    for &d in doc {
        starts[d as usize + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let sorted = doc.windows(2).all(|w| w[0] <= w[1]);
    let order: Vec<u32> = if sorted {
        Vec::new()
    } else {
        let mut order = vec![0u32; m];
        let mut fill = starts.clone();
        for (i, &d) in doc.iter().enumerate() {
            order[fill[d as usize]] = i as u32;
            fill[d as usize] += 1;
        }
        order
    };
    let item_at = |k: usize| -> usize {
        if sorted {
            k
        } else {
            order[k] as usize
        }
    };
    // Documents in parallel chunks; one aligner and one result buffer per chunk.
    let chunks: Vec<Vec<Aligned>> = (0..texts.len())
        .into_par_iter()
        .with_min_len(256)
        .fold(
            // Boxed: the accumulator moves at every document.
            || (Vec::new(), Box::new(DocAligner::new("", opts))),
            |(mut out, mut a), d| {
                if starts[d] == starts[d + 1] {
                    return (out, a);
                }
                a.reset(texts[d]);
                for k in starts[d]..starts[d + 1] {
                    let i = item_at(k);
                    a.place(i as u32, surfaces[i], group.map_or(0, |g| g[i]), &mut out);
                }
                (out, a)
            },
        )
        .map(|(out, _)| out)
        .collect();
    let total: usize = chunks.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    for c in chunks {
        out.extend_from_slice(&c);
    }
    if !sorted {
        // Back to item order (stable: the rows of one item stay in text order with `All`).
        out.sort_by_key(|a| a.item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Whitespace;

    fn spans(r: &[Aligned]) -> Vec<(u32, u32, AlignStatus)> {
        r.iter().map(|a| (a.start, a.end, a.status)).collect()
    }

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

    #[test]
    fn policies() {
        let t = "北京和北京大学在北京";
        let items = [("北京", 0), ("北京", 0), ("北京", 0)];
        let o = |occurrence| AlignOptions {
            occurrence,
            ..Default::default()
        };
        let r = align_doc(t, &items, &o(Occurrence::First));
        assert!(r.iter().all(|a| (a.start, a.end) == (0, 2)));
        let r = align_doc(t, &items[..1], &o(Occurrence::All));
        assert_eq!(r.iter().map(|a| a.start).collect::<Vec<_>>(), vec![0, 3, 8]);
        let r = align_doc(
            t,
            &[("在北京", 0), ("北京", 0), ("和", 0)],
            &o(Occurrence::NearestAfter),
        );
        assert_eq!(spans(&r)[1], (8, 10, AlignStatus::Exact));
        // Nothing after the cursor: the last occurrence before it.
        assert_eq!(spans(&r)[2], (2, 3, AlignStatus::Exact));
    }

    #[test]
    fn normalised_and_fuzzy_stages() {
        let opts = AlignOptions {
            normalization: Normalization {
                nfkc: true,
                case: true,
                whitespace: Whitespace::Remove,
                ..Default::default()
            },
            fuzzy: Some(0.7),
            ..Default::default()
        };
        let t = "访问ＩＢＭ公司 和 北京 大学，以及清华大学附中";
        let r = align_doc(
            t,
            &[
                ("IBM公司", 0),
                ("北京大学", 0),
                ("清华大学附小", 0),
                ("上海", 0),
            ],
            &opts,
        );
        assert_eq!(spans(&r)[0], (2, 7, AlignStatus::Normalized));
        assert_eq!(spans(&r)[1], (10, 15, AlignStatus::Normalized));
        assert_eq!(spans(&r)[2], (18, 24, AlignStatus::Fuzzy));
        assert!((r[2].score - (1.0 - 1.0 / 6.0)).abs() < 1e-6);
        assert_eq!(r[3].status, AlignStatus::Ungrounded);
    }

    #[test]
    fn fuzzy_prefers_the_closest_substring() {
        let hay: Vec<char> = "xxabcdxx".chars().collect();
        let pat: Vec<char> = "abXd".chars().collect();
        assert_eq!(best_fuzzy(&hay, &pat), Some((2, 6, 0.75)));
        let pat: Vec<char> = "abd".chars().collect();
        let (s, e, _) = best_fuzzy(&hay, &pat).unwrap();
        assert_eq!((s, e), (2, 6));
    }

    #[test]
    fn columns_keep_item_order() {
        let texts = ["甲乙甲", "丙"];
        let r = align_columns(
            &texts,
            &["丙", "甲", "甲"],
            &[1, 0, 0],
            None,
            &AlignOptions::default(),
        )
        .unwrap();
        assert_eq!(
            r.iter().map(|a| (a.item, a.start)).collect::<Vec<_>>(),
            vec![(0, 0), (1, 0), (2, 2)]
        );
        assert!(align_columns(&texts, &["丙"], &[2], None, &AlignOptions::default()).is_err());
    }
}
