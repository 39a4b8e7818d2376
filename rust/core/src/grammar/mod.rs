//! Output formats as byte automata.
//!
//! Each format compiles, per request, into a deterministic automaton over the bytes of the
//! target text: [`Grammar::step`] consumes one byte, [`Grammar::is_accepting`] says whether the
//! output may end. Every state is live: from any state reachable by `step` some continuation
//! reaches an accepting state, so constrained decoding never paints itself into a corner.
//!
//! | format | module |
//! |---|---|
//! | `iepile-json`, `clue-fill` | [`keyed_lists`] |
//! | `json-lines` | [`json_lines`] |
//! | `xml-inline` | [`xml_inline`] |
//! | `type-pairs` | [`type_pairs`] |

pub mod json_lines;
pub mod keyed_lists;
pub mod type_pairs;
pub mod xml_inline;

pub use json_lines::{JsonLines, JsonLinesState};
pub use keyed_lists::{KeyedLists, KeyedState};
pub use type_pairs::{TypePairs, TypePairsSpec, TypePairsState};
pub use xml_inline::{XmlInline, XmlState};

use crate::error::{Error, Result};
use crate::ground::{GroundedString, StrState};

/// The output formats, by name.
pub const FORMATS: [&str; 5] = [
    "iepile-json",
    "clue-fill",
    "json-lines",
    "xml-inline",
    "type-pairs",
];

/// Options shared by the formats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GrammarOptions {
    /// Restrict entity strings to substrings of the input text.
    pub grounded: bool,
    /// At most this many entities per label (`None`: unbounded). Formats without per-label
    /// lists (`json-lines`, `type-pairs`, `xml-inline`) cap the total at this many times the
    /// number of labels.
    pub max_entities_per_label: Option<u16>,
    /// At most this many characters per entity (`None`: unbounded).
    pub max_entity_chars: Option<u16>,
    /// `xml-inline`: labels whose element text is free rather than copied from the input.
    pub inferred: Vec<String>,
    /// `type-pairs`: separators and the no-entity literal.
    pub type_pairs: TypePairsSpec,
}

/// Add byte `b` to a 256-bit set.
#[inline]
pub(crate) fn add_byte(set: &mut [u64; 4], b: u8) {
    set[(b >> 6) as usize] |= 1 << (b & 63);
}

/// Check a schema: non-empty, distinct labels, fewer than 65,535 of them.
pub(crate) fn check_labels(labels: &[String]) -> Result<()> {
    if labels.len() >= u16::MAX as usize {
        return Err(Error::Grammar(format!(
            "{} labels is too many",
            labels.len()
        )));
    }
    for (i, l) in labels.iter().enumerate() {
        if l.is_empty() {
            return Err(Error::Grammar(format!("label {i} is empty")));
        }
        if labels[..i].contains(l) {
            return Err(Error::Grammar(format!(
                "label {l:?} appears twice in the schema"
            )));
        }
    }
    Ok(())
}

/// A small byte trie over literal strings (labels with their terminators). A node may be
/// terminal (a whole string ends there) and still have children.
#[derive(Debug, Clone)]
pub struct LitTrie {
    children: Vec<Vec<(u8, u16)>>,
    terminal: Vec<Option<u16>>,
}

impl LitTrie {
    /// Build over `strings`; string `i` ends at a node whose terminal is `i`.
    pub fn new(strings: &[Vec<u8>]) -> LitTrie {
        let mut t = LitTrie {
            children: vec![Vec::new()],
            terminal: vec![None],
        };
        for (i, s) in strings.iter().enumerate() {
            if s.is_empty() {
                continue; // an empty string is never matched (used as a placeholder)
            }
            let mut node = 0usize;
            for &b in s {
                node = match t.children[node].iter().find(|e| e.0 == b) {
                    Some(&(_, n)) => n as usize,
                    None => {
                        t.children.push(Vec::new());
                        t.terminal.push(None);
                        let n = t.children.len() - 1;
                        t.children[node].push((b, n as u16));
                        n
                    }
                };
            }
            t.terminal[node].get_or_insert(i as u16);
        }
        t
    }

    /// Number of nodes, root included.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// True when the trie holds no string.
    pub fn is_empty(&self) -> bool {
        self.children.len() == 1
    }

    /// The child of `node` by byte `b`.
    #[inline]
    pub fn child(&self, node: u16, b: u8) -> Option<u16> {
        self.children[node as usize]
            .iter()
            .find(|e| e.0 == b)
            .map(|e| e.1)
    }

    /// Add the bytes of `node`'s children to a 256-bit set.
    #[inline]
    pub fn add_children(&self, node: u16, set: &mut [u64; 4]) {
        for &(b, _) in &self.children[node as usize] {
            add_byte(set, b);
        }
    }

    /// The string that ends at `node`, if any.
    #[inline]
    pub fn terminal(&self, node: u16) -> Option<u16> {
        self.terminal[node as usize]
    }
}

/// A compiled output format for one request.
#[derive(Debug, Clone)]
pub enum Grammar {
    /// `iepile-json` or `clue-fill`.
    Keyed(KeyedLists),
    /// `json-lines`.
    JsonLines(JsonLines),
    /// `xml-inline`.
    XmlInline(XmlInline),
    /// `type-pairs`.
    TypePairs(TypePairs),
}

/// A state of a [`Grammar`]; small and `Copy`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Keyed(KeyedState),
    JsonLines(JsonLinesState),
    XmlInline(XmlState),
    TypePairs(TypePairsState),
}

macro_rules! dispatch {
    ($self:expr, $s:expr, $g:ident, $st:ident => $body:expr, $other:expr) => {
        match ($self, $s) {
            (Grammar::Keyed($g), State::Keyed($st)) => $body,
            (Grammar::JsonLines($g), State::JsonLines($st)) => $body,
            (Grammar::XmlInline($g), State::XmlInline($st)) => $body,
            (Grammar::TypePairs($g), State::TypePairs($st)) => $body,
            _ => $other,
        }
    };
}

impl Grammar {
    /// Compile output format `format` (one of [`FORMATS`]) for `labels` over `text`.
    ///
    /// # Errors
    /// [`Error::Grammar`] for an unknown format or an invalid schema or option.
    pub fn compile(
        format: &str,
        labels: &[String],
        text: &str,
        opts: &GrammarOptions,
    ) -> Result<Grammar> {
        Ok(match format {
            "iepile-json" => Grammar::Keyed(KeyedLists::iepile_json(labels, text, opts)?),
            "clue-fill" => Grammar::Keyed(KeyedLists::clue_fill(labels, text, opts)?),
            "json-lines" => Grammar::JsonLines(JsonLines::new(labels, text, opts)?),
            "xml-inline" => Grammar::XmlInline(XmlInline::new(labels, &opts.inferred, text, opts)?),
            "type-pairs" => {
                Grammar::TypePairs(TypePairs::new(labels, text, &opts.type_pairs, opts)?)
            }
            other => {
                return Err(Error::Grammar(format!(
                    "unknown output format {other:?} (known: {})",
                    FORMATS.join(", ")
                )))
            }
        })
    }

    /// The initial state.
    pub fn start(&self) -> State {
        match self {
            Grammar::Keyed(g) => State::Keyed(g.start()),
            Grammar::JsonLines(g) => State::JsonLines(g.start()),
            Grammar::XmlInline(g) => State::XmlInline(g.start()),
            Grammar::TypePairs(g) => State::TypePairs(g.start()),
        }
    }

    /// Consume one byte; `None` if the format does not allow it here.
    #[inline]
    pub fn step(&self, s: State, b: u8) -> Option<State> {
        match (self, s) {
            (Grammar::Keyed(g), State::Keyed(s)) => g.step(s, b).map(State::Keyed),
            (Grammar::JsonLines(g), State::JsonLines(s)) => g.step(s, b).map(State::JsonLines),
            (Grammar::XmlInline(g), State::XmlInline(s)) => g.step(s, b).map(State::XmlInline),
            (Grammar::TypePairs(g), State::TypePairs(s)) => g.step(s, b).map(State::TypePairs),
            _ => None,
        }
    }

    /// When every byte `s` accepts but `<` is one fixed byte (`xml-inline` copying the
    /// input): `Some(that byte)`, `Some(None)` when only `<` is left; `None` for other states.
    #[inline]
    pub fn copy_byte(&self, s: State) -> Option<Option<u8>> {
        match (self, s) {
            (Grammar::XmlInline(g), State::XmlInline(s)) => g.copy_byte(s),
            _ => None,
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: State) -> bool {
        dispatch!(self, s, g, st => g.is_accepting(st), false)
    }

    /// Write a superset of the bytes allowed in `s` into `out` (a 256-bit set) and return
    /// `true`, or return `false` when that set would be most bytes (then every byte must be
    /// tried). Used to prune the vocabulary walk.
    #[inline]
    pub fn candidate_bytes(&self, s: State, out: &mut [u64; 4]) -> bool {
        dispatch!(self, s, g, st => g.candidate_bytes(st, out), false)
    }

    /// When `s` is inside an entity string: the string automaton, its state and the byte
    /// that ends the string. Token tables cache the "inner" part of such states' masks.
    pub fn string_state(&self, s: State) -> Option<(&GroundedString, StrState, u8)> {
        match (self, s) {
            (Grammar::Keyed(g), State::Keyed(KeyedState::Str { s, .. })) => g.string_state(s),
            (Grammar::JsonLines(g), State::JsonLines(JsonLinesState::Str { s, .. })) => {
                Some((g.strings(), s, b'"'))
            }
            (Grammar::TypePairs(g), State::TypePairs(TypePairsState::Str { s, .. })) => {
                Some((g.strings(), s, g.stop_byte()))
            }
            (Grammar::XmlInline(g), State::XmlInline(XmlState::Free { s, .. })) => {
                Some((g.free(), s, b'<'))
            }
            _ => None,
        }
    }

    /// The key under which the token mask of `s` may be cached, or `None` when `s`'s mask is
    /// not worth keeping (inside a string that has begun; `xml-inline`, whose states carry
    /// the input position). States with equal keys have equal masks.
    pub fn mask_key(&self, s: State) -> Option<State> {
        match (self, s) {
            (Grammar::Keyed(g), State::Keyed(s)) => g.mask_key(s).map(State::Keyed),
            (Grammar::JsonLines(g), State::JsonLines(s)) => g.mask_key(s).map(State::JsonLines),
            (Grammar::TypePairs(g), State::TypePairs(s)) => g.mask_key(s).map(State::TypePairs),
            _ => None,
        }
    }

    /// May stepping byte `b` from `s` consult the input text beyond what
    /// [`Grammar::share_key`] keeps of `s`? True inside a string and on a byte that may open
    /// one (whether a string may open at all depends on the text: an empty text has no
    /// entity to ground); in `xml-inline`, on every byte copied from the input. Every other
    /// step depends only on the format, the labels, the options and the key, so a state
    /// whose token walk never reads the text has the same mask for every input: token tables
    /// share such masks across requests ([`crate::tables::TokenTable::compile`]).
    #[inline]
    pub fn reads_text(&self, s: State, b: u8) -> bool {
        match (self, s) {
            (Grammar::Keyed(g), State::Keyed(s)) => g.reads_text(s, b),
            (Grammar::JsonLines(g), State::JsonLines(s)) => g.reads_text(s, b),
            (Grammar::TypePairs(g), State::TypePairs(s)) => g.reads_text(s, b),
            (Grammar::XmlInline(g), State::XmlInline(s)) => g.reads_text(s, b),
            _ => true,
        }
    }

    /// The key under which the text-free part of `s`'s token walk is shared across requests
    /// of one shape: [`Grammar::mask_key`] where there is one; in `xml-inline` the state
    /// without its input position ([`XmlInline::share_key`]). Reachable states with equal
    /// keys step alike on the bytes for which [`Grammar::reads_text`] is false, into states
    /// with equal keys.
    pub fn share_key(&self, s: State) -> Option<State> {
        match (self, s) {
            (Grammar::XmlInline(g), State::XmlInline(s)) => Some(State::XmlInline(g.share_key(s))),
            _ => self.mask_key(s),
        }
    }

    /// The state after the byte that closes the string `s` is in (content not checked).
    pub fn after_close(&self, s: State) -> Option<State> {
        match (self, s) {
            (Grammar::Keyed(g), State::Keyed(s)) => g.after_close(s).map(State::Keyed),
            (Grammar::JsonLines(g), State::JsonLines(s)) => g.after_close(s).map(State::JsonLines),
            (Grammar::XmlInline(g), State::XmlInline(s)) => g.after_close(s).map(State::XmlInline),
            (Grammar::TypePairs(g), State::TypePairs(s)) => g.after_close(s).map(State::TypePairs),
            _ => None,
        }
    }

    /// Consume a byte string; `None` as soon as a byte is refused.
    pub fn step_bytes(&self, mut s: State, bytes: &[u8]) -> Option<State> {
        for &b in bytes {
            s = self.step(s, b)?;
        }
        Some(s)
    }

    /// The only byte allowed in `s`, if exactly one is and the output may not end there.
    pub fn forced_byte(&self, s: State) -> Option<u8> {
        if self.is_accepting(s) {
            return None;
        }
        let mut found = None;
        for b in 0..=255u8 {
            if self.step(s, b).is_some() {
                if found.is_some() {
                    return None;
                }
                found = Some(b);
            }
        }
        found
    }
}
