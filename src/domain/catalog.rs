//! Catalog entries: recognition items (互认事项) with their arrangements (互认安排) and
//! local parts (本地实施信息), standard items (同事同标事项) with local implementations,
//! scenarios (互认场景), and the reference data they point to.
//!
//! The same types describe an entry in the API and in import files (the sample
//! catalog is one); [`validate_catalog`] checks what the types alone cannot.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::region::{Region, RegionCode};
use super::text_enum;

text_enum! {
    /// What kind of credential a recognition item is.
    pub enum ItemKind {
        /// 个人资格: a person's qualification (e.g. registered constructor).
        PersonalQualification = "personal_qualification",
        /// 企业资质: an enterprise qualification.
        EnterpriseQualification = "enterprise_qualification",
        /// 证照: a licence or certificate.
        LicenceCertificate = "licence_certificate",
        /// 检验检测结果: a test or inspection result.
        TestResult = "test_result",
        /// 医疗检查检验结果: a medical examination or test result.
        MedicalResult = "medical_result",
        /// 标准: a technical standard adopted in common.
        Standard = "standard",
        /// 执法处理结果: the outcome of an enforcement case (执法依据、处理结果互认).
        EnforcementOutcome = "enforcement_outcome",
        /// CA数字证书: a digital certificate, accepted across platforms.
        DigitalCertificate = "digital_certificate",
    }
}

text_enum! {
    /// How the accepting side checks a credential from another region.
    pub enum VerificationMethod {
        /// 电子证照共享: through the e-licence sharing interface.
        ELicenceSharing = "e_licence_sharing",
        /// 在线核验: an online lookup at `lookup_url`.
        OnlineLookup = "online_lookup",
        /// 查验纸质原件: the paper original is inspected.
        PaperOriginal = "paper_original",
        /// 跨平台互认: the certificate logs in to the listed platforms directly.
        PlatformLogin = "platform_login",
    }
}

/// How a region, accepting a credential, checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The method.
    pub method: VerificationMethod,
    /// Where to look the credential up (required for `online_lookup`).
    #[serde(default)]
    pub lookup_url: Option<String>,
    /// Platforms that accept the credential (required for `platform_login`).
    #[serde(default)]
    pub platforms: Vec<String>,
}

text_enum! {
    /// Life-cycle status of an entry.
    pub enum EntryStatus {
        /// In the catalog and in effect.
        Active = "active",
        /// Temporarily suspended by joint decision.
        Suspended = "suspended",
        /// Retired (withdrawn from the programme); kept for history.
        Retired = "retired",
    }
}

text_enum! {
    /// How an accepting region recognises another region's credential (互认方式).
    pub enum RecognitionMode {
        /// 直接认可: accepted as is.
        Direct = "direct",
        /// 备案认可: accepted after filing with the accepting department.
        Filing = "filing",
        /// 换证: exchanged for the accepting region's own certificate.
        Exchange = "exchange",
        /// 附条件认可: accepted when the stated conditions are met.
        Conditional = "conditional",
    }
}

text_enum! {
    /// Status of one arrangement period.
    pub enum ArrangementStatus {
        /// In force during its effective period.
        Active = "active",
        /// Suspended: recognition is paused.
        Suspended = "suspended",
        /// Revoked: recognition was withdrawn.
        Revoked = "revoked",
    }
}

text_enum! {
    /// Type of a government service item (事项类型).
    pub enum StandardItemType {
        /// 行政许可
        AdministrativeLicensing = "administrative_licensing",
        /// 行政确认
        AdministrativeConfirmation = "administrative_confirmation",
        /// 行政备案
        AdministrativeFiling = "administrative_filing",
        /// 公共服务
        PublicService = "public_service",
        /// 行政给付
        AdministrativePayment = "administrative_payment",
        /// 其他行政权力
        OtherPower = "other_power",
    }
}

text_enum! {
    /// The form in which an application material is submitted.
    pub enum MaterialForm {
        /// 原件
        Original = "original",
        /// 复印件
        Copy = "copy",
        /// 电子材料
        Electronic = "electronic",
        /// 原件和复印件
        OriginalAndCopy = "original_and_copy",
    }
}

text_enum! {
    /// How a material is satisfied, from the lightest burden on the applicant to the
    /// heaviest.
    pub enum MaterialSource {
        /// 免提交: not required at all.
        Exempt = "exempt",
        /// 数据核验: the department verifies it from shared data; the applicant supplies
        /// nothing.
        SharedData = "shared_data",
        /// 告知承诺: a signed commitment replaces it.
        Commitment = "commitment",
        /// 申请人提交: supplied by the applicant, in the stated form.
        Applicant = "applicant",
    }
}

text_enum! {
    /// How far a region has implemented a standard item.
    pub enum ImplementationStatus {
        /// Implemented and available.
        Implemented = "implemented",
        /// Being implemented.
        InProgress = "in_progress",
        /// Not started.
        NotStarted = "not_started",
        /// Suspended in this region.
        Suspended = "suspended",
    }
}

text_enum! {
    /// A kind of catalog entry, as a batch publishes it and a target counts it.
    pub enum EntryKind {
        /// 资质资格互认事项
        RecognitionItem = "recognition_item",
        /// 政务服务事项 with its shared standard (同事同标事项 when in that programme).
        StandardItem = "standard_item",
        /// 互认场景
        Scenario = "scenario",
    }
}

text_enum! {
    /// A way a region handles a service item (办理渠道).
    pub enum Channel {
        /// 全程网办: online from application to result.
        OnlineEndToEnd = "online_end_to_end",
        /// 自助终端: self-service terminals.
        SelfServiceTerminal = "self_service_terminal",
        /// 异地代收代办: a counter here accepts applications for another region.
        OffsiteCounter = "offsite_counter",
        /// 多地联办: handled jointly by the departments of several regions.
        JointHandling = "joint_handling",
    }
}

text_enum! {
    /// An identity credential a self-service terminal accepts.
    pub enum IdentityCredential {
        /// 居民身份证
        ResidentIdCard = "resident_id_card",
        /// 社会保障卡 (社保卡)
        SocialSecurityCard = "social_security_card",
        /// 电子社保码
        ElectronicSocialSecurityCode = "electronic_social_security_code",
    }
}

text_enum! {
    /// Where a target stands on a day.
    pub enum TargetState {
        /// The target value is reached.
        Met = "met",
        /// Not reached yet, and the deadline has not passed.
        Open = "open",
        /// Not reached by the deadline.
        Missed = "missed",
    }
}

/// The status an entry had on `day`: a suspension or retirement counts from its
/// `status_since` day (from the start when that day is not known); before it the
/// entry was active.
pub fn status_on(
    status: EntryStatus,
    status_since: Option<NaiveDate>,
    day: NaiveDate,
) -> EntryStatus {
    match status_since {
        Some(since) if day < since => EntryStatus::Active,
        _ => status,
    }
}

/// A service programme (e.g. 跨省通办) service items belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"code": "cross_province", "name_zh": "跨省通办", "name_en": "Cross-province services"}))]
pub struct Programme {
    /// Stable code used in filters.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A sector (领域), e.g. construction or health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"code": "construction", "name_zh": "住房城乡建设", "name_en": "Housing and construction"}))]
pub struct Sector {
    /// Stable code used in filters.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A published batch (批次) under an official document (文号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Batch code.
    #[schema(example = "JJJ-2024-01")]
    pub code: String,
    /// Official document number (文号).
    #[schema(example = "京津冀政服〔2024〕1号（示例）")]
    pub document_no: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Publication date.
    pub published_on: NaiveDate,
    /// The kinds of entry the document publishes; an entry can only cite a batch that
    /// publishes its kind.
    pub publishes: Vec<EntryKind>,
    /// The programmes whose memberships the document announces (codes from
    /// `/api/v1/programmes`).
    #[serde(default)]
    pub programmes: Vec<String>,
}

/// Recognition of one issuer region's credential by one accepting region over a
/// valid-time period; `effective_from` and `effective_to` are both inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Arrangement {
    /// Region that issued the credential.
    pub issued_in: RegionCode,
    /// Region where it is used (the accepting region).
    pub used_in: RegionCode,
    /// Recognition mode.
    pub mode: RecognitionMode,
    /// Conditions in Chinese (required for conditional and filing modes).
    pub conditions_zh: Option<String>,
    /// Conditions in English.
    pub conditions_en: Option<String>,
    /// First day in force.
    pub effective_from: NaiveDate,
    /// Last day in force; `null` means open-ended.
    pub effective_to: Option<NaiveDate>,
    /// Status of this period.
    pub status: ArrangementStatus,
}

impl Arrangement {
    /// Whether `day` falls inside the effective period.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }

    fn overlaps(&self, other: &Arrangement) -> bool {
        let ends_before = |a: &Arrangement, b: &Arrangement| {
            a.effective_to.is_some_and(|to| to < b.effective_from)
        };
        !(ends_before(self, other) || ends_before(other, self))
    }
}

/// A region's own data for a recognition item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionLocalPart {
    /// The region.
    pub region: RegionCode,
    /// The region's own code for this credential type.
    pub local_code: Option<String>,
    /// Department that issues the credential in this region.
    pub issuing_department: Option<String>,
    /// Department that accepts other regions' credentials here.
    pub accepting_department: Option<String>,
    /// Local contact (telephone).
    pub contact: Option<String>,
    /// Online service channel.
    pub online_url: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// How this region, accepting the credential from another region, checks it.
    #[serde(default)]
    pub verification: Option<Verification>,
}

/// A credential type the regions agree to recognise (资质资格互认事项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionItem {
    /// Stable registry code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// Entry version; every accepted change makes a new one.
    #[serde(default)]
    pub version: i64,
    /// Chinese name.
    #[schema(example = "二级建造师注册证书")]
    pub name_zh: String,
    /// English name.
    #[schema(example = "Grade II Registered Constructor Certificate")]
    pub name_en: String,
    /// Other names people search by.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Kind of credential.
    pub kind: ItemKind,
    /// Sector code (see `/api/v1/stats` for the list).
    #[schema(example = "construction")]
    pub sector: String,
    /// Legal basis (设定依据).
    pub legal_basis: String,
    /// Status of the whole item.
    pub status: EntryStatus,
    /// The day a `suspended` or `retired` status took effect; questions about earlier
    /// days are decided by the arrangements alone. `null` when active, or when the day
    /// is not known (the status then applies to every day).
    #[serde(default)]
    pub status_since: Option<NaiveDate>,
    /// Code of the batch the entry was published in.
    pub batch: String,
    /// When the entry was last checked against its sources.
    pub last_verified_on: NaiveDate,
    /// Participating regions.
    pub regions: Vec<RegionCode>,
    /// Recognition arrangements, per ordered pair and period.
    pub arrangements: Vec<Arrangement>,
    /// Each participating region's own data.
    pub local_parts: Vec<RecognitionLocalPart>,
    /// Suspensions of acceptance (暂停互认) an accepting region declared on its own, in
    /// the order recorded, lifted ones included. Set by the server, never imported or
    /// proposed.
    #[serde(default)]
    pub suspensions: Vec<AcceptanceSuspension>,
    /// When the registry last recorded a change to this entry.
    #[serde(default = "unix_epoch")]
    pub updated_at: DateTime<Utc>,
    /// The entry that replaces this retired one (取代), when there is one: a code of the
    /// same kind. Left out when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "RI-CON-003")]
    pub superseded_by: Option<String>,
}

/// A region's suspension of its own acceptance of an item (暂停互认): from credentials
/// of every issuing region or of one, from a day until it is lifted. The accepting
/// region's approver declares it alone, as the programme does by notice (a
/// verification interface down, an outbreak closing a route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceSuspension {
    /// Number of the suspension, unique in the registry.
    #[schema(example = 1)]
    pub id: i64,
    /// The accepting region that suspended.
    #[schema(value_type = String, example = "TJ")]
    pub used_in: RegionCode,
    /// Only credentials issued in this region; `null`: from every issuing region.
    #[schema(value_type = Option<String>, example = "HE")]
    pub issued_in: Option<RegionCode>,
    /// Why, as the notice says.
    #[schema(example = "电子证照核验接口升级维护")]
    pub reason: String,
    /// The first day acceptance is suspended.
    pub effective_from: NaiveDate,
    /// Who declared it (the approver's token subject).
    pub suspended_by: String,
    /// When the registry recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The first day acceptance is back; `null` while suspended.
    pub lifted_on: Option<NaiveDate>,
    /// Why it was lifted; `null` while suspended.
    pub lift_reason: Option<String>,
    /// Who lifted it; `null` while suspended.
    pub lifted_by: Option<String>,
}

impl AcceptanceSuspension {
    /// Whether it suspends acceptance in `used_in` of credentials issued in `issued_in`
    /// on `day`.
    pub fn covers(&self, issued_in: &RegionCode, used_in: &RegionCode, day: NaiveDate) -> bool {
        &self.used_in == used_in
            && self.issued_in.as_ref().is_none_or(|i| i == issued_in)
            && self.effective_from <= day
            && self.lifted_on.is_none_or(|lifted| day < lifted)
    }
}

/// One application material (申请材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Form of submission, when the applicant supplies it.
    pub form: MaterialForm,
    /// Number of copies.
    pub copies: u32,
    /// Whether the material is required.
    pub mandatory: bool,
    /// How the material is satisfied; `applicant` when not stated.
    #[serde(default = "supplied_by_applicant")]
    pub satisfied_by: MaterialSource,
}

fn supplied_by_applicant() -> MaterialSource {
    MaterialSource::Applicant
}

/// One step of the process (办理流程).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessStep {
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A region's implementation of a standard item. The `name_zh`, `conditions_zh`,
/// `materials` and `time_limit_days` fields are set only where the region departs
/// from the shared standard (a deviation, 差异).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardLocalPart {
    /// The region.
    pub region: RegionCode,
    /// Local item code.
    pub local_code: Option<String>,
    /// Implementing department.
    pub department: Option<String>,
    /// Online channel.
    pub online_url: Option<String>,
    /// Service hall.
    pub service_hall: Option<String>,
    /// Pilot zones (e.g. free-trade-zone areas, 片区).
    #[serde(default)]
    pub pilot_zones: Vec<String>,
    /// Implementation status.
    pub implementation_status: ImplementationStatus,
    /// The region's own name, where it differs.
    pub name_zh: Option<String>,
    /// The region's own acceptance conditions, where they differ.
    pub conditions_zh: Option<String>,
    /// The region's own full materials list, where it differs.
    pub materials: Option<Vec<Material>>,
    /// The region's own time limit in working days, where it differs.
    pub time_limit_days: Option<u32>,
    /// Whether this region recognises results issued by the other regions (一互).
    pub result_recognised: bool,
    /// How the region handles the item (办理渠道), besides its own counters.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Identity credentials the self-service terminals accept; set exactly when
    /// `channels` includes `self_service_terminal`.
    #[serde(default)]
    pub terminal_identity: Vec<IdentityCredential>,
}

/// A service item's membership of a programme, announced by a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeMembership {
    /// Programme code.
    #[schema(example = "cross_province")]
    pub programme: String,
    /// Code of the batch that announced the membership.
    pub batch: String,
    /// First day of membership.
    pub joined_on: NaiveDate,
    /// Last day of membership; `null` while it lasts.
    pub left_on: Option<NaiveDate>,
}

impl ProgrammeMembership {
    /// Whether the item belongs to the programme on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.joined_on <= day && self.left_on.is_none_or(|last| day <= last)
    }
}

/// A government service done to one joint standard (同事同标事项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardItem {
    /// Stable registry code.
    #[schema(example = "SS-MR-001")]
    pub code: String,
    /// Entry version.
    #[serde(default)]
    pub version: i64,
    /// National basic item code (GB/T 39554.1-2020), where one exists.
    pub national_code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Item type.
    pub item_type: StandardItemType,
    /// Sector code.
    pub sector: String,
    /// Acceptance conditions (受理条件), Chinese.
    pub conditions_zh: String,
    /// Acceptance conditions, English.
    pub conditions_en: String,
    /// Required materials (申请材料).
    pub materials: Vec<Material>,
    /// Promised time limit in working days (承诺时限); 0 means on the spot.
    pub time_limit_days: u32,
    /// Statutory time limit in working days (法定时限).
    pub statutory_time_limit_days: Option<u32>,
    /// Fee (收费), Chinese.
    pub fee_zh: String,
    /// Fee, English.
    pub fee_en: String,
    /// Legal basis (设定依据).
    pub legal_basis: String,
    /// Process steps.
    pub process_steps: Vec<ProcessStep>,
    /// Result document, Chinese.
    pub result_document_zh: String,
    /// Result document, English.
    pub result_document_en: String,
    /// Status.
    pub status: EntryStatus,
    /// Code of the batch the entry was published in.
    pub batch: String,
    /// When the entry was last checked against its sources.
    pub last_verified_on: NaiveDate,
    /// The programmes the item belongs to (同事同标, 跨省通办, …), each dated and sourced.
    #[serde(default)]
    pub programmes: Vec<ProgrammeMembership>,
    /// Each region's implementation.
    pub local_parts: Vec<StandardLocalPart>,
    /// When the registry last recorded a change to this entry.
    #[serde(default = "unix_epoch")]
    pub updated_at: DateTime<Utc>,
    /// The entry that replaces this retired one (取代), when there is one: a code of the
    /// same kind. Left out when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "RI-CON-003")]
    pub superseded_by: Option<String>,
}

/// A named use case bundling entries (互认场景), launched on a day under a batch by the
/// participating regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable code.
    #[schema(example = "SC-001")]
    pub code: String,
    /// Entry version.
    #[serde(default)]
    pub version: i64,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Description, Chinese.
    pub description_zh: String,
    /// Description, English.
    pub description_en: String,
    /// The situation in one sentence, Chinese (who does what where).
    pub situation_zh: String,
    /// The situation in one sentence, English.
    pub situation_en: String,
    /// The day the scenario was launched (on or after its batch's publication).
    pub launched_on: NaiveDate,
    /// Code of the batch that launched it.
    pub batch: String,
    /// Status of the scenario.
    pub status: EntryStatus,
    /// The day a `suspended` or `retired` status took effect (as for items).
    #[serde(default)]
    pub status_since: Option<NaiveDate>,
    /// Participating regions.
    pub regions: Vec<RegionCode>,
    /// The region that leads the scenario (牵头).
    pub lead_region: RegionCode,
    /// The lead region's department in charge.
    pub lead_department: String,
    /// Codes of the recognition items in the scenario.
    pub recognition_items: Vec<String>,
    /// Codes of the standard items in the scenario.
    pub standard_items: Vec<String>,
    /// When the registry last recorded a change to this entry.
    #[serde(default = "unix_epoch")]
    pub updated_at: DateTime<Utc>,
    /// The entry that replaces this retired one (取代), when there is one: a code of the
    /// same kind. Left out when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "RI-CON-003")]
    pub superseded_by: Option<String>,
}

fn unix_epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// What a target counts: entries of one kind in the catalog on the day asked, narrowed
/// by the optional fields. An entry is in the catalog from its publication (a service
/// item in a programme: from joining it; a scenario: from its launch) until it is
/// retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetMetric {
    /// The kind of entry counted.
    pub counts: EntryKind,
    /// Only service items in this programme (standard items only).
    #[serde(default)]
    pub programme: Option<String>,
    /// Only entries in which this region takes part.
    #[serde(default)]
    pub region: Option<RegionCode>,
    /// Only recognition items of this kind.
    #[serde(default)]
    pub item_kind: Option<ItemKind>,
    /// Only entries published (launched, joined) on or after this day.
    #[serde(default)]
    pub window_from: Option<NaiveDate>,
    /// Only entries published (launched, joined) on or before this day.
    #[serde(default)]
    pub window_to: Option<NaiveDate>,
}

/// A goal of an annual work plan (工作台账), with the count it is measured by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Stable code.
    #[schema(example = "TG-2025-04")]
    pub code: String,
    /// Entry version.
    #[serde(default)]
    pub version: i64,
    /// The goal as the plan states it, Chinese.
    pub title_zh: String,
    /// The goal, English.
    pub title_en: String,
    /// Document number (文号) of the plan that sets the target.
    pub source_document_no: String,
    /// Title of that plan, Chinese.
    pub source_title_zh: String,
    /// The clause of the plan (e.g. "三、（二）").
    pub clause: String,
    /// How progress is counted.
    pub metric: TargetMetric,
    /// The count to reach.
    pub target_value: u32,
    /// The day by which it is to be reached.
    pub deadline: NaiveDate,
    /// Lead unit (牵头单位).
    pub lead_unit: String,
    /// Cooperating units (配合单位), in the plan's order.
    pub cooperating_units: Vec<String>,
    /// When the registry last recorded a change to this entry.
    #[serde(default = "unix_epoch")]
    pub updated_at: DateTime<Utc>,
}

/// Everything in the catalog, as stored or as imported.
#[derive(Debug, Clone, Default)]
pub struct CatalogContent {
    /// Member regions.
    pub regions: Vec<Region>,
    /// Sectors.
    pub sectors: Vec<Sector>,
    /// Published batches.
    pub batches: Vec<Batch>,
    /// Recognition items.
    pub recognition_items: Vec<RecognitionItem>,
    /// Standard items.
    pub standard_items: Vec<StandardItem>,
    /// Scenarios.
    pub scenarios: Vec<Scenario>,
    /// Service programmes (reference data).
    pub programmes: Vec<Programme>,
    /// Targets of the annual work plans.
    pub targets: Vec<Target>,
}

/// Checks the rules the types cannot express; returns every problem found, each
/// prefixed with the entry it concerns.
pub fn validate_catalog(content: &CatalogContent) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let regions: HashSet<&RegionCode> = content.regions.iter().map(|r| &r.code).collect();
    let sectors: HashSet<&str> = content.sectors.iter().map(|s| s.code.as_str()).collect();
    let programmes: HashSet<&str> = content.programmes.iter().map(|p| p.code.as_str()).collect();
    let mut batches: HashMap<&str, &Batch> = HashMap::new();
    for batch in &content.batches {
        let mut report =
            |problem: String| problems.push(format!("batch {}: {problem}", batch.code));
        if batches.insert(batch.code.as_str(), batch).is_some() {
            report("duplicate code".into());
        }
        if batch.publishes.is_empty() && batch.programmes.is_empty() {
            report("a batch must publish entries or programme memberships".into());
        }
        if batch.publishes.iter().collect::<HashSet<_>>().len() != batch.publishes.len() {
            report("an entry kind is listed twice in publishes".into());
        }
        for programme in &batch.programmes {
            if !programmes.contains(programme.as_str()) {
                report(format!("unknown programme {programme}"));
            }
        }
    }

    let mut item_codes = HashSet::new();
    let mut local_codes: HashSet<(&RegionCode, &str)> = HashSet::new();
    for item in &content.recognition_items {
        let mut report =
            |problem: String| problems.push(format!("recognition item {}: {problem}", item.code));
        if !item_codes.insert(item.code.as_str()) {
            report("duplicate code".into());
        }
        check_code_and_names(&item.code, &item.name_zh, &item.name_en, &mut report);
        check_sector(&item.sector, &sectors, &mut report);
        check_batch(
            &item.batch,
            EntryKind::RecognitionItem,
            &batches,
            &mut report,
        );
        check_status_since(item.status, item.status_since, &mut report);
        check_participants(&item.regions, &regions, &mut report);
        let participants: BTreeSet<&RegionCode> = item.regions.iter().collect();
        let local_regions: BTreeSet<&RegionCode> =
            item.local_parts.iter().map(|p| &p.region).collect();
        if local_regions.len() != item.local_parts.len() || local_regions != participants {
            report("there must be exactly one local part per participating region".into());
        }
        for part in &item.local_parts {
            check_recognition_local_part(part, &mut |problem| {
                report(format!("{}: {problem}", part.region))
            });
            if let Some(code) = &part.local_code
                && !local_codes.insert((&part.region, code.as_str()))
            {
                report(format!(
                    "local code {code} is used twice in {}",
                    part.region
                ));
            }
        }
        for (index, arrangement) in item.arrangements.iter().enumerate() {
            if arrangement.issued_in == arrangement.used_in {
                report(format!(
                    "arrangement {index}: issuer and accepting region are the same"
                ));
            }
            if !participants.contains(&arrangement.issued_in)
                || !participants.contains(&arrangement.used_in)
            {
                report(format!(
                    "arrangement {index}: both regions must participate"
                ));
            }
            if arrangement
                .effective_to
                .is_some_and(|to| to < arrangement.effective_from)
            {
                report(format!(
                    "arrangement {index}: effective_to is before effective_from"
                ));
            }
            if matches!(arrangement.mode, RecognitionMode::Conditional)
                && arrangement
                    .conditions_zh
                    .as_deref()
                    .is_none_or(str::is_empty)
            {
                report(format!(
                    "arrangement {index}: a conditional arrangement needs conditions_zh"
                ));
            }
            let overlapping = item.arrangements[..index].iter().any(|earlier| {
                earlier.issued_in == arrangement.issued_in
                    && earlier.used_in == arrangement.used_in
                    && earlier.overlaps(arrangement)
            });
            if overlapping {
                report(format!(
                    "arrangement {index}: overlaps another period of the same pair"
                ));
            }
        }
    }

    let mut standard_codes = HashSet::new();
    for item in &content.standard_items {
        let mut report =
            |problem: String| problems.push(format!("standard item {}: {problem}", item.code));
        if !standard_codes.insert(item.code.as_str()) {
            report("duplicate code".into());
        }
        check_code_and_names(&item.code, &item.name_zh, &item.name_en, &mut report);
        check_sector(&item.sector, &sectors, &mut report);
        check_batch(&item.batch, EntryKind::StandardItem, &batches, &mut report);
        check_memberships(&item.programmes, &programmes, &batches, &mut report);
        if item.materials.is_empty() {
            report("the materials list is empty".into());
        }
        let mut seen = HashSet::new();
        for part in &item.local_parts {
            if !regions.contains(&part.region) {
                report(format!("unknown region {}", part.region));
            }
            if !seen.insert(&part.region) {
                report(format!("two local parts for {}", part.region));
            }
            check_standard_local_part(part, &mut |problem| {
                report(format!("{}: {problem}", part.region))
            });
        }
    }

    let mut scenario_codes = HashSet::new();
    for scenario in &content.scenarios {
        let mut report =
            |problem: String| problems.push(format!("scenario {}: {problem}", scenario.code));
        if !scenario_codes.insert(scenario.code.as_str()) {
            report("duplicate code".into());
        }
        check_code_and_names(
            &scenario.code,
            &scenario.name_zh,
            &scenario.name_en,
            &mut report,
        );
        if let Some(batch) =
            check_batch(&scenario.batch, EntryKind::Scenario, &batches, &mut report)
            && scenario.launched_on < batch.published_on
        {
            report(format!(
                "launched on {}, before its batch was published ({})",
                scenario.launched_on, batch.published_on
            ));
        }
        check_status_since(scenario.status, scenario.status_since, &mut report);
        if scenario.situation_zh.trim().is_empty() || scenario.situation_en.trim().is_empty() {
            report("the situation is required in both languages".into());
        }
        if scenario.lead_department.trim().is_empty() {
            report("the lead department is required".into());
        }
        check_participants(&scenario.regions, &regions, &mut report);
        if !scenario.regions.contains(&scenario.lead_region) {
            report(format!(
                "lead region {} does not participate",
                scenario.lead_region
            ));
        }
        for code in &scenario.recognition_items {
            if !item_codes.contains(code.as_str()) {
                report(format!("unknown recognition item {code}"));
            }
        }
        for code in &scenario.standard_items {
            if !standard_codes.contains(code.as_str()) {
                report(format!("unknown standard item {code}"));
            }
        }
    }

    let mut target_codes = HashSet::new();
    for target in &content.targets {
        let mut report =
            |problem: String| problems.push(format!("target {}: {problem}", target.code));
        if !target_codes.insert(target.code.as_str()) {
            report("duplicate code".into());
        }
        check_code_and_names(
            &target.code,
            &target.title_zh,
            &target.title_en,
            &mut report,
        );
        let metric = &target.metric;
        if let Some(programme) = &metric.programme {
            if metric.counts != EntryKind::StandardItem {
                report("a programme narrows only a count of standard items".into());
            }
            if !programmes.contains(programme.as_str()) {
                report(format!("unknown programme {programme}"));
            }
        }
        if metric.item_kind.is_some() && metric.counts != EntryKind::RecognitionItem {
            report("item_kind narrows only a count of recognition items".into());
        }
        if let Some(region) = &metric.region
            && !regions.contains(region)
        {
            report(format!("unknown region {region}"));
        }
        if let (Some(from), Some(to)) = (metric.window_from, metric.window_to)
            && to < from
        {
            report("window_to is before window_from".into());
        }
        if target.target_value == 0 {
            report("the target value must be positive".into());
        }
        if target.lead_unit.trim().is_empty() || target.source_document_no.trim().is_empty() {
            report("the lead unit and the source document are required".into());
        }
    }

    check_successors(
        "recognition item",
        content
            .recognition_items
            .iter()
            .map(|i| (i.code.as_str(), i.status, i.superseded_by.as_deref()))
            .collect(),
        &mut problems,
    );
    check_successors(
        "standard item",
        content
            .standard_items
            .iter()
            .map(|i| (i.code.as_str(), i.status, i.superseded_by.as_deref()))
            .collect(),
        &mut problems,
    );
    check_successors(
        "scenario",
        content
            .scenarios
            .iter()
            .map(|s| (s.code.as_str(), s.status, s.superseded_by.as_deref()))
            .collect(),
        &mut problems,
    );

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A successor (`superseded_by`) is another entry of the same kind, named by a retired
/// entry only.
fn check_successors(
    kind: &str,
    entries: Vec<(&str, EntryStatus, Option<&str>)>,
    problems: &mut Vec<String>,
) {
    let codes: HashSet<&str> = entries.iter().map(|(code, _, _)| *code).collect();
    for (code, status, successor) in &entries {
        let Some(successor) = successor else {
            continue;
        };
        let mut report = |problem: String| problems.push(format!("{kind} {code}: {problem}"));
        if *status != EntryStatus::Retired {
            report("superseded_by applies only to a retired entry".into());
        }
        if successor == code {
            report("superseded_by names the entry itself, which cannot supersede itself".into());
        } else if !codes.contains(successor) {
            report(format!(
                "superseded_by names {successor}, which is no {kind}"
            ));
        }
    }
}

/// The rules one region's side of a recognition item must follow on its own (the
/// catalog-wide rules, such as unique local codes, are checked with the catalog).
pub fn check_recognition_local_part(part: &RecognitionLocalPart, report: &mut impl FnMut(String)) {
    if let Some(verification) = &part.verification {
        check_verification(verification, report);
    }
}

/// The rules one region's side of a service item must follow on its own.
pub fn check_standard_local_part(part: &StandardLocalPart, report: &mut impl FnMut(String)) {
    if part.channels.iter().collect::<HashSet<_>>().len() != part.channels.len() {
        report("a channel is listed twice".into());
    }
    let self_service = part.channels.contains(&Channel::SelfServiceTerminal);
    if self_service == part.terminal_identity.is_empty() {
        report(
            "terminal_identity is required with the self_service_terminal channel, and only with it"
                .into(),
        );
    }
}

fn check_verification(verification: &Verification, report: &mut impl FnMut(String)) {
    let has_url = verification
        .lookup_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    if (verification.method == VerificationMethod::OnlineLookup) != has_url {
        report("an https lookup_url goes with online_lookup, and only with it".into());
    }
    if (verification.method == VerificationMethod::PlatformLogin)
        == verification.platforms.is_empty()
    {
        report("platforms go with platform_login, and only with it".into());
    }
}

/// Two or more distinct, known regions.
fn check_participants(
    listed: &[RegionCode],
    regions: &HashSet<&RegionCode>,
    report: &mut impl FnMut(String),
) {
    let participants: BTreeSet<&RegionCode> = listed.iter().collect();
    if participants.len() != listed.len() {
        report("a region is listed twice".into());
    }
    if participants.len() < 2 {
        report("at least two regions must participate".into());
    }
    for region in participants {
        if !regions.contains(region) {
            report(format!("unknown region {region}"));
        }
    }
}

fn check_status_since(
    status: EntryStatus,
    status_since: Option<NaiveDate>,
    report: &mut impl FnMut(String),
) {
    if status == EntryStatus::Active && status_since.is_some() {
        report("status_since applies only to a suspended or retired entry".into());
    }
}

/// The batch must exist and publish entries of `kind`; returns it when it does.
fn check_batch<'a>(
    code: &str,
    kind: EntryKind,
    batches: &HashMap<&str, &'a Batch>,
    report: &mut impl FnMut(String),
) -> Option<&'a Batch> {
    let Some(&batch) = batches.get(code) else {
        report(format!("unknown batch {code}"));
        return None;
    };
    if !batch.publishes.contains(&kind) {
        report(format!("batch {code} does not publish {kind} entries"));
        return None;
    }
    Some(batch)
}

fn check_memberships(
    memberships: &[ProgrammeMembership],
    programmes: &HashSet<&str>,
    batches: &HashMap<&str, &Batch>,
    report: &mut impl FnMut(String),
) {
    let mut seen = HashSet::new();
    for membership in memberships {
        let programme = membership.programme.as_str();
        if !seen.insert(programme) {
            report(format!("programme {programme} is listed twice"));
        }
        if !programmes.contains(programme) {
            report(format!("unknown programme {programme}"));
        }
        match batches.get(membership.batch.as_str()) {
            None => report(format!(
                "programme {programme}: unknown batch {}",
                membership.batch
            )),
            Some(batch) if !batch.programmes.iter().any(|p| p == programme) => report(format!(
                "programme {programme}: batch {} does not announce {programme} memberships",
                batch.code
            )),
            Some(batch) if membership.joined_on < batch.published_on => report(format!(
                "programme {programme}: joined on {}, before batch {} was published",
                membership.joined_on, batch.code
            )),
            Some(_) => {}
        }
        if membership
            .left_on
            .is_some_and(|last| last < membership.joined_on)
        {
            report(format!(
                "programme {programme}: left_on is before joined_on"
            ));
        }
    }
}

fn check_code_and_names(code: &str, name_zh: &str, name_en: &str, report: &mut impl FnMut(String)) {
    let code_ok = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !code_ok {
        report("the code must be 1–64 ASCII letters, digits, '-', '_' or '.'".into());
    }
    if name_zh.trim().is_empty() || name_en.trim().is_empty() {
        report("both names are required".into());
    }
}

fn check_sector(sector: &str, sectors: &HashSet<&str>, report: &mut impl FnMut(String)) {
    if !sectors.contains(sector) {
        report(format!("unknown sector {sector}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample;

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// The problems `validate_catalog` finds after `break_it` changed the sample.
    fn problems_after(break_it: impl FnOnce(&mut CatalogContent)) -> Vec<String> {
        let mut content = sample();
        break_it(&mut content);
        validate_catalog(&content).err().unwrap_or_default()
    }

    fn item<'a>(content: &'a mut CatalogContent, code: &str) -> &'a mut RecognitionItem {
        content
            .recognition_items
            .iter_mut()
            .find(|i| i.code == code)
            .unwrap()
    }

    #[test]
    fn the_sample_catalog_is_valid() {
        assert_eq!(validate_catalog(&sample()), Ok(()));
    }

    #[test]
    fn each_rule_names_the_entry_and_the_problem() {
        type Breakage = Box<dyn FnOnce(&mut CatalogContent)>;
        let cases: Vec<(Breakage, &str)> = vec![
            (
                Box::new(|c| {
                    let copy = c.recognition_items[0].clone();
                    c.recognition_items.push(copy);
                }),
                "recognition item RI-CON-001: duplicate code",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").code = "RI CON 001".into()),
                "recognition item RI CON 001: the code must be 1–64 ASCII letters, digits, '-', '_' or '.'",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").code = "R".repeat(65)),
                "the code must be 1–64 ASCII letters",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").name_en = " ".into()),
                "recognition item RI-CON-001: both names are required",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").name_zh = String::new()),
                "recognition item RI-CON-001: both names are required",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").sector = "alchemy".into()),
                "recognition item RI-CON-001: unknown sector alchemy",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").batch = "JJJ-1999-01".into()),
                "recognition item RI-CON-001: unknown batch JJJ-1999-01",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").status_since = Some(day("2025-01-01"))),
                "recognition item RI-CON-001: status_since applies only to a suspended or retired entry",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").superseded_by = Some("RI-CON-002".into())),
                "recognition item RI-CON-001: superseded_by applies only to a retired entry",
            ),
            (
                Box::new(|c| {
                    let it = item(c, "RI-CON-001");
                    it.status = EntryStatus::Retired;
                    it.superseded_by = Some("RI-CON-001".into());
                }),
                "recognition item RI-CON-001: superseded_by names the entry itself",
            ),
            (
                Box::new(|c| {
                    let it = item(c, "RI-CON-001");
                    it.status = EntryStatus::Retired;
                    it.superseded_by = Some("SS-MR-001".into());
                }),
                "recognition item RI-CON-001: superseded_by names SS-MR-001, which is no recognition item",
            ),
            (
                Box::new(|c| {
                    c.standard_items[0].status = EntryStatus::Retired;
                    c.standard_items[0].superseded_by = Some("RI-CON-001".into());
                }),
                "which is no standard item",
            ),
            (
                Box::new(|c| c.scenarios[0].superseded_by = Some("SC-002".into())),
                "scenario SC-001: superseded_by applies only to a retired entry",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").regions.push(region("TJ"))),
                "recognition item RI-CON-001: a region is listed twice",
            ),
            (
                Box::new(|c| {
                    let it = item(c, "RI-WAT-003");
                    it.regions.retain(|r| r.as_str() == "BJ");
                    it.arrangements.clear();
                    it.local_parts.retain(|p| p.region.as_str() == "BJ");
                }),
                "recognition item RI-WAT-003: at least two regions must participate",
            ),
            (
                Box::new(|c| {
                    let it = item(c, "RI-WAT-003");
                    it.regions.push(region("SH"));
                    let mut part = it.local_parts[0].clone();
                    part.region = region("SH");
                    part.local_code = None;
                    it.local_parts.push(part);
                }),
                "recognition item RI-WAT-003: unknown region SH",
            ),
            (
                Box::new(|c| {
                    item(c, "RI-CON-001").local_parts.pop();
                }),
                "recognition item RI-CON-001: there must be exactly one local part per participating region",
            ),
            (
                Box::new(|c| {
                    let it = item(c, "RI-CON-001");
                    let copy = it.local_parts[0].clone();
                    it.local_parts.push(copy);
                }),
                "recognition item RI-CON-001: there must be exactly one local part per participating region",
            ),
            (
                Box::new(|c| {
                    let code = item(c, "RI-CON-001").local_parts[2].local_code.clone();
                    item(c, "RI-CON-002").local_parts[2].local_code = code;
                }),
                "recognition item RI-CON-002: local code 冀建-RY-056 is used twice in HE",
            ),
            (
                Box::new(|c| item(c, "RI-CON-001").arrangements[0].used_in = region("BJ")),
                "recognition item RI-CON-001: arrangement 0: issuer and accepting region are the same",
            ),
            (
                Box::new(|c| item(c, "RI-WAT-003").arrangements[0].used_in = region("TJ")),
                "recognition item RI-WAT-003: arrangement 0: both regions must participate",
            ),
            (
                Box::new(|c| item(c, "RI-WAT-003").arrangements[0].issued_in = region("TJ")),
                "recognition item RI-WAT-003: arrangement 0: both regions must participate",
            ),
            (
                Box::new(|c| {
                    item(c, "RI-CON-001").arrangements[0].effective_to = Some(day("2024-02-29"))
                }),
                "recognition item RI-CON-001: arrangement 0: effective_to is before effective_from",
            ),
            (
                Box::new(|c| item(c, "RI-CON-004").arrangements[0].conditions_zh = None),
                "recognition item RI-CON-004: arrangement 0: a conditional arrangement needs conditions_zh",
            ),
            (
                Box::new(|c| {
                    item(c, "RI-CON-004").arrangements[0].conditions_zh = Some(String::new())
                }),
                "recognition item RI-CON-004: arrangement 0: a conditional arrangement needs conditions_zh",
            ),
            (
                Box::new(|c| {
                    // TJ→HE runs 2023-07-01..2026-12-31, then from 2027-01-01: make them meet.
                    let it = item(c, "RI-CON-004");
                    let later = it
                        .arrangements
                        .iter()
                        .position(|a| a.effective_from == day("2027-01-01"))
                        .unwrap();
                    it.arrangements[later].effective_from = day("2026-12-31");
                }),
                "overlaps another period of the same pair",
            ),
            (
                Box::new(|c| {
                    let copy = c.standard_items[0].clone();
                    c.standard_items.push(copy);
                }),
                "standard item SS-MR-001: duplicate code",
            ),
            (
                Box::new(|c| c.standard_items[0].materials.clear()),
                "standard item SS-MR-001: the materials list is empty",
            ),
            (
                Box::new(|c| c.standard_items[0].sector = "alchemy".into()),
                "standard item SS-MR-001: unknown sector alchemy",
            ),
            (
                Box::new(|c| c.standard_items[0].local_parts[0].region = region("SH")),
                "standard item SS-MR-001: unknown region SH",
            ),
            (
                Box::new(|c| {
                    let copy = c.standard_items[0].local_parts[0].clone();
                    c.standard_items[0].local_parts.push(copy);
                }),
                "standard item SS-MR-001: two local parts for BJ",
            ),
            (
                Box::new(|c| {
                    let copy = c.scenarios[0].clone();
                    c.scenarios.push(copy);
                }),
                "scenario SC-001: duplicate code",
            ),
            (
                Box::new(|c| c.scenarios[0].recognition_items.push("RI-NOPE".into())),
                "scenario SC-001: unknown recognition item RI-NOPE",
            ),
            (
                Box::new(|c| c.scenarios[0].standard_items.push("SS-NOPE".into())),
                "scenario SC-001: unknown standard item SS-NOPE",
            ),
            (
                Box::new(|c| {
                    let part = &mut item(c, "RI-STD-001").local_parts[0];
                    part.verification.as_mut().unwrap().lookup_url = None;
                }),
                "recognition item RI-STD-001: BJ: an https lookup_url goes with online_lookup, and only with it",
            ),
            (
                Box::new(|c| {
                    let part = &mut item(c, "RI-STD-001").local_parts[1];
                    part.verification.as_mut().unwrap().lookup_url =
                        Some("http://example.gov.cn/x".into());
                }),
                "recognition item RI-STD-001: TJ: an https lookup_url goes with online_lookup",
            ),
            (
                Box::new(|c| {
                    let part = &mut item(c, "RI-CON-001").local_parts[0];
                    part.verification.as_mut().unwrap().lookup_url =
                        Some("https://example.gov.cn/x".into());
                }),
                "recognition item RI-CON-001: BJ: an https lookup_url goes with online_lookup, and only with it",
            ),
            (
                Box::new(|c| {
                    item(c, "RI-FIN-002").local_parts[2]
                        .verification
                        .as_mut()
                        .unwrap()
                        .platforms
                        .clear()
                }),
                "recognition item RI-FIN-002: HE: platforms go with platform_login, and only with it",
            ),
            (
                Box::new(|c| {
                    let part = &mut item(c, "RI-CON-001").local_parts[1];
                    part.verification
                        .as_mut()
                        .unwrap()
                        .platforms
                        .push("天津市公共资源交易平台".into());
                }),
                "recognition item RI-CON-001: TJ: platforms go with platform_login, and only with it",
            ),
            (
                Box::new(|c| item(c, "RI-CON-002").batch = "JJJ-2024-02".into()),
                "recognition item RI-CON-002: batch JJJ-2024-02 does not publish recognition_item entries",
            ),
            (
                Box::new(|c| c.standard_items[0].batch = "JJJ-2021-01".into()),
                "standard item SS-MR-001: batch JJJ-2021-01 does not publish standard_item entries",
            ),
            (
                Box::new(|c| c.scenarios[0].batch = "JJJ-2021-01".into()),
                "scenario SC-001: batch JJJ-2021-01 does not publish scenario entries",
            ),
            (
                Box::new(|c| c.scenarios[0].batch = "JJJ-1999-01".into()),
                "scenario SC-001: unknown batch JJJ-1999-01",
            ),
            (
                Box::new(|c| batch(c, "JJJ-2021-01").publishes.clear()),
                "batch JJJ-2021-01: a batch must publish entries or programme memberships",
            ),
            (
                Box::new(|c| {
                    batch(c, "JJJ-2021-01")
                        .publishes
                        .push(EntryKind::RecognitionItem)
                }),
                "batch JJJ-2021-01: an entry kind is listed twice in publishes",
            ),
            (
                Box::new(|c| batch(c, "JJJ-2021-01").programmes.push("nationwide".into())),
                "batch JJJ-2021-01: unknown programme nationwide",
            ),
            (
                Box::new(|c| {
                    let copy = c.batches[0].clone();
                    c.batches.push(copy);
                }),
                "batch JJJ-2021-01: duplicate code",
            ),
            (
                Box::new(|c| c.standard_items[0].programmes[0].programme = "nationwide".into()),
                "standard item SS-MR-001: unknown programme nationwide",
            ),
            (
                Box::new(|c| {
                    let copy = c.standard_items[0].programmes[0].clone();
                    c.standard_items[0].programmes.push(copy);
                }),
                "standard item SS-MR-001: programme same_standard is listed twice",
            ),
            (
                Box::new(|c| c.standard_items[0].programmes[0].batch = "JJJ-1999-01".into()),
                "standard item SS-MR-001: programme same_standard: unknown batch JJJ-1999-01",
            ),
            (
                Box::new(|c| c.standard_items[0].programmes[0].batch = "JJJ-2024-03".into()),
                "standard item SS-MR-001: programme same_standard: batch JJJ-2024-03 does not announce same_standard memberships",
            ),
            (
                Box::new(|c| c.standard_items[0].programmes[0].joined_on = day("2024-02-19")),
                "standard item SS-MR-001: programme same_standard: joined on 2024-02-19, before batch JJJ-2024-02 was published",
            ),
            (
                Box::new(|c| c.standard_items[0].programmes[0].left_on = Some(day("2024-02-19"))),
                "standard item SS-MR-001: programme same_standard: left_on is before joined_on",
            ),
            (
                Box::new(|c| {
                    let channels = &mut c.standard_items[0].local_parts[0].channels;
                    channels.extend([Channel::JointHandling, Channel::JointHandling]);
                }),
                "standard item SS-MR-001: BJ: a channel is listed twice",
            ),
            (
                Box::new(|c| {
                    c.standard_items[0].local_parts[0]
                        .channels
                        .push(Channel::SelfServiceTerminal)
                }),
                "standard item SS-MR-001: BJ: terminal_identity is required with the self_service_terminal channel, and only with it",
            ),
            (
                Box::new(|c| {
                    c.standard_items[0].local_parts[0]
                        .terminal_identity
                        .push(IdentityCredential::ResidentIdCard)
                }),
                "standard item SS-MR-001: BJ: terminal_identity is required",
            ),
            (
                Box::new(|c| c.scenarios[0].launched_on = day("2023-06-14")),
                "scenario SC-001: launched on 2023-06-14, before its batch was published (2023-06-15)",
            ),
            (
                Box::new(|c| c.scenarios[0].status_since = Some(day("2025-01-01"))),
                "scenario SC-001: status_since applies only to a suspended or retired entry",
            ),
            (
                Box::new(|c| c.scenarios[0].situation_en = " ".into()),
                "scenario SC-001: the situation is required in both languages",
            ),
            (
                Box::new(|c| c.scenarios[0].situation_zh = String::new()),
                "scenario SC-001: the situation is required in both languages",
            ),
            (
                Box::new(|c| c.scenarios[0].lead_department = String::new()),
                "scenario SC-001: the lead department is required",
            ),
            (
                Box::new(|c| c.scenarios[0].name_en = String::new()),
                "scenario SC-001: both names are required",
            ),
            (
                Box::new(|c| c.scenarios[0].regions.truncate(1)),
                "scenario SC-001: at least two regions must participate",
            ),
            (
                Box::new(|c| c.scenarios[0].lead_region = region("SH")),
                "scenario SC-001: lead region SH does not participate",
            ),
            (
                Box::new(|c| {
                    let copy = c.targets[0].clone();
                    c.targets.push(copy);
                }),
                "target TG-2024-01: duplicate code",
            ),
            (
                Box::new(|c| c.targets[0].title_zh = String::new()),
                "target TG-2024-01: both names are required",
            ),
            (
                Box::new(|c| c.targets[0].metric.programme = Some("same_standard".into())),
                "target TG-2024-01: a programme narrows only a count of standard items",
            ),
            (
                Box::new(|c| c.targets[1].metric.programme = Some("nationwide".into())),
                "target TG-2024-02: unknown programme nationwide",
            ),
            (
                Box::new(|c| c.targets[1].metric.item_kind = Some(ItemKind::TestResult)),
                "target TG-2024-02: item_kind narrows only a count of recognition items",
            ),
            (
                Box::new(|c| c.targets[0].metric.region = Some(region("SH"))),
                "target TG-2024-01: unknown region SH",
            ),
            (
                Box::new(|c| c.targets[3].metric.window_to = Some(day("2024-12-31"))),
                "target TG-2025-01: window_to is before window_from",
            ),
            (
                Box::new(|c| c.targets[0].target_value = 0),
                "target TG-2024-01: the target value must be positive",
            ),
            (
                Box::new(|c| c.targets[0].lead_unit = " ".into()),
                "target TG-2024-01: the lead unit and the source document are required",
            ),
            (
                Box::new(|c| c.targets[0].source_document_no = String::new()),
                "target TG-2024-01: the lead unit and the source document are required",
            ),
        ];
        for (break_it, expected) in cases {
            let problems = problems_after(break_it);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected a problem containing {expected:?}, got {problems:?}"
            );
        }
    }

    fn batch<'a>(content: &'a mut CatalogContent, code: &str) -> &'a mut Batch {
        content.batches.iter_mut().find(|b| b.code == code).unwrap()
    }

    #[test]
    fn a_retired_entry_may_name_its_successor() {
        assert_eq!(
            problems_after(|c| {
                let it = item(c, "RI-CON-001");
                it.status = EntryStatus::Retired;
                it.superseded_by = Some("RI-CON-002".into());
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_sample_is_valid() {
        assert_eq!(problems_after(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn boundary_days_and_a_batch_announcing_only_memberships_are_fine() {
        assert_eq!(
            problems_after(|c| {
                // Launched on the day its batch was published.
                c.scenarios[0].launched_on = day("2023-06-15");
                // Joined on publication day, and left the same day.
                let membership = &mut c.standard_items[0].programmes[0];
                membership.joined_on = day("2024-02-20");
                membership.left_on = Some(day("2024-02-20"));
                // A window of one day.
                c.targets[3].metric.window_to = Some(day("2025-01-01"));
            }),
            Vec::<String>::new()
        );
        assert!(
            sample()
                .batches
                .iter()
                .any(|b| b.publishes.is_empty() && !b.programmes.is_empty())
        );
    }

    #[test]
    fn a_status_takes_effect_on_its_since_day() {
        let since = Some(day("2025-03-01"));
        let retired = EntryStatus::Retired;
        assert_eq!(
            status_on(retired, since, day("2025-02-28")),
            EntryStatus::Active
        );
        assert_eq!(status_on(retired, since, day("2025-03-01")), retired);
        assert_eq!(status_on(retired, None, day("2000-01-01")), retired);
        assert_eq!(
            status_on(EntryStatus::Suspended, since, day("2025-03-02")),
            EntryStatus::Suspended
        );
    }

    #[test]
    fn codes_of_up_to_64_letters_digits_dashes_underscores_and_dots_are_fine() {
        assert_eq!(
            problems_after(|c| item(c, "RI-WAT-003").code = format!("{}_v1.2", "R".repeat(59))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_period_of_a_single_day_is_fine() {
        assert_eq!(
            problems_after(|c| {
                let period = &mut item(c, "RI-CON-001").arrangements[0];
                period.effective_to = Some(period.effective_from);
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn periods_of_one_pair_overlap_unless_one_ends_before_the_other_starts() {
        let period = |from: &str, to: Option<&str>| Arrangement {
            issued_in: region("HE"),
            used_in: region("TJ"),
            mode: RecognitionMode::Direct,
            conditions_zh: None,
            conditions_en: None,
            effective_from: day(from),
            effective_to: to.map(day),
            status: ArrangementStatus::Active,
        };
        let first = period("2022-01-01", Some("2022-12-31"));
        assert!(!first.overlaps(&period("2023-01-01", None)));
        assert!(!period("2023-01-01", None).overlaps(&first));
        assert!(first.overlaps(&period("2022-12-31", None)));
        assert!(period("2022-12-31", None).overlaps(&first));
        assert!(period("2020-01-01", None).overlaps(&period("2030-01-01", None)));
        assert!(first.covers(day("2022-12-31")) && !first.covers(day("2023-01-01")));
    }
}
