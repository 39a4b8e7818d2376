//! Bindings of `nerlm_core::tags`: tag sequences <-> spans, seqeval and conlleval counts.
//! Docstrings live in `python/nerlm/_native.pyi`; the work runs with the GIL released.

use std::collections::HashMap;

use numpy::{Element, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use nerlm_core::score::SpanColumns;
use nerlm_core::tags::{self, Chunking, Dialect, Scheme, TagSet};

use crate::errors::to_py;

/// A numpy array's data as a slice, copied only when the array is not contiguous.
fn data<'a, T: Element + Copy>(a: &'a PyReadonlyArray1<'_, T>) -> std::borrow::Cow<'a, [T]> {
    match a.as_slice() {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(a.as_array().iter().copied().collect()),
    }
}

fn chunking(scheme: Option<&str>, seqeval_exact: bool) -> PyResult<Chunking> {
    Ok(match scheme {
        None => Chunking::Lenient,
        Some(name) => {
            let sc = Scheme::from_name(name).map_err(to_py)?;
            if seqeval_exact {
                Chunking::SeqevalStrict(sc)
            } else {
                Chunking::Strict(sc)
            }
        }
    })
}

fn tag_set(vocabulary: &[String], dialect: Dialect, suffix: bool) -> PyResult<TagSet> {
    TagSet::parse(vocabulary, dialect, suffix).map_err(to_py)
}

type Arr<'py, T> = Bound<'py, PyArray1<T>>;

fn tag_id(
    index: &mut HashMap<String, i32>,
    vocabulary: &Bound<'_, PyList>,
    s: usize,
    k: usize,
    item: &Bound<'_, PyAny>,
) -> PyResult<i32> {
    let tag = item.cast::<PyString>().map_err(|_| {
        let ty = item
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!("sentence {s}, token {k}: expected a str, got {ty}"))
    })?;
    let text = tag.to_str()?;
    if let Some(&id) = index.get(text) {
        return Ok(id);
    }
    let id = i32::try_from(index.len())
        .map_err(|_| PyTypeError::new_err("more than 2**31 distinct tag strings"))?;
    index.insert(text.to_string(), id);
    vocabulary.append(tag)?;
    Ok(id)
}

/// Map tag strings to ids into `vocabulary`, appending the strings it lacks.
#[pyfunction]
fn encode_tag_strings<'py>(
    py: Python<'py>,
    sequences: &Bound<'py, PyAny>,
    vocabulary: &Bound<'py, PyList>,
) -> PyResult<(Arr<'py, i32>, Arr<'py, i64>)> {
    let mut index: HashMap<String, i32> = HashMap::new();
    for (i, v) in vocabulary.iter().enumerate() {
        let s = v
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("vocabulary[{i}] is not a str")))?;
        index.entry(s.to_str()?.to_string()).or_insert(i as i32);
    }
    let mut ids: Vec<i32> = Vec::new();
    let mut offsets: Vec<i64> = vec![0];
    for (s, sent) in sequences.try_iter()?.enumerate() {
        let sent = sent?;
        if sent.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!(
                "sentence {s} is a str; expected a sequence of tag strings per sentence"
            )));
        }
        if let Ok(list) = sent.cast::<PyList>() {
            for (k, item) in list.iter().enumerate() {
                ids.push(tag_id(&mut index, vocabulary, s, k, &item)?);
            }
        } else {
            for (k, item) in sent.try_iter()?.enumerate() {
                ids.push(tag_id(&mut index, vocabulary, s, k, &item?)?);
            }
        }
        offsets.push(ids.len() as i64);
    }
    Ok((PyArray1::from_vec(py, ids), PyArray1::from_vec(py, offsets)))
}

type SpanArrays<'py> = (
    Vec<String>,
    Arr<'py, i64>,
    Arr<'py, i64>,
    Arr<'py, i64>,
    Arr<'py, i64>,
);

/// Decode tag ids into span columns.
#[pyfunction]
#[pyo3(signature = (ids, offsets, vocabulary, scheme=None, *, suffix=false, seqeval_exact=false))]
fn tags_to_spans<'py>(
    py: Python<'py>,
    ids: PyReadonlyArray1<'py, i32>,
    offsets: PyReadonlyArray1<'py, i64>,
    vocabulary: Vec<String>,
    scheme: Option<&str>,
    suffix: bool,
    seqeval_exact: bool,
) -> PyResult<SpanArrays<'py>> {
    let ch = chunking(scheme, seqeval_exact)?;
    let ts = tag_set(&vocabulary, ch.dialect(), suffix)?;
    let (ids, offsets) = (data(&ids), data(&offsets));
    let tab = py
        .detach(|| tags::decode(&ts, &ids, &offsets, ch))
        .map_err(to_py)?;
    Ok((
        ts.type_names().to_vec(),
        PyArray1::from_vec(py, tab.sentence),
        PyArray1::from_vec(py, tab.type_id),
        PyArray1::from_vec(py, tab.start),
        PyArray1::from_vec(py, tab.end),
    ))
}

/// Write span columns as tag ids of a scheme; returns the ids and the tag vocabulary.
#[pyfunction]
#[pyo3(signature = (sentence, type_id, start, end, offsets, type_names, scheme, *, suffix=false))]
#[allow(clippy::too_many_arguments)]
fn spans_to_tags<'py>(
    py: Python<'py>,
    sentence: PyReadonlyArray1<'py, i64>,
    type_id: PyReadonlyArray1<'py, i64>,
    start: PyReadonlyArray1<'py, i64>,
    end: PyReadonlyArray1<'py, i64>,
    offsets: PyReadonlyArray1<'py, i64>,
    type_names: Vec<String>,
    scheme: &str,
    suffix: bool,
) -> PyResult<(Arr<'py, i32>, Vec<String>)> {
    let sc = Scheme::from_name(scheme).map_err(to_py)?;
    let vocab = tags::tag_vocabulary(sc, &type_names, suffix).map_err(to_py)?;
    let (s, t, a, b, o) = (
        data(&sentence),
        data(&type_id),
        data(&start),
        data(&end),
        data(&offsets),
    );
    let ids = py
        .detach(|| {
            let cols = SpanColumns {
                doc: &s,
                label: &t,
                start: &a,
                end: &b,
            };
            tags::encode(sc, type_names.len(), &cols, &o)
        })
        .map_err(to_py)?;
    Ok((PyArray1::from_vec(py, ids), vocab))
}

type SeqevalCounts<'py> = (
    Vec<String>,
    Arr<'py, i64>,
    Arr<'py, i64>,
    Arr<'py, i64>,
    u64,
    u64,
);

fn i64s(v: Vec<u64>) -> Vec<i64> {
    v.into_iter()
        .map(|x| i64::try_from(x).unwrap_or(i64::MAX))
        .collect()
}

/// Per-type chunk counts and token accuracy counts exactly as seqeval 1.2.2 computes them.
#[pyfunction]
#[pyo3(signature = (gold_ids, gold_offsets, pred_ids, pred_offsets, vocabulary, scheme=None, *, suffix=false))]
#[allow(clippy::too_many_arguments)]
fn seqeval_counts<'py>(
    py: Python<'py>,
    gold_ids: PyReadonlyArray1<'py, i32>,
    gold_offsets: PyReadonlyArray1<'py, i64>,
    pred_ids: PyReadonlyArray1<'py, i32>,
    pred_offsets: PyReadonlyArray1<'py, i64>,
    vocabulary: Vec<String>,
    scheme: Option<&str>,
    suffix: bool,
) -> PyResult<SeqevalCounts<'py>> {
    let ch = chunking(scheme, true)?;
    let ts = tag_set(&vocabulary, ch.dialect(), suffix)?;
    let (gi, go, pi, po) = (
        data(&gold_ids),
        data(&gold_offsets),
        data(&pred_ids),
        data(&pred_offsets),
    );
    let c = py
        .detach(|| tags::seqeval_counts(&ts, &gi, &go, &pi, &po, ch))
        .map_err(to_py)?;
    Ok((
        ts.type_names().to_vec(),
        PyArray1::from_vec(py, i64s(c.tp)),
        PyArray1::from_vec(py, i64s(c.pred)),
        PyArray1::from_vec(py, i64s(c.gold)),
        c.correct_tokens,
        c.tokens,
    ))
}

/// conlleval.pl's counts over gold and guessed tag ids.
#[pyfunction]
#[pyo3(signature = (gold_ids, pred_ids, offsets, vocabulary, boundary=None))]
fn conlleval_counts<'py>(
    py: Python<'py>,
    gold_ids: PyReadonlyArray1<'py, i32>,
    pred_ids: PyReadonlyArray1<'py, i32>,
    offsets: PyReadonlyArray1<'py, i64>,
    vocabulary: Vec<String>,
    boundary: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<SeqevalCounts<'py>> {
    let ts = tag_set(&vocabulary, Dialect::Conlleval, false)?;
    let (gi, pi, o) = (data(&gold_ids), data(&pred_ids), data(&offsets));
    let mask = boundary.as_ref().map(data);
    let c = py
        .detach(|| tags::conlleval_counts(&ts, &gi, &pi, &o, mask.as_deref()))
        .map_err(to_py)?;
    Ok((
        ts.type_names().to_vec(),
        PyArray1::from_vec(py, i64s(c.correct_chunk)),
        PyArray1::from_vec(py, i64s(c.found_guessed)),
        PyArray1::from_vec(py, i64s(c.found_correct)),
        c.correct_tags,
        c.tokens,
    ))
}

/// Add the tag functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_tag_strings, m)?)?;
    m.add_function(wrap_pyfunction!(tags_to_spans, m)?)?;
    m.add_function(wrap_pyfunction!(spans_to_tags, m)?)?;
    m.add_function(wrap_pyfunction!(seqeval_counts, m)?)?;
    m.add_function(wrap_pyfunction!(conlleval_counts, m)?)?;
    Ok(())
}
