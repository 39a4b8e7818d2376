//! Output formats as byte automata.
//!
//! Each format compiles, per request, into a deterministic automaton over the bytes of the
//! target text: [`Grammar::step`] consumes one byte, [`Grammar::is_accepting`] says whether the
//! output may end. Every state is live: from any state reachable by `step` some continuation
//! reaches an accepting state, so constrained decoding never paints itself into a corner.

pub mod iepile_json;

pub use iepile_json::{IepileJson, IepileState};

/// Options shared by the formats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrammarOptions {
    /// Restrict entity strings to substrings of the input text.
    pub grounded: bool,
    /// At most this many entities per label (`None`: unbounded).
    pub max_entities_per_label: Option<u16>,
    /// At most this many characters per entity (`None`: unbounded; grounded strings are
    /// bounded by the input anyway).
    pub max_entity_chars: Option<u16>,
}

/// A compiled output format for one request.
#[derive(Debug, Clone)]
pub enum Grammar {
    /// `iepile-json`: `{"label": ["entity", ...], ...}`, keys in schema order.
    IepileJson(IepileJson),
}

/// A state of a [`Grammar`]; small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// A state of [`IepileJson`].
    IepileJson(IepileState),
}

impl Grammar {
    /// The initial state.
    pub fn start(&self) -> State {
        match self {
            Grammar::IepileJson(g) => State::IepileJson(g.start()),
        }
    }

    /// Consume one byte; `None` if the format does not allow it here.
    #[inline]
    pub fn step(&self, s: State, b: u8) -> Option<State> {
        match (self, s) {
            (Grammar::IepileJson(g), State::IepileJson(s)) => g.step(s, b).map(State::IepileJson),
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: State) -> bool {
        match (self, s) {
            (Grammar::IepileJson(g), State::IepileJson(s)) => g.is_accepting(s),
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
