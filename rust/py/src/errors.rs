//! The Python exception hierarchy: every core error maps to a subclass of `NerlmError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

create_exception!(
    _native,
    NerlmError,
    PyException,
    "Base class of every error nerlm raises."
);
create_exception!(
    _native,
    TokenizerError,
    NerlmError,
    "A tokenizer could not be read as a vocabulary."
);
create_exception!(
    _native,
    GrammarError,
    NerlmError,
    "An output format could not be compiled."
);
create_exception!(
    _native,
    TokenRejectedError,
    NerlmError,
    "A token is not allowed by the output format here."
);
create_exception!(
    _native,
    ShapeError,
    NerlmError,
    "An array or buffer has the wrong shape."
);
create_exception!(
    _native,
    OffsetError,
    NerlmError,
    "An offset is outside its text or not a valid span."
);

/// `TagError(NerlmError, ValueError)`: two bases, so made with `type()` once.
static TAG_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn tag_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    let t = TAG_ERROR.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        let bases = PyTuple::new(
            py,
            [py.get_type::<NerlmError>(), py.get_type::<PyValueError>()],
        )?;
        let ns = PyDict::new(py);
        ns.set_item(
            "__doc__",
            "A tag is unknown, or not a tag of the scheme in use (also a ValueError).",
        )?;
        ns.set_item("__module__", "nerlm._native")?;
        let t = py
            .get_type::<PyType>()
            .call1(("TagError", bases, ns))?
            .cast_into::<PyType>()?;
        Ok(t.unbind())
    })?;
    Ok(t.bind(py))
}

/// Map a core error to its Python exception.
pub fn to_py(e: nerlm_core::Error) -> PyErr {
    use nerlm_core::Error as E;
    let msg = e.to_string();
    match e {
        E::Tokenizer(_) => TokenizerError::new_err(msg),
        E::Grammar(_) => GrammarError::new_err(msg),
        E::TokenRejected { .. } => TokenRejectedError::new_err(msg),
        E::Shape(_) => ShapeError::new_err(msg),
        E::Offset(_) => OffsetError::new_err(msg),
        E::Tag(_) => Python::attach(|py| match tag_error(py) {
            Ok(t) => PyErr::from_type(t.clone(), msg),
            Err(e) => e,
        }),
    }
}

/// Add the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("NerlmError", py.get_type::<NerlmError>())?;
    m.add("TokenizerError", py.get_type::<TokenizerError>())?;
    m.add("GrammarError", py.get_type::<GrammarError>())?;
    m.add("TokenRejectedError", py.get_type::<TokenRejectedError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("OffsetError", py.get_type::<OffsetError>())?;
    m.add("TagError", tag_error(py)?)?;
    Ok(())
}
