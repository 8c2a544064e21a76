//! Bulk exchange (批量导入导出): the catalog as the tables administrators keep in
//! spreadsheets, and those tables back into catalog entries.
//!
//! One layout serves export, import and the template: a sheet per entry kind and per
//! list an entry holds (arrangements, local parts, materials…), a column per field.
//! Child rows name their entry in `item_code` and keep the order of their rows. A list
//! of codes or names sits in one cell, one value per line. Entries travel without
//! their server-owned fields (`version`, `updated_at`) and without suspensions, which
//! are acts of an accepting region, not content; so exporting, importing into an empty
//! registry and exporting again gives the same file.
//!
//! Formats (CSV, XLSX) live outside the domain; they only move [`Table`]s.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::catalog::{Batch, CatalogContent, RecognitionItem, Scenario, StandardItem, Target};
use super::read_model::Catalog;
use super::region::RegionCode;
use super::text_enum;

/// How a cell is written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellType {
    /// Text that must be present (codes, names, dates, enumerated values).
    Text,
    /// Text that may be empty (`null` in JSON).
    OptionalText,
    /// A whole number ≥ 0.
    Count,
    /// A whole number ≥ 0 or empty.
    OptionalCount,
    /// `true` or `false`.
    Flag,
    /// Values one per line; an empty cell is an empty list.
    List,
}

/// One column of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The field it holds, dotted for a nested one (`verification.method`).
    pub key: &'static str,
    /// Its Chinese label, shown first in the header.
    pub label_zh: &'static str,
    /// How its cells are written and read.
    pub cell: CellType,
}

impl Column {
    /// The header cell: the Chinese label and the key, e.g. `中文名称（name_zh）`.
    pub fn header(&self) -> String {
        format!("{}（{}）", self.label_zh, self.key)
    }
}

const fn column(key: &'static str, label_zh: &'static str, cell: CellType) -> Column {
    Column {
        key,
        label_zh,
        cell,
    }
}

use CellType::{Count, Flag, List, OptionalCount, OptionalText, Text};

/// The column every child sheet starts with: the code of the entry the row belongs to.
const ITEM_CODE: Column = column("item_code", "事项编码", Text);

/// A standard local part's flag saying the region keeps its own materials list
/// (rows of the materials sheet with its region), which may be empty.
const OWN_MATERIALS: &str = "own_materials";

text_enum! {
    /// A sheet of the exchange layout.
    pub enum Sheet {
        /// 批次: published batches.
        Batches = "batches",
        /// 互认事项: recognition items' shared fields.
        RecognitionItems = "recognition_items",
        /// 互认安排: one row per arrangement of a recognition item.
        Arrangements = "arrangements",
        /// 互认事项本地信息: one row per region's side of a recognition item.
        RecognitionLocalParts = "recognition_local_parts",
        /// 同事同标事项: standard items' shared fields.
        StandardItems = "standard_items",
        /// 服务专区: one row per programme membership of a standard item.
        ProgrammeMemberships = "programme_memberships",
        /// 办理流程: one row per process step of a standard item.
        ProcessSteps = "process_steps",
        /// 同事同标本地实施: one row per region's side of a standard item.
        StandardLocalParts = "standard_local_parts",
        /// 申请材料: the shared materials (region empty) and each region's own list.
        Materials = "materials",
        /// 互认场景: scenarios.
        Scenarios = "scenarios",
        /// 工作台账: targets.
        Targets = "targets",
    }
}

text_enum! {
    /// A file format of the bulk exchange.
    pub enum FileFormat {
        /// One sheet as CSV (UTF-8 with a byte order mark).
        Csv = "csv",
        /// Every sheet in one XLSX workbook.
        Xlsx = "xlsx",
        /// Whole entries in one JSON document.
        Json = "json",
    }
}

const BATCH_COLUMNS: &[Column] = &[
    column("code", "批次编码", Text),
    column("document_no", "文号", Text),
    column("title_zh", "中文标题", Text),
    column("title_en", "英文标题", Text),
    column("published_on", "发布日期", Text),
    column("publishes", "发布事项类型", List),
    column("programmes", "公布服务专区", List),
];

const RECOGNITION_ITEM_COLUMNS: &[Column] = &[
    column("code", "事项编码", Text),
    column("name_zh", "中文名称", Text),
    column("name_en", "英文名称", Text),
    column("aliases", "别名", List),
    column("kind", "事项类型", Text),
    column("sector", "行业领域", Text),
    column("legal_basis", "法律依据", Text),
    column("status", "状态", Text),
    column("status_since", "状态起始日", OptionalText),
    column("batch", "批次编码", Text),
    column("last_verified_on", "最近核验日", Text),
    column("regions", "参与地区", List),
    column("superseded_by", "取代事项", OptionalText),
];

const ARRANGEMENT_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("issued_in", "发证地", Text),
    column("used_in", "认可地", Text),
    column("mode", "互认方式", Text),
    column("conditions_zh", "中文条件", OptionalText),
    column("conditions_en", "英文条件", OptionalText),
    column("effective_from", "生效日期", Text),
    column("effective_to", "截止日期", OptionalText),
    column("status", "状态", Text),
];

const RECOGNITION_LOCAL_PART_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("region", "地区", Text),
    column("local_code", "本地编码", OptionalText),
    column("issuing_department", "发证部门", OptionalText),
    column("accepting_department", "受理部门", OptionalText),
    column("contact", "咨询电话", OptionalText),
    column("online_url", "网上办理地址", OptionalText),
    column("notes", "备注", OptionalText),
    column("verification.method", "核验方式", OptionalText),
    column("verification.lookup_url", "核验地址", OptionalText),
    column("verification.platforms", "互认平台", List),
];

const STANDARD_ITEM_COLUMNS: &[Column] = &[
    column("code", "事项编码", Text),
    column("national_code", "国家基本目录编码", OptionalText),
    column("name_zh", "中文名称", Text),
    column("name_en", "英文名称", Text),
    column("aliases", "别名", List),
    column("item_type", "事项类型", Text),
    column("sector", "行业领域", Text),
    column("conditions_zh", "中文受理条件", Text),
    column("conditions_en", "英文受理条件", Text),
    column("time_limit_days", "承诺时限（工作日）", Count),
    column(
        "statutory_time_limit_days",
        "法定时限（工作日）",
        OptionalCount,
    ),
    column("fee_zh", "中文收费标准", Text),
    column("fee_en", "英文收费标准", Text),
    column("legal_basis", "法律依据", Text),
    column("result_document_zh", "中文办理结果", Text),
    column("result_document_en", "英文办理结果", Text),
    column("status", "状态", Text),
    column("batch", "批次编码", Text),
    column("last_verified_on", "最近核验日", Text),
    column("superseded_by", "取代事项", OptionalText),
];

const PROGRAMME_MEMBERSHIP_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("programme", "服务专区", Text),
    column("batch", "批次编码", Text),
    column("joined_on", "纳入日期", Text),
    column("left_on", "退出日期", OptionalText),
];

const PROCESS_STEP_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("name_zh", "中文环节名称", Text),
    column("name_en", "英文环节名称", Text),
];

const STANDARD_LOCAL_PART_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("region", "地区", Text),
    column("local_code", "本地编码", OptionalText),
    column("department", "实施部门", OptionalText),
    column("online_url", "网上办理地址", OptionalText),
    column("service_hall", "办理大厅", OptionalText),
    column("pilot_zones", "试点区域", List),
    column("implementation_status", "实施状态", Text),
    column("name_zh", "本地中文名称（差异）", OptionalText),
    column("conditions_zh", "本地受理条件（差异）", OptionalText),
    column(OWN_MATERIALS, "本地材料清单（差异）", Flag),
    column("time_limit_days", "本地承诺时限（差异）", OptionalCount),
    column("result_recognised", "结果互认", Flag),
    column("channels", "办理渠道", List),
    column("terminal_identity", "自助终端身份认证", List),
];

const MATERIAL_COLUMNS: &[Column] = &[
    ITEM_CODE,
    column("region", "地区（空为统一标准）", OptionalText),
    column("name_zh", "中文材料名称", Text),
    column("name_en", "英文材料名称", Text),
    column("form", "材料形式", Text),
    column("copies", "份数", Count),
    column("mandatory", "是否必需", Flag),
    column("satisfied_by", "材料来源", Text),
];

const SCENARIO_COLUMNS: &[Column] = &[
    column("code", "场景编码", Text),
    column("name_zh", "中文名称", Text),
    column("name_en", "英文名称", Text),
    column("description_zh", "中文说明", Text),
    column("description_en", "英文说明", Text),
    column("situation_zh", "中文情形", Text),
    column("situation_en", "英文情形", Text),
    column("launched_on", "上线日期", Text),
    column("batch", "批次编码", Text),
    column("status", "状态", Text),
    column("status_since", "状态起始日", OptionalText),
    column("regions", "参与地区", List),
    column("lead_region", "牵头地区", Text),
    column("lead_department", "牵头部门", Text),
    column("recognition_items", "互认事项", List),
    column("standard_items", "同事同标事项", List),
    column("superseded_by", "取代场景", OptionalText),
];

const TARGET_COLUMNS: &[Column] = &[
    column("code", "目标编码", Text),
    column("title_zh", "中文目标", Text),
    column("title_en", "英文目标", Text),
    column("source_document_no", "来源文号", Text),
    column("source_title_zh", "来源文件", Text),
    column("clause", "条款", Text),
    column("metric.counts", "统计对象", Text),
    column("metric.programme", "统计服务专区", OptionalText),
    column("metric.region", "统计地区", OptionalText),
    column("metric.item_kind", "统计事项类型", OptionalText),
    column("metric.window_from", "统计起始日", OptionalText),
    column("metric.window_to", "统计截止日", OptionalText),
    column("target_value", "目标值", Count),
    column("deadline", "完成时限", Text),
    column("lead_unit", "牵头单位", Text),
    column("cooperating_units", "配合单位", List),
];

/// The kinds of entry whose rows fill the sheets, each exported in its own JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Batches.
    Batch,
    /// Recognition items.
    RecognitionItem,
    /// Standard items.
    StandardItem,
    /// Scenarios.
    Scenario,
    /// Targets.
    Target,
}

impl Owner {
    /// Every owner, in the order of the export.
    pub const ALL: [Owner; 5] = [
        Owner::Batch,
        Owner::RecognitionItem,
        Owner::StandardItem,
        Owner::Scenario,
        Owner::Target,
    ];

    /// The JSON export's array of this kind, and the words validation uses for it.
    pub fn json_key(self) -> &'static str {
        match self {
            Owner::Batch => "batches",
            Owner::RecognitionItem => "recognition_items",
            Owner::StandardItem => "standard_items",
            Owner::Scenario => "scenarios",
            Owner::Target => "targets",
        }
    }

    fn validation_prefix(self) -> &'static str {
        match self {
            Owner::Batch => "batch",
            Owner::RecognitionItem => "recognition item",
            Owner::StandardItem => "standard item",
            Owner::Scenario => "scenario",
            Owner::Target => "target",
        }
    }

    /// The sheet of the kind's own fields.
    pub fn sheet(self) -> Sheet {
        match self {
            Owner::Batch => Sheet::Batches,
            Owner::RecognitionItem => Sheet::RecognitionItems,
            Owner::StandardItem => Sheet::StandardItems,
            Owner::Scenario => Sheet::Scenarios,
            Owner::Target => Sheet::Targets,
        }
    }
}

impl Owner {
    /// The lists an entry of this kind keeps, each filled by a sheet of its own.
    fn list_fields(self) -> &'static [&'static str] {
        match self {
            Owner::RecognitionItem => &["arrangements", "local_parts"],
            Owner::StandardItem => &["programmes", "process_steps", "local_parts", "materials"],
            _ => &[],
        }
    }
}

impl Sheet {
    /// Its columns, in order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Sheet::Batches => BATCH_COLUMNS,
            Sheet::RecognitionItems => RECOGNITION_ITEM_COLUMNS,
            Sheet::Arrangements => ARRANGEMENT_COLUMNS,
            Sheet::RecognitionLocalParts => RECOGNITION_LOCAL_PART_COLUMNS,
            Sheet::StandardItems => STANDARD_ITEM_COLUMNS,
            Sheet::ProgrammeMemberships => PROGRAMME_MEMBERSHIP_COLUMNS,
            Sheet::ProcessSteps => PROCESS_STEP_COLUMNS,
            Sheet::StandardLocalParts => STANDARD_LOCAL_PART_COLUMNS,
            Sheet::Materials => MATERIAL_COLUMNS,
            Sheet::Scenarios => SCENARIO_COLUMNS,
            Sheet::Targets => TARGET_COLUMNS,
        }
    }

    /// The header row.
    pub fn headers(self) -> Vec<String> {
        self.columns().iter().map(Column::header).collect()
    }

    /// The kind of entry whose rows fill it.
    pub fn owner(self) -> Owner {
        match self {
            Sheet::Batches => Owner::Batch,
            Sheet::RecognitionItems | Sheet::Arrangements | Sheet::RecognitionLocalParts => {
                Owner::RecognitionItem
            }
            Sheet::StandardItems
            | Sheet::ProgrammeMemberships
            | Sheet::ProcessSteps
            | Sheet::StandardLocalParts
            | Sheet::Materials => Owner::StandardItem,
            Sheet::Scenarios => Owner::Scenario,
            Sheet::Targets => Owner::Target,
        }
    }

    /// For a child sheet, the entry's list its rows are.
    fn list_field(self) -> Option<&'static str> {
        match self {
            Sheet::Arrangements => Some("arrangements"),
            Sheet::RecognitionLocalParts | Sheet::StandardLocalParts => Some("local_parts"),
            Sheet::ProgrammeMemberships => Some("programmes"),
            Sheet::ProcessSteps => Some("process_steps"),
            Sheet::Materials => Some("materials"),
            _ => None,
        }
    }
}

/// Fields of an entry that never travel.
const SERVER_OWNED: &[&str] = &["version", "updated_at", "suspensions"];

/// An entry as it travels: its JSON without the server-owned fields.
pub fn exchanged_entry<T: Serialize>(entry: &T) -> Value {
    let mut value = serde_json::to_value(entry).expect("catalog entries serialise");
    if let Value::Object(fields) = &mut value {
        for field in SERVER_OWNED {
            fields.shift_remove(*field);
        }
    }
    value
}

/// The rows `entry` (an entry of the sheet's owner, as [`exchanged_entry`] gives it)
/// contributes to `sheet`.
pub fn entry_rows(sheet: Sheet, entry: &Value) -> Vec<Vec<String>> {
    let columns = sheet.columns();
    let Some(list) = sheet.list_field() else {
        return vec![columns.iter().map(|c| cell_text(entry, c)).collect()];
    };
    let code = entry
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let child_row = |region: Option<&str>, element: &Value| -> Vec<String> {
        let mut row = vec![code.to_owned()];
        for column in &columns[1..] {
            row.push(match (column.key, region) {
                ("region", Some(region)) if sheet == Sheet::Materials => region.to_owned(),
                (OWN_MATERIALS, _) => {
                    flag_text(element.get("materials").is_some_and(|m| !m.is_null()))
                }
                _ => cell_text(element, column),
            });
        }
        row
    };
    let elements = entry.get(list).and_then(Value::as_array);
    let mut rows: Vec<Vec<String>> = elements
        .into_iter()
        .flatten()
        .map(|element| child_row(None, element))
        .collect();
    if sheet == Sheet::Materials {
        // Then each region's own list, in the order of the local parts.
        for part in entry
            .get("local_parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let region = part.get("region").and_then(Value::as_str).unwrap_or("");
            for material in part
                .get("materials")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                rows.push(child_row(Some(region), material));
            }
        }
    }
    rows
}

fn flag_text(flag: bool) -> String {
    if flag { "true" } else { "false" }.to_owned()
}

fn cell_text(object: &Value, column: &Column) -> String {
    let value = column
        .key
        .split('.')
        .try_fold(object, |value, key| value.get(key));
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(flag)) => flag_text(*flag),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

/// A sheet as read from a file: its header and its rows, every cell as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Which sheet.
    pub sheet: Sheet,
    /// The header row.
    pub header: Vec<String>,
    /// The rows below it.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The row number a spreadsheet program shows for `rows[index]` (the header is 1).
    pub fn row_number(index: usize) -> usize {
        index + 2
    }
}

/// One thing wrong with an import file, as precisely as it can be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportProblem {
    /// The sheet (for JSON: the array, such as `recognition_items`).
    #[schema(example = "arrangements")]
    pub sheet: String,
    /// The row as a spreadsheet program numbers it (the header is row 1); for JSON, the
    /// entry's position in its array, from 1. `null` for a problem of the whole sheet.
    #[schema(example = 7)]
    pub row: Option<usize>,
    /// The column's key (for JSON: the field's path). `null` when no one cell is at fault.
    #[schema(example = "mode")]
    pub column: Option<String>,
    /// The value found, when one cell is at fault.
    #[schema(example = "mutual")]
    pub value: Option<String>,
    /// What is wrong.
    #[schema(
        example = "unknown variant `mutual`, expected one of `direct`, `verified`, `conditional`"
    )]
    pub problem: String,
}

impl ImportProblem {
    /// Where the problem is, in words: `materials row 3 column copies`.
    pub fn place(&self) -> String {
        let mut place = self.sheet.clone();
        if let Some(row) = self.row {
            place.push_str(&format!(" row {row}"));
        }
        if let Some(column) = &self.column {
            place.push_str(&format!(" column {column}"));
        }
        place
    }

    /// What is wrong, with the value found when one cell is at fault.
    pub fn description(&self) -> String {
        match &self.value {
            Some(value) => format!("{} (found `{value}`)", self.problem),
            None => self.problem.clone(),
        }
    }

    fn of_sheet(sheet: &str, problem: impl Into<String>) -> Self {
        Self {
            sheet: sheet.to_owned(),
            row: None,
            column: None,
            value: None,
            problem: problem.into(),
        }
    }
}

/// Where each part of an assembled entry came from, to place its problems.
#[derive(Debug, Default)]
struct Origin {
    /// The sheet and row of the entry's own fields, when the file gives them.
    row: Option<(Sheet, usize)>,
    /// For each list (`arrangements`, `local_parts`, `local_parts[2].materials`…), the
    /// sheet and row of each element the file gives, by position.
    lists: HashMap<String, HashMap<usize, (Sheet, usize)>>,
    /// The lists (and local parts, by region) this file has already replaced: a
    /// file's first row for a list replaces the list the catalog has.
    replaced: HashSet<String>,
}

/// An entry being assembled: its JSON, and where its parts came from.
struct Assembling {
    object: Map<String, Value>,
    origin: Origin,
}

/// What an import file makes of the catalog.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    /// The catalog as the file would leave it: the entries it names replaced or
    /// added, every other entry as it was.
    pub next: CatalogContent,
    /// The entries the file names, in the order of the export.
    pub named: Vec<(Owner, String)>,
}

/// Where the file gives each entry, to place the catalog's problems with it.
#[derive(Debug, Default)]
pub struct EntryRows {
    rows: HashMap<(Owner, String), (String, usize)>,
}

impl EntryRows {
    /// Places a problem reported by the catalog's validation (`"recognition item
    /// RI-1: …"`) on the row of its entry; one it cannot place is the whole file's.
    pub fn place(&self, problem: &str) -> ImportProblem {
        for owner in Owner::ALL {
            let Some(rest) = problem
                .strip_prefix(owner.validation_prefix())
                .and_then(|rest| rest.strip_prefix(' '))
            else {
                continue;
            };
            let code = rest.split(':').next().unwrap_or_default();
            if let Some((sheet, row)) = self.rows.get(&(owner, code.to_owned())) {
                return ImportProblem {
                    sheet: sheet.clone(),
                    row: Some(*row),
                    column: None,
                    value: None,
                    problem: problem.to_owned(),
                };
            }
        }
        ImportProblem::of_sheet("", problem)
    }
}

/// The entries of `content` of one kind, as they travel, by code.
#[cfg(test)]
fn exchanged_entries(content: &CatalogContent, owner: Owner) -> Vec<(String, Value)> {
    fn of<T: Serialize>(entries: &[T], code: impl Fn(&T) -> &str) -> Vec<(String, Value)> {
        entries
            .iter()
            .map(|e| (code(e).to_owned(), exchanged_entry(e)))
            .collect()
    }
    match owner {
        Owner::Batch => of(&content.batches, |b| &b.code),
        Owner::RecognitionItem => of(&content.recognition_items, |i| &i.code),
        Owner::StandardItem => of(&content.standard_items, |i| &i.code),
        Owner::Scenario => of(&content.scenarios, |s| &s.code),
        Owner::Target => of(&content.targets, |t| &t.code),
    }
}

/// Reads tables against the catalog `base`: every cell checked against its column,
/// every row placed in its entry, every entry the file names checked against its
/// type. Returns every problem found, placed on its sheet, row and column.
///
/// A row of an entry's own sheet replaces the entry's own fields (or adds the entry).
/// The rows of a list (arrangements, memberships, steps, shared materials) replace the
/// list of each entry they name; a local part row replaces that region's side only,
/// so a region can import its own sheet alone. Sheets the file does not give leave
/// the catalog as it is.
pub fn assemble_tables(
    base: &CatalogContent,
    tables: &[Table],
) -> Result<(Assembled, EntryRows), Vec<ImportProblem>> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for table in tables {
        if !seen.insert(table.sheet) {
            problems.push(ImportProblem::of_sheet(
                table.sheet.as_str(),
                "the sheet is given twice",
            ));
        }
    }
    let mut next = Building::from(base);
    let mut named: Vec<(Owner, String)> = Vec::new();
    let mut assembling: HashMap<(Owner, String), Assembling> = HashMap::new();
    let mut ordered: Vec<&Table> = tables.iter().collect();
    // Entries before their lists; a region's own materials after its local part.
    ordered.sort_by_key(|t| (t.sheet.list_field().is_some(), t.sheet));
    for table in ordered {
        let sheet = table.sheet;
        let Some(positions) = column_positions(table, &mut problems) else {
            continue;
        };
        let owner = sheet.owner();
        let mut own_rows: HashSet<String> = HashSet::new();
        for (row_index, row) in table.rows.iter().enumerate() {
            if row.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            let row_number = Table::row_number(row_index);
            let Some(mut object) = row_object(sheet, &positions, row, row_number, &mut problems)
            else {
                continue;
            };
            let code = row[positions[0]].trim().to_owned();
            let place = |column: &str, problem: String| ImportProblem {
                sheet: sheet.as_str().to_owned(),
                row: Some(row_number),
                column: Some(column.to_owned()),
                value: Some(code.clone()),
                problem,
            };
            let key = (owner, code.clone());
            if sheet.list_field().is_none() {
                if !own_rows.insert(code.clone()) {
                    problems.push(place("code", "the code is given twice".into()));
                    continue;
                }
                // The entry's lists stay as the catalog has them until a list's rows
                // replace them.
                let current = next.travelling(owner, &code);
                let lists = current.as_ref().and_then(Value::as_object);
                for field in owner.list_fields() {
                    let list = lists
                        .and_then(|fields| fields.get(*field))
                        .cloned()
                        .unwrap_or_else(|| Value::Array(Vec::new()));
                    object.insert((*field).to_owned(), list);
                }
                named.push(key.clone());
                assembling.insert(
                    key,
                    Assembling {
                        object,
                        origin: Origin {
                            row: Some((sheet, row_number)),
                            ..Origin::default()
                        },
                    },
                );
                continue;
            }
            if !assembling.contains_key(&key) {
                let Some(Value::Object(entry)) = next.travelling(owner, &code) else {
                    problems.push(place(
                        ITEM_CODE.key,
                        format!(
                            "no entry with this code in the catalog or in the sheet {}",
                            owner.sheet().as_str()
                        ),
                    ));
                    continue;
                };
                named.push(key.clone());
                assembling.insert(
                    key.clone(),
                    Assembling {
                        object: entry,
                        origin: Origin::default(),
                    },
                );
            }
            let entry = assembling.get_mut(&key).expect("inserted above");
            object.shift_remove(ITEM_CODE.key);
            if let Err(problem) = attach(sheet, entry, object, row_number) {
                problems.push(place("region", problem));
            }
        }
    }
    let mut placed = EntryRows::default();
    named.sort_by_key(|(owner, _)| Owner::ALL.iter().position(|o| o == owner));
    for (owner, code) in &named {
        let Assembling { object, origin } = assembling
            .remove(&(*owner, code.clone()))
            .expect("every named entry is assembling");
        if let Some((sheet, row)) = origin.row {
            placed
                .rows
                .insert((*owner, code.clone()), (sheet.as_str().to_owned(), row));
        }
        if let Err((path, message)) = next.put(*owner, code, object) {
            problems.push(place_type_error(*owner, &origin, &path, message));
        }
    }
    if problems.is_empty() {
        let next = next.content;
        Ok((Assembled { next, named }, placed))
    } else {
        Err(problems)
    }
}

/// Where each entry of a catalog is, by kind and code: finding an entry costs one
/// lookup, however large the catalog.
#[derive(Debug, Default)]
pub struct EntryIndex {
    positions: HashMap<(Owner, String), usize>,
}

impl EntryIndex {
    /// The index of `content`.
    pub fn of(content: &CatalogContent) -> Self {
        let mut positions = HashMap::new();
        let mut add = |owner: Owner, codes: Vec<&str>| {
            for (position, code) in codes.into_iter().enumerate() {
                positions.insert((owner, code.to_owned()), position);
            }
        };
        add(
            Owner::Batch,
            content.batches.iter().map(|e| e.code.as_str()).collect(),
        );
        add(
            Owner::RecognitionItem,
            content
                .recognition_items
                .iter()
                .map(|e| e.code.as_str())
                .collect(),
        );
        add(
            Owner::StandardItem,
            content
                .standard_items
                .iter()
                .map(|e| e.code.as_str())
                .collect(),
        );
        add(
            Owner::Scenario,
            content.scenarios.iter().map(|e| e.code.as_str()).collect(),
        );
        add(
            Owner::Target,
            content.targets.iter().map(|e| e.code.as_str()).collect(),
        );
        Self { positions }
    }

    /// The travelling JSON and version of entry `code` of kind `owner` in `content`
    /// (the catalog this index is of).
    pub fn entry(
        &self,
        content: &CatalogContent,
        owner: Owner,
        code: &str,
    ) -> Option<(Value, i64)> {
        let &at = self.positions.get(&(owner, code.to_owned()))?;
        Some(match owner {
            Owner::Batch => (exchanged_entry(&content.batches[at]), 0),
            Owner::RecognitionItem => {
                let item = &content.recognition_items[at];
                (exchanged_entry(item), item.version)
            }
            Owner::StandardItem => {
                let item = &content.standard_items[at];
                (exchanged_entry(item), item.version)
            }
            Owner::Scenario => {
                let scenario = &content.scenarios[at];
                (exchanged_entry(scenario), scenario.version)
            }
            Owner::Target => {
                let target = &content.targets[at];
                (exchanged_entry(target), target.version)
            }
        })
    }
}

/// The catalog an import makes, and where each of its entries is.
struct Building {
    content: CatalogContent,
    index: EntryIndex,
}

impl Building {
    fn from(base: &CatalogContent) -> Self {
        Self {
            content: base.clone(),
            index: EntryIndex::of(base),
        }
    }

    /// The entry as it travels, as the catalog has it so far.
    fn travelling(&self, owner: Owner, code: &str) -> Option<Value> {
        self.index
            .entry(&self.content, owner, code)
            .map(|(entry, _)| entry)
    }

    /// Puts `object` in as the entry `code` of kind `owner` (replacing the one with that
    /// code, or added last), or says where it does not fit its type.
    fn put(
        &mut self,
        owner: Owner,
        code: &str,
        object: Map<String, Value>,
    ) -> Result<(), (String, String)> {
        fn put_in<T: serde::de::DeserializeOwned>(
            entries: &mut Vec<T>,
            at: Option<usize>,
            object: Map<String, Value>,
        ) -> Result<usize, (String, String)> {
            let entry: T =
                serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
                    let path = e.path().to_string();
                    (path, e.into_inner().to_string())
                })?;
            Ok(match at {
                Some(at) => {
                    entries[at] = entry;
                    at
                }
                None => {
                    entries.push(entry);
                    entries.len() - 1
                }
            })
        }
        let key = (owner, code.to_owned());
        let at = self.index.positions.get(&key).copied();
        let content = &mut self.content;
        let position = match owner {
            Owner::Batch => put_in(&mut content.batches, at, object),
            Owner::RecognitionItem => put_in(&mut content.recognition_items, at, object),
            Owner::StandardItem => put_in(&mut content.standard_items, at, object),
            Owner::Scenario => put_in(&mut content.scenarios, at, object),
            Owner::Target => put_in(&mut content.targets, at, object),
        }?;
        self.index.positions.insert(key, position);
        Ok(())
    }
}

/// Each column's position in the table, or `None` (with problems) when the header
/// is not the sheet's.
fn column_positions(table: &Table, problems: &mut Vec<ImportProblem>) -> Option<Vec<usize>> {
    let sheet = table.sheet.as_str();
    let before = problems.len();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (position, header) in table.header.iter().enumerate() {
        let key = header_key(header);
        let Some(column) = table.sheet.columns().iter().find(|c| c.key == key) else {
            problems.push(ImportProblem {
                sheet: sheet.to_owned(),
                row: Some(1),
                column: Some(header.clone()),
                value: None,
                problem: format!(
                    "no such column in this sheet; its columns are {}",
                    table.sheet.headers().join(", ")
                ),
            });
            continue;
        };
        if by_key.insert(column.key, position).is_some() {
            problems.push(ImportProblem {
                sheet: sheet.to_owned(),
                row: Some(1),
                column: Some(column.key.into()),
                value: None,
                problem: "the column is given twice".into(),
            });
        }
    }
    let positions = table
        .sheet
        .columns()
        .iter()
        .filter_map(|column| {
            let position = by_key.get(column.key).copied();
            if position.is_none() {
                problems.push(ImportProblem {
                    sheet: sheet.to_owned(),
                    row: Some(1),
                    column: Some(column.key.into()),
                    value: None,
                    problem: format!("the column {} is missing", column.header()),
                });
            }
            position
        })
        .collect();
    (problems.len() == before).then_some(positions)
}

/// The key a header names: the part in full-width brackets (`中文名称（name_zh）`), or
/// the whole header when it is the bare key.
fn header_key(header: &str) -> &str {
    let header = header.trim();
    header
        .strip_suffix('）')
        .and_then(|rest| rest.rsplit_once('（'))
        .map_or(header, |(_, key)| key.trim())
}

/// A row as the JSON object of its entry or list element (nested keys expanded), or
/// `None` with the problems of its cells.
fn row_object(
    sheet: Sheet,
    positions: &[usize],
    row: &[String],
    row_number: usize,
    problems: &mut Vec<ImportProblem>,
) -> Option<Map<String, Value>> {
    let mut object = Map::new();
    let mut fine = true;
    for (column, &position) in sheet.columns().iter().zip(positions) {
        let text = row.get(position).map_or("", String::as_str);
        let value = match cell_value(column.cell, text) {
            Ok(value) => value,
            Err(problem) => {
                problems.push(ImportProblem {
                    sheet: sheet.as_str().to_owned(),
                    row: Some(row_number),
                    column: Some(column.key.into()),
                    value: Some(text.to_owned()),
                    problem,
                });
                fine = false;
                continue;
            }
        };
        if column.key == ITEM_CODE.key && sheet.list_field().is_some() {
            continue;
        }
        insert_path(&mut object, column.key, value);
    }
    // A nested object whose every cell is empty is absent (`verification`).
    for (_, value) in object.iter_mut() {
        if let Value::Object(nested) = value
            && nested
                .values()
                .all(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
        {
            *value = Value::Null;
        }
    }
    fine.then_some(object)
}

fn insert_path(object: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            object.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let nested = object
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(nested) = nested {
                insert_path(nested, rest, value);
            }
        }
    }
}

/// A cell's text as the JSON value of its column.
fn cell_value(cell: CellType, text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let optional = |value: Value| {
        if trimmed.is_empty() {
            Value::Null
        } else {
            value
        }
    };
    match cell {
        CellType::Text if trimmed.is_empty() => Err("a value is required".into()),
        CellType::Text | CellType::OptionalText => Ok(optional(Value::String(text.to_owned()))),
        CellType::Count | CellType::OptionalCount => {
            if trimmed.is_empty() {
                return if cell == CellType::Count {
                    Err("a value is required".into())
                } else {
                    Ok(Value::Null)
                };
            }
            trimmed
                .parse::<u32>()
                .map(Value::from)
                .map_err(|_| "a whole number from 0 is expected".into())
        }
        CellType::Flag => match trimmed {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("true or false is expected".into()),
        },
        CellType::List => Ok(Value::Array(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| Value::String(line.to_owned()))
                .collect(),
        )),
    }
}

/// Adds a child row to its entry. A list's first row in the file replaces the list;
/// a local part replaces that region's side; a material with a region goes to that
/// region's own list.
fn attach(
    sheet: Sheet,
    entry: &mut Assembling,
    mut element: Map<String, Value>,
    row_number: usize,
) -> Result<(), String> {
    let Assembling { object, origin } = entry;
    let mut field = sheet
        .list_field()
        .expect("child sheets have a list")
        .to_owned();
    if sheet == Sheet::StandardLocalParts {
        let own = element.shift_remove(OWN_MATERIALS) == Some(Value::Bool(true));
        // Kept as the catalog has them (or empty) until the materials sheet's rows.
        element.insert(
            "materials".into(),
            if own { json!([]) } else { Value::Null },
        );
    }
    let region = element
        .get("region")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let local_parts = || -> Vec<Value> {
        object
            .get("local_parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let position_of = |parts: &[Value], region: &str| {
        parts
            .iter()
            .position(|p| p.get("region").and_then(Value::as_str) == Some(region))
    };
    if matches!(
        sheet,
        Sheet::RecognitionLocalParts | Sheet::StandardLocalParts
    ) {
        let region = region.unwrap_or_default();
        let slot = format!("local_parts/{region}");
        if !origin.replaced.insert(slot) {
            return Err(format!("{region}'s local part of this item is given twice"));
        }
        let mut parts = local_parts();
        let position = match position_of(&parts, &region) {
            Some(position) => {
                if sheet == Sheet::StandardLocalParts
                    && !element["materials"].is_null()
                    && let Some(materials) = parts[position].get("materials")
                    && !materials.is_null()
                {
                    element.insert("materials".into(), materials.clone());
                }
                parts[position] = Value::Object(element);
                position
            }
            None => {
                parts.push(Value::Object(element));
                parts.len() - 1
            }
        };
        object.insert("local_parts".into(), Value::Array(parts));
        origin
            .lists
            .entry(field)
            .or_default()
            .insert(position, (sheet, row_number));
        return Ok(());
    }
    element.shift_remove("region");
    let list = match (sheet, region) {
        (Sheet::Materials, Some(region)) => {
            let parts = object
                .get_mut("local_parts")
                .and_then(Value::as_array_mut)
                .ok_or("the item has no local parts")?;
            let Some(position) = position_of(parts, &region) else {
                return Err(format!(
                    "the item has no local part of {region} in the catalog or in the sheet standard_local_parts"
                ));
            };
            field = format!("local_parts[{position}].materials");
            match parts[position].get_mut("materials") {
                Some(Value::Array(list)) => list,
                _ => {
                    return Err(format!(
                        "{region}'s local part does not keep its own materials ({OWN_MATERIALS} is false)"
                    ));
                }
            }
        }
        _ => match object.get_mut(&field) {
            Some(Value::Array(list)) => list,
            _ => return Err("the entry cannot hold this row".into()),
        },
    };
    if origin.replaced.insert(field.clone()) {
        list.clear();
    }
    list.push(Value::Object(element));
    origin
        .lists
        .entry(field)
        .or_default()
        .insert(list.len() - 1, (sheet, row_number));
    Ok(())
}

/// Places a type error at `path` (`arrangements[2].mode`) on the row it came from.
fn place_type_error(owner: Owner, origin: &Origin, path: &str, problem: String) -> ImportProblem {
    // The longest list path the error's path starts with names the child row.
    let child = origin
        .lists
        .iter()
        .filter_map(|(list, rows)| {
            let rest = path.strip_prefix(list.as_str())?.strip_prefix('[')?;
            let (position, rest) = rest.split_once(']')?;
            let (sheet, row) = rows.get(&position.parse::<usize>().ok()?)?;
            Some((list.len(), *sheet, *row, rest.trim_start_matches('.')))
        })
        .max_by_key(|(length, ..)| *length);
    let (sheet, row, column) = match child {
        Some((_, sheet, row, column)) => (sheet, Some(row), column),
        None => match origin.row {
            Some((sheet, row)) => (sheet, Some(row), path),
            None => (owner.sheet(), None, path),
        },
    };
    ImportProblem {
        sheet: sheet.as_str().to_owned(),
        row,
        column: (!column.is_empty() && column != ".").then(|| column.to_owned()),
        value: None,
        problem,
    }
}

/// Reads the JSON export's layout against the catalog `base`: an object whose arrays
/// (`batches`, `recognition_items`, `standard_items`, `scenarios`, `targets`) hold
/// whole entries as the export gives them; each replaces the entry with its code or
/// is added. Returns every problem found, placed on its array, position and field.
pub fn assemble_json(
    base: &CatalogContent,
    document: &Value,
) -> Result<(Assembled, EntryRows), Vec<ImportProblem>> {
    let Value::Object(arrays) = document else {
        return Err(vec![ImportProblem::of_sheet(
            "",
            "the file must be a JSON object of arrays of entries",
        )]);
    };
    let mut problems = Vec::new();
    let mut next = Building::from(base);
    let mut named = Vec::new();
    let mut placed = EntryRows::default();
    for (key, entries) in arrays {
        let Some(owner) = Owner::ALL.into_iter().find(|o| o.json_key() == key) else {
            problems.push(ImportProblem::of_sheet(
                key,
                format!(
                    "no such array; the arrays are {}",
                    Owner::ALL.map(Owner::json_key).join(", ")
                ),
            ));
            continue;
        };
        let Value::Array(entries) = entries else {
            problems.push(ImportProblem::of_sheet(key, "must be an array of entries"));
            continue;
        };
        for (index, entry) in entries.iter().enumerate() {
            let mut place = |column: Option<String>, problem: String| {
                problems.push(ImportProblem {
                    sheet: key.clone(),
                    row: Some(index + 1),
                    column,
                    value: None,
                    problem,
                })
            };
            let Value::Object(object) = entry else {
                place(None, "an entry must be a JSON object".into());
                continue;
            };
            if let Some(field) = SERVER_OWNED.iter().find(|f| object.contains_key(**f)) {
                place(
                    Some((*field).to_owned()),
                    "the registry keeps this field; leave it out".into(),
                );
                continue;
            }
            let Some(code) = object.get("code").and_then(Value::as_str) else {
                place(Some("code".into()), "a code is required".into());
                continue;
            };
            if placed
                .rows
                .insert((owner, code.to_owned()), (key.clone(), index + 1))
                .is_some()
            {
                place(Some("code".into()), "the code is given twice".into());
                continue;
            }
            named.push((owner, code.to_owned()));
            if let Err((path, message)) = next.put(owner, code, object.clone()) {
                place(Some(path).filter(|p| !p.is_empty() && p != "."), message);
            }
        }
    }
    if problems.is_empty() {
        named.sort_by_key(|(owner, _)| Owner::ALL.iter().position(|o| o == owner));
        let next = next.content;
        Ok((Assembled { next, named }, placed))
    } else {
        Err(problems)
    }
}

/// The JSON export: an array per kind of entry, each entry as the API serves it but
/// without `version`, `updated_at` and `suspensions`. An import may give any of the
/// arrays; each entry in it replaces the entry with its code or is added.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // describes the document for the OpenAPI description only
pub struct ExportDocument {
    /// Published batches.
    batches: Vec<Batch>,
    /// Recognition items with their arrangements and local parts.
    recognition_items: Vec<RecognitionItem>,
    /// Standard items with their local parts.
    standard_items: Vec<StandardItem>,
    /// Scenarios.
    scenarios: Vec<Scenario>,
    /// Targets.
    targets: Vec<Target>,
}

/// Which entries an export holds. Batches are always whole (entries cite them); the
/// sector filter narrows items, the region filter items and scenarios.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only these kinds (every kind when empty).
    pub owners: Vec<Owner>,
    /// Only items of this sector.
    pub sector: Option<String>,
    /// Only items and scenarios in which this region takes part.
    pub region: Option<RegionCode>,
}

impl ExportFilter {
    /// Whether entries of `owner` are exported at all.
    pub fn exports(&self, owner: Owner) -> bool {
        self.owners.is_empty() || self.owners.contains(&owner)
    }

    fn admits_item(&self, sector: &str, mut regions: impl Iterator<Item = RegionCode>) -> bool {
        self.sector.as_deref().is_none_or(|s| s == sector)
            && self
                .region
                .as_ref()
                .is_none_or(|region| regions.any(|r| &r == region))
    }
}

/// How many entries of `owner` the catalog has.
pub fn entry_count(catalog: &Catalog, owner: Owner) -> usize {
    match owner {
        Owner::Batch => catalog.batches().len(),
        Owner::RecognitionItem => catalog.recognition_items().len(),
        Owner::StandardItem => catalog.standard_items().len(),
        Owner::Scenario => catalog.scenarios().len(),
        Owner::Target => catalog.targets().len(),
    }
}

/// The `index`th entry of `owner` as it travels, if `filter` admits it.
pub fn exported_entry(
    catalog: &Catalog,
    owner: Owner,
    index: usize,
    filter: &ExportFilter,
) -> Option<Value> {
    if !filter.exports(owner) {
        return None;
    }
    match owner {
        Owner::Batch => catalog.batches().get(index).map(exchanged_entry),
        Owner::RecognitionItem => catalog
            .recognition_items()
            .get(index)
            .filter(|item| filter.admits_item(&item.sector, item.regions.iter().cloned()))
            .map(exchanged_entry),
        Owner::StandardItem => catalog
            .standard_items()
            .get(index)
            .filter(|item| {
                filter.admits_item(
                    &item.sector,
                    item.local_parts.iter().map(|p| p.region.clone()),
                )
            })
            .map(exchanged_entry),
        Owner::Scenario => catalog
            .scenarios()
            .get(index)
            .filter(|s| {
                filter
                    .region
                    .as_ref()
                    .is_none_or(|region| s.regions.contains(region))
            })
            .map(exchanged_entry),
        Owner::Target => catalog.targets().get(index).map(exchanged_entry),
    }
}

/// The rows of `sheet` the `index`th entry of the sheet's kind gives, if `filter`
/// admits it.
pub fn exported_rows(
    catalog: &Catalog,
    sheet: Sheet,
    index: usize,
    filter: &ExportFilter,
) -> Vec<Vec<String>> {
    exported_entry(catalog, sheet.owner(), index, filter)
        .map(|entry| entry_rows(sheet, &entry))
        .unwrap_or_default()
}

/// Every sheet of the export of `catalog`, whole.
pub fn export_tables(catalog: &Catalog, filter: &ExportFilter) -> Vec<Table> {
    Sheet::ALL
        .iter()
        .filter(|sheet| filter.exports(sheet.owner()))
        .map(|&sheet| Table {
            sheet,
            header: sheet.headers(),
            rows: (0..entry_count(catalog, sheet.owner()))
                .flat_map(|index| exported_rows(catalog, sheet, index, filter))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample;

    fn sample_catalog() -> Catalog {
        Catalog::build(sample()).unwrap()
    }

    fn reference_only() -> CatalogContent {
        CatalogContent {
            batches: Vec::new(),
            recognition_items: Vec::new(),
            standard_items: Vec::new(),
            scenarios: Vec::new(),
            targets: Vec::new(),
            ..sample()
        }
    }

    /// Asserts that two catalogs hold the same entries as they travel (in any order),
    /// naming the first that differs.
    fn assert_same_entries(found: &CatalogContent, expected: &CatalogContent) {
        for owner in Owner::ALL {
            let found: std::collections::BTreeMap<_, _> =
                exchanged_entries(found, owner).into_iter().collect();
            let expected: std::collections::BTreeMap<_, _> =
                exchanged_entries(expected, owner).into_iter().collect();
            assert_eq!(
                found.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "{owner:?}"
            );
            for (code, entry) in &expected {
                assert_eq!(&found[code], entry, "{owner:?} {code}");
            }
        }
    }

    fn find_item<'c>(content: &'c CatalogContent, code: &str) -> &'c RecognitionItem {
        content
            .recognition_items
            .iter()
            .find(|i| i.code == code)
            .unwrap()
    }

    fn table(tables: &mut [Table], sheet: Sheet) -> &mut Table {
        tables.iter_mut().find(|t| t.sheet == sheet).unwrap()
    }

    #[test]
    fn the_sheets_of_an_export_read_back_into_the_same_catalog() {
        let tables = export_tables(&sample_catalog(), &ExportFilter::default());
        assert_eq!(tables.len(), Sheet::ALL.len());
        let (assembled, _) = assemble_tables(&reference_only(), &tables).unwrap();
        assert_same_entries(&assembled.next, &sample());
        // Every entry of the file is named, in the order of the export.
        let content = sample();
        let expected = content.batches.len()
            + content.recognition_items.len()
            + content.standard_items.len()
            + content.scenarios.len()
            + content.targets.len();
        assert_eq!(assembled.named.len(), expected);
        assert_eq!(
            assembled.named[0],
            (Owner::Batch, content.batches[0].code.clone())
        );
        // A region's own materials list travels too (a deviation of the sample).
        assert!(
            table(
                &mut export_tables(&sample_catalog(), &ExportFilter::default()),
                Sheet::Materials
            )
            .rows
            .iter()
            .any(|row| !row[1].is_empty())
        );
    }

    #[test]
    fn reimporting_an_export_changes_nothing() {
        let tables = export_tables(&sample_catalog(), &ExportFilter::default());
        let (assembled, _) = assemble_tables(&sample(), &tables).unwrap();
        assert_same_entries(&assembled.next, &sample());
    }

    #[test]
    fn a_local_part_sheet_alone_replaces_only_that_regions_side() {
        let catalog = sample_catalog();
        let item = &catalog.recognition_items()[0];
        let mut parts = Table {
            sheet: Sheet::RecognitionLocalParts,
            header: Sheet::RecognitionLocalParts.headers(),
            rows: exported_rows(
                &catalog,
                Sheet::RecognitionLocalParts,
                0,
                &ExportFilter::default(),
            ),
        };
        let region = parts.rows[1][1].clone();
        parts.rows.retain(|row| row[1] == region);
        parts.rows[0][5] = "022-5555-0000".into();
        let (assembled, _) = assemble_tables(&sample(), &[parts]).unwrap();
        assert_eq!(
            assembled.named,
            vec![(Owner::RecognitionItem, item.code.clone())]
        );
        let changed = find_item(&assembled.next, &item.code);
        let mut expected = item.clone();
        let side = expected
            .local_parts
            .iter_mut()
            .find(|p| p.region.as_str() == region)
            .unwrap();
        side.contact = Some("022-5555-0000".into());
        assert_eq!(changed, &expected);
    }

    #[test]
    fn list_rows_replace_the_list_of_the_entries_they_name() {
        let catalog = sample_catalog();
        let item = &catalog.recognition_items()[0];
        let mut rows = exported_rows(&catalog, Sheet::Arrangements, 0, &ExportFilter::default());
        assert!(rows.len() > 1);
        rows.truncate(1);
        let arrangements = Table {
            sheet: Sheet::Arrangements,
            header: Sheet::Arrangements.headers(),
            rows,
        };
        let (assembled, _) = assemble_tables(&sample(), &[arrangements]).unwrap();
        let changed = find_item(&assembled.next, &item.code);
        assert_eq!(changed.arrangements, item.arrangements[..1]);
        assert_eq!(changed.local_parts, item.local_parts);
        let other = &catalog.recognition_items()[1];
        assert_eq!(find_item(&assembled.next, &other.code), other);
    }

    #[test]
    fn each_problem_is_placed_on_its_sheet_row_and_column() {
        let mut tables = export_tables(&sample_catalog(), &ExportFilter::default());
        table(&mut tables, Sheet::Arrangements).rows[2][3] = "mutual".into();
        table(&mut tables, Sheet::Materials).rows[0][5] = "two".into();
        table(&mut tables, Sheet::StandardLocalParts).rows[1][0] = "SI-NOPE".into();
        table(&mut tables, Sheet::Targets).rows[0][6] = String::new();
        table(&mut tables, Sheet::Scenarios).header[1] = "名称（name）".into();
        let problems = assemble_tables(&reference_only(), &tables).unwrap_err();
        let found = |sheet: &str, row: Option<usize>, column: &str| {
            problems
                .iter()
                .find(|p| p.sheet == sheet && p.row == row && p.column.as_deref() == Some(column))
                .unwrap_or_else(|| panic!("no problem at {sheet} {row:?} {column}: {problems:#?}"))
        };
        let mode = found("arrangements", Some(4), "mode");
        assert!(
            mode.problem.contains("unknown variant `mutual`"),
            "{mode:?}"
        );
        let copies = found("materials", Some(2), "copies");
        assert_eq!(copies.value.as_deref(), Some("two"));
        assert_eq!(copies.problem, "a whole number from 0 is expected");
        let orphan = found("standard_local_parts", Some(3), "item_code");
        assert_eq!(orphan.value.as_deref(), Some("SI-NOPE"));
        assert_eq!(
            found("targets", Some(2), "metric.counts").problem,
            "a value is required"
        );
        let header = found("scenarios", Some(1), "名称（name）");
        assert!(header.problem.starts_with("no such column"), "{header:?}");
        assert!(
            found("scenarios", Some(1), "name_zh")
                .problem
                .contains("missing")
        );
        assert_eq!(problems.len(), 6, "{problems:#?}");
    }

    #[test]
    fn a_header_is_its_label_and_key_or_the_bare_key() {
        assert_eq!(header_key("中文名称（name_zh）"), "name_zh");
        assert_eq!(header_key(" name_zh "), "name_zh");
        assert_eq!(RECOGNITION_ITEM_COLUMNS[1].header(), "中文名称（name_zh）");
    }

    #[test]
    fn the_json_layout_reads_back_into_the_same_catalog_and_refuses_server_fields() {
        let catalog = sample_catalog();
        let mut document = Map::new();
        for owner in Owner::ALL {
            let entries = (0..entry_count(&catalog, owner))
                .filter_map(|i| exported_entry(&catalog, owner, i, &ExportFilter::default()))
                .collect();
            document.insert(owner.json_key().into(), Value::Array(entries));
        }
        let document = Value::Object(document);
        let (assembled, _) = assemble_json(&reference_only(), &document).unwrap();
        assert_same_entries(&assembled.next, &sample());

        let mut wrong = document.clone();
        wrong["recognition_items"][1]["version"] = json!(3);
        wrong["scenarios"][0]["status"] = json!("paused");
        wrong["extras"] = json!([]);
        let problems = assemble_json(&reference_only(), &wrong).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.sheet.as_str(), p.row, p.column.as_deref()))
                .collect::<Vec<_>>(),
            vec![
                ("recognition_items", Some(2), Some("version")),
                ("scenarios", Some(1), Some("status")),
                ("extras", None, None),
            ]
        );
    }

    #[test]
    fn filters_narrow_items_and_scenarios_but_keep_every_batch() {
        let catalog = sample_catalog();
        let filter = ExportFilter {
            owners: Vec::new(),
            sector: Some(catalog.recognition_items()[0].sector.clone()),
            region: None,
        };
        let tables = export_tables(&catalog, &filter);
        let items = &tables[1];
        assert_eq!(items.sheet, Sheet::RecognitionItems);
        let expected = catalog
            .recognition_items()
            .iter()
            .filter(|i| i.sector == catalog.recognition_items()[0].sector)
            .count();
        assert_eq!(items.rows.len(), expected);
        assert!(expected < catalog.recognition_items().len());
        assert_eq!(tables[0].rows.len(), catalog.batches().len());
        let only_targets = ExportFilter {
            owners: vec![Owner::Target],
            ..ExportFilter::default()
        };
        let tables = export_tables(&catalog, &only_targets);
        assert_eq!(
            tables.iter().map(|t| t.sheet).collect::<Vec<_>>(),
            vec![Sheet::Targets]
        );
    }
}
