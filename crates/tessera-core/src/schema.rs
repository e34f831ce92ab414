//! JSON Schemas (draft 2020-12, the dialect of OpenAPI 3.1) of every
//! resource's records, derived from the declarations in [`crate::resources`]
//! with the same limits [`crate::records`] enforces, plus example values.
//! The OpenAPI document and the console's help are built from these, so a
//! field declared once is documented once.

use crate::records::{CURRENCIES, MAX_REFERENCES, MAX_TEXT_CHARS};
use crate::resources::{Field, FieldKind, Resource, resource};
use serde_json::{Map, Value, json};

/// The longest e-mail address accepted (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// The schema of a record as the API returns it. Every property is
/// optional but `id`: a key restricted to some fields receives only those.
pub fn record(resource: &Resource) -> Value {
    let properties: Map<String, Value> = resource
        .fields
        .iter()
        .map(|f| (f.name.to_owned(), field(resource, f, nullable_when_read(f))))
        .collect();
    json!({
        "type": "object",
        "description": format!(
            "{}. Only the fields the API key may read are present; a readable field with no value is null.",
            capitalised(&resource.a_singular())
        ),
        "properties": properties,
        "required": ["id"],
        "additionalProperties": false,
        "examples": [example(resource)],
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The schema of a create body: the writable fields, the required ones named.
pub fn create_body(resource: &Resource) -> Value {
    let required: Vec<&str> = writable(resource)
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({
        "type": "object",
        "properties": writable_properties(resource),
        "required": required,
        "additionalProperties": false,
        "examples": [create_example(resource)],
    })
}

/// The schema of a partial update: at least one writable field (an empty
/// body is refused); null clears an optional one.
pub fn update_body(resource: &Resource) -> Value {
    json!({
        "type": "object",
        "properties": writable_properties(resource),
        "minProperties": 1,
        "additionalProperties": false,
    })
}

/// The schema of one field's value; `nullable` adds `null` to its types.
/// A field with a fixed set of values refers to its named enum (see
/// [`enums`]), and a nullable one is "that enum or null": code generators
/// then make one enum type, where `type: [string, null]` with `null` in the
/// `enum` gave openapi-python-client three copies of it.
pub fn field(resource: &Resource, field: &Field, nullable: bool) -> Value {
    let description = json!(describe(field.kind, field.writable));
    if let Some(name) = enum_name(resource, field) {
        let named = json!({"$ref": format!("#/components/schemas/{name}")});
        return if nullable {
            json!({"anyOf": [named, {"type": "null"}], "description": description})
        } else {
            json!({"$ref": named["$ref"], "description": description})
        };
    }
    let mut schema = value(field.kind, field.required && field.writable);
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".to_owned(), description);
        if nullable {
            let kind = object.remove("type").unwrap_or(Value::Null);
            object.insert("type".to_owned(), json!([kind, "null"]));
        }
    }
    schema
}

/// The component name of a field's enum: `Currency` for every currency,
/// else the record type and the field, e.g. `EmployeeStatus`.
fn enum_name(resource: &Resource, field: &Field) -> Option<String> {
    match field.kind {
        FieldKind::Currency => Some("Currency".to_owned()),
        FieldKind::Choice(_) => {
            let words: String = field
                .name
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_uppercase().chain(chars).collect()
                    })
                })
                .collect();
            Some(format!("{}{words}", resource.type_name()))
        }
        _ => None,
    }
}

/// Every named enum the fields refer to, with its schema.
pub fn enums() -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = Vec::new();
    for resource in crate::resources::RESOURCES {
        for field in resource.fields {
            if let Some(name) = enum_name(resource, field)
                && !found.iter().any(|(known, _)| *known == name)
            {
                found.push((name, value(field.kind, false)));
            }
        }
    }
    found
}

/// The id pattern of a resource's records, e.g. `^emp_[0-9a-hjkmnp-tv-z]{26}$`.
pub fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}_[0-9a-hjkmnp-tv-z]{{26}}$")
}

/// A well-formed example id for a record of `resource`.
pub fn example_id(resource: &Resource) -> String {
    format!("{}_01jdq3k9m2x8v7c6b5n4t3r2s1", resource.id_prefix)
}

/// A whole example record, every field filled in.
pub fn example(resource: &Resource) -> Value {
    Value::Object(
        resource
            .fields
            .iter()
            .map(|f| (f.name.to_owned(), example_value(resource, f)))
            .collect(),
    )
}

/// An example create body: the required fields and the writable fields
/// that need no other record to exist first.
pub fn create_example(resource: &Resource) -> Value {
    Value::Object(
        writable(resource)
            .filter(|f| {
                f.required || !matches!(f.kind, FieldKind::Reference(_) | FieldKind::References(_))
            })
            .map(|f| (f.name.to_owned(), example_value(resource, f)))
            .collect(),
    )
}

fn nullable_when_read(field: &Field) -> bool {
    field.writable && !field.required
}

fn writable(resource: &Resource) -> impl Iterator<Item = &'static Field> {
    resource.fields.iter().filter(|f| f.writable)
}

fn writable_properties(resource: &Resource) -> Map<String, Value> {
    writable(resource)
        .map(|f| (f.name.to_owned(), field(resource, f, !f.required)))
        .collect()
}

fn value(kind: FieldKind, must_have_text: bool) -> Value {
    match kind {
        FieldKind::Id => json!({"type": "string", "readOnly": true}),
        FieldKind::Text if must_have_text => {
            json!({"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": "\\S"})
        }
        FieldKind::Text => json!({"type": "string", "maxLength": MAX_TEXT_CHARS}),
        FieldKind::Email => {
            json!({"type": "string", "format": "email", "maxLength": MAX_EMAIL_CHARS})
        }
        FieldKind::Date => {
            json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
        }
        FieldKind::Timestamp => json!({"type": "string", "format": "date-time"}),
        FieldKind::Decimal => {
            json!({"type": "string", "pattern": "^[0-9]{1,13}(\\.[0-9]{1,4})?$"})
        }
        FieldKind::Currency => json!({"type": "string", "enum": CURRENCIES}),
        FieldKind::Integer => json!({"type": "integer", "format": "int64"}),
        FieldKind::Choice(choices) => json!({"type": "string", "enum": choices}),
        FieldKind::Reference(target) => reference(target),
        FieldKind::References(target) => {
            json!({"type": "array", "items": reference(target), "maxItems": MAX_REFERENCES})
        }
    }
}

fn reference(target: &str) -> Value {
    let prefix = resource(target).map_or("", |r| r.id_prefix);
    json!({"type": "string", "pattern": id_pattern(prefix)})
}

fn describe(kind: FieldKind, writable: bool) -> String {
    let text = match kind {
        FieldKind::Id => "The record's id, assigned by Tessera.".to_owned(),
        FieldKind::Text => format!("Free text, at most {MAX_TEXT_CHARS} characters."),
        FieldKind::Email => "An e-mail address.".to_owned(),
        FieldKind::Date => "A calendar date, YYYY-MM-DD.".to_owned(),
        FieldKind::Timestamp => "An RFC 3339 date and time.".to_owned(),
        FieldKind::Decimal => {
            "A non-negative decimal amount written as a string (never a float), at most 13 digits before the point and 4 after.".to_owned()
        }
        FieldKind::Currency => "An ISO 4217 currency code.".to_owned(),
        FieldKind::Integer => "A whole number.".to_owned(),
        FieldKind::Choice(choices) => format!("One of: {}.", choices.join(", ")),
        FieldKind::Reference(target) => {
            format!("The id of one of the organisation's {target}.")
        }
        FieldKind::References(target) => format!(
            "Ids of the organisation's {target} (at most {MAX_REFERENCES}; repeats are dropped)."
        ),
    };
    if writable {
        text
    } else {
        format!("{text} Read-only.")
    }
}

fn example_value(resource: &Resource, field: &Field) -> Value {
    let text = |s: &str| Value::String(s.to_owned());
    match field.kind {
        FieldKind::Id => Value::String(example_id(resource)),
        FieldKind::Timestamp if field.name == "occurred_at" => text("2026-03-02T14:05:00Z"),
        FieldKind::Timestamp => text("2026-01-15T09:30:00Z"),
        FieldKind::Email => text("ada.lovelace@example.com"),
        FieldKind::Date => text(match field.name {
            "birth_date" => "1990-12-10",
            "end_date" | "effective_to" => "2026-08-14",
            _ => "2026-08-10",
        }),
        FieldKind::Decimal => text(if field.name == "unit_price" {
            "49.90"
        } else {
            "4250.00"
        }),
        FieldKind::Currency => text("EUR"),
        FieldKind::Integer => json!(if field.name == "size" { 48213 } else { 2 }),
        FieldKind::Choice(choices) => text(choices.first().copied().unwrap_or("")),
        FieldKind::Reference(target) => resource_example_id(target),
        FieldKind::References(target) => json!([resource_example_id(target)]),
        FieldKind::Text => text(example_text(resource, field)),
    }
}

fn resource_example_id(name: &str) -> Value {
    resource(name).map_or(Value::Null, |r| Value::String(example_id(r)))
}

fn example_text(resource: &Resource, field: &Field) -> &'static str {
    match (resource.name, field.name) {
        (_, "employee_number") => "E-1001",
        (_, "first_name") => "Ada",
        (_, "last_name") => "Lovelace",
        (_, "national_id") => "AB123456C",
        (_, "phone") => "+44 20 7946 0958",
        (_, "address") => "10 Downing Street, London SW1A 2AA",
        (_, "iban") => "GB33BUKB20201555555555",
        (_, "bank_name") => "Example Bank",
        ("sectors", "name") => "Finance",
        ("cost-centers", "name") => "Head office",
        ("groups", "name") => "Night shift",
        ("job-roles", "title") => "Payroll specialist",
        ("products", "name") => "Safety boots",
        (_, "sku") => "BOOT-42",
        (_, "size") => "42",
        (_, "code") => "FIN",
        (_, "type") => "vacation",
        (_, "title") => "Employment contract",
        (_, "file_name") => "contract.pdf",
        (_, "content_type") => "application/pdf",
        (_, "sha256") => "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        (_, "note") => "Summer holiday",
        _ => "Text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{FieldGrant, WriteMode, check_write};
    use crate::resources::RESOURCES;

    #[test]
    fn every_create_example_passes_the_write_checks() {
        for resource in RESOURCES
            .iter()
            .filter(|r| r.fields.iter().any(|f| f.writable))
        {
            let body = create_example(resource);
            let checked = check_write(resource, &body, WriteMode::Create, FieldGrant::FULL, None);
            assert!(checked.is_ok(), "{}: {checked:?}", resource.name);
        }
    }

    #[test]
    fn every_example_value_is_accepted_by_its_field() {
        for resource in RESOURCES {
            for field in resource.fields.iter().filter(|f| f.writable) {
                let value = example_value(resource, field);
                assert!(
                    crate::records::normalize(field, &value).is_ok(),
                    "{}.{} example {value}",
                    resource.name,
                    field.name
                );
            }
        }
    }

    #[test]
    fn example_ids_have_the_shape_of_real_ids() {
        for resource in RESOURCES {
            assert!(crate::records::is_record_id(
                resource.id_prefix,
                &example_id(resource)
            ));
        }
    }

    #[test]
    fn optional_fields_are_nullable_and_required_ones_are_listed() {
        let employees = resource("employees").unwrap();
        let create = create_body(employees);
        assert_eq!(create["required"], json!(["first_name", "last_name"]));
        assert_eq!(
            create["properties"]["end_date"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(create["properties"]["first_name"]["type"], "string");
        assert!(create["properties"].get("id").is_none());
        let read = record(employees);
        assert_eq!(read["required"], json!(["id"]));
        assert_eq!(
            read["properties"]["status"]["anyOf"],
            json!([{"$ref": "#/components/schemas/EmployeeStatus"}, {"type": "null"}])
        );
    }

    #[test]
    fn each_enum_is_named_once_with_its_values() {
        let named = enums();
        let status = named
            .iter()
            .find(|(name, _)| name == "EmployeeStatus")
            .map(|(_, schema)| schema.clone());
        assert_eq!(
            status,
            Some(json!({"type": "string", "enum": ["active", "on_leave", "terminated"]}))
        );
        assert_eq!(
            named.iter().filter(|(name, _)| name == "Currency").count(),
            1
        );
        let names: std::collections::HashSet<_> = named.iter().map(|(name, _)| name).collect();
        assert_eq!(names.len(), named.len());
    }
}
