//! The demo organisation's records: a small company of 240 people with the
//! structure, pay, leave, paperwork and equipment an HR integration would
//! meet. Generated from a fixed seed, so every demo looks the same, and
//! checked by the same rules as API writes.

use anyhow::{anyhow, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tessera_core::id::OrganizationId;
use tessera_core::id::new_prefixed_id;
use tessera_core::records::{self, FieldGrant, WriteMode};
use tessera_core::resources;
use tessera_store::records::{CreateOutcome, NewRecord};
use tessera_store::{Db, now_ms};

pub const EMPLOYEES: usize = 240;
const MANAGERS: usize = 12;

/// What was created, for the summary line.
pub struct Created {
    pub employees: usize,
    pub pay_rates: usize,
    pub time_off: usize,
    pub documents: usize,
    pub products: usize,
    pub transactions: usize,
}

/// A small deterministic generator (xorshift64*): the demo needs variety,
/// not unpredictability.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIRST_NAMES: &[&str] = &[
    "Amara", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "Jia", "Kofi",
    "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tove", "Uma",
    "Viktor", "Wen", "Yusuf", "Zoë",
];
const LAST_NAMES: &[&str] = &[
    "Okafor",
    "Schmidt",
    "Dubois",
    "Ivanova",
    "Yilmaz",
    "Haddad",
    "Silva",
    "Tanaka",
    "Novak",
    "Chen",
    "Mensah",
    "Berg",
    "García",
    "Kowalski",
    "Lindqvist",
    "Patel",
    "Moreau",
    "Rossi",
    "Nasser",
    "Andersen",
    "Rao",
    "Horvath",
    "Li",
    "Demir",
    "Walsh",
];
const SECTORS: &[(&str, &str)] = &[
    ("Finance", "FIN"),
    ("Operations", "OPS"),
    ("Sales", "SAL"),
    ("Engineering", "ENG"),
    ("People", "PPL"),
    ("Logistics", "LOG"),
];
const COST_CENTERS: &[(&str, &str)] = &[
    ("Head office", "HQ"),
    ("London depot", "LDN"),
    ("Manchester depot", "MAN"),
    ("Remote", "RMT"),
];
/// Title, code, pay kind and the pay range in that kind's unit.
const JOB_ROLES: &[(&str, &str, &str, u32, u32)] = &[
    ("Payroll specialist", "PAY", "monthly", 2_800, 3_900),
    ("Software engineer", "SWE", "annual", 52_000, 95_000),
    ("Warehouse operative", "WHO", "hourly", 12, 16),
    ("Account manager", "ACM", "annual", 38_000, 60_000),
    ("HR business partner", "HRBP", "monthly", 3_400, 4_800),
    ("Team lead", "LEAD", "annual", 55_000, 80_000),
    ("Delivery driver", "DRV", "hourly", 13, 18),
    ("Analyst", "ANL", "monthly", 3_000, 4_200),
];
const GROUPS: &[(&str, &str)] = &[
    ("Night shift", "Works 22:00–06:00 rotations."),
    ("First aiders", "Trained and certified first aiders."),
    ("Pension scheme", "Enrolled in the company pension."),
];
const PRODUCTS: &[(&str, &str, Option<&str>, &str)] = &[
    ("BOOT-40", "Safety boots", Some("40"), "49.90"),
    ("BOOT-42", "Safety boots", Some("42"), "49.90"),
    ("BOOT-44", "Safety boots", Some("44"), "49.90"),
    ("VEST-M", "High-visibility vest", Some("M"), "7.50"),
    ("VEST-L", "High-visibility vest", Some("L"), "7.50"),
    ("GLOVE-9", "Work gloves", Some("9"), "4.25"),
    ("LAPTOP-14", "Laptop 14\"", None, "1149.00"),
    ("HEADSET", "Headset", None, "89.00"),
    ("PHONE", "Mobile phone", None, "399.00"),
    ("BADGE", "Access badge", None, "3.00"),
    ("JACKET-L", "Winter jacket", Some("L"), "64.00"),
    ("SCANNER", "Handheld scanner", None, "289.00"),
];
const TIME_OFF_TYPES: &[&str] = &["vacation", "sick", "parental", "training"];

/// Fills the organisation with the demo records.
pub async fn create(db: &Db, organization_id: &OrganizationId) -> anyhow::Result<Created> {
    let mut dice = Dice(0x7e55_e7a0_0000_0001);
    let reference = insert_reference_data(db, organization_id).await?;
    let staff = insert_employees(db, organization_id, &mut dice, &reference).await?;
    let pay_rates = insert_pay_rates(db, organization_id, &mut dice, &staff).await?;
    let time_off = insert_time_off(db, organization_id, &mut dice, &staff.ids).await?;
    let (products, transactions) =
        insert_products_and_transactions(db, organization_id, &mut dice, &staff.ids).await?;
    let documents = insert_contracts(db, organization_id, &staff.ids[..25]).await?;
    Ok(Created {
        employees: EMPLOYEES,
        pay_rates,
        time_off,
        documents,
        products,
        transactions,
    })
}

/// The ids of the records employees refer to.
struct ReferenceIds {
    sectors: Vec<String>,
    cost_centers: Vec<String>,
    job_roles: Vec<String>,
    groups: Vec<String>,
}

async fn insert_reference_data(
    db: &Db,
    organization_id: &OrganizationId,
) -> anyhow::Result<ReferenceIds> {
    let reference_data: [(&str, Vec<Value>); 4] = [
        (
            "sectors",
            SECTORS
                .iter()
                .map(|(name, code)| json!({"name": name, "code": code}))
                .collect(),
        ),
        (
            "cost-centers",
            COST_CENTERS
                .iter()
                .map(|(name, code)| json!({"name": name, "code": code}))
                .collect(),
        ),
        (
            "job-roles",
            JOB_ROLES
                .iter()
                .map(|(title, code, ..)| json!({"title": title, "code": code}))
                .collect(),
        ),
        (
            "groups",
            GROUPS
                .iter()
                .map(|(name, description)| json!({"name": name, "description": description}))
                .collect(),
        ),
    ];
    let mut reference_ids = Vec::with_capacity(reference_data.len());
    for (resource, records) in reference_data {
        reference_ids.push(insert(db, organization_id, resource, records).await?);
    }
    let [sectors, cost_centers, job_roles, groups]: [Vec<String>; 4] = reference_ids
        .try_into()
        .map_err(|_| anyhow!("the demo's reference data is incomplete"))?;
    Ok(ReferenceIds {
        sectors,
        cost_centers,
        job_roles,
        groups,
    })
}

/// The demo's employees: their ids, each one's job role (an index into
/// `JOB_ROLES`) and start year.
struct Staff {
    ids: Vec<String>,
    roles: Vec<usize>,
    start_years: Vec<String>,
}

async fn insert_employees(
    db: &Db,
    organization_id: &OrganizationId,
    dice: &mut Dice,
    reference: &ReferenceIds,
) -> anyhow::Result<Staff> {
    let ReferenceIds {
        sectors,
        cost_centers,
        job_roles,
        groups,
    } = reference;
    // Managers come first so the others can name them as manager.
    let mut employees = Vec::with_capacity(EMPLOYEES);
    let mut roles = Vec::with_capacity(EMPLOYEES);
    let mut start_years = Vec::with_capacity(EMPLOYEES);
    let mut manager_ids: Vec<String> = Vec::new();
    let employee_ids: Vec<String> = (0..EMPLOYEES).map(|_| new_prefixed_id("emp")).collect();
    for (n, id) in employee_ids.iter().enumerate() {
        let first = *dice.pick(FIRST_NAMES);
        let last = *dice.pick(LAST_NAMES);
        let role = if n < MANAGERS {
            5
        } else {
            dice.below(JOB_ROLES.len())
        };
        let start = format!(
            "{}-{:02}-{:02}",
            2012 + dice.below(14),
            1 + dice.below(12),
            1 + dice.below(28)
        );
        let status = match dice.below(20) {
            0 => "on_leave",
            1 => "terminated",
            _ => "active",
        };
        let end_date = (status == "terminated").then(|| "2026-06-30".to_owned());
        let in_group: Vec<&String> = groups.iter().filter(|_| dice.below(4) == 0).collect();
        employees.push(json!({
            "employee_number": format!("E-{:04}", n + 1),
            "first_name": first,
            "last_name": last,
            "birth_date": format!("{}-{:02}-{:02}", 1962 + dice.below(40), 1 + dice.below(12), 1 + dice.below(28)),
            "national_id": format!("AB{:06}C", 100_000 + dice.below(900_000)),
            "email": format!("{}.{}{}@acme.example", ascii(first), ascii(last), n + 1),
            "phone": format!("+44 20 7946 {:04}", n),
            "address": format!("{} {} Road, London", 1 + dice.below(200), dice.pick(LAST_NAMES)),
            "job_role_id": job_roles[role],
            "sector_id": dice.pick(sectors),
            "cost_center_id": dice.pick(cost_centers),
            "group_ids": in_group,
            "manager_id": (n >= MANAGERS).then(|| dice.pick(&manager_ids).clone()),
            "start_date": start,
            "end_date": end_date,
            "status": status,
            "iban": format!("GB{:02}ACME{:014}", 10 + dice.below(89), n),
            "bank_name": *dice.pick(&["Northern Bank", "City Savings", "Harbour Credit"]),
        }));
        roles.push(role);
        start_years.push(start_year(&employees[n]));
        if n < MANAGERS {
            manager_ids.push(id.clone());
        }
    }
    insert_with_ids(
        db,
        organization_id,
        "employees",
        employees,
        employee_ids.clone(),
    )
    .await?;
    Ok(Staff {
        ids: employee_ids,
        roles,
        start_years,
    })
}

async fn insert_pay_rates(
    db: &Db,
    organization_id: &OrganizationId,
    dice: &mut Dice,
    staff: &Staff,
) -> anyhow::Result<usize> {
    let pay_rates: Vec<Value> = staff
        .ids
        .iter()
        .zip(&staff.roles)
        .zip(&staff.start_years)
        .map(|((id, role), start)| {
            let (_, _, kind, low, high) = JOB_ROLES[*role];
            let whole = low + dice.below((high - low + 1) as usize) as u32;
            let amount = if kind == "hourly" {
                format!("{whole}.{:02}", dice.below(4) * 25)
            } else {
                format!("{whole}.00")
            };
            json!({
                "employee_id": id,
                "kind": kind,
                "amount": amount,
                "currency": if dice.below(10) == 0 { "EUR" } else { "GBP" },
                "effective_from": format!("{start}-01-01"),
            })
        })
        .collect();
    Ok(insert(db, organization_id, "pay-rates", pay_rates)
        .await?
        .len())
}

async fn insert_time_off(
    db: &Db,
    organization_id: &OrganizationId,
    dice: &mut Dice,
    employee_ids: &[String],
) -> anyhow::Result<usize> {
    let time_off: Vec<Value> = (0..90)
        .map(|_| {
            let month = 1 + dice.below(12);
            let day = 1 + dice.below(20);
            json!({
                "employee_id": dice.pick(employee_ids),
                "type": dice.pick(TIME_OFF_TYPES),
                "start_date": format!("2026-{month:02}-{day:02}"),
                "end_date": format!("2026-{month:02}-{:02}", day + dice.below(8)),
                "status": dice.pick(resources::TIME_OFF_STATUSES),
                "note": Value::Null,
            })
        })
        .collect();
    Ok(insert(db, organization_id, "time-off", time_off)
        .await?
        .len())
}

/// The shop's products and the staff's withdrawals, returns and exchanges of
/// them: how many of each.
async fn insert_products_and_transactions(
    db: &Db,
    organization_id: &OrganizationId,
    dice: &mut Dice,
    employee_ids: &[String],
) -> anyhow::Result<(usize, usize)> {
    let products = insert(
        db,
        organization_id,
        "products",
        PRODUCTS
            .iter()
            .map(|(sku, name, size, price)| json!({"sku": sku, "name": name, "size": size, "unit_price": price}))
            .collect(),
    )
    .await?;

    let transactions: Vec<Value> = (0..150)
        .map(|_| {
            json!({
                "type": *dice.pick(&["withdrawal", "withdrawal", "withdrawal", "return", "exchange"]),
                "employee_id": dice.pick(employee_ids),
                "product_id": dice.pick(&products),
                "quantity": 1 + dice.below(3),
                "occurred_at": format!("2026-{:02}-{:02}T{:02}:{:02}:00Z", 1 + dice.below(10), 1 + dice.below(28), 7 + dice.below(11), dice.below(60)),
            })
        })
        .collect();
    let transactions = insert(db, organization_id, "transactions", transactions)
        .await?
        .len();
    Ok((products.len(), transactions))
}

fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' => 'e',
            'ë' => 'e',
            'í' => 'i',
            other => other,
        })
        .filter(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_lowercase()
}

fn start_year(employee: &Value) -> String {
    employee["start_date"]
        .as_str()
        .and_then(|d| d.get(..4))
        .unwrap_or("2020")
        .to_owned()
}

async fn insert(
    db: &Db,
    organization_id: &OrganizationId,
    name: &str,
    bodies: Vec<Value>,
) -> anyhow::Result<Vec<String>> {
    let prefix = resources::resource(name)
        .ok_or_else(|| anyhow!("no resource {name}"))?
        .id_prefix;
    let ids = bodies.iter().map(|_| new_prefixed_id(prefix)).collect();
    insert_with_ids(db, organization_id, name, bodies, ids).await
}

async fn insert_with_ids(
    db: &Db,
    organization_id: &OrganizationId,
    name: &str,
    bodies: Vec<Value>,
    ids: Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let resource = resources::resource(name).ok_or_else(|| anyhow!("no resource {name}"))?;
    let mut new = Vec::with_capacity(bodies.len());
    for (body, id) in bodies.iter().zip(&ids) {
        let data = records::check_write(resource, body, WriteMode::Create, FieldGrant::FULL, None)
            .map_err(|e| anyhow!("a demo {name} record is invalid: {e:?}"))?;
        new.push(NewRecord {
            id: id.clone(),
            data,
            content: None,
        });
    }
    store(db, organization_id, resource, &new).await?;
    Ok(ids)
}

async fn store(
    db: &Db,
    organization_id: &OrganizationId,
    resource: &'static resources::Resource,
    new: &[NewRecord],
) -> anyhow::Result<()> {
    let ops = tessera_ops::Ops::without_cache(db.clone());
    match tessera_ops::records::create(&ops, organization_id, resource, new, now_ms(), None).await?
    {
        CreateOutcome::Created => Ok(()),
        other => bail!("cannot store the demo {}: {other:?}", resource.name),
    }
}

/// An employment contract per employee, as a small PDF.
async fn insert_contracts(
    db: &Db,
    organization_id: &OrganizationId,
    employee_ids: &[String],
) -> anyhow::Result<usize> {
    let resource =
        resources::resource("documents").ok_or_else(|| anyhow!("no resource documents"))?;
    let mut new = Vec::with_capacity(employee_ids.len());
    for (n, employee_id) in employee_ids.iter().enumerate() {
        let content = contract_pdf(n + 1);
        let body = json!({"employee_id": employee_id, "title": "Employment contract"});
        let mut data =
            records::check_write(resource, &body, WriteMode::Create, FieldGrant::FULL, None)
                .map_err(|e| anyhow!("a demo document is invalid: {e:?}"))?;
        data.insert(
            "file_name".into(),
            json!(format!("contract-E-{:04}.pdf", n + 1)),
        );
        data.insert("content_type".into(), json!("application/pdf"));
        data.insert("size".into(), json!(content.len()));
        data.insert(
            "sha256".into(),
            json!(format!("{:x}", Sha256::digest(&content))),
        );
        new.push(NewRecord {
            id: new_prefixed_id(resource.id_prefix),
            data,
            content: Some(content),
        });
    }
    store(db, organization_id, resource, &new).await?;
    Ok(new.len())
}

/// A one-page PDF saying whose contract it is.
fn contract_pdf(number: usize) -> Vec<u8> {
    let text = format!("BT /F1 18 Tf 72 720 Td (Employment contract E-{number:04}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
