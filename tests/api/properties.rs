//! Hostile input for the parsers that read what clients and operators write: the cursor,
//! the search normaliser, the date parser, the import readers, the config parser and the
//! bearer-token extractor. Arbitrary input never panics and every error says what is
//! wrong. (cargo fuzz needs a nightly toolchain, which this project's machines do not
//! have; proptest runs on stable, in every test run.)

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use jjj_registry::auth::{Authenticator, Secret};
use jjj_registry::domain::exchange::Sheet;
use jjj_registry::domain::search::{SearchKeys, fold_for_search};
use jjj_registry::formats::{read_csv, read_xlsx};
use jjj_registry::http::pagination::{encode_cursor, fingerprint, page_request};
use jjj_registry::http::recognition_status::parse_day;
use jjj_registry::settings::{Settings, parse_config_file};
use proptest::prelude::*;

/// 512 cases each, from a fixed seed so that a run of the suite is repeatable (a failure
/// seen once is seen again); `PROPTEST_RNG_SEED=<n>` explores other inputs.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(20_261_202);
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_cursor_is_read_back_or_refused_naming_the_parameter(
        cursor in ".{0,80}",
        limit in ".{0,6}",
        code in "[A-Z0-9-]{1,20}",
    ) {
        let query = fingerprint(&[Some("TJ"), None]);
        match page_request(Some(&limit), Some(&cursor), &query) {
            Ok(page) => prop_assert!((1..=200).contains(&page.limit)),
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains("`limit`") || message.contains("`cursor`"), "{message}");
            }
        }
        // A cursor the registry wrote reads back to the same place, for the same query only.
        let written = encode_cursor(&code, &query);
        let page = page_request(None, Some(&written), &query).unwrap();
        prop_assert_eq!(page.after.as_deref(), Some(code.as_str()));
        let other = fingerprint(&[Some("HE"), None]);
        prop_assert!(page_request(None, Some(&written), &other).is_err());
    }

    #[test]
    fn any_text_is_found_by_its_own_words(text in "\\PC{0,40}") {
        let folded = fold_for_search(&text);
        let keys = SearchKeys::new([text.as_str()]);
        if !folded.is_empty() {
            prop_assert!(keys.matches(&folded), "{text:?} folded to {folded:?}");
        }
        // Folding is stable: a folded query folds to itself.
        prop_assert_eq!(fold_for_search(&folded), folded);
    }

    #[test]
    fn a_day_parses_only_when_it_is_exactly_that_day(text in "[0-9-]{0,12}|.{0,12}") {
        if let Some(day) = parse_day(&text) {
            prop_assert_eq!(day.format("%Y-%m-%d").to_string(), text);
        }
    }

    #[test]
    fn every_day_reads_back(days in 0i64..3_000_000) {
        let day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Duration::days(days);
        prop_assume!(day.year() <= 9999);
        prop_assert_eq!(parse_day(&day.format("%Y-%m-%d").to_string()), Some(day));
    }

    #[test]
    fn a_csv_sheet_of_any_bytes_is_read_or_refused_with_placed_problems(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        header in proptest::bool::ANY,
    ) {
        let sheet = Sheet::Arrangements;
        let mut input = Vec::new();
        if header {
            input.extend_from_slice(&jjj_registry::formats::csv_header(sheet));
        }
        input.extend_from_slice(&bytes);
        if let Err(problems) = read_csv(sheet, &input) {
            prop_assert!(!problems.is_empty());
            for problem in problems {
                prop_assert!(!problem.problem.trim().is_empty());
            }
        }
    }

    #[test]
    fn a_workbook_of_any_bytes_is_refused_with_a_reason(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        zip_magic in proptest::bool::ANY,
    ) {
        let mut input = if zip_magic { b"PK\x03\x04".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let problems = read_xlsx(input).err().unwrap_or_default();
        for problem in problems {
            prop_assert!(!problem.problem.trim().is_empty());
        }
    }

    #[test]
    fn a_config_file_of_any_text_is_read_or_refused_naming_the_line(text in "(\\PC{0,30}\n){0,6}") {
        match parse_config_file(Path::new("registry.env"), &text) {
            Ok(values) => {
                // Whatever was read goes through the same checks as the environment.
                let _ = Settings::from_layers(&values, &Default::default());
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.starts_with("config file registry.env, line "), "{message}");
            }
        }
    }

    #[test]
    fn any_setting_value_is_taken_or_refused_naming_the_setting(
        index in 0usize..jjj_registry::settings::SETTINGS.len(),
        value in "\\PC{0,24}",
    ) {
        let key = jjj_registry::settings::SETTINGS[index].key;
        let environment = [(key.to_owned(), value.clone())].into_iter().collect();
        if let Err(error) = Settings::from_layers(&Default::default(), &environment) {
            let message = error.to_string();
            prop_assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn any_authorization_header_is_refused_with_a_reason(
        values in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..120),
                "(Bearer|bearer|Basic) [A-Za-z0-9_.=-]{0,120}".prop_map(String::into_bytes),
                "Bearer [A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,40}".prop_map(String::into_bytes),
            ],
            0..3,
        ),
    ) {
        let secret = Secret::new("property-test-development-secret-0123456789".into()).unwrap();
        let authenticator = Authenticator::load(None, Some(&secret)).unwrap();
        let headers: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let refused = authenticator.authenticate(&headers).unwrap_err();
        prop_assert!(!refused.0.trim().is_empty());
    }
}
