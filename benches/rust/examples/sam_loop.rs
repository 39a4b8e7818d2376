use nerlm_core::ground::SuffixAutomaton;
fn main() {
    let traces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/traces.json").unwrap()).unwrap();
    let text = traces[4]["text"].as_str().unwrap().to_string();
    let mut cs: Vec<char> = text.chars().collect(); cs.sort_unstable(); cs.dedup();
    let units: Vec<u32> = text.chars().map(|c| cs.binary_search(&c).unwrap() as u32).collect();
    let n: usize = std::env::var("N").ok().and_then(|x| x.parse().ok()).unwrap_or(3000);
    for _ in 0..n { std::hint::black_box(SuffixAutomaton::new(&units)); }
}
