//! # nerlm-core
//!
//! The exact and fast parts of nerlm, in pure Rust (no Python):
//!
//! * [`align`]: entity strings written by a model -> character spans in the input (exact,
//!   normalised, fuzzy; four occurrence policies); [`text`]: offset units and normalisation
//!   with a map back; [`tokens`]: code point <-> token spans and windows of long documents;
//! * [`vocab`], [`ground`], [`grammar`], [`tables`]: grammar-constrained decoding tables over a
//!   tokenizer's exact token bytes, with entity strings grounded in the input text;
//! * [`score`]: strict span scoring;
//! * [`similarity`]: ROUGE and BLEU of raw outputs, exact with rouge-chinese and nltk.
//! * [`tags`]: tag sequences <-> spans (IOB1, IOB2, IOE1, IOE2, IOBES, BILOU, BMES) and the
//!   chunking and counting of seqeval 1.2.2 and CoNLL `conlleval`.
//!
//! Offsets in the public API are half-open code point offsets (Python string indices).
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use nerlm_core::grammar::{Grammar, GrammarOptions};
//! use nerlm_core::tables::{bitmask_words, Matcher, TokenTable};
//! use nerlm_core::vocab::{Vocab, VocabKind};
//!
//! // A toy vocabulary: each token is a byte string; id 4 is end-of-sequence.
//! let toks = ["{\"人物\": [", "\"", "张三", "]}", ]
//!     .iter().map(|s| Some(s.as_bytes().to_vec())).chain([None]).collect();
//! let vocab = Arc::new(Vocab::from_parts(VocabKind::ByteLevel, toks, HashMap::new(), vec![4]));
//! let opts = GrammarOptions { grounded: true, ..Default::default() };
//! let g = Grammar::compile("iepile-json", &["人物".to_string()], "张三说", &opts).unwrap();
//! let table = Arc::new(TokenTable::new(vocab, g));
//! let mut m = Matcher::new(table);
//! for t in [0, 1, 2, 1, 3, 4] {
//!     m.accept_token(t).unwrap();
//! }
//! assert!(m.is_terminated());
//! assert_eq!(m.output(), "{\"人物\": [\"张三\"]}".as_bytes());
//! let mut row = vec![0u32; bitmask_words(5)];
//! assert_eq!(m.fill_bitmask(&mut row).unwrap(), 1); // only end-of-sequence remains
//! ```

#![warn(missing_docs)]

pub mod align;
pub mod error;
pub mod grammar;
pub mod ground;
pub mod mem;
pub mod score;
pub mod similarity;
pub mod tables;
pub mod tags;
pub mod text;
pub mod tokens;
pub mod vocab;

pub use error::{Error, Result};
