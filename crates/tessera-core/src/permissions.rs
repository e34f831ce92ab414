//! Permission sets and their algebra.
//!
//! A permission set maps resource names to grants: a set of actions and either
//! `fields: null` (every field, including fields added to the resource later)
//! or a list of fields. A resource absent from the map is not accessible.
//! [`Access`] adds the unrestricted case (the `Administrator` role, a key
//! created without a permission set), which is wider than any explicit set
//! because it also covers resources declared in the future.

use crate::resources::{self, Resource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Download,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Read,
        Action::Update,
        Action::Delete,
        Action::Download,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Download => "download",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one resource's grant allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub actions: BTreeSet<Action>,
    /// `None` means every field, present and future.
    pub fields: Option<BTreeSet<String>>,
}

impl Grant {
    fn intersect(&self, other: &Grant) -> Grant {
        let actions = self.actions.intersection(&other.actions).copied().collect();
        let fields = match (&self.fields, &other.fields) {
            (None, None) => None,
            (Some(only), None) | (None, Some(only)) => Some(only.clone()),
            (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
        };
        Grant { actions, fields }
    }

    fn is_within(&self, outer: &Grant) -> bool {
        let fields_within = match (&self.fields, &outer.fields) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(inner), Some(outer)) => inner.is_subset(outer),
        };
        self.actions.is_subset(&outer.actions) && fields_within
    }

    /// Whether this grant lets the holder see or write `field`.
    pub fn covers_field(&self, field: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|fields| fields.contains(field))
    }
}

/// An explicit, validated permission set. Resources with no actions are
/// dropped, so two sets that allow the same things are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(BTreeMap<String, Grant>);

impl PermissionSet {
    pub fn empty() -> Self {
        PermissionSet::default()
    }

    /// Builds a set from grants, dropping those without actions.
    pub fn from_grants(grants: impl IntoIterator<Item = (String, Grant)>) -> Self {
        PermissionSet(
            grants
                .into_iter()
                .filter(|(_, g)| !g.actions.is_empty())
                .collect(),
        )
    }

    pub fn grant(&self, resource: &str) -> Option<&Grant> {
        self.0.get(resource)
    }

    pub fn grants(&self) -> impl Iterator<Item = (&str, &Grant)> {
        self.0.iter().map(|(name, grant)| (name.as_str(), grant))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn intersect(&self, other: &PermissionSet) -> PermissionSet {
        PermissionSet::from_grants(self.0.iter().filter_map(|(name, grant)| {
            other
                .0
                .get(name)
                .map(|o| (name.clone(), grant.intersect(o)))
        }))
    }

    /// Whether everything this set allows is also allowed by `outer`.
    pub fn is_within(&self, outer: &PermissionSet) -> bool {
        self.0
            .iter()
            .all(|(name, grant)| outer.0.get(name).is_some_and(|o| grant.is_within(o)))
    }

    /// Parses and validates a permission set from JSON, naming
    /// every unknown resource, unsupported action and unknown field at once.
    pub fn from_json(value: &Value) -> Result<PermissionSet, PermissionError> {
        let Value::Object(map) = value else {
            return Err(PermissionError::single(
                "permissions must be an object keyed by resource name",
            ));
        };
        let mut problems = Vec::new();
        let mut grants = Vec::new();
        for (resource_name, grant_value) in map {
            let Some(resource) = resources::resource(resource_name) else {
                problems.push(format!("unknown resource '{resource_name}'"));
                continue;
            };
            match parse_grant(resource, grant_value) {
                Ok(grant) => grants.push((resource_name.clone(), grant)),
                Err(mut errors) => problems.append(&mut errors),
            }
        }
        if problems.is_empty() {
            Ok(PermissionSet::from_grants(grants))
        } else {
            Err(PermissionError { problems })
        }
    }
}

fn parse_grant(resource: &Resource, value: &Value) -> Result<Grant, Vec<String>> {
    let name = resource.name;
    let Value::Object(map) = value else {
        return Err(vec![format!(
            "'{name}' must be an object with 'actions' and 'fields'"
        )]);
    };
    let mut problems = Vec::new();
    for key in map.keys().filter(|k| *k != "actions" && *k != "fields") {
        problems.push(format!("'{name}' has an unknown member '{key}'"));
    }
    let mut actions = BTreeSet::new();
    match map.get("actions") {
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().and_then(Action::parse) {
                    Some(action) if resource.supports(action) => {
                        actions.insert(action);
                    }
                    Some(action) => {
                        problems.push(format!("'{name}' does not support the action '{action}'"))
                    }
                    None => problems.push(format!("'{name}' has an unknown action {item}")),
                }
            }
        }
        _ => problems.push(format!("'{name}.actions' must be a list of actions")),
    }
    let fields = match map.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut fields = BTreeSet::new();
            for item in items {
                match item.as_str() {
                    Some(field) if resource.field(field).is_some() => {
                        fields.insert(field.to_owned());
                    }
                    _ => problems.push(format!("'{name}' has no field {item}")),
                }
            }
            Some(fields)
        }
        Some(_) => {
            problems.push(format!(
                "'{name}.fields' must be null or a list of field names"
            ));
            None
        }
    };
    if problems.is_empty() {
        Ok(Grant { actions, fields })
    } else {
        Err(problems)
    }
}

/// Everything wrong with a proposed permission set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permissions: {}", problems.join("; "))]
pub struct PermissionError {
    pub problems: Vec<String>,
}

impl PermissionError {
    fn single(problem: &str) -> Self {
        PermissionError {
            problems: vec![problem.to_owned()],
        }
    }
}

/// What a role, key or request may do: everything, or an explicit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Full,
    Limited(PermissionSet),
}

impl Access {
    /// Reads access as stored: `None` (JSON `null`) means full access.
    pub fn from_stored(set: Option<PermissionSet>) -> Access {
        set.map_or(Access::Full, Access::Limited)
    }

    /// The form in which access is stored and shown: `None` for full.
    pub fn to_stored(&self) -> Option<&PermissionSet> {
        match self {
            Access::Full => None,
            Access::Limited(set) => Some(set),
        }
    }

    pub fn intersect(&self, other: &Access) -> Access {
        match (self, other) {
            (Access::Full, any) | (any, Access::Full) => any.clone(),
            (Access::Limited(a), Access::Limited(b)) => Access::Limited(a.intersect(b)),
        }
    }

    pub fn is_within(&self, outer: &Access) -> bool {
        match (self, outer) {
            (_, Access::Full) => true,
            (Access::Full, Access::Limited(_)) => false,
            (Access::Limited(inner), Access::Limited(outer)) => inner.is_within(outer),
        }
    }

    /// Whether `action` on `resource` is allowed at all.
    /// An action the resource does not support is never allowed, whatever a
    /// stored set says.
    pub fn allows(&self, resource: &str, action: Action) -> bool {
        let supported = resources::resource(resource).is_some_and(|r| r.supports(action));
        supported
            && match self {
                Access::Full => true,
                Access::Limited(set) => set
                    .grant(resource)
                    .is_some_and(|g| g.actions.contains(&action)),
            }
    }

    /// The fields of `resource` this access is limited to; `None` when it
    /// reaches every field (or, having no grant, none is asked about).
    pub fn field_restriction(&self, resource: &str) -> Option<&BTreeSet<String>> {
        match self {
            Access::Full => None,
            Access::Limited(set) => set.grant(resource).and_then(|g| g.fields.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn the_spec_example_parses() {
        let set = PermissionSet::from_json(&json!({
            "employees": {"actions": ["read"], "fields": ["id", "first_name", "last_name", "start_date", "end_date"]},
            "time-off":  {"actions": ["create", "read", "update", "delete"], "fields": null},
            "documents": {"actions": ["read", "download"], "fields": null}
        }))
        .unwrap();
        let access = Access::Limited(set);
        assert!(access.allows("employees", Action::Read));
        assert!(!access.allows("employees", Action::Update));
        assert!(access.allows("documents", Action::Download));
        assert!(!access.allows("pay-rates", Action::Read));
    }

    #[test]
    fn every_problem_is_named() {
        let err = PermissionSet::from_json(&json!({
            "employes": {"actions": ["read"]},
            "employees": {"actions": ["read", "fly"], "fields": ["first_name", "shoe_size"]},
            "transactions": {"actions": ["create"]},
            "products": {"actions": ["read"], "extra": 1}
        }))
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "unknown resource 'employes'",
            "unknown action \"fly\"",
            "no field \"shoe_size\"",
            "'transactions' does not support the action 'create'",
            "unknown member 'extra'",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert!(PermissionSet::from_json(&json!([])).is_err());
    }

    #[test]
    fn null_fields_mean_future_fields_too() {
        let grant = Grant {
            actions: [Action::Read].into(),
            fields: None,
        };
        assert!(grant.covers_field("a_field_added_next_year"));
    }

    #[test]
    fn full_access_narrows_to_the_other_side() {
        let limited = Access::Limited(
            PermissionSet::from_json(&json!({"groups": {"actions": ["read"]}})).unwrap(),
        );
        assert_eq!(Access::Full.intersect(&limited), limited);
        assert!(limited.is_within(&Access::Full));
        assert!(!Access::Full.is_within(&limited));
    }

    fn arb_grant() -> impl Strategy<Value = Grant> {
        let fields = prop::option::of(prop::collection::btree_set(
            prop::sample::select(vec!["id", "first_name", "last_name", "email", "iban"])
                .prop_map(String::from),
            0..5,
        ));
        (
            prop::collection::btree_set(prop::sample::select(Action::ALL.to_vec()), 0..5),
            fields,
        )
            .prop_map(|(actions, fields)| Grant { actions, fields })
    }

    fn arb_set() -> impl Strategy<Value = PermissionSet> {
        prop::collection::btree_map(
            prop::sample::select(vec!["employees", "groups", "documents", "time-off"])
                .prop_map(String::from),
            arb_grant(),
            0..4,
        )
        .prop_map(PermissionSet::from_grants)
    }

    fn arb_access() -> impl Strategy<Value = Access> {
        prop_oneof![1 => Just(Access::Full), 4 => arb_set().prop_map(Access::Limited)]
    }

    proptest! {
        #[test]
        fn intersection_never_grants_more_than_either_side(a in arb_access(), b in arb_access()) {
            let both = a.intersect(&b);
            prop_assert!(both.is_within(&a));
            prop_assert!(both.is_within(&b));
        }

        #[test]
        fn intersection_is_commutative(a in arb_access(), b in arb_access()) {
            prop_assert_eq!(a.intersect(&b), b.intersect(&a));
        }

        #[test]
        fn intersection_is_idempotent(a in arb_access()) {
            prop_assert_eq!(a.intersect(&a), a);
        }

        #[test]
        fn intersection_is_associative(a in arb_access(), b in arb_access(), c in arb_access()) {
            prop_assert_eq!(a.intersect(&b).intersect(&c), a.intersect(&b.intersect(&c)));
        }

        #[test]
        fn a_grant_bounded_by_its_creator_never_exceeds_the_creator(creator in arb_access(), requested in arb_access()) {
            // Whatever is requested, what a creator can hand out is the
            // requested grant narrowed to the creator's own access.
            let issued = requested.intersect(&creator);
            prop_assert!(issued.is_within(&creator));
            for resource in ["employees", "groups", "documents", "time-off"] {
                for action in Action::ALL {
                    if issued.allows(resource, action) {
                        prop_assert!(creator.allows(resource, action));
                    }
                }
            }
        }

        #[test]
        fn stored_form_round_trips(set in arb_set()) {
            let json = serde_json::to_value(&set).unwrap();
            let parsed = PermissionSet::from_json(&json);
            if json_valid(&json) {
                prop_assert_eq!(parsed.ok(), Some(set));
            } else {
                prop_assert!(parsed.is_err());
            }
        }
    }

    /// Whether a generated set only uses actions its resources support (the
    /// generator may combine e.g. `download` with `employees`).
    fn json_valid(value: &Value) -> bool {
        value.as_object().is_some_and(|map| {
            map.iter().all(|(name, grant)| {
                let resource = resources::resource(name).unwrap();
                grant["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|a| resource.supports(Action::parse(a.as_str().unwrap()).unwrap()))
                    && grant["fields"].as_array().is_none_or(|f| {
                        f.iter()
                            .all(|f| resource.field(f.as_str().unwrap()).is_some())
                    })
            })
        })
    }
}
