//! The one error type of the core.

use thiserror::Error;

/// Every failure the core reports. Each variant carries enough context to locate the problem.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The `tokenizer.json` could not be read as a vocabulary.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A grammar could not be built from its specification (bad labels, bad options).
    #[error("grammar: {0}")]
    Grammar(String),
    /// A token was offered to a matcher in a state that does not allow it.
    #[error("token {token} ({bytes:?}) is not allowed here: {context}")]
    TokenRejected {
        /// The rejected token id.
        token: u32,
        /// The token's bytes, lossily decoded for display.
        bytes: String,
        /// Where the matcher was (output so far, abbreviated).
        context: String,
    },
    /// A caller-provided buffer or array has the wrong shape.
    #[error("shape: {0}")]
    Shape(String),
    /// An offset lies outside its text or not on a character boundary.
    #[error("offset: {0}")]
    Offset(String),
    /// A tag string is not a tag of the chunking in use, or a tag is not allowed by a scheme.
    #[error("tag: {0}")]
    Tag(String),
}

/// Result alias for the core.
pub type Result<T> = std::result::Result<T, Error>;
