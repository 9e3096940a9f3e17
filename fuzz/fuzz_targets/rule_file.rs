//! Any bytes as a rule file: loading must not panic; every problem must have a position
//! inside the input (or 0:0 for the whole file) and render as one line.
#![no_main]

use cruddur_xray::spec::load_rule_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match load_rule_bytes("fuzz.json", data) {
        Ok(file) => {
            assert_eq!(file.path, "fuzz.json");
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "an error names at least one problem");
            let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
            for p in &problems {
                assert!(p.line <= lines, "line {} beyond the input ({lines} lines)", p.line);
                assert_eq!(p.line == 0, p.column == 0, "{p}");
                let text = p.to_string();
                assert!(!text.contains('\n'), "one line: {text:?}");
            }
        }
    }
});
