//! Any input: parsing must not panic; problems must render; whatever parses must print to
//! text that parses back to the same tree.
#![no_main]

use cruddur_xray::filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse(src) {
        Ok(expr) => {
            let printed = expr.to_string();
            let again = filter::parse(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e:?}"));
            assert_eq!(expr, again, "{printed:?}");
            let _ = filter::referenced_services(&expr);
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(e.offset <= src.len() && e.line >= 1 && e.column >= 1);
                let _ = e.render(src, true);
            }
        }
    }
});
