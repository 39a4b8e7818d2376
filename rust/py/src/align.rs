//! Alignment, offset units, token spans and windows over numpy columns.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use nerlm_core::align::{align_columns as core_align_columns, AlignOptions, Occurrence};
use nerlm_core::text::{Normalization, OffsetMap, OffsetUnit, Whitespace};
use nerlm_core::tokens::{self, TokenPolicy, Window, WindowSpan};
use nerlm_core::Error;

use crate::errors::to_py;

/// Borrow the UTF-8 of every string of a sequence (the objects stay alive in `keep`).
fn strings<'py>(seq: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    let mut out = Vec::with_capacity(seq.len().unwrap_or(0));
    for (i, s) in seq.try_iter()?.enumerate() {
        let s = s?;
        match s.cast_into::<PyString>() {
            Ok(s) => out.push(s),
            Err(e) => {
                return Err(PyTypeError::new_err(format!(
                    "{what}[{i}] must be a str, not {}",
                    e.into_inner().get_type().name()?
                )))
            }
        }
    }
    Ok(out)
}

fn as_strs<'a>(v: &'a [Bound<'_, PyString>]) -> PyResult<Vec<&'a str>> {
    v.iter().map(|s| s.to_str()).collect()
}

fn u32_col(a: &PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<Vec<u32>> {
    a.as_array()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v).map_err(|_| {
                to_py(Error::Shape(format!(
                    "{what}[{i}] = {v} is not a valid index"
                )))
            })
        })
        .collect()
}

/// The rows of an `[n, N]` int64 array as `u32`s; `bad` words the error for a row holding a
/// negative or too large value.
fn rows<const N: usize>(
    a: &PyReadonlyArray2<'_, i64>,
    what: &str,
    bad: fn(&str, usize, &[i64]) -> Error,
) -> PyResult<Vec<[u32; N]>> {
    let v = a.as_array();
    if v.ncols() != N {
        return Err(to_py(Error::Shape(format!(
            "{what} must have shape [n, {N}], not {:?}",
            v.shape()
        ))));
    }
    v.rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut o = [0u32; N];
            for (k, &x) in r.iter().enumerate() {
                o[k] = u32::try_from(x).map_err(|_| to_py(bad(what, i, &r.to_vec())))?;
            }
            Ok(o)
        })
        .collect()
}

fn pairs(a: &PyReadonlyArray2<'_, i64>, what: &str) -> PyResult<Vec<(u32, u32)>> {
    let bad = |what: &str, i: usize, r: &[i64]| {
        Error::Offset(format!(
            "{what}[{i}] = ({}, {}) has a negative or too large offset",
            r[0], r[1]
        ))
    };
    Ok(rows::<2>(a, what, bad)?
        .into_iter()
        .map(|[x, y]| (x, y))
        .collect())
}

/// An `[n, N]` int64 numpy array from its rows.
fn array2<const N: usize>(py: Python<'_>, rows: Vec<[i64; N]>) -> PyResult<Bound<'_, PyAny>> {
    let n = rows.len();
    let flat: Vec<i64> = rows.into_iter().flatten().collect();
    let a = Array2::from_shape_vec((n, N), flat).map_err(|e| to_py(Error::Shape(e.to_string())))?;
    Ok(a.into_pyarray(py).into_any())
}

fn opt_pairs_array(py: Python<'_>, v: Vec<Option<(u32, u32)>>) -> PyResult<Bound<'_, PyAny>> {
    let rows = v
        .into_iter()
        .map(|p| p.map_or([-1, -1], |(a, b)| [i64::from(a), i64::from(b)]))
        .collect();
    array2(py, rows)
}

#[pyfunction]
#[pyo3(signature = (
    texts, surfaces, doc, group = None, *,
    occurrence = "left-to-right", nfkc = false, width = false, case = false,
    whitespace = "keep", fuzzy = None,
))]
#[allow(clippy::too_many_arguments)]
fn align_columns<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    surfaces: &Bound<'py, PyAny>,
    doc: PyReadonlyArray1<'py, i64>,
    group: Option<PyReadonlyArray1<'py, i64>>,
    occurrence: &str,
    nfkc: bool,
    width: bool,
    case: bool,
    whitespace: &str,
    fuzzy: Option<f32>,
) -> PyResult<Bound<'py, PyDict>> {
    let whitespace = match whitespace {
        "keep" => Whitespace::Keep,
        "collapse" => Whitespace::Collapse,
        "remove" => Whitespace::Remove,
        _ => {
            return Err(to_py(Error::Shape(format!(
                "whitespace must be 'keep', 'collapse' or 'remove', not {whitespace:?}"
            ))))
        }
    };
    if let Some(f) = fuzzy {
        if !(f > 0.0 && f <= 1.0) {
            return Err(to_py(Error::Shape(format!(
                "fuzzy must be in (0, 1], not {f}"
            ))));
        }
    }
    let opts = AlignOptions {
        occurrence: Occurrence::parse(occurrence).map_err(to_py)?,
        normalization: Normalization {
            nfkc,
            width,
            case,
            whitespace,
        },
        fuzzy,
    };
    let t_objs = strings(texts, "texts")?;
    let s_objs = strings(surfaces, "surfaces")?;
    let t = as_strs(&t_objs)?;
    let s = as_strs(&s_objs)?;
    let d = u32_col(&doc, "doc")?;
    let g = group.as_ref().map(|g| u32_col(g, "group")).transpose()?;
    let r = py
        .detach(|| core_align_columns(&t, &s, &d, g.as_deref(), &opts))
        .map_err(to_py)?;
    // One pass into the five columns; `item` only when it is not 0..n (policy "all").
    let n = r.len();
    let with_item = n != s.len() || r.iter().enumerate().any(|(i, a)| a.item as usize != i);
    let (mut item, mut start, mut end, mut status, mut score) = (
        Vec::with_capacity(if with_item { n } else { 0 }),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for a in &r {
        if with_item {
            item.push(i64::from(a.item));
        }
        start.push(i64::from(a.start));
        end.push(i64::from(a.end));
        status.push(a.status as u8);
        score.push(a.score);
    }
    drop(r);
    let out = PyDict::new(py);
    if with_item {
        out.set_item("item", item.into_pyarray(py))?;
    }
    out.set_item("start", start.into_pyarray(py))?;
    out.set_item("end", end.into_pyarray(py))?;
    out.set_item("status", status.into_pyarray(py))?;
    out.set_item("score", score.into_pyarray(py))?;
    Ok(out)
}

#[pyfunction]
#[pyo3(signature = (text, offsets, source, target))]
fn convert_offsets<'py>(
    py: Python<'py>,
    text: &str,
    offsets: PyReadonlyArray1<'py, i64>,
    source: &str,
    target: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let (from, to) = (
        OffsetUnit::parse(source).map_err(to_py)?,
        OffsetUnit::parse(target).map_err(to_py)?,
    );
    let map = OffsetMap::new(text);
    let out: Vec<i64> = offsets
        .as_array()
        .iter()
        .enumerate()
        .map(|(i, &o)| {
            let o = u64::try_from(o)
                .map_err(|_| to_py(Error::Offset(format!("offsets[{i}] = {o} is negative"))))?;
            map.convert(o, from, to)
                .map(|v| v as i64)
                .map_err(|e| to_py(Error::Offset(format!("offsets[{i}]: {e}"))))
        })
        .collect::<PyResult<_>>()?;
    Ok(out.into_pyarray(py).into_any())
}

#[pyfunction]
#[pyo3(signature = (offsets, spans, policy = "strict"))]
fn char_to_token_spans<'py>(
    py: Python<'py>,
    offsets: PyReadonlyArray2<'py, i64>,
    spans: PyReadonlyArray2<'py, i64>,
    policy: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let policy = TokenPolicy::parse(policy).map_err(to_py)?;
    let off = pairs(&offsets, "offsets")?;
    let sp = pairs(&spans, "spans")?;
    let r = tokens::char_to_token_spans(&off, &sp, policy).map_err(to_py)?;
    opt_pairs_array(py, r)
}

#[pyfunction]
fn token_to_char_spans<'py>(
    py: Python<'py>,
    offsets: PyReadonlyArray2<'py, i64>,
    spans: PyReadonlyArray2<'py, i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let off = pairs(&offsets, "offsets")?;
    let sp = pairs(&spans, "spans")?;
    let r = tokens::token_to_char_spans(&off, &sp).map_err(to_py)?;
    opt_pairs_array(py, r)
}

#[pyfunction]
fn plan_windows<'py>(
    py: Python<'py>,
    offsets: PyReadonlyArray2<'py, i64>,
    n_chars: u32,
    max_tokens: usize,
    stride: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let off = pairs(&offsets, "offsets")?;
    let w = tokens::plan_windows(&off, n_chars, max_tokens, stride).map_err(to_py)?;
    let rows = w
        .iter()
        .map(|w| [w.tok_start, w.tok_end, w.char_start, w.char_end].map(i64::from))
        .collect();
    array2(py, rows)
}

#[pyfunction]
fn merge_window_spans<'py>(
    py: Python<'py>,
    windows: PyReadonlyArray2<'py, i64>,
    spans: PyReadonlyArray2<'py, i64>,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let bad = |what: &str, i: usize, r: &[i64]| Error::Shape(format!("{what}[{i}] holds {r:?}"));
    let w: Vec<Window> = rows::<4>(&windows, "windows", bad)?
        .into_iter()
        .map(|[a, b, c, d]| Window {
            tok_start: a,
            tok_end: b,
            char_start: c,
            char_end: d,
        })
        .collect();
    let s: Vec<WindowSpan> = rows::<4>(&spans, "spans", bad)?
        .into_iter()
        .map(|[window, label, start, end]| WindowSpan {
            window,
            label,
            start,
            end,
        })
        .collect();
    if let Some((i, sp)) = s
        .iter()
        .enumerate()
        .find(|(_, sp)| sp.window as usize >= w.len())
    {
        return Err(to_py(Error::Shape(format!(
            "spans[{i}] names window {} of {}",
            sp.window,
            w.len()
        ))));
    }
    let (kept, dropped) = tokens::merge_window_spans(&w, &s);
    let rows = kept
        .iter()
        .map(|s| [s.window, s.label, s.start, s.end].map(i64::from))
        .collect();
    Ok((array2(py, rows)?, dropped))
}

/// Add the alignment functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(align_columns, m)?)?;
    m.add_function(wrap_pyfunction!(convert_offsets, m)?)?;
    m.add_function(wrap_pyfunction!(char_to_token_spans, m)?)?;
    m.add_function(wrap_pyfunction!(token_to_char_spans, m)?)?;
    m.add_function(wrap_pyfunction!(plan_windows, m)?)?;
    m.add_function(wrap_pyfunction!(merge_window_spans, m)?)?;
    Ok(())
}
