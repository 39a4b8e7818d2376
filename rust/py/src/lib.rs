//! `nerlm._native`: thin pyo3 wrappers over `nerlm-core`. Docstrings live in
//! `python/nerlm/_native.pyi`; batch calls release the GIL.

use std::sync::Arc;

use numpy::{PyArray2, PyArrayMethods, PyReadwriteArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use nerlm_core::grammar::{GrammarOptions, TypePairsSpec};
use nerlm_core::tables;
use nerlm_core::vocab::{Vocab, VocabKind};

mod align;
mod errors;
mod score;
mod similarity;
mod tags;

use errors::to_py;

/// The exact bytes of every token of a tokenizer, prepared once and shared.
#[pyclass(module = "nerlm._native", frozen)]
struct Vocabulary {
    inner: Arc<Vocab>,
}

#[pymethods]
impl Vocabulary {
    #[staticmethod]
    #[pyo3(signature = (path, eos_token_ids))]
    fn from_file(
        py: Python<'_>,
        path: std::path::PathBuf,
        eos_token_ids: Vec<u32>,
    ) -> PyResult<Self> {
        let v = py
            .detach(|| -> nerlm_core::Result<Vocab> {
                let data = std::fs::read(&path).map_err(|e| {
                    nerlm_core::Error::Tokenizer(format!("{}: {e}", path.display()))
                })?;
                if path.extension().is_some_and(|x| x == "model") {
                    Vocab::from_sentencepiece_model(&data, &eos_token_ids)
                } else {
                    let text = std::str::from_utf8(&data).map_err(|e| {
                        nerlm_core::Error::Tokenizer(format!("{}: {e}", path.display()))
                    })?;
                    Vocab::from_tokenizer_json(text, &eos_token_ids)
                }
            })
            .map_err(to_py)?;
        Ok(Vocabulary { inner: Arc::new(v) })
    }

    #[staticmethod]
    #[pyo3(signature = (model, eos_token_ids))]
    fn from_sentencepiece_model(
        py: Python<'_>,
        model: &[u8],
        eos_token_ids: Vec<u32>,
    ) -> PyResult<Self> {
        let v = py
            .detach(|| Vocab::from_sentencepiece_model(model, &eos_token_ids))
            .map_err(to_py)?;
        Ok(Vocabulary { inner: Arc::new(v) })
    }

    #[getter]
    fn heap_bytes(&self) -> usize {
        self.inner.heap_bytes()
    }

    #[staticmethod]
    #[pyo3(signature = (tokenizer_json, eos_token_ids))]
    fn from_tokenizer_json(
        py: Python<'_>,
        tokenizer_json: &str,
        eos_token_ids: Vec<u32>,
    ) -> PyResult<Self> {
        let v = py
            .detach(|| Vocab::from_tokenizer_json(tokenizer_json, &eos_token_ids))
            .map_err(to_py)?;
        Ok(Vocabulary { inner: Arc::new(v) })
    }

    #[getter]
    fn size(&self) -> usize {
        self.inner.size()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind() {
            VocabKind::ByteLevel => "byte-level",
            VocabKind::SentencePiece => "sentencepiece",
            VocabKind::WordPiece => "wordpiece",
        }
    }

    #[getter]
    fn eos_token_ids(&self) -> Vec<u32> {
        self.inner.eos().to_vec()
    }

    fn token_bytes<'py>(&self, py: Python<'py>, token_id: u32) -> Option<Bound<'py, PyBytes>> {
        self.inner
            .token_bytes(token_id)
            .map(|b| PyBytes::new(py, b))
    }

    fn decode<'py>(&self, py: Python<'py>, token_ids: Vec<u32>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.decode(&token_ids))
    }

    fn __len__(&self) -> usize {
        self.inner.size()
    }

    fn __repr__(&self) -> String {
        format!(
            "Vocabulary(size={}, kind={:?})",
            self.inner.size(),
            self.kind()
        )
    }
}

/// One request's output format over a vocabulary.
#[pyclass(module = "nerlm._native", frozen)]
struct TokenTable {
    inner: Arc<tables::TokenTable>,
    format: String,
}

#[pymethods]
impl TokenTable {
    #[new]
    #[pyo3(signature = (vocabulary, format, labels, text, *, grounded=true, max_entities_per_label=None, max_entity_chars=None, inferred=None, label_sep=None, pair_sep=None, none_text=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        vocabulary: &Vocabulary,
        format: &str,
        labels: Vec<String>,
        text: &str,
        grounded: bool,
        max_entities_per_label: Option<u16>,
        max_entity_chars: Option<u16>,
        inferred: Option<Vec<String>>,
        label_sep: Option<String>,
        pair_sep: Option<String>,
        none_text: Option<String>,
    ) -> PyResult<Self> {
        let defaults = TypePairsSpec::default();
        let opts = GrammarOptions {
            grounded,
            max_entities_per_label,
            max_entity_chars,
            inferred: inferred.unwrap_or_default(),
            type_pairs: TypePairsSpec {
                label_sep: label_sep.unwrap_or(defaults.label_sep),
                pair_sep: pair_sep.unwrap_or(defaults.pair_sep),
                none_text: none_text.unwrap_or(defaults.none_text),
            },
        };
        let vocab = vocabulary.inner.clone();
        let table = py
            .detach(|| tables::TokenTable::compile(vocab, format, &labels, text, &opts))
            .map_err(to_py)?;
        Ok(TokenTable {
            inner: Arc::new(table),
            format: format.to_string(),
        })
    }

    #[getter]
    fn format(&self) -> &str {
        &self.format
    }

    #[pyo3(signature = (n, *, seed=0, max_tokens=512))]
    fn random_walks<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
        max_tokens: usize,
    ) -> Vec<(Bound<'py, PyBytes>, bool)> {
        let t = self.inner.clone();
        let out = py.detach(|| tables::random_walks(&t, n, seed, max_tokens));
        out.into_iter()
            .map(|(b, done)| (PyBytes::new(py, &b), done))
            .collect()
    }

    fn matcher(&self) -> Matcher {
        Matcher {
            inner: tables::Matcher::new(self.inner.clone()),
        }
    }
}

/// A position in a token table (one generated sequence).
#[pyclass(module = "nerlm._native")]
struct Matcher {
    inner: tables::Matcher,
}

/// Row `row` of `bitmask` (a writeable, C-contiguous int32 numpy array of shape
/// `[batch, words]`) as `u32` words (the core checks that a row holds the vocabulary's ids).
///
/// The row is written in place while the GIL is held and no other Rust reference to the
/// array exists, so numpy's borrow tracking (a dictionary lookup per call, most of a fill's
/// cost from Python) is skipped; flags, dtype, shape and contiguity are still checked.
fn with_bitmask_row<R>(
    bitmask: &Bound<'_, PyAny>,
    row: usize,
    f: impl FnOnce(&mut [u32]) -> R,
) -> PyResult<R> {
    let shape_err = |m: String| to_py(nerlm_core::Error::Shape(m));
    let arr = bitmask.cast::<PyArray2<i32>>().map_err(|_| {
        shape_err(
            "bitmask must be a 2-D numpy array of int32 (see nerlm.allocate_token_bitmask)".into(),
        )
    })?;
    if !arr.is_c_contiguous() {
        return Err(shape_err("bitmask must be C-contiguous".into()));
    }
    // SAFETY: `arr` is a live numpy array; its flags field is plain data.
    let flags = unsafe { (*numpy::npyffi::_PyArray_GET_ITEM_DATA(arr.as_array_ptr())).flags };
    if flags & numpy::npyffi::NPY_ARRAY_WRITEABLE == 0 {
        return Err(shape_err("bitmask must be writeable".into()));
    }
    let shape = arr.shape();
    let (rows, words) = (shape[0], shape[1]);
    if row >= rows {
        return Err(shape_err(format!(
            "row {row} is outside a bitmask of {rows} rows"
        )));
    }
    // SAFETY: the array is C-contiguous int32 with at least `rows * words` elements, kept
    // alive by `bitmask` for this call, and written only here while the GIL is held; i32 and
    // u32 share size, alignment and every bit pattern.
    let words_u32 = unsafe {
        let base = arr.data().cast::<u32>();
        std::slice::from_raw_parts_mut(base.add(row * words), words)
    };
    Ok(f(words_u32))
}

#[pymethods]
impl Matcher {
    fn accept_token(&mut self, token_id: u32) -> PyResult<()> {
        self.inner.accept_token(token_id).map_err(to_py)
    }

    #[pyo3(signature = (bitmask, row=0))]
    fn fill_next_token_bitmask(&self, bitmask: &Bound<'_, PyAny>, row: usize) -> PyResult<usize> {
        // One row is a microsecond of work: releasing the GIL would cost more than it saves
        // (the batch call releases it).
        with_bitmask_row(bitmask, row, |words| self.inner.fill_bitmask(words))?.map_err(to_py)
    }

    fn is_accepting(&self) -> bool {
        self.inner.is_accepting()
    }

    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }

    fn output<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.output())
    }

    fn forced_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.forced_bytes())
    }

    fn forced_tokens(&self) -> Vec<u32> {
        self.inner.forced_tokens()
    }

    fn copy(&self) -> Matcher {
        Matcher {
            inner: self.inner.clone(),
        }
    }

    fn __copy__(&self) -> Matcher {
        self.copy()
    }
}

fn bytemuck_cast(s: &mut [i32]) -> &mut [u32] {
    // i32 and u32 have identical size and alignment; every bit pattern is valid for both.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u32>(), s.len()) }
}

#[pyfunction]
fn fill_next_token_bitmask_batch(
    py: Python<'_>,
    matchers: Vec<PyRef<'_, Matcher>>,
    mut bitmask: PyReadwriteArray2<'_, i32>,
) -> PyResult<()> {
    let shape = bitmask.shape().to_vec();
    if shape[0] != matchers.len() {
        return Err(to_py(nerlm_core::Error::Shape(format!(
            "bitmask has {} rows for {} matchers",
            shape[0],
            matchers.len()
        ))));
    }
    let ms: Vec<tables::Matcher> = matchers.iter().map(|m| m.inner.clone()).collect();
    let mut arr = bitmask.as_array_mut();
    let slice = arr.as_slice_mut().ok_or_else(|| {
        to_py(nerlm_core::Error::Shape(
            "bitmask must be C-contiguous".into(),
        ))
    })?;
    let words = bytemuck_cast(slice);
    py.detach(|| {
        let refs: Vec<&tables::Matcher> = ms.iter().collect();
        tables::fill_bitmask_batch(&refs, words, shape[1])
    })
    .map_err(to_py)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Load numpy's C API now rather than inside the first bitmask fill of a generation.
    let _ = PyArray2::<i32>::zeros(m.py(), [0, 0], false);
    m.add_class::<Vocabulary>()?;
    m.add_class::<TokenTable>()?;
    m.add_class::<Matcher>()?;
    m.add_function(wrap_pyfunction!(fill_next_token_bitmask_batch, m)?)?;
    align::register(m)?;
    score::register(m)?;
    errors::register(m)?;
    similarity::register(m)?;
    tags::register(m)?;
    Ok(())
}
