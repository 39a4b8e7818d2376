//! `type-pairs` (Chinese-LLaMA/Alpaca NER): `安装动作_安装&操作部件1_a柱左下部饰板` — label and
//! entity joined by a label separator (`_`), pairs joined by a pair separator (`&`); a
//! configurable literal (`无`) when there is none. Entities may not contain the first
//! character of the pair separator, which must be ASCII, so that a pair always ends there.

use crate::error::{Error, Result};
use crate::grammar::{add_byte, check_labels, GrammarOptions, LitTrie};
use crate::ground::{GroundedString, Quoting, StrState};

/// Separators and the no-entity literal of `type-pairs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypePairsSpec {
    /// Between label and entity (default `_`).
    pub label_sep: String,
    /// Between pairs (default `&`); its first character must be ASCII.
    pub pair_sep: String,
    /// Written when there is no entity (default `无`).
    pub none_text: String,
}

impl Default for TypePairsSpec {
    fn default() -> Self {
        TypePairsSpec {
            label_sep: "_".into(),
            pair_sep: "&".into(),
            none_text: "无".into(),
        }
    }
}

/// A compiled `type-pairs` grammar for one request.
#[derive(Debug, Clone)]
pub struct TypePairs {
    strings: GroundedString,
    /// `label + label_sep` (terminal = label index) and `none_text` (terminal = `NONE`).
    first: LitTrie,
    /// Per node of `first`: on the path of `none_text` (all that may be written when no
    /// entity can be).
    none_path: Vec<bool>,
    /// `label + label_sep` only.
    rest: LitTrie,
    none_id: u16,
    pair_sep: Vec<u8>,
    max_entities: Option<u32>,
}

/// A state of [`TypePairs`]; `n` counts finished pairs.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypePairsState {
    /// Walking the label trie (`first`: the trie that also holds the no-entity literal).
    Label { node: u16, first: bool, n: u16 },
    /// Inside an entity.
    Str { n: u16, s: StrState },
    /// Inside the pair separator, `pos` bytes written.
    Sep { pos: u8, n: u16 },
}

impl TypePairs {
    /// Compile for `labels` over `text`.
    ///
    /// # Errors
    /// [`Error::Grammar`] for bad labels, an empty or non-ASCII-led pair separator, an empty
    /// label separator, or labels that are ambiguous with the separators.
    pub fn new(
        labels: &[String],
        text: &str,
        spec: &TypePairsSpec,
        opts: &GrammarOptions,
    ) -> Result<TypePairs> {
        check_labels(labels)?;
        let stop = *spec
            .pair_sep
            .as_bytes()
            .first()
            .ok_or_else(|| Error::Grammar("the pair separator is empty".into()))?;
        if spec.label_sep.is_empty() {
            return Err(Error::Grammar("the label separator is empty".into()));
        }
        for l in labels {
            if l.contains(&spec.label_sep) || l.contains(&spec.pair_sep) {
                return Err(Error::Grammar(format!("label {l:?} contains a separator")));
            }
        }
        let mut forms: Vec<Vec<u8>> = labels
            .iter()
            .map(|l| format!("{l}{}", spec.label_sep).into_bytes())
            .collect();
        let rest = LitTrie::new(&forms);
        forms.push(spec.none_text.clone().into_bytes());
        let first = LitTrie::new(&forms);
        let mut none_path = vec![false; first.len()];
        let mut node = 0;
        for &b in spec.none_text.as_bytes() {
            match first.child(node, b) {
                Some(next) => {
                    node = next;
                    none_path[node as usize] = true;
                }
                None => break,
            }
        }
        Ok(TypePairs {
            strings: GroundedString::new(
                Quoting::Plain { stop },
                opts.grounded.then_some(text),
                opts.max_entity_chars,
            )?,
            first,
            none_path,
            rest,
            none_id: labels.len() as u16,
            pair_sep: spec.pair_sep.clone().into_bytes(),
            max_entities: opts
                .max_entities_per_label
                .map(|m| m as u32 * labels.len().max(1) as u32),
        })
    }

    /// The initial state.
    pub fn start(&self) -> TypePairsState {
        TypePairsState::Label {
            node: 0,
            first: true,
            n: 0,
        }
    }

    fn trie(&self, first: bool) -> &LitTrie {
        if first {
            &self.first
        } else {
            &self.rest
        }
    }

    /// Consume one byte.
    #[inline]
    pub fn step(&self, s: TypePairsState, b: u8) -> Option<TypePairsState> {
        use TypePairsState::*;
        match s {
            Label { node, first, n } => {
                let t = self.trie(first);
                let next = t.child(node, b)?;
                if first && !self.none_path[next as usize] && !self.strings.can_open() {
                    return None; // no entity can be written: only the no-entity literal
                }
                match t.terminal(next) {
                    Some(id) if id != self.none_id && self.strings.can_open() => Some(Str {
                        n,
                        s: self.strings.start(0),
                    }),
                    _ => Some(Label {
                        node: next,
                        first,
                        n,
                    }),
                }
            }
            Str { n, s } => {
                if b == self.pair_sep[0] {
                    return if self.strings.can_close(s) {
                        self.after_close(Str { n, s })
                    } else {
                        None
                    };
                }
                self.strings.step(s, b).map(|s| Str { n, s })
            }
            Sep { pos, n } => {
                if self.pair_sep[pos as usize] != b {
                    return None;
                }
                Some(if pos as usize + 1 == self.pair_sep.len() {
                    Label {
                        node: 0,
                        first: false,
                        n,
                    }
                } else {
                    Sep { pos: pos + 1, n }
                })
            }
        }
    }

    /// May stepping `b` from `s` consult the text? Inside an entity, on a label's last byte
    /// (it opens the entity), and anywhere in the first label (which must be the
    /// no-entity literal when no entity can be grounded in the text).
    #[inline]
    pub fn reads_text(&self, s: TypePairsState, b: u8) -> bool {
        match s {
            TypePairsState::Str { .. } | TypePairsState::Label { first: true, .. } => true,
            TypePairsState::Label { node, .. } => self
                .rest
                .child(node, b)
                .is_some_and(|next| self.rest.terminal(next).is_some()),
            TypePairsState::Sep { .. } => false,
        }
    }

    /// The key under which `s`'s token mask may be cached: `s` with the pair count dropped
    /// when no maximum makes it matter; `None` inside a string that has begun.
    pub fn mask_key(&self, s: TypePairsState) -> Option<TypePairsState> {
        use TypePairsState::*;
        let n = |n: u16| if self.max_entities.is_some() { n } else { 0 };
        Some(match s {
            Str { n: k, s } => s.is_fresh().then_some(Str { n: n(k), s })?,
            Label { node, first, n: k } => Label {
                node,
                first,
                n: n(k),
            },
            Sep { pos, n: k } => Sep { pos, n: n(k) },
        })
    }

    /// The state after the first byte of the pair separator that ends the entity `s` is in
    /// (its content not checked); `None` when no further pair is allowed.
    pub fn after_close(&self, s: TypePairsState) -> Option<TypePairsState> {
        let TypePairsState::Str { n, .. } = s else {
            return None;
        };
        if self.max_entities.is_some_and(|m| n as u32 + 1 >= m) {
            return None;
        }
        Some(if self.pair_sep.len() == 1 {
            TypePairsState::Label {
                node: 0,
                first: false,
                n: n + 1,
            }
        } else {
            TypePairsState::Sep { pos: 1, n: n + 1 }
        })
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: TypePairsState) -> bool {
        match s {
            TypePairsState::Str { s, .. } => self.strings.can_close(s),
            TypePairsState::Label {
                node, first: true, ..
            } => self.first.terminal(node) == Some(self.none_id),
            _ => false,
        }
    }

    /// The entity string automaton.
    pub fn strings(&self) -> &GroundedString {
        &self.strings
    }

    /// The byte that ends an entity (the first byte of the pair separator).
    pub fn stop_byte(&self) -> u8 {
        self.pair_sep[0]
    }

    /// A superset of the bytes allowed in `s` (bitset); `false` when it would be most bytes.
    pub fn candidate_bytes(&self, s: TypePairsState, out: &mut [u64; 4]) -> bool {
        match s {
            TypePairsState::Label { node, first, .. } => self.trie(first).add_children(node, out),
            TypePairsState::Sep { pos, .. } => add_byte(out, self.pair_sep[pos as usize]),
            TypePairsState::Str { s, .. } => {
                if !self.strings.candidate_bytes(s, out) {
                    return false;
                }
                add_byte(out, self.pair_sep[0]);
            }
        }
        true
    }
}
