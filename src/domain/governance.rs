//! Who may change what: roles, the acting principal, and the rules for a region's
//! direct edits of its own side of an entry (本地部分).
//!
//! A region speaks only for itself: an editor of region R changes R's local part and
//! nothing else. Shared parts (names, arrangements between regions, status) change only
//! through proposals that every participating region approves; those arrive with the
//! proposal workflow and reuse the refusals defined here.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::catalog::{
    RecognitionLocalPart, StandardLocalPart, check_recognition_local_part,
    check_standard_local_part,
};
use super::region::RegionCode;
use super::text_enum;

text_enum! {
    /// What a token allows its holder to do, within the token's region.
    pub enum Role {
        /// Changes the region's own local parts and proposes shared changes.
        Editor = "editor",
        /// Votes on proposals and suspends or reinstates acceptance in the region.
        Approver = "approver",
        /// Reads the whole audit log (every region's records) and verifies its chain.
        Admin = "admin",
    }
}

/// The authenticated caller: which issuer vouched for whom, for which region, with
/// which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's issuer (`iss`).
    pub issuer: String,
    /// The token's subject (`sub`); empty when the token names none.
    pub subject: String,
    /// The one region the token speaks for.
    pub region: RegionCode,
    /// The roles granted, without repeats.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Why an authenticated caller may not do what it asked (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The token speaks for another region than the one the change concerns.
    #[error("a token of {own} cannot change {target}'s side; each region edits only its own")]
    OtherRegion {
        /// The token's region.
        own: RegionCode,
        /// The region whose data the request would change.
        target: RegionCode,
    },
    /// The token lacks the role the action needs.
    #[error("this action needs the `{}` role; the token grants {}", .needed.as_str(), describe_roles(.held))]
    MissingRole {
        /// The role needed.
        needed: Role,
        /// The roles held.
        held: Vec<Role>,
    },
}

fn describe_roles(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "no role".to_owned();
    }
    roles
        .iter()
        .map(|r| format!("`{}`", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// May `principal` change `region`'s local part of an entry? Only an editor of that
/// very region may.
pub fn authorize_local_edit(principal: &Principal, region: &RegionCode) -> Result<(), Refusal> {
    if &principal.region != region {
        return Err(Refusal::OtherRegion {
            own: principal.region.clone(),
            target: region.clone(),
        });
    }
    require_role(principal, Role::Editor)
}

/// Refuses a principal without `role`.
pub fn require_role(principal: &Principal, role: Role) -> Result<(), Refusal> {
    if principal.has(role) {
        Ok(())
    } else {
        Err(Refusal::MissingRole {
            needed: role,
            held: principal.roles.clone(),
        })
    }
}

/// How a request changes a local part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditMethod {
    /// `PUT`: the body is the whole new local part; a field left out becomes empty.
    Replace,
    /// `PATCH`: the body is a JSON merge patch (RFC 7396) onto the current local part.
    MergePatch,
}

/// Fields the server owns: a body that names any of them is refused, never ignored, so
/// that a client believing it set one learns at once that it did not.
pub const SERVER_OWNED_FIELDS: &[&str] = &["region", "version", "item_code", "updated_at"];

/// A body that cannot become a valid local part, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEdit {
    /// (field, message) pairs; the field is `body` when no single field is to blame.
    pub problems: Vec<(String, String)>,
}

impl InvalidEdit {
    /// One problem with one field.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![(field.to_owned(), message.into())],
        }
    }
}

/// Longest text a local-part field may hold (characters); longer text is a mistake
/// (a pasted document), not a department name.
pub const MAX_FIELD_CHARS: usize = 2000;

/// A region's side of an entry that can be edited on its own.
pub trait LocalPart: Clone + serde::Serialize + DeserializeOwned {
    /// The region the part belongs to.
    fn region(&self) -> &RegionCode;
    /// The rules the part must follow on its own.
    fn check(&self, report: &mut dyn FnMut(String));
}

impl LocalPart for RecognitionLocalPart {
    fn region(&self) -> &RegionCode {
        &self.region
    }
    fn check(&self, report: &mut dyn FnMut(String)) {
        check_recognition_local_part(self, &mut |p| report(p));
    }
}

impl LocalPart for StandardLocalPart {
    fn region(&self) -> &RegionCode {
        &self.region
    }
    fn check(&self, report: &mut dyn FnMut(String)) {
        check_standard_local_part(self, &mut |p| report(p));
    }
}

/// The local part `body` asks for, given the `current` one: the body replaces it
/// (`PUT`) or is merged onto it (`PATCH`). The region stays the current one. Refuses
/// server-owned and unknown fields, wrong types, over-long text and anything that breaks
/// the part's own rules.
pub fn edited_local_part<P: LocalPart>(
    current: &P,
    method: EditMethod,
    body: &Value,
) -> Result<P, InvalidEdit> {
    let Value::Object(fields) = body else {
        return Err(InvalidEdit::one("body", "the body must be a JSON object"));
    };
    let owned: Vec<(String, String)> = SERVER_OWNED_FIELDS
        .iter()
        .filter(|field| fields.contains_key(**field))
        .map(|field| {
            (
                (*field).to_owned(),
                "is set by the server and cannot be changed".to_owned(),
            )
        })
        .collect();
    if !owned.is_empty() {
        return Err(InvalidEdit { problems: owned });
    }
    let mut proposed = match method {
        EditMethod::Replace => body.clone(),
        EditMethod::MergePatch => {
            let mut merged = serde_json::to_value(current)
                .map_err(|e| InvalidEdit::one("body", e.to_string()))?;
            merge_patch(&mut merged, body);
            merged
        }
    };
    // The region is server-owned: always the current one (the path's), never the body's.
    if let Value::Object(map) = &mut proposed {
        map.insert("region".into(), Value::String(current.region().to_string()));
    }
    let part: P = serde_json::from_value(proposed).map_err(|e| {
        let message = e.to_string();
        InvalidEdit::one(&field_named_in(&message).unwrap_or("body".into()), message)
    })?;
    let mut problems = Vec::new();
    check_field_limits(
        &serde_json::to_value(&part).unwrap_or(Value::Null),
        "",
        &mut problems,
    );
    part.check(&mut |problem| problems.push(("body".to_owned(), problem)));
    if problems.is_empty() {
        Ok(part)
    } else {
        Err(InvalidEdit { problems })
    }
}

/// RFC 7396: objects merge member by member, `null` removes a member, anything else
/// replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_fields) = target {
        for (name, value) in patch_fields {
            if value.is_null() {
                target_fields.remove(name);
            } else {
                merge_patch(
                    target_fields.entry(name.clone()).or_insert(Value::Null),
                    value,
                );
            }
        }
    }
}

fn check_field_limits(value: &Value, path: &str, problems: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) if text.chars().count() > MAX_FIELD_CHARS => problems.push((
            path.to_owned(),
            format!("is longer than {MAX_FIELD_CHARS} characters"),
        )),
        // Counts (days, copies) are stored as 32-bit integers, as the contract states.
        Value::Number(number) if number.as_i64().is_none_or(|n| n > i64::from(i32::MAX)) => {
            problems.push((path.to_owned(), format!("must be at most {}", i32::MAX)))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_field_limits(item, &format!("{path}[{i}]"), problems);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let nested = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                check_field_limits(item, &nested, problems);
            }
        }
        _ => {}
    }
}

/// Refuses free text (a comment, a reason) longer than [`MAX_FIELD_CHARS`].
pub fn check_text_length(field: &str, text: &str) -> Result<(), InvalidEdit> {
    if text.chars().count() > MAX_FIELD_CHARS {
        return Err(InvalidEdit::one(
            field,
            format!("is longer than {MAX_FIELD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A request body read as `T`, refused naming the field serde objects to.
pub fn parse_body<T: DeserializeOwned>(body: &Value) -> Result<T, InvalidEdit> {
    serde_json::from_value(body.clone()).map_err(|e| {
        let message = e.to_string();
        InvalidEdit::one(&field_named_in(&message).unwrap_or("body".into()), message)
    })
}

/// serde names the offending field in back-quotes in "unknown field `x`" and "missing
/// field `x`"; other messages quote values ("invalid type: integer `12`"), not fields.
fn field_named_in(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("missing field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::catalog::{Channel, IdentityCredential, VerificationMethod};
    use crate::domain::test_support::{principal, region, sample};

    /// The first side of a sample service item that `keep` accepts.
    fn service_side(keep: impl Fn(&StandardLocalPart) -> bool) -> StandardLocalPart {
        sample()
            .standard_items
            .iter()
            .flat_map(|i| i.local_parts.iter())
            .find(|p| keep(p))
            .cloned()
            .expect("a matching service-item side")
    }

    fn tianjin_part() -> RecognitionLocalPart {
        sample()
            .recognition_items
            .iter()
            .find(|i| i.code == "RI-CON-002")
            .and_then(|i| i.local_parts.iter().find(|p| p.region.as_str() == "TJ"))
            .cloned()
            .expect("RI-CON-002 has a Tianjin side")
    }

    #[test]
    fn free_text_holds_at_most_the_field_limit() {
        assert_eq!(
            check_text_length("comment", &"意".repeat(MAX_FIELD_CHARS)),
            Ok(())
        );
        assert_eq!(check_text_length("comment", ""), Ok(()));
        assert_eq!(
            check_text_length("comment", &"意".repeat(MAX_FIELD_CHARS + 1)),
            Err(InvalidEdit::one(
                "comment",
                "is longer than 2000 characters"
            ))
        );
    }

    #[test]
    fn only_an_editor_of_the_region_itself_may_edit_its_side() {
        let tj = region("TJ");
        assert_eq!(
            authorize_local_edit(&principal("TJ", &[Role::Editor]), &tj),
            Ok(())
        );
        assert_eq!(
            authorize_local_edit(&principal("BJ", &[Role::Editor, Role::Admin]), &tj),
            Err(Refusal::OtherRegion {
                own: region("BJ"),
                target: tj.clone()
            })
        );
        let refusal = authorize_local_edit(&principal("TJ", &[Role::Approver]), &tj).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::MissingRole {
                needed: Role::Editor,
                held: vec![Role::Approver]
            }
        );
        assert_eq!(
            refusal.to_string(),
            "this action needs the `editor` role; the token grants `approver`"
        );
        assert_eq!(
            authorize_local_edit(&principal("TJ", &[]), &tj)
                .unwrap_err()
                .to_string(),
            "this action needs the `editor` role; the token grants no role"
        );
        assert_eq!(
            Refusal::OtherRegion {
                own: region("BJ"),
                target: tj
            }
            .to_string(),
            "a token of BJ cannot change TJ's side; each region edits only its own"
        );
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names_and_null_clears() {
        let current = tianjin_part();
        let edited = edited_local_part(
            &current,
            EditMethod::MergePatch,
            &json!({"contact": "022-12345678", "notes": null}),
        )
        .expect("valid patch");
        assert_eq!(edited.contact.as_deref(), Some("022-12345678"));
        assert_eq!(edited.notes, None);
        assert_eq!(
            RecognitionLocalPart {
                contact: current.contact.clone(),
                notes: current.notes.clone(),
                ..edited
            },
            current
        );
    }

    #[test]
    fn a_replacement_empties_what_it_leaves_out_and_keeps_the_region() {
        let current = tianjin_part();
        let edited = edited_local_part(
            &current,
            EditMethod::Replace,
            &json!({"accepting_department": "天津市政务服务办公室"}),
        )
        .expect("valid replacement");
        assert_eq!(
            edited,
            RecognitionLocalPart {
                region: region("TJ"),
                local_code: None,
                issuing_department: None,
                accepting_department: Some("天津市政务服务办公室".into()),
                contact: None,
                online_url: None,
                notes: None,
                verification: None,
            }
        );
    }

    #[test]
    fn server_owned_unknown_and_mistyped_fields_are_refused_by_name() {
        let current = tianjin_part();
        for method in [EditMethod::Replace, EditMethod::MergePatch] {
            let owned = edited_local_part(&current, method, &json!({"region": "BJ", "version": 9}))
                .unwrap_err();
            assert_eq!(
                owned.problems,
                vec![
                    (
                        "region".to_owned(),
                        "is set by the server and cannot be changed".to_owned()
                    ),
                    (
                        "version".to_owned(),
                        "is set by the server and cannot be changed".to_owned()
                    ),
                ]
            );
            let unknown =
                edited_local_part(&current, method, &json!({"contacts": "x"})).unwrap_err();
            assert_eq!(unknown.problems.len(), 1);
            assert_eq!(unknown.problems[0].0, "contacts");
            assert!(
                unknown.problems[0]
                    .1
                    .starts_with("unknown field `contacts`")
            );
            let mistyped =
                edited_local_part(&current, method, &json!({"contact": 12})).unwrap_err();
            assert_eq!(mistyped.problems[0].0, "body");
            assert!(
                mistyped.problems[0].1.contains("invalid type"),
                "{mistyped:?}"
            );
            let not_object = edited_local_part(&current, method, &json!([1])).unwrap_err();
            assert_eq!(
                not_object.problems,
                vec![(
                    "body".to_owned(),
                    "the body must be a JSON object".to_owned()
                )]
            );
        }
    }

    #[test]
    fn the_rules_of_the_part_and_text_lengths_hold_for_edits() {
        let current = tianjin_part();
        let lookup_without_url = edited_local_part(
            &current,
            EditMethod::MergePatch,
            &json!({"verification": {"method": VerificationMethod::OnlineLookup.as_str()}}),
        )
        .unwrap_err();
        assert_eq!(
            lookup_without_url.problems,
            vec![(
                "body".to_owned(),
                "an https lookup_url goes with online_lookup, and only with it".to_owned()
            )]
        );
        let long = "长".repeat(MAX_FIELD_CHARS + 1);
        let too_long = edited_local_part(
            &current,
            EditMethod::MergePatch,
            &json!({"notes": long, "accepting_department": "长".repeat(MAX_FIELD_CHARS)}),
        )
        .unwrap_err();
        assert_eq!(
            too_long.problems,
            vec![(
                "notes".to_owned(),
                format!("is longer than {MAX_FIELD_CHARS} characters")
            )]
        );
        let huge = edited_local_part(
            &service_side(|_| true),
            EditMethod::MergePatch,
            &json!({"time_limit_days": 2_147_483_648_u64}),
        )
        .unwrap_err();
        assert_eq!(
            huge.problems,
            vec![(
                "time_limit_days".to_owned(),
                "must be at most 2147483647".to_owned()
            )]
        );
        let largest = edited_local_part(
            &service_side(|_| true),
            EditMethod::MergePatch,
            &json!({"time_limit_days": 2_147_483_647_u64}),
        )
        .expect("the largest 32-bit count is accepted");
        assert_eq!(largest.time_limit_days, Some(2_147_483_647));
        let in_arrays = edited_local_part(
            &service_side(|_| true),
            EditMethod::MergePatch,
            &json!({
                "pilot_zones": ["片区", "区".repeat(MAX_FIELD_CHARS + 1)],
                "materials": [{"name_zh": "长".repeat(MAX_FIELD_CHARS + 1), "name_en": "Form", "form": "original", "copies": 1, "mandatory": true}],
            }),
        )
        .unwrap_err();
        assert_eq!(
            in_arrays.problems,
            vec![
                (
                    "pilot_zones[1]".to_owned(),
                    format!("is longer than {MAX_FIELD_CHARS} characters")
                ),
                (
                    "materials[0].name_zh".to_owned(),
                    format!("is longer than {MAX_FIELD_CHARS} characters")
                ),
            ]
        );
        let standard = service_side(|p| p.channels.is_empty());
        let terminal_without_identity = edited_local_part(
            &standard,
            EditMethod::MergePatch,
            &json!({"channels": [Channel::SelfServiceTerminal.as_str()]}),
        )
        .unwrap_err();
        assert_eq!(
            terminal_without_identity.problems,
            vec![(
                "body".to_owned(),
                "terminal_identity is required with the self_service_terminal channel, and only with it"
                    .to_owned()
            )]
        );
        let with_identity = edited_local_part(
            &standard,
            EditMethod::MergePatch,
            &json!({
                "channels": [Channel::SelfServiceTerminal.as_str()],
                "terminal_identity": [IdentityCredential::SocialSecurityCard.as_str()]
            }),
        )
        .expect("valid");
        assert_eq!(with_identity.channels, vec![Channel::SelfServiceTerminal]);
        assert_eq!(with_identity.region, standard.region);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // RFC 7396, appendix A (a selection).
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!(["a", "b"]), json!({"a": "b"}), json!({"a": "b"})),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }
}
