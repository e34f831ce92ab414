//! The paths of the data API's resources: list, get, create (or upload),
//! update, delete and download, each only where the resource supports it.

use super::{json_answer, no_content, reference, responses, standard_headers, with_sample};
use crate::api::pagination::DEFAULT_LIMIT;
use crate::docs::samples::{Body, Credential, Sample};
use serde_json::{Map, Value, json};
use tessera_core::permissions::Action;
use tessera_core::resources::{Field, FieldKind, Resource};
use tessera_core::schema;

/// The names and example paths a resource's operations are written with.
struct Names<'a> {
    resource: &'a Resource,
    name: &'static str,
    type_name: String,
    singular: String,
    tags: Value,
    collection_path: String,
    example_item: String,
}

impl<'a> Names<'a> {
    fn of(resource: &'a Resource) -> Self {
        let collection_path = format!("/api/v1/{}", resource.name);
        let example_item = format!("{collection_path}/{}", schema::example_id(resource));
        Names {
            resource,
            name: resource.name,
            type_name: resource.type_name(),
            singular: resource.singular(),
            tags: json!([resource.title]),
            collection_path,
            example_item,
        }
    }
}

pub(super) fn resource_paths(resource: &Resource, paths: &mut Map<String, Value>) {
    let names = Names::of(resource);
    let type_name = &names.type_name;
    let mut collection = Map::new();
    let mut item = Map::new();
    let item_parameters = json!([
        reference("parameters", &format!("{type_name}Id")),
        reference("parameters", "XOrganization"),
    ]);
    if resource.supports(Action::Read) {
        collection.insert("get".to_owned(), list_operation(&names));
        item.insert("get".to_owned(), show_operation(&names));
    }
    if resource.supports(Action::Create) {
        let operation = if resource.upload {
            upload_operation(resource, type_name)
        } else {
            create_operation(&names)
        };
        collection.insert(
            "post".to_owned(),
            with_links(operation, resource, type_name),
        );
    }
    if resource.supports(Action::Update) {
        item.insert("patch".to_owned(), update_operation(&names));
    }
    if resource.supports(Action::Delete) {
        item.insert("delete".to_owned(), delete_operation(&names));
    }
    if !collection.is_empty() {
        paths.insert(names.collection_path.clone(), Value::Object(collection));
    }
    if !item.is_empty() {
        item.insert("parameters".to_owned(), item_parameters.clone());
        paths.insert(
            format!("{}/{{id}}", names.collection_path),
            Value::Object(item),
        );
    }
    if resource.supports(Action::Download) {
        paths.insert(
            format!("{}/{{id}}/content", names.collection_path),
            download_path(&names, item_parameters),
        );
    }
}

fn list_operation(names: &Names) -> Value {
    let Names {
        resource,
        name,
        type_name,
        tags,
        collection_path,
        ..
    } = names;
    let plural = plural_type_name(resource);
    let mut parameters = vec![
        reference("parameters", "Limit"),
        reference("parameters", "Cursor"),
        reference("parameters", "UpdatedSince"),
        reference("parameters", &format!("{type_name}Fields")),
    ];
    parameters.extend(
        resource
            .fields
            .iter()
            .filter(|f| f.filterable)
            .map(|f| filter_parameter(resource, f)),
    );
    parameters.push(reference("parameters", "XOrganization"));
    let filter_example = resource
        .fields
        .iter()
        .find(|f| f.filterable && matches!(f.kind, FieldKind::Choice(_)))
        .and_then(|f| match f.kind {
            FieldKind::Choice(choices) => choices.first().map(|c| format!("{}={c}&", f.name)),
            _ => None,
        })
        .unwrap_or_default();
    let sample = Sample::new(
        "GET",
        format!("{collection_path}?{filter_example}limit={DEFAULT_LIMIT}"),
        Credential::ApiKey,
    );
    with_sample(
        json!({
            "operationId": format!("list{plural}"),
            "tags": tags,
            "summary": format!("List {}", resource.title.to_lowercase()),
            "description": format!("Pages through the organisation's {} in id order. Needs `read` on `{name}`; filtering on, or asking in `fields` for, a field the key may not read is refused (403 `field_not_permitted`).", resource.title.to_lowercase()),
            "parameters": parameters,
            "responses": responses(&[("200", json_answer("One page of records.", &format!("{type_name}List"), &[]))], &[400, 401, 403, 429]),
        }),
        &sample,
    )
}

/// The resource's name as a type, for its list's operationId:
/// "cost-centers" → "CostCenters", matching `getCostCenter`, so generated
/// clients get `list_cost_centers` beside `get_cost_center`.
fn plural_type_name(resource: &Resource) -> String {
    resource
        .name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

fn show_operation(names: &Names) -> Value {
    let (name, type_name, singular) = (names.name, &names.type_name, &names.singular);
    item_operation(
        names,
        "GET",
        "get",
        json!({
            "summary": format!("Get one {singular}"),
            "description": format!("Needs `read` on `{name}`. The `ETag` identifies this version, for `If-Match` on an update; send it back in `If-None-Match` to get 304 (no body) while the record is unchanged. Asking in `fields` for a field the key may not read is refused (403 `field_not_permitted`)."),
            "parameters": [reference("parameters", &format!("{type_name}Fields")), reference("parameters", "IfNoneMatch")],
            "responses": responses(&[
                ("200", json_answer(&format!("The {singular}."), type_name, &["ETag"])),
                ("304", json!({"description": "The record is still at the version named in `If-None-Match`; no body.", "headers": standard_headers(&["ETag"])})),
            ], &[400, 401, 403, 404, 429]),
        }),
    )
}

/// An operation on one record without a body, tagged and with its code
/// samples.
fn item_operation(names: &Names, method: &'static str, verb: &str, mut operation: Value) -> Value {
    operation["operationId"] = json!(format!("{verb}{}", names.type_name));
    let sample = Sample::new(method, names.example_item.clone(), Credential::ApiKey);
    tagged(names, operation, &sample)
}

/// The operation with the resource's tags and its code samples.
fn tagged(names: &Names, mut operation: Value, sample: &Sample) -> Value {
    operation["tags"] = json!(names.tags);
    with_sample(operation, sample)
}

fn create_operation(names: &Names) -> Value {
    let (name, type_name, singular) = (names.name, &names.type_name, &names.singular);
    let sample = Sample::new("POST", names.collection_path.clone(), Credential::ApiKey)
        .header("Idempotency-Key", "3f7c2d1e-8b4a-4c6f-9e2d-1a5b7c9d0e3f")
        .body(Body::Json(schema::create_example(names.resource)));
    tagged(
        names,
        json!({
            "operationId": format!("create{type_name}"),
            "summary": format!("Create {}", names.resource.a_singular()),
            "description": format!("Needs `create` on `{name}`, and the key must be allowed to write every field sent. References must name records of this organisation, of resources the key may read (others are refused as missing)."),
            "parameters": [reference("parameters", "IdempotencyKey"), reference("parameters", "XOrganization")],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": reference("schemas", &format!("{type_name}Create")),
            }}},
            "responses": responses(
                &[("201", json_answer(&format!("The new {singular}, with the fields the key may read (only `id` and `updated_at` without `read`); a replayed create says `Idempotent-Replayed: true` and shows what the key may read now."), type_name, &["Location", "ETag", "Idempotent-Replayed"]))],
                &[400, 401, 403, 409, 413, 415, 429],
            ),
        }),
        &sample,
    )
}

fn update_operation(names: &Names) -> Value {
    let (name, type_name, singular) = (names.name, &names.type_name, &names.singular);
    let sample = Sample::new("PATCH", names.example_item.clone(), Credential::ApiKey)
        .header("If-Match", "\"1\"")
        .body(Body::Json(update_example(names.resource)));
    tagged(
        names,
        json!({
            "operationId": format!("update{type_name}"),
            "summary": format!("Update {}", names.resource.a_singular()),
            "description": format!("Changes only the fields sent (at least one; an empty body is 400); `null` clears an optional field. Needs `update` on `{name}` and write access to every field sent. A reference to a resource the key may not read is refused as missing."),
            "parameters": [reference("parameters", "IfMatch")],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": reference("schemas", &format!("{type_name}Update")),
            }}},
            "responses": responses(
                &[("200", json_answer(&format!("The updated {singular}, with the fields the key may read (only `id` and `updated_at` without `read`)."), type_name, &["ETag"]))],
                &[400, 401, 403, 404, 409, 412, 413, 415, 429],
            ),
        }),
        &sample,
    )
}

fn delete_operation(names: &Names) -> Value {
    let name = names.name;
    item_operation(
        names,
        "DELETE",
        "delete",
        json!({
            "summary": format!("Delete {}", names.resource.a_singular()),
            "description": format!("Needs `delete` on `{name}`. A record other records still refer to is not deleted: 409 `conflict`, with the referring fields in `details.referenced_by`."),
            "responses": responses(&[("204", no_content("Deleted."))], &[400, 401, 403, 404, 409, 429]),
        }),
    )
}

fn download_path(names: &Names, item_parameters: Value) -> Value {
    let Names {
        name,
        type_name,
        tags,
        example_item,
        ..
    } = names;
    let sample = Sample::new("GET", format!("{example_item}/content"), Credential::ApiKey)
        .save_as("contract.pdf");
    json!({
        "parameters": item_parameters,
        "get": with_sample(json!({
            "operationId": format!("download{type_name}Content"),
            "tags": tags,
            "summary": format!("Download {}'s file", names.resource.a_singular()),
            "description": format!("Needs `download` on `{name}` (reading the metadata needs `read`). The bytes come with their `Content-Type`, `Content-Length` and a `Content-Disposition` naming the file."),
            "responses": responses(&[("200", json!({
                "description": "The file's bytes.",
                "headers": standard_headers(&["Content-Disposition", "ETag"]),
                "content": download_content(),
            }))], &[400, 401, 403, 404, 429]),
        }), &sample),
    })
}

pub(super) fn resource_description(resource: &Resource) -> String {
    let sections: Vec<String> = resource
        .sections()
        .into_iter()
        .map(|(section, fields)| {
            let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
            format!("*{section}*: {}", names.join(", "))
        })
        .collect();
    let actions: Vec<&str> = resource.actions.iter().map(|a| a.as_str()).collect();
    let mut text = format!(
        "Actions: {}. Fields by section (for field-restricted keys): {}.",
        actions.join(", "),
        sections.join("; ")
    );
    if !resource.supports(Action::Create) {
        text.push_str(
            " Read-only over the API: records are made in the console or with `tessera import`.",
        );
    }
    text
}

/// Links from a create's answer to the operations on the new record, so
/// readers (and stateful test tools) see where its `id` goes next.
fn with_links(mut operation: Value, resource: &Resource, type_name: &str) -> Value {
    let mut links = Map::new();
    for (action, operation_id) in [
        (Action::Read, format!("get{type_name}")),
        (Action::Update, format!("update{type_name}")),
        (Action::Delete, format!("delete{type_name}")),
        (Action::Download, format!("download{type_name}Content")),
    ] {
        if resource.supports(action) {
            links.insert(
                operation_id.clone(),
                json!({
                    "operationId": operation_id,
                    "parameters": {"id": "$response.body#/id"},
                    "description": format!("The new {}'s id.", resource.singular()),
                }),
            );
        }
    }
    operation["responses"]["201"]["links"] = Value::Object(links);
    operation
}

/// A small update touching one field that needs no other record.
fn update_example(resource: &Resource) -> Value {
    let example = schema::create_example(resource);
    let chosen = resource
        .fields
        .iter()
        .filter(|f| f.writable && example.get(f.name).is_some())
        .max_by_key(|f| (matches!(f.kind, FieldKind::Choice(_)), !f.required))
        .map(|f| f.name);
    let mut body = Map::new();
    if let Some(name) = chosen
        && let Some(value) = example.get(name)
    {
        body.insert(name.to_owned(), value.clone());
    }
    Value::Object(body)
}

fn upload_operation(resource: &Resource, type_name: &str) -> Value {
    let employees = tessera_core::resources::resource("employees");
    let employee_id = employees.map(schema::example_id).unwrap_or_default();
    let sample = Sample::new(
        "POST",
        format!("/api/v1/{}", resource.name),
        Credential::ApiKey,
    )
    .header("Idempotency-Key", "9d2e4f6a-1b3c-4d5e-8f7a-6b5c4d3e2f1a")
    .body(Body::Upload {
        file_name: "contract.pdf",
        parts: vec![
            ("employee_id", employee_id),
            ("title", "Employment contract".to_owned()),
        ],
    });
    let employee_field = resource
        .field("employee_id")
        .map(|f| schema::field(resource, f, false))
        .unwrap_or_else(|| json!({"type": "string"}));
    with_sample(
        json!({
            "operationId": format!("create{type_name}"),
            "tags": [resource.title],
            "summary": "Upload a document",
            "description": "A `multipart/form-data` upload with the parts `file`, `employee_id` and `title`. The content type is taken from the file part when it declares one, otherwise sniffed from the bytes; the size and SHA-256 are recorded. Files over the server's document limit (10 MiB unless configured) are refused with 413. Needs `create` on `documents`.",
            "parameters": [reference("parameters", "IdempotencyKey"), reference("parameters", "XOrganization")],
            "requestBody": {"required": true, "content": {"multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "employee_id", "title"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream", "description": "The file's bytes; its file name is kept."},
                        "employee_id": employee_field,
                        "title": {"type": "string", "minLength": 1, "maxLength": tessera_core::records::MAX_TEXT_CHARS},
                    },
                },
            }}},
            "responses": responses(
                &[("201", json_answer("The document's metadata.", type_name, &["Location", "ETag", "Idempotent-Replayed"]))],
                &[400, 401, 403, 409, 413, 415, 429],
            ),
        }),
        &sample,
    )
}

fn filter_parameter(resource: &Resource, field: &Field) -> Value {
    let mut value = schema::field(resource, field, false);
    if let FieldKind::References(target) = field.kind
        && let Some(target) = tessera_core::resources::resource(target)
    {
        value = json!({"type": "string", "pattern": schema::id_pattern(target.id_prefix)});
    }
    json!({
        "name": field.name,
        "in": "query",
        "required": false,
        "description": format!("Only {} whose `{}` equals this value.", resource.title.to_lowercase(), field.name),
        "schema": value,
    })
}

/// A download's possible types, each named: `application/octet-stream`
/// and the types served as recorded. A `*/*` entry would be accurate too,
/// but code generators drop a response they cannot name the type of.
fn download_content() -> Value {
    let binary = json!({"schema": {"type": "string", "format": "binary"}});
    let mut content = Map::new();
    content.insert("application/octet-stream".to_owned(), binary.clone());
    for served in tessera_core::documents::SERVED_AS_RECORDED {
        content.insert(served.to_owned(), binary.clone());
    }
    Value::Object(content)
}
