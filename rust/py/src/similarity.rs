//! Text similarity (`nerlm_core::similarity`): ROUGE-1/2/L and BLEU-4 of raw outputs, jieba
//! words and Python's rounding. Docstrings live in `python/nerlm/_native.pyi`.

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

use nerlm_core::similarity::{self, Preset};

use crate::errors::to_py;

/// Columns of `text_similarity_batch`'s result, in order.
const COLUMNS: usize = 10;

#[pyfunction]
fn text_similarity_batch<'py>(
    py: Python<'py>,
    hypotheses: Vec<String>,
    references: Vec<String>,
    preset: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let preset = Preset::from_name(preset).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown similarity preset {preset:?}: expected 'nerlm-char', 'nerlm-word', \
             'llamafactory' or 'deepke'"
        ))
    })?;
    let flat = py
        .detach(|| -> nerlm_core::Result<Vec<f64>> {
            let scores = similarity::similarity_batch(&hypotheses, &references, preset)?;
            Ok(scores
                .iter()
                .flat_map(|s| {
                    [
                        s.rouge_1.p,
                        s.rouge_1.r,
                        s.rouge_1.f,
                        s.rouge_2.p,
                        s.rouge_2.r,
                        s.rouge_2.f,
                        s.rouge_l.p,
                        s.rouge_l.r,
                        s.rouge_l.f,
                        s.bleu_4,
                    ]
                })
                .collect())
        })
        .map_err(to_py)?;
    let rows = flat.len() / COLUMNS;
    PyArray1::from_vec(py, flat).reshape([rows, COLUMNS])
}

#[pyfunction]
fn jieba_cut_batch(py: Python<'_>, texts: Vec<String>) -> Vec<Vec<String>> {
    py.detach(|| {
        similarity::cut_words_batch(&texts)
            .into_iter()
            .map(|words| words.into_iter().map(str::to_string).collect())
            .collect()
    })
}

#[pyfunction]
fn python_round_batch<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'_, f64>,
    scale: f64,
    ndigits: u8,
) -> Bound<'py, PyArray1<f64>> {
    let v: Vec<f64> = values.as_array().iter().copied().collect();
    let out = py.detach(|| {
        v.par_iter()
            .with_min_len(4096)
            .map(|&x| similarity::py_round(x * scale, ndigits))
            .collect::<Vec<f64>>()
    });
    PyArray1::from_vec(py, out)
}

/// Add the text-similarity functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(text_similarity_batch, m)?)?;
    m.add_function(wrap_pyfunction!(jieba_cut_batch, m)?)?;
    m.add_function(wrap_pyfunction!(python_round_batch, m)?)?;
    Ok(())
}
