//! Diesel table definitions, written by hand to match both migration folders
//! (`migrations/sqlite`, `migrations/postgres`); `tests/api/schema.rs` checks that the
//! two backends define the same columns.

diesel::table! {
    regions (code) {
        code -> Text,
        gb_code -> Text,
        name_zh -> Text,
        name_en -> Text,
        short_name_zh -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    catalog_state (id) {
        id -> Integer,
        generation -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sectors (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    batches (code) {
        code -> Text,
        document_no -> Text,
        title_zh -> Text,
        title_en -> Text,
        published_on -> Date,
        publishes -> Text,
        programmes -> Text,
    }
}

diesel::table! {
    recognition_items (code) {
        code -> Text,
        version -> BigInt,
        name_zh -> Text,
        name_en -> Text,
        aliases -> Text,
        kind -> Text,
        sector_code -> Text,
        legal_basis -> Text,
        status -> Text,
        status_since -> Nullable<Date>,
        batch_code -> Text,
        last_verified_on -> Date,
        updated_at -> Timestamp,
        superseded_by -> Nullable<Text>,
    }
}

diesel::table! {
    recognition_local_parts (item_code, region_code) {
        item_code -> Text,
        region_code -> Text,
        local_code -> Nullable<Text>,
        issuing_department -> Nullable<Text>,
        accepting_department -> Nullable<Text>,
        contact -> Nullable<Text>,
        online_url -> Nullable<Text>,
        notes -> Nullable<Text>,
        updated_at -> Timestamp,
        verification_method -> Nullable<Text>,
        verification_url -> Nullable<Text>,
        verification_platforms -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    arrangements (item_code, issuer_region, acceptor_region, effective_from) {
        item_code -> Text,
        issuer_region -> Text,
        acceptor_region -> Text,
        effective_from -> Date,
        effective_to -> Nullable<Date>,
        mode -> Text,
        conditions_zh -> Nullable<Text>,
        conditions_en -> Nullable<Text>,
        status -> Text,
    }
}

diesel::table! {
    standard_items (code) {
        code -> Text,
        version -> BigInt,
        national_code -> Nullable<Text>,
        name_zh -> Text,
        name_en -> Text,
        aliases -> Text,
        item_type -> Text,
        sector_code -> Text,
        conditions_zh -> Text,
        conditions_en -> Text,
        materials -> Text,
        time_limit_days -> Integer,
        statutory_time_limit_days -> Nullable<Integer>,
        fee_zh -> Text,
        fee_en -> Text,
        legal_basis -> Text,
        process_steps -> Text,
        result_document_zh -> Text,
        result_document_en -> Text,
        status -> Text,
        batch_code -> Text,
        last_verified_on -> Date,
        updated_at -> Timestamp,
        superseded_by -> Nullable<Text>,
    }
}

diesel::table! {
    standard_local_parts (item_code, region_code) {
        item_code -> Text,
        region_code -> Text,
        local_code -> Nullable<Text>,
        department -> Nullable<Text>,
        online_url -> Nullable<Text>,
        service_hall -> Nullable<Text>,
        pilot_zones -> Text,
        implementation_status -> Text,
        name_zh -> Nullable<Text>,
        conditions_zh -> Nullable<Text>,
        materials -> Nullable<Text>,
        time_limit_days -> Nullable<Integer>,
        result_recognised -> Bool,
        updated_at -> Timestamp,
        channels -> Text,
        terminal_identity -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    scenarios (code) {
        code -> Text,
        version -> BigInt,
        name_zh -> Text,
        name_en -> Text,
        description_zh -> Text,
        description_en -> Text,
        situation_zh -> Text,
        situation_en -> Text,
        launched_on -> Date,
        batch_code -> Text,
        status -> Text,
        status_since -> Nullable<Date>,
        lead_region -> Text,
        lead_department -> Text,
        updated_at -> Timestamp,
        superseded_by -> Nullable<Text>,
    }
}

diesel::table! {
    scenario_regions (scenario_code, region_code) {
        scenario_code -> Text,
        region_code -> Text,
    }
}

diesel::table! {
    scenario_recognition_items (scenario_code, item_code) {
        scenario_code -> Text,
        item_code -> Text,
        position -> Integer,
    }
}

diesel::table! {
    scenario_standard_items (scenario_code, item_code) {
        scenario_code -> Text,
        item_code -> Text,
        position -> Integer,
    }
}

diesel::table! {
    programmes (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    programme_memberships (item_code, programme_code) {
        item_code -> Text,
        programme_code -> Text,
        batch_code -> Text,
        joined_on -> Date,
        left_on -> Nullable<Date>,
    }
}

diesel::table! {
    targets (code) {
        code -> Text,
        version -> BigInt,
        title_zh -> Text,
        title_en -> Text,
        source_document_no -> Text,
        source_title_zh -> Text,
        clause -> Text,
        counts -> Text,
        programme_code -> Nullable<Text>,
        region_code -> Nullable<Text>,
        item_kind -> Nullable<Text>,
        window_from -> Nullable<Date>,
        window_to -> Nullable<Date>,
        target_value -> Integer,
        deadline -> Date,
        lead_unit -> Text,
        cooperating_units -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        recorded_at -> Timestamp,
        request_id -> Text,
        issuer -> Nullable<Text>,
        subject -> Nullable<Text>,
        region_code -> Nullable<Text>,
        roles -> Text,
        action -> Text,
        entry_kind -> Nullable<Text>,
        entry_code -> Nullable<Text>,
        target_region -> Nullable<Text>,
        outcome -> Text,
        status -> Integer,
        reason -> Text,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    proposals (id) {
        id -> BigInt,
        version -> BigInt,
        state -> Text,
        title -> Text,
        rationale -> Text,
        proposer_issuer -> Text,
        proposer_subject -> Text,
        proposer_region -> Text,
        participants -> Text,
        batch -> Nullable<Text>,
        changes -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        outcome -> Text,
    }
}

diesel::table! {
    proposal_votes (proposal_id, region_code) {
        proposal_id -> BigInt,
        region_code -> Text,
        ballot -> Text,
        voter -> Text,
        comment -> Text,
        cast_at -> Timestamp,
    }
}

diesel::table! {
    proposal_entries (proposal_id, entry_kind, entry_code) {
        proposal_id -> BigInt,
        entry_kind -> Text,
        entry_code -> Text,
    }
}

diesel::table! {
    acceptance_suspensions (id) {
        id -> BigInt,
        item_code -> Text,
        used_in -> Text,
        issued_in -> Nullable<Text>,
        reason -> Text,
        effective_from -> Date,
        suspended_by -> Text,
        recorded_at -> Timestamp,
        lifted_on -> Nullable<Date>,
        lift_reason -> Nullable<Text>,
        lifted_by -> Nullable<Text>,
    }
}

diesel::joinable!(proposal_entries -> proposals (proposal_id));
diesel::allow_tables_to_appear_in_same_query!(proposal_entries, proposals);

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        recorded_at -> Timestamp,
        change_kind -> Text,
        entry_kind -> Text,
        entry_code -> Text,
        region_code -> Nullable<Text>,
        version -> BigInt,
        proposal_id -> Nullable<BigInt>,
        state -> Nullable<Text>,
    }
}

diesel::table! {
    entry_versions (entry_kind, entry_code, version) {
        entry_kind -> Text,
        entry_code -> Text,
        version -> BigInt,
        seq -> BigInt,
        recorded_at -> Timestamp,
        change_kind -> Text,
        region_code -> Nullable<Text>,
        proposal_id -> Nullable<BigInt>,
        actor -> Nullable<Text>,
        content -> Text,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        version -> BigInt,
        region_code -> Text,
        created_by -> Text,
        url -> Text,
        events -> Text,
        regions -> Text,
        sectors -> Text,
        programmes -> Text,
        description -> Text,
        secret -> Text,
        state -> Text,
        delivered_through -> BigInt,
        failures -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_delivered_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
