//! Alignment, offset units, token spans and windows over numpy columns.

use numpy::ndarray::{Array2, ArrayView1};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PySequence, PyString, PyTuple, PyType};

use nerlm_core::align::{align_code_points, AlignOptions, Occurrence, Placements, StrColumn};
use nerlm_core::mem::BlockVec;
use nerlm_core::text::{CodePoints, Normalization, OffsetMap, OffsetUnit, Whitespace};
use nerlm_core::tokens::{self, TokenPolicy, Window, WindowSpan};
use nerlm_core::Error;

use crate::errors::to_py;

/// The items of a sequence, held while the GIL is released: a tuple is held as itself (it
/// cannot change); a list's items are copied with a new reference each (a list could change
/// meanwhile) into a [`BlockVec`], whose huge pages cost a few faults where a fresh tuple of
/// a million items costs two thousand; any other sequence becomes a tuple first. The flag
/// says every item is a canonical `str` ([`Held::strs`], [`Held::push_str`]).
enum Held<'py> {
    Tuple(Bound<'py, PyTuple>, bool),
    Refs(Python<'py>, BlockVec<*mut ffi::PyObject>, bool),
}

/// Make the `str` `p` canonical (Python < 3.12; a no-op from 3.12).
///
/// # Safety
/// `p` is a live `str` and the GIL is held.
unsafe fn ready(py: Python<'_>, p: *mut ffi::PyObject) -> PyResult<()> {
    // SAFETY: as the caller guarantees.
    #[allow(deprecated)]
    if unsafe { ffi::PyUnicode_READY(p) } != 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// Is `p` a `str` (made canonical)? A `TypeError` names it as `what[i]`.
///
/// # Safety
/// `p` is a live object and the GIL is held.
unsafe fn check_str(py: Python<'_>, p: *mut ffi::PyObject, what: &str, i: usize) -> PyResult<()> {
    // SAFETY: as the caller guarantees; the checks read the object's type and header.
    unsafe {
        if ffi::PyUnicode_Check(p) == 0 {
            let o = Bound::from_borrowed_ptr(py, p);
            return Err(PyTypeError::new_err(format!(
                "{what}[{i}] must be a str, not {}",
                o.get_type().name()?
            )));
        }
        ready(py, p)
    }
}

impl<'py> Held<'py> {
    fn new(seq: &Bound<'py, PyAny>) -> PyResult<Self> {
        Self::hold(seq, None)
    }

    /// Hold `seq`, checking that every item is a `str` (a `TypeError` names the first that
    /// is not as `what[i]`); a list is checked as it is copied, in one pass.
    fn strs(seq: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        Self::hold(seq, Some(what))
    }

    fn hold(seq: &Bound<'py, PyAny>, strs: Option<&str>) -> PyResult<Self> {
        let py = seq.py();
        if let Ok(list) = seq.cast::<PyList>() {
            let n = list.len();
            // Checked as it fills: on an error it is dropped, releasing what it took.
            let mut held = Held::Refs(py, BlockVec::with_capacity(n), strs.is_some());
            let Held::Refs(_, refs, _) = &mut held else {
                unreachable!()
            };
            // SAFETY: the GIL is held and nothing below runs Python code but the error path
            // of `check_str` (which returns at once), so the list keeps its `n` live items;
            // each is copied with a new reference, released by `drop` (also on an error).
            unsafe {
                let items = (*list.as_ptr().cast::<ffi::PyListObject>()).ob_item;
                for i in 0..n {
                    let p = *items.add(i);
                    if let Some(what) = strs {
                        check_str(py, p, what, i)?;
                    }
                    ffi::Py_INCREF(p);
                    refs.push(p);
                }
            }
            return Ok(held);
        }
        let tuple = match seq.cast::<PyTuple>() {
            Ok(t) => t.clone(),
            // SAFETY: `seq` is a live object; `PySequence_Tuple` returns a new reference or
            // NULL with an exception set.
            Err(_) => unsafe {
                Bound::from_owned_ptr_or_err(py, ffi::PySequence_Tuple(seq.as_ptr()))?
                    .cast_into_unchecked::<PyTuple>()
            },
        };
        if let Some(what) = strs {
            // Serial: about 1.3 ns an item (a parallel check measured 4x slower at 1.4 M).
            for (i, p) in tuple.iter().enumerate() {
                // SAFETY: `p` is a live item of the tuple; the GIL is held.
                unsafe { check_str(py, p.as_ptr(), what, i)? };
            }
        }
        Ok(Held::Tuple(tuple, strs.is_some()))
    }

    /// Hold an empty list of `cap` slots for `str`s, to be filled by [`Held::push_str`].
    fn str_capacity(py: Python<'py>, cap: usize) -> Self {
        Held::Refs(py, BlockVec::with_capacity(cap), true)
    }

    /// Append the `str` `s` (made canonical; its reference moves in). Only for
    /// [`Held::str_capacity`].
    fn push_str(&mut self, s: Bound<'py, PyString>) -> PyResult<()> {
        // SAFETY: `s` is a live `str`; the GIL is held.
        unsafe { ready(s.py(), s.as_ptr())? };
        match self {
            Held::Refs(_, refs, true) => refs.push(s.into_any().into_ptr()),
            _ => unreachable!("push_str onto a held sequence"),
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.items().len()
    }

    fn items(&self) -> &[*mut ffi::PyObject] {
        match self {
            // SAFETY: a tuple's items are its `ob_item` array of `len` live references.
            Held::Tuple(t, _) => unsafe {
                let tp = t.as_ptr().cast::<ffi::PyTupleObject>();
                std::slice::from_raw_parts((*tp).ob_item.as_ptr(), t.len())
            },
            Held::Refs(_, refs, _) => refs,
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Held::Refs(_, refs, _) = self {
            for &p in refs.iter() {
                // SAFETY: the GIL is held (`'py`) and each pointer holds a reference taken in
                // `hold` or `push_str`.
                unsafe { ffi::Py_DECREF(p) };
            }
        }
    }
}

/// The strings of a [`Held`] sequence of `str`s, read in place by the worker threads:
/// CPython's own storage (Latin-1, UCS-2 or UCS-4), no copy and no UTF-8 encoding.
struct HeldStrs<'a> {
    items: &'a [*mut ffi::PyObject],
}

// SAFETY: the items are canonical `str` objects (`HeldStrs::new` asserts that the `Held` was
// checked) held by a `Held` that outlives the column; CPython strings are immutable, and `get`
// only reads their header and data (no reference counting), which is sound from any thread
// while they are held.
unsafe impl Sync for HeldStrs<'_> {}

impl<'a> HeldStrs<'a> {
    /// The strings of `held`.
    ///
    /// # Panics
    /// When `held` was not checked to hold only `str`s ([`Held::strs`], [`Held::push_str`]).
    fn new(held: &'a Held<'_>) -> Self {
        assert!(
            matches!(held, Held::Tuple(_, true) | Held::Refs(_, _, true)),
            "a sequence not checked to hold str"
        );
        Self {
            items: held.items(),
        }
    }
}

impl StrColumn for HeldStrs<'_> {
    fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(&p) = self.items.get(i) {
            // SAFETY: a prefetch is a hint; it never faults, whatever the address.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
            }
        }
    }

    fn get(&self, i: usize) -> CodePoints<'_> {
        let p = self.items[i];
        // SAFETY: see `impl Sync`: `p` is a canonical `str` kept alive by the tuple; kind,
        // data and length are read as CPython's own macros do.
        unsafe {
            let n = ffi::PyUnicode_GET_LENGTH(p) as usize;
            let data = ffi::PyUnicode_DATA(p);
            match ffi::PyUnicode_KIND(p) {
                ffi::PyUnicode_1BYTE_KIND => {
                    CodePoints::Latin1(std::slice::from_raw_parts(data.cast::<u8>(), n))
                }
                ffi::PyUnicode_2BYTE_KIND => {
                    CodePoints::Ucs2(std::slice::from_raw_parts(data.cast::<u16>(), n))
                }
                _ => CodePoints::Ucs4(std::slice::from_raw_parts(data.cast::<u32>(), n)),
            }
        }
    }
}

fn u32_col(a: &PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<BlockVec<u32>> {
    let bad = |i: usize, v: i64| {
        to_py(Error::Shape(format!(
            "{what}[{i}] = {v} is not a valid index"
        )))
    };
    let Ok(v) = a.as_slice() else {
        // Not contiguous: element by element.
        return a
            .as_array()
            .iter()
            .enumerate()
            .map(|(i, &v)| u32::try_from(v).map_err(|_| bad(i, v)))
            .collect();
    };
    // A branch-free range check and conversion (vectorised); the error path finds the item.
    if v.iter().fold(0u64, |acc, &x| acc | (x as u64 >> 32)) != 0 {
        let i = v
            .iter()
            .position(|&x| u32::try_from(x).is_err())
            .expect("a value out of range");
        return Err(bad(i, v[i]));
    }
    Ok(v.iter().map(|&x| x as u32).collect())
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

/// The fields of a Python `nerlm.AlignOptions` (read by attribute).
#[derive(FromPyObject)]
struct OptionsArg {
    #[pyo3(attribute)]
    occurrence: String,
    #[pyo3(attribute)]
    nfkc: bool,
    #[pyo3(attribute)]
    width: bool,
    #[pyo3(attribute)]
    case: bool,
    #[pyo3(attribute)]
    whitespace: String,
    #[pyo3(attribute)]
    fuzzy: Option<f32>,
}

/// The core's alignment options from a Python `nerlm.AlignOptions`; a `ShapeError` names a
/// value out of range.
fn core_options(o: &OptionsArg) -> PyResult<AlignOptions> {
    let OptionsArg {
        occurrence,
        nfkc,
        width,
        case,
        whitespace,
        fuzzy,
    } = o;
    let (nfkc, width, case, fuzzy) = (*nfkc, *width, *case, *fuzzy);
    let whitespace = match whitespace.as_str() {
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
    Ok(AlignOptions {
        occurrence: Occurrence::parse(occurrence).map_err(to_py)?,
        normalization: Normalization {
            nfkc,
            width,
            case,
            whitespace,
        },
        fuzzy,
    })
}

#[pyfunction]
fn align_columns<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    surfaces: &Bound<'py, PyAny>,
    doc: PyReadonlyArray1<'py, i64>,
    group: Option<PyReadonlyArray1<'py, i64>>,
    options: OptionsArg,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = core_options(&options)?;
    let t_objs = Held::strs(texts, "texts")?;
    let s_objs = Held::strs(surfaces, "surfaces")?;
    let (t, s) = (HeldStrs::new(&t_objs), HeldStrs::new(&s_objs));
    let d = u32_col(&doc, "doc")?;
    let g = group.as_ref().map(|g| u32_col(g, "group")).transpose()?;
    let r = py
        .detach(|| align_code_points(&t, &s, &d, g.as_deref(), &opts))
        .map_err(to_py)?;
    // The columns become numpy arrays over the placements' one block, without a copy, each
    // keeping the block alive; `item` only when it is not 0..n.
    let owner = Bound::new(py, PlacementColumns(r))?;
    let r = &owner.get().0;
    let out = PyDict::new(py);
    if !r.item().is_empty() {
        out.set_item("item", column(&owner, r.item()))?;
    }
    out.set_item("start", column(&owner, r.start()))?;
    out.set_item("end", column(&owner, r.end()))?;
    out.set_item("status", column(&owner, r.status()))?;
    out.set_item("score", column(&owner, r.score()))?;
    Ok(out)
}

/// A numpy array over `col`, one of `owner`'s columns, keeping `owner` alive.
fn column<'py, T: numpy::Element>(
    owner: &Bound<'py, PlacementColumns>,
    col: &[T],
) -> Bound<'py, PyArray1<T>> {
    // SAFETY: `col` lies in the block that `owner` owns and never reallocates; the array
    // holds a reference to `owner`, so the block outlives it.
    unsafe { PyArray1::borrow_from_array(&ArrayView1::from(col), owner.clone().into_any()) }
}

/// The memory behind the numpy columns of `align_columns` (one block for all of them).
#[pyclass(frozen, module = "nerlm._native")]
struct PlacementColumns(Placements);

/// `nerlm.align_batch` in one call: `items[d]` holds `(surface, group)` pairs placed in
/// `texts[d]`; returns, per document, its placements as instances of `placement` (a
/// `NamedTuple` of start, end, status, score, item) with `statuses[code]` as the status.
#[pyfunction]
fn align_nested<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    items: &Bound<'py, PyAny>,
    placement: &Bound<'py, PyType>,
    statuses: &Bound<'py, PyTuple>,
    options: OptionsArg,
) -> PyResult<Bound<'py, PyList>> {
    let opts = core_options(&options)?;
    let tp = placement.as_type_ptr();
    // SAFETY: `tp` is a live type object; its size fields are plain data.
    let tuple_like = unsafe {
        let tuple = std::ptr::addr_of_mut!(ffi::PyTuple_Type);
        ffi::PyType_IsSubtype(tp, tuple) != 0
            && (*tp).tp_basicsize == (*tuple).tp_basicsize
            && (*tp).tp_itemsize == (*tuple).tp_itemsize
    };
    if !tuple_like || statuses.len() != 5 {
        return Err(PyTypeError::new_err(
            "placement must be a NamedTuple type and statuses hold 5 objects",
        ));
    }
    let t_objs = Held::strs(texts, "texts")?;
    let docs = Held::new(items)?;
    if docs.len() != t_objs.len() {
        return Err(to_py(Error::Shape(format!(
            "{} texts but {} item lists",
            t_objs.len(),
            docs.len()
        ))));
    }
    // Each document's items as a list or tuple (`PySequence_Fast`), then every surface, checked,
    // into one `Held` that keeps them alive while the GIL is released.
    let mut seqs = Vec::with_capacity(docs.len());
    let mut counts = Vec::with_capacity(docs.len());
    for &it in docs.items() {
        // SAFETY: `it` is live (held); `PySequence_Fast` returns a new reference to a list or tuple,
        // or NULL with an exception set.
        let fast = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PySequence_Fast(it, c"items must hold sequences".as_ptr()),
            )?
        };
        // SAFETY: `fast` is a list or tuple.
        counts.push(unsafe { ffi::PySequence_Fast_GET_SIZE(fast.as_ptr()) } as usize);
        seqs.push(fast);
    }
    let m: usize = counts.iter().sum();
    let mut surfaces = Held::str_capacity(py, m);
    let (mut doc, mut group) = (BlockVec::with_capacity(m), BlockVec::with_capacity(m));
    for (d, seq) in seqs.iter().enumerate() {
        for k in 0..counts[d] {
            // SAFETY: `seq` is a list or tuple of `counts[d]` items (the GIL is held and
            // nothing ran since its size was read).
            let pair = unsafe {
                Bound::from_borrowed_ptr(py, *ffi::PySequence_Fast_ITEMS(seq.as_ptr()).add(k))
            };
            let not_pair =
                || PyTypeError::new_err(format!("items[{d}][{k}] must be a (surface, group) pair"));
            // A tuple, or any other sequence of two.
            let (surface, g): (Bound<'py, PyAny>, Bound<'py, PyAny>) = match pair.extract() {
                Ok(p) => p,
                Err(_) => {
                    let seq = pair.cast::<PySequence>().map_err(|_| not_pair())?;
                    if seq.len().map_err(|_| not_pair())? != 2 {
                        return Err(not_pair());
                    }
                    (seq.get_item(0)?, seq.get_item(1)?)
                }
            };
            let surface = match surface.cast_into::<PyString>() {
                Ok(s) => s,
                Err(e) => {
                    return Err(PyTypeError::new_err(format!(
                        "items[{d}][{k}][0] must be a str, not {}",
                        e.into_inner().get_type().name()?
                    )))
                }
            };
            let g: u32 = g.extract().map_err(|_| {
                to_py(Error::Shape(format!(
                    "items[{d}][{k}][1] = {g} is not a valid group index"
                )))
            })?;
            surfaces.push_str(surface)?;
            doc.push(d as u32);
            group.push(g);
        }
    }
    drop(seqs);
    let (t, s) = (HeldStrs::new(&t_objs), HeldStrs::new(&surfaces));
    let r = py
        .detach(|| align_code_points(&t, &s, &doc, Some(&group), &opts))
        .map_err(to_py)?;
    // Nothing built below can form a reference cycle, so the cyclic collector is paused
    // while it is built (a million allocations would otherwise trigger full collections
    // that scan the caller's heap, the items included), and resumed as it was.
    // SAFETY: plain C-API calls with the GIL held.
    let was_enabled = unsafe { ffi::PyGC_Disable() } != 0;
    let built = build_placements(py, &r, &counts, tp, statuses);
    if was_enabled {
        // SAFETY: as above.
        unsafe { ffi::PyGC_Enable() };
    }
    built
}

/// The per-document lists of `align_nested` from its placements `r` (documents of
/// `counts` items, in order).
fn build_placements<'py>(
    py: Python<'py>,
    r: &Placements,
    counts: &[usize],
    tp: *mut ffi::PyTypeObject,
    statuses: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    let (one, zero) = (PyFloat::new(py, 1.0), PyFloat::new(py, 0.0));
    let (items, starts, ends, codes, scores) =
        (r.item(), r.start(), r.end(), r.status(), r.score());
    let item_of = |row: usize| {
        if items.is_empty() {
            row
        } else {
            items[row] as usize
        }
    };
    // SAFETY: `tp` is a live type object; its allocator slot is plain data.
    let alloc = unsafe { (*tp).tp_alloc }.unwrap_or(ffi::PyType_GenericAlloc);
    let (mut row, mut first) = (0usize, 0usize);
    for &n in counts {
        let end = first + n;
        let mut row_end = row;
        while row_end < r.len() && item_of(row_end) < end {
            row_end += 1;
        }
        let list = PyList::empty(py);
        for rr in row..row_end {
            // SAFETY: `tp` is a tuple subtype with a tuple's layout (checked by the caller);
            // `tp_alloc` returns a new instance with 5 empty slots (or NULL with an error
            // set), each filled once below with a new reference; a failure drops the
            // instance, whose deallocation skips empty slots.
            unsafe {
                let obj = Bound::from_owned_ptr_or_err(py, alloc(tp, 5))?;
                let set = |k: isize, f: *mut ffi::PyObject| -> PyResult<()> {
                    let f = Bound::from_owned_ptr_or_err(py, f)?;
                    ffi::PyTuple_SET_ITEM(obj.as_ptr(), k, f.into_ptr());
                    Ok(())
                };
                let score = scores[rr];
                set(0, ffi::PyLong_FromLongLong(starts[rr]))?;
                set(1, ffi::PyLong_FromLongLong(ends[rr]))?;
                set(2, statuses.get_item(codes[rr] as usize)?.into_ptr())?;
                set(
                    3,
                    if score == 1.0 {
                        one.clone().into_ptr()
                    } else if score == 0.0 {
                        zero.clone().into_ptr()
                    } else {
                        ffi::PyFloat_FromDouble(f64::from(score))
                    },
                )?;
                set(4, ffi::PyLong_FromLongLong((item_of(rr) - first) as i64))?;
                // Its fields are ints, floats and the status singletons, so a placement can
                // never be part of a reference cycle: the cyclic collector need not scan the
                // million of them a batch may build (CPython untracks tuples of atomic
                // values itself, at their first collection).
                ffi::PyObject_GC_UnTrack(obj.as_ptr().cast());
                list.append(obj)?;
            }
        }
        out.append(list)?;
        (row, first) = (row_end, end);
    }
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
    m.add_class::<PlacementColumns>()?;
    m.add_function(wrap_pyfunction!(align_columns, m)?)?;
    m.add_function(wrap_pyfunction!(align_nested, m)?)?;
    m.add_function(wrap_pyfunction!(convert_offsets, m)?)?;
    m.add_function(wrap_pyfunction!(char_to_token_spans, m)?)?;
    m.add_function(wrap_pyfunction!(token_to_char_spans, m)?)?;
    m.add_function(wrap_pyfunction!(plan_windows, m)?)?;
    m.add_function(wrap_pyfunction!(merge_window_spans, m)?)?;
    Ok(())
}
