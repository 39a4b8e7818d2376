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
