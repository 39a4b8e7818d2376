//! Token id -> exact bytes, and a byte trie over the vocabulary.
//!
//! Constrained decoding must work on the bytes a token contributes to the output, not on
//! decoded strings: Qwen2.5 splits `龘` into two tokens that each hold part of its UTF-8
//! encoding, and a decoded string would turn both into U+FFFD. The bytes come from the
//! tokenizer model itself:
//!
//! * byte-level BPE (GPT-2, Qwen, Llama-3): every character of a token string stands for one
//!   byte through GPT-2's `bytes_to_unicode` table;
//! * SentencePiece-style BPE/Unigram with byte fallback (Llama-2, Mistral, Gemma): `<0xNN>`
//!   pieces are the single byte `NN`, `▁` is a space, everything else is its UTF-8;
//! * WordPiece (BERT): `##` continuations lose their prefix; other pieces are their UTF-8.
//!
//! Added and special tokens are never part of the trie (a grammar can never produce them);
//! end-of-sequence ids are kept apart so that a grammar can allow them in accepting states.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{Error, Result};

/// How token strings map to bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// GPT-2 style byte-level BPE.
    ByteLevel,
    /// SentencePiece pieces (`▁` for space, `<0xNN>` byte fallback).
    SentencePiece,
    /// WordPiece (`##` continuation prefix).
    WordPiece,
}

/// One node of the flattened trie, in preorder.
#[derive(Debug, Clone, Copy)]
struct Node {
    byte: u8,
    depth: u16,
    /// Index one past the last node of this node's subtree.
    end: u32,
    /// Range into `Trie::token_ids` of the tokens whose bytes end here.
    tok_start: u32,
    tok_end: u32,
}

/// A byte trie over token byte strings, flattened in preorder so that a whole subtree can be
/// skipped in O(1) (the layout of llguidance's `toktrie`).
#[derive(Debug, Clone)]
pub struct Trie {
    nodes: Vec<Node>,
    token_ids: Vec<u32>,
    max_depth: usize,
}

impl Trie {
    fn build(mut entries: Vec<(&[u8], u32)>) -> Trie {
        entries.sort_unstable();
        let mut nodes = vec![Node {
            byte: 0,
            depth: 0,
            end: 0,
            tok_start: 0,
            tok_end: 0,
        }];
        let mut token_ids = Vec::with_capacity(entries.len());
        // `stack[d]` is the index of the open node at depth d (stack[0] = root).
        let mut stack: Vec<usize> = vec![0];
        let mut prev: &[u8] = &[];
        let mut max_depth = 0;
        for (bytes, id) in entries {
            if bytes.is_empty() {
                continue;
            }
            let lcp = prev.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            while stack.len() > lcp + 1 {
                let idx = stack.pop().expect("stack holds the root");
                nodes[idx].end = nodes.len() as u32;
            }
            for (d, &b) in bytes.iter().enumerate().skip(lcp) {
                let t = token_ids.len() as u32;
                nodes.push(Node {
                    byte: b,
                    depth: (d + 1) as u16,
                    end: 0,
                    tok_start: t,
                    tok_end: t,
                });
                stack.push(nodes.len() - 1);
            }
            let top = *stack.last().expect("non-empty token");
            // Identical byte strings are adjacent after sorting, so a node's ids stay contiguous.
            token_ids.push(id);
            nodes[top].tok_end = token_ids.len() as u32;
            max_depth = max_depth.max(bytes.len());
            prev = bytes;
        }
        while let Some(idx) = stack.pop() {
            nodes[idx].end = nodes.len() as u32;
        }
        Trie {
            nodes,
            token_ids,
            max_depth,
        }
    }

    /// Walk the trie from `start`, calling `step(state, byte)` for each edge; a `None` prunes
    /// the subtree. `emit(id)` is called for every token whose bytes are fully accepted.
    /// Returns the number of trie nodes visited (a cost measure).
    #[inline]
    pub fn walk<S: Copy>(
        &self,
        start: S,
        mut step: impl FnMut(S, u8) -> Option<S>,
        mut emit: impl FnMut(u32),
    ) -> usize {
        let mut stack: Vec<S> = Vec::with_capacity(self.max_depth + 1);
        stack.push(start);
        let mut i = 1usize;
        let mut visited = 0usize;
        let n = self.nodes.len();
        while i < n {
            let node = self.nodes[i];
            visited += 1;
            let d = node.depth as usize;
            stack.truncate(d);
            match step(stack[d - 1], node.byte) {
                Some(s) => {
                    stack.push(s);
                    for &t in &self.token_ids[node.tok_start as usize..node.tok_end as usize] {
                        emit(t);
                    }
                    i += 1;
                }
                None => i = node.end as usize,
            }
        }
        visited
    }

    /// Number of nodes, root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the trie holds no token.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }
}

/// The exact bytes of every token of a tokenizer, with a trie over the ordinary tokens.
#[derive(Debug, Clone)]
pub struct Vocab {
    kind: VocabKind,
    /// Bytes per token id; `None` for ids that a grammar may never produce (added/special
    /// tokens, holes in the id space).
    bytes: Vec<Option<Vec<u8>>>,
    /// Display strings of added/special tokens, for messages and decoding.
    added: HashMap<u32, String>,
    eos: Vec<u32>,
    trie: Trie,
}

/// GPT-2's `bytes_to_unicode`, inverted: char -> byte.
fn byte_level_decoder() -> HashMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.iter()
        .zip(cs)
        .map(|(&b, c)| (char::from_u32(c).expect("valid scalar"), b as u8))
        .collect()
}

fn sentencepiece_bytes(piece: &str) -> Vec<u8> {
    if piece.len() == 6 && piece.starts_with("<0x") && piece.ends_with('>') {
        if let Ok(b) = u8::from_str_radix(&piece[3..5], 16) {
            return vec![b];
        }
    }
    piece.replace('\u{2581}', " ").into_bytes()
}

/// Does any component of a (possibly nested `Sequence`) pre-tokenizer/decoder have `type == ty`?
fn has_component(v: &Value, ty: &str) -> bool {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some(ty) {
                return true;
            }
            ["decoders", "pretokenizers", "normalizers"]
                .iter()
                .filter_map(|k| m.get(*k))
                .any(|sub| has_component(sub, ty))
        }
        Value::Array(a) => a.iter().any(|x| has_component(x, ty)),
        _ => false,
    }
}

impl Vocab {
    /// Read a Hugging Face `tokenizer.json` (as text).
    ///
    /// `eos` lists the ids that end generation (they are allowed only where the grammar
    /// accepts). The vocabulary size is one past the largest id seen in the model or the added
    /// tokens.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the JSON is not a tokenizer of a supported model type
    /// (BPE, Unigram, WordPiece).
    pub fn from_tokenizer_json(json: &str, eos: &[u32]) -> Result<Vocab> {
        let root: Value = serde_json::from_str(json)
            .map_err(|e| Error::Tokenizer(format!("tokenizer.json is not JSON: {e}")))?;
        let model = root
            .get("model")
            .ok_or_else(|| Error::Tokenizer("tokenizer.json has no `model`".into()))?;
        let mtype = model.get("type").and_then(Value::as_str).unwrap_or("");
        let mut pieces: Vec<(String, u32)> = Vec::new();
        match mtype {
            "BPE" | "WordPiece" | "WordLevel" => {
                let vocab = model
                    .get("vocab")
                    .and_then(Value::as_object)
                    .ok_or_else(|| Error::Tokenizer(format!("{mtype} model has no vocab")))?;
                for (k, v) in vocab {
                    let id = v.as_u64().ok_or_else(|| {
                        Error::Tokenizer(format!("vocab id of {k:?} is not an integer"))
                    })?;
                    pieces.push((k.clone(), id as u32));
                }
            }
            "Unigram" => {
                let vocab = model
                    .get("vocab")
                    .and_then(Value::as_array)
                    .ok_or_else(|| Error::Tokenizer("Unigram model has no vocab".into()))?;
                for (i, e) in vocab.iter().enumerate() {
                    let p = e.get(0).and_then(Value::as_str).ok_or_else(|| {
                        Error::Tokenizer(format!("Unigram vocab entry {i} is malformed"))
                    })?;
                    pieces.push((p.to_string(), i as u32));
                }
            }
            other => {
                return Err(Error::Tokenizer(format!(
                "unsupported tokenizer model type {other:?} (expected BPE, Unigram or WordPiece)"
            )))
            }
        }
        let byte_level = has_component(root.get("decoder").unwrap_or(&Value::Null), "ByteLevel")
            || has_component(
                root.get("pre_tokenizer").unwrap_or(&Value::Null),
                "ByteLevel",
            );
        let kind = if byte_level {
            VocabKind::ByteLevel
        } else if mtype == "WordPiece" {
            VocabKind::WordPiece
        } else {
            VocabKind::SentencePiece
        };
        let mut added = HashMap::new();
        if let Some(arr) = root.get("added_tokens").and_then(Value::as_array) {
            for t in arr {
                if let (Some(id), Some(content)) = (
                    t.get("id").and_then(Value::as_u64),
                    t.get("content").and_then(Value::as_str),
                ) {
                    added.insert(id as u32, content.to_string());
                }
            }
        }
        let size = pieces
            .iter()
            .map(|(_, id)| *id as usize + 1)
            .chain(added.keys().map(|id| *id as usize + 1))
            .max()
            .unwrap_or(0);
        let mut bytes: Vec<Option<Vec<u8>>> = vec![None; size];
        let decoder = if kind == VocabKind::ByteLevel {
            Some(byte_level_decoder())
        } else {
            None
        };
        for (piece, id) in pieces {
            if added.contains_key(&id) {
                continue;
            }
            let b = match kind {
                VocabKind::ByteLevel => {
                    let dec = decoder.as_ref().expect("byte-level table");
                    let mut out = Vec::with_capacity(piece.len());
                    for c in piece.chars() {
                        match dec.get(&c) {
                            Some(&b) => out.push(b),
                            // Not in the byte alphabet: a literal token (rare); keep its UTF-8.
                            None => out.extend_from_slice(c.to_string().as_bytes()),
                        }
                    }
                    out
                }
                VocabKind::SentencePiece => sentencepiece_bytes(&piece),
                VocabKind::WordPiece => match piece.strip_prefix("##") {
                    Some(rest) => rest.as_bytes().to_vec(),
                    None => piece.into_bytes(),
                },
            };
            if !b.is_empty() {
                bytes[id as usize] = Some(b);
            }
        }
        Ok(Self::from_parts(kind, bytes, added, eos.to_vec()))
    }

    /// Build from explicit token bytes (`None` = never allowed). Used by tests and by callers
    /// that already hold the bytes.
    pub fn from_parts(
        kind: VocabKind,
        bytes: Vec<Option<Vec<u8>>>,
        added: HashMap<u32, String>,
        eos: Vec<u32>,
    ) -> Vocab {
        let entries: Vec<(&[u8], u32)> = bytes
            .iter()
            .enumerate()
            .filter_map(|(id, b)| b.as_deref().map(|b| (b, id as u32)))
            .collect();
        let trie = Trie::build(entries);
        Vocab {
            kind,
            bytes,
            added,
            eos,
            trie,
        }
    }

    /// Number of token ids (one past the largest id).
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// How token strings were mapped to bytes.
    pub fn kind(&self) -> VocabKind {
        self.kind
    }

    /// The bytes of `id`, or `None` for special/added tokens and unknown ids.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.bytes.get(id as usize).and_then(|b| b.as_deref())
    }

    /// End-of-sequence ids.
    pub fn eos(&self) -> &[u32] {
        &self.eos
    }

    /// Is `id` an end-of-sequence id?
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos.contains(&id)
    }

    /// The trie over ordinary tokens.
    pub fn trie(&self) -> &Trie {
        &self.trie
    }

    /// A printable form of a token (its bytes lossily decoded, or the added token's text).
    pub fn display(&self, id: u32) -> String {
        match self.token_bytes(id) {
            Some(b) => String::from_utf8_lossy(b).into_owned(),
            None => self
                .added
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("<id {id}>")),
        }
    }

    /// Concatenated bytes of `ids`; added/special tokens contribute nothing.
    pub fn decode(&self, ids: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for &id in ids {
            if let Some(b) = self.token_bytes(id) {
                out.extend_from_slice(b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vocab {
        let toks: Vec<Option<Vec<u8>>> = ["a", "ab", "abc", "b", "ab", "", "c"]
            .iter()
            .map(|s| Some(s.as_bytes().to_vec()))
            .chain([None])
            .collect();
        Vocab::from_parts(VocabKind::ByteLevel, toks, HashMap::new(), vec![7])
    }

    #[test]
    fn trie_walk_visits_prefixes() {
        let v = toy();
        // Allow only strings over {a, b}.
        let mut got = Vec::new();
        v.trie().walk(
            (),
            |_, b| (b == b'a' || b == b'b').then_some(()),
            |t| got.push(t),
        );
        got.sort();
        assert_eq!(got, vec![0, 1, 3, 4]);
    }

    #[test]
    fn byte_level_table_is_a_bijection() {
        let d = byte_level_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'!'], b'!');
    }

    #[test]
    fn sentencepiece_pieces() {
        assert_eq!(sentencepiece_bytes("<0xE6>"), vec![0xE6]);
        assert_eq!(sentencepiece_bytes("▁the"), b" the".to_vec());
    }
}
