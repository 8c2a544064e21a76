//! Use cases of the entries' history: every version of an entry, one version, and what
//! changed between two. Public, like every catalog read.

use super::{UseCaseError, UseCases};
use crate::domain::change::ChangedEntryKind;
use crate::domain::history::{EntryVersion, VersionDiff, VersionList};
use crate::storage::history;

impl UseCases {
    /// Every version of an entry, oldest first.
    pub async fn entry_versions(
        &self,
        kind: ChangedEntryKind,
        code: &str,
    ) -> Result<VersionList, UseCaseError> {
        let code = existing_code(kind, code)?;
        let versions = self.versions_of(kind, code.clone()).await?;
        if versions.is_empty() {
            return Err(no_entry(kind, &code));
        }
        Ok(VersionList {
            entry_kind: kind,
            code,
            versions: versions.into_iter().map(|v| v.info).collect(),
        })
    }

    /// One version of an entry as it was.
    pub async fn entry_version(
        &self,
        kind: ChangedEntryKind,
        code: &str,
        version: &str,
    ) -> Result<EntryVersion, UseCaseError> {
        let code = existing_code(kind, code)?;
        let number = parse_version("version", version)?;
        self.find_version(kind, code, number).await
    }

    /// What changed from version `from` to version `to` of an entry (`to` defaults to
    /// the latest).
    pub async fn version_diff(
        &self,
        kind: ChangedEntryKind,
        code: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<VersionDiff, UseCaseError> {
        let code = existing_code(kind, code)?;
        let from = parse_version(
            "from",
            from.ok_or_else(|| {
                UseCaseError::InvalidParameter("from", "give the version to compare from".into())
            })?,
        )?;
        let to = to.map(|to| parse_version("to", to)).transpose()?;
        let mut versions = self.versions_of(kind, code.clone()).await?;
        if versions.is_empty() {
            return Err(no_entry(kind, &code));
        }
        let take = |number: i64| {
            versions
                .iter()
                .find(|v| v.info.version == number)
                .cloned()
                .ok_or_else(|| no_version(kind, &code, number))
        };
        let earlier = take(from)?;
        let later = match to {
            Some(number) => take(number)?,
            None => versions.pop().ok_or_else(|| no_entry(kind, &code))?,
        };
        Ok(VersionDiff::between(earlier, later))
    }

    async fn find_version(
        &self,
        kind: ChangedEntryKind,
        code: String,
        number: i64,
    ) -> Result<EntryVersion, UseCaseError> {
        let wanted = code.clone();
        let found = self
            .registry
            .database()
            .run(move |conn| history::version(conn, kind, &wanted, number))
            .await?
            .ok_or_else(|| no_version(kind, &code, number))?;
        Ok(self.as_read(found))
    }

    /// Every version of an entry, oldest first, as reads give entries.
    async fn versions_of(
        &self,
        kind: ChangedEntryKind,
        code: String,
    ) -> Result<Vec<EntryVersion>, UseCaseError> {
        let versions = self
            .registry
            .database()
            .run(move |conn| history::versions(conn, kind, &code))
            .await?;
        Ok(versions.into_iter().map(|v| self.as_read(v)).collect())
    }

    /// A stored version as the entry's read gives it: regions in display order.
    fn as_read(&self, version: EntryVersion) -> EntryVersion {
        let catalog = self.registry.catalog();
        let regions = catalog.regions();
        version.in_region_order(|code| {
            regions
                .iter()
                .position(|r| r.code.as_str() == code)
                .unwrap_or(usize::MAX)
        })
    }
}

/// A code as a path gives it. No entry has a code with a control character (NUL,
/// which PostgreSQL refuses outright, among them) or longer than 64 characters: such a
/// code is answered like any unknown one, without asking the database.
fn existing_code(kind: ChangedEntryKind, code: &str) -> Result<String, UseCaseError> {
    if code.is_empty() || code.chars().count() > 64 || code.chars().any(char::is_control) {
        return Err(no_entry(kind, code));
    }
    Ok(code.to_owned())
}

/// A version number: a whole number from 1.
fn parse_version(name: &'static str, text: &str) -> Result<i64, UseCaseError> {
    match text.parse::<i64>() {
        Ok(number) if number >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(number),
        _ => Err(UseCaseError::InvalidParameter(
            name,
            format!("a version is a whole number from 1, got `{text}`"),
        )),
    }
}

fn no_entry(kind: ChangedEntryKind, code: &str) -> UseCaseError {
    UseCaseError::NotFound(format!("No {} has the code `{code}`.", describe(kind)))
}

fn no_version(kind: ChangedEntryKind, code: &str, number: i64) -> UseCaseError {
    UseCaseError::NotFound(format!(
        "The {} `{code}` has no version {number}.",
        describe(kind)
    ))
}

fn describe(kind: ChangedEntryKind) -> &'static str {
    match kind {
        ChangedEntryKind::RecognitionItem => "recognition item",
        ChangedEntryKind::StandardItem => "service item",
        ChangedEntryKind::Scenario => "scenario",
        ChangedEntryKind::Target => "target",
        ChangedEntryKind::Batch => "batch",
        ChangedEntryKind::Proposal => "proposal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_a_whole_number_from_one() {
        assert_eq!(parse_version("version", "1").unwrap(), 1);
        assert_eq!(parse_version("version", "42").unwrap(), 42);
        for bad in ["0", "-1", "+1", "1.0", "", "x", "99999999999999999999"] {
            let error = parse_version("version", bad).unwrap_err();
            assert!(
                matches!(error, UseCaseError::InvalidParameter("version", _)),
                "{bad}: {error:?}"
            );
        }
    }
}
