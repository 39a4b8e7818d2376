//! Decoding-table operations in Rust alone (no Python binding), so that the binding overhead
//! in benches/bench_tables.py is visible: vocabulary preparation, per-request table build and
//! bitmask fill, on the Qwen2.5 tokenizer and CLUENER dev text (../shared).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use nerlm_benches::{cluener_dev_text as dev_text, labels, read_shared};
use nerlm_core::grammar::{Grammar, GrammarOptions};
use nerlm_core::tables::{bitmask_words, Matcher, TokenTable};
use nerlm_core::vocab::Vocab;

fn bench(c: &mut Criterion) {
    let json = read_shared("tokenizers/qwen2.5/tokenizer.json");
    c.bench_function("vocab/qwen2.5 from tokenizer.json", |b| {
        b.iter(|| Vocab::from_tokenizer_json(&json, &[151_643]).expect("vocab"))
    });
    let vocab = Arc::new(Vocab::from_tokenizer_json(&json, &[151_643]).expect("vocab"));
    let opts = GrammarOptions {
        grounded: true,
        ..Default::default()
    };
    for chars in [43, 414, 3821] {
        let text = dev_text(chars);
        for format in ["iepile-json", "xml-inline"] {
            c.bench_function(&format!("build/{format}/{chars}"), |b| {
                b.iter(|| Grammar::compile(format, &labels(), &text, &opts).expect("grammar"))
            });
        }
        let g = Grammar::compile("iepile-json", &labels(), &text, &opts).expect("grammar");
        let table = Arc::new(TokenTable::new(vocab.clone(), g));
        let mut row = vec![0u32; bitmask_words(151_936)];
        // A literal state, the start of an entity (cached after the first fill), and a state
        // inside an entity.
        let mut m = Matcher::new(table.clone());
        c.bench_function(&format!("fill/iepile-json/{chars}/literal"), |b| {
            b.iter(|| m.fill_bitmask(&mut row).expect("fill"))
        });
        let single: Vec<u32> = (0..256u32)
            .map(|byte| {
                (0..vocab.size() as u32)
                    .find(|&t| vocab.token_bytes(t) == Some(&[byte as u8][..]))
                    .expect("byte token")
            })
            .collect();
        for &byte in "{\"人名\": [\"".as_bytes() {
            m.accept_token(single[byte as usize]).expect("literal");
        }
        c.bench_function(&format!("fill/iepile-json/{chars}/entity start"), |b| {
            b.iter(|| m.fill_bitmask(&mut row).expect("fill"))
        });
        for &byte in text.chars().next().expect("text").to_string().as_bytes() {
            m.accept_token(single[byte as usize]).expect("content");
        }
        c.bench_function(&format!("fill/iepile-json/{chars}/inside entity"), |b| {
            b.iter(|| m.fill_bitmask(&mut row).expect("fill"))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
