//! Cursor pagination: a bounded `limit` and an opaque `cursor` that encodes where the
//! previous page ended and which query it belongs to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::problem::ApiError;
use crate::domain::read_model::PageRequest;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 200;

const CURSOR_VERSION: &str = "c1";

/// Parses `limit` and `cursor` for a query whose filters are summarised by
/// `query_fingerprint` (a cursor from another query is rejected rather than giving a
/// silently wrong page).
pub fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
    query_fingerprint: &str,
) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::parameter(
                    "limit",
                    format!("expected a whole number from 1 to {MAX_LIMIT}, got `{raw}`"),
                ));
            }
        },
    };
    let after = cursor
        .map(|raw| decode_cursor(raw, query_fingerprint))
        .transpose()?;
    Ok(PageRequest { after, limit })
}

/// A short digest of the filters that define a query.
pub fn fingerprint(parts: &[Option<&str>]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        match part {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cursor that continues after `last_code`.
pub fn encode_cursor(last_code: &str, query_fingerprint: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}:{query_fingerprint}:{last_code}"))
}

fn decode_cursor(raw: &str, query_fingerprint: &str) -> Result<String, ApiError> {
    let malformed = || {
        ApiError::parameter(
            "cursor",
            "the cursor is malformed; use the `next_cursor` value of a previous page unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let mut parts = text.splitn(3, ':');
    let (Some(CURSOR_VERSION), Some(fingerprint), Some(after)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if fingerprint != query_fingerprint {
        return Err(ApiError::parameter(
            "cursor",
            "the cursor belongs to a query with other filters; repeat the same filters with it",
        ));
    }
    if after.is_empty() {
        return Err(malformed());
    }
    Ok(after.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_the_same_query() {
        let fp = fingerprint(&[Some("TJ"), None]);
        let cursor = encode_cursor("RI-CON-002", &fp);
        let page = page_request(Some("10"), Some(&cursor), &fp).unwrap();
        assert_eq!(page.after.as_deref(), Some("RI-CON-002"));
        assert_eq!(page.limit, 10);
    }

    #[test]
    fn a_cursor_from_another_query_is_rejected() {
        let cursor = encode_cursor("RI-CON-002", &fingerprint(&[Some("TJ")]));
        assert!(page_request(None, Some(&cursor), &fingerprint(&[Some("HE")])).is_err());
    }

    #[test]
    fn limits_outside_the_range_are_rejected() {
        for bad in ["0", "-1", "201", "ten", "1.5", ""] {
            assert!(page_request(Some(bad), None, "x").is_err(), "{bad}");
        }
        assert_eq!(page_request(None, None, "x").unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(
            page_request(Some("200"), None, "x").unwrap().limit,
            MAX_LIMIT
        );
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        for bad in ["!!!", "abc", &URL_SAFE_NO_PAD.encode("c1:x")] {
            assert!(page_request(None, Some(bad), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_distinguish_absent_from_empty() {
        assert_ne!(fingerprint(&[None]), fingerprint(&[Some("")]));
    }
}
