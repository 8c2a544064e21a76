//! The 四同一互 check: does each region implement a standard item with the same name,
//! the same acceptance conditions, the same materials and the same time limit, and does
//! it recognise results issued elsewhere? Where not, the local part is a deviation (差异).

use serde::Serialize;
use utoipa::ToSchema;

use std::cmp::Ordering;

use super::catalog::{
    ImplementationStatus, Material, MaterialForm, MaterialSource, StandardItem, StandardLocalPart,
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

text_enum! {
    /// Which way a difference leans for the applicant. The programme praises a region
    /// that is more convenient than the standard and must fix one that is stricter.
    pub enum Direction {
        /// More materials, a heavier way to supply one, a longer time limit, results
        /// of the other regions not recognised: to be fixed.
        Stricter = "stricter",
        /// Fewer materials, a lighter way to supply one, a shorter time limit.
        MoreConvenient = "more_convenient",
        /// Stricter in one respect and more convenient in another.
        Mixed = "mixed",
        /// Different without changing the applicant's burden (a local name, an optional
        /// extra material).
        Neutral = "neutral",
        /// Cannot be judged from the data (reworded acceptance conditions): a person
        /// must read both texts.
        Undetermined = "undetermined",
    }
}

impl Direction {
    /// The direction of several changes taken together.
    fn combine(parts: impl IntoIterator<Item = Direction>) -> Direction {
        let (mut stricter, mut easier) = (false, false);
        for part in parts {
            match part {
                Self::Stricter => stricter = true,
                Self::MoreConvenient => easier = true,
                Self::Mixed => (stricter, easier) = (true, true),
                Self::Neutral | Self::Undetermined => {}
            }
        }
        match (stricter, easier) {
            (true, true) => Self::Mixed,
            (true, false) => Self::Stricter,
            (false, true) => Self::MoreConvenient,
            (false, false) => Self::Neutral,
        }
    }

    /// A heavier local burden is stricter, a lighter one more convenient.
    fn of(local_burden_compared_with_standard: Ordering) -> Direction {
        match local_burden_compared_with_standard {
            Ordering::Greater => Self::Stricter,
            Ordering::Less => Self::MoreConvenient,
            Ordering::Equal => Self::Neutral,
        }
    }

    /// Whether the region has something to fix here.
    pub fn is_stricter(self) -> bool {
        matches!(self, Self::Stricter | Self::Mixed)
    }

    /// Whether the region does better than the standard here.
    pub fn is_more_convenient(self) -> bool {
        matches!(self, Self::MoreConvenient | Self::Mixed)
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
        /// Always `neutral`: a name does not change the burden.
        direction: Direction,
    },
    /// The region states its own acceptance conditions.
    Conditions {
        /// Shared standard conditions.
        standard: String,
        /// The region's conditions.
        local: String,
        /// Always `undetermined`: reworded conditions must be read by a person.
        direction: Direction,
    },
    /// The region's materials list differs.
    Materials {
        /// Standard materials the region does not ask for (by Chinese name).
        missing: Vec<String>,
        /// Materials the region asks for beyond the standard.
        extra: Vec<String>,
        /// Materials asked for differently (how satisfied, form, copies or whether
        /// mandatory).
        changed: Vec<MaterialChange>,
        /// All of the above taken together: a missing mandatory material is more
        /// convenient, an extra one the applicant must supply is stricter.
        direction: Direction,
    },
    /// The region promises a different time limit.
    TimeLimit {
        /// Shared standard time limit, working days.
        standard_days: u32,
        /// The region's time limit, working days.
        local_days: u32,
        /// Longer is stricter, shorter more convenient.
        direction: Direction,
    },
    /// The region does not recognise results issued by the other regions.
    ResultRecognition {
        /// Always `false` when reported.
        result_recognised: bool,
        /// Always `stricter`.
        direction: Direction,
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

    /// Which way the difference leans for the applicant.
    pub fn direction(&self) -> Direction {
        match self {
            Self::Name { direction, .. }
            | Self::Conditions { direction, .. }
            | Self::Materials { direction, .. }
            | Self::TimeLimit { direction, .. }
            | Self::ResultRecognition { direction, .. } => *direction,
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
    /// How the standard has it satisfied.
    pub standard_satisfied_by: MaterialSource,
    /// How the region has it satisfied.
    pub local_satisfied_by: MaterialSource,
    /// Whether the region's way is heavier or lighter for the applicant.
    pub direction: Direction,
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
    /// Whether some difference is stricter than the standard (to be fixed).
    pub stricter: bool,
    /// Whether some difference is more convenient than the standard.
    pub more_convenient: bool,
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
                stricter: differences.iter().any(|d| d.direction().is_stricter()),
                more_convenient: differences
                    .iter()
                    .any(|d| d.direction().is_more_convenient()),
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
            direction: Direction::Neutral,
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
            direction: Direction::Undetermined,
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
            direction: Direction::of(local_days.cmp(&item.time_limit_days)),
        });
    }
    if !part.result_recognised {
        differences.push(Difference::ResultRecognition {
            result_recognised: false,
            direction: Direction::Stricter,
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
    let missing: Vec<&Material> = standard
        .iter()
        .filter(|m| find(local, &m.name_zh).is_none())
        .collect();
    let extra: Vec<&Material> = local
        .iter()
        .filter(|m| find(standard, &m.name_zh).is_none())
        .collect();
    let changed: Vec<MaterialChange> = standard
        .iter()
        .filter_map(|s| {
            let l = find(local, &s.name_zh)?;
            (s.form != l.form
                || s.copies != l.copies
                || s.mandatory != l.mandatory
                || s.satisfied_by != l.satisfied_by)
                .then(|| MaterialChange {
                    name_zh: s.name_zh.clone(),
                    standard_form: s.form,
                    local_form: l.form,
                    standard_copies: s.copies,
                    local_copies: l.copies,
                    standard_mandatory: s.mandatory,
                    local_mandatory: l.mandatory,
                    standard_satisfied_by: s.satisfied_by,
                    local_satisfied_by: l.satisfied_by,
                    direction: change_direction(s, &l),
                })
        })
        .collect();
    if missing.is_empty() && extra.is_empty() && changed.is_empty() {
        return None;
    }
    // A material is a burden when it is mandatory and something must be handed in.
    let burden = |m: &Material| m.mandatory && m.satisfied_by != MaterialSource::Exempt;
    let direction = Direction::combine(
        missing
            .iter()
            .map(|m| Direction::of(Ordering::Less).only_if(burden(m)))
            .chain(
                extra
                    .iter()
                    .map(|m| Direction::of(Ordering::Greater).only_if(burden(m))),
            )
            .chain(changed.iter().map(|c| c.direction)),
    );
    Some(Difference::Materials {
        missing: missing.iter().map(|m| m.name_zh.clone()).collect(),
        extra: extra.iter().map(|m| m.name_zh.clone()).collect(),
        changed,
        direction,
    })
}

/// How much harder the local way of asking for a material is: whether it is mandatory,
/// how it is satisfied and, when the applicant supplies it on both sides, the form and
/// the number of copies.
fn change_direction(standard: &Material, local: &Material) -> Direction {
    let form_weight = |form: MaterialForm| match form {
        MaterialForm::Electronic => 0,
        MaterialForm::Copy => 1,
        MaterialForm::Original => 2,
        MaterialForm::OriginalAndCopy => 3,
    };
    let mut parts = vec![
        Direction::of(local.mandatory.cmp(&standard.mandatory)),
        Direction::of(local.satisfied_by.cmp(&standard.satisfied_by)),
    ];
    let both_supplied = [standard, local]
        .iter()
        .all(|m| m.satisfied_by == MaterialSource::Applicant);
    if both_supplied {
        parts.push(Direction::of(
            form_weight(local.form).cmp(&form_weight(standard.form)),
        ));
        parts.push(Direction::of(local.copies.cmp(&standard.copies)));
    }
    Direction::combine(parts)
}

impl Direction {
    fn only_if(self, counts: bool) -> Direction {
        if counts { self } else { Self::Neutral }
    }
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
            satisfied_by: MaterialSource::Applicant,
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
            superseded_by: None,
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
                    standard_satisfied_by: MaterialSource::Applicant,
                    local_satisfied_by: MaterialSource::Applicant,
                    // Optional and a copy, but two of them.
                    direction: Direction::Mixed,
                }],
                direction: Direction::Mixed,
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
                direction,
            } => {
                // One mandatory material fewer, one more: mixed.
                assert_eq!(*direction, Direction::Mixed);
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
                local_days: 15,
                direction: Direction::Stricter,
            }
        );
        let directions: Vec<Direction> = report
            .differences
            .iter()
            .map(Difference::direction)
            .collect();
        assert_eq!(
            directions,
            [
                Direction::Neutral,
                Direction::Undetermined,
                Direction::Mixed,
                Direction::Stricter,
                Direction::Stricter,
            ]
        );
        assert!(report.stricter && report.more_convenient);
    }

    fn materials_direction(local: Vec<Material>) -> (Direction, Vec<Direction>) {
        let mut part = local_part_with(local);
        part.region = RegionCode::parse("TJ").unwrap();
        match &check_item(&standard(vec![part]))[0].differences[..] {
            [
                Difference::Materials {
                    direction, changed, ..
                },
            ] => (*direction, changed.iter().map(|c| c.direction).collect()),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn local_part_with(materials: Vec<Material>) -> StandardLocalPart {
        let mut part = local("TJ");
        part.materials = Some(materials);
        part
    }

    fn with(mut m: Material, change: impl FnOnce(&mut Material)) -> Material {
        change(&mut m);
        m
    }

    #[test]
    fn a_shorter_time_limit_is_more_convenient_and_a_longer_one_stricter() {
        let mut quicker = local("TJ");
        quicker.time_limit_days = Some(7);
        let report = &check_item(&standard(vec![quicker]))[0];
        assert_eq!(report.differences[0].direction(), Direction::MoreConvenient);
        assert!(!report.conforms && !report.stricter && report.more_convenient);
        let mut slower = local("TJ");
        slower.time_limit_days = Some(11);
        let report = &check_item(&standard(vec![slower]))[0];
        assert_eq!(report.differences[0].direction(), Direction::Stricter);
        assert!(report.stricter && !report.more_convenient);
    }

    #[test]
    fn demanding_from_the_applicant_what_the_standard_verifies_from_data_is_stricter() {
        let application = material("申请书", MaterialForm::Original, 1);
        let licence = material("营业执照", MaterialForm::Copy, 1);
        let verified = with(licence.clone(), |m| {
            m.satisfied_by = MaterialSource::SharedData
        });
        let mut item = standard(vec![local_part_with(vec![
            application.clone(),
            licence.clone(),
        ])]);
        item.materials = vec![application.clone(), verified.clone()];
        let report = &check_item(&item)[0];
        assert!(report.stricter && !report.more_convenient);
        match &report.differences[0] {
            Difference::Materials {
                changed, direction, ..
            } => {
                assert_eq!(*direction, Direction::Stricter);
                assert_eq!(
                    (
                        changed[0].standard_satisfied_by,
                        changed[0].local_satisfied_by
                    ),
                    (MaterialSource::SharedData, MaterialSource::Applicant)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // The other way round, and each lighter way of satisfying it, is more convenient.
        for lighter in [
            MaterialSource::Exempt,
            MaterialSource::SharedData,
            MaterialSource::Commitment,
        ] {
            let (direction, changes) = materials_direction(vec![
                application.clone(),
                with(licence.clone(), |m| m.satisfied_by = lighter),
            ]);
            assert_eq!(
                (direction, changes),
                (Direction::MoreConvenient, vec![Direction::MoreConvenient]),
                "{lighter}"
            );
        }
        // Form and copies do not count when nothing is handed in.
        let (direction, _) = materials_direction(vec![
            application.clone(),
            with(licence.clone(), |m| {
                m.satisfied_by = MaterialSource::SharedData;
                m.form = MaterialForm::OriginalAndCopy;
                m.copies = 3;
            }),
        ]);
        assert_eq!(direction, Direction::MoreConvenient);
    }

    #[test]
    fn heavier_forms_more_copies_and_mandatory_materials_are_stricter() {
        let application = material("申请书", MaterialForm::Original, 1);
        let licence = material("营业执照", MaterialForm::Copy, 1);
        let stricter = [
            with(licence.clone(), |m| m.form = MaterialForm::Original),
            with(licence.clone(), |m| m.form = MaterialForm::OriginalAndCopy),
            with(licence.clone(), |m| m.copies = 2),
        ];
        for local in stricter {
            let (direction, _) = materials_direction(vec![application.clone(), local.clone()]);
            assert_eq!(direction, Direction::Stricter, "{local:?}");
        }
        let lighter = [
            with(licence.clone(), |m| m.form = MaterialForm::Electronic),
            with(licence.clone(), |m| m.mandatory = false),
        ];
        for local in lighter {
            let (direction, _) = materials_direction(vec![application.clone(), local.clone()]);
            assert_eq!(direction, Direction::MoreConvenient, "{local:?}");
        }
        // Dropping the application form altogether is more convenient; an extra
        // mandatory material stricter; an extra optional or exempt one changes nothing.
        assert_eq!(
            materials_direction(vec![licence.clone()]).0,
            Direction::MoreConvenient
        );
        let extra = material("健康证明", MaterialForm::Original, 1);
        let all = vec![application.clone(), licence.clone()];
        let plus = |m: Material| [all.clone(), vec![m]].concat();
        assert_eq!(
            materials_direction(plus(extra.clone())).0,
            Direction::Stricter
        );
        assert_eq!(
            materials_direction(plus(with(extra.clone(), |m| m.mandatory = false))).0,
            Direction::Neutral
        );
        assert_eq!(
            materials_direction(plus(
                with(extra, |m| m.satisfied_by = MaterialSource::Exempt)
            ))
            .0,
            Direction::Neutral
        );
    }

    #[test]
    fn directions_combine_into_mixed_only_when_both_ways_occur() {
        use Direction::*;
        assert_eq!(Direction::combine([]), Neutral);
        assert_eq!(Direction::combine([Neutral, Undetermined]), Neutral);
        assert_eq!(Direction::combine([Stricter, Neutral]), Stricter);
        assert_eq!(
            Direction::combine([MoreConvenient, Neutral]),
            MoreConvenient
        );
        assert_eq!(Direction::combine([Stricter, MoreConvenient]), Mixed);
        assert_eq!(Direction::combine([Mixed]), Mixed);
        assert!(Mixed.is_stricter() && Mixed.is_more_convenient());
        assert!(!Neutral.is_stricter() && !Undetermined.is_more_convenient());
    }
}
