use super::*;
use proptest::prelude::*;

const ACME: &str = "org_01jdq3k9m2x8v7c6b5n4t3r2s1";
const GLOBEX: &str = "org_01jdq3k9m2x8v7c6b5n4t3r2s2";

#[test]
fn a_cursor_leads_back_to_its_position_in_its_organisation_only() {
    let key = CursorKey::generate();
    let cursor = key.cursor(ACME, 41);
    assert_eq!(key.position(ACME, &cursor), Some(41));
    assert_eq!(key.position(GLOBEX, &cursor), None, "another organisation");
    assert_eq!(CursorKey::generate().position(ACME, &cursor), None);
    assert_eq!(key.position(ACME, "not-a-cursor"), None);
    assert_eq!(key.position(ACME, ""), None);
}

#[test]
fn a_changed_position_breaks_the_signature() {
    let key = CursorKey::generate();
    let mut bytes = URL_SAFE_NO_PAD.decode(key.cursor(ACME, 7)).unwrap();
    bytes[7] = 8;
    assert_eq!(key.position(ACME, &URL_SAFE_NO_PAD.encode(bytes)), None);
}

#[test]
fn a_stored_key_reads_back_as_itself() {
    let key = CursorKey::generate();
    let again = CursorKey::parse(&key.expose()).unwrap();
    assert_eq!(again.position(ACME, &key.cursor(ACME, 3)), Some(3));
    assert!(CursorKey::parse("short").is_none());
    assert_eq!(format!("{key:?}"), "CursorKey(***)");
}

#[test]
fn types_name_record_events_only() {
    assert!(parse_types(None).unwrap().matches("employees.deleted"));
    let some = parse_types(Some("employees.*, time-off.created")).unwrap();
    assert!(some.matches("employees.updated"));
    assert!(some.matches("time-off.created"));
    assert!(!some.matches("time-off.deleted"));

    let refused =
        parse_types(Some("api_key.*,webhook.test,nothing.*,employees.fired")).unwrap_err();
    assert_eq!(refused.not_in_feed, ["api_key.*", "webhook.test"]);
    assert_eq!(refused.unknown, ["nothing.*", "employees.fired"]);
    assert!(
        parse_types(Some(",")).is_err(),
        "an empty list names nothing"
    );
}

#[test]
fn a_selection_leaves_out_what_the_key_cannot_read() {
    let only_employees = |r: &Resource| r.name == "employees";
    let everything = select(&EventFilter::everything(), only_employees);
    assert_eq!(
        everything.event_types,
        [
            "employees.created",
            "employees.updated",
            "employees.deleted"
        ]
    );
    assert!(everything.unreadable.is_empty());

    let named = parse_types(Some("employees.deleted,pay-rates.*")).unwrap();
    let selection = select(&named, only_employees);
    assert_eq!(selection.event_types, ["employees.deleted"]);
    assert_eq!(selection.unreadable, ["pay-rates"]);
}

proptest! {
    #[test]
    fn no_text_is_taken_for_a_cursor_by_chance(text in ".{0,64}") {
        let key = CursorKey::generate();
        prop_assert_eq!(key.position(ACME, &text), None);
    }

    #[test]
    fn every_position_survives_the_round_trip(seq in 0i64..i64::MAX) {
        let key = CursorKey::generate();
        prop_assert_eq!(key.position(ACME, &key.cursor(ACME, seq)), Some(seq));
    }

    #[test]
    fn any_types_text_is_parsed_or_refused(raw in ".{0,80}") {
        let _ = parse_types(Some(&raw));
    }
}
