//! Domain: catalog entries, recognition decisions, deviation checks, search and the
//! in-process read model. Knows neither HTTP nor SQL: handlers and storage translate
//! to and from these types.

pub mod audit;
pub mod bulk_import;
pub mod catalog;
pub mod change;
pub mod deviation;
pub mod exchange;
pub mod governance;
pub mod history;
pub mod proposal;
pub mod read_model;
pub mod recognition;
pub mod region;
pub mod search;
pub mod suspension;
pub mod webhook;

/// Defines a closed vocabulary stored as text: serde names, `as_str`, `parse`, `ALL`.
///
/// The names are matched as `tt`, not `literal`: utoipa does not see a serde rename that
/// arrives as a `$x:literal` fragment and would document the Rust variant names instead.
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored and serialised name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names joined for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// What the domain's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeSet;

    use super::catalog::{CatalogContent, Programme, Sector};
    use super::region::{Region, RegionCode};

    /// A region code (panics on a malformed one).
    pub fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    /// A token's principal of region `code` with `roles`.
    pub fn principal(
        code: &str,
        roles: &[super::governance::Role],
    ) -> super::governance::Principal {
        super::governance::Principal {
            issuer: "https://id.example".into(),
            subject: "someone".into(),
            region: region(code),
            roles: roles.to_vec(),
        }
    }

    /// A day written `YYYY-MM-DD` (panics on a malformed one).
    pub fn day(text: &str) -> chrono::NaiveDate {
        text.parse().unwrap()
    }

    /// The sample catalog with the reference data the database would supply.
    pub fn sample() -> CatalogContent {
        let mut content = crate::sample::sample_entries().unwrap();
        content.regions = ["BJ", "TJ", "HE"]
            .into_iter()
            .map(|code| Region {
                code: RegionCode::parse(code).unwrap(),
                gb_code: String::new(),
                name_zh: code.into(),
                name_en: code.into(),
                short_name_zh: code.into(),
            })
            .collect();
        let sectors: BTreeSet<&str> = content
            .recognition_items
            .iter()
            .map(|i| i.sector.as_str())
            .chain(content.standard_items.iter().map(|i| i.sector.as_str()))
            .collect();
        content.sectors = sectors
            .into_iter()
            .map(|code| Sector {
                code: code.into(),
                name_zh: code.into(),
                name_en: code.into(),
            })
            .collect();
        // As the migrations seed them.
        content.programmes = [
            "same_standard",
            "cross_province",
            "regional",
            "offsite_self_service",
        ]
        .into_iter()
        .map(|code| Programme {
            code: code.into(),
            name_zh: code.into(),
            name_en: code.into(),
        })
        .collect();
        content
    }
}
