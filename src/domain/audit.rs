//! The audit log (审计日志): every write attempt, accepted or refused, as a hash chain.
//!
//! Each record carries the SHA-256 of its predecessor's canonical form, and its own
//! hash over its canonical form (which includes that link). Editing a record changes
//! its hash; deleting one breaks the next record's link; deleting the newest records is
//! caught by the head (last sequence number and hash) stored beside the log.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::text_enum;

/// The link before the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

text_enum! {
    /// Whether the attempt changed anything.
    pub enum Outcome {
        /// The change was committed.
        Accepted = "accepted",
        /// The request was refused; nothing changed.
        Refused = "refused",
    }
}

/// One write attempt as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 42,
    "recorded_at": "2026-12-01T08:30:00.123456Z",
    "request_id": "5b0c8f8e-2f5e-4b8e-9a51-0c9d1f3e6a77",
    "issuer": "https://id.tj.example",
    "subject": "zhang.wei",
    "region": "TJ",
    "roles": ["editor"],
    "action": "edit_local_part",
    "entry_kind": "recognition_item",
    "entry_code": "RI-CON-002",
    "target_region": "TJ",
    "outcome": "accepted",
    "status": 200,
    "reason": "",
    "before": "{\"region\":\"TJ\",\"contact\":\"022-23456789\"}",
    "after": "{\"region\":\"TJ\",\"contact\":\"022-12345678\"}",
    "prev_hash": "9f2c…",
    "hash": "4d1a…"
}))]
pub struct AuditRecord {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When the attempt was recorded (UTC; the fraction of a second has up to six digits).
    pub recorded_at: DateTime<Utc>,
    /// The request id (`X-Request-Id`).
    pub request_id: String,
    /// The token's issuer; `null` when no valid token was presented.
    pub issuer: Option<String>,
    /// The token's subject; `null` when no valid token was presented.
    pub subject: Option<String>,
    /// The region the token speaks for; `null` when no valid token was presented.
    pub region: Option<String>,
    /// The token's roles.
    pub roles: Vec<String>,
    /// What was attempted, e.g. `edit_local_part`.
    pub action: String,
    /// The kind of entry concerned, e.g. `recognition_item`.
    pub entry_kind: Option<String>,
    /// The entry's code.
    pub entry_code: Option<String>,
    /// The region whose data the attempt would change.
    pub target_region: Option<String>,
    /// Accepted or refused.
    pub outcome: Outcome,
    /// The HTTP status answered.
    pub status: u16,
    /// Why it was refused (empty when accepted).
    pub reason: String,
    /// The state before an accepted change (JSON text).
    pub before: Option<String>,
    /// The state after an accepted change (JSON text).
    pub after: Option<String>,
    /// Hash of the previous record (64 zeros before the first).
    pub prev_hash: String,
    /// SHA-256 of this record's canonical form, in lower-case hex.
    pub hash: String,
}

/// A record before it is chained: everything but its position and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the attempt was made.
    pub recorded_at: DateTime<Utc>,
    /// Request id.
    pub request_id: String,
    /// Issuer, subject, region and roles of the token, if one was valid.
    pub actor: Option<Actor>,
    /// What was attempted.
    pub action: &'static str,
    /// Entry kind and code, when the attempt concerns an entry.
    pub entry: Option<(&'static str, String)>,
    /// The region whose data the attempt would change.
    pub target_region: Option<String>,
    /// Accepted or refused.
    pub outcome: Outcome,
    /// HTTP status answered.
    pub status: u16,
    /// Why it was refused.
    pub reason: String,
    /// State before and after an accepted change.
    pub change: Option<(String, String)>,
}

/// Who acted, as the token said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// The token's region.
    pub region: String,
    /// The token's roles.
    pub roles: Vec<String>,
}

impl AuditEntry {
    /// The record this entry becomes at position `seq`, after the record hashed
    /// `prev_hash`. The time is cut to microseconds, the precision both databases keep,
    /// so that a stored record hashes the same when read back.
    pub fn chain(self, seq: i64, prev_hash: &str) -> AuditRecord {
        let recorded_at = truncate_to_micros(self.recorded_at);
        let (before, after) = match self.change {
            Some((before, after)) => (Some(before), Some(after)),
            None => (None, None),
        };
        let (issuer, subject, region, roles) = match self.actor {
            Some(actor) => (
                Some(actor.issuer),
                Some(actor.subject),
                Some(actor.region),
                actor.roles,
            ),
            None => (None, None, None, Vec::new()),
        };
        let (entry_kind, entry_code) = match self.entry {
            Some((kind, code)) => (Some(kind.to_owned()), Some(code)),
            None => (None, None),
        };
        let mut record = AuditRecord {
            seq,
            recorded_at,
            request_id: self.request_id,
            issuer,
            subject,
            region,
            roles,
            action: self.action.to_owned(),
            entry_kind,
            entry_code,
            target_region: self.target_region,
            outcome: self.outcome,
            status: self.status,
            reason: self.reason,
            before,
            after,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        record.hash = record.computed_hash();
        record
    }
}

/// `time` cut to microseconds, the precision both databases keep, so that what is
/// stored reads back the same on either backend.
pub fn truncate_to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

impl AuditRecord {
    /// The canonical form the hash covers: every field but the hash itself, as a JSON
    /// array in a fixed order (no key order or whitespace to disagree about).
    pub fn canonical(&self) -> String {
        serde_json::json!([
            self.seq,
            self.recorded_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            self.request_id,
            self.issuer,
            self.subject,
            self.region,
            self.roles,
            self.action,
            self.entry_kind,
            self.entry_code,
            self.target_region,
            self.outcome.as_str(),
            self.status,
            self.reason,
            self.before,
            self.after,
            self.prev_hash,
        ])
        .to_string()
    }

    /// SHA-256 of the canonical form, in lower-case hex.
    pub fn computed_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

/// The first link that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BrokenLink {
    /// Sequence number of the first record that fails (or the head's, when records
    /// are missing at the end).
    pub seq: i64,
    /// What fails there.
    pub problem: String,
}

/// Walks the chain in order, record by record, without holding it all in memory.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    expected_seq: i64,
    prev_hash: String,
    broken: Option<BrokenLink>,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            broken: None,
        }
    }
}

impl ChainCheck {
    /// Checks the next record; after the first broken link the rest is not looked at.
    pub fn push(&mut self, record: &AuditRecord) {
        if self.broken.is_some() {
            return;
        }
        let problem = if record.seq != self.expected_seq {
            Some(format!(
                "expected record {} here, found record {}: records are missing",
                self.expected_seq, record.seq
            ))
        } else if record.prev_hash != self.prev_hash {
            Some("its link does not match the previous record's hash".to_owned())
        } else if record.computed_hash() != record.hash {
            Some("its content does not match its hash: the record was altered".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.broken = Some(BrokenLink {
                    seq: record.seq,
                    problem,
                })
            }
            None => {
                self.expected_seq += 1;
                self.prev_hash = record.hash.clone();
            }
        }
    }

    /// The verdict once every record was pushed, against the stored head.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, BrokenLink> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        let checked = self.expected_seq - 1;
        if checked != head_seq || self.prev_hash != head_hash {
            return Err(BrokenLink {
                seq: head_seq,
                problem: format!(
                    "the log ends at record {checked} but its head names record {head_seq}: records were added or removed without the head, or the head was altered"
                ),
            });
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry(n: u32, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            recorded_at: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, n).unwrap()
                + chrono::Duration::nanoseconds(123_456_789),
            request_id: format!("req-{n}"),
            actor: Some(Actor {
                issuer: "https://id.tj.example".into(),
                subject: "zhang.wei".into(),
                region: "TJ".into(),
                roles: vec!["editor".into()],
            }),
            action: "edit_local_part",
            entry: Some(("recognition_item", "RI-CON-002".into())),
            target_region: Some("TJ".into()),
            outcome,
            status: if outcome == Outcome::Accepted {
                200
            } else {
                412
            },
            reason: String::new(),
            change: (outcome == Outcome::Accepted)
                .then(|| ("{\"contact\":\"1\"}".into(), "{\"contact\":\"2\"}".into())),
        }
    }

    fn chain(n: u32) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for i in 1..=n {
            let prev = records
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            let outcome = if i % 2 == 0 {
                Outcome::Refused
            } else {
                Outcome::Accepted
            };
            records.push(entry(i, outcome).chain(i64::from(i), &prev));
        }
        records
    }

    fn verify(records: &[AuditRecord], head: (i64, &str)) -> Result<i64, BrokenLink> {
        let mut check = ChainCheck::default();
        for record in records {
            check.push(record);
        }
        check.finish(head.0, head.1)
    }

    #[test]
    fn a_record_is_chained_to_its_predecessor_with_its_time_in_microseconds() {
        let records = chain(2);
        assert_eq!(records[0].prev_hash, GENESIS_HASH);
        assert_eq!(records[1].prev_hash, records[0].hash);
        assert_eq!(records[0].hash.len(), 64);
        assert_eq!(records[0].recorded_at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(
            records[0].canonical(),
            format!(
                "[1,\"2026-12-01T08:00:01.123456Z\",\"req-1\",\"https://id.tj.example\",\"zhang.wei\",\"TJ\",[\"editor\"],\"edit_local_part\",\"recognition_item\",\"RI-CON-002\",\"TJ\",\"accepted\",200,\"\",\"{{\\\"contact\\\":\\\"1\\\"}}\",\"{{\\\"contact\\\":\\\"2\\\"}}\",\"{GENESIS_HASH}\"]"
            )
        );
        assert_eq!(
            records[0].hash,
            hex(&Sha256::digest(records[0].canonical()))
        );
        assert_eq!(records[1].before, None);
        assert_eq!(records[1].after, None);
        assert_eq!(records[1].outcome, Outcome::Refused);
    }

    #[test]
    fn an_intact_chain_verifies_to_its_length() {
        let records = chain(5);
        assert_eq!(verify(&records, (5, &records[4].hash)), Ok(5));
        assert_eq!(verify(&[], (0, GENESIS_HASH)), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_names_the_first_broken_record() {
        let records = chain(5);
        let head = (5, records[4].hash.as_str());

        let mut altered = records.clone();
        altered[2].after = Some("{\"contact\":\"forged\"}".into());
        assert_eq!(
            verify(&altered, head),
            Err(BrokenLink {
                seq: 3,
                problem: "its content does not match its hash: the record was altered".into()
            })
        );

        let mut rehashed = records.clone();
        rehashed[1].reason = "nothing to see".into();
        rehashed[1].hash = rehashed[1].computed_hash();
        assert_eq!(
            verify(&rehashed, head),
            Err(BrokenLink {
                seq: 3,
                problem: "its link does not match the previous record's hash".into()
            })
        );

        let mut gap = records.clone();
        gap.remove(1);
        assert_eq!(
            verify(&gap, head),
            Err(BrokenLink {
                seq: 3,
                problem: "expected record 2 here, found record 3: records are missing".into()
            })
        );

        let truncated = &records[..3];
        assert_eq!(
            verify(truncated, head),
            Err(BrokenLink {
                seq: 5,
                problem: "the log ends at record 3 but its head names record 5: records were added or removed without the head, or the head was altered".into()
            })
        );
        assert!(verify(&records, (5, GENESIS_HASH)).is_err());
    }
}
