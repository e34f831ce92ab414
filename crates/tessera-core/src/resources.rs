//! The resources of the data API, declared once.
//!
//! Each resource lists its fields with their type, section and rules. The
//! permission algebra validates grants against these declarations, and later
//! layers derive storage, validation, routing, OpenAPI schemas and the
//! console's field picker from the same table: adding a field is one line.

use crate::permissions::Action;

/// The type of a field's value, which decides how it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// The record's opaque id, assigned by Tessera.
    Id,
    Text,
    Email,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 date and time.
    Timestamp,
    /// A decimal number written as a string (money never passes through floats).
    Decimal,
    /// An ISO 4217 currency code.
    Currency,
    Integer,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// The id of a record of the named resource in the same organisation.
    Reference(&'static str),
    /// A list of ids of records of the named resource.
    References(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub section: &'static str,
    pub required: bool,
    pub writable: bool,
    pub filterable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The name used in permission sets and in the URL path.
    pub name: &'static str,
    pub title: &'static str,
    /// The prefix of this resource's record ids (`emp` → `emp_…`).
    pub id_prefix: &'static str,
    /// The actions this resource supports over the API.
    pub actions: &'static [Action],
    pub fields: &'static [Field],
    /// Pairs of date fields where the second, when set, may not be earlier
    /// than the first (e.g. a start and an end date).
    pub date_order: &'static [(&'static str, &'static str)],
    /// Records are created by uploading a file (a multipart body: the file
    /// and the writable fields) instead of a JSON body; Tessera records the
    /// file's name, content type, size and SHA-256 itself.
    pub upload: bool,
}

impl Resource {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn supports(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// One record's name in prose: "employee", "cost center", "time off".
    pub fn singular(&self) -> String {
        let title = self.title.to_lowercase();
        match title.strip_suffix('s') {
            Some(stem) if self.name != "time-off" => stem.to_owned(),
            _ => title,
        }
    }

    /// One record's name with its article: "an employee", "a sector".
    pub fn a_singular(&self) -> String {
        let singular = self.singular();
        let article = if singular.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {singular}")
    }

    /// One record's name as a type: "Employee", "CostCenter", "TimeOff".
    pub fn type_name(&self) -> String {
        self.singular()
            .split(' ')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            })
            .collect()
    }

    /// The sections of this resource in declaration order, each with its fields.
    pub fn sections(&self) -> Vec<(&'static str, Vec<&'static Field>)> {
        let mut sections: Vec<(&'static str, Vec<&'static Field>)> = Vec::new();
        for field in self.fields {
            match sections.iter_mut().find(|(name, _)| *name == field.section) {
                Some((_, fields)) => fields.push(field),
                None => sections.push((field.section, vec![field])),
            }
        }
        sections
    }
}

const fn field(name: &'static str, kind: FieldKind, section: &'static str) -> Field {
    Field {
        name,
        kind,
        section,
        required: false,
        writable: true,
        filterable: false,
    }
}

const fn required(mut f: Field) -> Field {
    f.required = true;
    f
}

const fn filterable(mut f: Field) -> Field {
    f.filterable = true;
    f
}

const fn read_only(mut f: Field) -> Field {
    f.writable = false;
    f
}

/// Fields every record carries, in the `record` section.
macro_rules! record_fields {
    ($($field:expr),* $(,)?) => {
        &[
            read_only(field("id", FieldKind::Id, "record")),
            $($field,)*
            read_only(field("created_at", FieldKind::Timestamp, "record")),
            read_only(field("updated_at", FieldKind::Timestamp, "record")),
        ]
    };
}

use Action::{Create, Delete, Download, Read, Update};
use FieldKind::*;

const CRUD: &[Action] = &[Create, Read, Update, Delete];

pub const EMPLOYEE_STATUSES: &[&str] = &["active", "on_leave", "terminated"];
pub const PAY_RATE_KINDS: &[&str] = &["hourly", "monthly", "annual"];
pub const TIME_OFF_STATUSES: &[&str] = &["requested", "approved", "rejected", "cancelled"];
pub const TRANSACTION_TYPES: &[&str] = &["withdrawal", "return", "exchange"];

/// What most resources declare alike: no date-order rule, a JSON body.
/// Table entries spell out what differs and take the rest from here.
const PLAIN: Resource = Resource {
    name: "",
    title: "",
    id_prefix: "",
    actions: CRUD,
    fields: &[],
    date_order: &[],
    upload: false,
};

pub static RESOURCES: &[Resource] = &[
    Resource {
        name: "employees",
        title: "Employees",
        id_prefix: "emp",
        actions: CRUD,
        fields: record_fields![
            filterable(field("employee_number", Text, "identity")),
            required(field("first_name", Text, "identity")),
            required(field("last_name", Text, "identity")),
            field("birth_date", Date, "identity"),
            field("national_id", Text, "identity"),
            filterable(field("email", Email, "contact")),
            field("phone", Text, "contact"),
            field("address", Text, "contact"),
            filterable(field("job_role_id", Reference("job-roles"), "employment")),
            filterable(field("sector_id", Reference("sectors"), "employment")),
            filterable(field(
                "cost_center_id",
                Reference("cost-centers"),
                "employment"
            )),
            field("group_ids", References("groups"), "employment"),
            filterable(field("manager_id", Reference("employees"), "employment")),
            field("start_date", Date, "employment"),
            field("end_date", Date, "employment"),
            filterable(field("status", Choice(EMPLOYEE_STATUSES), "employment")),
            field("iban", Text, "banking"),
            field("bank_name", Text, "banking"),
        ],
        date_order: &[("start_date", "end_date")],
        ..PLAIN
    },
    Resource {
        name: "sectors",
        title: "Sectors",
        id_prefix: "sec",
        actions: CRUD,
        fields: record_fields![
            required(field("name", Text, "details")),
            filterable(field("code", Text, "details")),
            field("description", Text, "details"),
        ],
        ..PLAIN
    },
    Resource {
        name: "cost-centers",
        title: "Cost centers",
        id_prefix: "cc",
        actions: CRUD,
        fields: record_fields![
            required(field("name", Text, "details")),
            filterable(field("code", Text, "details")),
        ],
        ..PLAIN
    },
    Resource {
        name: "job-roles",
        title: "Job roles",
        id_prefix: "jr",
        actions: CRUD,
        fields: record_fields![
            required(field("title", Text, "details")),
            filterable(field("code", Text, "details")),
        ],
        ..PLAIN
    },
    Resource {
        name: "groups",
        title: "Groups",
        id_prefix: "grp",
        actions: CRUD,
        fields: record_fields![
            required(field("name", Text, "details")),
            field("description", Text, "details"),
        ],
        ..PLAIN
    },
    Resource {
        name: "pay-rates",
        title: "Pay rates",
        id_prefix: "pay",
        actions: CRUD,
        fields: record_fields![
            required(filterable(field(
                "employee_id",
                Reference("employees"),
                "details"
            ))),
            required(filterable(field("kind", Choice(PAY_RATE_KINDS), "details"))),
            required(field("amount", Decimal, "details")),
            required(filterable(field("currency", Currency, "details"))),
            required(field("effective_from", Date, "details")),
            field("effective_to", Date, "details"),
        ],
        date_order: &[("effective_from", "effective_to")],
        ..PLAIN
    },
    Resource {
        name: "time-off",
        title: "Time off",
        id_prefix: "tof",
        actions: CRUD,
        fields: record_fields![
            required(filterable(field(
                "employee_id",
                Reference("employees"),
                "details"
            ))),
            required(filterable(field("type", Text, "details"))),
            required(field("start_date", Date, "details")),
            required(field("end_date", Date, "details")),
            filterable(field("status", Choice(TIME_OFF_STATUSES), "details")),
            field("note", Text, "details"),
        ],
        date_order: &[("start_date", "end_date")],
        ..PLAIN
    },
    Resource {
        name: "documents",
        title: "Documents",
        id_prefix: "doc",
        actions: &[Create, Read, Delete, Download],
        fields: record_fields![
            required(filterable(field(
                "employee_id",
                Reference("employees"),
                "details"
            ))),
            required(field("title", Text, "details")),
            read_only(field("file_name", Text, "file")),
            read_only(filterable(field("content_type", Text, "file"))),
            read_only(field("size", Integer, "file")),
            read_only(field("sha256", Text, "file")),
        ],
        date_order: &[],
        upload: true,
    },
    Resource {
        name: "products",
        title: "Products",
        id_prefix: "prd",
        actions: CRUD,
        fields: record_fields![
            required(filterable(field("sku", Text, "details"))),
            required(field("name", Text, "details")),
            field("size", Text, "details"),
            field("unit_price", Decimal, "details"),
        ],
        ..PLAIN
    },
    Resource {
        name: "transactions",
        title: "Transactions",
        id_prefix: "txn",
        actions: &[Read],
        fields: record_fields![
            required(filterable(field(
                "type",
                Choice(TRANSACTION_TYPES),
                "details"
            ))),
            required(filterable(field(
                "employee_id",
                Reference("employees"),
                "details"
            ))),
            required(filterable(field(
                "product_id",
                Reference("products"),
                "details"
            ))),
            required(field("quantity", Integer, "details")),
            required(field("occurred_at", Timestamp, "details")),
        ],
        ..PLAIN
    },
];

/// The resource with this name, if there is one.
pub fn resource(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name == name)
}

/// The resource a misspelled `name` most likely meant (`employes` →
/// `employees`): the nearest within two edits, for a "did you mean".
pub fn closest(name: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .map(|r| (strsim::damerau_levenshtein(name, r.name), r))
        .filter(|(distance, _)| (1..=2).contains(distance))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, r)| r)
}

/// The (resource, field) pairs whose values refer to records of `target`.
pub fn referrers(target: &str) -> Vec<(&'static str, &'static str)> {
    RESOURCES
        .iter()
        .flat_map(|r| r.fields.iter().map(move |f| (r.name, f)))
        .filter(|(_, f)| {
            matches!(f.kind, FieldKind::Reference(t) | FieldKind::References(t) if t == target)
        })
        .map(|(r, f)| (r, f.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_record_takes_the_article_its_sound_needs() {
        assert_eq!(resource("employees").unwrap().a_singular(), "an employee");
        assert_eq!(resource("sectors").unwrap().a_singular(), "a sector");
    }

    #[test]
    fn a_misspelled_resource_is_matched_to_the_one_meant() {
        assert_eq!(closest("employes").map(|r| r.name), Some("employees"));
        assert_eq!(closest("payrates").map(|r| r.name), Some("pay-rates"));
        assert_eq!(closest("employees").map(|r| r.name), None);
        assert_eq!(closest("invoices").map(|r| r.name), None);
    }

    #[test]
    fn every_resource_has_unique_fields_and_the_record_fields() {
        for resource in RESOURCES {
            let names: HashSet<_> = resource.fields.iter().map(|f| f.name).collect();
            assert_eq!(
                names.len(),
                resource.fields.len(),
                "{} repeats a field",
                resource.name
            );
            for common in ["id", "created_at", "updated_at"] {
                assert!(names.contains(common), "{} lacks {common}", resource.name);
            }
        }
    }

    #[test]
    fn names_in_prose_and_as_types() {
        let names: Vec<_> = ["employees", "cost-centers", "time-off", "pay-rates"]
            .iter()
            .map(|n| {
                let r = resource(n).unwrap();
                (r.singular(), r.type_name())
            })
            .collect();
        assert_eq!(
            names,
            [
                ("employee".to_owned(), "Employee".to_owned()),
                ("cost center".to_owned(), "CostCenter".to_owned()),
                ("time off".to_owned(), "TimeOff".to_owned()),
                ("pay rate".to_owned(), "PayRate".to_owned()),
            ]
        );
    }

    #[test]
    fn references_point_at_declared_resources() {
        for resource in RESOURCES {
            for field in resource.fields {
                if let Reference(target) | References(target) = field.kind {
                    assert!(
                        super::resource(target).is_some(),
                        "{}.{} -> {target}",
                        resource.name,
                        field.name
                    );
                }
            }
        }
    }

    #[test]
    fn employees_are_grouped_into_the_specified_sections() {
        let employees = resource("employees").unwrap();
        let sections: Vec<_> = employees
            .sections()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            sections,
            ["record", "identity", "contact", "employment", "banking"]
        );
    }

    #[test]
    fn only_documents_download_and_transactions_are_read_only() {
        for resource in RESOURCES {
            assert_eq!(resource.supports(Download), resource.name == "documents");
            if resource.upload {
                assert!(resource.supports(Create) && resource.supports(Download));
            }
        }
        assert_eq!(super::resource("transactions").unwrap().actions, &[Read]);
    }
}
