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
use std::sync::OnceLock;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::tables::MaskRegistry;

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

const NO_TOKEN: u32 = u32::MAX;
/// Set on a node's token when further tokens share its bytes (in `Trie::extra`); token ids
/// stay below 2^31.
const MORE_TOKENS: u32 = 1 << 31;
/// Bytes after the last node's in `Trie::bytes`, so that a 16-byte load at any node stays
/// inside the buffer.
const PAD: usize = 16;

/// A byte trie over token byte strings, laid out breadth-first so that the children of a node
/// are contiguous and sorted by byte: node `i`'s children are `first[i]..first[i + 1]`.
/// Scanning a node's children reads a few adjacent bytes (one cache line) instead of hopping
/// across subtrees; a child is found by an SSE2 scan of 16 children at a time (elsewhere, a
/// linear scan up to 8 children and a binary search above). 9 bytes per node.
#[derive(Debug, Clone)]
pub struct Trie {
    /// The byte on the edge into each node (the root's is unused).
    bytes: Vec<u8>,
    /// Per node, `[first, token]`: its children are `first[i]..first[i + 1]`, and `token` is
    /// the token whose bytes end there (`NO_TOKEN` if none; with `MORE_TOKENS` set when more
    /// are listed in `extra`). `nodes + 1` entries (the last: the end of the last children).
    /// Side by side, a step reads one cache line for a node's token and its child range.
    node: Vec<[u32; 2]>,
    /// Node index of the root's child for each byte (`NO_TOKEN`: none).
    root_child: [u32; 256],
    /// Further tokens with the same bytes as a node's `token` (rare), by node index.
    extra: HashMap<u32, Vec<u32>>,
    max_depth: usize,
}

/// One level of a walk: the state after a node, the bytes it may continue with, and the
/// node's children still to visit.
#[derive(Clone, Copy)]
struct Frame<S> {
    state: S,
    all: bool,
    cand: [u64; 4],
    next: u32,
    end: u32,
}

#[inline]
fn has_byte(set: &[u64; 4], b: u8) -> bool {
    set[(b >> 6) as usize] >> (b & 63) & 1 == 1
}

/// The smallest byte in `set` greater than `b`.
#[inline]
fn next_byte(set: &[u64; 4], b: u8) -> Option<u8> {
    let b = b as usize + 1;
    if b > 255 {
        return None;
    }
    let (mut w, bit) = (b >> 6, b & 63);
    let mut word = set[w] & (u64::MAX << bit);
    loop {
        if word != 0 {
            return Some((w * 64 + word.trailing_zeros() as usize) as u8);
        }
        w += 1;
        if w == 4 {
            return None;
        }
        word = set[w];
    }
}

impl Trie {
    fn build(mut entries: Vec<(&[u8], u32)>) -> Trie {
        entries.retain(|(b, _)| !b.is_empty() && b.len() <= u16::MAX as usize);
        entries.sort_unstable();
        // One node per distinct prefix: count them first, so that every array is allocated
        // once at its final size.
        let mut n_nodes = 1usize;
        let mut prev: &[u8] = &[];
        for &(b, _) in &entries {
            let lcp = prev.iter().zip(b).take_while(|(x, y)| x == y).count();
            n_nodes += b.len() - lcp;
            prev = b;
        }
        // Nodes are numbered in the order they are created, breadth-first. The node being
        // expanded is the front of `queue`, which holds the sorted entries sharing its bytes
        // (a depth-`d` prefix); only the frontier is queued at any time.
        let mut bytes = Vec::with_capacity(n_nodes);
        // `[first, token]` per node: the token is set when the node is created or expanded,
        // `first` when it is expanded (in node order), the end sentinel last.
        let mut node: Vec<[u32; 2]> = Vec::with_capacity(n_nodes + 1);
        bytes.push(0u8);
        node.push([0, NO_TOKEN]);
        let mut queue: std::collections::VecDeque<(u32, u32)> = std::collections::VecDeque::new();
        queue.push_back((0, entries.len() as u32));
        let mut extra: HashMap<u32, Vec<u32>> = HashMap::new();
        let (mut d, mut level_end) = (0usize, 1usize);
        let mut i = 0usize;
        while let Some((lo, hi)) = queue.pop_front() {
            if i == level_end {
                d += 1;
                level_end = bytes.len();
            }
            node[i][0] = bytes.len() as u32;
            let (lo, hi) = (lo as usize, hi as usize);
            let mut j = lo;
            // Entries exactly `d` bytes long end here (they sort first in the range).
            while j < hi && entries[j].0.len() == d {
                if node[i][1] == NO_TOKEN {
                    node[i][1] = entries[j].1;
                } else {
                    extra.entry(i as u32).or_default().push(entries[j].1);
                }
                j += 1;
            }
            while j < hi {
                let b = entries[j].0[d];
                let mut k = j + 1;
                while k < hi && entries[k].0[d] == b {
                    k += 1;
                }
                bytes.push(b);
                node.push([0, NO_TOKEN]);
                queue.push_back((j as u32, k as u32));
                j = k;
            }
            i += 1;
        }
        let max_depth = d;
        debug_assert_eq!(bytes.len(), n_nodes);
        debug_assert_eq!(i, n_nodes);
        node.push([bytes.len() as u32, NO_TOKEN]);
        for &n in extra.keys() {
            node[n as usize][1] |= MORE_TOKENS;
        }
        bytes.extend_from_slice(&[0; PAD]);
        let mut root_child = [NO_TOKEN; 256];
        for c in node[0][0]..node[1][0] {
            root_child[bytes[c as usize] as usize] = c;
        }
        Trie {
            bytes,
            node,
            root_child,
            extra,
            max_depth,
        }
    }

    /// The child of `node` on byte `b`.
    #[inline]
    pub fn child(&self, node: u32, b: u8) -> Option<u32> {
        if node == 0 {
            let c = self.root_child[b as usize];
            return (c != NO_TOKEN).then_some(c);
        }
        let (lo, hi) = (
            self.node[node as usize][0] as usize,
            self.node[node as usize + 1][0] as usize,
        );
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            // 16 children at a time (a CJK lead byte's node has up to 64): no data-dependent
            // branches, where a binary search mispredicts at every step.
            // SAFETY: SSE2 is part of the x86-64 baseline; `bytes` ends with `PAD` bytes
            // past the last node, so the 16-byte load at `i < hi <= nodes` stays inside it;
            // `lo <= nodes` is inside `node` (`nodes + 1` entries), and a prefetch only warms
            // the caches.
            unsafe {
                // The children's entries are read next (the found child's token, then its own
                // children): start loading them while the bytes are scanned.
                _mm_prefetch::<_MM_HINT_T0>(self.node.as_ptr().add(lo).cast());
                let needle = _mm_set1_epi8(b as i8);
                let mut i = lo;
                while i < hi {
                    let v = _mm_loadu_si128(self.bytes.as_ptr().add(i).cast());
                    let mut m = _mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u32;
                    if hi - i < 16 {
                        m &= (1u32 << (hi - i)) - 1;
                    }
                    if m != 0 {
                        return Some((i + m.trailing_zeros() as usize) as u32);
                    }
                    i += 16;
                }
                None
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let kids = &self.bytes[lo..hi];
            let at = if kids.len() <= 8 {
                kids.iter().position(|&x| x == b)
            } else {
                kids.binary_search(&b).ok()
            };
            at.map(|k| (lo + k) as u32)
        }
    }

    /// The node of a byte string (a token's bytes or a prefix of them).
    pub fn node(&self, bytes: &[u8]) -> Option<u32> {
        bytes.iter().try_fold(0u32, |n, &b| self.child(n, b))
    }

    /// Call `emit` for every token whose bytes end at `node`.
    #[inline]
    pub fn tokens_at(&self, node: u32, mut emit: impl FnMut(u32)) {
        let t = self.node[node as usize][1];
        if t != NO_TOKEN {
            emit(t & !MORE_TOKENS);
            if t & MORE_TOKENS != 0 {
                self.more_tokens(node).iter().for_each(|&t| emit(t));
            }
        }
    }

    /// The further tokens that share the bytes of `node`'s token: rare, so out of line, and
    /// [`Trie::tokens_at`] (once per node a descent visits) stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn more_tokens(&self, node: u32) -> &[u32] {
        &self.extra[&node]
    }

    /// Call `emit` for every token at `node` or below it.
    pub fn tokens_below(&self, node: u32, mut emit: impl FnMut(u32)) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            self.tokens_at(n, &mut emit);
            stack.extend(self.node[n as usize][0]..self.node[n as usize + 1][0]);
        }
    }

    /// Walk the trie from `start`, calling `step(state, byte)` for each edge; a `None` prunes
    /// the subtree. `candidates(state, set)` may write a superset of the bytes `step` can
    /// accept from `state` into `set` and return `true` (children outside it are skipped
    /// without calling `step`), or return `false` to have every child tried. `emit(id)` is
    /// called for every token whose bytes are fully accepted. Returns the number of trie
    /// nodes visited (a cost measure).
    #[inline]
    pub fn walk<S: Copy>(
        &self,
        start: S,
        step: impl FnMut(S, u8) -> Option<S>,
        candidates: impl FnMut(S, &mut [u64; 4]) -> bool,
        emit: impl FnMut(u32),
    ) -> usize {
        self.walk_below(0, start, step, candidates, emit)
    }

    /// [`Trie::walk`] over the descendants of `node` only (not `node` itself), with `start`
    /// the state after `node`'s bytes.
    #[inline]
    pub fn walk_below<S: Copy>(
        &self,
        node: u32,
        start: S,
        mut step: impl FnMut(S, u8) -> Option<S>,
        candidates: impl FnMut(S, &mut [u64; 4]) -> bool,
        emit: impl FnMut(u32),
    ) -> usize {
        self.walk_below_at(node, start, |s, b, _, _| step(s, b), candidates, emit)
    }

    /// [`Trie::walk_below`] whose `step(state, byte, child, depth)` also receives the child
    /// node the edge leads to and that child's depth below `node` (1 for `node`'s children).
    pub fn walk_below_at<S: Copy>(
        &self,
        node: u32,
        start: S,
        mut step: impl FnMut(S, u8, u32, usize) -> Option<S>,
        mut candidates: impl FnMut(S, &mut [u64; 4]) -> bool,
        mut emit: impl FnMut(u32),
    ) -> usize {
        // At most 1 KB up front: allocations that size come from the allocator's per-thread
        // cache (a 2 KB one went through its slower bins on every fill); deeper walks grow.
        let frames = (1024 / std::mem::size_of::<Frame<S>>()).max(4);
        let mut stack: Vec<Frame<S>> = Vec::with_capacity((self.max_depth + 1).min(frames));
        #[inline(always)]
        fn frame<S: Copy>(
            node: &[[u32; 2]],
            state: S,
            n: usize,
            candidates: &mut impl FnMut(S, &mut [u64; 4]) -> bool,
        ) -> Frame<S> {
            let mut f = Frame {
                state,
                all: false,
                cand: [0; 4],
                next: node[n][0],
                end: node[n + 1][0],
            };
            f.all = !candidates(state, &mut f.cand);
            f
        }
        if self.node[node as usize][0] == self.node[node as usize + 1][0] {
            return 0;
        }
        stack.push(frame(&self.node, start, node as usize, &mut candidates));
        let mut visited = 0usize;
        while let Some(top) = stack.last_mut() {
            if top.next >= top.end {
                stack.pop();
                continue;
            }
            let c = top.next as usize;
            let b = self.bytes[c];
            if !top.all && !has_byte(&top.cand, b) {
                // Skip to the first child whose byte is a candidate (children are sorted).
                top.next = match next_byte(&top.cand, b) {
                    None => top.end,
                    Some(nb) => {
                        let kids = &self.bytes[c + 1..top.end as usize];
                        (c + 1 + kids.partition_point(|&x| x < nb)) as u32
                    }
                };
                continue;
            }
            top.next += 1;
            visited += 1;
            let depth = stack.len();
            let Some(s) = step(stack[depth - 1].state, b, c as u32, depth) else {
                continue;
            };
            self.tokens_at(c as u32, &mut emit);
            if self.node[c][0] < self.node[c + 1][0] {
                let f = frame(&self.node, s, c, &mut candidates);
                stack.push(f);
            }
        }
        visited
    }

    /// The longest token whose bytes are a prefix of `bytes`: `(token, length)`.
    pub fn longest_prefix(&self, bytes: &[u8]) -> Option<(u32, usize)> {
        let mut best = None;
        let mut node = 0u32;
        for (depth, &b) in bytes.iter().enumerate() {
            match self.child(node, b) {
                Some(c) => node = c,
                None => break,
            }
            let t = self.node[node as usize][1];
            if t != NO_TOKEN {
                best = Some((t & !MORE_TOKENS, depth + 1));
            }
        }
        best
    }

    /// Number of nodes, root included.
    pub fn len(&self) -> usize {
        self.node.len() - 1
    }

    /// True when the trie holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// Heap bytes held by the trie.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.node.capacity() * 8
            + self
                .extra
                .values()
                .map(|v| v.capacity() * 4 + 32)
                .sum::<usize>()
    }
}

/// The exact bytes of every token of a tokenizer, with a trie over the ordinary tokens.
#[derive(Debug, Clone)]
pub struct Vocab {
    kind: VocabKind,
    /// Token `i`'s bytes are `data[offsets[i]..offsets[i + 1]]`; an empty range means the id
    /// can never be produced by a grammar (added/special tokens, holes in the id space).
    offsets: Vec<u32>,
    data: Vec<u8>,
    /// Display strings of added/special tokens, for messages and decoding.
    added: HashMap<u32, String>,
    eos: Vec<u32>,
    trie: Trie,
    /// Per byte value, the tokens whose bytes contain it (computed on first use).
    containing: Box<[OnceLock<Vec<u32>>; 256]>,
    /// Token masks shared by the token tables over this vocabulary, per grammar shape.
    masks: MaskRegistry,
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
        use serde::Deserialize;
        use serde_json::value::RawValue;
        use std::borrow::Cow;
        // Read only what is needed, borrowing strings from the input where possible; the
        // merges (half of the file for BPE) are skipped without being materialised.
        #[derive(Deserialize)]
        struct File<'a> {
            #[serde(borrow)]
            model: Model<'a>,
            #[serde(default, borrow)]
            added_tokens: Vec<Added<'a>>,
            #[serde(default)]
            decoder: Value,
            #[serde(default)]
            pre_tokenizer: Value,
        }
        #[derive(Deserialize)]
        struct Model<'a> {
            #[serde(rename = "type", default, borrow)]
            ty: Option<Cow<'a, str>>,
            #[serde(default, borrow)]
            vocab: Option<&'a RawValue>,
            #[serde(default)]
            merges: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            continuing_subword_prefix: Option<serde::de::IgnoredAny>,
        }
        #[derive(Deserialize)]
        struct Added<'a> {
            id: u32,
            #[serde(borrow)]
            content: Cow<'a, str>,
        }
        let file: File<'_> = serde_json::from_str(json)
            .map_err(|e| Error::Tokenizer(format!("not a tokenizer.json: {e}")))?;
        let model = &file.model;
        let vocab_raw = model.vocab.map(RawValue::get).unwrap_or("");
        // Older files omit `type`: infer it from the model's members.
        let mtype: &str = match &model.ty {
            Some(t) => t,
            None if model.continuing_subword_prefix.is_some() => "WordPiece",
            None if model.merges.is_some() => "BPE",
            None if vocab_raw.trim_start().starts_with('[') => "Unigram",
            None => "",
        };
        let mut pieces: Vec<(Cow<'_, str>, u32)> = Vec::new();
        match mtype {
            "BPE" | "WordPiece" | "WordLevel" => {
                // The `{piece: id}` object read straight into a list (no hash map).
                struct Pairs<'a>(Vec<(Cow<'a, str>, u32)>);
                impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
                    fn deserialize<D: serde::Deserializer<'de>>(
                        d: D,
                    ) -> std::result::Result<Self, D::Error> {
                        struct V<'a>(std::marker::PhantomData<&'a ()>);
                        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                            type Value = Pairs<'a>;
                            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                                f.write_str("an object of piece: id")
                            }
                            fn visit_map<M: serde::de::MapAccess<'de>>(
                                self,
                                mut m: M,
                            ) -> std::result::Result<Self::Value, M::Error>
                            {
                                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(0));
                                while let Some((k, v)) = m.next_entry::<Cow<'a, str>, u32>()? {
                                    out.push((k, v));
                                }
                                Ok(Pairs(out))
                            }
                        }
                        d.deserialize_map(V(std::marker::PhantomData))
                    }
                }
                let Pairs(list) = serde_json::from_str(vocab_raw)
                    .map_err(|e| Error::Tokenizer(format!("{mtype} model vocab: {e}")))?;
                pieces = list;
            }
            "Unigram" => {
                let list: Vec<(Cow<'_, str>, f64)> = serde_json::from_str(vocab_raw)
                    .map_err(|e| Error::Tokenizer(format!("Unigram model vocab: {e}")))?;
                pieces.extend(
                    list.into_iter()
                        .enumerate()
                        .map(|(i, (p, _))| (p, i as u32)),
                );
            }
            other => {
                return Err(Error::Tokenizer(format!(
                "unsupported tokenizer model type {other:?} (expected BPE, Unigram or WordPiece)"
            )))
            }
        }
        let root_decoder = &file.decoder;
        let root_pre = &file.pre_tokenizer;
        let byte_level =
            has_component(root_decoder, "ByteLevel") || has_component(root_pre, "ByteLevel");
        let kind = if byte_level {
            VocabKind::ByteLevel
        } else if mtype == "WordPiece" {
            VocabKind::WordPiece
        } else {
            VocabKind::SentencePiece
        };
        let added: HashMap<u32, String> = file
            .added_tokens
            .iter()
            .map(|t| (t.id, t.content.to_string()))
            .collect();
        let size = pieces
            .iter()
            .map(|(_, id)| *id as usize + 1)
            .chain(added.keys().map(|id| *id as usize + 1))
            .max()
            .unwrap_or(0);
        let mut bytes: Vec<Option<Vec<u8>>> = vec![None; size];
        // char -> byte as a table indexed by code point (the alphabet is U+0021..=U+0143).
        let decoder: Option<Vec<Option<u8>>> = (kind == VocabKind::ByteLevel).then(|| {
            let map = byte_level_decoder();
            let top = map.keys().map(|&c| c as usize).max().unwrap_or(0);
            let mut table = vec![None; top + 1];
            for (c, b) in map {
                table[c as usize] = Some(b);
            }
            table
        });
        for (piece, id) in pieces {
            if added.contains_key(&id) {
                continue;
            }
            let b = match kind {
                VocabKind::ByteLevel => {
                    let dec = decoder.as_ref().expect("byte-level table");
                    let mut out = Vec::with_capacity(piece.len());
                    for c in piece.chars() {
                        match dec.get(c as usize).copied().flatten() {
                            Some(b) => out.push(b),
                            // Not in the byte alphabet: a literal token (rare); keep its UTF-8.
                            None => out.extend_from_slice(c.to_string().as_bytes()),
                        }
                    }
                    out
                }
                VocabKind::SentencePiece => sentencepiece_bytes(&piece),
                VocabKind::WordPiece => match piece.strip_prefix("##") {
                    Some(rest) => rest.as_bytes().to_vec(),
                    None => piece.as_bytes().to_vec(),
                },
            };
            if !b.is_empty() {
                bytes[id as usize] = Some(b);
            }
        }
        Ok(Self::from_parts(kind, bytes, added, eos.to_vec()))
    }

    /// Read a SentencePiece `tokenizer.model` (the serialized `ModelProto`).
    ///
    /// Normal pieces map `▁` to a space, `BYTE` pieces (`<0xNN>`) to their byte; control,
    /// unknown, user-defined and unused pieces are never produced by a grammar.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the bytes are not a `ModelProto` with pieces.
    pub fn from_sentencepiece_model(model: &[u8], eos: &[u32]) -> Result<Vocab> {
        let bad = |what: &str| Error::Tokenizer(format!("not a SentencePiece model: {what}"));
        fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let b = *buf.get(*pos)?;
                *pos += 1;
                v |= u64::from(b & 0x7F) << shift;
                if b & 0x80 == 0 {
                    return Some(v);
                }
            }
            None
        }
        /// (field number, wire type, payload for length-delimited fields) of each field.
        fn fields(buf: &[u8]) -> Option<Vec<(u64, u8, &[u8])>> {
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < buf.len() {
                let key = varint(buf, &mut pos)?;
                let (field, wire) = (key >> 3, (key & 7) as u8);
                match wire {
                    0 => {
                        let v = varint(buf, &mut pos)?;
                        out.push((field, wire, &buf[0..0]));
                        let _ = v;
                    }
                    1 => pos += 8,
                    2 => {
                        let n = varint(buf, &mut pos)? as usize;
                        let end = pos.checked_add(n).filter(|&e| e <= buf.len())?;
                        out.push((field, wire, &buf[pos..end]));
                        pos = end;
                    }
                    5 => pos += 4,
                    _ => return None,
                }
            }
            (pos == buf.len()).then_some(out)
        }
        let top = fields(model).ok_or_else(|| bad("malformed protobuf"))?;
        let mut bytes: Vec<Option<Vec<u8>>> = Vec::new();
        let mut added = HashMap::new();
        for (field, wire, payload) in top {
            if field != 1 || wire != 2 {
                continue;
            }
            let mut piece: Option<String> = None;
            let mut ty = 1u64;
            let mut pos = 0;
            while pos < payload.len() {
                let key = varint(payload, &mut pos).ok_or_else(|| bad("malformed piece"))?;
                match (key >> 3, key & 7) {
                    (1, 2) => {
                        let n = varint(payload, &mut pos).ok_or_else(|| bad("malformed piece"))?
                            as usize;
                        let raw = payload
                            .get(pos..pos + n)
                            .ok_or_else(|| bad("truncated piece"))?;
                        piece = Some(
                            String::from_utf8(raw.to_vec())
                                .map_err(|_| bad("piece is not UTF-8"))?,
                        );
                        pos += n;
                    }
                    (3, 0) => {
                        ty = varint(payload, &mut pos).ok_or_else(|| bad("malformed type"))?
                    }
                    (_, 0) => {
                        varint(payload, &mut pos).ok_or_else(|| bad("malformed piece"))?;
                    }
                    (_, 5) => pos += 4,
                    (_, 1) => pos += 8,
                    (_, 2) => {
                        let n = varint(payload, &mut pos).ok_or_else(|| bad("malformed piece"))?
                            as usize;
                        pos += n;
                    }
                    _ => return Err(bad("unknown wire type")),
                }
            }
            let piece = piece.ok_or_else(|| bad("a piece without text"))?;
            let id = bytes.len() as u32;
            match ty {
                1 | 6 => bytes.push(Some(sentencepiece_bytes(&piece))),
                _ => {
                    added.insert(id, piece);
                    bytes.push(None);
                }
            }
        }
        if bytes.is_empty() {
            return Err(bad("no pieces"));
        }
        Ok(Self::from_parts(
            VocabKind::SentencePiece,
            bytes,
            added,
            eos.to_vec(),
        ))
    }

    /// Build from explicit token bytes (`None` = never allowed). Used by tests and by callers
    /// that already hold the bytes.
    pub fn from_parts(
        kind: VocabKind,
        bytes: Vec<Option<Vec<u8>>>,
        added: HashMap<u32, String>,
        eos: Vec<u32>,
    ) -> Vocab {
        // The preparing thread's first grounded request then takes no page faults for
        // Chinese text (see `prepare_thread_tables`).
        crate::ground::prepare_thread_tables();
        let entries: Vec<(&[u8], u32)> = bytes
            .iter()
            .enumerate()
            .filter_map(|(id, b)| b.as_deref().map(|b| (b, id as u32)))
            .collect();
        let trie = Trie::build(entries);
        let mut offsets = Vec::with_capacity(bytes.len() + 1);
        let mut data = Vec::with_capacity(bytes.iter().flatten().map(Vec::len).sum());
        offsets.push(0);
        for b in &bytes {
            if let Some(b) = b {
                data.extend_from_slice(b);
            }
            offsets.push(data.len() as u32);
        }
        let v = Vocab {
            kind,
            offsets,
            data,
            added,
            eos,
            trie,
            containing: Box::new(std::array::from_fn(|_| OnceLock::new())),
            masks: MaskRegistry::default(),
        };
        // The bytes that end strings in the formats: prepared now, not on the first mask.
        for b in [b'"', b'\'', b'<', b'&'] {
            v.tokens_containing(b);
        }
        v
    }

    /// Number of token ids (one past the largest id).
    pub fn size(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Heap bytes held by the vocabulary (token bytes, offsets and trie).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 4
            + self.data.capacity()
            + self.trie.heap_bytes()
            + self
                .added
                .values()
                .map(|s| s.capacity() + 40)
                .sum::<usize>()
    }

    /// How token strings were mapped to bytes.
    pub fn kind(&self) -> VocabKind {
        self.kind
    }

    /// The bytes of `id`, or `None` for special/added tokens and unknown ids.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        if i + 1 >= self.offsets.len() {
            return None;
        }
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        (b > a).then(|| &self.data[a..b])
    }

    /// The ordinary tokens whose bytes contain byte `b` (computed once, then cached).
    pub fn tokens_containing(&self, b: u8) -> &[u32] {
        self.containing[b as usize].get_or_init(|| {
            (0..self.size() as u32)
                .filter(|&t| {
                    self.token_bytes(t)
                        .is_some_and(|x| memchr::memchr(b, x).is_some())
                })
                .collect()
        })
    }

    /// The token masks shared by the token tables over this vocabulary.
    pub(crate) fn mask_registry(&self) -> &MaskRegistry {
        &self.masks
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
            |_, _| false,
            |t| got.push(t),
        );
        got.sort();
        assert_eq!(got, vec![0, 1, 3, 4]);
        // With a candidate set of {a} only.
        let mut got = Vec::new();
        v.trie().walk(
            (),
            |_, b| (b == b'a' || b == b'b').then_some(()),
            |_, set| {
                set[(b'a' >> 6) as usize] |= 1 << (b'a' & 63);
                true
            },
            |t| got.push(t),
        );
        got.sort();
        assert_eq!(got, vec![0]);
    }

    #[test]
    fn longest_prefix() {
        let v = toy();
        assert_eq!(v.trie().longest_prefix(b"abcd"), Some((2, 3)));
        assert_eq!(v.trie().longest_prefix(b"abx").map(|x| x.1), Some(2));
        assert_eq!(v.trie().longest_prefix(b"ca"), Some((6, 1)));
        assert_eq!(v.trie().longest_prefix(b"x"), None);
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
