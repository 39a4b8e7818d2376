//! Token-level tables: a grammar lifted from bytes to the token ids of a vocabulary.
//!
//! A [`TokenTable`] pairs one request's [`Grammar`] with a shared [`Vocab`]. From any state it
//! fills an allowed-token bitmask (bit `i % 32` of word `i / 32` is set when token `i` may come
//! next, the layout xgrammar and llguidance use), advances by a token, and returns the forced
//! byte run (for jump-forward decoding). The mask is computed by walking the vocabulary trie
//! with the grammar's byte automaton, pruning every subtree the grammar refuses, so its cost is
//! proportional to the allowed prefixes, not to the vocabulary size.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rustc_hash::FxHashMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::grammar::{Grammar, GrammarOptions, State};
use crate::ground::{GroundedString, StrState, SubstringIndex, WrittenText, BARRIER};
use crate::vocab::{Trie, Vocab};

/// One request's grammar over a vocabulary.
#[derive(Debug)]
pub struct TokenTable {
    vocab: Arc<Vocab>,
    grammar: Grammar,
    /// Inner masks of string states (tokens wholly inside an entity string), by state.
    inner: Mutex<FxHashMap<StrState, Arc<Inner>>>,
    /// Whole masks of the states that recur (structure between strings, string starts), by
    /// [`Grammar::mask_key`]; `None` for a state filled once so far.
    full: Mutex<FxHashMap<State, Option<Arc<FullMask>>>>,
    /// Masks that do not depend on the input text, shared with every table of the same
    /// vocabulary and grammar shape ([`TokenTable::compile`]); `None` for [`TokenTable::new`].
    shared: Option<Arc<SharedMasks>>,
}

/// What a grammar is compiled from, the input text aside. Two grammars of one shape step
/// alike wherever [`Grammar::reads_text`] is false.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    format: String,
    labels: Vec<String>,
    opts: GrammarOptions,
}

/// The masks of one vocabulary and grammar shape, by [`Grammar::mask_key`], as far as they
/// do not depend on the input text: the same for every request of that shape.
#[derive(Debug, Default)]
struct SharedMasks {
    masks: RwLock<FxHashMap<State, Arc<SharedMask>>>,
    /// Bytes held by `masks` (approximate); no more are kept past [`SHARED_BYTES`].
    bytes: AtomicUsize,
}

/// At most this many bytes of shared masks per grammar shape.
const SHARED_BYTES: usize = 4 << 20;

/// Shared masks are kept for at most this many grammar shapes per vocabulary (the oldest
/// shape is dropped first).
const SHARED_SHAPES: usize = 16;

/// A state's mask as far as it does not read the text: the tokens whose walk never read it,
/// and the trie nodes where the walk stopped because the edge into them reads it.
#[derive(Debug)]
struct SharedMask {
    mask: FullMask,
    frontier: Vec<Frontier>,
}

/// A trie node below which a mask depends on the text, with the bytes that lead to it.
#[derive(Debug)]
struct Frontier {
    node: u32,
    path: Box<[u8]>,
}

impl SharedMasks {
    fn get(&self, key: &State) -> Option<Arc<SharedMask>> {
        self.masks.read().ok()?.get(key).cloned()
    }

    fn insert(&self, key: State, mask: SharedMask) {
        let size = mask.mask.bytes()
            + mask
                .frontier
                .iter()
                .map(|f| f.path.len() + std::mem::size_of::<Frontier>())
                .sum::<usize>();
        if self.bytes.load(Ordering::Relaxed) + size > SHARED_BYTES {
            return;
        }
        if let Ok(mut m) = self.masks.write() {
            if m.insert(key, Arc::new(mask)).is_none() {
                self.bytes.fetch_add(size, Ordering::Relaxed);
            }
        }
    }
}

/// A vocabulary's shared masks, per grammar shape ([`TokenTable::compile`]). Cloning a
/// vocabulary starts with none.
#[derive(Debug, Default)]
pub(crate) struct MaskRegistry {
    shapes: Mutex<Vec<(Shape, Arc<SharedMasks>)>>,
}

impl Clone for MaskRegistry {
    fn clone(&self) -> Self {
        MaskRegistry::default()
    }
}

impl MaskRegistry {
    /// The shared masks of `shape`, created (and the oldest shape dropped past
    /// [`SHARED_SHAPES`]) when new.
    fn get(&self, shape: Shape) -> Arc<SharedMasks> {
        let mut shapes = match self.shapes.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, m)) = shapes.iter().find(|(s, _)| *s == shape) {
            return m.clone();
        }
        if shapes.len() >= SHARED_SHAPES {
            shapes.remove(0);
        }
        let m = Arc::new(SharedMasks::default());
        shapes.push((shape, m.clone()));
        m
    }
}

/// A cached whole mask: the allowed ids when there are few, else the bitmask words.
#[derive(Debug)]
enum FullMask {
    Ids(Vec<u32>),
    Words(Vec<u32>, usize),
}

/// Masks with at most this many allowed ids are cached as a list of ids.
const SPARSE_IDS: usize = 128;

impl FullMask {
    /// Capture a filled row holding `count` allowed ids.
    fn capture(row: &[u32], count: usize) -> FullMask {
        if count > SPARSE_IDS {
            return FullMask::Words(row.to_vec(), count);
        }
        let mut ids = Vec::with_capacity(count);
        push_allowed(row, &mut ids);
        FullMask::Ids(ids)
    }

    /// The number of allowed ids.
    fn count(&self) -> usize {
        match self {
            FullMask::Ids(ids) => ids.len(),
            FullMask::Words(_, count) => *count,
        }
    }

    /// Heap bytes held.
    fn bytes(&self) -> usize {
        match self {
            FullMask::Ids(ids) => ids.len() * 4,
            FullMask::Words(words, _) => words.len() * 4,
        }
    }

    /// Write into `row` (any length): ids beyond it stay out. Returns the allowed count.
    fn write(&self, row: &mut [u32]) -> usize {
        if let FullMask::Words(words, _) = self {
            // Copied, then the rest zeroed: the row is written once.
            let k = words.len().min(row.len());
            row[k..].fill(0);
        } else {
            row.fill(0);
        }
        self.add(row)
    }

    /// Set this mask's ids in `row` (any length), which holds no allowed id yet: ids beyond
    /// it stay out. Returns the allowed count.
    fn add(&self, row: &mut [u32]) -> usize {
        match self {
            FullMask::Ids(ids) => {
                let limit = row.len() * 32;
                let mut n = 0;
                for &t in ids {
                    if (t as usize) < limit {
                        row[t as usize / 32] |= 1 << (t % 32);
                        n += 1;
                    }
                }
                n
            }
            FullMask::Words(words, count) => {
                let k = words.len().min(row.len());
                row[..k].copy_from_slice(&words[..k]);
                if k == words.len() {
                    *count
                } else {
                    row.iter().map(|x| x.count_ones() as usize).sum()
                }
            }
        }
    }
}

/// The cached part of a string state's mask.
#[derive(Debug)]
struct Inner {
    /// Tokens wholly inside the string.
    words: Vec<u32>,
    /// Their number.
    ones: usize,
    /// Tokens that close the string after some content: `(token, index of the closing
    /// byte)`, where the bytes before it are valid content that may end there. Tokens that
    /// start with the closing byte are not listed (the fill walks the trie below that byte).
    closing: Vec<(u32, u32)>,
}

/// A position in a [`TokenTable`]: the grammar state plus whether an end-of-sequence token has
/// been accepted (after which only end-of-sequence tokens are allowed, as padding).
#[derive(Debug, Clone)]
pub struct Matcher {
    table: Arc<TokenTable>,
    state: State,
    terminated: bool,
    /// Bytes produced so far (for messages and for decoding without the tokenizer).
    output: Vec<u8>,
}

/// Allow token `t` in `row`: true when its bit was not set before. Ids beyond the row stay
/// out (false).
#[inline]
fn allow(row: &mut [u32], t: u32) -> bool {
    let bit = 1u32 << (t % 32);
    match row.get_mut(t as usize / 32) {
        Some(w) if *w & bit == 0 => {
            *w |= bit;
            true
        }
        _ => false,
    }
}

/// Append the ids allowed in `row` to `out`, in increasing order.
fn push_allowed(row: &[u32], out: &mut Vec<u32>) {
    for (w, &bits) in row.iter().enumerate() {
        let mut b = bits;
        while b != 0 {
            out.push(w as u32 * 32 + b.trailing_zeros());
            b &= b - 1;
        }
    }
}

/// Is token `t` allowed in `row` (false beyond the row)?
#[inline]
fn is_set(row: &[u32], t: u32) -> bool {
    row.get(t as usize / 32)
        .is_some_and(|w| w >> (t % 32) & 1 == 1)
}

/// Can bitmask rows of `words` words hold the ids of a vocabulary of `vocab_size`?
///
/// # Errors
/// [`Error::Shape`] when they are too short.
pub fn check_row_words(words: usize, vocab_size: usize) -> Result<()> {
    let need = bitmask_words(vocab_size);
    if words < need {
        return Err(Error::Shape(format!(
            "bitmask rows of {words} words cannot hold {vocab_size} token ids (need {need})"
        )));
    }
    Ok(())
}

/// Number of 32-bit words of a bitmask row for `width` token ids.
pub fn bitmask_words(width: usize) -> usize {
    width.div_ceil(32)
}

impl TokenTable {
    /// Pair `grammar` with `vocab`.
    pub fn new(vocab: Arc<Vocab>, grammar: Grammar) -> TokenTable {
        TokenTable {
            vocab,
            grammar,
            inner: Mutex::new(FxHashMap::default()),
            full: Mutex::new(FxHashMap::default()),
            shared: None,
        }
    }

    /// Compile output format `format` for `labels` over `text` ([`Grammar::compile`]) and
    /// pair it with `vocab`. Unlike [`TokenTable::new`], the table shares with every other
    /// table compiled this way over the same vocabulary, format, labels and options the masks
    /// whose computation never read the input text ([`Grammar::reads_text`]: the structure
    /// between strings, away from a string's opening): a server's later requests find them
    /// filled. Shared masks are bounded (4 MB per shape, 16 shapes per vocabulary).
    ///
    /// # Errors
    /// As [`Grammar::compile`].
    pub fn compile(
        vocab: Arc<Vocab>,
        format: &str,
        labels: &[String],
        text: &str,
        opts: &GrammarOptions,
    ) -> Result<TokenTable> {
        let grammar = Grammar::compile(format, labels, text, opts)?;
        let shared = vocab.mask_registry().get(Shape {
            format: format.to_string(),
            labels: labels.to_vec(),
            opts: opts.clone(),
        });
        Ok(TokenTable {
            shared: Some(shared),
            ..TokenTable::new(vocab, grammar)
        })
    }

    /// How many masks this table's shape shares so far (0 for [`TokenTable::new`]).
    pub fn shared_masks(&self) -> usize {
        self.shared
            .as_ref()
            .and_then(|s| s.masks.read().ok().map(|m| m.len()))
            .unwrap_or(0)
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The grammar.
    pub fn grammar(&self) -> &Grammar {
        &self.grammar
    }

    /// Fill `row` (one bitmask row, `ceil(width / 32)` words) with the tokens allowed in `s`.
    /// Ids at or beyond the vocabulary size stay masked. Returns the number of allowed tokens.
    ///
    /// # Errors
    /// [`Error::Shape`] when `row` is too short for the vocabulary's ids.
    pub fn fill_bitmask(&self, s: State, row: &mut [u32]) -> Result<usize> {
        check_row_words(row.len(), self.vocab.size())?;
        let Some(key) = self.grammar.mask_key(s) else {
            return Ok(self.compute_mask(s, row));
        };
        // Outside strings, the shape's shared mask: whole when its walk never read the text.
        let shared = match &self.shared {
            Some(shared) if self.grammar.string_state(s).is_none() => {
                let found = shared.get(&key);
                if let Some(mask) = found.as_ref().filter(|m| m.frontier.is_empty()) {
                    return Ok(mask.mask.write(row));
                }
                Some((shared, found))
            }
            _ => None,
        };
        // A state's mask is kept from its second fill on: most literal states are filled
        // once per output, and keeping every mask would cost a scan of the row each.
        let seen = match self.full.lock() {
            Ok(mut m) => match m.get(&key) {
                Some(Some(mask)) => {
                    let mask = mask.clone();
                    drop(m);
                    return Ok(mask.write(row));
                }
                Some(None) => true,
                None => {
                    m.insert(key, None);
                    false
                }
            },
            Err(_) => false,
        };
        let count = match shared {
            Some((shared, found)) => {
                row.fill(0);
                self.shared_fill(shared, found, key, 0, s, row)
            }
            None => self.compute_mask(s, row),
        };
        if seen {
            if let Ok(mut m) = self.full.lock() {
                m.insert(key, Some(Arc::new(FullMask::capture(row, count))));
            }
        }
        Ok(count)
    }

    /// Compute the mask of `s` into `row`, overwriting all of it (no whole-mask cache).
    fn compute_mask(&self, s: State, row: &mut [u32]) -> usize {
        let g = &self.grammar;
        let mut count = 0usize;
        match g.string_state(s) {
            Some((strings, inner, close)) if strings.cacheable(inner) => {
                // mask = tokens wholly inside the string (cached per string state)
                //      ∪ tokens that close it (their content part cached; the rest checked
                //        from the state after the closing byte).
                let cached = self.inner_mask(strings, inner, close);
                let n = cached.words.len().min(row.len());
                // The row is written once: copied, then the rest zeroed (no zeroing first).
                row[..n].copy_from_slice(&cached.words[..n]);
                row[n..].fill(0);
                count += cached.ones;
                if let Some(after) = g.after_close(s) {
                    // Tokens that start with the closing byte: the trie below that byte,
                    // walked from the state after it (it prunes what may not follow).
                    let trie = self.vocab.trie();
                    if strings.can_close(inner) {
                        if let Some(node) = trie.child(0, close) {
                            count += self.allow_below(node, after, row);
                        }
                    }
                    // Tokens with content before the closing byte (cached per string state).
                    for &(t, j) in &cached.closing {
                        if is_set(row, t) {
                            continue;
                        }
                        let bytes = self.vocab.token_bytes(t).expect("ordinary token");
                        if g.step_bytes(after, &bytes[j as usize + 1..]).is_some() {
                            count += usize::from(allow(row, t));
                        }
                    }
                }
            }
            string => {
                // The other masks are set bit by bit into a zeroed row.
                row.fill(0);
                count += match string {
                    Some((strings, inner, close)) if strings.written_text().is_some() => {
                        self.continuation_mask(s, strings, inner, close, row)
                    }
                    None if g.copy_byte(s).is_some() => self.copy_mask(s, row),
                    _ => self.walked(s, row),
                };
            }
        }
        count += self.allow_eos(s, row);
        count
    }

    /// Allow the end-of-sequence tokens into `row` when `s` is accepting; their number.
    fn allow_eos(&self, s: State, row: &mut [u32]) -> usize {
        if !self.grammar.is_accepting(s) {
            return 0;
        }
        self.vocab.eos().iter().filter(|&&e| allow(row, e)).count()
    }

    /// Allow into `row` (zeroed) the tokens below trie node `node` (the root: every token)
    /// that state `s` (the state after `node`'s bytes; share key `key`) accepts, EOS too when
    /// `node` is the root, from the shape's shared mask `found`, or computed and shared when
    /// there is none yet: the part of the walk that never reads the text is written from
    /// the shared mask, and only the subtrees below the edges that do (a string opening, a
    /// copied byte: [`Grammar::reads_text`]) are walked for this request. Keys name masks
    /// below the root, except `xml-inline`'s, which name masks below the root's `<` child.
    /// Returns the number of ids it allowed.
    fn shared_fill(
        &self,
        shared: &SharedMasks,
        found: Option<Arc<SharedMask>>,
        key: State,
        node: u32,
        s: State,
        row: &mut [u32],
    ) -> usize {
        let mask = match found {
            Some(mask) => {
                let count = mask.mask.add(row);
                return count + self.frontier_fill(&mask.frontier, s, row);
            }
            None => {
                let g = &self.grammar;
                let (mut path, mut frontier, mut ids) = (Vec::new(), Vec::new(), Vec::new());
                self.vocab.trie().walk_below_at(
                    node,
                    s,
                    |st, b, child, depth| {
                        path.truncate(depth - 1);
                        path.push(b);
                        if g.reads_text(st, b) {
                            frontier.push(Frontier {
                                node: child,
                                path: path.as_slice().into(),
                            });
                            return None;
                        }
                        g.step(st, b)
                    },
                    // A copy state's candidates are the input's next byte: the walk tries
                    // every byte there instead, and stops at each as a frontier.
                    |st, out| g.copy_byte(st).is_none() && g.candidate_bytes(st, out),
                    |t| {
                        if allow(row, t) {
                            ids.push(t);
                        }
                    },
                );
                if node == 0 && g.is_accepting(s) {
                    ids.extend(self.vocab.eos().iter().filter(|&&e| allow(row, e)));
                }
                let mask = if ids.len() > SPARSE_IDS {
                    FullMask::Words(row.to_vec(), ids.len())
                } else {
                    FullMask::Ids(ids)
                };
                SharedMask { mask, frontier }
            }
        };
        let count = mask.mask.count() + self.frontier_fill(&mask.frontier, s, row);
        shared.insert(key, mask);
        count
    }

    /// Allow into `row` the tokens at and below each frontier node whose bytes `s` accepts
    /// (the walk of [`TokenTable::shared_fill`] stopped there: the edge into the node reads
    /// the text). Returns the number of ids it allowed.
    fn frontier_fill(&self, frontier: &[Frontier], s: State, row: &mut [u32]) -> usize {
        frontier
            .iter()
            .filter_map(|f| Some((f.node, self.grammar.step_bytes(s, &f.path)?)))
            .map(|(node, at)| self.allow_below(node, at, row))
            .sum()
    }

    /// Allow into `row` the tokens at trie node `node` (whose bytes led to grammar state
    /// `after`: a string's closing byte, a frontier node) and those below it whose further
    /// bytes `after` accepts (the walk prunes what may not follow). Returns the number of ids
    /// it allowed.
    fn allow_below(&self, node: u32, after: State, row: &mut [u32]) -> usize {
        let (g, trie) = (&self.grammar, self.vocab.trie());
        let mut count = 0;
        let mut set = |t: u32| count += usize::from(allow(row, t));
        trie.tokens_at(node, &mut set);
        trie.walk_below(
            node,
            after,
            |st, b| g.step(st, b),
            |st, out| g.candidate_bytes(st, out),
            &mut set,
        );
        count
    }

    /// [`TokenTable::walked`] for a copy state ([`Grammar::copy_byte`]): a token either
    /// follows the input's bytes all the way or leaves them at a `<`, so the trie is descended
    /// along the input (one child lookup a byte, no candidate sets) and walked only below the
    /// `<` children met on the way. Returns the number of ids it allowed.
    fn copy_mask(&self, s: State, row: &mut [u32]) -> usize {
        let (g, trie) = (&self.grammar, self.vocab.trie());
        let (mut node, mut st, mut count) = (0u32, s, 0usize);
        loop {
            if let (Some(lt), Some(after)) = (trie.child(node, b'<'), g.step(st, b'<')) {
                // Below the root's `<` (row still empty): the tag part, shared by key.
                let shared = self.shared.as_ref().filter(|_| node == 0);
                count += match (shared, g.share_key(after)) {
                    (Some(shared), Some(key)) => {
                        let found = shared.get(&key);
                        let mut n = self.shared_fill(shared, found, key, lt, after, row);
                        trie.tokens_at(lt, |t| n += usize::from(allow(row, t)));
                        n
                    }
                    _ => self.allow_below(lt, after, row),
                };
            }
            let Some(Some(b)) = g.copy_byte(st) else {
                break;
            };
            let (Some(child), Some(next)) = (trie.child(node, b), g.step(st, b)) else {
                break;
            };
            trie.tokens_at(child, &mut |t| count += usize::from(allow(row, t)));
            (node, st) = (child, next);
        }
        count
    }

    /// Allow into `row` the tokens whose bytes grammar state `s` accepts (EOS aside), by
    /// walking the trie with the grammar. Returns the number of ids it allowed.
    fn walked(&self, s: State, row: &mut [u32]) -> usize {
        let g = &self.grammar;
        let mut count = 0;
        self.vocab.trie().walk(
            s,
            |st, b| g.step(st, b),
            |st, out| g.candidate_bytes(st, out),
            |t| count += usize::from(allow(row, t)),
        );
        count
    }

    /// The mask of grammar state `s` inside a grounded string (`inner`, not at its start),
    /// read off the written text after each occurrence of what the string holds: a token is
    /// allowed when its bytes are a prefix of the text there (within the segment and the
    /// character limit), or such a prefix ending on a character boundary followed by the
    /// closing byte and bytes the state after the string accepts. One trie descent per
    /// occurrence instead of a walk that looks the occurrences up at every byte. Returns the
    /// number of ids it allowed.
    fn continuation_mask(
        &self,
        s: State,
        strings: &GroundedString,
        inner: StrState,
        close: u8,
        row: &mut [u32],
    ) -> usize {
        let g = &self.grammar;
        let trie = self.vocab.trie();
        let text = strings.written_text().expect("grounded in a text");
        let after = g.after_close(s);
        let mut count = 0usize;
        // Tokens that start with the closing byte.
        if let Some(after) = after.filter(|_| strings.can_close(inner)) {
            if let Some(node) = trie.child(0, close) {
                count += self.allow_below(node, after, row);
            }
        }
        let limit = strings.max_chars().map_or(u32::MAX, u32::from);
        let mid = inner.esc != 0 || inner.pending != 0;
        let whole = inner.whole_chars();
        if !mid && whole >= limit {
            return count;
        }
        let mut starts: Vec<(u32, u32)> = Vec::new();
        strings.for_each_continuation(inner, |from, seg_end| {
            starts.push((from as u32, seg_end as u32));
        });
        let mut on_token = |t: u32| count += usize::from(allow(row, t));
        let mut closing: Vec<u32> = Vec::new();
        descend(
            trie,
            text,
            after.map(|_| close),
            limit,
            &mut starts,
            Start {
                node: 0,
                depth: 0,
                chars: whole,
            },
            &mut on_token,
            &mut |c| closing.push(c),
        );
        // Tokens that close the string after some content: the closing byte's node, walked
        // from the state after the string.
        if let Some(after) = after {
            for c in closing {
                count += self.allow_below(c, after, row);
            }
        }
        count
    }

    /// The cached part of the mask of string state `inner` (computed once per state).
    fn inner_mask(&self, strings: &GroundedString, inner: StrState, close: u8) -> Arc<Inner> {
        if let Some(w) = self.inner.lock().ok().and_then(|m| m.get(&inner).cloned()) {
            return w;
        }
        let w = Arc::new(match strings.written_text() {
            Some(text) if inner.is_fresh() => {
                let index = strings
                    .substring_index()
                    .expect("a written text is grounded");
                self.start_mask(text, index, strings.max_chars(), close)
            }
            _ => self.walked_mask(strings, inner, close),
        });
        if let Ok(mut m) = self.inner.lock() {
            m.insert(inner, w.clone());
        }
        w
    }

    /// The inner mask of a state inside a string, by walking the trie with the string
    /// automaton; closing tokens by checking every token that holds the closing byte.
    fn walked_mask(&self, strings: &GroundedString, inner: StrState, close: u8) -> Inner {
        let mut words = vec![0u32; bitmask_words(self.vocab.size())];
        let mut ones = 0;
        self.vocab.trie().walk(
            inner,
            |st, b| strings.step(st, b),
            |st, out| strings.candidate_bytes(st, out),
            |t| ones += usize::from(allow(&mut words, t)),
        );
        let mut closing = Vec::new();
        'tokens: for &t in self.vocab.tokens_containing(close) {
            let bytes = self.vocab.token_bytes(t).expect("ordinary token");
            let mut st = inner;
            for (j, &b) in bytes.iter().enumerate() {
                if b == close && !strings.in_escape(st) {
                    // A token starting with the closing byte is found by the fill's walk.
                    if j > 0 && strings.can_close(st) {
                        closing.push((t, j as u32));
                    }
                    continue 'tokens;
                }
                match strings.step(st, b) {
                    Some(n) => st = n,
                    None => continue 'tokens,
                }
            }
        }
        Inner {
            words,
            ones,
            closing,
        }
    }

    /// The inner mask at the start of a grounded string, from the written text: a token lies
    /// inside the string exactly when its bytes are a prefix of the written text from some
    /// character boundary (within a segment and the character limit), and closes it after
    /// some content when that prefix ends on a boundary and the closing byte follows. The trie
    /// is descended from every character at once, character by character ([`CharDescent`]),
    /// instead of walked over every token.
    fn start_mask(
        &self,
        text: &WrittenText,
        index: &SubstringIndex,
        max_chars: Option<u16>,
        close: u8,
    ) -> Inner {
        let mut d = CharDescent {
            trie: self.vocab.trie(),
            bytes: &text.bytes,
            char_start: &text.char_start,
            units: index.units(),
            close,
            limit: max_chars.map_or(u32::MAX, u32::from),
            words: vec![0u32; bitmask_words(self.vocab.size())],
            ones: 0,
            closing: Vec::new(),
        };
        // The starts grouped by their first character come from the index (a counting sort
        // by unit), in unit order: code point order, so neighbours share leading bytes. They
        // are copied once (the descent reorders each group in place), not group by group: a
        // copy of a few bytes is a `memcpy` call.
        let mut starts = index.all_positions().to_vec();
        let mut path = Path::new(0);
        let mut at = 0;
        for u in 0..index.unit_count() {
            let n = index.positions(u).len();
            if n > 0 {
                d.enter(&mut path, &mut starts[at..at + n], 0, 0, 0);
                at += n;
            }
        }
        debug_assert_eq!(at, starts.len());
        Inner {
            words: d.words,
            ones: d.ones,
            closing: d.closing,
        }
    }

    /// The state after token `token` from `s`.
    ///
    /// # Errors
    /// [`Error::TokenRejected`] when the token is special, unknown or refused by the grammar.
    pub fn advance(&self, s: State, token: u32) -> Result<State> {
        let reject = |why: &str| Error::TokenRejected {
            token,
            bytes: self.vocab.display(token),
            context: why.to_string(),
        };
        let bytes = self
            .vocab
            .token_bytes(token)
            .ok_or_else(|| reject("special, added or unknown token"))?;
        self.grammar
            .step_bytes(s, bytes)
            .ok_or_else(|| reject("the output format does not allow these bytes here"))
    }
}

impl Matcher {
    /// A matcher at the start of `table`.
    pub fn new(table: Arc<TokenTable>) -> Matcher {
        let state = table.grammar.start();
        Matcher {
            table,
            state,
            terminated: false,
            output: Vec::new(),
        }
    }

    /// The table this matcher runs on.
    pub fn table(&self) -> &Arc<TokenTable> {
        &self.table
    }

    /// Accept `token`. An end-of-sequence token is accepted only in an accepting state and
    /// terminates the matcher; after that only end-of-sequence tokens are accepted.
    ///
    /// # Errors
    /// [`Error::TokenRejected`] with the output so far, the matcher unchanged.
    pub fn accept_token(&mut self, token: u32) -> Result<()> {
        let vocab = self.table.vocab();
        if vocab.is_eos(token) {
            if self.terminated || self.table.grammar.is_accepting(self.state) {
                self.terminated = true;
                return Ok(());
            }
            return Err(self.rejected(token, "end of sequence before the output is complete"));
        }
        if self.terminated {
            return Err(self.rejected(token, "the output already ended"));
        }
        match self.table.advance(self.state, token) {
            Ok(s) => {
                self.state = s;
                self.output
                    .extend_from_slice(vocab.token_bytes(token).unwrap_or_default());
                Ok(())
            }
            Err(Error::TokenRejected { context, .. }) => Err(self.rejected(token, &context)),
            Err(e) => Err(e),
        }
    }

    fn rejected(&self, token: u32, why: &str) -> Error {
        let out = String::from_utf8_lossy(&self.output);
        let n = out.chars().count();
        let tail: String = if n > 60 {
            format!("…{}", out.chars().skip(n - 60).collect::<String>())
        } else {
            out.into_owned()
        };
        Error::TokenRejected {
            token,
            bytes: self.table.vocab.display(token),
            context: format!("{why}; output so far: {tail:?}"),
        }
    }

    /// Fill one bitmask row with the tokens allowed next.
    ///
    /// # Errors
    /// [`Error::Shape`] when the row is too short.
    pub fn fill_bitmask(&self, row: &mut [u32]) -> Result<usize> {
        if self.terminated {
            check_row_words(row.len(), self.table.vocab.size())?;
            row.fill(0);
            let n = self
                .table
                .vocab
                .eos()
                .iter()
                .filter(|&&e| allow(row, e))
                .count();
            return Ok(n);
        }
        self.table.fill_bitmask(self.state, row)
    }

    /// May generation stop here?
    pub fn is_accepting(&self) -> bool {
        self.terminated || self.table.grammar.is_accepting(self.state)
    }

    /// Has an end-of-sequence token been accepted?
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// The bytes produced so far.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// The forced bytes as tokens (greedy longest match over the vocabulary): every token is
    /// allowed in turn, and their bytes are a prefix of [`Matcher::forced_bytes`]. A tail that
    /// no token spells exactly is left to sampling. Jump-forward decoding appends these tokens
    /// in one forward pass.
    pub fn forced_tokens(&self) -> Vec<u32> {
        let bytes = self.forced_bytes();
        let trie = self.table.vocab.trie();
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            match trie.longest_prefix(&bytes[at..]) {
                Some((t, n)) => {
                    out.push(t);
                    at += n;
                }
                None => break,
            }
        }
        out
    }

    /// The bytes the grammar forces from here (possibly empty): each is the only byte allowed
    /// in its state. Jump-forward decoding appends them without sampling.
    pub fn forced_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.terminated {
            return out;
        }
        let g = &self.table.grammar;
        let mut s = self.state;
        while let Some(b) = g.forced_byte(s) {
            out.push(b);
            s = g.step(s, b).expect("forced byte is allowed");
        }
        out
    }
}

/// Outputs of uniformly random walks over the allowed tokens of `table`: at every step the
/// next token is drawn uniformly from the mask (end-of-sequence included where allowed).
/// Returns `(output bytes, terminated)` per walk; a walk that has not ended after
/// `max_tokens` tokens is returned with `terminated == false`. Deterministic for a seed.
/// Used to fuzz the formats' parsers against their grammars.
pub fn random_walks(
    table: &Arc<TokenTable>,
    n: usize,
    seed: u64,
    max_tokens: usize,
) -> Vec<(Vec<u8>, bool)> {
    (0..n)
        .into_par_iter()
        .map(|i| {
            // splitmix64, seeded per walk so that results do not depend on scheduling
            let mut x = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = move || {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            let mut m = Matcher::new(table.clone());
            let mut row = vec![0u32; bitmask_words(table.vocab.size())];
            let mut allowed: Vec<u32> = Vec::new();
            for _ in 0..max_tokens {
                if m.fill_bitmask(&mut row).is_err() {
                    break;
                }
                allowed.clear();
                push_allowed(&row, &mut allowed);
                if allowed.is_empty() {
                    break;
                }
                let t = allowed[(next() % allowed.len() as u64) as usize];
                if m.accept_token(t).is_err() {
                    break;
                }
                if m.is_terminated() {
                    break;
                }
            }
            (m.output().to_vec(), m.is_terminated())
        })
        .collect()
}

/// Fill `bitmask` (`matchers.len()` rows of `words` u32 each, row-major) in parallel.
///
/// # Errors
/// [`Error::Shape`] when the buffer is not `matchers.len() * words` long.
pub fn fill_bitmask_batch(matchers: &[&Matcher], bitmask: &mut [u32], words: usize) -> Result<()> {
    if words == 0 || bitmask.len() != matchers.len() * words {
        return Err(Error::Shape(format!(
            "bitmask holds {} words, expected {} rows x {} words",
            bitmask.len(),
            matchers.len(),
            words
        )));
    }
    for m in matchers {
        check_row_words(words, m.table.vocab.size())?;
    }
    bitmask
        .par_chunks_mut(words)
        .zip(matchers.par_iter())
        .try_for_each(|(row, m)| m.fill_bitmask(row).map(|_| ()))
}

/// Where a group of trie descents stands: the trie node reached, the bytes read from each
/// start, and the whole characters of the string so far.
#[derive(Clone, Copy)]
struct Start {
    node: u32,
    depth: usize,
    chars: u32,
}

/// Descend the vocabulary trie along the written text from every start offset at once:
/// `starts` holds `(offset, end of its segment)` pairs that all begin with the same `depth`
/// bytes, which lead to trie node `at.node`. Starts are grouped by their next byte, so every
/// trie node is visited once, however many starts reach it (a text that repeats itself costs
/// cheap byte reads, not trie lookups). `on_token` gets the tokens of every node reached
/// (prefixes of the text from some start); at each character boundary after `at.chars` whole
/// characters, `on_close(node)` gets the node below it for byte `close` (tokens that close
/// the string there), and the descent stops once `limit` characters are whole. Character
/// boundaries depend only on the bytes read from a start (the written forms lex
/// deterministically), so they are the same for every start of a group.
#[allow(clippy::too_many_arguments)]
fn descend(
    trie: &Trie,
    text: &WrittenText,
    close: Option<u8>,
    limit: u32,
    starts: &mut [(u32, u32)],
    at: Start,
    on_token: &mut dyn FnMut(u32),
    on_close: &mut dyn FnMut(u32),
) {
    let bytes = &text.bytes;
    let Start { node, depth, chars } = at;
    if let [(from, seg_end)] = *starts {
        // One start: a plain descent.
        let (from, mut node, mut chars) = (from as usize, node, chars);
        for (pos, &b) in bytes
            .iter()
            .enumerate()
            .take(seg_end as usize)
            .skip(from + depth)
        {
            let Some(next) = trie.child(node, b) else {
                return;
            };
            node = next;
            trie.tokens_at(node, &mut *on_token);
            if !text.boundary[pos + 1] {
                continue;
            }
            chars += 1;
            if let Some(c) = close.and_then(|b| trie.child(node, b)) {
                on_close(c);
            }
            if chars >= limit {
                return;
            }
        }
        return;
    }
    // Drop the starts whose segment ends here; group the rest by their next byte.
    let mut live = 0;
    for i in 0..starts.len() {
        if (starts[i].0 as usize + depth) < starts[i].1 as usize {
            starts.swap(live, i);
            live += 1;
        }
    }
    let starts = &mut starts[..live];
    let key = |s: &(u32, u32)| bytes[s.0 as usize + depth];
    if !starts.windows(2).all(|w| key(&w[0]) == key(&w[1])) {
        starts.sort_unstable_by_key(key);
    }
    let mut i = 0;
    while i < starts.len() {
        let b = key(&starts[i]);
        let j = i + starts[i..].iter().take_while(|s| key(s) == b).count();
        if let Some(child) = trie.child(node, b) {
            trie.tokens_at(child, &mut *on_token);
            let mut chars = chars;
            let mut go_on = true;
            if text.boundary[starts[i].0 as usize + depth + 1] {
                chars += 1;
                if let Some(c) = close.and_then(|x| trie.child(child, x)) {
                    on_close(c);
                }
                go_on = chars < limit;
            }
            if go_on {
                let next = Start {
                    node: child,
                    depth: depth + 1,
                    chars,
                };
                descend(
                    trie,
                    text,
                    close,
                    limit,
                    &mut starts[i..j],
                    next,
                    on_token,
                    on_close,
                );
            }
        }
        i = j;
    }
}

/// Where the descent of one level of [`CharDescent`] stands: the written form of the
/// previous character tried at this level and the trie nodes along it, so that the next
/// character (the next unit, in code point order) starts from the bytes they share.
struct Path {
    /// The previous character's written form: `bytes[prev.0..prev.1]` of the written text
    /// (a range, not a copy: a copy of a few bytes of unknown length is a `memcpy` call).
    prev: (usize, usize),
    /// `nodes[i]`: the node after `i` bytes of `prev` (valid for `i <= reached`).
    nodes: [u32; 9],
    reached: usize,
}

impl Path {
    fn new(node: u32) -> Path {
        let mut nodes = [0u32; 9];
        nodes[0] = node;
        Path {
            prev: (0, 0),
            nodes,
            reached: 0,
        }
    }
}

/// The start-of-string descent of [`TokenTable::start_mask`], by whole characters: a group
/// holds the starts (character indices) whose first `d` characters are equal, so one trie
/// node stands for all of them; the group splits by the next character (its unit), and a
/// group of one goes on alone. Each character's written bytes are looked up once per group,
/// from the bytes it shares with the group's previous character.
struct CharDescent<'a> {
    trie: &'a Trie,
    bytes: &'a [u8],
    char_start: &'a [u32],
    units: &'a [u32],
    close: u8,
    limit: u32,
    words: Vec<u32>,
    /// The tokens allowed in `words`, counted as they are set (a popcount of the row would
    /// cost ~10 % of the descent: the x86-64 baseline has no `popcnt`).
    ones: usize,
    /// Tokens that close the string, with the content bytes before the closing byte.
    closing: Vec<(u32, u32)>,
}

impl CharDescent<'_> {
    #[inline]
    fn emit(&mut self, node: u32) {
        let (words, ones) = (&mut self.words, &mut self.ones);
        self.trie.tokens_at(node, |t| {
            *ones += usize::from(allow(words, t));
        });
    }

    /// The character ends at `node`, `len` content bytes and `chars` characters from the
    /// start: tokens that close the string there. Returns whether the string may go on.
    #[inline]
    fn boundary(&mut self, node: u32, len: u32, chars: u32) -> bool {
        if let Some(c) = self.trie.child(node, self.close) {
            let closing = &mut self.closing;
            // Each boundary node is reached once, so no token is listed twice.
            self.trie.tokens_below(c, |t| closing.push((t, len)));
        }
        chars < self.limit
    }

    /// The starts `group` share their first `d` characters (`len` bytes, `chars` whole
    /// characters counted) and their character `d`; `path` is this level's descent state.
    fn enter(&mut self, path: &mut Path, group: &mut [u32], d: usize, len: u32, chars: u32) {
        let k = group[0] as usize + d;
        let (lo, hi) = (self.char_start[k] as usize, self.char_start[k + 1] as usize);
        let n = hi - lo;
        debug_assert!(n < path.nodes.len());
        let form = &self.bytes[lo..hi];
        let lcp = form
            .iter()
            .zip(&self.bytes[path.prev.0..path.prev.1])
            .take_while(|(a, b)| a == b)
            .count();
        path.prev = (lo, hi);
        if lcp > path.reached {
            // The previous character failed inside the bytes this one shares.
            return;
        }
        path.reached = lcp;
        for i in lcp..n {
            let Some(c) = self.trie.child(path.nodes[i], self.bytes[lo + i]) else {
                return;
            };
            path.nodes[i + 1] = c;
            path.reached = i + 1;
            self.emit(c);
        }
        let node = path.nodes[n];
        let (len, chars) = (len + n as u32, chars + 1);
        if !self.boundary(node, len, chars) {
            return;
        }
        self.split(group, d + 1, node, len, chars);
    }

    /// Go on from `node` with the starts `group`, which share their first `d` characters.
    fn split(&mut self, group: &mut [u32], d: usize, node: u32, len: u32, chars: u32) {
        let units = self.units;
        let key = |k: &u32| units.get(*k as usize + d).copied().unwrap_or(BARRIER);
        if let [k] = *group {
            self.alone(k as usize + d, node, len, chars);
            return;
        }
        if !group.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            group.sort_unstable_by_key(key);
        }
        let mut path = Path::new(node);
        let mut i = 0;
        while i < group.len() {
            let u = key(&group[i]);
            if u == BARRIER {
                // The text or segment ends here for these starts (barriers sort last).
                break;
            }
            let j = i + group[i..].iter().take_while(|k| key(k) == u).count();
            self.enter(&mut path, &mut group[i..j], d, len, chars);
            i = j;
        }
    }

    /// One start left: descend along the text from character `k` on, to the segment's end.
    fn alone(&mut self, mut k: usize, mut node: u32, mut len: u32, mut chars: u32) {
        while k < self.units.len() && self.units[k] != BARRIER {
            let (lo, hi) = (self.char_start[k] as usize, self.char_start[k + 1] as usize);
            for &b in &self.bytes[lo..hi] {
                let Some(c) = self.trie.child(node, b) else {
                    return;
                };
                node = c;
                self.emit(c);
            }
            len += (hi - lo) as u32;
            chars += 1;
            if !self.boundary(node, len, chars) {
                return;
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::GrammarOptions;
    use crate::ground::Quoting;
    use std::collections::HashMap;

    /// A seeded xorshift: each call gives a number below its argument.
    fn below(mut x: u64) -> impl FnMut(usize) -> usize {
        move |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m as u64) as usize
        }
    }

    /// `walks` random walks of at most `steps` tokens over `table`. At each state `check`
    /// tests the matcher's mask and returns the allowed ids, and `pick` chooses the next
    /// token among them; a walk ends when none is allowed or the output is terminated.
    fn checked_walks(
        table: &Arc<TokenTable>,
        walks: usize,
        steps: usize,
        mut check: impl FnMut(&Matcher) -> Vec<u32>,
        mut pick: impl FnMut(&[u32]) -> u32,
    ) {
        for _ in 0..walks {
            let mut m = Matcher::new(table.clone());
            for _ in 0..steps {
                let allowed = check(&m);
                if allowed.is_empty() {
                    break;
                }
                m.accept_token(pick(&allowed)).expect("allowed");
                if m.is_terminated() {
                    break;
                }
            }
        }
    }

    fn qwen() -> Arc<Vocab> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/tokenizers/qwen2.5/tokenizer.json"
        );
        let json = std::fs::read_to_string(path).expect("../shared/tokenizers/qwen2.5");
        Arc::new(Vocab::from_tokenizer_json(&json, &[151_643]).expect("vocab"))
    }

    /// Inside grounded strings (mid-character and mid-escape included), the mask read off
    /// the written text after each occurrence equals the one walked with the grammar, along
    /// random walks over three formats, tricky texts and a character limit.
    #[test]
    fn continuation_mask_equals_walked_mask() {
        let vocab = qwen();
        let words = bitmask_words(vocab.size());
        let labels = ["人名".to_string(), "地名".to_string()];
        let texts = [
            "张三在北京大学读书，张三说：“好”。张三在北京。",
            "龘𠮷王赟 \"quoted\" back\\slash\nnew line\ttab 😀 a<b & c>d 2024年",
            "abcabcabc, the the the; 中文English混合123 ab&cd",
        ];
        let mut rand = below(7u64);
        let (mut inside, mut partial) = (0usize, 0usize);
        for format in ["iepile-json", "json-lines", "type-pairs"] {
            for text in texts {
                for max_entity_chars in [None, Some(2)] {
                    let opts = GrammarOptions {
                        grounded: true,
                        max_entity_chars,
                        ..Default::default()
                    };
                    let g = Grammar::compile(format, &labels, text, &opts).expect("grammar");
                    let table = Arc::new(TokenTable::new(vocab.clone(), g));
                    let check = |m: &Matcher| {
                        let (mut fast, mut slow) = (vec![0u32; words], vec![0u32; words]);
                        let n = table.compute_mask(m.state, &mut fast);
                        let want =
                            table.walked(m.state, &mut slow) + table.allow_eos(m.state, &mut slow);
                        let ctx = format!(
                            "{format} {text:?} {max_entity_chars:?} after {:?}",
                            String::from_utf8_lossy(m.output())
                        );
                        assert!(fast == slow, "{ctx}");
                        assert_eq!(n, want, "{ctx}");
                        if let Some((strings, st, _)) = table.grammar.string_state(m.state) {
                            if !strings.cacheable(st) {
                                inside += 1;
                                partial += usize::from(st.pending != 0 || st.esc != 0);
                            }
                        }
                        let mut allowed = Vec::new();
                        push_allowed(&fast, &mut allowed);
                        allowed
                    };
                    checked_walks(&table, 12, 40, check, |a| a[rand(a.len())]);
                }
            }
        }
        assert!(
            inside > 200 && partial > 20,
            "{inside} states inside strings, {partial} partial"
        );
    }

    /// Masks shared across requests of one shape (`TokenTable::compile`) equal the masks
    /// walked from scratch for each request's own text, along random walks over the four
    /// formats with entity lists, texts that differ in what may open a string (the empty
    /// text, quotes, escapes) and with and without an entity maximum; the shared masks are
    /// reused across texts, including ones whose frontier (string openings) is walked anew.
    #[test]
    fn shared_masks_equal_masks_walked_per_request() {
        let vocab = qwen();
        let words = bitmask_words(vocab.size());
        let labels = ["人名".to_string(), "地\"名".to_string()];
        let texts = [
            "张三在北京大学读书，张三说：“好”。",
            "",
            "\"",
            "龘𠮷王赟 \"quoted\" back\\slash\nnew line 😀 a<b & c>d",
            "abc, the the; 中文English混合123 'x'",
        ];
        let mut rand = below(11u64);
        let (mut hits, mut frontier_hits, mut checked) = (0usize, 0usize, 0usize);
        for format in ["iepile-json", "clue-fill", "json-lines", "type-pairs"] {
            for max_entities_per_label in [None, Some(1)] {
                let opts = GrammarOptions {
                    grounded: true,
                    max_entities_per_label,
                    ..Default::default()
                };
                for round in 0..2 {
                    for text in texts {
                        let table = Arc::new(
                            TokenTable::compile(vocab.clone(), format, &labels, text, &opts)
                                .expect("table"),
                        );
                        // The second round starts with the first round's masks.
                        assert_eq!(round == 0 && text == texts[0], table.shared_masks() == 0);
                        let check = |m: &Matcher| {
                            let shared = table
                                .grammar
                                .mask_key(m.state)
                                .and_then(|k| table.shared.as_ref().expect("compiled").get(&k));
                            // The fill overwrites the whole row (it starts dirty here) and
                            // returns the number of bits it set.
                            let (mut fast, mut slow) = (vec![!0u32; words], vec![0u32; words]);
                            let n = m.fill_bitmask(&mut fast).expect("fill");
                            let want = table.compute_mask(m.state, &mut slow);
                            assert_eq!(
                                n,
                                fast.iter().map(|x| x.count_ones() as usize).sum::<usize>()
                            );
                            let ctx = format!(
                                "{format} {max_entities_per_label:?} {text:?} round {round} \
                                 after {:?}",
                                String::from_utf8_lossy(m.output())
                            );
                            assert!(fast == slow, "{ctx}");
                            assert_eq!(n, want, "{ctx}");
                            checked += 1;
                            if let Some(sm) = shared {
                                hits += 1;
                                frontier_hits += usize::from(!sm.frontier.is_empty());
                            }
                            let mut allowed = Vec::new();
                            push_allowed(&fast, &mut allowed);
                            assert!(!allowed.is_empty(), "dead state: {ctx}");
                            allowed
                        };
                        checked_walks(&table, 6, 60, check, |a| a[rand(a.len())]);
                    }
                }
            }
        }
        assert!(
            hits > 1000 && frontier_hits > 100,
            "{checked} fills checked, {hits} from shared masks, {frontier_hits} with a frontier"
        );
    }

    /// Grounded in a text with no character to ground an entity in, every format forces its
    /// no-entity output (no string may be opened that could never be closed).
    /// `xml-inline` masks (copy states descended along the input, the tag part below the
    /// root's `<` shared across requests by position-free key) equal the masks walked from
    /// scratch, on random walks over Qwen2.5 and over Qwen2.5 plus tokens that hold whole
    /// tags and text after them (none in real vocabularies: they exercise the frontier).
    #[test]
    fn xml_masks_equal_walked_masks() {
        let qwen = qwen();
        let mut bytes: Vec<Option<Vec<u8>>> = (0..qwen.size() as u32)
            .map(|t| qwen.token_bytes(t).map(<[u8]>::to_vec))
            .collect();
        for extra in [
            "<s>",
            "<s>a",
            "<s>张",
            "</s><t>",
            "<t>",
            "</t>",
            "<p>山东",
            "</p>",
            "a<",
            "张<s>",
            "<s>&amp;",
            "&lt;",
            "<p>",
            "</p><s>b",
            "</s>",
            "b</s>",
        ] {
            bytes.push(Some(extra.as_bytes().to_vec()));
        }
        let tagged = Arc::new(Vocab::from_parts(
            crate::vocab::VocabKind::ByteLevel,
            bytes,
            HashMap::new(),
            qwen.eos().to_vec(),
        ));
        let labels: Vec<String> = ["s", "t", "人名", "p"].map(String::from).to_vec();
        let texts = [
            "张三ab在北京，张三说a<b & c>d。",
            "",
            "龘𠮷王赟 \"q\" <s>a</s> &amp; 😀\nab",
            "aaaa张张张bbbb",
        ];
        let mut rand = below(17u64);
        let (mut checked, mut shared_tables) = (0usize, 0usize);
        for vocab in [qwen.clone(), tagged] {
            let words = bitmask_words(vocab.size());
            for max_entities_per_label in [None, Some(1)] {
                let opts = GrammarOptions {
                    grounded: true,
                    max_entities_per_label,
                    inferred: vec!["p".into()],
                    ..Default::default()
                };
                for round in 0..2 {
                    for text in texts {
                        let table = Arc::new(
                            TokenTable::compile(vocab.clone(), "xml-inline", &labels, text, &opts)
                                .expect("table"),
                        );
                        shared_tables += usize::from(table.shared_masks() > 0);
                        let check = |m: &Matcher| {
                            let (mut fast, mut slow) = (vec![!0u32; words], vec![0u32; words]);
                            let n = m.fill_bitmask(&mut fast).expect("fill");
                            assert_eq!(
                                n,
                                fast.iter().map(|x| x.count_ones() as usize).sum::<usize>()
                            );
                            let want = table.walked(m.state, &mut slow)
                                + table.allow_eos(m.state, &mut slow);
                            let ctx = format!(
                                "{max_entities_per_label:?} {text:?} round {round} after {:?}",
                                String::from_utf8_lossy(m.output())
                            );
                            assert!(fast == slow, "{ctx}");
                            assert_eq!(n, want, "{ctx}");
                            checked += 1;
                            let mut allowed = Vec::new();
                            push_allowed(&fast, &mut allowed);
                            assert!(!allowed.is_empty(), "dead state: {ctx}");
                            allowed
                        };
                        // Half the steps take a token with `<` when there is one.
                        let pick = |allowed: &[u32]| {
                            let lt: Vec<u32> = allowed
                                .iter()
                                .copied()
                                .filter(|&t| {
                                    vocab.token_bytes(t).is_some_and(|b| b.contains(&b'<'))
                                })
                                .collect();
                            if !lt.is_empty() && rand(2) == 0 {
                                lt[rand(lt.len())]
                            } else {
                                allowed[rand(allowed.len())]
                            }
                        };
                        checked_walks(&table, 4, 50, check, pick);
                    }
                }
            }
        }
        assert!(
            checked > 2000 && shared_tables > 10,
            "{checked} fills, {shared_tables}"
        );
    }

    #[test]
    fn empty_text_forces_the_no_entity_output() {
        let vocab = qwen();
        let labels = ["人名".to_string()];
        let opts = GrammarOptions {
            grounded: true,
            ..Default::default()
        };
        for (format, want) in [
            ("iepile-json", "{\"人名\": []}"),
            ("clue-fill", "{'属于人名类实体有?': []}"),
            ("json-lines", "没有找到任何实体"),
            ("type-pairs", "无"),
        ] {
            let table = TokenTable::compile(vocab.clone(), format, &labels, "", &opts).unwrap();
            let m = Matcher::new(Arc::new(table));
            let forced = m.forced_bytes();
            assert_eq!(String::from_utf8_lossy(&forced), want, "{format}");
            let mut end = m.clone();
            for t in end.forced_tokens() {
                end.accept_token(t).unwrap();
            }
            assert!(end.is_accepting(), "{format}");
        }
    }

    /// `iepile-json` with the one label `a` over a one-character text: a table whose string
    /// masks the start-of-string tests compute for grounded strings of their own.
    fn one_label_json() -> Grammar {
        let opts = GrammarOptions::default();
        Grammar::compile("iepile-json", &["a".to_string()], "x", &opts).expect("grammar")
    }

    /// Assert that the start-of-string mask of `s` read off its written text equals the one
    /// walked with the string automaton: same inner tokens, and the same closing tokens at the
    /// same byte, each listed once (a token listed twice would be allowed twice). Returns the
    /// number of inner and of closing tokens.
    fn assert_start_mask(
        table: &TokenTable,
        s: &GroundedString,
        close: u8,
        what: &str,
    ) -> (usize, usize) {
        let (text, index) = (s.written_text(), s.substring_index());
        let fast = table.start_mask(
            text.expect("a grounded text"),
            index.expect("a grounded text"),
            s.max_chars(),
            close,
        );
        let slow = table.walked_mask(s, s.start(0), close);
        assert!(fast.words == slow.words, "{what}");
        // Both count their tokens as they set them: check the count against the row.
        let set: usize = fast.words.iter().map(|x| x.count_ones() as usize).sum();
        assert_eq!(fast.ones, set, "{what}");
        assert_eq!(slow.ones, set, "{what}");
        let (mut a, mut b) = (fast.closing.clone(), slow.closing.clone());
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{what}");
        (fast.ones, a.len())
    }

    /// The start-of-string mask read off the written text equals the one walked with the
    /// string automaton: same inner tokens, same closing tokens at the same byte.
    #[test]
    fn start_mask_equals_walked_mask() {
        let vocab = qwen();
        let g = one_label_json();
        let table = TokenTable::new(vocab, g);
        let texts = [
            "张三在北京大学读书，张三说：“好”。",
            "龘𠮷王赟 \"quoted\" back\\slash\nnew line\ttab 😀 a<b & c>d 2024年",
            "abcabcabc, the the the; 中文English混合123",
            "x",
        ];
        let mut closing_seen = 0;
        for text in texts {
            for (quoting, close) in [
                (Quoting::Json, b'"'),
                (Quoting::Plain { stop: b';' }, b';'),
                (Quoting::Plain { stop: b',' }, b','),
            ] {
                for max_chars in [None, Some(1), Some(3)] {
                    let s = GroundedString::new(quoting.clone(), Some(text), max_chars)
                        .expect("strings");
                    let what = format!("{text:?} {quoting:?} {max_chars:?}");
                    let (ones, closing) = assert_start_mask(&table, &s, close, &what);
                    assert!(ones > 0);
                    closing_seen += closing;
                }
            }
        }
        assert!(
            closing_seen > 0,
            "no closing token in any case: the test checks nothing"
        );
    }

    /// The same on a synthetic vocabulary, where the character-by-character descent meets
    /// what Qwen2.5's does not: tokens that end or stop inside a character, characters that
    /// share two of three bytes (京 亭 亮, 北 区), repeated characters followed by different
    /// ones, and trie paths that fail inside a character shared with the next one tried.
    #[test]
    fn start_mask_equals_walked_mask_on_random_vocabularies() {
        let alphabet = [
            "京", "亭", "亮", "北", "区", "𠮷", "a", "b", "\"", "\\", ",",
        ];
        let mut rnd = below(0x5eed);
        let g = one_label_json();
        let mut checked = [0usize; 2];
        for _ in 0..40 {
            let mut toks: Vec<Option<Vec<u8>>> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..150 {
                let mut t: Vec<u8> = Vec::new();
                for _ in 0..1 + rnd(3) {
                    t.extend_from_slice(alphabet[rnd(alphabet.len())].as_bytes());
                }
                // Half the tokens are cut inside (or at the end of) their last character.
                if rnd(2) == 0 {
                    t.truncate(1 + rnd(t.len()));
                }
                if seen.insert(t.clone()) {
                    toks.push(Some(t));
                }
            }
            let vocab = Arc::new(Vocab::from_parts(
                crate::vocab::VocabKind::ByteLevel,
                toks,
                HashMap::new(),
                vec![],
            ));
            let table = TokenTable::new(vocab, g.clone());
            let text: String = (0..1 + rnd(40))
                .map(|_| alphabet[rnd(alphabet.len())])
                .collect();
            for (quoting, close) in [(Quoting::Json, b'"'), (Quoting::Plain { stop: b',' }, b',')] {
                for max_chars in [None, Some(1), Some(2), Some(4)] {
                    let s = GroundedString::new(quoting.clone(), Some(&text), max_chars)
                        .expect("strings");
                    let what = format!("{text:?} {quoting:?} {max_chars:?}");
                    let (ones, closing) = assert_start_mask(&table, &s, close, &what);
                    checked[0] += ones;
                    checked[1] += closing;
                }
            }
        }
        assert!(
            checked[0] > 1000 && checked[1] > 50,
            "too little checked: {checked:?}"
        );
    }
}
