//! NER scoring kernels: span level in the four SemEval-2013 match modes, and string level.
//!
//! # Span level
//!
//! Definitions follow SemEval-2013 Task 9.1 as nervaluate 1.2.1 implements them (Segura-Bedmar
//! et al., 2013; <https://github.com/MantisAI/nervaluate>). Within one document, each predicted
//! span is compared with the gold spans not yet paired, in input order (see [`Pairing`] for
//! the order of the passes):
//!
//! | mode | COR (correct) | INC (incorrect) / PAR (partial) |
//! |---|---|---|
//! | `strict` | same label, start and end | INC: the first overlapping gold span |
//! | `exact` | same start and end, any label | INC: the first overlapping gold span |
//! | `partial` | same start and end, any label | PAR: the first overlapping gold span |
//! | `type` | an overlapping gold span of the same label (the one with the smallest boundary distance `|Δstart| + |Δend|`, first on ties) | INC: the first overlapping gold span of another label |
//!
//! A prediction that pairs with nothing is SPU (spurious); a gold span left unpaired is MIS
//! (missed). POSSIBLE = COR + INC + PAR + MIS, ACTUAL = COR + INC + PAR + SPU. The gold span a
//! prediction pairs with is removed from further pairing, so a repeated prediction is spurious.
//!
//! Per-label (and per-bucket) counts come from the same comparison *restricted* to the spans of
//! that label (bucket) on both sides, as nervaluate and conlleval report per-type scores.
//!
//! Offsets are half-open `[start, end)`; with [`SpanOptions::ends_inclusive`] they are read as
//! `[start, end]` (nervaluate's convention), i.e. `end + 1` is used. Spans overlap when they share
//! a position; with `min_overlap_percent > 0` the shared length must also be at least that
//! percentage of the gold span's length (nervaluate's `min_overlap_percentage`, computed as
//! `overlap / gold_length * 100.0` in `f64`).
//!
//! Duplicates: with [`Duplicates::Set`] exact repeats of `(label, start, end)` within a document
//! are dropped (first kept) on each side before comparing, and counted; with
//! [`Duplicates::Multiset`] every span takes part.
//!
//! # String level
//!
//! [`score_strings`] compares `(label, key)` pairs per document, where the key identifies the
//! surface string (as most LLM-NER papers score, e.g. CLUENER's official scorer and DeepKE's
//! `eval_func.py`): as sets (TP per document and label = |G ∩ P|) or multisets (TP = Σ min of the
//! two multiplicities, DeepKE's default).

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Number of span match modes: strict, exact, partial, type (in that order).
pub const N_MODES: usize = 4;
/// Number of SemEval categories: COR, INC, PAR, MIS, SPU (in that order).
pub const N_CATEGORIES: usize = 5;
/// Counts of one comparison: `[mode][category]`.
pub type ModeCounts = [[u64; N_CATEGORIES]; N_MODES];

/// Category indices.
pub const COR: usize = 0;
/// Incorrect.
pub const INC: usize = 1;
/// Partial.
pub const PAR: usize = 2;
/// Missed.
pub const MIS: usize = 3;
/// Spurious.
pub const SPU: usize = 4;

/// Outcome code of a span dropped as an exact duplicate ([`Duplicates::Set`]).
pub const DUPLICATE: i8 = 5;

/// Columns of spans: document index, label id, start, end. All four have the same length.
#[derive(Debug, Clone, Copy)]
pub struct SpanColumns<'a> {
    /// Document index per span, in `0..n_docs`.
    pub doc: &'a [i64],
    /// Label id per span, in `0..n_labels`.
    pub label: &'a [i64],
    /// Start offset per span.
    pub start: &'a [i64],
    /// End offset per span (exclusive, or inclusive with [`SpanOptions::ends_inclusive`]).
    pub end: &'a [i64],
}

impl SpanColumns<'_> {
    fn len(&self) -> usize {
        self.doc.len()
    }
}

/// How repeated identical spans (or strings) in one document are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Drop exact repeats (first kept) and count them.
    Set,
    /// Every occurrence takes part.
    Multiset,
}

/// How predictions pair with gold spans within a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Identical spans pair first, then overlaps (nerlm's modes: COR is order-independent, and
    /// strict COR with [`Duplicates::Set`] is the size of the set intersection).
    ExactFirst,
    /// One greedy pass in input order, as nervaluate 1.2.1 does: a prediction takes the first
    /// overlapping gold span even when a later prediction matches that span exactly.
    InOrder,
}

/// Options of [`score_spans`].
#[derive(Debug, Clone, Copy)]
pub struct SpanOptions {
    /// Number of documents; document indices lie in `0..n_docs`.
    pub n_docs: usize,
    /// Number of labels; label ids lie in `0..n_labels`.
    pub n_labels: usize,
    /// Duplicate policy.
    pub duplicates: Duplicates,
    /// Read `end` as the last position (nervaluate) rather than one past it.
    pub ends_inclusive: bool,
    /// Minimum overlap, in percent of the gold span's length (0: any shared position).
    pub min_overlap_percent: f64,
    /// How predictions pair with gold spans.
    pub pairing: Pairing,
    /// Return per-document counts ([`SpanScore::per_doc`]).
    pub per_doc: bool,
    /// Return per-span outcomes of the overall strict comparison.
    pub outcomes: bool,
}

/// Optional breakdowns of [`score_spans`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Breakdowns<'a> {
    /// Group index per document (e.g. its source), with the number of groups.
    pub doc_group: Option<(&'a [i64], usize)>,
    /// Bucket index per gold span and per predicted span (e.g. by length), with the number of
    /// buckets: counts restricted to each bucket.
    pub span_bucket: Option<(&'a [i64], &'a [i64], usize)>,
}

/// Result of [`score_spans`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpanScore {
    /// All labels together.
    pub overall: ModeCounts,
    /// Restricted to each label, indexed by label id.
    pub per_label: Vec<ModeCounts>,
    /// Restricted to each bucket (empty without buckets).
    pub per_bucket: Vec<ModeCounts>,
    /// Overall counts of the documents of each group (empty without groups).
    pub per_group: Vec<ModeCounts>,
    /// Documents whose strict comparison has neither errors nor misses (identical span sets;
    /// documents with no spans on either side included), per group if groups are given, else
    /// one entry.
    pub exact_docs: Vec<u64>,
    /// Gold spans dropped as duplicates.
    pub gold_duplicates: u64,
    /// Predicted spans dropped as duplicates.
    pub pred_duplicates: u64,
    /// `n_docs × N_MODES × N_CATEGORIES` counts, row-major (when requested).
    pub per_doc: Vec<u32>,
    /// Per gold span (input order): COR, INC or MIS in the overall strict comparison, or
    /// [`DUPLICATE`] (when requested).
    pub gold_outcome: Vec<i8>,
    /// Per predicted span (input order): COR, INC or SPU, or [`DUPLICATE`] (when requested).
    pub pred_outcome: Vec<i8>,
    /// Per predicted span: the input index of the gold span it is paired with in the overall
    /// strict comparison (COR or INC), else -1 (when requested).
    pub pred_pair: Vec<i64>,
}

/// Documents as contiguous runs: `offsets[d]..offsets[d+1]` index `order`.
struct Csr {
    offsets: Vec<usize>,
    /// Input index of each span, grouped by document, stable within a document.
    order: Vec<usize>,
}

fn csr(doc: &[i64], n_docs: usize) -> Csr {
    let mut offsets = vec![0usize; n_docs + 1];
    for &d in doc {
        offsets[d as usize + 1] += 1;
    }
    for i in 0..n_docs {
        offsets[i + 1] += offsets[i];
    }
    let sorted = doc.windows(2).all(|w| w[0] <= w[1]);
    let order = if sorted {
        (0..doc.len()).collect()
    } else {
        let mut next = offsets.clone();
        let mut order = vec![0usize; doc.len()];
        for (i, &d) in doc.iter().enumerate() {
            order[next[d as usize]] = i;
            next[d as usize] += 1;
        }
        order
    };
    Csr { offsets, order }
}

fn check_columns(c: &SpanColumns<'_>, what: &str, o: &SpanOptions) -> Result<()> {
    let n = c.len();
    if c.label.len() != n || c.start.len() != n || c.end.len() != n {
        return Err(Error::Shape(format!(
            "{what} columns differ in length: doc {}, label {}, start {}, end {}",
            n,
            c.label.len(),
            c.start.len(),
            c.end.len()
        )));
    }
    for i in 0..n {
        let d = c.doc[i];
        if d < 0 || d as usize >= o.n_docs {
            return Err(Error::Shape(format!(
                "{what} span {i}: document index {d} is outside 0..{}",
                o.n_docs
            )));
        }
        let l = c.label[i];
        if l < 0 || l as usize >= o.n_labels {
            return Err(Error::Shape(format!(
                "{what} span {i} (document {d}): label id {l} is outside 0..{}",
                o.n_labels
            )));
        }
        let (s, e) = (c.start[i], c.end[i]);
        let bad = if o.ends_inclusive {
            s < 0 || e < s
        } else {
            s < 0 || e <= s
        };
        if bad {
            let shown = if o.ends_inclusive {
                format!("[{s}, {e}] (inclusive end)")
            } else {
                format!("[{s}, {e})")
            };
            return Err(Error::Offset(format!(
                "{what} span {i} (document {d}): {shown} is not a valid span (start >= 0 and end > start required)"
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Ent {
    label: u32,
    key: u32,
    start: i64,
    /// Exclusive.
    end: i64,
    /// Position in the document's run.
    pos: u32,
}

#[derive(Clone, Copy)]
struct Cfg {
    min_pct: f64,
    exact_first: bool,
}

impl Cfg {
    #[inline]
    fn overlaps(self, p: &Ent, g: &Ent) -> bool {
        let ov = p.end.min(g.end) - p.start.max(g.start);
        if ov <= 0 {
            return false;
        }
        self.min_pct <= 0.0 || (ov as f64 / (g.end - g.start) as f64) * 100.0 >= self.min_pct
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Exact,
    Partial,
    Type,
}

const MODES: [Mode; N_MODES] = [Mode::Strict, Mode::Exact, Mode::Partial, Mode::Type];

/// Pairing records of one comparison: per pred (category, paired gold position), per gold
/// whether it was paired and how.
struct Record<'a> {
    pred_cat: &'a mut [i8],
    pred_pair: &'a mut [i64],
    gold_cat: &'a mut [i8],
}

impl Record<'_> {
    /// Record that `pe` fell in `cat`, paired with gold span `gi` of `g` (if any).
    #[inline]
    fn write(&mut self, pe: &Ent, cat: usize, gi: Option<usize>, g: &[Ent]) {
        self.pred_cat[pe.pos as usize] = cat as i8;
        self.pred_pair[pe.pos as usize] = gi.map_or(-1, |gi| i64::from(g[gi].pos));
        if let Some(gi) = gi {
            self.gold_cat[g[gi].pos as usize] = cat as i8;
        }
    }
}

/// Records one pairing decision.
#[inline]
fn decide(
    pe: &Ent,
    cat: usize,
    gi: Option<usize>,
    g: &[Ent],
    paired: &mut [bool],
    out: &mut [u32; N_CATEGORIES],
    rec: &mut Option<&mut Record<'_>>,
) {
    out[cat] += 1;
    if let Some(gi) = gi {
        paired[gi] = true;
    }
    if let Some(r) = rec.as_deref_mut() {
        r.write(pe, cat, gi, g);
    }
}

/// The SemEval pairing of one mode over one document (or one label of it).
///
/// [`Pairing::InOrder`] is nervaluate's single greedy pass. [`Pairing::ExactFirst`] first pairs
/// every prediction that has an identical gold span (same bounds, and same label where the
/// mode compares labels), then, in `type` mode, same-label overlaps by smallest boundary
/// distance, and only then the remaining overlaps as INC/PAR: an imprecise prediction can no
/// longer take the gold span that a later prediction matches exactly.
fn greedy(
    mode: Mode,
    g: &[Ent],
    p: &[Ent],
    cfg: Cfg,
    scratch: &mut PairScratch,
    mut rec: Option<&mut Record<'_>>,
) -> [u32; N_CATEGORIES] {
    let mut out = [0u32; N_CATEGORIES];
    let paired = &mut scratch.paired;
    paired.clear();
    paired.resize(g.len(), false);
    if cfg.exact_first {
        let done = &mut scratch.done;
        done.clear();
        done.resize(p.len(), false);
        let labels_matter = matches!(mode, Mode::Strict | Mode::Type);
        for (pi, pe) in p.iter().enumerate() {
            let hit = g.iter().enumerate().position(|(gi, ge)| {
                !paired[gi]
                    && pe.start == ge.start
                    && pe.end == ge.end
                    && (!labels_matter || pe.label == ge.label)
            });
            if let Some(gi) = hit {
                decide(pe, COR, Some(gi), g, paired, &mut out, &mut rec);
                done[pi] = true;
            }
        }
        if mode == Mode::Type {
            for (pi, pe) in p.iter().enumerate() {
                if done[pi] {
                    continue;
                }
                let mut best: Option<(i64, usize)> = None;
                for (gi, ge) in g.iter().enumerate() {
                    if !paired[gi] && pe.label == ge.label && cfg.overlaps(pe, ge) {
                        let d = (pe.start - ge.start).abs() + (pe.end - ge.end).abs();
                        if best.is_none_or(|(b, _)| d < b) {
                            best = Some((d, gi));
                        }
                    }
                }
                if let Some((_, gi)) = best {
                    decide(pe, COR, Some(gi), g, paired, &mut out, &mut rec);
                    done[pi] = true;
                }
            }
        }
        let near = if mode == Mode::Partial { PAR } else { INC };
        for (pi, pe) in p.iter().enumerate() {
            if done[pi] {
                continue;
            }
            let hit = g
                .iter()
                .enumerate()
                .position(|(gi, ge)| !paired[gi] && cfg.overlaps(pe, ge));
            match hit {
                Some(gi) => decide(pe, near, Some(gi), g, paired, &mut out, &mut rec),
                None => decide(pe, SPU, None, g, paired, &mut out, &mut rec),
            }
        }
        out[MIS] = paired.iter().filter(|&&x| !x).count() as u32;
        return out;
    }
    for pe in p {
        let mut found: Option<usize> = None;
        let mut cand: Option<usize> = None;
        let mut best = i64::MAX;
        for (gi, ge) in g.iter().enumerate() {
            if paired[gi] {
                continue;
            }
            let same_bounds = pe.start == ge.start && pe.end == ge.end;
            match mode {
                Mode::Strict | Mode::Exact => {
                    if same_bounds && (mode == Mode::Exact || pe.label == ge.label) {
                        found = Some(gi);
                        break;
                    }
                    if cand.is_none() && cfg.overlaps(pe, ge) {
                        cand = Some(gi);
                    }
                }
                Mode::Partial => {
                    if cfg.overlaps(pe, ge) {
                        if same_bounds {
                            found = Some(gi);
                            break;
                        }
                        if cand.is_none() {
                            cand = Some(gi);
                        }
                    }
                }
                Mode::Type => {
                    if cfg.overlaps(pe, ge) {
                        if pe.label == ge.label {
                            let d = (pe.start - ge.start).abs() + (pe.end - ge.end).abs();
                            if d < best {
                                best = d;
                                found = Some(gi);
                            }
                        } else if cand.is_none() {
                            cand = Some(gi);
                        }
                    }
                }
            }
        }
        let (cat, gi) = match (found, cand) {
            (Some(gi), _) => (COR, Some(gi)),
            (None, Some(gi)) => (if mode == Mode::Partial { PAR } else { INC }, Some(gi)),
            (None, None) => (SPU, None),
        };
        decide(pe, cat, gi, g, paired, &mut out, &mut rec);
    }
    out[MIS] = paired.iter().filter(|&&x| !x).count() as u32;
    out
}

#[derive(Default)]
struct PairScratch {
    paired: Vec<bool>,
    done: Vec<bool>,
}

/// Pairwise relations of one document's spans as bit sets over the gold spans (at most 64):
/// for pred `i`, bit `j` of `ov[i]` is set when pred `i` overlaps gold `j`, of `sb[i]` when
/// they have the same bounds, of `sl[i]` when they have the same label.
#[derive(Default)]
struct Masks {
    ov: Vec<u64>,
    sb: Vec<u64>,
    sl: Vec<u64>,
}

impl Masks {
    fn build(&mut self, g: &[Ent], p: &[Ent], cfg: Cfg) {
        self.ov.clear();
        self.sb.clear();
        self.sl.clear();
        for pe in p {
            let (mut ov, mut sb, mut sl) = (0u64, 0u64, 0u64);
            for (j, ge) in g.iter().enumerate() {
                let bit = 1u64 << j;
                if cfg.overlaps(pe, ge) {
                    ov |= bit;
                }
                if pe.start == ge.start && pe.end == ge.end {
                    sb |= bit;
                }
                if pe.label == ge.label {
                    sl |= bit;
                }
            }
            self.ov.push(ov);
            self.sb.push(sb);
            self.sl.push(sl);
        }
    }
}

/// [`greedy`] with [`Pairing::ExactFirst`] on bit sets: the preds `preds` (indices into `p`,
/// at most 64, in input order) against the gold spans in `gold` (a bit set). Same result as
/// the general loop, which picks the lowest unpaired gold index at each step.
fn pair_masks(
    mode: Mode,
    g: &[Ent],
    p: &[Ent],
    preds: &[u8],
    gold: u64,
    m: &Masks,
    mut rec: Option<&mut Record<'_>>,
) -> [u32; N_CATEGORIES] {
    let mut out = [0u32; N_CATEGORIES];
    let mut free = gold;
    let mut done = 0u64;
    let labels_matter = matches!(mode, Mode::Strict | Mode::Type);
    let mut take =
        |pi: usize, cat: usize, gi: Option<usize>, free: &mut u64, out: &mut [u32; 5]| {
            out[cat] += 1;
            if let Some(gi) = gi {
                *free &= !(1u64 << gi);
            }
            if let Some(r) = rec.as_deref_mut() {
                r.write(&p[pi], cat, gi, g);
            }
        };
    for (k, &pi) in preds.iter().enumerate() {
        let pi = pi as usize;
        let mut c = free & m.sb[pi];
        if labels_matter {
            c &= m.sl[pi];
        }
        if c != 0 {
            take(
                pi,
                COR,
                Some(c.trailing_zeros() as usize),
                &mut free,
                &mut out,
            );
            done |= 1u64 << k;
        }
    }
    if mode == Mode::Type {
        for (k, &pi) in preds.iter().enumerate() {
            if done >> k & 1 == 1 {
                continue;
            }
            let pi = pi as usize;
            let mut c = free & m.ov[pi] & m.sl[pi];
            if c == 0 {
                continue;
            }
            let pe = &p[pi];
            let mut best = (i64::MAX, 0usize);
            while c != 0 {
                let gi = c.trailing_zeros() as usize;
                c &= c - 1;
                let ge = &g[gi];
                let d = (pe.start - ge.start).abs() + (pe.end - ge.end).abs();
                if d < best.0 {
                    best = (d, gi);
                }
            }
            take(pi, COR, Some(best.1), &mut free, &mut out);
            done |= 1u64 << k;
        }
    }
    let near = if mode == Mode::Partial { PAR } else { INC };
    for (k, &pi) in preds.iter().enumerate() {
        if done >> k & 1 == 1 {
            continue;
        }
        let pi = pi as usize;
        let c = free & m.ov[pi];
        if c != 0 {
            take(
                pi,
                near,
                Some(c.trailing_zeros() as usize),
                &mut free,
                &mut out,
            );
        } else {
            take(pi, SPU, None, &mut free, &mut out);
        }
    }
    out[MIS] = free.count_ones();
    out
}

fn all_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Restricted comparisons on bit sets: for each key, all four modes over its spans.
#[allow(clippy::too_many_arguments)]
fn restricted_masks(
    g: &[Ent],
    p: &[Ent],
    key_of: fn(&Ent) -> u32,
    m: &Masks,
    dst: &mut [ModeCounts],
    doc: &ModeCounts,
    keys: &mut Vec<u32>,
    preds: &mut Vec<u8>,
) {
    keys.clear();
    for e in g.iter().chain(p) {
        let k = key_of(e);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    if keys.len() == 1 {
        merge(&mut dst[keys[0] as usize], doc);
        return;
    }
    for &k in keys.iter() {
        let mut gold = 0u64;
        for (j, e) in g.iter().enumerate() {
            if key_of(e) == k {
                gold |= 1u64 << j;
            }
        }
        preds.clear();
        preds.extend(
            p.iter()
                .enumerate()
                .filter(|(_, e)| key_of(e) == k)
                .map(|(i, _)| i as u8),
        );
        for (mi, mode) in MODES.iter().enumerate() {
            let c = pair_masks(*mode, g, p, preds, gold, m, None);
            add(&mut dst[k as usize], mi, &c);
        }
    }
}

/// Drop exact repeats of `(label, start, end)`, keeping the first; returns how many went.
fn dedup(v: &mut Vec<Ent>, dropped: &mut Vec<u32>) -> u64 {
    let before = v.len();
    if before < 2 {
        return 0;
    }
    // In place: `kept` entries stay at the front, in order.
    let mut kept = 0;
    for i in 0..before {
        let e = v[i];
        if v[..kept]
            .iter()
            .any(|k| k.label == e.label && k.start == e.start && k.end == e.end)
        {
            dropped.push(e.pos);
        } else {
            v[kept] = e;
            kept += 1;
        }
    }
    v.truncate(kept);
    (before - kept) as u64
}

fn add(dst: &mut ModeCounts, m: usize, c: &[u32; N_CATEGORIES]) {
    for (d, &x) in dst[m].iter_mut().zip(c) {
        *d += u64::from(x);
    }
}

fn merge(dst: &mut ModeCounts, src: &ModeCounts) {
    for (a, b) in dst.iter_mut().zip(src) {
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
    }
}

/// Accumulator of one worker.
struct Acc {
    overall: ModeCounts,
    per_label: Vec<ModeCounts>,
    per_bucket: Vec<ModeCounts>,
    per_group: Vec<ModeCounts>,
    exact_docs: Vec<u64>,
    gdup: u64,
    pdup: u64,
}

impl Acc {
    fn new(n_labels: usize, n_buckets: usize, n_groups: usize) -> Self {
        Acc {
            overall: ModeCounts::default(),
            per_label: vec![ModeCounts::default(); n_labels],
            per_bucket: vec![ModeCounts::default(); n_buckets],
            per_group: vec![ModeCounts::default(); n_groups],
            exact_docs: vec![0; n_groups.max(1)],
            gdup: 0,
            pdup: 0,
        }
    }

    fn merge(mut self, o: Acc) -> Acc {
        merge(&mut self.overall, &o.overall);
        for (a, b) in self.per_label.iter_mut().zip(&o.per_label) {
            merge(a, b);
        }
        for (a, b) in self.per_bucket.iter_mut().zip(&o.per_bucket) {
            merge(a, b);
        }
        for (a, b) in self.per_group.iter_mut().zip(&o.per_group) {
            merge(a, b);
        }
        for (a, b) in self.exact_docs.iter_mut().zip(&o.exact_docs) {
            *a += b;
        }
        self.gdup += o.gdup;
        self.pdup += o.pdup;
        self
    }
}

/// Restricted comparisons: for each key present on either side, all four modes over the spans
/// of that key only. `key_of` picks the key.
fn restricted(
    g: &[Ent],
    p: &[Ent],
    cfg: Cfg,
    key_of: fn(&Ent) -> u32,
    dst: &mut [ModeCounts],
    scratch: &mut Scratch,
) {
    // Fast path: a single key on both sides means the restricted comparison is the overall one,
    // which the caller passes in `scratch.doc` (always computed first).
    let first = g.first().or(p.first()).map(key_of);
    let Some(k0) = first else { return };
    if g.iter().chain(p).all(|e| key_of(e) == k0) {
        merge(&mut dst[k0 as usize], &scratch.doc);
        return;
    }
    scratch.gk.clear();
    scratch.gk.extend_from_slice(g);
    scratch.gk.sort_by_key(key_of); // stable: input order kept within a key
    scratch.pk.clear();
    scratch.pk.extend_from_slice(p);
    scratch.pk.sort_by_key(key_of);
    let (gk, pk) = (
        std::mem::take(&mut scratch.gk),
        std::mem::take(&mut scratch.pk),
    );
    let (mut i, mut j) = (0, 0);
    while i < gk.len() || j < pk.len() {
        let k = match (gk.get(i), pk.get(j)) {
            (Some(a), Some(b)) => key_of(a).min(key_of(b)),
            (Some(a), None) => key_of(a),
            (None, Some(b)) => key_of(b),
            (None, None) => unreachable!(),
        };
        let i0 = i;
        while i < gk.len() && key_of(&gk[i]) == k {
            i += 1;
        }
        let j0 = j;
        while j < pk.len() && key_of(&pk[j]) == k {
            j += 1;
        }
        for (m, mode) in MODES.iter().enumerate() {
            let c = greedy(*mode, &gk[i0..i], &pk[j0..j], cfg, &mut scratch.pair, None);
            add(&mut dst[k as usize], m, &c);
        }
    }
    scratch.gk = gk;
    scratch.pk = pk;
}

#[derive(Default)]
struct Scratch {
    g: Vec<Ent>,
    p: Vec<Ent>,
    gk: Vec<Ent>,
    pk: Vec<Ent>,
    pair: PairScratch,
    masks: Masks,
    keys: Vec<u32>,
    preds: Vec<u8>,
    dropped: Vec<u32>,
    doc: ModeCounts,
}

/// One chunk of documents with its output slices.
struct Job<'a> {
    docs: std::ops::Range<usize>,
    per_doc: &'a mut [u32],
    gold_cat: &'a mut [i8],
    pred_cat: &'a mut [i8],
    pred_pair: &'a mut [i64],
}

/// Split `v` into consecutive pieces of the given lengths.
fn split_lengths<'a, T>(mut v: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &n in lens {
        let (a, b) = std::mem::take(&mut v).split_at_mut(n);
        out.push(a);
        v = b;
    }
    out
}

/// Score predicted spans against gold spans in all four match modes at once.
///
/// Documents are processed in parallel (rayon); the result does not depend on the number of
/// threads. See the module documentation for the definitions.
///
/// # Errors
/// [`Error::Shape`] for columns of unequal length, document indices outside `0..n_docs`, label
/// ids outside `0..n_labels` or bad breakdown columns; [`Error::Offset`] for a negative start
/// or an empty or reversed span. Messages name the side, the span's input index and its
/// document.
pub fn score_spans(
    gold: &SpanColumns<'_>,
    pred: &SpanColumns<'_>,
    opts: &SpanOptions,
    breakdowns: &Breakdowns<'_>,
) -> Result<SpanScore> {
    check_columns(gold, "gold", opts)?;
    check_columns(pred, "pred", opts)?;
    let (n_groups, doc_group) = match breakdowns.doc_group {
        Some((g, n)) => {
            if g.len() != opts.n_docs {
                return Err(Error::Shape(format!(
                    "document groups: {} values for {} documents",
                    g.len(),
                    opts.n_docs
                )));
            }
            if let Some(i) = g.iter().position(|&x| x < 0 || x as usize >= n) {
                return Err(Error::Shape(format!(
                    "document {i}: group {} is outside 0..{n}",
                    g[i]
                )));
            }
            (n, Some(g))
        }
        None => (0, None),
    };
    let (n_buckets, buckets) = match breakdowns.span_bucket {
        Some((gb, pb, n)) => {
            for (what, b, len) in [("gold", gb, gold.len()), ("pred", pb, pred.len())] {
                if b.len() != len {
                    return Err(Error::Shape(format!(
                        "{what} buckets: {} values for {len} spans",
                        b.len()
                    )));
                }
                if let Some(i) = b.iter().position(|&x| x < 0 || x as usize >= n) {
                    return Err(Error::Shape(format!(
                        "{what} span {i}: bucket {} is outside 0..{n}",
                        b[i]
                    )));
                }
            }
            (n, Some((gb, pb)))
        }
        None => (0, None),
    };

    let gc = csr(gold.doc, opts.n_docs);
    let pc = csr(pred.doc, opts.n_docs);
    let cfg = Cfg {
        min_pct: opts.min_overlap_percent,
        exact_first: opts.pairing == Pairing::ExactFirst,
    };
    let inc = i64::from(opts.ends_inclusive);

    let n_docs = opts.n_docs;
    let mut per_doc = if opts.per_doc {
        vec![0u32; n_docs * N_MODES * N_CATEGORIES]
    } else {
        Vec::new()
    };
    let (mut gold_cat, mut pred_cat, mut pred_pair) = if opts.outcomes {
        (
            vec![MIS as i8; gold.len()],
            vec![SPU as i8; pred.len()],
            vec![-1i64; pred.len()],
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };

    // Chunks of documents, a few per thread, each with its slices of the outputs.
    let n_chunks = (rayon::current_num_threads() * 8).clamp(1, n_docs.max(1));
    let bounds: Vec<usize> = (0..=n_chunks).map(|i| i * n_docs / n_chunks).collect();
    let lens = |off: &[usize], scale: usize| -> Vec<usize> {
        bounds
            .windows(2)
            .map(|w| (off[w[1]] - off[w[0]]) * scale)
            .collect()
    };
    let doc_lens: Vec<usize> = bounds
        .windows(2)
        .map(|w| (w[1] - w[0]) * N_MODES * N_CATEGORIES * usize::from(opts.per_doc))
        .collect();
    let out_on = usize::from(opts.outcomes);
    let jobs: Vec<Job<'_>> = split_lengths(&mut per_doc, &doc_lens)
        .into_iter()
        .zip(split_lengths(&mut gold_cat, &lens(&gc.offsets, out_on)))
        .zip(split_lengths(&mut pred_cat, &lens(&pc.offsets, out_on)))
        .zip(split_lengths(&mut pred_pair, &lens(&pc.offsets, out_on)))
        .zip(bounds.windows(2))
        .map(|((((pd, gcat), pcat), ppair), w)| Job {
            docs: w[0]..w[1],
            per_doc: pd,
            gold_cat: gcat,
            pred_cat: pcat,
            pred_pair: ppair,
        })
        .collect();

    let acc = jobs
        .into_par_iter()
        .map(|job| {
            let mut acc = Acc::new(opts.n_labels, n_buckets, n_groups);
            let mut s = Scratch::default();
            let (g0, p0) = (gc.offsets[job.docs.start], pc.offsets[job.docs.start]);
            let rec = Record {
                pred_cat: job.pred_cat,
                pred_pair: job.pred_pair,
                gold_cat: job.gold_cat,
            };
            for (di, d) in job.docs.clone().enumerate() {
                let fill =
                    |s: &mut Vec<Ent>, c: &SpanColumns<'_>, x: &Csr, bucket: Option<&[i64]>| {
                        s.clear();
                        let base = x.offsets[d];
                        for (k, &i) in x.order[base..x.offsets[d + 1]].iter().enumerate() {
                            s.push(Ent {
                                label: c.label[i] as u32,
                                key: bucket.map_or(0, |b| b[i] as u32),
                                start: c.start[i],
                                end: c.end[i] + inc,
                                pos: k as u32,
                            });
                        }
                    };
                fill(&mut s.g, gold, &gc, buckets.map(|b| b.0));
                fill(&mut s.p, pred, &pc, buckets.map(|b| b.1));
                // Local positions of this document within the chunk's outcome slices.
                let (gbase, pbase) = (gc.offsets[d] - g0, pc.offsets[d] - p0);
                if opts.duplicates == Duplicates::Set {
                    s.dropped.clear();
                    acc.gdup += dedup(&mut s.g, &mut s.dropped);
                    if opts.outcomes {
                        for &k in &s.dropped {
                            rec.gold_cat[gbase + k as usize] = DUPLICATE;
                        }
                    }
                    s.dropped.clear();
                    acc.pdup += dedup(&mut s.p, &mut s.dropped);
                    if opts.outcomes {
                        for &k in &s.dropped {
                            rec.pred_cat[pbase + k as usize] = DUPLICATE;
                        }
                    }
                }
                s.doc = ModeCounts::default();
                let fast = cfg.exact_first && s.g.len() <= 64 && s.p.len() <= 64;
                if fast {
                    s.masks.build(&s.g, &s.p, cfg);
                    s.preds.clear();
                    s.preds.extend(0..s.p.len() as u8);
                }
                for (m, mode) in MODES.iter().enumerate() {
                    let c = if m == 0 && opts.outcomes {
                        let gl = gc.offsets[d + 1] - gc.offsets[d];
                        let pl = pc.offsets[d + 1] - pc.offsets[d];
                        let mut r = Record {
                            pred_cat: &mut rec.pred_cat[pbase..pbase + pl],
                            pred_pair: &mut rec.pred_pair[pbase..pbase + pl],
                            gold_cat: &mut rec.gold_cat[gbase..gbase + gl],
                        };
                        let c = if fast {
                            let all = all_bits(s.g.len());
                            pair_masks(*mode, &s.g, &s.p, &s.preds, all, &s.masks, Some(&mut r))
                        } else {
                            greedy(*mode, &s.g, &s.p, cfg, &mut s.pair, Some(&mut r))
                        };
                        // Pairs are local positions: make them input indices.
                        for v in r.pred_pair.iter_mut() {
                            if *v >= 0 {
                                *v = gc.order[gc.offsets[d] + *v as usize] as i64;
                            }
                        }
                        c
                    } else if fast {
                        let all = all_bits(s.g.len());
                        pair_masks(*mode, &s.g, &s.p, &s.preds, all, &s.masks, None)
                    } else {
                        greedy(*mode, &s.g, &s.p, cfg, &mut s.pair, None)
                    };
                    add(&mut s.doc, m, &c);
                }
                merge(&mut acc.overall, &s.doc);
                if !job.per_doc.is_empty() {
                    let row =
                        &mut job.per_doc[di * N_MODES * N_CATEGORIES..][..N_MODES * N_CATEGORIES];
                    for (m, counts) in s.doc.iter().enumerate() {
                        for (c, &x) in counts.iter().enumerate() {
                            row[m * N_CATEGORIES + c] = x as u32;
                        }
                    }
                }
                let strict = &s.doc[0];
                let exact = strict[INC] + strict[PAR] + strict[MIS] + strict[SPU] == 0;
                let group = doc_group.map_or(0, |g| g[d] as usize);
                if let Some(_g) = doc_group {
                    merge(&mut acc.per_group[group], &s.doc);
                }
                if exact {
                    acc.exact_docs[group] += 1;
                }
                if fast {
                    let (g, p, m, doc) = (&s.g, &s.p, &s.masks, &s.doc);
                    let (keys, preds) = (&mut s.keys, &mut s.preds);
                    let label = |e: &Ent| e.label;
                    restricted_masks(g, p, label, m, &mut acc.per_label, doc, keys, preds);
                    if buckets.is_some() {
                        let key = |e: &Ent| e.key;
                        restricted_masks(g, p, key, m, &mut acc.per_bucket, doc, keys, preds);
                    }
                } else {
                    let (g, p) = (std::mem::take(&mut s.g), std::mem::take(&mut s.p));
                    restricted(&g, &p, cfg, |e| e.label, &mut acc.per_label, &mut s);
                    if buckets.is_some() {
                        restricted(&g, &p, cfg, |e| e.key, &mut acc.per_bucket, &mut s);
                    }
                    s.g = g;
                    s.p = p;
                }
            }
            acc
        })
        .reduce(|| Acc::new(opts.n_labels, n_buckets, n_groups), Acc::merge);

    // Outcomes were written in document-run order: scatter them back to input order.
    let (gold_outcome, pred_outcome, pred_pair) = if opts.outcomes {
        let mut go = vec![0i8; gold.len()];
        for (k, &i) in gc.order.iter().enumerate() {
            go[i] = gold_cat[k];
        }
        let mut po = vec![0i8; pred.len()];
        let mut pp = vec![0i64; pred.len()];
        for (k, &i) in pc.order.iter().enumerate() {
            po[i] = pred_cat[k];
            pp[i] = pred_pair[k];
        }
        (go, po, pp)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };

    Ok(SpanScore {
        overall: acc.overall,
        per_label: acc.per_label,
        per_bucket: acc.per_bucket,
        per_group: acc.per_group,
        exact_docs: acc.exact_docs,
        gold_duplicates: acc.gdup,
        pred_duplicates: acc.pdup,
        per_doc,
        gold_outcome,
        pred_outcome,
        pred_pair,
    })
}

/// Columns of strings: document index, label id and a key identifying the surface string
/// (equal keys ⇔ equal strings; e.g. an interned id).
#[derive(Debug, Clone, Copy)]
pub struct StringColumns<'a> {
    /// Document index per string, in `0..n_docs`.
    pub doc: &'a [i64],
    /// Label id per string, in `0..n_labels`.
    pub label: &'a [i64],
    /// Key of the surface string.
    pub key: &'a [i64],
}

/// Result of [`score_strings`]: true positives, false positives and false negatives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StringScore {
    /// Per label id: `[tp, fp, fn]`.
    pub per_label: Vec<[u64; 3]>,
    /// Per document group: `[tp, fp, fn]` (empty without groups).
    pub per_group: Vec<[u64; 3]>,
    /// Documents where the two (multi)sets are equal, per group (or one entry).
    pub exact_docs: Vec<u64>,
    /// Gold strings dropped as duplicates ([`Duplicates::Set`]).
    pub gold_duplicates: u64,
    /// Predicted strings dropped as duplicates.
    pub pred_duplicates: u64,
    /// `n_docs × 3` counts `[tp, fp, fn]`, row-major (when requested).
    pub per_doc: Vec<u32>,
}

fn check_strings(c: &StringColumns<'_>, what: &str, n_docs: usize, n_labels: usize) -> Result<()> {
    let n = c.doc.len();
    if c.label.len() != n || c.key.len() != n {
        return Err(Error::Shape(format!(
            "{what} columns differ in length: doc {n}, label {}, key {}",
            c.label.len(),
            c.key.len()
        )));
    }
    for i in 0..n {
        let d = c.doc[i];
        if d < 0 || d as usize >= n_docs {
            return Err(Error::Shape(format!(
                "{what} string {i}: document index {d} is outside 0..{n_docs}"
            )));
        }
        let l = c.label[i];
        if l < 0 || l as usize >= n_labels {
            return Err(Error::Shape(format!(
                "{what} string {i} (document {d}): label id {l} is outside 0..{n_labels}"
            )));
        }
    }
    Ok(())
}

/// Score predicted `(label, string)` pairs against gold pairs per document (string level).
///
/// With [`Duplicates::Set`], TP per document and label is the size of the intersection of the
/// two sets; with [`Duplicates::Multiset`] it is the sum over strings of the smaller
/// multiplicity (DeepKE's `eval_func.py` default). FP = predicted − TP, FN = gold − TP.
///
/// # Errors
/// [`Error::Shape`] for columns of unequal length, document indices outside `0..n_docs`, label
/// ids outside `0..n_labels`, or bad groups.
pub fn score_strings(
    gold: &StringColumns<'_>,
    pred: &StringColumns<'_>,
    n_docs: usize,
    n_labels: usize,
    duplicates: Duplicates,
    doc_group: Option<(&[i64], usize)>,
    per_doc: bool,
) -> Result<StringScore> {
    check_strings(gold, "gold", n_docs, n_labels)?;
    check_strings(pred, "pred", n_docs, n_labels)?;
    let n_groups = match doc_group {
        Some((g, n)) => {
            if g.len() != n_docs {
                return Err(Error::Shape(format!(
                    "document groups: {} values for {n_docs} documents",
                    g.len()
                )));
            }
            if let Some(i) = g.iter().position(|&x| x < 0 || x as usize >= n) {
                return Err(Error::Shape(format!(
                    "document {i}: group {} is outside 0..{n}",
                    g[i]
                )));
            }
            n
        }
        None => 0,
    };
    let gc = csr(gold.doc, n_docs);
    let pc = csr(pred.doc, n_docs);
    let mut docs_out = if per_doc {
        vec![0u32; n_docs * 3]
    } else {
        Vec::new()
    };
    let n_chunks = (rayon::current_num_threads() * 8).clamp(1, n_docs.max(1));
    let bounds: Vec<usize> = (0..=n_chunks).map(|i| i * n_docs / n_chunks).collect();
    let lens: Vec<usize> = bounds
        .windows(2)
        .map(|w| (w[1] - w[0]) * 3 * usize::from(per_doc))
        .collect();
    let jobs: Vec<(std::ops::Range<usize>, &mut [u32])> = bounds
        .windows(2)
        .map(|w| w[0]..w[1])
        .zip(split_lengths(&mut docs_out, &lens))
        .collect();

    type Acc3 = (Vec<[u64; 3]>, Vec<[u64; 3]>, Vec<u64>, u64, u64);
    let new_acc = || -> Acc3 {
        (
            vec![[0; 3]; n_labels],
            vec![[0; 3]; n_groups],
            vec![0; n_groups.max(1)],
            0,
            0,
        )
    };
    let acc = jobs
        .into_par_iter()
        .map(|(docs, rows)| {
            let mut a = new_acc();
            let mut g: Vec<(i64, i64)> = Vec::new();
            let mut p: Vec<(i64, i64)> = Vec::new();
            for (di, d) in docs.enumerate() {
                g.clear();
                p.clear();
                for &i in &gc.order[gc.offsets[d]..gc.offsets[d + 1]] {
                    g.push((gold.label[i], gold.key[i]));
                }
                for &i in &pc.order[pc.offsets[d]..pc.offsets[d + 1]] {
                    p.push((pred.label[i], pred.key[i]));
                }
                g.sort_unstable();
                p.sort_unstable();
                if duplicates == Duplicates::Set {
                    let (gn, pn) = (g.len(), p.len());
                    g.dedup();
                    p.dedup();
                    a.3 += (gn - g.len()) as u64;
                    a.4 += (pn - p.len()) as u64;
                }
                let mut doc = [0u64; 3];
                let (mut i, mut j) = (0, 0);
                while i < g.len() && j < p.len() {
                    let lab = match g[i].cmp(&p[j]) {
                        std::cmp::Ordering::Equal => {
                            let l = g[i].0;
                            a.0[l as usize][0] += 1;
                            doc[0] += 1;
                            i += 1;
                            j += 1;
                            continue;
                        }
                        std::cmp::Ordering::Less => {
                            let l = g[i].0;
                            i += 1;
                            (l, 2)
                        }
                        std::cmp::Ordering::Greater => {
                            let l = p[j].0;
                            j += 1;
                            (l, 1)
                        }
                    };
                    a.0[lab.0 as usize][lab.1] += 1;
                    doc[lab.1] += 1;
                }
                for x in &g[i..] {
                    a.0[x.0 as usize][2] += 1;
                    doc[2] += 1;
                }
                for x in &p[j..] {
                    a.0[x.0 as usize][1] += 1;
                    doc[1] += 1;
                }
                let group = doc_group.map_or(0, |(gr, _)| gr[d] as usize);
                if n_groups > 0 {
                    for (x, y) in a.1[group].iter_mut().zip(doc) {
                        *x += y;
                    }
                }
                if doc[1] == 0 && doc[2] == 0 {
                    a.2[group] += 1;
                }
                if !rows.is_empty() {
                    for (k, &x) in doc.iter().enumerate() {
                        rows[di * 3 + k] = x as u32;
                    }
                }
            }
            a
        })
        .reduce(new_acc, |mut x, y| {
            for (a, b) in x.0.iter_mut().zip(&y.0) {
                for k in 0..3 {
                    a[k] += b[k];
                }
            }
            for (a, b) in x.1.iter_mut().zip(&y.1) {
                for k in 0..3 {
                    a[k] += b[k];
                }
            }
            for (a, b) in x.2.iter_mut().zip(&y.2) {
                *a += b;
            }
            x.3 += y.3;
            x.4 += y.4;
            x
        });
    Ok(StringScore {
        per_label: acc.0,
        per_group: acc.1,
        exact_docs: acc.2,
        gold_duplicates: acc.3,
        pred_duplicates: acc.4,
        per_doc: docs_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(n_docs: usize, n_labels: usize) -> SpanOptions {
        SpanOptions {
            n_docs,
            n_labels,
            duplicates: Duplicates::Set,
            ends_inclusive: false,
            min_overlap_percent: 0.0,
            pairing: Pairing::ExactFirst,
            per_doc: true,
            outcomes: true,
        }
    }

    fn cols<'a>(v: &'a [[i64; 4]], buf: &'a mut [Vec<i64>; 4]) -> SpanColumns<'a> {
        for row in v {
            for k in 0..4 {
                buf[k].push(row[k]);
            }
        }
        SpanColumns {
            doc: &buf[0],
            label: &buf[1],
            start: &buf[2],
            end: &buf[3],
        }
    }

    #[test]
    fn strict_counts_and_duplicates() {
        let (mut a, mut b) = (Default::default(), Default::default());
        let g = cols(&[[0, 0, 0, 2], [0, 1, 3, 5], [1, 0, 2, 4]], &mut a);
        let p = cols(
            &[[0, 0, 0, 2], [0, 0, 3, 5], [1, 0, 2, 4], [1, 0, 2, 4]],
            &mut b,
        );
        let r = score_spans(&g, &p, &opts(2, 2), &Breakdowns::default()).unwrap();
        // strict: COR 2, INC 1 (label differs on [3,5)), no MIS, no SPU (duplicate dropped)
        assert_eq!(r.overall[0], [2, 1, 0, 0, 0]);
        // exact: boundaries all equal
        assert_eq!(r.overall[1], [3, 0, 0, 0, 0]);
        assert_eq!(r.pred_duplicates, 1);
        assert_eq!(r.pred_outcome, vec![0, 1, 0, DUPLICATE]);
        assert_eq!(r.pred_pair, vec![0, 1, 2, -1]);
        assert_eq!(r.gold_outcome, vec![0, 1, 0]);
        // per label, restricted: label 0 has pred [3,5) spurious; label 1 has gold missed
        assert_eq!(r.per_label[0][0], [2, 0, 0, 0, 1]);
        assert_eq!(r.per_label[1][0], [0, 0, 0, 1, 0]);
        assert_eq!(r.exact_docs, vec![1]);
    }

    #[test]
    fn exact_first_pairing_is_order_independent() {
        let (mut a, mut b) = (Default::default(), Default::default());
        // The imprecise prediction comes first and overlaps the gold span the second matches.
        let g = cols(&[[0, 0, 0, 4]], &mut a);
        let p = cols(&[[0, 0, 1, 4], [0, 0, 0, 4]], &mut b);
        let r = score_spans(&g, &p, &opts(1, 1), &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[0], [1, 0, 0, 0, 1]);
        assert_eq!(r.pred_outcome, vec![SPU as i8, COR as i8]);
        let mut o = opts(1, 1);
        o.pairing = Pairing::InOrder;
        let r = score_spans(&g, &p, &o, &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[0], [0, 1, 0, 0, 1]); // nervaluate: INC then SPU
    }

    /// The bit-set path (at most 64 spans a side) and the general loop agree.
    #[test]
    fn bitset_path_matches_general_loop() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..3000 {
            let mk = |next: &mut dyn FnMut(u64) -> u64| -> Vec<Ent> {
                (0..next(7))
                    .map(|k| {
                        let s = next(12) as i64;
                        Ent {
                            label: next(3) as u32,
                            key: 0,
                            start: s,
                            end: s + 1 + next(4) as i64,
                            pos: k as u32,
                        }
                    })
                    .collect()
            };
            let g = mk(&mut next);
            let p = mk(&mut next);
            let cfg = Cfg {
                min_pct: [0.0, 1.0, 50.0][next(3) as usize],
                exact_first: true,
            };
            let mut masks = Masks::default();
            masks.build(&g, &p, cfg);
            let preds: Vec<u8> = (0..p.len() as u8).collect();
            let mut sc = PairScratch::default();
            for mode in MODES {
                let slow = greedy(mode, &g, &p, cfg, &mut sc, None);
                let fast = pair_masks(mode, &g, &p, &preds, all_bits(g.len()), &masks, None);
                assert_eq!(slow, fast);
                // Restricted to label 0.
                let g0: Vec<Ent> = g.iter().filter(|e| e.label == 0).copied().collect();
                let p0: Vec<Ent> = p.iter().filter(|e| e.label == 0).copied().collect();
                let gold0 = g
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.label == 0)
                    .fold(0u64, |m, (j, _)| m | 1 << j);
                let preds0: Vec<u8> = (0..p.len() as u8)
                    .filter(|&i| p[i as usize].label == 0)
                    .collect();
                let slow0 = greedy(mode, &g0, &p0, cfg, &mut sc, None);
                let fast0 = pair_masks(mode, &g, &p, &preds0, gold0, &masks, None);
                assert_eq!(slow0, fast0);
            }
        }
    }

    #[test]
    fn multiset_repeat_is_spurious() {
        let (mut a, mut b) = (Default::default(), Default::default());
        let g = cols(&[[0, 0, 0, 2]], &mut a);
        let p = cols(&[[0, 0, 0, 2], [0, 0, 0, 2]], &mut b);
        let mut o = opts(1, 1);
        o.duplicates = Duplicates::Multiset;
        let r = score_spans(&g, &p, &o, &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[0], [1, 0, 0, 0, 1]);
        assert_eq!(r.exact_docs, vec![0]);
    }

    #[test]
    fn partial_and_type_modes() {
        let (mut a, mut b) = (Default::default(), Default::default());
        // gold PER [0,4); pred PER [1,4) overlaps; pred LOC [10,12) spurious; gold LOC [6,8) missed
        let g = cols(&[[0, 0, 0, 4], [0, 1, 6, 8]], &mut a);
        let p = cols(&[[0, 0, 1, 4], [0, 1, 10, 12]], &mut b);
        let r = score_spans(&g, &p, &opts(1, 2), &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[0], [0, 1, 0, 1, 1]); // strict
        assert_eq!(r.overall[1], [0, 1, 0, 1, 1]); // exact
        assert_eq!(r.overall[2], [0, 0, 1, 1, 1]); // partial
        assert_eq!(r.overall[3], [1, 0, 0, 1, 1]); // type
    }

    #[test]
    fn inclusive_ends_make_adjacent_spans_overlap() {
        let (mut a, mut b) = (Default::default(), Default::default());
        let g = cols(&[[0, 0, 0, 2]], &mut a);
        let p = cols(&[[0, 0, 2, 4]], &mut b);
        let r = score_spans(&g, &p, &opts(1, 1), &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[2], [0, 0, 0, 1, 1]);
        let mut o = opts(1, 1);
        o.ends_inclusive = true;
        o.min_overlap_percent = 1.0;
        let r = score_spans(&g, &p, &o, &Breakdowns::default()).unwrap();
        assert_eq!(r.overall[2], [0, 0, 1, 0, 0]);
    }

    #[test]
    fn unsorted_documents_and_groups() {
        let (mut a, mut b) = (Default::default(), Default::default());
        let g = cols(&[[1, 0, 0, 1], [0, 0, 0, 1]], &mut a);
        let p = cols(&[[0, 0, 0, 1], [1, 0, 0, 2]], &mut b);
        let groups = [0i64, 1];
        let bd = Breakdowns {
            doc_group: Some((&groups, 2)),
            span_bucket: None,
        };
        let r = score_spans(&g, &p, &opts(2, 1), &bd).unwrap();
        assert_eq!(r.per_group[0][0], [1, 0, 0, 0, 0]);
        assert_eq!(r.per_group[1][0], [0, 1, 0, 0, 0]);
        assert_eq!(r.pred_pair, vec![1, 0]);
        assert_eq!(r.exact_docs, vec![1, 0]);
        assert_eq!(&r.per_doc[..5], &[1, 0, 0, 0, 0]);
    }

    #[test]
    fn errors_name_the_span() {
        let (mut a, mut b) = (Default::default(), Default::default());
        let g = cols(&[[0, 3, 0, 1]], &mut a);
        let p = cols(&[[0, 0, 2, 2]], &mut b);
        let e = score_spans(&g, &p, &opts(1, 2), &Breakdowns::default()).unwrap_err();
        assert!(e
            .to_string()
            .contains("gold span 0 (document 0): label id 3"));
        let mut c = Default::default();
        let g2 = cols(&[], &mut c);
        let e = score_spans(&g2, &p, &opts(1, 2), &Breakdowns::default()).unwrap_err();
        assert!(e.to_string().contains("pred span 0 (document 0): [2, 2)"));
    }

    #[test]
    fn strings_set_and_multiset() {
        let g = StringColumns {
            doc: &[0, 0, 0],
            label: &[0, 0, 1],
            key: &[7, 7, 8],
        };
        let p = StringColumns {
            doc: &[0, 0],
            label: &[0, 1],
            key: &[7, 9],
        };
        let s = score_strings(&g, &p, 1, 2, Duplicates::Set, None, true).unwrap();
        assert_eq!(s.per_label, vec![[1, 0, 0], [0, 1, 1]]);
        assert_eq!(s.gold_duplicates, 1);
        let m = score_strings(&g, &p, 1, 2, Duplicates::Multiset, None, true).unwrap();
        assert_eq!(m.per_label, vec![[1, 0, 1], [0, 1, 1]]);
        assert_eq!(m.per_doc, vec![1, 1, 2]);
    }
}
