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

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use memchr::memmem;
use rayon::prelude::*;

use crate::mem::Block;
use crate::text::{CodePointBuf, CodePoints, Normalization, Normalized};

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

/// Haystacks longer than this (bytes) are searched with `memmem`, whose Two-Way fallback keeps
/// repetitive texts linear; shorter ones (sentences) with an SSE2 scan that costs nothing to
/// set up.
const LONG_HAYSTACK: usize = 2048;

/// The bytes of a slice of code units (native byte order).
#[inline]
fn unit_bytes<T: Unit>(s: &[T]) -> &[u8] {
    // SAFETY: `T` is `u8`, `u16` or `u32` (no padding, every byte initialised); the returned
    // slice covers exactly the same memory, and `u8` has alignment 1.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
}

#[inline]
fn eq_units<T: Eq>(a: &[T], b: &[T]) -> bool {
    // An index loop: needles are short, and a `memcmp` call costs more than the comparison.
    a.len() == b.len() && (0..a.len()).all(|k| a[k] == b[k])
}

/// Leftmost `i >= from` with `hay[i..i + needle.len()] == needle`, one position at a time.
#[inline]
fn scalar_find<T: Unit>(hay: &[T], needle: &[T], from: usize) -> Option<usize> {
    let n = needle.len();
    let mut i = from;
    while i + n <= hay.len() {
        if hay[i] == needle[0] && eq_units(&hay[i..i + n], needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A fixed-width code unit of [`CodePoints`]: `u8` (Latin-1), `u16` (UCS-2), `u32` (UCS-4).
trait Unit: Copy + Eq + Send + Sync + 'static {
    /// `c` as a unit, if it fits.
    fn from_cp(c: u32) -> Option<Self>;
    /// The units of `s` when it has this width.
    fn view<'a>(s: &CodePoints<'a>) -> Option<&'a [Self]>;
    /// [`scalar_find`] with a vectorised scan where the target has one.
    fn find_short(hay: &[Self], needle: &[Self], from: usize) -> Option<usize>;

    /// Leftmost occurrence of `needle` (non-empty) in `hay` starting at or after `from`.
    #[inline]
    fn find(hay: &[Self], needle: &[Self], from: usize) -> Option<usize> {
        let n = needle.len();
        if from + n > hay.len() {
            return None;
        }
        let w = std::mem::size_of::<Self>();
        if (hay.len() - from) * w <= LONG_HAYSTACK {
            return Self::find_short(hay, needle, from);
        }
        // Bytes through memmem; a match that straddles units is skipped.
        let (hb, nb) = (unit_bytes(hay), unit_bytes(needle));
        let mut pos = from * w;
        loop {
            let at = pos + memmem::find(&hb[pos..], nb)?;
            if at % w == 0 {
                return Some(at / w);
            }
            pos = at + 1;
        }
    }
}

/// SSE2 (part of every x86-64) scan: the first and last unit of the needle are compared at
/// 16 bytes of candidate positions at once, and only positions where both match are checked
/// in full.
macro_rules! sse2_find_short {
    ($t:ty, $set1:ident, $cmpeq:ident, $signed:ty) => {
        #[inline]
        fn find_short(hay: &[$t], needle: &[$t], from: usize) -> Option<usize> {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::x86_64::*;
                const LANES: usize = 16 / std::mem::size_of::<$t>();
                const BITS: u32 = std::mem::size_of::<$t>() as u32;
                let n = needle.len();
                let mut i = from;
                // SAFETY: SSE2 is part of the x86-64 baseline. The loads read
                // hay[i..i + LANES] and hay[i + n - 1..i + n - 1 + LANES], inside `hay` by the
                // loop condition (and for the last window, `j + n - 1 + LANES == hay.len()`).
                unsafe {
                    let vf = $set1(needle[0] as $signed);
                    let vl = $set1(needle[n - 1] as $signed);
                    while i + n - 1 + LANES <= hay.len() {
                        let a = _mm_loadu_si128(hay.as_ptr().add(i).cast());
                        let b = _mm_loadu_si128(hay.as_ptr().add(i + n - 1).cast());
                        let eq = _mm_and_si128($cmpeq(a, vf), $cmpeq(b, vl));
                        let mut mask = _mm_movemask_epi8(eq) as u32;
                        while mask != 0 {
                            let lane = (mask.trailing_zeros() / BITS) as usize;
                            if eq_units(&hay[i + lane..i + lane + n], needle) {
                                return Some(i + lane);
                            }
                            mask &= !(((1u32 << BITS) - 1) << (lane as u32 * BITS));
                        }
                        i += LANES;
                    }
                    // The last positions: one more window, ending at the end of `hay` and
                    // overlapping the ones scanned, with the lanes before `i` masked off.
                    if i + n <= hay.len() && hay.len() >= n - 1 + LANES {
                        let j = hay.len() - (n - 1) - LANES;
                        let a = _mm_loadu_si128(hay.as_ptr().add(j).cast());
                        let b = _mm_loadu_si128(hay.as_ptr().add(j + n - 1).cast());
                        let eq = _mm_and_si128($cmpeq(a, vf), $cmpeq(b, vl));
                        let seen = (1u32 << ((i - j) as u32 * BITS)) - 1;
                        let mut mask = _mm_movemask_epi8(eq) as u32 & !seen;
                        while mask != 0 {
                            let lane = (mask.trailing_zeros() / BITS) as usize;
                            if eq_units(&hay[j + lane..j + lane + n], needle) {
                                return Some(j + lane);
                            }
                            mask &= !(((1u32 << BITS) - 1) << (lane as u32 * BITS));
                        }
                        return None;
                    }
                }
                scalar_find(hay, needle, i)
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                scalar_find(hay, needle, from)
            }
        }
    };
}

/// The [`Unit`] impl of one width: its [`CodePoints`] variant and its SSE2 lane operations.
macro_rules! unit {
    ($t:ty, $variant:ident, $set1:ident, $cmpeq:ident, $signed:ty) => {
        impl Unit for $t {
            fn from_cp(c: u32) -> Option<Self> {
                <$t>::try_from(c).ok()
            }
            fn view<'a>(s: &CodePoints<'a>) -> Option<&'a [Self]> {
                match *s {
                    CodePoints::$variant(v) => Some(v),
                    _ => None,
                }
            }
            sse2_find_short!($t, $set1, $cmpeq, $signed);
        }
    };
}

unit!(u8, Latin1, _mm_set1_epi8, _mm_cmpeq_epi8, i8);
unit!(u16, Ucs2, _mm_set1_epi16, _mm_cmpeq_epi16, i16);
unit!(u32, Ucs4, _mm_set1_epi32, _mm_cmpeq_epi32, i32);

/// `surface` in the units of `T`: borrowed when the widths agree, else converted into `buf`;
/// `None` when a code point does not fit `T` (it cannot occur in a text of that width).
#[inline]
fn as_units<'b, T: Unit>(surface: CodePoints<'b>, buf: &'b mut Vec<T>) -> Option<&'b [T]> {
    if let Some(v) = T::view(&surface) {
        return Some(v);
    }
    buf.clear();
    for i in 0..surface.len() {
        buf.push(T::from_cp(surface.get(i))?);
    }
    Some(buf)
}

/// Byte offsets of the occurrences of `needle` (non-empty UTF-8) in `hay`, overlapping ones
/// included, in increasing order (matches of valid UTF-8 in valid UTF-8 start on character
/// boundaries).
fn occurrences<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let finder = memmem::Finder::new(needle);
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let at = pos + finder.find(hay.get(pos..)?)?;
        pos = at + 1;
        Some(at)
    })
}

/// The aligner of one document: claimed spans and the cursor persist across items.
struct DocAligner<'a> {
    text: CodePoints<'a>,
    opts: &'a AlignOptions,
    /// The text as UTF-8, for the lenient stages.
    utf8: Option<String>,
    norm: Option<Normalized>,
    norm_chars: Option<Vec<char>>,
    raw_chars: Option<Vec<char>>,
    /// `(group, start, end)` in code points, of exact/normalised/fuzzy placements.
    claimed: Vec<(u32, u32, u32)>,
    cursor: u32,
    /// Reused candidate buffer.
    buf: Vec<(u32, u32)>,
    /// Reused buffers of a surface converted to the text's width.
    scratch: (Vec<u8>, Vec<u16>, Vec<u32>),
}

enum Pick {
    Free(u32, u32),
    Taken(u32, u32),
    None,
}

impl<'a> DocAligner<'a> {
    fn new(text: CodePoints<'a>, opts: &'a AlignOptions) -> Self {
        Self {
            text,
            opts,
            utf8: None,
            norm: None,
            norm_chars: None,
            raw_chars: None,
            claimed: Vec::new(),
            cursor: 0,
            buf: Vec::new(),
            scratch: Default::default(),
        }
    }

    /// Start over on another document, keeping the buffers.
    fn reset(&mut self, text: CodePoints<'a>) {
        self.text = text;
        if self.utf8.is_some() {
            self.utf8 = None;
            self.norm = None;
            self.norm_chars = None;
            self.raw_chars = None;
        }
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

    /// The text as UTF-8 (built once per document, for the lenient stages).
    fn utf8(&mut self) -> &str {
        if self.utf8.is_none() {
            self.utf8 = Some(self.text.to_utf8());
        }
        self.utf8.as_deref().expect("set above")
    }

    fn normalized(&mut self) -> &Normalized {
        if self.norm.is_none() {
            let opts = self.opts;
            let norm = Normalized::new(self.utf8(), &opts.normalization);
            self.norm = Some(norm);
        }
        self.norm.as_ref().expect("set above")
    }

    /// The exact stage: place the item on an occurrence of `surface` (non-empty) under the
    /// policy, searching in the text's own width; false when there is none.
    fn place_exact(
        &mut self,
        item: u32,
        surface: CodePoints<'_>,
        group: u32,
        out: &mut Vec<Aligned>,
    ) -> bool {
        // The surface usually has the text's width and is searched as it is.
        match self.text {
            CodePoints::Latin1(hay) => {
                if let Some(nd) = u8::view(&surface) {
                    return self.place_found(item, hay, nd, group, out);
                }
            }
            CodePoints::Ucs2(hay) => {
                if let Some(nd) = u16::view(&surface) {
                    return self.place_found(item, hay, nd, group, out);
                }
            }
            CodePoints::Ucs4(hay) => {
                if let Some(nd) = u32::view(&surface) {
                    return self.place_found(item, hay, nd, group, out);
                }
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let placed = match self.text {
            CodePoints::Latin1(hay) => as_units(surface, &mut scratch.0)
                .is_some_and(|nd| self.place_found(item, hay, nd, group, out)),
            CodePoints::Ucs2(hay) => as_units(surface, &mut scratch.1)
                .is_some_and(|nd| self.place_found(item, hay, nd, group, out)),
            CodePoints::Ucs4(hay) => as_units(surface, &mut scratch.2)
                .is_some_and(|nd| self.place_found(item, hay, nd, group, out)),
        };
        self.scratch = scratch;
        placed
    }

    /// [`Self::place_exact`] once the needle is in the text's units (indices = code points).
    #[inline(always)]
    fn place_found<T: Unit>(
        &mut self,
        item: u32,
        hay: &[T],
        needle: &[T],
        group: u32,
        out: &mut Vec<Aligned>,
    ) -> bool {
        let len = needle.len();
        let exact = |start: usize| Aligned {
            item,
            start: start as u32,
            end: (start + len) as u32,
            status: AlignStatus::Exact,
            score: 1.0,
        };
        match self.opts.occurrence {
            Occurrence::First => {
                let Some(at) = T::find(hay, needle, 0) else {
                    return false;
                };
                self.claim(group, exact(at), out);
            }
            Occurrence::All => {
                let mut from = 0;
                let mut found = false;
                while let Some(at) = T::find(hay, needle, from) {
                    out.push(exact(at));
                    found = true;
                    from = at + len;
                }
                return found;
            }
            Occurrence::LeftToRight => {
                let mut from = 0;
                let mut first = None;
                while let Some(at) = T::find(hay, needle, from) {
                    let placed = exact(at);
                    if self.is_free(group, placed.start, placed.end) {
                        self.claim(group, placed, out);
                        return true;
                    }
                    first.get_or_insert(placed);
                    from = at + 1;
                }
                let Some(taken) = first else {
                    return false;
                };
                out.push(Aligned {
                    status: AlignStatus::Duplicate,
                    ..taken
                });
            }
            Occurrence::NearestAfter => {
                let at = match T::find(hay, needle, self.cursor as usize) {
                    Some(at) => at,
                    // None at or after the cursor: the last occurrence (all start before it).
                    None => {
                        let mut last = None;
                        let mut from = 0;
                        while let Some(at) = T::find(hay, needle, from) {
                            last = Some(at);
                            from = at + 1;
                        }
                        let Some(at) = last else {
                            return false;
                        };
                        at
                    }
                };
                self.claim(group, exact(at), out);
            }
        }
        true
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
        if use_norm && self.norm_chars.is_none() {
            let c = self.normalized().text.chars().collect();
            self.norm_chars = Some(c);
        }
        if !use_norm && self.raw_chars.is_none() {
            let c = self.utf8().chars().collect();
            self.raw_chars = Some(c);
        }
        let hay: &[char] = if use_norm {
            self.norm_chars.as_deref().expect("set above")
        } else {
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
        // Only left-to-right looks at claimed spans.
        if self.opts.occurrence == Occurrence::LeftToRight {
            self.claimed.push((group, placed.start, placed.end));
        }
        self.cursor = placed.end;
        out.push(placed);
    }

    fn place(&mut self, item: u32, surface: CodePoints<'_>, group: u32, out: &mut Vec<Aligned>) {
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
        if self.place_exact(item, surface, group, out) {
            return;
        }
        let lenient = !self.opts.normalization.is_identity() || self.opts.fuzzy.is_some();
        let surface = if lenient {
            surface.to_utf8()
        } else {
            String::new()
        };
        if !self.opts.normalization.is_identity() {
            let status = AlignStatus::Normalized;
            let mut cands = std::mem::take(&mut self.buf);
            cands.clear();
            self.normalized_cands(&surface, &mut cands);
            if self.opts.occurrence == Occurrence::All {
                let mut last_end = 0u32;
                let mut found = false;
                for &(s, e) in &cands {
                    if s >= last_end {
                        out.push(at(s, e, status, 1.0));
                        last_end = e;
                        found = true;
                    }
                }
                self.buf = cands;
                if found {
                    return;
                }
            } else {
                let picked = self.pick(group, &mut cands.iter().copied());
                self.buf = cands;
                match picked {
                    Pick::Free(s, e) => return self.claim(group, at(s, e, status, 1.0), out),
                    Pick::Taken(s, e) => {
                        return out.push(at(s, e, AlignStatus::Duplicate, 1.0));
                    }
                    Pick::None => {}
                }
            }
        }
        if let Some(min) = self.opts.fuzzy {
            if let Some((s, e, score)) = self.fuzzy(&surface, min) {
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
    let text = CodePointBuf::new(text);
    let mut a = DocAligner::new(text.as_code_points(), opts);
    let mut out = Vec::with_capacity(items.len());
    for (i, &(surface, group)) in items.iter().enumerate() {
        let surface = CodePointBuf::new(surface);
        a.place(i as u32, surface.as_code_points(), group, &mut out);
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

/// A column of strings that worker threads can read: the Python binding reads CPython's
/// string objects in place, Rust callers pass a slice of [`CodePoints`].
pub trait StrColumn: Sync {
    /// Number of strings.
    fn len(&self) -> usize;
    /// Whether the column is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// String `i` (`i < len`).
    fn get(&self, i: usize) -> CodePoints<'_>;
    /// A hint that string `i` (any index; out of range is ignored) is read soon: columns whose
    /// strings live apart (one heap object each) start loading it into the cache.
    #[inline]
    fn prefetch(&self, _i: usize) {}
}

/// Items ahead of the one being placed whose surface [`StrColumn::prefetch`] is asked for.
const PREFETCH_AHEAD: usize = 8;

impl StrColumn for [CodePoints<'_>] {
    fn len(&self) -> usize {
        <[CodePoints<'_>]>::len(self)
    }
    fn get(&self, i: usize) -> CodePoints<'_> {
        self[i]
    }
}

/// The placements of [`align_code_points`] as columns (numpy-ready: `int64` offsets), in
/// one [`Block`] (on huge pages when large), so that a million rows cost a few page faults.
///
/// Columns: `item` (global item index of each row; empty when the rows are exactly the items
/// in order, as with every policy but [`Occurrence::All`]), `start` and `end` (half-open, in
/// code points; 0 when ungrounded), `status` ([`AlignStatus`] as its `u8` value) and `score`
/// (similarity in `[0, 1]`: 1 unless fuzzy, 0 when ungrounded).
pub struct Placements {
    block: Block,
    rows: usize,
    with_item: bool,
}

/// Byte offsets of the columns in a [`Placements`] block of `n` rows: item, start, end, score,
/// status (every offset a multiple of 8 but the last, whose type is `u8`).
fn column_offsets(n: usize, with_item: bool) -> [usize; 6] {
    let item = 0;
    let start = if with_item { n * 8 } else { 0 };
    let end = start + n * 8;
    let score = end + n * 8;
    let status = score + n * 4;
    [item, start, end, score, status, status + n]
}

impl Placements {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// A column of `n` values of `T` at byte offset `at`.
    fn column<T>(&self, at: usize, n: usize) -> &[T] {
        // SAFETY: `column_offsets` places the column inside the block at an offset aligned for
        // `T` (the block is 64-byte aligned), and `write_parallel` initialised every value.
        unsafe { std::slice::from_raw_parts(self.block.as_ptr().add(at).cast::<T>(), n) }
    }

    /// Global item index of each row; empty when the rows are the items in order.
    pub fn item(&self) -> &[i64] {
        let n = if self.with_item { self.rows } else { 0 };
        self.column(column_offsets(self.rows, self.with_item)[0], n)
    }

    /// Start of each row, in code points (0 when ungrounded).
    pub fn start(&self) -> &[i64] {
        self.column(column_offsets(self.rows, self.with_item)[1], self.rows)
    }

    /// End (exclusive) of each row, in code points (0 when ungrounded).
    pub fn end(&self) -> &[i64] {
        self.column(column_offsets(self.rows, self.with_item)[2], self.rows)
    }

    /// Similarity of each row in `[0, 1]`: 1 unless fuzzy, 0 when ungrounded.
    pub fn score(&self) -> &[f32] {
        self.column(column_offsets(self.rows, self.with_item)[3], self.rows)
    }

    /// [`AlignStatus`] of each row as its `u8` value.
    pub fn status(&self) -> &[u8] {
        self.column(column_offsets(self.rows, self.with_item)[4], self.rows)
    }

    /// Row `r` as an [`Aligned`].
    pub fn row(&self, r: usize) -> Aligned {
        let status = match self.status()[r] {
            0 => AlignStatus::Exact,
            1 => AlignStatus::Duplicate,
            2 => AlignStatus::Ungrounded,
            3 => AlignStatus::Normalized,
            _ => AlignStatus::Fuzzy,
        };
        Aligned {
            item: if self.with_item {
                self.item()[r] as u32
            } else {
                r as u32
            },
            start: self.start()[r] as u32,
            end: self.end()[r] as u32,
            status,
            score: self.score()[r],
        }
    }

    /// Every row as an [`Aligned`].
    pub fn rows(&self) -> impl Iterator<Item = Aligned> + '_ {
        (0..self.len()).map(|r| self.row(r))
    }

    /// `n` rows written in parallel: `fill` gets the columns' unwritten memory cut into
    /// consecutive [`RowsMut`] of the given sizes (summing to `n`; `item` slices are empty
    /// unless `with_item`) and must write every row exactly once.
    ///
    /// # Panics
    /// When `fill` wrote fewer or more rows than `n` (no column then exposes unwritten rows).
    fn write_parallel(
        n: usize,
        with_item: bool,
        sizes: impl Iterator<Item = usize>,
        fill: impl FnOnce(Vec<RowsMut<'_>>),
    ) -> Self {
        let offsets = column_offsets(n, with_item);
        let block = Block::new(offsets[5]);
        let written = AtomicUsize::new(0);
        {
            let base = block.as_ptr();
            let m = if with_item { n } else { 0 };
            // SAFETY: the five columns are disjoint ranges of the block (`column_offsets`),
            // each aligned for its type (offsets are multiples of 8, the block 64-aligned); the
            // block outlives this scope and nothing else reads or writes it meanwhile.
            let (mut it, mut st, mut en, mut sc, mut sa) = unsafe {
                (
                    uninit::<i64>(base, offsets[0], m),
                    uninit::<i64>(base, offsets[1], n),
                    uninit::<i64>(base, offsets[2], n),
                    uninit::<f32>(base, offsets[3], n),
                    uninit::<u8>(base, offsets[4], n),
                )
            };
            let mut parts = Vec::new();
            for k in sizes {
                let (i, rest) = std::mem::take(&mut it).split_at_mut(if with_item { k } else { 0 });
                it = rest;
                let (a, rest) = std::mem::take(&mut st).split_at_mut(k);
                st = rest;
                let (b, rest) = std::mem::take(&mut en).split_at_mut(k);
                en = rest;
                let (d, rest) = std::mem::take(&mut sc).split_at_mut(k);
                sc = rest;
                let (c, rest) = std::mem::take(&mut sa).split_at_mut(k);
                sa = rest;
                parts.push(RowsMut {
                    item: i,
                    start: a,
                    end: b,
                    status: c,
                    score: d,
                    count: 0,
                    written: &written,
                });
            }
            fill(parts);
        }
        // Every row lies in exactly one part and a part's rows are written at distinct
        // offsets (one per item, or one part's rows in order), so the count proves coverage.
        assert_eq!(written.into_inner(), n, "every output row written once");
        Self {
            block,
            rows: n,
            with_item,
        }
    }

    fn from_rows(rows: &[Aligned], identity: bool) -> Self {
        let n = rows.len();
        Self::write_parallel(n, !identity, std::iter::once(n), |parts| {
            for mut p in parts {
                p.write(0, rows);
            }
        })
    }
}

/// `n` uninitialised values of `T` at byte offset `at` of `base`.
///
/// # Safety
/// The range lies inside one live allocation, aligned for `T`, and is not otherwise borrowed
/// for `'a`.
unsafe fn uninit<'a, T>(base: *mut u8, at: usize, n: usize) -> &'a mut [MaybeUninit<T>] {
    // SAFETY: as the caller guarantees.
    unsafe { std::slice::from_raw_parts_mut(base.add(at).cast::<MaybeUninit<T>>(), n) }
}

impl std::fmt::Debug for Placements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placements")
            .field("item", &self.item())
            .field("start", &self.start())
            .field("end", &self.end())
            .field("status", &self.status())
            .field("score", &self.score())
            .finish()
    }
}

/// Consecutive unwritten rows of [`Placements`] (one task's share of the output), the rows it
/// wrote, and the shared count of rows written (added to once, when it is dropped: an atomic
/// add per document had both cores' tasks bouncing one cache line half a million times a
/// call).
struct RowsMut<'a> {
    item: &'a mut [MaybeUninit<i64>],
    start: &'a mut [MaybeUninit<i64>],
    end: &'a mut [MaybeUninit<i64>],
    status: &'a mut [MaybeUninit<u8>],
    score: &'a mut [MaybeUninit<f32>],
    count: usize,
    written: &'a AtomicUsize,
}

impl RowsMut<'_> {
    /// Write `rows` from row `at` on (`item` only when these slices carry it).
    #[inline]
    fn write(&mut self, at: usize, rows: &[Aligned]) {
        let n = rows.len();
        if !self.item.is_empty() {
            for (d, r) in self.item[at..at + n].iter_mut().zip(rows) {
                d.write(i64::from(r.item));
            }
        }
        let cols = self.start[at..at + n]
            .iter_mut()
            .zip(&mut self.end[at..at + n])
            .zip(&mut self.status[at..at + n])
            .zip(&mut self.score[at..at + n]);
        for ((((start, end), status), score), r) in cols.zip(rows) {
            start.write(i64::from(r.start));
            end.write(i64::from(r.end));
            status.write(r.status as u8);
            score.write(r.score);
        }
        self.count += n;
    }
}

impl Drop for RowsMut<'_> {
    fn drop(&mut self) {
        self.written.fetch_add(self.count, Ordering::Relaxed);
    }
}

/// [`align_code_points`] over UTF-8 strings (converted to code points first).
///
/// # Errors
/// As [`align_code_points`].
pub fn align_columns(
    texts: &[&str],
    surfaces: &[&str],
    doc: &[u32],
    group: Option<&[u32]>,
    opts: &AlignOptions,
) -> crate::Result<Placements> {
    let t: Vec<CodePointBuf> = texts.par_iter().map(|t| CodePointBuf::new(t)).collect();
    let s: Vec<CodePointBuf> = surfaces.par_iter().map(|s| CodePointBuf::new(s)).collect();
    let t: Vec<CodePoints<'_>> = t.iter().map(CodePointBuf::as_code_points).collect();
    let s: Vec<CodePoints<'_>> = s.iter().map(CodePointBuf::as_code_points).collect();
    align_code_points(&t[..], &s[..], doc, group, opts)
}

/// Items per parallel task of [`align_code_points`] (whole documents; at least this many).
const TASK_ITEMS: usize = 4096;

/// Columnar input: item `i` is `surfaces[i]` in `texts[doc[i]]`, in group `group[i]`.
///
/// Strings are fixed-width code points (Python's own layout, read in place by the binding);
/// the exact stage searches them in the text's width, so offsets are code point indices with
/// no conversion. The lenient stages work on UTF-8 copies.
///
/// Items of one document keep their relative order (model order); documents may interleave.
/// Returns placements in item order. When `doc` is sorted and the policy places one row per
/// item, documents run in parallel tasks that write straight into the output columns.
///
/// # Errors
/// [`crate::Error::Shape`] when the columns differ in length or a document index is out of
/// range.
pub fn align_code_points<T: StrColumn + ?Sized, S: StrColumn + ?Sized>(
    texts: &T,
    surfaces: &S,
    doc: &[u32],
    group: Option<&[u32]>,
    opts: &AlignOptions,
) -> crate::Result<Placements> {
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
    let group_of = |i: usize| group.map_or(0, |g| g[i]);
    let sorted = doc.windows(2).all(|w| w[0] <= w[1]);
    if sorted {
        return Ok(align_sorted(texts, surfaces, doc, group, opts));
    }
    // Item ranges per document: `order[starts[d]..starts[d + 1]]` are document d's items in
    // model order.
    let mut starts = vec![0usize; texts.len() + 1];
    for &d in doc {
        starts[d as usize + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut order = vec![0u32; m];
    let mut fill = starts.clone();
    for (i, &d) in doc.iter().enumerate() {
        order[fill[d as usize]] = i as u32;
        fill[d as usize] += 1;
    }
    // Documents in parallel chunks; one aligner and one result buffer per chunk.
    let chunks: Vec<Vec<Aligned>> = (0..texts.len())
        .into_par_iter()
        .with_min_len(256)
        .fold(
            // Boxed: the accumulator moves at every document.
            || {
                (
                    Vec::new(),
                    Box::new(DocAligner::new(CodePoints::Latin1(&[]), opts)),
                )
            },
            |(mut out, mut a), d| {
                if starts[d] == starts[d + 1] {
                    return (out, a);
                }
                a.reset(texts.get(d));
                for &i in &order[starts[d]..starts[d + 1]] {
                    let i = i as usize;
                    a.place(i as u32, surfaces.get(i), group_of(i), &mut out);
                }
                (out, a)
            },
        )
        .map(|(out, _)| out)
        .collect();
    let mut out: Vec<Aligned> = chunks.concat();
    // Back to item order (stable: the rows of one item stay in text order with `All`).
    out.sort_by_key(|a| a.item);
    let identity = out.len() == m && out.iter().enumerate().all(|(i, a)| a.item as usize == i);
    Ok(Placements::from_rows(&out, identity))
}

/// Task boundaries for `doc` sorted: at document changes, every [`TASK_ITEMS`] items or more.
fn task_bounds(doc: &[u32]) -> Vec<usize> {
    let m = doc.len();
    let mut bounds = vec![0usize];
    let mut k = TASK_ITEMS;
    while k < m {
        while k < m && doc[k] == doc[k - 1] {
            k += 1;
        }
        if k < m {
            bounds.push(k);
        }
        k += TASK_ITEMS;
    }
    bounds.push(m);
    bounds
}

/// Place the items `lo..hi` (whole documents, `doc` sorted) with one aligner, calling `emit`
/// with each document's first item and rows.
fn align_range<T: StrColumn + ?Sized, S: StrColumn + ?Sized>(
    texts: &T,
    surfaces: &S,
    doc: &[u32],
    group: Option<&[u32]>,
    opts: &AlignOptions,
    (lo, hi): (usize, usize),
    mut emit: impl FnMut(usize, &[Aligned]),
) {
    let mut a = DocAligner::new(CodePoints::Latin1(&[]), opts);
    let mut rows = Vec::new();
    let mut i = lo;
    while i < hi {
        let d = doc[i];
        a.reset(texts.get(d as usize));
        rows.clear();
        let first = i;
        while i < hi && doc[i] == d {
            surfaces.prefetch(i + PREFETCH_AHEAD);
            if let Some(&ahead) = doc.get(i + PREFETCH_AHEAD) {
                texts.prefetch(ahead as usize);
            }
            a.place(
                i as u32,
                surfaces.get(i),
                group.map_or(0, |g| g[i]),
                &mut rows,
            );
            i += 1;
        }
        emit(first, &rows);
    }
}

/// [`align_code_points`] for `doc` sorted: tasks of whole documents in parallel. With one row
/// per item (every policy but `All`) each task writes straight into its slices of the output
/// columns; with `All` the tasks' rows are concatenated in order.
fn align_sorted<T: StrColumn + ?Sized, S: StrColumn + ?Sized>(
    texts: &T,
    surfaces: &S,
    doc: &[u32],
    group: Option<&[u32]>,
    opts: &AlignOptions,
) -> Placements {
    let m = doc.len();
    let bounds = task_bounds(doc);
    // One task: the items of window `w` (whole documents), each document's rows to `emit`.
    let run = |w: &[usize], emit: &mut dyn FnMut(usize, &[Aligned])| {
        align_range(texts, surfaces, doc, group, opts, (w[0], w[1]), emit);
    };
    if opts.occurrence == Occurrence::All {
        // Each task collects its rows; then, with the row counts known, the tasks write them
        // into their ranges of the output columns.
        let parts: Vec<Vec<Aligned>> = bounds
            .par_windows(2)
            .map(|w| {
                let mut part = Vec::with_capacity((w[1] - w[0]) * 5 / 4);
                run(w, &mut |_, rows| part.extend_from_slice(rows));
                part
            })
            .collect();
        let n = parts.iter().map(Vec::len).sum();
        // Every item has at least one row, so `n == m` means exactly one each, in order.
        return Placements::write_parallel(n, n != m, parts.iter().map(Vec::len), |outs| {
            outs.into_par_iter()
                .zip(parts.par_iter())
                .for_each(|(mut out, part)| out.write(0, part));
        });
    }
    Placements::write_parallel(m, false, bounds.windows(2).map(|w| w[1] - w[0]), |outs| {
        outs.into_par_iter()
            .zip(bounds.par_windows(2))
            .for_each(|(mut out, w)| {
                // One row per item, in item order.
                run(w, &mut |first, rows| out.write(first - w[0], rows));
            });
    })
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
    fn large_columns_are_written_in_full() {
        // Over 4 MiB per offset column: the output is written into unzeroed capacity advised
        // onto huge pages, by many parallel tasks.
        let texts: Vec<String> = (0..40_000).map(|d| format!("{d}号甲乙{d}甲")).collect();
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        let surfaces = ["甲", "乙", "丁", "号"];
        let (mut s, mut doc) = (Vec::new(), Vec::new());
        for d in 0..t.len() as u32 {
            for k in 0..15 {
                s.push(surfaces[(d as usize + k) % 4]);
                doc.push(d);
            }
        }
        for occurrence in [Occurrence::LeftToRight, Occurrence::All] {
            let opts = AlignOptions {
                occurrence,
                ..Default::default()
            };
            let cols = align_columns(&t, &s, &doc, None, &opts).unwrap();
            let mut want = Vec::new();
            let mut at = 0;
            for text in &t {
                let items: Vec<(&str, u32)> = s[at..at + 15].iter().map(|&x| (x, 0)).collect();
                want.extend(align_doc(text, &items, &opts).into_iter().map(|mut a| {
                    a.item += at as u32;
                    a
                }));
                at += 15;
            }
            assert!(cols.len() >= 600_000);
            assert_eq!(cols.rows().collect::<Vec<_>>(), want, "{occurrence:?}");
        }
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
            r.rows().map(|a| (a.item, a.start)).collect::<Vec<_>>(),
            vec![(0, 0), (1, 0), (2, 2)]
        );
        assert!(align_columns(&texts, &["丙"], &[2], None, &AlignOptions::default()).is_err());
    }
}
