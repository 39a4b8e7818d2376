//! Property tests: every grounded target is accepted, nothing ungrounded is.

use nerlm_core::grammar::{GrammarOptions, KeyedLists, KeyedState};
use nerlm_core::ground::json_escape;
use proptest::prelude::*;

fn run(g: &KeyedLists, out: &str) -> Option<KeyedState> {
    let mut s = g.start();
    for &b in out.as_bytes() {
        s = g.step(s, b)?;
    }
    Some(s)
}

fn render(labels: &[String], ents: &[Vec<String>]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .zip(ents)
        .map(|(l, es)| {
            let items: Vec<String> = es
                .iter()
                .map(|e| format!("\"{}\"", json_escape(e)))
                .collect();
            format!("\"{}\": [{}]", json_escape(l), items.join(", "))
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn text_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('\u{1}'),
            Just('中'),
            Just('龘'),
            Just('😀'),
            Just(' '),
            Just('é')
        ],
        1..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn grounded_targets_are_accepted(text in text_strategy(), picks in proptest::collection::vec((0usize..3, 0usize..40, 1usize..6), 0..6)) {
        let labels: Vec<String> = vec!["人物".into(), "地\"点".into(), "org".into()];
        let chars: Vec<char> = text.chars().collect();
        let mut ents = vec![Vec::new(); 3];
        for (l, s, n) in picks {
            let s = s % chars.len();
            let e = (s + n).min(chars.len());
            ents[l].push(chars[s..e].iter().collect::<String>());
        }
        let opts = GrammarOptions { grounded: true, ..Default::default() };
        let g = KeyedLists::iepile_json(&labels, &text, &opts).unwrap();
        let out = render(&labels, &ents);
        let st = run(&g, &out);
        prop_assert!(st.is_some_and(|s| g.is_accepting(s)), "{out}");
    }

    #[test]
    fn ungrounded_entities_are_refused(text in text_strategy(), other in text_strategy()) {
        prop_assume!(!text.contains(&other));
        let labels: Vec<String> = vec!["x".into()];
        let opts = GrammarOptions { grounded: true, ..Default::default() };
        let g = KeyedLists::iepile_json(&labels, &text, &opts).unwrap();
        let out = render(&labels, &[vec![other]]);
        prop_assert!(run(&g, &out).is_none());
    }
}
