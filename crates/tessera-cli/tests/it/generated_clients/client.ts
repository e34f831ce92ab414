// A small Tessera client typed by openapi-typescript's output (schema.d.ts).
import type { components, paths } from "./schema";

type Employee = components["schemas"]["Employee"];
type EmployeeStatus = components["schemas"]["EmployeeStatus"];
type EmployeeList =
  paths["/api/v1/employees"]["get"]["responses"]["200"]["content"]["application/json"];
type EmployeeCreate =
  paths["/api/v1/employees"]["post"]["requestBody"]["content"]["application/json"];
type ListQuery = NonNullable<paths["/api/v1/employees"]["get"]["parameters"]["query"]>;
type Problem = components["schemas"]["Problem"];

export async function listEmployees(base: string, key: string, query: ListQuery): Promise<Employee[]> {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.status !== undefined) params.set("status", query.status);
  const answer = await fetch(`${base}/api/v1/employees?${params}`, { headers: { "X-API-KEY": key } });
  if (!answer.ok) {
    const problem = (await answer.json()) as Problem;
    throw new Error(`${problem.code}: ${problem.detail}`);
  }
  const page = (await answer.json()) as EmployeeList;
  return page.data;
}

export async function createEmployee(base: string, key: string, body: EmployeeCreate, idempotencyKey: string): Promise<Employee> {
  const answer = await fetch(`${base}/api/v1/employees`, {
    method: "POST",
    headers: { "X-API-KEY": key, "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
    body: JSON.stringify(body),
  });
  return (await answer.json()) as Employee;
}

const onLeave: EmployeeStatus = "on_leave";
export const newcomer: EmployeeCreate = { first_name: "Ada", last_name: "Lovelace", status: onLeave, end_date: null };

export function statusOf(employee: Employee): EmployeeStatus | null | undefined {
  return employee.status;
}

// The types are precise: these lines must not compile.
// @ts-expect-error "retired" is not an employee status
export const retired: EmployeeStatus = "retired";
// @ts-expect-error a create body needs last_name
export const nameless: EmployeeCreate = { first_name: "Ada" };
