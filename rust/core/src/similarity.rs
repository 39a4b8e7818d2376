//! Text similarity between generated outputs and reference outputs: ROUGE-1, ROUGE-2 and
//! ROUGE-L as `rouge-chinese` 1.0.3 computes them, and BLEU-4 as nltk's `sentence_bleu` with
//! uniform weights and `SmoothingFunction().method3`, reproduced to the last bit.
//!
//! # ROUGE (`rouge-chinese` 1.0.3, `Rouge().get_scores(hyp, ref)`)
//!
//! The inputs are strings of space-separated tokens. Each string is first cut into
//! "sentences" ([`cut_sentences`]): a line break is inserted after `。！？?` (unless a closing
//! quote `”’` follows), after six dots `......` and after two ellipses `……` (same condition),
//! and after a stop followed by a closing quote (unless `，。！？?` follows); trailing
//! whitespace is removed and the text is split at line breaks. Empty pieces are dropped; the
//! others have their whitespace runs collapsed. The words are the space-separated tokens of all
//! sentences in order, where a piece made only of whitespace contributes one empty word `""`
//! ([`rouge_words`]). A string without any sentence (empty or only whitespace) makes
//! `rouge-chinese` raise `ValueError`; here it is `None`.
//!
//! * ROUGE-N counts *distinct* n-grams (`exclusive=True`, n-grams are sets): P = |H ∩ R| / |H|,
//!   R = |H ∩ R| / |R| (0.0 when a set is empty), with the n-grams of the whole word list (they
//!   run across sentence breaks).
//! * ROUGE-L is the longest common subsequence of the two whole word lists (not the union LCS
//!   of the summary-level definition): P = LCS / |hyp words|, R = LCS / |ref words|.
//! * F = 2 · (P·R) / (P + R + 1e-8), evaluated in that order.
//!
//! # BLEU-4 (nltk `sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method3)`)
//!
//! Modified n-gram precisions p_n = clipped matches / max(1, number of hypothesis n-grams) for
//! n = 1..4 against one reference. BLEU is 0 when there is no unigram match (so also for an
//! empty hypothesis). Otherwise each p_n with no match becomes 1 / (2^k · denominator), k = 1
//! for the first such n and then 2, 3; BLEU = BP · exp(fsum(0.25 · ln p_n)) with `math.fsum`'s
//! correctly rounded sum ([`fsum`]), and BP = 1 if the hypothesis is longer than the reference,
//! else exp(1 − |ref| / |hyp|).
//!
//! # Presets
//!
//! See [`Preset`]: the conventions of LLaMA-Factory's `ComputeSimilarity`, of DeepKE's
//! `RougeMetric`, and nerlm's own character and word levels. Words are Python jieba 0.42.1's
//! `jieba.cut(text)`, computed by `jieba-rs` with two compatibility adjustments
//! ([`cut_words`]). Rounding and averaging over examples are left to the
//! caller; [`py_round`] is Python's `round(x, ndigits)`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;

use jieba_rs::Jieba;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Python's `str.isspace()` (the separators of `str.split()` and `str.strip()`): Unicode
/// `White_Space` plus the ASCII information separators U+001C..U+001F.
#[inline]
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// True when `s` has no character other than Python whitespace (so `s.split()` is empty).
#[inline]
pub fn is_blank(s: &str) -> bool {
    s.chars().all(is_py_space)
}

/// The process-wide `jieba-rs` segmenter with its default dictionary (loaded once, ~0.2 s).
///
/// Python jieba 0.42.1's `dict.txt` lists `B超` twice and its loader adds both frequencies to
/// the dictionary total, which is the denominator of every word probability; `jieba-rs`'s copy
/// lists it once. The missing 3 is added to the total here through an entry that no text can
/// match (it contains U+0000, which never occurs inside a word block), so that route scores,
/// and therefore near-ties between routes, are the same as in Python. (On CLUENER's 12,091 dev
/// and train texts the pad changes no segmentation; it is there for exactness, not for a
/// measured case.)
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut j = Jieba::new();
        j.add_word(DICT_TOTAL_PAD, Some(3), None);
        j
    })
}

/// Dictionary entry that only pads the frequency total (see [`jieba`]).
const DICT_TOTAL_PAD: &str = "\u{0}nerlm-total-pad";

/// CJK ideographs that `jieba-rs` keeps inside word blocks but Python jieba's block pattern
/// `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]` leaves out (Python jieba emits each as a word).
#[inline]
fn is_cjk_outside_python_blocks(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{9FD6}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2EBEF}'
        | '\u{2F800}'..='\u{2FA1F}'
    )
}

/// Python jieba's HMM stage on a non-CJK run: `re.split("([a-zA-Z0-9]+(?:\.\d+)?%?)", run)`
/// without the empty strings, i.e. the matches and the gaps between them, in order.
fn python_skip_split<'a>(run: &'a str, out: &mut Vec<&'a str>) {
    let b = run.as_bytes();
    let (mut pos, mut gap) = (0, 0);
    while pos < b.len() {
        if !b[pos].is_ascii_alphanumeric() {
            pos += 1;
            continue;
        }
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_alphanumeric() {
            pos += 1;
        }
        if pos + 1 < b.len() && b[pos] == b'.' && b[pos + 1].is_ascii_digit() {
            pos += 1;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
        }
        if pos < b.len() && b[pos] == b'%' {
            pos += 1;
        }
        if gap < start {
            out.push(&run[gap..start]);
        }
        out.push(&run[start..pos]);
        gap = pos;
    }
    if gap < b.len() {
        out.push(&run[gap..]);
    }
}

/// `jieba-rs` on a text without the characters of [`is_cjk_outside_python_blocks`], with the
/// HMM stage's alphanumeric runs split as Python jieba splits them.
fn cut_piece<'a>(piece: &'a str, out: &mut Vec<&'a str>) {
    for token in jieba().cut(piece, true) {
        let w = token.word;
        // No dictionary word contains `.`, `_` or `-`, so a word with one of them and an ASCII
        // alphanumeric comes from the HMM stage, which `jieba-rs` 0.11 joins across these
        // connectors (`K-1`, `v1.2.3`, `7.90M`) where Python jieba only joins `.digits`.
        let connected = w.len() > 1
            && w.bytes().any(|c| matches!(c, b'.' | b'_' | b'-'))
            && w.bytes().any(|c| c.is_ascii_alphanumeric());
        if connected {
            python_skip_split(w, out);
        } else {
            out.push(w);
        }
    }
}

/// `list(jieba.cut(text))` of Python jieba 0.42.1 (accurate mode with HMM): the words of
/// `text`, whitespace included (each whitespace character is a word, `\r\n` is one word).
///
/// The segmentation is `jieba-rs`'s ([`jieba`]) with two adjustments where it departs from
/// Python jieba: CJK ideographs outside U+4E00..U+9FD5 (extensions, compatibility ideographs,
/// U+9FD6..U+9FFF) end a word block and are words of their own, and runs of ASCII letters and
/// digits that the HMM stage sees are split with Python jieba's pattern
/// `[a-zA-Z0-9]+(?:\.\d+)?%?` (so `K-1` is `K`, `-`, `1` and `7.90M` is `7.90`, `M`).
///
/// On CLUENER, `jieba-rs` alone differs from Python jieba on 28 of the 1,343 dev texts and 240
/// of the 10,748 train texts, all through the second cause; with the adjustments, none differ.
pub fn cut_words(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / 4 + 1);
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if is_cjk_outside_python_blocks(c) {
            if start < i {
                cut_piece(&text[start..i], &mut out);
            }
            start = i + c.len_utf8();
            out.push(&text[i..start]);
        }
    }
    if start < text.len() {
        cut_piece(&text[start..], &mut out);
    }
    out
}

/// [`cut_words`] over many texts, in parallel.
pub fn cut_words_batch<S: AsRef<str> + Sync>(texts: &[S]) -> Vec<Vec<&str>> {
    texts.par_iter().map(|t| cut_words(t.as_ref())).collect()
}

const STOPS: [char; 4] = ['。', '！', '？', '?'];
const CLOSING_QUOTES: [char; 2] = ['”', '’'];
const NO_BREAK_AFTER_QUOTE: [char; 5] = ['，', '。', '！', '？', '?'];

/// One `re.sub(f"({head})({tail})", r"\1\n\2", text)` with a fixed-length head: scanning left
/// to right, each non-overlapping match gets a line break between head and tail.
fn break_after(
    src: &[char],
    dst: &mut Vec<char>,
    head_len: usize,
    head: impl Fn(&[char]) -> bool,
    tail: impl Fn(char) -> bool,
) {
    dst.clear();
    let mut i = 0;
    while i < src.len() {
        if i + head_len < src.len() && head(&src[i..i + head_len]) && tail(src[i + head_len]) {
            dst.extend_from_slice(&src[i..i + head_len]);
            dst.push('\n');
            dst.push(src[i + head_len]);
            i += head_len + 1;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// `rouge-chinese`'s `Rouge.cut_sent` before its final `rstrip().split("\n")`: the four
/// regular-expression substitutions that insert line breaks after sentence ends.
pub fn cut_sentences(text: &str) -> Cow<'_, str> {
    let may_break = text.contains(|c| STOPS.contains(&c) || c == '…') || text.contains("......");
    if !may_break {
        return Cow::Borrowed(text);
    }
    let not_quote = |c: char| !CLOSING_QUOTES.contains(&c);
    let mut a: Vec<char> = text.chars().collect();
    let mut b = Vec::with_capacity(a.len() + 8);
    // ([。！？\?])([^”’])
    break_after(&a, &mut b, 1, |h| STOPS.contains(&h[0]), not_quote);
    // (\.{6})([^”’])
    break_after(&b, &mut a, 6, |h| h.iter().all(|&c| c == '.'), not_quote);
    // (\…{2})([^”’])
    break_after(&a, &mut b, 2, |h| h.iter().all(|&c| c == '…'), not_quote);
    // ([。！？\?][”’])([^，。！？\?])
    break_after(
        &b,
        &mut a,
        2,
        |h| STOPS.contains(&h[0]) && CLOSING_QUOTES.contains(&h[1]),
        |c| !NO_BREAK_AFTER_QUOTE.contains(&c),
    );
    Cow::Owned(a.into_iter().collect())
}

/// The word list `rouge-chinese` scores for a text already passed through [`cut_sentences`],
/// or `None` when the text has no sentence (`rouge-chinese` raises `ValueError`).
pub fn rouge_words(prepared: &str) -> Option<Vec<&str>> {
    let trimmed = prepared.trim_end_matches(is_py_space);
    if trimmed.is_empty() {
        return None;
    }
    let mut words = Vec::new();
    for piece in trimmed.split('\n').filter(|p| !p.is_empty()) {
        let before = words.len();
        words.extend(piece.split(is_py_space).filter(|w| !w.is_empty()));
        if words.len() == before {
            // " ".join(" ".split()) == "" and "".split(" ") == [""]
            words.push("");
        }
    }
    Some(words)
}

/// Precision, recall and F of one ROUGE variant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Prf {
    /// Precision.
    pub p: f64,
    /// Recall.
    pub r: f64,
    /// `2 · (p·r) / (p + r + 1e-8)`.
    pub f: f64,
}

impl Prf {
    /// All zero.
    pub const ZERO: Prf = Prf {
        p: 0.0,
        r: 0.0,
        f: 0.0,
    };
    /// All one (DeepKE's and nerlm's score for two empty outputs).
    pub const ONE: Prf = Prf {
        p: 1.0,
        r: 1.0,
        f: 1.0,
    };

    fn from_ratios(p: f64, r: f64) -> Prf {
        Prf {
            p,
            r,
            f: 2.0 * ((p * r) / (p + r + 1e-8)),
        }
    }
}

#[inline]
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The multiply-rotate hash of rustc (`FxHasher`): the maps below are small, built per pair,
/// and keyed by short tokens, where SipHash would dominate the cost.
#[derive(Clone, Copy, Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Dense ids (0, 1, 2, ... in order of first appearance) for the tokens of two sequences, and
/// the number of distinct tokens.
fn dense_ids<T: Hash + Eq + Copy>(a: &[T], b: &[T]) -> (Vec<u32>, Vec<u32>, usize) {
    let mut ids: HashMap<T, u32, BuildHasherDefault<FxHasher>> =
        HashMap::with_capacity_and_hasher(a.len() + b.len(), BuildHasherDefault::default());
    let mut map = |s: &[T]| -> Vec<u32> {
        s.iter()
            .map(|&t| {
                let next = ids.len() as u32;
                *ids.entry(t).or_insert(next)
            })
            .collect()
    };
    let (da, db) = (map(a), map(b));
    (da, db, ids.len())
}

/// Number of elements common to two sorted, deduplicated slices.
fn common_sorted<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

fn distinct<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

/// ROUGE-N with n-gram sets (`exclusive=True`) over id sequences, for n = 1 or 2.
fn rouge_n_ids(hyp: &[u32], reference: &[u32], n: usize) -> Prf {
    let grams = |s: &[u32]| -> Vec<u64> {
        if n == 1 {
            distinct(s.iter().map(|&x| u64::from(x)).collect())
        } else {
            distinct(
                s.windows(2)
                    .map(|w| (u64::from(w[0]) << 32) | u64::from(w[1]))
                    .collect(),
            )
        }
    };
    let (h, r) = (grams(hyp), grams(reference));
    let overlap = common_sorted(&h, &r);
    Prf::from_ratios(ratio(overlap, h.len()), ratio(overlap, r.len()))
}

/// Largest `|a| · |b| / 64` for which the bit-parallel LCS keeps its table (words of 8 bytes);
/// beyond it the quadratic row-by-row algorithm runs in constant memory.
const LCS_BITS_MAX_WORDS: usize = 1 << 23;

/// Length of the longest common subsequence of two id sequences whose ids are `< n_ids`.
///
/// Bit-parallel (Allison–Dix / Hyyrö): one bit per position of the shorter sequence.
pub fn lcs_len(a: &[u32], b: &[u32], n_ids: usize) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let m = short.len();
    if m == 0 {
        return 0;
    }
    let words = m.div_ceil(64);
    // Symbols of `short` get a row of match bits; others never match.
    let mut row_of = vec![u32::MAX; n_ids];
    let mut n_rows = 0usize;
    for &c in short {
        if row_of[c as usize] == u32::MAX {
            row_of[c as usize] = n_rows as u32;
            n_rows += 1;
        }
    }
    if n_rows.saturating_mul(words) > LCS_BITS_MAX_WORDS {
        return lcs_len_dp(short, long);
    }
    let mut pm = vec![0u64; n_rows * words];
    for (i, &c) in short.iter().enumerate() {
        pm[row_of[c as usize] as usize * words + i / 64] |= 1u64 << (i % 64);
    }
    let mut v = vec![u64::MAX; words];
    for &c in long {
        let row = row_of[c as usize];
        if row == u32::MAX {
            continue;
        }
        let pm_c = &pm[row as usize * words..(row as usize + 1) * words];
        let mut carry = false;
        for (vw, &pw) in v.iter_mut().zip(pm_c) {
            let u = *vw & pw;
            let (s1, c1) = vw.overflowing_add(u);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            carry = c1 || c2;
            *vw = s2 | (*vw & !u);
        }
    }
    let mut zeros = 0usize;
    for (k, &vw) in v.iter().enumerate() {
        let valid = if k + 1 == words && m % 64 != 0 {
            (1u64 << (m % 64)) - 1
        } else {
            u64::MAX
        };
        zeros += (!vw & valid).count_ones() as usize;
    }
    zeros
}

/// The textbook dynamic programme, one row at a time.
fn lcs_len_dp(a: &[u32], b: &[u32]) -> usize {
    let mut row = vec![0usize; a.len() + 1];
    for &y in b {
        let mut diag = 0;
        for (i, &x) in a.iter().enumerate() {
            let up = row[i + 1];
            row[i + 1] = if x == y { diag + 1 } else { up.max(row[i]) };
            diag = up;
        }
    }
    row[a.len()]
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of two token sequences (words as [`rouge_words`] returns
/// them, or any other tokens).
pub fn rouge_from_tokens<T: Hash + Eq + Copy>(hyp: &[T], reference: &[T]) -> [Prf; 3] {
    let (h, r, n_ids) = dense_ids(hyp, reference);
    let lcs = lcs_len(&h, &r, n_ids);
    [
        rouge_n_ids(&h, &r, 1),
        rouge_n_ids(&h, &r, 2),
        Prf::from_ratios(ratio(lcs, h.len()), ratio(lcs, r.len())),
    ]
}

/// `Rouge().get_scores(hyp, ref)[0]` for rouge-1, rouge-2 and rouge-l, or `None` where
/// `rouge-chinese` raises `ValueError` (a string that is empty or only whitespace).
pub fn rouge_chinese(hyp: &str, reference: &str) -> Option<[Prf; 3]> {
    let ph = cut_sentences(hyp);
    let pr = cut_sentences(reference);
    let wh = rouge_words(&ph)?;
    let wr = rouge_words(&pr)?;
    Some(rouge_from_tokens(&wh, &wr))
}

/// `math.fsum`: the correctly rounded sum of finite floats (Shewchuk's partials, with CPython's
/// final half-even correction). Inputs whose partial sums overflow (where `math.fsum` raises
/// `OverflowError`) are outside its domain.
pub fn fsum(xs: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::with_capacity(4);
    for &item in xs {
        let mut x = item;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        if x != 0.0 {
            partials.push(x);
        }
    }
    let mut n = partials.len();
    let mut hi = 0.0;
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
    }
    hi
}

/// Pack an n-gram of ids (n ≤ 4) into one key, `bits` bits per id.
#[inline]
fn gram_key<K: From<u32> + std::ops::Shl<u32, Output = K> + std::ops::BitOr<Output = K>>(
    g: &[u32],
    bits: u32,
) -> K {
    g.iter().fold(K::from(0), |k, &x| (k << bits) | K::from(x))
}

/// Sum over distinct keys of min(count in `h`, count in `r`); both sorted.
fn clipped_sorted<K: Ord + Copy>(h: &[K], r: &[K]) -> u64 {
    let (mut i, mut j, mut total) = (0, 0, 0u64);
    while i < h.len() && j < r.len() {
        match h[i].cmp(&r[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let key = h[i];
                let i0 = i;
                while i < h.len() && h[i] == key {
                    i += 1;
                }
                let j0 = j;
                while j < r.len() && r[j] == key {
                    j += 1;
                }
                total += (i - i0).min(j - j0) as u64;
            }
        }
    }
    total
}

/// Clipped n-gram matches of `hyp` against one reference (nltk `modified_precision`'s
/// numerator).
/// `narrow`: every id is below 2^16, so four of them pack into a `u64`.
fn clipped_matches(hyp: &[u32], reference: &[u32], n: usize, narrow: bool) -> u64 {
    if hyp.len() < n || reference.len() < n {
        return 0;
    }
    if narrow {
        let keys = |s: &[u32]| -> Vec<u64> {
            let mut v: Vec<u64> = s.windows(n).map(|g| gram_key(g, 16)).collect();
            v.sort_unstable();
            v
        };
        clipped_sorted(&keys(hyp), &keys(reference))
    } else {
        let keys = |s: &[u32]| -> Vec<u128> {
            let mut v: Vec<u128> = s.windows(n).map(|g| gram_key(g, 32)).collect();
            v.sort_unstable();
            v
        };
        clipped_sorted(&keys(hyp), &keys(reference))
    }
}

/// nltk `sentence_bleu([reference], hypothesis, smoothing_function=SmoothingFunction().method3)`
/// with the default weights (0.25, 0.25, 0.25, 0.25), over token ids.
pub fn bleu4_method3(reference: &[u32], hypothesis: &[u32]) -> f64 {
    let (h, r) = (hypothesis.len(), reference.len());
    let mut p = [0.0f64; 4];
    let mut k = 1u32;
    let narrow = hypothesis.iter().chain(reference).all(|&x| x < 1 << 16);
    for (i, pn) in p.iter_mut().enumerate() {
        let n = i + 1;
        let num = clipped_matches(hypothesis, reference, n, narrow);
        let den = (h + 1).saturating_sub(n).max(1) as u64;
        if num == 0 {
            if n == 1 {
                return 0.0;
            }
            // 1 / (2**k * denominator): an exact integer, then one correctly rounded division.
            *pn = 1.0 / ((1u64 << k) * den) as f64;
            k += 1;
        } else {
            *pn = num as f64 / den as f64;
        }
    }
    let bp = if h > r {
        1.0
    } else {
        (1.0 - r as f64 / h as f64).exp()
    };
    let logs = p.map(|x| 0.25 * x.ln());
    bp * fsum(&logs).exp()
}

/// Python's `round(x, ndigits)` for a float: the decimal with `ndigits` digits after the point
/// nearest to the exact binary value of `x` (ties to even), read back as the nearest float.
pub fn py_round(x: f64, ndigits: u8) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust's fixed-precision formatting is exact, with ties to even, like `_Py_dg_dtoa` mode 3;
    // parsing is correctly rounded, like `_Py_dg_strtod`.
    format!("{:.*}", usize::from(ndigits), x)
        .parse()
        .unwrap_or(x)
}

/// Which caller's conventions a batch follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// nerlm, characters: the tokens are the non-whitespace characters. ROUGE is
    /// `rouge-chinese` on the tokens joined by spaces, 1.0 when both sides have no token and 0.0
    /// when one side has none; BLEU-4 is nltk's on the same tokens.
    NerlmChar,
    /// nerlm, words: the tokens are jieba's words without the whitespace ones; otherwise as
    /// [`Preset::NerlmChar`].
    NerlmWord,
    /// LLaMA-Factory `ComputeSimilarity`: ROUGE is `rouge-chinese` on
    /// `" ".join(jieba.cut(pred))` against the same for the label, 0.0 when either joined
    /// string is only whitespace; BLEU-4 is nltk's on the raw characters (`list(pred)`,
    /// whitespace included).
    LlamaFactory,
    /// DeepKE `RougeMetric`: both strings are `.strip()`ped, ROUGE is `rouge-chinese` on
    /// `" ".join(jieba.cut(...))`; 0.0 when exactly one side is empty, 1.0 when both are.
    /// BLEU-4 is not part of it (NaN).
    DeepKe,
}

impl Preset {
    /// The preset called `name` (`nerlm-char`, `nerlm-word`, `llamafactory`, `deepke`).
    pub fn from_name(name: &str) -> Option<Preset> {
        match name {
            "nerlm-char" => Some(Preset::NerlmChar),
            "nerlm-word" => Some(Preset::NerlmWord),
            "llamafactory" => Some(Preset::LlamaFactory),
            "deepke" => Some(Preset::DeepKe),
            _ => None,
        }
    }

    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::NerlmChar => "nerlm-char",
            Preset::NerlmWord => "nerlm-word",
            Preset::LlamaFactory => "llamafactory",
            Preset::DeepKe => "deepke",
        }
    }
}

/// The scores of one (hypothesis, reference) pair, unrounded, as fractions in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairSimilarity {
    /// ROUGE-1.
    pub rouge_1: Prf,
    /// ROUGE-2.
    pub rouge_2: Prf,
    /// ROUGE-L.
    pub rouge_l: Prf,
    /// BLEU-4 (NaN for [`Preset::DeepKe`]).
    pub bleu_4: f64,
}

fn rouge_or(scores: Option<[Prf; 3]>, fallback: Prf) -> [Prf; 3] {
    scores.unwrap_or([fallback; 3])
}

/// ROUGE of two token lists under nerlm's empty-side rule.
fn rouge_tokens(hyp: &[&str], reference: &[&str]) -> [Prf; 3] {
    match (hyp.is_empty(), reference.is_empty()) {
        (true, true) => [Prf::ONE; 3],
        (true, false) | (false, true) => [Prf::ZERO; 3],
        (false, false) => rouge_or(
            rouge_chinese(&hyp.join(" "), &reference.join(" ")),
            Prf::ZERO,
        ),
    }
}

/// BLEU-4 of two token sequences (any token type).
fn bleu_tokens<T: Hash + Eq + Copy>(hyp: &[T], reference: &[T]) -> f64 {
    let (h, r, _) = dense_ids(hyp, reference);
    bleu4_method3(&r, &h)
}

/// The scores of one pair under `preset`.
pub fn pair_similarity(hyp: &str, reference: &str, preset: Preset) -> PairSimilarity {
    let ([rouge_1, rouge_2, rouge_l], bleu_4) = match preset {
        Preset::NerlmChar => {
            let h: Vec<char> = hyp.chars().filter(|&c| !is_py_space(c)).collect();
            let r: Vec<char> = reference.chars().filter(|&c| !is_py_space(c)).collect();
            // Single characters joined by spaces never trigger a sentence break inside a
            // token, so the words `rouge-chinese` sees are exactly the characters.
            let rouge = match (h.is_empty(), r.is_empty()) {
                (true, true) => [Prf::ONE; 3],
                (true, false) | (false, true) => [Prf::ZERO; 3],
                (false, false) => rouge_from_tokens(&h, &r),
            };
            (rouge, bleu_tokens(&h, &r))
        }
        Preset::NerlmWord => {
            let h: Vec<&str> = cut_words(hyp)
                .into_iter()
                .filter(|w| !is_blank(w))
                .collect();
            let r: Vec<&str> = cut_words(reference)
                .into_iter()
                .filter(|w| !is_blank(w))
                .collect();
            (rouge_tokens(&h, &r), bleu_tokens(&h, &r))
        }
        Preset::LlamaFactory => {
            let h = cut_words(hyp).join(" ");
            let r = cut_words(reference).join(" ");
            let rouge = if is_blank(&h) || is_blank(&r) {
                [Prf::ZERO; 3]
            } else {
                rouge_or(rouge_chinese(&h, &r), Prf::ZERO)
            };
            let hc: Vec<char> = hyp.chars().collect();
            let rc: Vec<char> = reference.chars().collect();
            (rouge, bleu_tokens(&hc, &rc))
        }
        Preset::DeepKe => {
            let h = cut_words(hyp.trim_matches(is_py_space)).join(" ");
            let r = cut_words(reference.trim_matches(is_py_space)).join(" ");
            let rouge = match (h.is_empty(), r.is_empty()) {
                (true, true) => [Prf::ONE; 3],
                (true, false) | (false, true) => [Prf::ZERO; 3],
                (false, false) => rouge_or(rouge_chinese(&h, &r), Prf::ZERO),
            };
            (rouge, f64::NAN)
        }
    };
    PairSimilarity {
        rouge_1,
        rouge_2,
        rouge_l,
        bleu_4,
    }
}

/// [`pair_similarity`] over many pairs, in parallel.
///
/// # Errors
///
/// [`Error::Shape`] when the two slices differ in length.
pub fn similarity_batch<S: AsRef<str> + Sync>(
    hyps: &[S],
    references: &[S],
    preset: Preset,
) -> Result<Vec<PairSimilarity>> {
    if hyps.len() != references.len() {
        return Err(Error::Shape(format!(
            "{} hypotheses but {} references",
            hyps.len(),
            references.len()
        )));
    }
    Ok(hyps
        .par_iter()
        .zip(references.par_iter())
        .map(|(h, r)| pair_similarity(h.as_ref(), r.as_ref(), preset))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(s: &str) -> Option<Vec<String>> {
        let p = cut_sentences(s);
        rouge_words(&p).map(|w| w.into_iter().map(str::to_string).collect())
    }

    #[test]
    fn python_whitespace() {
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ',
            '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{200a}', '\u{2028}', '\u{2029}',
            '\u{202f}', '\u{205f}', '\u{3000}',
        ] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in ['a', '\u{0}', '\u{1b}', '\u{200b}', '\u{feff}', '。'] {
            assert!(!is_py_space(c), "{c:?}");
        }
    }

    #[test]
    fn sentence_cutting_follows_the_regular_expressions() {
        // Expected values printed by rouge_chinese.Rouge().cut_sent.
        let cut = |s: &str| -> Vec<String> {
            let p = cut_sentences(s);
            let t = p.trim_end_matches(is_py_space);
            t.split('\n').map(str::to_string).collect()
        };
        assert_eq!(cut("。。。a"), ["。", "。。", "a"]);
        assert_eq!(cut("......a.......b"), ["......", "a......", ".b"]);
        assert_eq!(cut("……a…x"), ["……", "a…x"]);
        assert_eq!(cut("他说：“好。”然后"), ["他说：“好。”", "然后"]);
        assert_eq!(cut("?”，x"), ["?”，x"]);
        assert_eq!(cut("？’”。x"), ["？’", "”。", "x"]);
        assert_eq!(cut("  "), [""]);
        assert_eq!(cut(" a "), [" a"]);
    }

    #[test]
    fn words_keep_an_empty_word_for_blank_lines() {
        assert_eq!(words("a\n \nb").unwrap(), ["a", "", "b"]);
        assert_eq!(words("a\n\nb").unwrap(), ["a", "b"]);
        assert_eq!(words("a\u{1c}b").unwrap(), ["a", "b"]);
        assert_eq!(words("你好。世界").unwrap(), ["你好。", "世界"]);
        assert!(words("").is_none());
        assert!(words(" \n\t\u{3000}").is_none());
    }

    #[test]
    fn rouge_matches_rouge_chinese() {
        // rouge_chinese: get_scores('我 是 一 个 男 孩 。 我 是', '你 是 一 个 男 孩')
        let [r1, r2, rl] =
            rouge_chinese("我 是 一 个 男 孩 。 我 是", "你 是 一 个 男 孩").unwrap();
        assert_eq!(r1.r, 0.8333333333333334);
        assert_eq!(r1.p, 0.7142857142857143);
        assert_eq!(r1.f, 0.7692307642603551);
        assert_eq!(r2.r, 0.8);
        assert_eq!(r2.p, 0.5714285714285714);
        assert_eq!(r2.f, 0.6666666618055556);
        assert_eq!(rl.r, 0.8333333333333334);
        assert_eq!(rl.p, 0.5555555555555556);
        assert_eq!(rl.f, 0.6666666618666668);
        assert!(rouge_chinese(" ", "a").is_none());
        assert!(rouge_chinese("a", "").is_none());
    }

    #[test]
    fn bleu_matches_nltk() {
        let ids = |s: &str| -> Vec<u32> { s.chars().map(u32::from).collect() };
        // nltk sentence_bleu([list(ref)], list(hyp), smoothing_function=method3)
        let b = bleu4_method3(
            &ids("温格的球队终于又踢了一场经典的比赛"),
            &ids("温格的球队又踢了一场比赛"),
        );
        assert_eq!(b, 0.4505558210414663);
        assert_eq!(bleu4_method3(&ids("ab"), &ids("abc")), 0.4518010018049224);
        assert_eq!(
            bleu4_method3(&ids("abcdef"), &ids("ab")),
            0.08047084086794415
        );
        assert_eq!(bleu4_method3(&ids(""), &ids("")), 0.0);
        assert_eq!(bleu4_method3(&ids("abc"), &ids("")), 0.0);
        assert_eq!(bleu4_method3(&ids("abc"), &ids("xyz")), 0.0);
    }

    #[test]
    fn fsum_is_correctly_rounded() {
        assert_eq!(fsum(&[1e-16, 1.0, 1e16]), 1.0000000000000002e16);
        assert_eq!(fsum(&[0.1; 10]), 1.0);
        assert_eq!(fsum(&[]), 0.0);
        assert_eq!(fsum(&[1e100, 1.0, -1e100, 1e-100]), 1.0);
        // math.fsum([0.3, 0.3, 0.3, -0.9]); a plain sum gives -1.1102230246251565e-16
        assert_eq!(fsum(&[0.3, 0.3, 0.3, -0.9]), -5.551115123125783e-17);
    }

    #[test]
    fn python_round_ties_to_even_on_the_exact_value() {
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(0.5, 0), 0.0);
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(12.34565, 4), 12.3456);
        assert_eq!(py_round(99.99995, 4), 99.9999);
    }

    #[test]
    fn presets_handle_empty_sides() {
        let s = |h: &str, r: &str, p| pair_similarity(h, r, p);
        let lf = s(" ", "张三", Preset::LlamaFactory);
        assert_eq!(lf.rouge_1, Prf::ZERO);
        assert_eq!(lf.bleu_4, 0.0);
        assert_eq!(s(" \n", "\t", Preset::DeepKe).rouge_l, Prf::ONE);
        assert_eq!(s("", "张三", Preset::DeepKe).rouge_2, Prf::ZERO);
        assert!(s("", "", Preset::DeepKe).bleu_4.is_nan());
        assert_eq!(s("", " ", Preset::NerlmChar).rouge_1, Prf::ONE);
        assert_eq!(s("", " ", Preset::NerlmWord).rouge_1, Prf::ONE);
        assert_eq!(s("a", " ", Preset::NerlmWord).rouge_1, Prf::ZERO);
        let same = s("张三在北京", "张三在北京", Preset::NerlmChar);
        assert!((same.rouge_l.f - 1.0).abs() < 1e-8);
        assert_eq!(same.bleu_4, 1.0);
    }

    #[test]
    fn batch_checks_lengths_and_keeps_order() {
        let h = ["张三", "李四在上海", ""];
        let r = ["张三", "李四", "王五"];
        let out = similarity_batch(&h, &r, Preset::NerlmWord).unwrap();
        for (i, o) in out.iter().enumerate() {
            assert_eq!(*o, pair_similarity(h[i], r[i], Preset::NerlmWord));
        }
        assert!(matches!(
            similarity_batch(&h, &r[..2], Preset::NerlmChar),
            Err(Error::Shape(_))
        ));
        assert_eq!(Preset::from_name("deepke"), Some(Preset::DeepKe));
        assert_eq!(Preset::from_name("x"), None);
        for p in [
            Preset::NerlmChar,
            Preset::NerlmWord,
            Preset::LlamaFactory,
            Preset::DeepKe,
        ] {
            assert_eq!(Preset::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn jieba_words_follow_python_jieba() {
        // Expected values printed by Python jieba 0.42.1 list(jieba.cut(text)).
        assert_eq!(
            cut_words("他说7.90M和1.5.5及a-b_c、5%a、abc-、1.5%-2"),
            [
                "他", "说", "7.90", "M", "和", "1.5", ".", "5", "及", "a", "-", "b", "_", "c",
                "、", "5%", "a", "、", "abc", "-", "、", "1.5%", "-", "2"
            ]
        );
        assert_eq!(
            cut_words("㐀㐁人民𠀀a鿖鿖中国"),
            ["㐀", "㐁", "人民", "𠀀", "a", "鿖", "鿖", "中国"]
        );
        let mut parts = Vec::new();
        python_skip_split("--x1.2.3y%%", &mut parts);
        // [x for x in re.split(r"([a-zA-Z0-9]+(?:\.\d+)?%?)", "--x1.2.3y%%") if x]
        assert_eq!(parts, ["--", "x1.2", ".", "3y%", "%"]);
    }

    #[test]
    fn jieba_words() {
        assert_eq!(
            cut_words("温格的球队终于又踢了一场经典的比赛"),
            [
                "温格", "的", "球队", "终于", "又", "踢", "了", "一场", "经典", "的", "比赛"
            ]
        );
        assert_eq!(cut_words("a b\r\nc"), ["a", " ", "b", "\r\n", "c"]);
        assert!(cut_words("").is_empty());
    }

    proptest! {
        #[test]
        fn bleu_does_not_depend_on_the_id_width(
            a in proptest::collection::vec(0u32..5, 0..40),
            b in proptest::collection::vec(0u32..5, 0..40),
        ) {
            let wide = |v: &[u32]| -> Vec<u32> { v.iter().map(|x| x + 0x2_0000).collect() };
            prop_assert_eq!(
                bleu4_method3(&a, &b).to_bits(),
                bleu4_method3(&wide(&a), &wide(&b)).to_bits()
            );
        }

        #[test]
        fn bit_parallel_lcs_equals_the_dynamic_programme(
            a in proptest::collection::vec(0u32..6, 0..150),
            b in proptest::collection::vec(0u32..6, 0..150),
        ) {
            prop_assert_eq!(lcs_len(&a, &b, 6), lcs_len_dp(&a, &b));
            prop_assert_eq!(lcs_len(&b, &a, 6), lcs_len_dp(&a, &b));
        }

        #[test]
        fn character_rouge_equals_rouge_on_spaced_characters(
            h in "[ab。？?”’.…\\s]{0,12}",
            r in "[ab。？?”’.…\\s]{0,12}",
        ) {
            let toks = |s: &str| -> Vec<String> {
                s.chars().filter(|&c| !is_py_space(c)).map(String::from).collect()
            };
            let (th, tr) = (toks(&h), toks(&r));
            let th: Vec<&str> = th.iter().map(String::as_str).collect();
            let tr: Vec<&str> = tr.iter().map(String::as_str).collect();
            let direct = pair_similarity(&h, &r, Preset::NerlmChar);
            let [r1, r2, rl] = rouge_tokens(&th, &tr);
            prop_assert_eq!(direct.rouge_1, r1);
            prop_assert_eq!(direct.rouge_2, r2);
            prop_assert_eq!(direct.rouge_l, rl);
        }
    }
}
