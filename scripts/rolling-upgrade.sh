#!/usr/bin/env bash
# Rolling upgrade check (docs/scaling.md, "Rolling upgrades"): the previous
# release keeps serving on a database this checkout has migrated.
#
# Usage: scripts/rolling-upgrade.sh [OLD_REF]     (default HEAD~1)
#
# 1. builds OLD_REF's `tessera` in a git worktree, then this checkout's,
#    both with this CARGO_TARGET_DIR so dependencies are shared: only the
#    workspace crates compile, twice (the old build replaces this
#    checkout's workspace artifacts, so they are rebuilt after it);
# 2. starts the old binary on a fresh PostgreSQL database and seeds an
#    organisation, an administrator, a key and employees through it;
# 3. applies this checkout's migrations with the new binary's `migrate`;
# 4. checks that the running old instance still reads and writes (records,
#    keys, revocation), that a new instance serves the same data beside it,
#    that a revocation on either holds on the other, and that the old binary
#    starts again on the migrated database (what an old instance does when
#    it restarts mid-upgrade, or after a rollback).
# With TESSERA_OLD_BINARY and TESSERA_NEW_BINARY set, uses those instead of
# building. Exits non-zero on the first failure. Needs git, curl, jq, psql and
# PostgreSQL at TESSERA_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
old_ref="${1:-HEAD~1}"
admin_url="${TESSERA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
password='upgrade-harbour-quokka-7'
work=$(mktemp -d)
old_tree="$CARGO_TARGET_DIR/rolling-upgrade-old"
db="tessera_upgrade_$$"
database_url="${admin_url%/*}/$db"
servers=()

cleanup() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
    git worktree remove --force "$old_tree" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$1"; }
fail() {
    printf 'FAILED: %s\n' "$1" >&2
    for log in "$work"/*.log; do
        [ -e "$log" ] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}

if [ -n "${TESSERA_OLD_BINARY:-}" ] && [ -n "${TESSERA_NEW_BINARY:-}" ]; then
    # Binaries built already (CI has this checkout's from its test run).
    cp "$TESSERA_OLD_BINARY" "$work/tessera-old"
    cp "$TESSERA_NEW_BINARY" "$work/tessera-new"
    old_ref="$TESSERA_OLD_BINARY"
else
step "building $old_ref ($(git rev-parse --short "$old_ref")) and this checkout"
started=$SECONDS
git worktree remove --force "$old_tree" 2>/dev/null || rm -rf "$old_tree"
git worktree prune
git worktree add --quiet --detach "$old_tree" "$old_ref"
(cd "$old_tree" && cargo build --quiet -p tessera-cli --bin tessera)
cp "$CARGO_TARGET_DIR/debug/tessera" "$work/tessera-old"
old_built=$((SECONDS - started))
# Cargo names a workspace crate's artifacts without its path, so the old
# build replaced this checkout's, and judges freshness by modification
# times, which the old worktree's newer files win: touch this checkout's
# sources so its crates are rebuilt.
find crates -type f \( -name '*.rs' -o -name '*.sql' -o -name 'Cargo.toml' \) -exec touch {} +
cargo build --quiet -p tessera-cli --bin tessera
cp "$CARGO_TARGET_DIR/debug/tessera" "$work/tessera-new"
cmp -s "$work/tessera-old" "$work/tessera-new" && fail "the old and new binaries are the same file"
echo "old build ${old_built} s, new build $((SECONDS - started - old_built)) s"
fi

psql -q "$admin_url" -c "CREATE DATABASE $db"
export TESSERA_DATABASE_URL="$database_url" TESSERA_LOG=warn

# start NAME BINARY: serves on a free port; sets $address.
start() {
    local log="$work/$1.log"
    TESSERA_LOG=info "$2" serve --listen 127.0.0.1:0 >"$log" 2>&1 &
    servers+=("$!")
    address=
    for _ in $(seq 1 300); do
        address=$(sed -nE 's/.*tessera listening on http:\/\/([0-9.:]+).*/\1/p' "$log" | head -n 1)
        [ -n "$address" ] && return 0
        kill -0 "${servers[-1]}" 2>/dev/null || fail "$1 exited at start-up"
        sleep 0.1
    done
    fail "$1 did not start within 30 s"
}

# expect STATUS DESCRIPTION CURL-ARGS…: runs curl, checks the status, keeps
# the body in $body.
expect() {
    local want="$1" what="$2"
    shift 2
    local got
    got=$(curl -s -o "$work/body" -w '%{http_code}' "$@") || fail "$what: curl failed"
    body=$(cat "$work/body")
    [ "$got" = "$want" ] || fail "$what: expected $want, got $got: $body"
    echo "ok  $what ($got)"
}

employee() { # employee N: a new employee's JSON body
    printf '{"first_name":"Ada","last_name":"Upgrade %s","employee_number":"U%05d","email":"u%s@example.com","start_date":"2020-01-01","status":"active"}' "$1" "$1" "$1"
}

create_key() { # create_key ADDRESS: sets $key_id and $key
    expect 201 "create a key on $1" -u "admin-acme:$password" -H 'Content-Type: application/json' \
        -d '{"name":"upgrade"}' "http://$1/api/v1/api-keys"
    key_id=$(jq -r .id <<<"$body")
    key=$(jq -r .key <<<"$body")
}

# refused_within ADDRESS KEY: the key is refused on ADDRESS within 2 s.
refused_within() {
    local deadline=$((SECONDS + 2))
    while [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $2" "http://$1/api/v1/me")" != 401 ]; do
        [ $SECONDS -lt $deadline ] || fail "a revoked key still works on $1 after 2 s"
    done
    echo "ok  revoked key refused on $1"
}

step "the old release on a fresh database"
start old "$work/tessera-old"
old="$address"
"$work/tessera-old" admin create-org --slug acme --name Acme >/dev/null
"$work/tessera-old" admin create-user --org acme --username admin-acme --password "$password" --role Administrator >/dev/null
create_key "$old"
writer="$key"
for n in 1 2 3; do
    expect 201 "old: create employee $n" -H "X-API-Key: $writer" -H 'Content-Type: application/json' \
        -d "$(employee "$n")" "http://$old/api/v1/employees"
done
first_employee=$(jq -r .id <<<"$body")

step "this checkout's migrations, applied while the old release serves"
"$work/tessera-new" migrate | sed 's/^/    /'
psql -q -At "$database_url" -c "SELECT version || ' ' || description FROM _sqlx_migrations ORDER BY version DESC LIMIT 3" | sed 's/^/    applied: /'

step "the old release on the migrated schema"
expect 200 "old: readiness" "http://$old/readyz"
expect 200 "old: list employees" -H "X-API-Key: $writer" "http://$old/api/v1/employees"
[ "$(jq '.data | length' <<<"$body")" = 3 ] || fail "old: expected 3 employees, got $body"
expect 201 "old: create an employee" -H "X-API-Key: $writer" -H 'Content-Type: application/json' \
    -d "$(employee 4)" "http://$old/api/v1/employees"
expect 200 "old: update an employee" -X PATCH -H "X-API-Key: $writer" -H 'Content-Type: application/json' \
    -d '{"last_name":"Upgraded"}' "http://$old/api/v1/employees/$first_employee"
create_key "$old"
expect 200 "old: use its new key" -H "X-API-Key: $key" "http://$old/api/v1/me"
expect 204 "old: revoke it" -X DELETE -u "admin-acme:$password" "http://$old/api/v1/api-keys/$key_id"
refused_within "$old" "$key"

step "a new instance beside the old one"
start new "$work/tessera-new"
new="$address"
expect 200 "new: list employees the old release wrote" -H "X-API-Key: $writer" "http://$new/api/v1/employees"
[ "$(jq '.data | length' <<<"$body")" = 4 ] || fail "new: expected 4 employees, got $body"
expect 201 "new: create an employee" -H "X-API-Key: $writer" -H 'Content-Type: application/json' \
    -d "$(employee 5)" "http://$new/api/v1/employees"
new_employee=$(jq -r .id <<<"$body")
expect 200 "old: read the new release's employee" -H "X-API-Key: $writer" "http://$old/api/v1/employees/$new_employee"
for revoking in old new; do
    create_key "$new"
    expect 200 "both know the key" -H "X-API-Key: $key" "http://$old/api/v1/me"
    expect 200 "both know the key" -H "X-API-Key: $key" "http://$new/api/v1/me"
    at=$old; elsewhere=$new
    [ "$revoking" = new ] && { at=$new; elsewhere=$old; }
    expect 204 "$revoking: revoke" -X DELETE -u "admin-acme:$password" "http://$at/api/v1/api-keys/$key_id"
    refused_within "$elsewhere" "$key"
done

step "the old release restarting on the migrated schema"
kill "${servers[0]}"
wait "${servers[0]}" 2>/dev/null || true
if [ -n "${TESSERA_OLD_BINARY:-}" ] || grep -q set_ignore_missing "$old_tree/crates/tessera-store/src/db.rs"; then
    start old-restarted "$work/tessera-old"
    expect 200 "restarted old: list employees" -H "X-API-Key: $writer" "http://$address/api/v1/employees"
    [ "$(jq '.data | length' <<<"$body")" = 5 ] || fail "restarted old: expected 5 employees, got $body"
else
    # Releases before tolerant migrations refuse, at start-up, a database
    # that has migrations they do not know; what is running keeps serving.
    echo "skipped: $old_ref predates tolerant migrations and cannot start on a newer schema"
fi

step "passed: $old_ref keeps serving on this checkout's schema"
