//! Records of the data API's resources as plain values: checking what a
//! client writes against a resource's declaration, and choosing what a
//! client may read. Storage, HTTP handlers and the importer all go through
//! these functions, so a rule is stated once.

use crate::resources::{Field, FieldKind, Resource};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// The stored fields of a record: every declared field except the record
/// fields (`id`, `created_at`, `updated_at`), which storage keeps apart.
pub type Data = Map<String, Value>;

/// The fields every record carries and Tessera alone assigns.
pub const RECORD_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

pub fn is_record_field(field: &Field) -> bool {
    RECORD_FIELDS.contains(&field.name)
}

/// Longest text value accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Most ids one list-of-references field may hold.
pub const MAX_REFERENCES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Create,
    Update,
}

/// One field's problem, for the `details` of a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

impl FieldProblem {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        FieldProblem {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The body is not a JSON object.
    NotAnObject,
    /// Names the resource does not have, or fields only Tessera writes (400).
    NotWritable {
        unknown: Vec<String>,
        read_only: Vec<String>,
    },
    /// Fields the caller's grant does not cover (403 `field_not_permitted`).
    NotPermitted(Vec<String>),
    /// Values that do not fit their fields (400).
    Invalid(Vec<FieldProblem>),
}

/// What a writer may do with a resource's fields. One field list bounds
/// writing and, when the writer also holds `read`, reading: answers and
/// refusals show a writer stored values only of the fields it may read.
#[derive(Debug, Clone, Copy)]
pub struct FieldGrant<'a> {
    /// The fields it may write (`None`: every field).
    pub fields: Option<&'a BTreeSet<String>>,
    /// Whether it may read the resource's records.
    pub reads: bool,
}

impl FieldGrant<'_> {
    /// Every field, written and read: the importer and the demo data.
    pub const FULL: FieldGrant<'static> = FieldGrant {
        fields: None,
        reads: true,
    };

    pub fn may_read(&self, name: &str) -> bool {
        self.reads && self.fields.is_none_or(|f| f.contains(name))
    }

    fn may_write(&self, name: &str) -> bool {
        self.fields.is_none_or(|f| f.contains(name))
    }
}

/// Checks a create or update body and returns the record's data as it will
/// be stored: for a create, every writable field (absent ones `null`); for
/// an update, `existing` with the body's fields replaced. `grant` bounds the
/// fields the caller may write, and which stored values a refusal may quote.
pub fn check_write(
    resource: &Resource,
    body: &Value,
    mode: WriteMode,
    grant: FieldGrant<'_>,
    existing: Option<&Data>,
) -> Result<Data, WriteError> {
    let Value::Object(body) = body else {
        return Err(WriteError::NotAnObject);
    };
    let mut unknown = Vec::new();
    let mut read_only = Vec::new();
    let mut not_permitted = Vec::new();
    for name in body.keys() {
        match resource.field(name) {
            None => unknown.push(name.clone()),
            Some(field) if !field.writable => read_only.push(name.clone()),
            Some(_) if !grant.may_write(name) => not_permitted.push(name.clone()),
            Some(_) => {}
        }
    }
    if !unknown.is_empty() || !read_only.is_empty() {
        return Err(WriteError::NotWritable { unknown, read_only });
    }
    if !not_permitted.is_empty() {
        return Err(WriteError::NotPermitted(not_permitted));
    }

    let mut data = match (mode, existing) {
        (WriteMode::Update, Some(existing)) => existing.clone(),
        _ => resource
            .fields
            .iter()
            .filter(|f| !is_record_field(f))
            .map(|f| (f.name.to_owned(), Value::Null))
            .collect(),
    };
    let mut problems = Vec::new();
    for (name, value) in body {
        let Some(field) = resource.field(name) else {
            continue;
        };
        match normalize(field, value) {
            Ok(value) => {
                data.insert(name.clone(), value);
            }
            Err(problem) => problems.push(FieldProblem::new(name, problem)),
        }
    }
    for field in resource.fields.iter().filter(|f| f.required && f.writable) {
        let missing = data.get(field.name).is_none_or(Value::is_null);
        let already_named = problems.iter().any(|p| p.field == field.name);
        if missing && !already_named {
            problems.push(FieldProblem::new(field.name, "is required"));
        }
    }
    for &(earlier, later) in resource.date_order {
        let order = DateOrder { earlier, later };
        problems.extend(order.problem(body, &data, grant));
    }
    if problems.is_empty() {
        Ok(data)
    } else {
        Err(WriteError::Invalid(problems))
    }
}

/// Two date fields where the later, when set, may not be earlier than the
/// earlier one.
struct DateOrder {
    earlier: &'static str,
    later: &'static str,
}

impl DateOrder {
    /// The problem of `data`'s dates out of order, told on a date the body
    /// wrote. The other date is named and quoted only when the body sent it
    /// or the writer may read it: a refusal must not disclose a stored value
    /// the writer may not see.
    fn problem(
        &self,
        body: &Map<String, Value>,
        data: &Data,
        grant: FieldGrant<'_>,
    ) -> Option<FieldProblem> {
        let (Some(Value::String(start)), Some(Value::String(end))) =
            (data.get(self.earlier), data.get(self.later))
        else {
            return None;
        };
        if end >= start {
            return None;
        }
        let only_the_start_was_written =
            body.contains_key(self.earlier) && !body.contains_key(self.later);
        let (field, relation, other, other_value) = if only_the_start_was_written {
            (self.earlier, "later", self.later, end)
        } else {
            (self.later, "earlier", self.earlier, start)
        };
        let problem = if body.contains_key(other) || grant.may_read(other) {
            format!("must not be {relation} than {other} ({other_value})")
        } else {
            format!(
                "must not be {relation} than a date of this record that this API key may not read"
            )
        };
        Some(FieldProblem::new(field, problem))
    }
}

/// The stored form of one value, or why it does not fit `field`.
pub fn normalize(field: &Field, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return if field.required {
            Err("is required and may not be null".to_owned())
        } else {
            Ok(Value::Null)
        };
    }
    match field.kind {
        FieldKind::Integer => value
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| "must be a whole number".to_owned()),
        FieldKind::References(target) => {
            let Value::Array(items) = value else {
                return Err(format!("must be a list of {target} ids"));
            };
            if items.len() > MAX_REFERENCES {
                return Err(format!("may hold at most {MAX_REFERENCES} ids"));
            }
            let mut seen = BTreeSet::new();
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                let id = item
                    .as_str()
                    .ok_or_else(|| format!("must be a list of {target} ids"))?;
                let id = normalize_text(FieldKind::Reference(target), id, true)?;
                if seen.insert(id.clone()) {
                    ids.push(Value::String(id));
                }
            }
            Ok(Value::Array(ids))
        }
        kind => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("must be {}", describe(kind)))?;
            normalize_text(kind, text, field.required).map(Value::String)
        }
    }
}

/// The value of an equality filter, in the form stored values are indexed
/// in, or why it cannot match anything of `field`.
pub fn normalize_filter(field: &Field, raw: &str) -> Result<String, String> {
    match field.kind {
        FieldKind::Integer => raw
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| "must be a whole number".to_owned()),
        FieldKind::References(target) => normalize_text(FieldKind::Reference(target), raw, true),
        kind => normalize_text(kind, raw, true),
    }
}

fn normalize_text(kind: FieldKind, text: &str, required: bool) -> Result<String, String> {
    if text.contains('\0') {
        return Err("may not contain NUL characters".to_owned());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("may be at most {MAX_TEXT_CHARS} characters long"));
    }
    match kind {
        FieldKind::Text => {
            if required && text.trim().is_empty() {
                Err("may not be empty".to_owned())
            } else {
                Ok(text.to_owned())
            }
        }
        FieldKind::Email => {
            let email = text.trim();
            if is_email(email) {
                Ok(email.to_owned())
            } else {
                Err("must be an e-mail address like name@example.com".to_owned())
            }
        }
        FieldKind::Date => parse_date(text)
            .map(|_| text.to_owned())
            .ok_or_else(|| "must be a date written YYYY-MM-DD".to_owned()),
        FieldKind::Timestamp => OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
            .ok_or_else(|| {
                "must be an RFC 3339 date and time like 2026-01-31T09:30:00Z".to_owned()
            }),
        FieldKind::Decimal => {
            if is_decimal(text) {
                Ok(text.to_owned())
            } else {
                Err("must be a decimal number written as a string, like \"1234.50\" (at most 13 digits before the point and 4 after, not negative)".to_owned())
            }
        }
        FieldKind::Currency => {
            if CURRENCIES.contains(&text) {
                Ok(text.to_owned())
            } else {
                Err("must be an ISO 4217 currency code like EUR or USD".to_owned())
            }
        }
        FieldKind::Choice(choices) => {
            if choices.contains(&text) {
                Ok(text.to_owned())
            } else {
                Err(format!("must be one of {}", choices.join(", ")))
            }
        }
        FieldKind::Reference(target) => {
            let prefix = crate::resources::resource(target).map_or("", |r| r.id_prefix);
            if is_record_id(prefix, text) {
                Ok(text.to_owned())
            } else {
                Err(format!(
                    "must be the id of one of your {target} ({prefix}_…)"
                ))
            }
        }
        FieldKind::Id => Err("is assigned by Tessera".to_owned()),
        FieldKind::Integer | FieldKind::References(_) => Err(format!("must be {}", describe(kind))),
    }
}

fn describe(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Id | FieldKind::Text | FieldKind::Reference(_) => "a string",
        FieldKind::Email => "an e-mail address string",
        FieldKind::Date => "a date string (YYYY-MM-DD)",
        FieldKind::Timestamp => "an RFC 3339 date-time string",
        FieldKind::Decimal => "a decimal number written as a string, like \"1234.50\"",
        FieldKind::Currency => "an ISO 4217 currency code string",
        FieldKind::Integer => "a whole number",
        FieldKind::Choice(_) => "a string",
        FieldKind::References(_) => "a list of ids",
    }
}

/// A calendar date written exactly `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let year = text[..4].parse().ok()?;
    let month = text[5..7].parse::<u8>().ok()?.try_into().ok()?;
    let day = text[8..].parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty()
        && digits(whole, 13)
        && digits(fraction, 4)
        && text.contains('.') != fraction.is_empty()
}

/// Whether `text` is an id of the shape Tessera gives records with this
/// prefix (the prefix, `_`, 26 lowercase Crockford base32 characters).
pub fn is_record_id(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|tail| {
            tail.len() == 26
                && tail
                    .bytes()
                    .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))
        })
}

/// The references a record's data makes: (target resource, id) pairs.
pub fn references<'a>(resource: &Resource, data: &'a Data) -> Vec<(&'static str, &'a str)> {
    let mut found = Vec::new();
    for field in resource.fields {
        match (field.kind, data.get(field.name)) {
            (FieldKind::Reference(target), Some(Value::String(id))) => {
                found.push((target, id.as_str()))
            }
            (FieldKind::References(target), Some(Value::Array(ids))) => {
                found.extend(ids.iter().filter_map(Value::as_str).map(|id| (target, id)))
            }
            _ => {}
        }
    }
    found
}

/// What storage indexes for a record: every non-null value of a filterable
/// field, and every reference (so "who refers to this record" is one
/// indexed lookup).
pub fn index_entries(resource: &Resource, data: &Data) -> Vec<(&'static str, String)> {
    let mut entries = Vec::new();
    for field in resource.fields.iter().filter(|f| !is_record_field(f)) {
        let indexed = field.filterable
            || matches!(
                field.kind,
                FieldKind::Reference(_) | FieldKind::References(_)
            );
        if !indexed {
            continue;
        }
        match data.get(field.name) {
            Some(Value::String(text)) => entries.push((field.name, text.clone())),
            Some(Value::Number(n)) => entries.push((field.name, n.to_string())),
            Some(Value::Array(items)) => entries.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|id| (field.name, id.to_owned())),
            ),
            _ => {}
        }
    }
    entries
}

/// Which fields of `resource` an answer carries: those the grant covers
/// (`readable: None` = all), narrowed to `requested` when the client asked
/// for a sparse fieldset. `id` is always included, so every object can be
/// addressed.
pub fn visible_fields(
    resource: &'static Resource,
    readable: Option<&BTreeSet<String>>,
    requested: Option<&BTreeSet<String>>,
) -> Vec<&'static Field> {
    resource
        .fields
        .iter()
        .filter(|f| {
            f.name == "id"
                || (readable.is_none_or(|r| r.contains(f.name))
                    && requested.is_none_or(|r| r.contains(f.name)))
        })
        .collect()
}

/// Which fields the answer to a write shows: what the writer may read of
/// the record; to a writer without `read`, only `id` and `updated_at`
/// (enough to address the record and tell when it changed, none of its
/// values).
pub fn write_answer_fields(
    resource: &'static Resource,
    grant: FieldGrant<'_>,
) -> Vec<&'static Field> {
    if grant.reads {
        visible_fields(resource, grant.fields, None)
    } else {
        resource
            .fields
            .iter()
            .filter(|f| matches!(f.name, "id" | "updated_at"))
            .collect()
    }
}

/// Parses a `fields=a,b` parameter: the named fields, or the names the
/// resource does not have.
pub fn parse_field_list(resource: &Resource, raw: &str) -> Result<BTreeSet<String>, Vec<String>> {
    let mut fields = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if resource.field(name).is_some() {
            fields.insert(name.to_owned());
        } else {
            unknown.push(name.to_owned());
        }
    }
    if unknown.is_empty() {
        Ok(fields)
    } else {
        Err(unknown)
    }
}

/// Where a record's field values come from when it is answered.
pub trait FieldValues {
    type Value: Serialize + ?Sized;
    fn value(&self, name: &str) -> Option<&Self::Value>;
}

impl FieldValues for Data {
    type Value = Value;
    fn value(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// A stored record's fields read in place: each value is a slice of the
/// stored JSON text, written back out unchanged. Reads answer from this
/// instead of building a `Data` tree, which costs an allocation per key and
/// per text value.
pub struct StoredFields<'a>(BTreeMap<&'a str, &'a RawValue>);

impl<'a> StoredFields<'a> {
    /// Reads the JSON object Tessera stored. Its keys are declared field
    /// names, which never need escaping, so they borrow from `stored`.
    pub fn parse(stored: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(stored).map(StoredFields)
    }
}

impl FieldValues for StoredFields<'_> {
    type Value = RawValue;
    fn value(&self, name: &str) -> Option<&RawValue> {
        self.0.get(name).copied()
    }
}

/// A record as an answer shows it: the visible fields, in declaration
/// order, with `null` for fields that have no value.
pub struct RecordView<'a, D: FieldValues> {
    pub fields: &'a [&'static Field],
    pub id: &'a str,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    pub data: &'a D,
}

impl<D: FieldValues> Serialize for RecordView<'_, D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for field in self.fields {
            match field.name {
                "id" => map.serialize_entry("id", self.id)?,
                "created_at" => map.serialize_entry("created_at", self.created_at)?,
                "updated_at" => map.serialize_entry("updated_at", self.updated_at)?,
                name => map.serialize_entry(name, &self.data.value(name))?,
            }
        }
        map.end()
    }
}

/// Active ISO 4217 currency codes.
pub const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

#[cfg(test)]
mod tests;
