use nerlm_core::grammar::{Grammar, GrammarOptions};
fn main() {
    let traces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/traces.json").unwrap()).unwrap();
    let text = traces[4]["text"].as_str().unwrap().to_string();
    let labels: Vec<String> = ["人名","组织机构","景点","企业","电影","书名","政府","职位","地址","游戏"].iter().map(|s| s.to_string()).collect();
    let opts = GrammarOptions { grounded: true, ..Default::default() };
    let n: usize = std::env::var("N").ok().and_then(|x| x.parse().ok()).unwrap_or(3000);
    for _ in 0..n { std::hint::black_box(Grammar::compile("iepile-json", &labels, &text, &opts).unwrap()); }
}
