//! `json-lines` (Qwen2 NER tutorial on chinese_ner_sft): one
//! `{"entity_text": "南京", "entity_label": "地理实体"}` per line (as `json.dumps(...,
//! ensure_ascii=False)` writes it), lines joined by `\n` with no trailing newline; the literal
//! `没有找到任何实体` when there is none. Labels come from the schema, in any order.

use crate::error::Result;
use crate::grammar::{add_byte, check_labels, GrammarOptions, LitTrie};
use crate::ground::{json_escape, GroundedString, Quoting, StrState};

/// The literal written when there is no entity.
pub const NONE_TEXT: &str = "没有找到任何实体";
const HEAD: &[u8] = b"{\"entity_text\": \"";
const MID: &[u8] = b", \"entity_label\": \"";

/// A compiled `json-lines` grammar for one request.
#[derive(Debug, Clone)]
pub struct JsonLines {
    strings: GroundedString,
    /// Escaped labels followed by `"}`.
    labels: LitTrie,
    max_entities: Option<u32>,
}

/// A state of [`JsonLines`]; `n` counts finished lines.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonLinesState {
    /// Nothing written yet.
    Start,
    /// Inside the no-entity literal, `pos` bytes written.
    NoneLit { pos: u8 },
    /// Inside `{"entity_text": "` (`mid = false`) or `", "entity_label": "` (`mid = true`).
    Lit { mid: bool, pos: u8, n: u16 },
    /// Inside the entity string.
    Str { n: u16, s: StrState },
    /// Inside the label (trie node).
    Label { node: u16, n: u16 },
    /// After a complete line: `\n` or the end.
    LineEnd { n: u16 },
    /// The no-entity literal is complete.
    NoneDone,
}

impl JsonLines {
    /// Compile for `labels` over `text`.
    ///
    /// # Errors
    /// [`crate::Error::Grammar`] for empty or duplicate labels.
    pub fn new(labels: &[String], text: &str, opts: &GrammarOptions) -> Result<JsonLines> {
        check_labels(labels)?;
        let forms: Vec<Vec<u8>> = labels
            .iter()
            .map(|l| format!("{}\"}}", json_escape(l)).into_bytes())
            .collect();
        Ok(JsonLines {
            strings: GroundedString::new(
                Quoting::Json,
                opts.grounded.then_some(text),
                opts.max_entity_chars,
            )?,
            labels: LitTrie::new(&forms),
            max_entities: opts
                .max_entities_per_label
                .map(|m| m as u32 * labels.len().max(1) as u32),
        })
    }

    /// The initial state.
    pub fn start(&self) -> JsonLinesState {
        JsonLinesState::Start
    }

    /// Consume one byte.
    #[inline]
    pub fn step(&self, s: JsonLinesState, b: u8) -> Option<JsonLinesState> {
        use JsonLinesState::*;
        match s {
            Start => {
                if b == HEAD[0] && self.strings.can_open() {
                    Some(Lit {
                        mid: false,
                        pos: 1,
                        n: 0,
                    })
                } else if b == NONE_TEXT.as_bytes()[0] {
                    Some(NoneLit { pos: 1 })
                } else {
                    None
                }
            }
            NoneLit { pos } => {
                let lit = NONE_TEXT.as_bytes();
                (lit[pos as usize] == b).then(|| {
                    if pos as usize + 1 == lit.len() {
                        NoneDone
                    } else {
                        NoneLit { pos: pos + 1 }
                    }
                })
            }
            Lit { mid, pos, n } => {
                let lit = if mid { MID } else { HEAD };
                if lit[pos as usize] != b {
                    return None;
                }
                Some(if pos as usize + 1 < lit.len() {
                    Lit {
                        mid,
                        pos: pos + 1,
                        n,
                    }
                } else if mid {
                    Label { node: 0, n }
                } else {
                    Str {
                        n,
                        s: self.strings.start(0),
                    }
                })
            }
            Str { n, s } => {
                if b == b'"' && !self.strings.in_escape(s) {
                    return if self.strings.can_close(s) {
                        self.after_close(Str { n, s })
                    } else {
                        None
                    };
                }
                self.strings.step(s, b).map(|s| Str { n, s })
            }
            Label { node, n } => {
                let next = self.labels.child(node, b)?;
                Some(if self.labels.terminal(next).is_some() {
                    LineEnd { n: n + 1 }
                } else {
                    Label { node: next, n }
                })
            }
            LineEnd { n } => (b == b'\n' && self.max_entities.is_none_or(|m| (n as u32) < m))
                .then_some(Lit {
                    mid: false,
                    pos: 0,
                    n,
                }),
            NoneDone => None,
        }
    }

    /// May stepping `b` from `s` consult the text? Inside a string, on the byte that opens
    /// one, and on the first byte of an entity line (allowed only when an entity can be
    /// grounded in the text at all).
    #[inline]
    pub fn reads_text(&self, s: JsonLinesState, b: u8) -> bool {
        use JsonLinesState::*;
        match s {
            Str { .. } => true,
            Start => b == HEAD[0],
            Lit {
                mid: false, pos, ..
            } => pos as usize + 1 == HEAD.len() && b == HEAD[pos as usize],
            _ => false,
        }
    }

    /// The key under which `s`'s token mask may be cached: `s` with the line count dropped
    /// when no maximum makes it matter; `None` inside a string that has begun.
    pub fn mask_key(&self, s: JsonLinesState) -> Option<JsonLinesState> {
        use JsonLinesState::*;
        let n = |n: u16| if self.max_entities.is_some() { n } else { 0 };
        Some(match s {
            Str { n: k, s } => s.is_fresh().then_some(Str { n: n(k), s })?,
            Lit { mid, pos, n: k } => Lit { mid, pos, n: n(k) },
            Label { node, n: k } => Label { node, n: n(k) },
            LineEnd { n: k } => LineEnd { n: n(k) },
            other => other,
        })
    }

    /// The state after the closing quote of the string `s` is in (its content not checked).
    pub fn after_close(&self, s: JsonLinesState) -> Option<JsonLinesState> {
        match s {
            JsonLinesState::Str { n, .. } => Some(JsonLinesState::Lit {
                mid: true,
                pos: 0,
                n,
            }),
            _ => None,
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: JsonLinesState) -> bool {
        matches!(s, JsonLinesState::LineEnd { .. } | JsonLinesState::NoneDone)
    }

    /// The entity string automaton.
    pub fn strings(&self) -> &GroundedString {
        &self.strings
    }

    /// A superset of the bytes allowed in `s` (bitset); `false` when it would be most bytes.
    pub fn candidate_bytes(&self, s: JsonLinesState, out: &mut [u64; 4]) -> bool {
        use JsonLinesState::*;
        match s {
            Start => {
                add_byte(out, HEAD[0]);
                add_byte(out, NONE_TEXT.as_bytes()[0]);
            }
            NoneLit { pos } => add_byte(out, NONE_TEXT.as_bytes()[pos as usize]),
            Lit { mid, pos, .. } => add_byte(out, if mid { MID } else { HEAD }[pos as usize]),
            Str { s, .. } => {
                if !self.strings.candidate_bytes(s, out) {
                    return false;
                }
                add_byte(out, b'"');
            }
            Label { node, .. } => self.labels.add_children(node, out),
            LineEnd { .. } => add_byte(out, b'\n'),
            NoneDone => {}
        }
        true
    }
}
