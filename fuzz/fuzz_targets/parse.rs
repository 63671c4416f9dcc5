//! Coverage-guided fuzzing of the parser and the diagnostic renderer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = ledgerlink::source::SourceFile::new("fuzz.rules", text);
        let (_, diagnostics) = ledgerlink::syntax::parse(&file);
        let _ = ledgerlink::diagnostic::render_human(&diagnostics, false, 80);
    }
});
