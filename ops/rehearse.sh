#!/usr/bin/env bash
# A production rehearsal on loopback: `ops/rehearse.sh [--keep]`.
#
# In a temporary folder it starts what a deployment runs - PostgreSQL and Redis; intake
# and its sync app under gunicorn behind nginx (the intake host); two casework nodes
# under gunicorn sharing PostgreSQL and Redis behind one nginx upstream with TLS, two rq
# workers and the scheduler (the casework host) - with the files in ops/ (gunicorn
# configs as they are, nginx sites copied with paths and ports rewritten), configured by
# LYKTA_* variables as systemd would. Then it drives one report through nginx to
# casework and a reply back (ops/rehearsal/drive.py), and prints each step.
#
# It is a rehearsal, not a deployment: Argon2 runs at the INSECURE fast cost
# (crypto.INSECURE_FAST) for the accounts and the receipt, the TLS CA is made here and
# thrown away, the escrow key's private half is discarded, and everything runs as the
# calling user (as root, PostgreSQL runs as `postgres`: initdb refuses root).
#
# Exit 0 only if every step held; otherwise non-zero, with the failing step named and
# the tail of the logs. Every process is stopped and the folder removed on exit
# (--keep keeps the folder, for reading the logs). Needs the Debian packages nginx,
# libnginx-mod-http-headers-more-filter, postgresql, redis-server and openssl, and the
# checkout's .venv (LYKTA_PYTHON names another interpreter).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
KEEP=0
case "${1:-}" in
    --keep) KEEP=1 ;;
    "") ;;
    *) echo "usage: ops/rehearse.sh [--keep]" >&2; exit 2 ;;
esac
PY=${LYKTA_PYTHON:-$REPO/.venv/bin/python}
VENV_BIN=$(dirname "$PY")
STEP="prerequisites"
PIDS=()
NAMES=()
PG_BIN=""
AS_POSTGRES=()
ROOT=""

say() { echo "[rehearsal] $*"; }
step() { STEP=$1; say "step: $1"; }
ok() { say "ok: $* [${SECONDS}s]"; }

# tree PID...: those processes and all their descendants (an rq work horse leaves its
# worker's process group), from one listing of every process.
tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        { parent[$1] = $2 }
        END {
            n = split(roots, queue, " ")
            for (i = 1; i <= n; i++) keep[queue[i]] = 1
            do {
                added = 0
                for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; added = 1 }
            } while (added)
            for (p in keep) print p
        }'
}

# alive PID: running (a zombie waiting for its parent runs no code).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# stop_started FIRST LAST: SIGTERM the processes started as PIDS[FIRST..LAST] (a graceful
# stop: gunicorn and rq finish what they are doing), up to 5 s, then SIGKILL whatever
# is left of their trees.
stop_started() {
    local i pid waited=0 members=()
    members=($(tree "${PIDS[@]:$1:$(($2 - $1 + 1))}"))
    for ((i = $2; i >= $1; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${members[@]}"; do
        while alive "$pid" && ((waited < 50)); do
            sleep 0.1
            waited=$((waited + 1))
        done
    done
    if ((${#members[@]} > 0)); then
        kill -KILL "${members[@]}" 2>/dev/null || true
    fi
    for ((i = $2; i >= $1; i--)); do
        wait "${PIDS[i]}" 2>/dev/null || true
    done
}

stop_all() {
    # Everything else before Redis (PIDS[0]), and PostgreSQL last: workers and nodes
    # stop with their services still there.
    if ((${#PIDS[@]} > 1)); then
        stop_started 1 $((${#PIDS[@]} - 1))
    fi
    if ((${#PIDS[@]} > 0)); then
        stop_started 0 0
    fi
    if [[ -n "$PG_BIN" && -f "$ROOT/pg/data/postmaster.pid" ]]; then
        "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$ROOT/pg/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
}

finish() {
    local status=$?
    trap - EXIT INT TERM
    if [[ $status -ne 0 ]]; then
        say "FAILED at step: $STEP (exit $status)"
        if [[ -n "$ROOT" && -d "$ROOT/logs" ]]; then
            for log in "$ROOT"/logs/*.log; do
                [[ -s "$log" ]] || continue
                echo "--- $(basename "$log") (last lines)" >&2
                tail -n 15 "$log" >&2
            done
        fi
    fi
    stop_all
    if [[ -n "$ROOT" ]]; then
        if [[ $KEEP -eq 1 ]]; then
            say "kept $ROOT"
        else
            rm -rf "$ROOT"
        fi
    fi
    [[ $status -eq 0 ]] && say "rehearsal passed"
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: run in the background, output to logs/NAME.log. Redis must be
# the first (stop_all stops it after the rest).
start() {
    local name=$1
    shift
    "$@" >"$ROOT/logs/$name.log" 2>&1 </dev/null &
    PIDS+=($!)
    NAMES+=("$name")
}

# Fail at once when a process we started has exited.
check_alive() {
    local i
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
            say "${NAMES[i]} exited"
            return 1
        fi
    done
}

wait_for_file() {
    for _ in $(seq 200); do
        [[ -e "$1" ]] && return 0
        sleep 0.05
    done
    say "timed out waiting for $1"
    return 1
}

# --- prerequisites ------------------------------------------------------------------
step "prerequisites"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for need in "$PG_BIN/initdb" "$(command -v redis-server)" "$(command -v nginx)" \
            "$(command -v openssl)" "$PY" "$VENV_BIN/gunicorn" "$VENV_BIN/flask"; do
    if [[ -z "$need" || ! -x "$need" ]]; then
        say "missing: ${need:-a command} (apt-get install postgresql redis-server nginx" \
            "libnginx-mod-http-headers-more-filter openssl; make venv)"
        PG_BIN=""
        exit 1
    fi
done
ROOT=$(mktemp -d -t lykta-rehearsal-XXXXXX)
mkdir -p "$ROOT"/{logs,run,redis,tls}
ok "prerequisites (state in $ROOT)"

# --- PostgreSQL and Redis ---------------------------------------------------------
step "PostgreSQL and Redis"
mkdir -p "$ROOT/pg"
if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses root: the cluster belongs to postgres, who may only pass through
    # the temp folder (0711) to its own 0700 folder.
    chmod 0711 "$ROOT"
    chown postgres "$ROOT/pg"
    chmod 0700 "$ROOT/pg"
    AS_POSTGRES=(runuser -u postgres --)
fi
"${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$ROOT/pg/data" -A trust -U lykta --no-sync \
    >"$ROOT/logs/initdb.log" 2>&1
"${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$ROOT/pg/data" -w -l "$ROOT/pg/postgres.log" \
    -o "-k $ROOT/pg -c listen_addresses='' -c fsync=off" start >/dev/null
for db in lykta_intake lykta_casework; do
    "$PG_BIN/createdb" -h "$ROOT/pg" -U lykta "$db"
done
start redis redis-server --port 0 --unixsocket "$ROOT/redis/redis.sock" \
    --unixsocketperm 700 --dir "$ROOT/redis" --save "" --appendonly no
wait_for_file "$ROOT/redis/redis.sock"
ok "PostgreSQL and Redis (unix sockets only, no TCP port)"

# --- configuration: LYKTA_* as systemd's Environment= would give it ------------------
step "configuration"
FAST=$("$PY" -c 'import json, crypto; print(json.dumps(crypto.INSECURE_FAST.to_dict()))')
export LYKTA_INTAKE_DATABASE_URL="postgresql+psycopg://lykta@/lykta_intake?host=$ROOT/pg"
export LYKTA_CASEWORK_DATABASE_URL="postgresql+psycopg://lykta@/lykta_casework?host=$ROOT/pg"
export LYKTA_REDIS_URL="unix://$ROOT/redis/redis.sock"
# INSECURE: the fast Argon2 cost, for accounts and receipts alike (a rehearsal).
export LYKTA_INTAKE_ARGON2=$FAST LYKTA_CASEWORK_ARGON2=$FAST
export LYKTA_CASEWORK_INTAKE_RECEIPT_ARGON2=$FAST
# A bridge cycle every 3 seconds, so the rehearsal needs no minute-long wait (each
# cycle builds the app afresh in an rq work horse: every second would keep both cores busy).
export LYKTA_CASEWORK_BRIDGE_INTERVAL_SECONDS=3
export LYKTA_GUNICORN_WORKERS=1
# The sync link's TLS: casework trusts the rehearsal's CA and shows its client
# certificate (certificate and key in one file), as ops/README.md's "TLS for the sync
# link" sets up with the internal CA.
export LYKTA_CASEWORK_INTAKE_SYNC_CA_FILE="$ROOT/tls/ca.pem"
export LYKTA_CASEWORK_INTAKE_SYNC_CLIENT_CERT="$ROOT/tls/client-with-key.pem"
"$PY" ops/rehearsal/instances.py configure "$ROOT"
eval "$("$PY" ops/rehearsal/sites.py "$ROOT")"
export LYKTA_CASEWORK_INTAKE_SYNC_URL="$SYNC_SCHEME://127.0.0.1:$SYNC_PORT"
ok "configuration (instances in $ROOT/intake and $ROOT/casework; ports: intake" \
    "$INTAKE_PORT, sync $SYNC_PORT ($SYNC_SCHEME), casework $CASEWORK_PORT (https))"

# --- TLS: a throwaway CA, a server and a client certificate -----------------------------
step "TLS certificates"
(
    cd "$ROOT/tls"
    umask 077
    EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${EC[@]}" -days 1 -keyout ca.key -out ca.pem \
        -subj "/CN=Lykta rehearsal CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    # server: every listener (casework for staff, the sync link); client: casework's
    # certificate for the sync link's mutual TLS.
    for cert in server client; do
        if [[ $cert == server ]]; then
            names="IP:127.0.0.1,DNS:localhost,DNS:casework.lykta.internal,DNS:sync.lykta.internal"
            usage=serverAuth
        else
            names="DNS:casework.lykta.internal"
            usage=clientAuth
        fi
        openssl req "${EC[@]}" -keyout "$cert.key" -out "$cert.csr" \
            -subj "/CN=lykta rehearsal $cert" 2>/dev/null
        printf '%s\n' "subjectAltName=$names" "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=$usage" \
            "authorityKeyIdentifier=keyid" >"$cert.ext"
        openssl x509 -req -in "$cert.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 1 -extfile "$cert.ext" -out "$cert.pem" 2>/dev/null
    done
    cat client.pem client.key >client-with-key.pem
    chmod 0644 ca.pem server.pem client.pem
)
ok "TLS certificates (a CA of the rehearsal's own; server and client certificates)"

# --- databases -------------------------------------------------------------------------
step "database migrations"
db_upgrade() {
    LYKTA_INSTANCE="$ROOT/$1" "$VENV_BIN/flask" --app "$1" db upgrade \
        >"$ROOT/logs/$1-db-upgrade.log" 2>&1
}
# Casework first: intake will not start (nor migrate) without the signed directory,
# which casework exports once its units and reviewers exist.
db_upgrade casework
"$PY" ops/rehearsal/instances.py accounts "$ROOT" >"$ROOT/logs/accounts.log" 2>&1
db_upgrade intake
ok "database migrations (both databases at head; units, two reviewers, the" \
    "signed directory installed at intake)"

# --- the intake host ------------------------------------------------------------------
step "intake host: gunicorn and nginx"
start intake env LYKTA_INSTANCE="$ROOT/intake" LYKTA_GUNICORN_BIND="unix:$ROOT/run/intake.sock" \
    "$VENV_BIN/gunicorn" -c ops/gunicorn/intake.conf.py
start sync env LYKTA_INSTANCE="$ROOT/intake" LYKTA_GUNICORN_BIND="unix:$ROOT/run/sync.sock" \
    "$VENV_BIN/gunicorn" -c ops/gunicorn/sync.conf.py
NGINX_INTAKE=(nginx -p "$ROOT/nginx-intake" -c "$ROOT/nginx-intake/nginx.conf"
              -e "$ROOT/logs/nginx-intake.log")
"${NGINX_INTAKE[@]}" -t >"$ROOT/logs/nginx-intake-test.log" 2>&1
start nginx-intake "${NGINX_INTAKE[@]}"
ok "intake host: gunicorn and nginx started"

# --- the casework host ----------------------------------------------------------------
step "casework host: two nodes, two rq workers, the scheduler, nginx"
for node in 1 2; do
    start "casework-$node" env LYKTA_INSTANCE="$ROOT/casework" \
        LYKTA_GUNICORN_BIND="unix:$ROOT/run/casework-$node.sock" \
        "$VENV_BIN/gunicorn" -c ops/gunicorn/casework.conf.py
done
WORKER=("$VENV_BIN/flask" --app casework jobs worker)
SCHEDULER=("$VENV_BIN/flask" --app casework jobs schedule)
for worker in 1 2; do
    start "worker-$worker" env LYKTA_INSTANCE="$ROOT/casework" "${WORKER[@]}"
done
start scheduler env LYKTA_INSTANCE="$ROOT/casework" "${SCHEDULER[@]}"
NGINX_CASEWORK=(nginx -p "$ROOT/nginx-casework" -c "$ROOT/nginx-casework/nginx.conf"
                -e "$ROOT/logs/nginx-casework.log")
"${NGINX_CASEWORK[@]}" -t >"$ROOT/logs/nginx-casework-test.log" 2>&1
start nginx-casework "${NGINX_CASEWORK[@]}"
ok "casework host: started"

# --- readiness ------------------------------------------------------------------------
step "readiness"
"$PY" ops/rehearsal/drive.py ready "$ROOT/tls" \
    "intake node=unix:$ROOT/run/intake.sock" "sync node=unix:$ROOT/run/sync.sock" \
    "casework node 1=unix:$ROOT/run/casework-1.sock" \
    "casework node 2=unix:$ROOT/run/casework-2.sock" \
    "intake through nginx=http://127.0.0.1:$INTAKE_PORT/" \
    "sync through nginx (client certificate)=$SYNC_SCHEME://127.0.0.1:$SYNC_PORT" \
    "casework through nginx=https://127.0.0.1:$CASEWORK_PORT" --workers 2
check_alive
ok "readiness (/readyz 200 everywhere; two rq workers on Redis)"

# --- one report there and back --------------------------------------------------------
step "a report to casework and a reply back, through nginx"
INTAKE_PORT=$INTAKE_PORT CASEWORK_PORT=$CASEWORK_PORT "$PY" ops/rehearsal/drive.py report "$ROOT"
check_alive
ok "a report to casework and a reply back, through nginx"
STEP="done"
