//! Keyed lists of strings: `iepile-json` and `clue-fill`.
//!
//! * `iepile-json` (IEPile / InstructKGC / OneKE): `{"组织机构": [], "人物": ["康有为", "梁启超"]}`
//!   — every schema label a key, in schema order, as `json.dumps(..., ensure_ascii=False)`
//!   writes it.
//! * `clue-fill` (LLM-NER, ChatGLM2 + P-tuning v2 on CLUENER): the Python `repr` of
//!   `{'属于人名类实体有?': ['叶老桂'], '属于企业类实体有?': ['浙商银行']}` — keys
//!   `属于{label}类实体有?` in schema order, strings quoted as `repr(str)` quotes them.

use crate::error::Result;
use crate::grammar::{add_byte, check_labels, GrammarOptions};
use crate::ground::{json_escape, py_repr, GroundedString, Quoting, StrState};

/// A compiled keyed-lists grammar for one request.
#[derive(Debug, Clone)]
pub struct KeyedLists {
    /// Literal segments: `seg[0] = {KEY0: [`, `seg[k] = ], KEYk: [`, last = `]}` (or `{}`).
    segs: Vec<Vec<u8>>,
    strings: GroundedString,
    /// Opening (= closing) quote byte per string mode.
    quotes: [Option<u8>; 2],
    max_entities: Option<u16>,
}

/// A state of [`KeyedLists`]. `key` is the label index in the schema, `n` the number of
/// entities already closed in that label's list.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyedState {
    /// Writing literal segment `seg` at byte `pos`.
    Lit { seg: u16, pos: u32 },
    /// After `[`: a quote or `]`.
    ListStart { key: u16 },
    /// Inside entity string `n` of label `key`.
    Str { key: u16, n: u16, s: StrState },
    /// After the closing quote of entity `n - 1`: `,` or `]`.
    AfterStr { key: u16, n: u16 },
    /// After `,`: a space.
    Comma { key: u16, n: u16 },
    /// After `, `: an opening quote.
    Space { key: u16, n: u16 },
    /// The closing `}` was written.
    Done,
}

impl KeyedLists {
    /// `iepile-json` for `labels` (schema order) over `text`.
    ///
    /// # Errors
    /// [`crate::Error::Grammar`] for empty or duplicate labels.
    pub fn iepile_json(labels: &[String], text: &str, opts: &GrammarOptions) -> Result<KeyedLists> {
        check_labels(labels)?;
        let keys: Vec<String> = labels
            .iter()
            .map(|l| format!("\"{}\"", json_escape(l)))
            .collect();
        let strings = GroundedString::new(
            Quoting::Json,
            opts.grounded.then_some(text),
            opts.max_entity_chars,
        )?;
        Ok(Self::build(&keys, strings, [Some(b'"'), None], opts))
    }

    /// `clue-fill` for `labels` (schema order) over `text`.
    ///
    /// # Errors
    /// [`crate::Error::Grammar`] for empty or duplicate labels.
    pub fn clue_fill(labels: &[String], text: &str, opts: &GrammarOptions) -> Result<KeyedLists> {
        check_labels(labels)?;
        let keys: Vec<String> = labels
            .iter()
            .map(|l| py_repr(&format!("属于{l}类实体有?")))
            .collect();
        let strings = GroundedString::new(
            Quoting::PyRepr,
            opts.grounded.then_some(text),
            opts.max_entity_chars,
        )?;
        Ok(Self::build(&keys, strings, [Some(b'\''), Some(b'"')], opts))
    }

    fn build(
        keys: &[String],
        strings: GroundedString,
        quotes: [Option<u8>; 2],
        opts: &GrammarOptions,
    ) -> KeyedLists {
        let mut segs = Vec::with_capacity(keys.len() + 1);
        if keys.is_empty() {
            segs.push(b"{}".to_vec());
        } else {
            for (i, k) in keys.iter().enumerate() {
                let head = if i == 0 { "{" } else { "], " };
                segs.push(format!("{head}{k}: [").into_bytes());
            }
            segs.push(b"]}".to_vec());
        }
        KeyedLists {
            segs,
            strings,
            quotes,
            max_entities: opts.max_entities_per_label,
        }
    }

    /// The initial state.
    pub fn start(&self) -> KeyedState {
        KeyedState::Lit { seg: 0, pos: 0 }
    }

    fn after_seg(&self, seg: u16) -> KeyedState {
        if seg as usize == self.segs.len() - 1 {
            KeyedState::Done
        } else {
            KeyedState::ListStart { key: seg }
        }
    }

    fn close_list(&self, key: u16) -> KeyedState {
        KeyedState::Lit {
            seg: key + 1,
            pos: 1,
        }
    }

    fn open(&self, key: u16, n: u16, b: u8) -> Option<KeyedState> {
        let mode = self.quotes.iter().position(|&q| q == Some(b))?;
        let s = self.strings.start(mode as u8);
        self.strings
            .is_live(s)
            .then_some(KeyedState::Str { key, n, s })
    }

    /// Consume one byte.
    #[inline]
    pub fn step(&self, s: KeyedState, b: u8) -> Option<KeyedState> {
        use KeyedState::*;
        match s {
            Lit { seg, pos } => {
                let lit = &self.segs[seg as usize];
                if lit[pos as usize] != b {
                    return None;
                }
                if pos as usize + 1 == lit.len() {
                    Some(self.after_seg(seg))
                } else {
                    Some(Lit { seg, pos: pos + 1 })
                }
            }
            ListStart { key } => {
                if b == b']' {
                    Some(self.close_list(key))
                } else {
                    self.open(key, 0, b)
                }
            }
            Str { key, n, s } => {
                let close = self.quotes[(s.flags & 1) as usize];
                if Some(b) == close && !self.strings.in_escape(s) {
                    return if self.strings.can_close(s) {
                        self.after_close(KeyedState::Str { key, n, s })
                    } else {
                        None
                    };
                }
                self.strings.step(s, b).map(|s| Str { key, n, s })
            }
            AfterStr { key, n } => match b {
                b',' if self.max_entities.is_none_or(|m| n < m) => Some(Comma { key, n }),
                b']' => Some(self.close_list(key)),
                _ => None,
            },
            Comma { key, n } => (b == b' ').then_some(Space { key, n }),
            Space { key, n } => self.open(key, n, b),
            Done => None,
        }
    }

    /// The key under which `s`'s token mask may be cached: `s` with the entity count dropped
    /// when no maximum makes it matter; `None` inside a string that has begun.
    pub fn mask_key(&self, s: KeyedState) -> Option<KeyedState> {
        use KeyedState::*;
        let n = |n: u16| if self.max_entities.is_some() { n } else { 0 };
        Some(match s {
            Str { key, n: k, s } => s.is_fresh().then_some(Str { key, n: n(k), s })?,
            AfterStr { key, n: k } => AfterStr { key, n: n(k) },
            Comma { key, n: k } => Comma { key, n: n(k) },
            Space { key, n: k } => Space { key, n: n(k) },
            other => other,
        })
    }

    /// May stepping `b` from `s` consult the text? Inside a string, and where `b` may open
    /// one ([`KeyedLists::open`] checks that the text can ground an entity at all).
    #[inline]
    pub fn reads_text(&self, s: KeyedState, b: u8) -> bool {
        use KeyedState::*;
        match s {
            Str { .. } | Space { .. } => true,
            ListStart { .. } => b != b']',
            _ => false,
        }
    }

    /// The state after the closing quote of the string `s` is in (its content not checked).
    pub fn after_close(&self, s: KeyedState) -> Option<KeyedState> {
        match s {
            KeyedState::Str { key, n, .. } => Some(KeyedState::AfterStr { key, n: n + 1 }),
            _ => None,
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: KeyedState) -> bool {
        s == KeyedState::Done
    }

    /// A superset of the bytes allowed in `s` (bitset); `false` when it would be most bytes.
    pub fn candidate_bytes(&self, s: KeyedState, out: &mut [u64; 4]) -> bool {
        use KeyedState::*;
        let quotes =
            |out: &mut [u64; 4]| self.quotes.iter().flatten().for_each(|&q| add_byte(out, q));
        match s {
            Lit { seg, pos } => add_byte(out, self.segs[seg as usize][pos as usize]),
            ListStart { .. } => {
                add_byte(out, b']');
                quotes(out);
            }
            Str { s, .. } => {
                if !self.strings.candidate_bytes(s, out) {
                    return false;
                }
                if let Some(q) = self.quotes[(s.flags & 1) as usize] {
                    add_byte(out, q);
                }
            }
            AfterStr { .. } => {
                add_byte(out, b',');
                add_byte(out, b']');
            }
            Comma { .. } => add_byte(out, b' '),
            Space { .. } => quotes(out),
            Done => {}
        }
        true
    }

    /// The string automaton, a string state and the byte that closes it.
    pub fn string_state(&self, s: StrState) -> Option<(&GroundedString, StrState, u8)> {
        Some((&self.strings, s, self.quotes[(s.flags & 1) as usize]?))
    }

    /// The strings automaton (shared by all lists).
    pub fn strings(&self) -> &GroundedString {
        &self.strings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(g: &KeyedLists, out: &str) -> Option<KeyedState> {
        let mut s = g.start();
        for &b in out.as_bytes() {
            s = g.step(s, b)?;
        }
        Some(s)
    }

    fn labels(ls: &[&str]) -> Vec<String> {
        ls.iter().map(|s| s.to_string()).collect()
    }

    fn grounded() -> GrammarOptions {
        GrammarOptions {
            grounded: true,
            ..Default::default()
        }
    }

    #[test]
    fn iepile_seed_target() {
        let g = KeyedLists::iepile_json(
            &labels(&["组织机构", "地理位置", "人物"]),
            "康有为与梁启超都是中华的人",
            &grounded(),
        )
        .unwrap();
        let ok = r#"{"组织机构": [], "地理位置": ["中华"], "人物": ["康有为", "梁启超"]}"#;
        assert!(g.is_accepting(run(&g, ok).unwrap()));
        for bad in [
            r#"{"地理位置": [], "组织机构": [], "人物": []}"#,
            r#"{"组织机构": [], "地理位置": ["中国"], "人物": []}"#,
            r#"{"组织机构":[], "地理位置": [], "人物": []}"#,
        ] {
            assert!(run(&g, bad).is_none(), "{bad}");
        }
        assert!(run(&g, &format!("{ok} ")).is_none());
    }

    #[test]
    fn clue_fill_seed_target() {
        let text = "浙商银行企业信贷部叶老桂博士说'好'";
        let g = KeyedLists::clue_fill(&labels(&["人名", "企业"]), text, &grounded()).unwrap();
        let ok = "{'属于人名类实体有?': ['叶老桂'], '属于企业类实体有?': ['浙商银行', \"说'好'\"]}";
        assert!(g.is_accepting(run(&g, ok).unwrap()));
        assert!(run(&g, "{'属于人名类实体有?': ['说\\'好\\''").is_none());
        assert!(run(&g, "{'属于人名类实体有?': [\"叶老桂\"").is_none());
    }

    #[test]
    fn max_entities() {
        let opts = GrammarOptions {
            grounded: true,
            max_entities_per_label: Some(1),
            ..Default::default()
        };
        let g = KeyedLists::iepile_json(&labels(&["人物"]), "甲乙", &opts).unwrap();
        assert!(run(&g, r#"{"人物": ["甲"]}"#).is_some());
        assert!(run(&g, r#"{"人物": ["甲", "#).is_none());
    }

    #[test]
    fn empty_schema() {
        let g = KeyedLists::iepile_json(&[], "x", &GrammarOptions::default()).unwrap();
        assert!(g.is_accepting(run(&g, "{}").unwrap()));
    }
}
