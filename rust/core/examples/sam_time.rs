use std::time::Instant;
fn main() {
    let dev = std::fs::read_to_string("../shared/data/cluener/dev.json").unwrap();
    let mut text = String::new();
    for line in dev.lines().take(100) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        text.push_str(v["text"].as_str().unwrap());
    }
    let text: String = text.chars().take(3821).collect();
    let units: Vec<u32> = text.bytes().map(u32::from).collect();
    for _ in 0..3 {
        let t = Instant::now();
        let sam = nerlm_core::ground::SuffixAutomaton::new(&units);
        let a = t.elapsed();
        let t = Instant::now();
        let g = nerlm_core::ground::GroundedString::new(nerlm_core::ground::Quoting::Json, Some(&text), None).unwrap();
        let b = t.elapsed();
        println!("units {} states {} sam {:?} grounded {:?} {}", units.len(), sam.len(), a, b, g.is_grounded());
    }
}
