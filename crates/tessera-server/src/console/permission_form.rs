//! The resource × action matrix with a per-resource field picker, shared by
//! the key and role forms. Field names in the posted form:
//! `action.<resource>` (one value per ticked action), `scope.<resource>`
//! (`all` or `chosen`), `field.<resource>` (ticked fields) and
//! `section.<resource>` (a ticked section stands for all its fields, so the
//! picker works without JavaScript too). The webhook endpoint form reuses
//! the field picker alone for an endpoint's field limits.

use super::form::FormFields;
use maud::{Markup, html};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::permissions::{Access, Action, Grant, PermissionSet};
use tessera_core::resources::{RESOURCES, Resource};

/// What the matrix shows: per resource, the ticked actions and either all
/// fields (`None`) or the chosen ones, kept even when it does not validate
/// so a re-rendered form shows what was typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionDraft(BTreeMap<&'static str, Grant>);

impl PermissionDraft {
    pub fn from_set(set: &PermissionSet) -> Self {
        PermissionDraft(
            RESOURCES
                .iter()
                .filter_map(|r| set.grant(r.name).map(|g| (r.name, g.clone())))
                .collect(),
        )
    }

    /// Everything, shown as every supported action with all fields.
    pub fn everything() -> Self {
        PermissionDraft(
            RESOURCES
                .iter()
                .map(|r| {
                    let grant = Grant {
                        actions: r.actions.iter().copied().collect(),
                        fields: None,
                    };
                    (r.name, grant)
                })
                .collect(),
        )
    }

    pub fn from_access(access: &Access) -> Self {
        match access {
            Access::Full => PermissionDraft::everything(),
            Access::Limited(set) => PermissionDraft::from_set(set),
        }
    }

    /// Reads the matrix from a posted form; problems name resources whose
    /// field choice is empty.
    pub fn from_form(form: &FormFields) -> (PermissionDraft, Vec<String>) {
        let mut grants = BTreeMap::new();
        let mut problems = Vec::new();
        for resource in RESOURCES {
            let actions: BTreeSet<Action> = form
                .all(&format!("action.{}", resource.name))
                .filter_map(Action::parse)
                .filter(|a| resource.supports(*a))
                .collect();
            let fields = field_choice(form, resource);
            if actions.is_empty() && fields.is_none() {
                continue;
            }
            if !actions.is_empty() && fields.as_ref().is_some_and(BTreeSet::is_empty) {
                problems.push(format!(
                    "{}: tick at least one field, or choose “All fields”.",
                    resource.title
                ));
            }
            grants.insert(resource.name, Grant { actions, fields });
        }
        (PermissionDraft(grants), problems)
    }

    /// The permission set this draft grants (resources without actions
    /// grant nothing and are dropped).
    pub fn to_set(&self) -> PermissionSet {
        PermissionSet::from_grants(
            self.0
                .iter()
                .map(|(name, g)| ((*name).to_owned(), g.clone())),
        )
    }

    fn grant(&self, resource: &str) -> Option<&Grant> {
        self.0.get(resource)
    }
}

/// The fields ticked for `resource` when "Only these fields" is chosen;
/// `None` when all fields are.
pub fn field_choice(form: &FormFields, resource: &Resource) -> Option<BTreeSet<String>> {
    (form.text(&format!("scope.{}", resource.name)) == "chosen")
        .then(|| chosen_fields(form, resource))
}

fn chosen_fields(form: &FormFields, resource: &Resource) -> BTreeSet<String> {
    let mut fields: BTreeSet<String> = form
        .all(&format!("field.{}", resource.name))
        .filter(|f| resource.field(f).is_some())
        .map(str::to_owned)
        .collect();
    let sections: BTreeSet<&str> = form.all(&format!("section.{}", resource.name)).collect();
    for field in resource.fields {
        if sections.contains(field.section) {
            fields.insert(field.name.to_owned());
        }
    }
    fields
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(chars)
            .collect::<String>()
            .replace('_', " ")
    })
}

/// The matrix and field pickers for `draft`; `holder` names what the
/// permissions are for ("key", "role").
pub fn matrix(draft: &PermissionDraft, holder: &str) -> Markup {
    html! {
        (action_table(draft, holder))
        h3 { "Fields" }
        p.hint { "By default a grant covers all fields, including fields added later. Choose “Only these fields” to restrict one resource." }
        @for resource in RESOURCES {
            (field_picker(resource, draft.grant(resource.name).and_then(|g| g.fields.as_ref())))
        }
    }
}

/// One checkbox per resource and action it supports. Each row and column
/// heading also holds a "select all" checkbox, hidden until the console's
/// script shows it (it has no name, so it is never posted).
fn action_table(draft: &PermissionDraft, holder: &str) -> Markup {
    html! {
        div.table-wrap tabindex="0" {
            table.matrix #permission-matrix {
                caption.hint { "Tick what the " (holder) " may do with each kind of record." }
                thead {
                    tr {
                        th scope="col" { "Resource" }
                        @for action in Action::ALL {
                            th scope="col" {
                                (title_case(action.as_str()))
                                input.select-all type="checkbox" hidden data-select-column=(action.as_str())
                                    aria-label={ "Select " (action.as_str()) " for every resource" };
                            }
                        }
                    }
                }
                tbody {
                    @for resource in RESOURCES {
                        @let grant = draft.grant(resource.name);
                        tr {
                            th scope="row" {
                                (resource.title)
                                input.select-all type="checkbox" hidden data-select-row=(resource.name)
                                    aria-label={ "Select every action on " (resource.title) };
                            }
                            @for action in Action::ALL {
                                td {
                                    @if resource.supports(action) {
                                        input type="checkbox" id={ "perm-" (resource.name) "-" (action.as_str()) }
                                            name={ "action." (resource.name) } value=(action.as_str())
                                            aria-label={ (resource.title) ": " (action.as_str()) }
                                            checked[grant.is_some_and(|g| g.actions.contains(&action))];
                                    } @else {
                                        span.hint aria-hidden="true" { "—" }
                                        span.visually-hidden { "Not available" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// All of a resource's fields, or the ones `chosen`, section by section.
pub fn field_picker(resource: &Resource, chosen: Option<&BTreeSet<String>>) -> Markup {
    html! {
        details.fields-of #{ "fields-" (resource.name) } open[chosen.is_some()] {
            summary { (resource.title) ": "
                @match chosen {
                    None => "all fields",
                    Some(fields) => { (fields.len()) " of " (resource.fields.len()) " fields" },
                }
            }
            fieldset {
                legend { "Fields of " (resource.title) }
                div.choices {
                    label.choice {
                        input type="radio" name={ "scope." (resource.name) } value="all" checked[chosen.is_none()];
                        "All fields"
                    }
                    label.choice {
                        input type="radio" id={ "scope-" (resource.name) "-chosen" } name={ "scope." (resource.name) } value="chosen" checked[chosen.is_some()];
                        "Only these fields"
                    }
                }
                @for (section, fields) in resource.sections() {
                    @let section_key = format!("{}.{}", resource.name, section);
                    @let whole = chosen.is_some_and(|c| fields.iter().all(|f| c.contains(f.name)));
                    div.section {
                        label.choice {
                            input type="checkbox" name={ "section." (resource.name) } value=(section)
                                data-section=(section_key) checked[whole];
                            strong { (title_case(section)) " (whole section)" }
                        }
                        div.section-fields {
                            @for field in fields {
                                label.choice {
                                    input type="checkbox" id={ "field-" (resource.name) "-" (field.name) }
                                        name={ "field." (resource.name) } value=(field.name)
                                        data-in-section=(section_key)
                                        checked[chosen.is_some_and(|c| c.contains(field.name))];
                                    code { (field.name) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A one-line summary of what an access allows, for lists.
pub fn summary(access: &Access) -> String {
    match access {
        Access::Full => "Full access".to_owned(),
        Access::Limited(set) if set.is_empty() => "No access".to_owned(),
        Access::Limited(set) => set
            .grants()
            .map(|(name, grant)| {
                let title = tessera_core::resources::resource(name).map_or(name, |r| r.title);
                let actions: Vec<&str> = grant.actions.iter().map(|a| a.as_str()).collect();
                let fields = match &grant.fields {
                    None => String::new(),
                    Some(f) => format!(", {} fields", f.len()),
                };
                format!("{title}: {}{fields}", actions.join("/"))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Per resource, what an access allows and which fields it reaches.
pub fn detail(access: &Access) -> Markup {
    html! {
        @match access {
            Access::Full => p #access-detail { "Full access: every action on every resource and every field, including resources and fields added later." },
            Access::Limited(set) if set.is_empty() => p #access-detail { "No access to any resource." },
            Access::Limited(set) => {
                div.table-wrap tabindex="0" {
                    table.stack #access-detail {
                        thead { tr { th { "Resource" } th { "Actions" } th { "Fields" } } }
                        tbody {
                            @for (name, grant) in set.grants() {
                                tr {
                                    td data-label="Resource" { (tessera_core::resources::resource(name).map_or(name, |r| r.title)) }
                                    td data-label="Actions" { @for (i, a) in grant.actions.iter().enumerate() { @if i > 0 { ", " } (a.as_str()) } }
                                    td data-label="Fields" {
                                        @match &grant.fields {
                                            None => "All fields",
                                            Some(fields) => { @for (i, f) in fields.iter().enumerate() { @if i > 0 { ", " } code { (f) } } },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
