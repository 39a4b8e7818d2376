//! `xml-inline` (power-grid LoRA, Qwen1.5 + LLaMA-Factory): the input copied exactly, with
//! entities wrapped in tags: `<Date>本月</Date><City>菏泽</City>的投诉个数`. The characters
//! `&`, `<`, `>` of the text are written `&amp;`, `&lt;`, `&gt;`. Labels configured as
//! *inferred* are inserted as extra elements with free text (`<Province>山东省</Province>`),
//! anywhere outside other elements. Elements are non-empty and neither nest nor overlap.
//! With the tags (and inferred elements) removed and the escapes undone, the output equals
//! the input — the automaton tracks the position in the input, so it needs no per-request
//! precomputation beyond the label trie.

use crate::error::{Error, Result};
use crate::grammar::{add_byte, check_labels, GrammarOptions, LitTrie};
use crate::ground::{GroundedString, Quoting, StrState};
use crate::text::is_continuation;

/// A compiled `xml-inline` grammar for one request.
#[derive(Debug, Clone)]
pub struct XmlInline {
    text: Vec<u8>,
    /// Tag names followed by `>`; terminal = label index. `tail_tags` holds only the
    /// inferred labels: at the end of the input no real element can open.
    tags: LitTrie,
    tail_tags: LitTrie,
    /// `/Name>` per label.
    closers: Vec<Vec<u8>>,
    inferred: Vec<bool>,
    free: GroundedString,
    max_entities: Option<u32>,
}

/// A state of [`XmlInline`]; `p` is the byte position in the input, `n` the number of
/// elements opened so far.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XmlState {
    /// Copying outside elements; `e` bytes of the current character's written form are out.
    Out { p: u32, e: u8, n: u16 },
    /// After `<`, walking the tag-name trie.
    Open { node: u16, p: u32, n: u16 },
    /// Copying inside element `label`; `filled` once it holds a character.
    In {
        label: u16,
        p: u32,
        e: u8,
        filled: bool,
        n: u16,
    },
    /// Writing `/Name>` of `label`, `pos` bytes out.
    Close { label: u16, pos: u8, p: u32, n: u16 },
    /// Inside an inferred element's free text.
    Free {
        label: u16,
        s: StrState,
        p: u32,
        n: u16,
    },
}

fn written(b: u8) -> Option<&'static [u8]> {
    match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        _ => None,
    }
}

impl XmlInline {
    /// Compile for `labels` over `text`; `inferred` names labels whose text is free.
    ///
    /// # Errors
    /// [`Error::Grammar`] for bad labels, an inferred label outside the schema, a label
    /// that cannot be a tag name, or an input over 4 GiB.
    pub fn new(
        labels: &[String],
        inferred: &[String],
        text: &str,
        opts: &GrammarOptions,
    ) -> Result<XmlInline> {
        check_labels(labels)?;
        if text.len() >= u32::MAX as usize {
            return Err(Error::Grammar("input too long".into()));
        }
        for l in labels {
            if l.bytes()
                .any(|b| matches!(b, b'<' | b'>' | b'/' | b'&' | b' ' | b'"' | b'\'' | b'='))
            {
                return Err(Error::Grammar(format!(
                    "label {l:?} cannot be an XML tag name"
                )));
            }
        }
        for l in inferred {
            if !labels.contains(l) {
                return Err(Error::Grammar(format!(
                    "inferred label {l:?} is not in the schema"
                )));
            }
        }
        let forms: Vec<Vec<u8>> = labels
            .iter()
            .map(|l| format!("{l}>").into_bytes())
            .collect();
        // Keep label indices: non-inferred labels get an empty form, which never matches.
        let tail: Vec<Vec<u8>> = labels
            .iter()
            .zip(&forms)
            .map(|(l, f)| {
                if inferred.contains(l) {
                    f.clone()
                } else {
                    Vec::new()
                }
            })
            .collect();
        Ok(XmlInline {
            text: text.as_bytes().to_vec(),
            tags: LitTrie::new(&forms),
            tail_tags: LitTrie::new(&tail),
            closers: labels
                .iter()
                .map(|l| format!("/{l}>").into_bytes())
                .collect(),
            inferred: labels.iter().map(|l| inferred.contains(l)).collect(),
            free: GroundedString::new(Quoting::Xml, None, opts.max_entity_chars)?,
            max_entities: opts
                .max_entities_per_label
                .map(|m| m as u32 * labels.len().max(1) as u32),
        })
    }

    /// The initial state.
    pub fn start(&self) -> XmlState {
        XmlState::Out { p: 0, e: 0, n: 0 }
    }

    /// Copy one byte of the input at `(p, e)`: the next `(p, e)` or `None`.
    #[inline]
    fn copy(&self, p: u32, e: u8, b: u8) -> Option<(u32, u8)> {
        let raw = *self.text.get(p as usize)?;
        match written(raw) {
            Some(form) => {
                if form[e as usize] != b {
                    return None;
                }
                Some(if e as usize + 1 == form.len() {
                    (p + 1, 0)
                } else {
                    (p, e + 1)
                })
            }
            None => (raw == b).then_some((p + 1, 0)),
        }
    }

    #[inline]
    fn at_boundary(&self, p: u32, e: u8) -> bool {
        e == 0
            && self
                .text
                .get(p as usize)
                .is_none_or(|&b| !is_continuation(b))
    }

    /// Consume one byte.
    #[inline]
    pub fn step(&self, s: XmlState, b: u8) -> Option<XmlState> {
        use XmlState::*;
        match s {
            Out { p, e, n } => {
                if b == b'<' && self.at_boundary(p, e) {
                    if self.max_entities.is_some_and(|m| n as u32 >= m) {
                        return None;
                    }
                    if p as usize == self.text.len() && !self.inferred.iter().any(|&x| x) {
                        return None;
                    }
                    return Some(Open { node: 0, p, n });
                }
                self.copy(p, e, b).map(|(p, e)| Out { p, e, n })
            }
            Open { node, p, n } => {
                let tags = if p as usize == self.text.len() {
                    &self.tail_tags
                } else {
                    &self.tags
                };
                let next = tags.child(node, b)?;
                match tags.terminal(next) {
                    Some(label) if self.inferred[label as usize] => Some(Free {
                        label,
                        s: self.free.start(0),
                        p,
                        n: n + 1,
                    }),
                    // A real element needs at least one character of input left.
                    Some(label) => ((p as usize) < self.text.len()).then_some(In {
                        label,
                        p,
                        e: 0,
                        filled: false,
                        n: n + 1,
                    }),
                    None => Some(Open { node: next, p, n }),
                }
            }
            In {
                label,
                p,
                e,
                filled,
                n,
            } => {
                if b == b'<' {
                    return (filled && self.at_boundary(p, e)).then_some(Close {
                        label,
                        pos: 1,
                        p,
                        n,
                    });
                }
                let (p2, e2) = self.copy(p, e, b)?;
                Some(In {
                    label,
                    p: p2,
                    e: e2,
                    filled: true,
                    n,
                })
            }
            Close { label, pos, p, n } => {
                let lit = &self.closers[label as usize];
                if lit[pos as usize - 1] != b {
                    return None;
                }
                Some(if pos as usize == lit.len() {
                    Out { p, e: 0, n }
                } else {
                    Close {
                        label,
                        pos: pos + 1,
                        p,
                        n,
                    }
                })
            }
            Free { label, s, p, n } => {
                if b == b'<' && !self.free.in_escape(s) {
                    return if self.free.can_close(s) {
                        self.after_close(Free { label, s, p, n })
                    } else {
                        None
                    };
                }
                self.free.step(s, b).map(|s| Free { label, s, p, n })
            }
        }
    }

    /// The state after the `<` that ends the free text `s` is in (its content not checked).
    pub fn after_close(&self, s: XmlState) -> Option<XmlState> {
        match s {
            XmlState::Free { label, p, n, .. } => Some(XmlState::Close {
                label,
                pos: 1,
                p,
                n,
            }),
            _ => None,
        }
    }

    /// May stepping `b` from `s` read the input beyond what [`XmlInline::share_key`] keeps?
    /// Only a byte copied from the input: a `<` depends on being at a character boundary
    /// and at the end of the input, both in the key.
    #[inline]
    pub fn reads_text(&self, s: XmlState, b: u8) -> bool {
        matches!(s, XmlState::Out { .. } | XmlState::In { .. }) && b != b'<'
    }

    /// `s` without its input position: whether it is at the end of the input (`p` 1 or 0)
    /// and at a character boundary (`e` 1 or 0), and the element count only when a maximum
    /// applies. Reachable states with equal keys step alike on every byte that does not
    /// read the input ([`XmlInline::reads_text`]), into states with equal keys: positions
    /// change only by copying, and `<`, tag and closer states occur only at boundaries.
    pub fn share_key(&self, s: XmlState) -> XmlState {
        let at_end = |p: u32| u32::from(p as usize == self.text.len());
        let n = |n: u16| if self.max_entities.is_some() { n } else { 0 };
        match s {
            XmlState::Out { p, e, n: k } => XmlState::Out {
                p: at_end(p),
                e: u8::from(self.at_boundary(p, e)),
                n: n(k),
            },
            XmlState::In {
                label,
                p,
                e,
                filled,
                n: k,
            } => XmlState::In {
                label,
                p: at_end(p),
                e: u8::from(self.at_boundary(p, e)),
                filled,
                n: n(k),
            },
            XmlState::Open { node, p, n: k } => XmlState::Open {
                node,
                p: at_end(p),
                n: n(k),
            },
            XmlState::Close {
                label,
                pos,
                p,
                n: k,
            } => XmlState::Close {
                label,
                pos,
                p: at_end(p),
                n: n(k),
            },
            XmlState::Free { label, s, p, n: k } => XmlState::Free {
                label,
                s,
                p: at_end(p),
                n: n(k),
            },
        }
    }

    /// When `s` copies the input (outside or inside an element): the one byte of the
    /// input's written form it may take next (`None` at the end of the input). Every other
    /// byte but `<` is refused there, so a copy state's tokens lie on one trie path.
    #[inline]
    pub fn copy_byte(&self, s: XmlState) -> Option<Option<u8>> {
        match s {
            XmlState::Out { p, e, .. } | XmlState::In { p, e, .. } => Some(
                self.text
                    .get(p as usize)
                    .map(|&raw| written(raw).map_or(raw, |f| f[e as usize])),
            ),
            _ => None,
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: XmlState) -> bool {
        matches!(s, XmlState::Out { p, e: 0, .. } if p as usize == self.text.len())
    }

    /// The free-text automaton of inferred elements.
    pub fn free(&self) -> &GroundedString {
        &self.free
    }

    /// A superset of the bytes allowed in `s` (bitset); `false` when it would be most bytes.
    pub fn candidate_bytes(&self, s: XmlState, out: &mut [u64; 4]) -> bool {
        match s {
            XmlState::Out { p, e, .. } | XmlState::In { p, e, .. } => {
                add_byte(out, b'<');
                if let Some(&raw) = self.text.get(p as usize) {
                    add_byte(out, written(raw).map_or(raw, |f| f[e as usize]));
                }
            }
            XmlState::Open { node, p, .. } => {
                let tags = if p as usize == self.text.len() {
                    &self.tail_tags
                } else {
                    &self.tags
                };
                tags.add_children(node, out);
            }
            XmlState::Close { label, pos, .. } => {
                add_byte(out, self.closers[label as usize][pos as usize - 1])
            }
            XmlState::Free { s, .. } => {
                if !self.free.candidate_bytes(s, out) {
                    return false;
                }
                add_byte(out, b'<');
            }
        }
        true
    }
}
