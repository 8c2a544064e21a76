//! Regions (辖区): members of the cluster, held as data rather than an enum.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A region's short code such as `BJ`, `TJ`, `HE`: 2–16 upper-case ASCII letters,
/// digits or `_`, starting with a letter. Whether the region exists is a catalog question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "TJ")]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses a code, accepting lower case (`tj` → `TJ`); nothing else is forgiven.
    pub fn parse(text: &str) -> Result<Self, String> {
        let upper = text.to_ascii_uppercase();
        let mut chars = upper.chars();
        let well_formed = (2..=16).contains(&upper.len())
            && chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if well_formed {
            Ok(Self(upper))
        } else {
            Err(format!(
                "`{text}` is not a region code (expected a code such as BJ, TJ or HE)"
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RegionCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<RegionCode> for String {
    fn from(code: RegionCode) -> String {
        code.0
    }
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member region of the mutual-recognition cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"code": "TJ", "gb_code": "120000", "name_zh": "天津市", "name_en": "Tianjin", "short_name_zh": "津"}))]
pub struct Region {
    /// Short code used throughout the API.
    pub code: RegionCode,
    /// Administrative division code per GB/T 2260.
    pub gb_code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// One-character abbreviation (京, 津, 冀).
    pub short_name_zh: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes_are_normalised_to_upper_case() {
        assert_eq!(RegionCode::parse("tj").unwrap().as_str(), "TJ");
        assert_eq!(RegionCode::parse("XIONGAN").unwrap().as_str(), "XIONGAN");
        // Digits and `_` may follow the first letter (sub-areas, free-trade-zone areas).
        assert_eq!(RegionCode::parse("he_xa").unwrap().as_str(), "HE_XA");
        assert_eq!(RegionCode::parse("TJ2").unwrap().as_str(), "TJ2");
    }

    #[test]
    fn malformed_region_codes_are_rejected() {
        for bad in [
            "",
            "B",
            "1J",
            "北京",
            "BJ-1",
            "ABCDEFGHIJKLMNOPQ",
            " HE",
            "HE ",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
