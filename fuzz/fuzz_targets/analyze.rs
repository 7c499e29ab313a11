//! Fuzzes the whole front end: any bytes are lexed, parsed, checked and rendered without a
//! panic, and every diagnostic points inside its file.
#![no_main]

use berth_lang::{analyze, Input, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let analysis = analyze("fuzz", vec![Input { name: "fuzz.berth".into(), bytes: data.to_vec() }], &Options::default());
    for d in &analysis.diagnostics {
        assert!(d.span.end as usize <= analysis.sources.get(d.span.file).text.len());
    }
    let _ = berth_lang::render::human(&analysis.diagnostics, &analysis.sources, Default::default());
});
