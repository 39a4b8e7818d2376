//! Scoring kernels over numpy columns (zero-copy when the arrays are contiguous int64).

use std::borrow::Cow;

use numpy::ndarray::Array;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use nerlm_core::score::{
    score_spans as core_score_spans, score_strings as core_score_strings, Breakdowns, Duplicates,
    ModeCounts, Pairing, SpanColumns, SpanOptions, StringColumns, N_CATEGORIES, N_MODES,
};

use crate::errors::to_py;

type Col<'py> = PyReadonlyArray1<'py, i64>;

fn slice<'a>(a: &'a Col<'_>) -> Cow<'a, [i64]> {
    match a.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(a.as_array().iter().copied().collect()),
    }
}

fn duplicates(s: &str) -> PyResult<Duplicates> {
    match s {
        "set" => Ok(Duplicates::Set),
        "multiset" => Ok(Duplicates::Multiset),
        _ => Err(PyValueError::new_err(format!(
            "duplicates must be 'set' or 'multiset', not {s:?}"
        ))),
    }
}

fn mode_array<'py>(py: Python<'py>, v: &[ModeCounts]) -> PyResult<Bound<'py, PyAny>> {
    let flat: Vec<u64> = v.iter().flatten().flatten().copied().collect();
    let a = Array::from_shape_vec((v.len(), N_MODES, N_CATEGORIES), flat)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

#[pyfunction]
#[pyo3(signature = (
    gold_doc, gold_label, gold_start, gold_end,
    pred_doc, pred_label, pred_start, pred_end,
    n_docs, n_labels, *,
    duplicates = "set", ends_inclusive = false, min_overlap_percent = 0.0,
    pairing = "exact-first", doc_group = None, n_groups = 0,
    gold_bucket = None, pred_bucket = None, n_buckets = 0,
    per_doc = false, outcomes = false,
))]
#[allow(clippy::too_many_arguments)]
fn score_spans<'py>(
    py: Python<'py>,
    gold_doc: Col<'py>,
    gold_label: Col<'py>,
    gold_start: Col<'py>,
    gold_end: Col<'py>,
    pred_doc: Col<'py>,
    pred_label: Col<'py>,
    pred_start: Col<'py>,
    pred_end: Col<'py>,
    n_docs: usize,
    n_labels: usize,
    duplicates: &str,
    ends_inclusive: bool,
    min_overlap_percent: f64,
    pairing: &str,
    doc_group: Option<Col<'py>>,
    n_groups: usize,
    gold_bucket: Option<Col<'py>>,
    pred_bucket: Option<Col<'py>>,
    n_buckets: usize,
    per_doc: bool,
    outcomes: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = SpanOptions {
        n_docs,
        n_labels,
        duplicates: self::duplicates(duplicates)?,
        ends_inclusive,
        min_overlap_percent,
        pairing: match pairing {
            "exact-first" => Pairing::ExactFirst,
            "in-order" => Pairing::InOrder,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "pairing must be 'exact-first' or 'in-order', not {pairing:?}"
                )))
            }
        },
        per_doc,
        outcomes,
    };
    let (gd, gl, gs, ge) = (
        slice(&gold_doc),
        slice(&gold_label),
        slice(&gold_start),
        slice(&gold_end),
    );
    let (pd, pl, ps, pe) = (
        slice(&pred_doc),
        slice(&pred_label),
        slice(&pred_start),
        slice(&pred_end),
    );
    let group = doc_group.as_ref().map(slice);
    let gb = gold_bucket.as_ref().map(slice);
    let pb = pred_bucket.as_ref().map(slice);
    if gb.is_some() != pb.is_some() {
        return Err(PyValueError::new_err(
            "gold_bucket and pred_bucket must be given together",
        ));
    }
    let r = py
        .detach(|| {
            let g = SpanColumns {
                doc: &gd,
                label: &gl,
                start: &gs,
                end: &ge,
            };
            let p = SpanColumns {
                doc: &pd,
                label: &pl,
                start: &ps,
                end: &pe,
            };
            let bd = Breakdowns {
                doc_group: group.as_deref().map(|g| (g, n_groups)),
                span_bucket: match (&gb, &pb) {
                    (Some(a), Some(b)) => Some((&a[..], &b[..], n_buckets)),
                    _ => None,
                },
            };
            core_score_spans(&g, &p, &opts, &bd)
        })
        .map_err(to_py)?;
    let d = PyDict::new(py);
    d.set_item("overall", mode_array(py, &[r.overall])?.get_item(0)?)?;
    d.set_item("per_label", mode_array(py, &r.per_label)?)?;
    d.set_item("per_bucket", mode_array(py, &r.per_bucket)?)?;
    d.set_item("per_group", mode_array(py, &r.per_group)?)?;
    d.set_item("exact_docs", r.exact_docs.into_pyarray(py))?;
    d.set_item("gold_duplicates", r.gold_duplicates)?;
    d.set_item("pred_duplicates", r.pred_duplicates)?;
    let rows = if per_doc { n_docs } else { 0 };
    let per_doc_arr = Array::from_shape_vec((rows, N_MODES, N_CATEGORIES), r.per_doc)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    d.set_item("per_doc", per_doc_arr.into_pyarray(py))?;
    d.set_item("gold_outcome", r.gold_outcome.into_pyarray(py))?;
    d.set_item("pred_outcome", r.pred_outcome.into_pyarray(py))?;
    d.set_item("pred_pair", r.pred_pair.into_pyarray(py))?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (
    gold_doc, gold_label, gold_key, pred_doc, pred_label, pred_key, n_docs, n_labels, *,
    duplicates = "set", doc_group = None, n_groups = 0, per_doc = false,
))]
#[allow(clippy::too_many_arguments)]
fn score_strings<'py>(
    py: Python<'py>,
    gold_doc: Col<'py>,
    gold_label: Col<'py>,
    gold_key: Col<'py>,
    pred_doc: Col<'py>,
    pred_label: Col<'py>,
    pred_key: Col<'py>,
    n_docs: usize,
    n_labels: usize,
    duplicates: &str,
    doc_group: Option<Col<'py>>,
    n_groups: usize,
    per_doc: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let dup = self::duplicates(duplicates)?;
    let (gd, gl, gk) = (slice(&gold_doc), slice(&gold_label), slice(&gold_key));
    let (pd, pl, pk) = (slice(&pred_doc), slice(&pred_label), slice(&pred_key));
    let group = doc_group.as_ref().map(slice);
    let r = py
        .detach(|| {
            let g = StringColumns {
                doc: &gd,
                label: &gl,
                key: &gk,
            };
            let p = StringColumns {
                doc: &pd,
                label: &pl,
                key: &pk,
            };
            core_score_strings(
                &g,
                &p,
                n_docs,
                n_labels,
                dup,
                group.as_deref().map(|g| (g, n_groups)),
                per_doc,
            )
        })
        .map_err(to_py)?;
    let arr3 = |v: &[[u64; 3]]| -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<u64> = v.iter().flatten().copied().collect();
        let a = Array::from_shape_vec((v.len(), 3), flat)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(a.into_pyarray(py).into_any())
    };
    let d = PyDict::new(py);
    d.set_item("per_label", arr3(&r.per_label)?)?;
    d.set_item("per_group", arr3(&r.per_group)?)?;
    d.set_item("exact_docs", r.exact_docs.into_pyarray(py))?;
    d.set_item("gold_duplicates", r.gold_duplicates)?;
    d.set_item("pred_duplicates", r.pred_duplicates)?;
    let rows = if per_doc { n_docs } else { 0 };
    let a = Array::from_shape_vec((rows, 3), r.per_doc)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    d.set_item("per_doc", a.into_pyarray(py))?;
    Ok(d)
}

/// Columns of the entities of a list of documents (objects with `.text` and `.entities`, each
/// entity with `.label`, `.start`, `.end` and `.text`).
#[pyfunction]
#[pyo3(signature = (docs, label_ids, surface_ids = None))]
fn entity_columns<'py>(
    py: Python<'py>,
    docs: &Bound<'py, PyAny>,
    label_ids: &Bound<'py, PyDict>,
    surface_ids: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (a_text, a_entities, a_label, a_start, a_end) = (
        pyo3::intern!(py, "text"),
        pyo3::intern!(py, "entities"),
        pyo3::intern!(py, "label"),
        pyo3::intern!(py, "start"),
        pyo3::intern!(py, "end"),
    );
    let (mut doc, mut label, mut start, mut end, mut key) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut text_len = Vec::new();
    for (i, d) in docs.try_iter()?.enumerate() {
        let d = d?;
        text_len.push(d.getattr(a_text)?.len()? as i64);
        for e in d.getattr(a_entities)?.try_iter()? {
            let e = e?;
            let lab = e.getattr(a_label)?;
            let id = match label_ids.get_item(&lab)? {
                Some(v) => v.extract::<i64>()?,
                None => {
                    let id = label_ids.len() as i64;
                    label_ids.set_item(&lab, id)?;
                    id
                }
            };
            doc.push(i as i64);
            label.push(id);
            start.push(e.getattr(a_start)?.extract::<i64>()?);
            end.push(e.getattr(a_end)?.extract::<i64>()?);
            if let Some(keys) = surface_ids {
                let t = e.getattr(a_text)?;
                let k = match keys.get_item(&t)? {
                    Some(v) => v.extract::<i64>()?,
                    None => {
                        let k = keys.len() as i64;
                        keys.set_item(&t, k)?;
                        k
                    }
                };
                key.push(k);
            }
        }
    }
    let out = PyDict::new(py);
    out.set_item("doc", doc.into_pyarray(py))?;
    out.set_item("label", label.into_pyarray(py))?;
    out.set_item("start", start.into_pyarray(py))?;
    out.set_item("end", end.into_pyarray(py))?;
    out.set_item("key", key.into_pyarray(py))?;
    out.set_item("text_len", text_len.into_pyarray(py))?;
    Ok(out)
}

/// Add the scoring functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(entity_columns, m)?)?;
    m.add_function(wrap_pyfunction!(score_spans, m)?)?;
    m.add_function(wrap_pyfunction!(score_strings, m)?)?;
    Ok(())
}
