//! Text search over names and aliases in Chinese, English, pinyin and pinyin initials.
//!
//! Every searchable text is folded once when the read model is built: NFKC (so
//! full-width `ＡＢＣ１` equals `abc1`), lower case, white space and punctuation
//! removed; Chinese characters also contribute their toneless pinyin (`erjijianzaoshi`)
//! and initials (`ejjzs`). A query matches when its folded form is a substring of any
//! key. Polyphonic characters use their most common reading.

use pinyin::ToPinyin;
use unicode_normalization::UnicodeNormalization;

/// NFKC and lower case: the form in which texts are compared.
pub fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The folded form with white space and punctuation removed, as used for matching.
pub fn fold_for_search(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Precomputed search keys of one entry.
#[derive(Debug, Clone, Default)]
pub struct SearchKeys {
    keys: Vec<String>,
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
                let (full, initials) = pinyin_forms(&folded);
                keys.push(full);
                keys.push(initials);
            }
            keys.push(folded);
        }
        keys.sort();
        keys.dedup();
        Self { keys }
    }

    /// Whether the already-folded query occurs in any key.
    pub fn matches(&self, folded_query: &str) -> bool {
        self.keys.iter().any(|key| key.contains(folded_query))
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Toneless pinyin and initials; characters without pinyin are kept as they are.
fn pinyin_forms(folded: &str) -> (String, String) {
    let mut full = String::new();
    let mut initials = String::new();
    for (c, reading) in folded.chars().zip(folded.to_pinyin()) {
        match reading {
            Some(p) => {
                full.push_str(p.plain());
                initials.push_str(p.first_letter());
            }
            None => {
                full.push(c);
                initials.push(c);
            }
        }
    }
    (full, initials)
}

#[cfg(test)]
mod tests {
    use super::*;

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
