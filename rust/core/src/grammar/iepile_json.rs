//! `iepile-json` (IEPile / InstructKGC / OneKE): the model writes
//! `{"组织机构": [], "地理位置": ["中华"], "人物": ["康有为", "梁启超"]}` — every schema label
//! as a key, in schema order, each with a JSON list of entity strings, separators `", "` and
//! `": "` as `json.dumps(..., ensure_ascii=False)` writes them.

use crate::error::{Error, Result};
use crate::grammar::GrammarOptions;
use crate::ground::{json_escape, JsonString, StrState};

/// Compiled `iepile-json` grammar for one request.
#[derive(Debug, Clone)]
pub struct IepileJson {
    /// Literal segments: `seg[0] = {"L0": [`, `seg[k] = ], "Lk": [`, last = `]}` (or `{}`
    /// for an empty schema).
    segs: Vec<Vec<u8>>,
    n_labels: u16,
    strings: JsonString,
    max_entities: Option<u16>,
}

/// A state of [`IepileJson`]. `key` is the label index in the schema, `n` the number of
/// entities already closed in that label's list.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IepileState {
    /// Writing literal segment `seg` at byte `pos`.
    Lit { seg: u16, pos: u32 },
    /// After `[` of label `key`: `"` or `]`.
    ListStart { key: u16 },
    /// Inside entity string number `n` of label `key`.
    Str { key: u16, n: u16, s: StrState },
    /// After the closing quote of entity `n - 1`: `,` or `]`.
    AfterStr { key: u16, n: u16 },
    /// After `,`: a space.
    Comma { key: u16, n: u16 },
    /// After `, `: the opening quote.
    Space { key: u16, n: u16 },
    /// The closing `}` was written.
    Done,
}

impl IepileJson {
    /// Compile for `labels` (the schema, in order) and the input `text`.
    ///
    /// # Errors
    /// [`Error::Grammar`] for duplicate or empty labels or a schema over 65,535 labels.
    pub fn new(labels: &[String], text: &str, opts: &GrammarOptions) -> Result<IepileJson> {
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
        let mut segs = Vec::with_capacity(labels.len() + 1);
        if labels.is_empty() {
            segs.push(b"{}".to_vec());
        } else {
            for (i, l) in labels.iter().enumerate() {
                let head = if i == 0 { "{\"" } else { "], \"" };
                segs.push(format!("{head}{}\": [", json_escape(l)).into_bytes());
            }
            segs.push(b"]}".to_vec());
        }
        let strings = JsonString::new(opts.grounded.then_some(text), opts.max_entity_chars);
        Ok(IepileJson {
            segs,
            n_labels: labels.len() as u16,
            strings,
            max_entities: opts.max_entities_per_label,
        })
    }

    /// The initial state.
    pub fn start(&self) -> IepileState {
        IepileState::Lit { seg: 0, pos: 0 }
    }

    /// The state after the last byte of segment `seg`.
    fn after_seg(&self, seg: u16) -> IepileState {
        if seg == self.segs.len() as u16 - 1 {
            IepileState::Done
        } else {
            IepileState::ListStart { key: seg }
        }
    }

    /// Close the list of `key`: continue with the next segment after its leading `]`.
    fn close_list(&self, key: u16) -> IepileState {
        let seg = key + 1;
        if self.segs[seg as usize].len() == 1 {
            self.after_seg(seg)
        } else {
            IepileState::Lit { seg, pos: 1 }
        }
    }

    /// Consume one byte.
    #[inline]
    pub fn step(&self, s: IepileState, b: u8) -> Option<IepileState> {
        use IepileState::*;
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
            ListStart { key } => match b {
                b'"' => Some(Str {
                    key,
                    n: 0,
                    s: self.strings.start(),
                }),
                b']' => Some(self.close_list(key)),
                _ => None,
            },
            Str { key, n, s } => {
                if b == b'"' && !self.strings.in_escape(s) {
                    return self
                        .strings
                        .can_close(s)
                        .then_some(AfterStr { key, n: n + 1 });
                }
                self.strings.step(s, b).map(|s| Str { key, n, s })
            }
            AfterStr { key, n } => match b {
                b',' if self.max_entities.is_none_or(|m| n < m) => Some(Comma { key, n }),
                b']' => Some(self.close_list(key)),
                _ => None,
            },
            Comma { key, n } => (b == b' ').then_some(Space { key, n }),
            Space { key, n } => (b == b'"').then_some(Str {
                key,
                n,
                s: self.strings.start(),
            }),
            Done => None,
        }
    }

    /// May the output end in `s`?
    #[inline]
    pub fn is_accepting(&self, s: IepileState) -> bool {
        s == IepileState::Done
    }

    /// Number of labels in the schema.
    pub fn n_labels(&self) -> usize {
        self.n_labels as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(g: &IepileJson, out: &str) -> Option<IepileState> {
        let mut s = g.start();
        for &b in out.as_bytes() {
            s = g.step(s, b)?;
        }
        Some(s)
    }

    fn labels(ls: &[&str]) -> Vec<String> {
        ls.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_seed_target() {
        let text = "康有为与梁启超都是中华的人";
        let opts = GrammarOptions {
            grounded: true,
            ..Default::default()
        };
        let g = IepileJson::new(&labels(&["组织机构", "地理位置", "人物"]), text, &opts).unwrap();
        let ok = r#"{"组织机构": [], "地理位置": ["中华"], "人物": ["康有为", "梁启超"]}"#;
        assert!(g.is_accepting(run(&g, ok).unwrap()));
        // Wrong key order, ungrounded entity, missing space, trailing text.
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
    fn max_entities() {
        let opts = GrammarOptions {
            grounded: true,
            max_entities_per_label: Some(1),
            ..Default::default()
        };
        let g = IepileJson::new(&labels(&["人物"]), "甲乙", &opts).unwrap();
        assert!(run(&g, r#"{"人物": ["甲"]}"#).is_some());
        assert!(run(&g, r#"{"人物": ["甲", "#).is_none());
    }

    #[test]
    fn empty_schema() {
        let g = IepileJson::new(&[], "x", &GrammarOptions::default()).unwrap();
        assert!(g.is_accepting(run(&g, "{}").unwrap()));
    }
}
