//! Span scoring.
//!
//! Strict span match (as in CoNLL-2003's conlleval and nervaluate's `strict`): a predicted
//! span counts as a true positive when a gold span has the same document, label, start and
//! end. Spans are compared as sets per document (duplicates removed before counting, and
//! their number reported).

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Columns of spans: document index, label id, start, end (half-open, code points).
#[derive(Debug, Clone, Copy)]
pub struct SpanColumns<'a> {
    /// Document index per span.
    pub doc: &'a [i64],
    /// Label id per span, in `0..n_labels`.
    pub label: &'a [i64],
    /// Start offset per span.
    pub start: &'a [i64],
    /// End offset per span (exclusive).
    pub end: &'a [i64],
}

/// Per-label counts of a strict span comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanCounts {
    /// True positives per label.
    pub tp: Vec<u64>,
    /// False positives per label.
    pub fp: Vec<u64>,
    /// False negatives per label.
    pub fn_: Vec<u64>,
    /// Gold spans dropped as exact duplicates.
    pub gold_duplicates: u64,
    /// Predicted spans dropped as exact duplicates.
    pub pred_duplicates: u64,
}

type Key = (i64, i64, i64, i64);

fn keys(c: &SpanColumns<'_>, what: &str, n_labels: usize) -> Result<(Vec<Key>, u64)> {
    let n = c.doc.len();
    if c.label.len() != n || c.start.len() != n || c.end.len() != n {
        return Err(Error::Shape(format!(
            "{what} columns differ in length: doc {}, label {}, start {}, end {}",
            n,
            c.label.len(),
            c.start.len(),
            c.end.len()
        )));
    }
    let mut v: Vec<Key> = Vec::with_capacity(n);
    for i in 0..n {
        let l = c.label[i];
        if l < 0 || l as usize >= n_labels {
            return Err(Error::Shape(format!(
                "{what} span {i}: label id {l} is outside 0..{n_labels}"
            )));
        }
        if c.start[i] < 0 || c.end[i] < c.start[i] {
            return Err(Error::Offset(format!(
                "{what} span {i}: [{}, {}) is not a valid span",
                c.start[i], c.end[i]
            )));
        }
        // Sort key puts the label second so that counting per label is one pass.
        v.push((c.doc[i], l, c.start[i], c.end[i]));
    }
    v.par_sort_unstable();
    let before = v.len();
    v.dedup();
    let dropped = (before - v.len()) as u64;
    Ok((v, dropped))
}

/// Strict span comparison of `pred` against `gold` over `n_labels` labels.
///
/// # Errors
/// [`Error::Shape`] for columns of unequal length or label ids out of range,
/// [`Error::Offset`] for negative or reversed spans.
pub fn score_strict(
    gold: &SpanColumns<'_>,
    pred: &SpanColumns<'_>,
    n_labels: usize,
) -> Result<SpanCounts> {
    let (g, gd) = keys(gold, "gold", n_labels)?;
    let (p, pd) = keys(pred, "pred", n_labels)?;
    let mut out = SpanCounts {
        tp: vec![0; n_labels],
        fp: vec![0; n_labels],
        fn_: vec![0; n_labels],
        gold_duplicates: gd,
        pred_duplicates: pd,
    };
    let (mut i, mut j) = (0, 0);
    while i < g.len() && j < p.len() {
        match g[i].cmp(&p[j]) {
            std::cmp::Ordering::Equal => {
                out.tp[g[i].1 as usize] += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                out.fn_[g[i].1 as usize] += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.fp[p[j].1 as usize] += 1;
                j += 1;
            }
        }
    }
    for k in &g[i..] {
        out.fn_[k.1 as usize] += 1;
    }
    for k in &p[j..] {
        out.fp[k.1 as usize] += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let gold = SpanColumns {
            doc: &[0, 0, 1],
            label: &[0, 1, 0],
            start: &[0, 3, 2],
            end: &[2, 5, 4],
        };
        let pred = SpanColumns {
            doc: &[0, 0, 1, 1],
            label: &[0, 0, 0, 0],
            start: &[0, 3, 2, 2],
            end: &[2, 5, 4, 4],
        };
        let c = score_strict(&gold, &pred, 2).unwrap();
        assert_eq!(c.tp, vec![2, 0]);
        assert_eq!(c.fp, vec![1, 0]);
        assert_eq!(c.fn_, vec![0, 1]);
        assert_eq!(c.pred_duplicates, 1);
    }

    #[test]
    fn bad_label() {
        let cols = SpanColumns {
            doc: &[0],
            label: &[3],
            start: &[0],
            end: &[1],
        };
        assert!(score_strict(&cols, &cols, 2).is_err());
    }
}
