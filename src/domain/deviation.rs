//! The 四同一互 check: does each region implement a standard item with the same name,
//! the same acceptance conditions, the same materials and the same time limit, and does
//! it recognise results issued elsewhere? Where not, the local part is a deviation (差异).

use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::{
    ImplementationStatus, Material, MaterialForm, StandardItem, StandardLocalPart,
};
use super::region::RegionCode;
use super::text_enum;

text_enum! {
    /// One of the five yardsticks of 四同一互.
    pub enum Aspect {
        /// 同名称: same name.
        Name = "name",
        /// 同受理条件: same acceptance conditions.
        Conditions = "conditions",
        /// 同申请材料: same materials.
        Materials = "materials",
        /// 同办理时限: same time limit.
        TimeLimit = "time_limit",
        /// 结果互认: results of the other regions recognised.
        ResultRecognition = "result_recognition",
    }
}

/// How one aspect of a local part differs from the shared standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "aspect", rename_all = "snake_case")]
pub enum Difference {
    /// The region uses its own name.
    Name {
        /// Shared standard name.
        standard: String,
        /// The region's name.
        local: String,
    },
    /// The region states its own acceptance conditions.
    Conditions {
        /// Shared standard conditions.
        standard: String,
        /// The region's conditions.
        local: String,
    },
    /// The region's materials list differs.
    Materials {
        /// Standard materials the region does not ask for (by Chinese name).
        missing: Vec<String>,
        /// Materials the region asks for beyond the standard.
        extra: Vec<String>,
        /// Materials asked for differently (form, copies or whether mandatory).
        changed: Vec<MaterialChange>,
    },
    /// The region promises a different time limit.
    TimeLimit {
        /// Shared standard time limit, working days.
        standard_days: u32,
        /// The region's time limit, working days.
        local_days: u32,
    },
    /// The region does not recognise results issued by the other regions.
    ResultRecognition {
        /// Always `false` when reported.
        result_recognised: bool,
    },
}

impl Difference {
    /// Which aspect this difference concerns.
    pub fn aspect(&self) -> Aspect {
        match self {
            Self::Name { .. } => Aspect::Name,
            Self::Conditions { .. } => Aspect::Conditions,
            Self::Materials { .. } => Aspect::Materials,
            Self::TimeLimit { .. } => Aspect::TimeLimit,
            Self::ResultRecognition { .. } => Aspect::ResultRecognition,
        }
    }
}

/// A material present in both lists but asked for differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MaterialChange {
    /// Material name (Chinese).
    pub name_zh: String,
    /// Standard form.
    pub standard_form: MaterialForm,
    /// Local form.
    pub local_form: MaterialForm,
    /// Standard number of copies.
    pub standard_copies: u32,
    /// Local number of copies.
    pub local_copies: u32,
    /// Whether the standard requires it.
    pub standard_mandatory: bool,
    /// Whether the region requires it.
    pub local_mandatory: bool,
}

/// One region's conformity with a standard item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegionConformity {
    /// The region.
    pub region: RegionCode,
    /// How far the region has implemented the item: `conforms` compares what it
    /// publishes with the standard, whether or not it is in service yet.
    pub implementation_status: ImplementationStatus,
    /// Whether the region matches the standard on every aspect.
    pub conforms: bool,
    /// The differences, one per aspect that differs.
    pub differences: Vec<Difference>,
}

/// Compares every local part of `item` with its shared standard.
pub fn check_item(item: &StandardItem) -> Vec<RegionConformity> {
    item.local_parts
        .iter()
        .map(|part| {
            let differences = compare(item, part);
            RegionConformity {
                region: part.region.clone(),
                implementation_status: part.implementation_status,
                conforms: differences.is_empty(),
                differences,
            }
        })
        .collect()
}

fn compare(item: &StandardItem, part: &StandardLocalPart) -> Vec<Difference> {
    let mut differences = Vec::new();
    if let Some(local) = part
        .name_zh
        .as_ref()
        .filter(|local| normalise(local) != normalise(&item.name_zh))
    {
        differences.push(Difference::Name {
            standard: item.name_zh.clone(),
            local: local.clone(),
        });
    }
    if let Some(local) = part
        .conditions_zh
        .as_ref()
        .filter(|local| normalise(local) != normalise(&item.conditions_zh))
    {
        differences.push(Difference::Conditions {
            standard: item.conditions_zh.clone(),
            local: local.clone(),
        });
    }
    if let Some(local) = &part.materials
        && let Some(difference) = compare_materials(&item.materials, local)
    {
        differences.push(difference);
    }
    if let Some(local_days) = part
        .time_limit_days
        .filter(|days| *days != item.time_limit_days)
    {
        differences.push(Difference::TimeLimit {
            standard_days: item.time_limit_days,
            local_days,
        });
    }
    if !part.result_recognised {
        differences.push(Difference::ResultRecognition {
            result_recognised: false,
        });
    }
    differences
}

fn compare_materials(standard: &[Material], local: &[Material]) -> Option<Difference> {
    let find = |list: &'_ [Material], name: &str| {
        list.iter()
            .find(|m| normalise(&m.name_zh) == normalise(name))
            .cloned()
    };
    let missing: Vec<String> = standard
        .iter()
        .filter(|m| find(local, &m.name_zh).is_none())
        .map(|m| m.name_zh.clone())
        .collect();
    let extra: Vec<String> = local
        .iter()
        .filter(|m| find(standard, &m.name_zh).is_none())
        .map(|m| m.name_zh.clone())
        .collect();
    let changed: Vec<MaterialChange> = standard
        .iter()
        .filter_map(|s| {
            let l = find(local, &s.name_zh)?;
            (s.form != l.form || s.copies != l.copies || s.mandatory != l.mandatory).then(|| {
                MaterialChange {
                    name_zh: s.name_zh.clone(),
                    standard_form: s.form,
                    local_form: l.form,
                    standard_copies: s.copies,
                    local_copies: l.copies,
                    standard_mandatory: s.mandatory,
                    local_mandatory: l.mandatory,
                }
            })
        })
        .collect();
    (!missing.is_empty() || !extra.is_empty() || !changed.is_empty()).then_some(
        Difference::Materials {
            missing,
            extra,
            changed,
        },
    )
}

/// Texts that differ only in white space or full-width/half-width forms are the same.
fn normalise(text: &str) -> String {
    super::search::fold(text).split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::catalog::{EntryStatus, StandardItemType};

    fn material(name: &str, form: MaterialForm, copies: u32) -> Material {
        Material {
            name_zh: name.into(),
            name_en: name.into(),
            form,
            copies,
            mandatory: true,
        }
    }

    fn local(region: &str) -> StandardLocalPart {
        StandardLocalPart {
            region: RegionCode::parse(region).unwrap(),
            local_code: None,
            department: None,
            online_url: None,
            service_hall: None,
            pilot_zones: vec![],
            implementation_status: ImplementationStatus::Implemented,
            name_zh: None,
            conditions_zh: None,
            materials: None,
            time_limit_days: None,
            result_recognised: true,
            channels: vec![],
            terminal_identity: vec![],
        }
    }

    fn standard(local_parts: Vec<StandardLocalPart>) -> StandardItem {
        StandardItem {
            code: "SS-T-001".into(),
            version: 1,
            national_code: None,
            name_zh: "食品经营许可".into(),
            name_en: "Food business licence".into(),
            aliases: vec![],
            item_type: StandardItemType::AdministrativeLicensing,
            sector: "market_regulation".into(),
            conditions_zh: "具有经营场所".into(),
            conditions_en: "Has premises".into(),
            materials: vec![
                material("申请书", MaterialForm::Original, 1),
                material("营业执照", MaterialForm::Copy, 1),
            ],
            time_limit_days: 10,
            statutory_time_limit_days: Some(20),
            fee_zh: "不收费".into(),
            fee_en: "Free".into(),
            legal_basis: "x".into(),
            process_steps: vec![],
            result_document_zh: "许可证".into(),
            result_document_en: "Licence".into(),
            status: EntryStatus::Active,
            batch: "B".into(),
            last_verified_on: "2025-01-01".parse().unwrap(),
            programmes: vec![],
            local_parts,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_changed_material_reports_both_sides_the_right_way_round() {
        let mut part = local("HE");
        let mut optional_copy = material("申请书", MaterialForm::Copy, 2);
        optional_copy.mandatory = false;
        part.materials = Some(vec![
            optional_copy,
            material("营业执照", MaterialForm::Copy, 1),
        ]);
        let report = check_item(&standard(vec![part]));
        assert_eq!(
            report[0].differences,
            vec![Difference::Materials {
                missing: vec![],
                extra: vec![],
                changed: vec![MaterialChange {
                    name_zh: "申请书".into(),
                    standard_form: MaterialForm::Original,
                    local_form: MaterialForm::Copy,
                    standard_copies: 1,
                    local_copies: 2,
                    standard_mandatory: true,
                    local_mandatory: false,
                }],
            }]
        );
    }

    #[test]
    fn a_local_part_without_overrides_conforms() {
        let report = check_item(&standard(vec![local("BJ")]));
        assert!(report[0].conforms);
        assert!(report[0].differences.is_empty());
    }

    #[test]
    fn overrides_equal_to_the_standard_up_to_width_and_spacing_are_not_deviations() {
        let mut part = local("BJ");
        part.name_zh = Some("食品经营许可 ".into());
        part.time_limit_days = Some(10);
        part.materials = Some(vec![
            material("申请书", MaterialForm::Original, 1),
            material("营业执照", MaterialForm::Copy, 1),
        ]);
        assert!(check_item(&standard(vec![part]))[0].conforms);
    }

    #[test]
    fn each_aspect_that_differs_is_reported_with_both_values() {
        let mut part = local("HE");
        part.name_zh = Some("食品经营许可证核发".into());
        part.conditions_zh = Some("具有经营场所和冷链设备".into());
        part.materials = Some(vec![
            material("申请书", MaterialForm::Original, 2),
            material("法定代表人身份证明", MaterialForm::Copy, 1),
        ]);
        part.time_limit_days = Some(15);
        part.result_recognised = false;
        let report = &check_item(&standard(vec![part]))[0];
        assert!(!report.conforms);
        let aspects: Vec<Aspect> = report.differences.iter().map(Difference::aspect).collect();
        assert_eq!(aspects, Aspect::ALL);
        match &report.differences[2] {
            Difference::Materials {
                missing,
                extra,
                changed,
            } => {
                assert_eq!(missing, &["营业执照"]);
                assert_eq!(extra, &["法定代表人身份证明"]);
                assert_eq!(changed.len(), 1);
                assert_eq!(
                    (changed[0].standard_copies, changed[0].local_copies),
                    (1, 2)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            report.differences[3],
            Difference::TimeLimit {
                standard_days: 10,
                local_days: 15
            }
        );
    }
}
