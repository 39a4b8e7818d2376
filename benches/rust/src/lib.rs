//! Inputs shared by the Rust benchmarks (criterion, `benches/`) and the profiling examples
//! (`examples/`): the CLUENER dev set and the Qwen2.5 tokenizer from `../shared`, and the ten
//! Chinese labels that benches/bench_tables.py uses.

/// The repository's `../shared` folder.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// The text of `../shared/<path>`.
///
/// # Panics
/// When the file cannot be read.
pub fn read_shared(path: &str) -> String {
    std::fs::read_to_string(format!("{SHARED}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// CLUENER dev sentences in file order, joined and cut to `chars` characters (as
/// benches/bench_tables.py builds its inputs).
pub fn cluener_dev_text(chars: usize) -> String {
    let mut text = String::new();
    for line in read_shared("data/cluener/dev.json").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        text.push_str(v["text"].as_str().expect("text"));
        if text.chars().count() >= chars {
            break;
        }
    }
    text.chars().take(chars).collect()
}

/// CLUENER dev as alignment input: the sentences, every gold mention's surface (one per
/// span, in file order) and its sentence index.
pub fn cluener_dev_gold() -> (Vec<String>, Vec<String>, Vec<u32>) {
    let (mut texts, mut surfaces, mut doc) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in read_shared("data/cluener/dev.json").lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        texts.push(v["text"].as_str().expect("text").to_string());
        for (_, mentions) in v["label"].as_object().expect("label") {
            for (s, spans) in mentions.as_object().expect("mentions") {
                for _ in spans.as_array().expect("spans") {
                    surfaces.push(s.clone());
                    doc.push(i as u32);
                }
            }
        }
    }
    (texts, surfaces, doc)
}

/// The ten labels of the decoding-table cases (CLUENER's types in Chinese).
pub fn labels() -> Vec<String> {
    [
        "人名",
        "组织机构",
        "景点",
        "企业",
        "电影",
        "书名",
        "政府",
        "职位",
        "地址",
        "游戏",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One gold trace of a `benches/bench_tables.py --dump-traces` file.
pub struct Trace {
    /// The output format (`iepile-json` or `xml-inline`).
    pub format: String,
    /// The input text.
    pub text: String,
    /// The gold target's token ids.
    pub trace: Vec<u32>,
}

/// A `--dump-traces` file with what replaying it needs: the Qwen2.5 vocabulary (end of
/// sequence 151,643), the labels, the grounded grammar options, the bitmask row width in words
/// and the traces.
pub struct Traces {
    /// The Qwen2.5 vocabulary from `../shared`.
    pub vocab: std::sync::Arc<nerlm_core::vocab::Vocab>,
    /// The label list of every trace.
    pub labels: Vec<String>,
    /// Grounded entities, as the benchmark's cases.
    pub opts: nerlm_core::grammar::GrammarOptions,
    /// Words of a bitmask row for the dump's logits width.
    pub words: usize,
    /// The traces, in file order.
    pub traces: Vec<Trace>,
}

/// Read a `--dump-traces` file.
///
/// # Panics
/// When the file or the tokenizer cannot be read or does not have the dump's shape.
pub fn read_traces(path: &str) -> Traces {
    let json = read_shared("tokenizers/qwen2.5/tokenizer.json");
    let dump: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("traces")).expect("JSON");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|l| l.as_str().expect("string").to_string())
            .collect()
    };
    let vocab = nerlm_core::vocab::Vocab::from_tokenizer_json(&json, &[151_643]).expect("vocab");
    Traces {
        vocab: std::sync::Arc::new(vocab),
        labels: strings(&dump["labels"]),
        opts: nerlm_core::grammar::GrammarOptions {
            grounded: true,
            ..Default::default()
        },
        words: nerlm_core::tables::bitmask_words(
            dump["vocab_size"].as_u64().expect("vocab_size") as usize
        ),
        traces: dump["traces"]
            .as_array()
            .expect("traces")
            .iter()
            .map(|t| Trace {
                format: t["format"].as_str().expect("format").to_string(),
                text: t["text"].as_str().expect("text").to_string(),
                trace: t["trace"]
                    .as_array()
                    .expect("trace")
                    .iter()
                    .map(|x| x.as_u64().expect("token id") as u32)
                    .collect(),
            })
            .collect(),
    }
}

/// Write one byte of every cache line of `junk`, so that what a timed operation reads next is
/// out of the caches as far as `junk`'s size reaches (4 MiB evicts this VM's 512 KiB L2, 64 MiB
/// its 32 MiB L3 too), as for a request that arrives after other work.
pub fn evict_caches(junk: &mut [u8]) {
    for (i, x) in junk.iter_mut().enumerate().step_by(64) {
        *x = x.wrapping_add(i as u8);
    }
    std::hint::black_box(junk);
}

/// The nearest-rank `q` quantile of `sorted` (increasing, not empty): the smallest value with
/// at least a fraction `q` of the values at or below it.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    let k = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}
