"""Drives Tessera through the client openapi-python-client generated
(package `tessera_client`): prints `ok`, or exits naming the failed step."""

import io
import sys
import uuid

from tessera_client import AuthenticatedClient
from tessera_client.api.documents import create_document, download_document_content
from tessera_client.api.employees import (
    create_employee,
    get_employee,
    list_employees,
    update_employee,
)
from tessera_client.models import (
    CreateDocumentBody,
    Document,
    Employee,
    EmployeeCreate,
    EmployeeStatus,
    EmployeeUpdate,
    ListEmployeesFieldsItem,
    Problem,
)
from tessera_client.types import UNSET, File

base_url, key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(
    base_url=base_url, token=key, prefix="", auth_header_name="X-API-KEY"
)


def check(condition, step, answer=None):
    if not condition:
        detail = f": {answer.status_code} {answer.content[:300]!r}" if answer else ""
        sys.exit(f"failed: {step}{detail}")


def code_of(problem):
    return getattr(problem.code, "value", problem.code)


# Create with an Idempotency-Key; the retry replays the first answer.
body = EmployeeCreate(first_name="Ada", last_name="Lovelace", status=EmployeeStatus.ACTIVE)
retry_key = str(uuid.uuid4())
created = create_employee.sync_detailed(client=client, body=body, idempotency_key=retry_key)
check(created.status_code == 201 and isinstance(created.parsed, Employee), "create", created)
replayed = create_employee.sync_detailed(client=client, body=body, idempotency_key=retry_key)
check(
    replayed.status_code == 201
    and replayed.headers.get("idempotent-replayed") == "true"
    and replayed.parsed.id == created.parsed.id,
    "idempotent retry",
    replayed,
)
employee_id = created.parsed.id

# Read it, then update with If-Match; the stale tag is refused.
fetched = get_employee.sync_detailed(employee_id, client=client)
check(fetched.status_code == 200 and fetched.parsed.last_name == "Lovelace", "get", fetched)
tag = fetched.headers["etag"]
updated = update_employee.sync_detailed(
    employee_id, client=client, body=EmployeeUpdate(status=EmployeeStatus.ON_LEAVE), if_match=tag
)
check(
    updated.status_code == 200 and updated.parsed.status == EmployeeStatus.ON_LEAVE,
    "update with If-Match",
    updated,
)
stale = update_employee.sync_detailed(
    employee_id, client=client, body=EmployeeUpdate(last_name="Byron"), if_match=tag
)
check(
    stale.status_code == 412
    and isinstance(stale.parsed, Problem)
    and code_of(stale.parsed) == "precondition_failed",
    "update with a stale If-Match",
    stale,
)

# List with fields: only the fields asked for come back.
listed = list_employees.sync_detailed(
    client=client,
    fields=[ListEmployeesFieldsItem.LAST_NAME, ListEmployeesFieldsItem.STATUS],
    limit=10,
)
check(listed.status_code == 200, "list with fields", listed)
mine = [e for e in listed.parsed.data if e.id == employee_id]
check(len(mine) == 1, "the new employee is listed", listed)
check(
    mine[0].last_name == "Lovelace"
    and mine[0].status == EmployeeStatus.ON_LEAVE
    and mine[0].first_name is UNSET,
    "fields narrows the record",
    listed,
)

# Upload a document, then download its bytes.
contents = b"%PDF-1.4\n% an employment contract\n"
uploaded = create_document.sync_detailed(
    client=client,
    body=CreateDocumentBody(
        employee_id=employee_id,
        title="Employment contract",
        file=File(payload=io.BytesIO(contents), file_name="contract.pdf", mime_type="application/pdf"),
    ),
)
check(uploaded.status_code == 201 and isinstance(uploaded.parsed, Document), "upload", uploaded)
downloaded = download_document_content.sync_detailed(uploaded.parsed.id, client=client)
check(downloaded.status_code == 200, "download", downloaded)
check(downloaded.parsed.payload.read() == contents, "downloaded bytes", downloaded)

print("ok")
