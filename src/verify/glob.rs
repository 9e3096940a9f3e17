//! Sampling-rule wildcards: `*` (any run of characters) and `?` (exactly one).

/// Whether `pattern` matches `text`. Case-sensitive.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `general` matches every text `specific` matches, decided conservatively: `true`
/// is always right; `false` may be returned for a few exotic pairs that do subsume (such as
/// `??*` over `?*?`), which only means a shadowed rule goes unreported.
///
/// It aligns `general` against `specific` treated as a string of symbols: a `*` in
/// `general` may take any run of symbols (wildcards included), a `?` exactly one symbol
/// that stands for exactly one character (a literal or a `?`), and a literal only the same
/// literal. Any text matched by `specific` is then matched by `general` through the same
/// alignment.
pub fn subsumes(general: &str, specific: &str) -> bool {
    let g: Vec<char> = general.chars().collect();
    let s: Vec<char> = specific.chars().collect();
    // ok[i][j]: g[i..] covers s[j..].
    let mut ok = vec![vec![false; s.len() + 1]; g.len() + 1];
    ok[g.len()][s.len()] = true;
    for i in (0..g.len()).rev() {
        for j in (0..=s.len()).rev() {
            ok[i][j] = match g[i] {
                '*' => ok[i + 1][j] || (j < s.len() && ok[i][j + 1]),
                '?' => j < s.len() && s[j] != '*' && ok[i + 1][j + 1],
                c => j < s.len() && s[j] == c && ok[i + 1][j + 1],
            };
        }
    }
    ok[0][0]
}

pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("backend-*", "backend-flask"));
        assert!(matches("backend-fl?sk", "backend-flask"));
        assert!(!matches("backend-fl?sk", "backend-flsk"));
        assert!(matches("*-flask", "backend-flask"));
        assert!(matches("/api/*/x*", "/api/a/b/xy"));
        assert!(!matches("/api/*", "/home"));
        assert!(!matches("Backend", "backend"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn subsumption_is_right_when_it_says_yes() {
        for (g, s) in [
            ("*", "*"),
            ("*", "backend-flask"),
            ("*", "/api/*"),
            ("/api/*", "/api/users/*"),
            ("/api/*", "/api/users"),
            ("backend-*", "backend-fl?sk"),
            ("?*", "a*"),
            ("a?c", "abc"),
            ("a?c", "a?c"),
            ("*a*", "xa*"),
        ] {
            assert!(subsumes(g, s), "{g} ⊇ {s}");
        }
        for (g, s) in [
            ("/api/*", "*"),
            ("/api/users", "/api/*"),
            ("a?c", "a*c"),
            ("backend-flask", "backend-*"),
            ("?", ""),
            ("abc", "ab"),
            ("GET", "POST"),
        ] {
            assert!(!subsumes(g, s), "not {g} ⊇ {s}");
        }
    }

    #[test]
    fn subsumption_agrees_with_matching_on_literals() {
        // For a literal `specific`, subsumption is exactly "general matches it".
        for g in ["*", "a*", "*c", "a?c", "abc", "?", "??", "a*b*c", "*b*"] {
            for s in ["", "a", "abc", "ac", "abbc", "xbx", "aXbYc"] {
                assert_eq!(subsumes(g, s), matches(g, s), "{g} vs {s}");
            }
        }
    }
}
