//! The bundled sample catalog (示例数据): realistic but illustrative entries, labelled as
//! a sample in every batch's document number, never the official list. The JSON files
//! under `sample/` are embedded so that the binary alone can load them.

use crate::domain::catalog::{
    Batch, CatalogContent, RecognitionItem, Scenario, StandardItem, Target,
};

const BATCHES: &str = include_str!("../sample/batches.json");
const RECOGNITION_ITEMS: &str = include_str!("../sample/recognition-items.json");
const STANDARD_ITEMS: &str = include_str!("../sample/standard-items.json");
const SCENARIOS: &str = include_str!("../sample/scenarios.json");
const TARGETS: &str = include_str!("../sample/targets.json");

/// The sample entries (regions, sectors and programmes come from the database's
/// reference data).
pub fn sample_entries() -> Result<CatalogContent, String> {
    fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| format!("sample/{file}: {e}"))
    }
    let batches: Vec<Batch> = parse("batches.json", BATCHES)?;
    let recognition_items: Vec<RecognitionItem> =
        parse("recognition-items.json", RECOGNITION_ITEMS)?;
    let standard_items: Vec<StandardItem> = parse("standard-items.json", STANDARD_ITEMS)?;
    let scenarios: Vec<Scenario> = parse("scenarios.json", SCENARIOS)?;
    let targets: Vec<Target> = parse("targets.json", TARGETS)?;
    Ok(CatalogContent {
        regions: Vec::new(),
        sectors: Vec::new(),
        batches,
        recognition_items,
        standard_items,
        scenarios,
        programmes: Vec::new(),
        targets,
    })
}
