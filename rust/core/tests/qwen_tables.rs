//! Token tables over the real Qwen2.5 tokenizer (../shared/tokenizers/qwen2.5).

use std::sync::Arc;

use nerlm_core::grammar::{Grammar, GrammarOptions};
use nerlm_core::tables::{bitmask_words, Matcher, TokenTable};
use nerlm_core::vocab::{Vocab, VocabKind};

const QWEN_EOS: u32 = 151643; // <|endoftext|>

fn qwen() -> Arc<Vocab> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/tokenizers/qwen2.5/tokenizer.json"
    );
    let json = std::fs::read_to_string(path).expect("../shared/tokenizers/qwen2.5/tokenizer.json");
    Arc::new(Vocab::from_tokenizer_json(&json, &[QWEN_EOS]).unwrap())
}

fn table(v: &Arc<Vocab>, labels: &[&str], text: &str) -> Arc<TokenTable> {
    let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    let opts = GrammarOptions {
        grounded: true,
        ..Default::default()
    };
    let g = Grammar::compile("iepile-json", &labels, text, &opts).unwrap();
    Arc::new(TokenTable::new(v.clone(), g))
}

fn allowed(m: &Matcher) -> Vec<u32> {
    let mut row = vec![0u32; bitmask_words(151_936)];
    m.fill_bitmask(&mut row).unwrap();
    (0..151_936u32)
        .filter(|&t| row[t as usize / 32] >> (t % 32) & 1 == 1)
        .collect()
}

#[test]
fn vocabulary_bytes() {
    let v = qwen();
    assert_eq!(v.kind(), VocabKind::ByteLevel);
    assert_eq!(v.size(), 151_665);
    assert_eq!(v.token_bytes(108386), Some("你好".as_bytes()));
    assert_eq!(v.token_bytes(QWEN_EOS), None); // special tokens are never produced by bytes
}

#[test]
fn partial_utf8_tokens_reach_a_grounded_entity() {
    // 龘 is two Qwen2.5 tokens that each hold part of its three UTF-8 bytes.
    let v = qwen();
    let t = table(&v, &["人物"], "龘先生");
    let mut m = Matcher::new(t);
    // Walk greedily through forced bytes and the entity by choosing tokens whose bytes are a
    // prefix of the wanted output.
    let want = "{\"人物\": [\"龘先生\"]}".as_bytes();
    while m.output().len() < want.len() {
        let done = m.output().len();
        let rest = &want[done..];
        let ok = allowed(&m);
        let tok = ok
            .iter()
            .copied()
            .filter(|&t| v.token_bytes(t).is_some_and(|b| rest.starts_with(b)))
            .max_by_key(|&t| v.token_bytes(t).unwrap().len())
            .expect("some allowed token continues the wanted output");
        m.accept_token(tok).unwrap();
    }
    assert_eq!(m.output(), want);
    assert_eq!(allowed(&m), vec![QWEN_EOS]);
    m.accept_token(QWEN_EOS).unwrap();
    assert!(m.is_terminated());
}

#[test]
fn masks_hold_only_grounded_continuations() {
    let v = qwen();
    let text = "浙商银行企业信贷部叶老桂博士";
    let t = table(&v, &["企业", "人物"], text);
    let mut m = Matcher::new(t);
    for &b in "{\"企业\": [\"".as_bytes() {
        // Feed single-byte tokens for the literal.
        let id = (0..v.size() as u32)
            .find(|&i| v.token_bytes(i) == Some(&[b][..]))
            .unwrap();
        m.accept_token(id).unwrap();
    }
    let ok = allowed(&m);
    assert!(!ok.is_empty());
    for t in ok {
        let b = v.token_bytes(t).unwrap();
        // Every allowed token is a substring of the text, possibly followed by closing bytes.
        let s = String::from_utf8_lossy(b);
        let content: &str = s.split('"').next().unwrap();
        let content = content.trim_end_matches('\u{fffd}');
        assert!(text.contains(content), "token {t} {s:?}");
    }
    assert!(m.accept_token(QWEN_EOS).is_err());
}

#[test]
fn sentencepiece_model_with_byte_fallback() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/tokenizers/mistral_spm_v1/tokenizer.model"
    );
    let model = std::fs::read(path).expect("mistral tokenizer.model");
    let v = Vocab::from_sentencepiece_model(&model, &[2]).unwrap();
    assert_eq!(v.size(), 32_000);
    assert_eq!(v.kind(), VocabKind::SentencePiece);
    assert_eq!(v.token_bytes(0), None); // <unk>
    assert_eq!(v.token_bytes(2), None); // </s>
                                        // Byte-fallback pieces <0x00>..<0xFF> follow the control tokens.
    assert_eq!(v.token_bytes(3 + 0xE6), Some(&[0xE6u8][..]));
    // Some piece is a word with a leading space.
    assert!((0..32_000).any(|t| v.token_bytes(t).is_some_and(|b| b == b" the")));
}
