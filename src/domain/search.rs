//! Text search over names and aliases in Chinese, English, pinyin and pinyin initials.
//!
//! Every searchable text is folded once when the read model is built: NFKC (so
//! full-width `ＡＢＣ１` equals `abc1`), lower case, white space and punctuation
//! removed; Chinese characters also contribute their toneless pinyin (`erjijianzaoshi`)
//! and initials (`ejjzs`). A query matches when its folded form is a substring of any
//! key. Polyphonic characters contribute every reading (会计 is `kuaiji`, not only
//! `huiji`), up to a bounded number of combinations per text, and `ü` is also indexed as
//! `v` and `u` (律师: `lvshi`, `lushi`), as people type it.

use pinyin::ToPinyinMulti;
use unicode_normalization::UnicodeNormalization;

/// NFKC and lower case: the form in which texts are compared.
pub fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The folded form with white space and punctuation removed, as used for matching.
/// Composed again after the removal: dropping a character can bring two combining marks
/// together out of canonical order, and a query folded twice must equal it folded once.
pub fn fold_for_search(text: &str) -> String {
    let kept: String = fold(text).chars().filter(|c| c.is_alphanumeric()).collect();
    kept.nfc().collect()
}

/// Precomputed search keys of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchKeys {
    keys: Vec<String>,
    /// The keys joined by NUL, which no folded query contains (it keeps letters and
    /// digits only), so a match never spans two keys: one substring search per entry
    /// instead of one per key.
    joined: String,
}

impl SearchKeys {
    /// Builds keys from the entry's texts (code, names, aliases).
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut keys = Vec::new();
        for text in texts {
            let folded = fold_for_search(text);
            if folded.is_empty() {
                continue;
            }
            if folded.chars().any(is_han) {
                keys.extend(pinyin_keys(&folded));
            }
            keys.push(folded);
        }
        keys.sort();
        keys.dedup();
        let joined = keys.join("\0");
        Self { keys, joined }
    }

    /// Whether the already-folded query occurs in any key.
    pub fn matches(&self, folded_query: &str) -> bool {
        if folded_query.is_empty() || folded_query.contains('\0') {
            return folded_query.is_empty() && !self.keys.is_empty();
        }
        self.joined.contains(folded_query)
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Most reading combinations indexed per text (a long name full of polyphonic
/// characters would otherwise multiply without bound).
const MAX_COMBINATIONS: usize = 32;

/// Full pinyin and initials for every combination of readings (most common first);
/// characters without pinyin are kept as they are.
fn pinyin_keys(folded: &str) -> Vec<String> {
    let mut full = vec![String::new()];
    let mut initials = vec![String::new()];
    for (c, readings) in folded.chars().zip(folded.to_pinyin_multi()) {
        let mut spellings: Vec<String> = Vec::new();
        let mut letters: Vec<String> = Vec::new();
        match readings {
            Some(readings) => {
                for reading in readings {
                    let plain = reading.plain();
                    for spelling in [
                        plain.to_owned(),
                        plain.replace('ü', "v"),
                        plain.replace('ü', "u"),
                    ] {
                        if !spellings.contains(&spelling) {
                            spellings.push(spelling);
                        }
                    }
                    let letter = reading.first_letter().to_owned();
                    if !letters.contains(&letter) {
                        letters.push(letter);
                    }
                }
            }
            None => {
                spellings.push(c.to_string());
                letters.push(c.to_string());
            }
        }
        full = extend_all(&full, &spellings);
        initials = extend_all(&initials, &letters);
    }
    full.into_iter().chain(initials).collect()
}

/// Every prefix followed by every alternative, keeping at most `MAX_COMBINATIONS`
/// (prefixes and alternatives come most common first, so the usual reading survives).
fn extend_all(prefixes: &[String], alternatives: &[String]) -> Vec<String> {
    let mut next = Vec::with_capacity(MAX_COMBINATIONS.min(prefixes.len() * alternatives.len()));
    for alternative in alternatives {
        for prefix in prefixes {
            if next.len() == MAX_COMBINATIONS {
                return next;
            }
            next.push(format!("{prefix}{alternative}"));
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_query_folds_to_itself_even_when_dropping_a_symbol_joins_combining_marks() {
        // Found by tests/api/properties.rs: U+10190 (a symbol) between two combining
        // marks; without it they are out of canonical order until composed again.
        let folded = fold_for_search("\u{1e08f}\u{10190}\u{1abf}");
        assert_eq!(folded, "\u{1abf}\u{1e08f}");
        assert_eq!(fold_for_search(&folded), folded);
        assert_eq!(fold_for_search("Ａｂ-Ｃ １"), "abc1");
    }

    fn keys() -> SearchKeys {
        SearchKeys::new([
            "RI-CON-002",
            "二级建造师注册证书",
            "Grade II Registered Constructor",
            "二建",
        ])
    }

    #[test]
    fn chinese_names_are_found_by_full_pinyin_and_initials() {
        let keys = keys();
        for query in ["二级建造师", "erjijianzaoshi", "ejjzs", "erjian", "ej"] {
            assert!(keys.matches(&fold_for_search(query)), "{query}");
        }
    }

    #[test]
    fn english_matching_ignores_case_spacing_and_width() {
        let keys = keys();
        for query in [
            "registered constructor",
            "REGISTERED",
            "ｒｅｇｉｓｔｅｒｅｄ",
            "ri-con-002",
            "ＲＩ－ＣＯＮ",
        ] {
            assert!(keys.matches(&fold_for_search(query)), "{query}");
        }
    }

    #[test]
    fn polyphonic_characters_and_u_umlaut_are_found_as_people_type_them() {
        let accountant = SearchKeys::new(["会计专业技术资格证书"]);
        for query in ["kuaiji", "huiji", "kjzyjszgzs"] {
            assert!(accountant.matches(&fold_for_search(query)), "{query}");
        }
        let lawyer = SearchKeys::new(["律师执业证"]);
        for query in ["lüshi", "lvshi", "lushi", "lszyz"] {
            assert!(lawyer.matches(&fold_for_search(query)), "{query}");
        }
    }

    #[test]
    fn combinations_are_bounded_for_long_polyphonic_names() {
        let keys = SearchKeys::new(["行长重行行长重行行长重行行长重行"]);
        assert!(
            keys.keys.len() <= 2 * MAX_COMBINATIONS + 1,
            "{}",
            keys.keys.len()
        );
        assert!(keys.matches(&fold_for_search("xingzhang")));
    }

    #[test]
    fn a_match_never_spans_two_keys() {
        let keys = SearchKeys::new(["abc", "def"]);
        assert!(keys.matches("bc") && keys.matches("de"));
        assert!(
            !keys.matches("cd"),
            "the end of one key and the start of the next"
        );
        assert!(!keys.matches("c\0d"));
        assert!(keys.matches(""), "as any key contains the empty text");
        assert!(!SearchKeys::new([" "]).matches(""), "no keys, no match");
    }

    #[test]
    fn unrelated_queries_do_not_match() {
        let keys = keys();
        for query in ["护士", "hushi", "nurse"] {
            assert!(!keys.matches(&fold_for_search(query)), "{query}");
        }
    }

    #[test]
    fn fold_applies_nfkc_and_lower_case() {
        assert_eq!(fold("ＡＢＣ１２３（示例）"), "abc123(示例)");
    }
}
