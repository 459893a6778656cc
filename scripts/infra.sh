#!/usr/bin/env bash
# Install, start, check and stop the PostgreSQL, RabbitMQ and Redis servers that
# the demo, the test suite and .ci/run use.
#
# Every server listens on 127.0.0.1 only and keeps its data, logs, pid files and
# configuration under one state directory (CROUPIER_INFRA_DIR). Missing Debian
# packages are installed with apt-get, which needs root. The daemons are started
# directly, without systemd or init scripts, so this also works in containers.
# Log lines go to stderr, so stdout contains only the output that callers parse
# (`env`, `up` and `status`).

set -euo pipefail
umask 022

readonly usage_text="Usage: scripts/infra.sh COMMAND

Commands:
  up                 Install missing packages, start PostgreSQL, RabbitMQ and Redis
                     unless they are running, wait until each responds, and print
                     the connection settings as export lines.
  down               Stop all three servers (and RabbitMQ's epmd).
  status             Print one line per server and exit 0 if all three respond, 3 otherwise.
  env                Print the connection settings as export lines, for
                     eval \"\$(scripts/infra.sh env)\".
  start-postgres, stop-postgres, restart-postgres
  start-rabbitmq, stop-rabbitmq, restart-rabbitmq
  start-redis,    stop-redis,    restart-redis
                     Start, stop, or stop then start one server. Start commands wait
                     until the server responds.
  install-browser    Install Debian's chromium when missing, for the back office
                     browser tests. Starts nothing.
  help               Print this text.

Settings (environment variables, defaults in brackets):
  CROUPIER_INFRA_DIR                 state directory [<repo>/.infra]
  CROUPIER_PG_PORT                   PostgreSQL TCP port [54329]
  CROUPIER_PG_USER                   PostgreSQL superuser role [croupier]
  CROUPIER_PG_PASSWORD               password of that role [croupier]
  CROUPIER_PG_MAX_CONNECTIONS        max_connections [300]
  CROUPIER_PG_SHARED_BUFFERS         shared_buffers [256MB]
  CROUPIER_PG_START_TIMEOUT          seconds to wait for PostgreSQL [20]
  CROUPIER_RABBITMQ_PORT             AMQP port [56729]
  CROUPIER_RABBITMQ_MANAGEMENT_PORT  management HTTP API port [15679]
  CROUPIER_RABBITMQ_DIST_PORT        Erlang distribution port [25679]; rabbitmqctl
                                     uses the next 10 ports
  CROUPIER_RABBITMQ_EPMD_PORT        epmd port [14369]
  CROUPIER_RABBITMQ_NODENAME         node name, host part must be localhost [croupier@localhost]
  CROUPIER_RABBITMQ_USER             administrator user [croupier]
  CROUPIER_RABBITMQ_PASSWORD         password of that user [croupier]
  CROUPIER_RABBITMQ_START_TIMEOUT    seconds to wait for RabbitMQ [60]
  CROUPIER_REDIS_PORT                Redis port [63799]
  CROUPIER_REDIS_START_TIMEOUT       seconds to wait for Redis [20]
  CROUPIER_INFRA_STOP_TIMEOUT        seconds to wait for a clean stop before
                                     killing the server [30]

All servers listen on 127.0.0.1 only.

Exit status: 0 on success, 1 on failure, 2 on invalid usage, and 3 from status
when a server is not running or does not respond."

readonly loopback=127.0.0.1
readonly rabbitmq_lib_bin=/usr/lib/rabbitmq/bin

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

infra_dir=${CROUPIER_INFRA_DIR:-$repo_root/.infra}
if [[ $infra_dir != /* ]]; then
  infra_dir=$PWD/$infra_dir
fi

pg_port=${CROUPIER_PG_PORT:-54329}
pg_user=${CROUPIER_PG_USER:-croupier}
pg_password=${CROUPIER_PG_PASSWORD:-croupier}
pg_max_connections=${CROUPIER_PG_MAX_CONNECTIONS:-300}
pg_shared_buffers=${CROUPIER_PG_SHARED_BUFFERS:-256MB}
pg_start_timeout=${CROUPIER_PG_START_TIMEOUT:-20}

rabbitmq_port=${CROUPIER_RABBITMQ_PORT:-56729}
rabbitmq_management_port=${CROUPIER_RABBITMQ_MANAGEMENT_PORT:-15679}
rabbitmq_dist_port=${CROUPIER_RABBITMQ_DIST_PORT:-25679}
rabbitmq_epmd_port=${CROUPIER_RABBITMQ_EPMD_PORT:-14369}
rabbitmq_nodename=${CROUPIER_RABBITMQ_NODENAME:-croupier@localhost}
rabbitmq_user=${CROUPIER_RABBITMQ_USER:-croupier}
rabbitmq_password=${CROUPIER_RABBITMQ_PASSWORD:-croupier}
rabbitmq_start_timeout=${CROUPIER_RABBITMQ_START_TIMEOUT:-60}

redis_port=${CROUPIER_REDIS_PORT:-63799}
redis_start_timeout=${CROUPIER_REDIS_START_TIMEOUT:-20}

stop_timeout=${CROUPIER_INFRA_STOP_TIMEOUT:-30}

pg_dir=$infra_dir/postgres
pg_data=$pg_dir/data
pg_socket_dir=$pg_dir/run
pg_log=$pg_dir/postgres.log
pg_initdb_log=$pg_dir/initdb.log

rabbitmq_dir=$infra_dir/rabbitmq
rabbitmq_home=$rabbitmq_dir/home
rabbitmq_log_dir=$rabbitmq_dir/log
rabbitmq_startup_log=$rabbitmq_log_dir/startup.log
rabbitmq_node_log=$rabbitmq_log_dir/$rabbitmq_nodename.log
rabbitmq_pid_file=$rabbitmq_dir/rabbitmq.pid

redis_dir=$infra_dir/redis
redis_conf=$redis_dir/redis.conf
redis_pid_file=$redis_dir/redis.pid
redis_log=$redis_dir/redis.log

# Directory with postgres, initdb and pg_ctl, and the one with psql and pg_isready.
# They are set by find_postgres_binaries.
pg_server_bin=
pg_client_bin=

# Set when this run created /usr/sbin/policy-rc.d, so the EXIT trap removes it.
created_policy_rc_d=false

log() {
  printf 'infra: %s\n' "$*" >&2
}

die() {
  log "$*"
  exit 1
}

# Print the last lines of a log file to stderr, so CI output shows why a server failed.
show_log_tail() {
  local file=$1
  if [[ -s $file ]]; then
    log "Last 20 lines of $file:"
    tail -n 20 "$file" | sed 's/^/    /' >&2
  fi
}

cleanup() {
  if [[ $created_policy_rc_d == true ]]; then
    rm -f /usr/sbin/policy-rc.d
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Settings validation

validate_port() {
  local name=$1 value=$2
  if [[ ! $value =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
    die "Invalid $name '$value': expected a TCP port number from 1 to 65535."
  fi
}

validate_seconds() {
  local name=$1 value=$2
  if [[ ! $value =~ ^[0-9]+$ ]] || ((value < 1)); then
    die "Invalid $name '$value': expected a whole number of seconds, at least 1."
  fi
}

# User names and passwords go unescaped into URLs and server configuration files.
validate_credential() {
  local name=$1 value=$2
  if [[ ! $value =~ ^[A-Za-z0-9._~-]+$ ]]; then
    die "Invalid $name: use only letters, digits and . _ ~ - so that it can appear unescaped in a URL."
  fi
}

validate_settings() {
  validate_port CROUPIER_PG_PORT "$pg_port"
  validate_port CROUPIER_RABBITMQ_PORT "$rabbitmq_port"
  validate_port CROUPIER_RABBITMQ_MANAGEMENT_PORT "$rabbitmq_management_port"
  validate_port CROUPIER_RABBITMQ_DIST_PORT "$rabbitmq_dist_port"
  validate_port CROUPIER_RABBITMQ_EPMD_PORT "$rabbitmq_epmd_port"
  validate_port CROUPIER_REDIS_PORT "$redis_port"
  if ((rabbitmq_dist_port + 10 > 65535)); then
    die "Invalid CROUPIER_RABBITMQ_DIST_PORT '$rabbitmq_dist_port': rabbitmqctl needs the 10 ports above it, so use at most 65525."
  fi

  local -A seen=()
  local port
  for port in "$pg_port" "$rabbitmq_port" "$rabbitmq_management_port" \
    "$rabbitmq_dist_port" "$rabbitmq_epmd_port" "$redis_port"; do
    if [[ -n ${seen[$port]:-} ]]; then
      die "Invalid settings: port $port is configured for two servers. Give each CROUPIER_*_PORT its own value."
    fi
    seen[$port]=1
  done

  validate_seconds CROUPIER_PG_START_TIMEOUT "$pg_start_timeout"
  validate_seconds CROUPIER_RABBITMQ_START_TIMEOUT "$rabbitmq_start_timeout"
  validate_seconds CROUPIER_REDIS_START_TIMEOUT "$redis_start_timeout"
  validate_seconds CROUPIER_INFRA_STOP_TIMEOUT "$stop_timeout"

  validate_credential CROUPIER_PG_USER "$pg_user"
  validate_credential CROUPIER_PG_PASSWORD "$pg_password"
  validate_credential CROUPIER_RABBITMQ_USER "$rabbitmq_user"
  validate_credential CROUPIER_RABBITMQ_PASSWORD "$rabbitmq_password"

  if [[ ! $pg_max_connections =~ ^[0-9]+$ ]]; then
    die "Invalid CROUPIER_PG_MAX_CONNECTIONS '$pg_max_connections': expected a whole number."
  fi
  if [[ ! $pg_shared_buffers =~ ^[0-9]+(kB|MB|GB)?$ ]]; then
    die "Invalid CROUPIER_PG_SHARED_BUFFERS '$pg_shared_buffers': expected a size such as 256MB."
  fi

  # The CLI tools find the node through epmd on the host part of the node name,
  # so that host must be the loopback name.
  if [[ ! $rabbitmq_nodename =~ ^[A-Za-z0-9_-]+@localhost$ ]]; then
    die "Invalid CROUPIER_RABBITMQ_NODENAME '$rabbitmq_nodename': expected NAME@localhost."
  fi

  # The paths are written into PostgreSQL, Redis and Erlang settings without quoting rules
  # for these characters.
  if [[ $infra_dir =~ [[:space:]\"\'\\] ]]; then
    die "Invalid CROUPIER_INFRA_DIR '$infra_dir': the path must not contain spaces, quotes or backslashes."
  fi

  # A Unix socket path is limited to 107 bytes on Linux.
  local socket_path=$pg_socket_dir/.s.PGSQL.$pg_port
  if ((${#socket_path} > 107)); then
    die "The PostgreSQL socket path $socket_path is ${#socket_path} bytes, above the Linux limit of 107. Set CROUPIER_INFRA_DIR to a shorter path."
  fi
}

# ---------------------------------------------------------------------------
# Processes

# Succeed when the process exists and is not a zombie. A zombie still passes
# `kill -0`, so the state field of /proc/PID/stat is checked instead.
process_alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Print the pid stored in the first line of a pid file when that process is alive
# and its command name starts with the expected prefix, which guards against a
# stale pid file whose number now belongs to another process.
live_pid_from_file() {
  local pid_file=$1 command_prefix=$2 pid command_name
  [[ -r $pid_file ]] || return 1
  pid=$(head -n 1 "$pid_file" 2>/dev/null | tr -d '[:space:]')
  process_alive "$pid" || return 1
  command_name=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $command_name == "$command_prefix"* ]] || return 1
  printf '%s\n' "$pid"
}

# Send SIGTERM and wait up to `seconds` for the process to exit, then send SIGKILL.
terminate_process() {
  local component=$1 pid=$2 seconds=$3 deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + seconds))
  while process_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$component (pid $pid) did not stop within $seconds s after SIGTERM, so it is killed with SIGKILL."
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      return 0
    fi
    sleep 0.2
  done
}

# Poll `ready_command` until it succeeds. Fail when `alive_command` reports that
# the server exited, or when `seconds` pass. Both commands are strings run with
# eval. `log_files` is a space-separated list of the logs to show on failure, and
# the optional `check_name` names the check in the log lines.
wait_until_ready() {
  local component=$1 seconds=$2 log_files=$3 ready_command=$4 alive_command=$5
  local check=${6:+ ($6)}
  local started=$SECONDS deadline=$((SECONDS + seconds)) file
  local see_logs=${log_files// / and }
  log "Waiting up to $seconds s for $component to respond$check."
  while true; do
    if eval "$ready_command"; then
      log "$component responds$check after $((SECONDS - started)) s."
      return 0
    fi
    if ! eval "$alive_command"; then
      for file in $log_files; do
        show_log_tail "$file"
      done
      die "$component exited during startup. See $see_logs."
    fi
    if ((SECONDS >= deadline)); then
      for file in $log_files; do
        show_log_tail "$file"
      done
      log "The $component process is left running, so a later call waits for it again. scripts/infra.sh down stops it."
      die "Timed out: $component did not respond$check within $seconds s. See $see_logs."
    fi
    sleep 0.25
  done
}

# Hold an exclusive lock on file descriptor 9 for the rest of this run, so that
# parallel test workers calling `up` or `restart-*` do not start the same server
# twice. Every daemon is started with `9>&-`, because a daemon that inherited the
# descriptor would hold the lock for as long as it runs.
acquire_lock() {
  mkdir -p "$infra_dir"
  chmod 755 "$infra_dir"
  exec 9>"$infra_dir/lock"
  if ! flock -n 9; then
    log "Another scripts/infra.sh run holds $infra_dir/lock, waiting up to 600 s for it."
    flock -w 600 9 || die "Timed out after 600 s waiting for $infra_dir/lock. Check for a stuck scripts/infra.sh process."
  fi
}

# ---------------------------------------------------------------------------
# Packages

# Set pg_server_bin and pg_client_bin to the newest installed major version.
find_postgres_binaries() {
  local dir
  pg_server_bin=
  pg_client_bin=
  while read -r dir; do
    if [[ -x $dir/postgres && -x $dir/initdb && -x $dir/pg_ctl ]]; then
      pg_server_bin=$dir
    fi
    if [[ -x $dir/psql && -x $dir/pg_isready ]]; then
      pg_client_bin=$dir
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
}

# Print the Debian packages that the given components need and that are not installed.
missing_packages() {
  local component
  command -v curl >/dev/null || echo curl
  for component in "$@"; do
    case $component in
      postgres)
        find_postgres_binaries
        [[ -n $pg_server_bin ]] || echo postgresql
        [[ -n $pg_client_bin ]] || echo postgresql-client
        ;;
      rabbitmq)
        [[ -x $rabbitmq_lib_bin/rabbitmq-server ]] || echo rabbitmq-server
        command -v epmd >/dev/null || echo erlang-base
        ;;
      redis)
        command -v redis-server >/dev/null || echo redis-server
        command -v redis-cli >/dev/null || echo redis-tools
        ;;
      browser)
        command -v chromium >/dev/null || echo chromium
        ;;
    esac
  done
}

# Install the packages that the given components need, running apt-get update first.
# A temporary policy-rc.d stops the packages' maintainer scripts from starting the
# system-wide services, which would listen on default ports (RabbitMQ and epmd on
# all interfaces).
install_missing_packages() {
  local -a packages
  mapfile -t packages < <(missing_packages "$@" | sort -u)
  if ((${#packages[@]} == 0)); then
    return 0
  fi

  if ((EUID != 0)); then
    die "Missing packages: ${packages[*]}. Run this script as root, or install them with: sudo apt-get install ${packages[*]}"
  fi
  command -v apt-get >/dev/null || die "Missing packages: ${packages[*]}, and apt-get was not found. This script installs packages only on Debian."

  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# Created by scripts/infra.sh during apt-get install, removed afterwards.\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy_rc_d=true
  fi

  # DPkg::Lock::Timeout makes apt wait up to 120 s for another apt or dpkg run.
  log "Installing missing packages: ${packages[*]}. Running apt-get update first."
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -q >&2 ||
    die "apt-get update failed. See the output above."
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q \
    --no-install-recommends "${packages[@]}" >&2 ||
    die "apt-get install ${packages[*]} failed. See the output above."

  if [[ $created_policy_rc_d == true ]]; then
    rm -f /usr/sbin/policy-rc.d
    created_policy_rc_d=false
  fi
  stop_package_epmd
  log "Installed ${packages[*]}."
}

# The rabbitmq-server package's maintainer scripts run rabbitmqctl, which starts
# a system epmd on the default port 4369 bound to every interface. Nothing of
# ours uses it (our node has its own epmd on loopback), so stop it when no node
# is registered with it.
stop_package_epmd() {
  command -v epmd >/dev/null || return 0
  if ERL_EPMD_PORT=4369 epmd -names >/dev/null 2>&1; then
    if ERL_EPMD_PORT=4369 epmd -names 2>/dev/null | grep -q '^name '; then
      log "A system epmd on port 4369 has registered nodes; leaving it running."
    elif ERL_EPMD_PORT=4369 epmd -kill >/dev/null 2>&1; then
      log "Stopped the system epmd on port 4369 that the package installation started."
    fi
  fi
}

# ---------------------------------------------------------------------------
# PostgreSQL
#
# PostgreSQL refuses to run as root, so a root caller runs it as the `postgres`
# OS user. That user is also the bootstrap superuser and reaches the server
# through the Unix socket with peer authentication. TCP clients log in as the
# croupier role with a SCRAM-SHA-256 password.

pg_os_user() {
  if ((EUID == 0)); then
    echo postgres
  else
    id -un
  fi
}

run_as_pg_user() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_pid() {
  live_pid_from_file "$pg_data/postmaster.pid" postgres
}

pg_accepts_connections() {
  "$pg_client_bin/pg_isready" -q -h "$loopback" -p "$pg_port" -t 2 >/dev/null 2>&1
}

# Create the postgres OS user when it is missing, and give it search permission on
# every parent of the state directory.
prepare_pg_os_user() {
  ((EUID == 0)) || return 0

  if ! id -u postgres >/dev/null 2>&1; then
    log "Creating the postgres OS user, because PostgreSQL refuses to run as root."
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
      --shell /usr/sbin/nologin postgres
  fi

  # Check from / downwards, because testing a directory also needs search
  # permission on all of its parents.
  local dir='' part
  local -a parts
  IFS=/ read -r -a parts <<<"${infra_dir#/}"
  for part in "${parts[@]}"; do
    dir=$dir/$part
    if ! runuser -u postgres -- test -x "$dir"; then
      log "Adding search permission for other users (chmod o+x) on $dir, so that the postgres user can reach $infra_dir."
      chmod o+x "$dir"
    fi
  done
  runuser -u postgres -- test -x "$infra_dir" ||
    die "The postgres OS user cannot reach $infra_dir. Check the permissions and ACLs of that path."
}

init_pg_data_dir() {
  log "Initialising the PostgreSQL data directory $pg_data with initdb."
  if ! (cd "$pg_dir" && run_as_pg_user "$pg_server_bin/initdb" --pgdata="$pg_data" \
    --username="$(pg_os_user)" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8) >"$pg_initdb_log" 2>&1; then
    show_log_tail "$pg_initdb_log"
    die "initdb failed for $pg_data. See $pg_initdb_log."
  fi
}

# Write croupier.conf and pg_hba.conf, which are regenerated on every start so that
# changed settings apply, and include croupier.conf from postgresql.conf.
write_pg_config() {
  local os_user
  os_user=$(pg_os_user)

  cat >"$pg_data/croupier.conf" <<EOF
# Written by scripts/infra.sh on every start. Edit the script, not this file.
listen_addresses = '$loopback'
port = $pg_port
unix_socket_directories = '$pg_socket_dir'
max_connections = $pg_max_connections
shared_buffers = '$pg_shared_buffers'
password_encryption = 'scram-sha-256'
# The tests check money movements, so commits must be durable even on a test machine.
fsync = on
synchronous_commit = on
full_page_writes = on
EOF

  cat >"$pg_data/pg_hba.conf" <<EOF
# Written by scripts/infra.sh on every start. Edit the script, not this file.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       $os_user        peer
local   all       all             scram-sha-256
host    all       all   $loopback/32  scram-sha-256
EOF

  if ! grep -qx "include 'croupier.conf'" "$pg_data/postgresql.conf"; then
    printf "\n# Settings from scripts/infra.sh.\ninclude 'croupier.conf'\n" >>"$pg_data/postgresql.conf"
  fi

  if ((EUID == 0)); then
    chown postgres:postgres "$pg_data/croupier.conf" "$pg_data/pg_hba.conf"
  fi
  chmod 600 "$pg_data/croupier.conf" "$pg_data/pg_hba.conf"
}

# Create the login role if it is missing and set its password and superuser flag.
ensure_pg_role() {
  if ! (cd "$pg_dir" && run_as_pg_user "$pg_client_bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$pg_socket_dir" -p "$pg_port" -U "$(pg_os_user)" -d postgres) >/dev/null <<EOF; then
\set role_name '$pg_user'
\set role_password '$pg_password'
SELECT format('CREATE ROLE %I', :'role_name')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role_name') \gexec
ALTER ROLE :"role_name" WITH LOGIN SUPERUSER PASSWORD :'role_password';
EOF
    die "Failed to create or update the PostgreSQL role $pg_user. See $pg_log."
  fi
}

start_postgres() {
  find_postgres_binaries
  if pg_pid >/dev/null; then
    if pg_accepts_connections; then
      log "PostgreSQL is already running on $loopback:$pg_port."
    else
      wait_until_ready PostgreSQL "$pg_start_timeout" "$pg_log" pg_accepts_connections 'pg_pid >/dev/null' pg_isready
    fi
    ensure_pg_role
    return 0
  fi

  prepare_pg_os_user
  mkdir -p "$pg_dir" "$pg_socket_dir"
  if ((EUID == 0)); then
    chown postgres:postgres "$pg_dir" "$pg_socket_dir"
  fi
  chmod 755 "$pg_dir" "$pg_socket_dir"

  if [[ ! -f $pg_data/PG_VERSION ]]; then
    init_pg_data_dir
  fi
  local data_version server_version
  data_version=$(cat "$pg_data/PG_VERSION")
  server_version=$(basename "$(dirname "$pg_server_bin")")
  if [[ $data_version != "$server_version" ]]; then
    die "The data directory $pg_data was created by PostgreSQL $data_version, but the installed server is $server_version. Remove $pg_data to create a new one."
  fi

  write_pg_config
  log "Starting PostgreSQL $server_version on $loopback:$pg_port (log: $pg_log)."
  log "Waiting up to $pg_start_timeout s for PostgreSQL to accept connections (pg_ctl start --wait)."
  local started=$SECONDS
  # pg_ctl --wait polls the server until it accepts connections and notices when
  # the postmaster exits, so it both waits and detects a failed start.
  if ! (cd "$pg_dir" && run_as_pg_user "$pg_server_bin/pg_ctl" --pgdata="$pg_data" \
    --log="$pg_log" --wait --timeout="$pg_start_timeout" start) >/dev/null 9>&-; then
    show_log_tail "$pg_log"
    die "PostgreSQL failed to start or did not accept connections within $pg_start_timeout s. See $pg_log."
  fi
  pg_accepts_connections || die "PostgreSQL started, but pg_isready failed on $loopback:$pg_port. See $pg_log."
  log "PostgreSQL accepts connections (pg_isready) after $((SECONDS - started)) s."
  ensure_pg_role
}

stop_postgres() {
  local pid
  if ! pid=$(pg_pid); then
    log "PostgreSQL is not running."
    return 0
  fi
  find_postgres_binaries
  log "Stopping PostgreSQL (pid $pid) with a fast shutdown."
  if ! (cd "$pg_dir" && run_as_pg_user "$pg_server_bin/pg_ctl" --pgdata="$pg_data" \
    --mode=fast --wait --timeout="$stop_timeout" stop) >/dev/null; then
    log "PostgreSQL did not stop within $stop_timeout s, so an immediate shutdown is used."
    (cd "$pg_dir" && run_as_pg_user "$pg_server_bin/pg_ctl" --pgdata="$pg_data" \
      --mode=immediate --wait --timeout=10 stop) >/dev/null || true
  fi
  if process_alive "$pid"; then
    terminate_process PostgreSQL "$pid" 5
  fi
  log "PostgreSQL stopped."
}

status_postgres() {
  local pid
  find_postgres_binaries
  if ! pid=$(pg_pid); then
    echo "postgres: not running"
    return 1
  fi
  if [[ -n $pg_client_bin ]] && pg_accepts_connections; then
    echo "postgres: running (pid $pid, $loopback:$pg_port)"
    return 0
  fi
  echo "postgres: started but not responding (pid $pid, $loopback:$pg_port, log $pg_log)"
  return 1
}

# ---------------------------------------------------------------------------
# RabbitMQ
#
# The node runs as the calling user with its own Erlang cookie, config files,
# mnesia and log directories, so it shares nothing with the system-wide Debian
# service. epmd and the Erlang distribution listen on 127.0.0.1 only.

# Set rabbitmq_env to an `env` command line that runs a program with this node's
# environment. Inherited RABBITMQ_* variables are removed so that they cannot point
# the tools at another node or configuration.
build_rabbitmq_env() {
  local name
  rabbitmq_env=(env --chdir="$rabbitmq_dir")
  while read -r name; do
    rabbitmq_env+=(--unset="$name")
  done < <(compgen -e -X '!RABBITMQ_*')

  rabbitmq_env+=(
    HOME="$rabbitmq_home"
    RABBITMQ_NODENAME="$rabbitmq_nodename"
    RABBITMQ_USE_LONGNAME=false
    RABBITMQ_CONF_ENV_FILE="$rabbitmq_dir/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$rabbitmq_dir/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$rabbitmq_dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$rabbitmq_dir/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$rabbitmq_dir/mnesia"
    RABBITMQ_LOG_BASE="$rabbitmq_log_dir"
    RABBITMQ_LOGS="$rabbitmq_node_log"
    RABBITMQ_PID_FILE="$rabbitmq_pid_file"
    RABBITMQ_DIST_PORT="$rabbitmq_dist_port"
    RABBITMQ_CTL_DIST_PORT_MIN=$((rabbitmq_dist_port + 1))
    RABBITMQ_CTL_DIST_PORT_MAX=$((rabbitmq_dist_port + 10))
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    ERL_EPMD_ADDRESS="$loopback"
    ERL_EPMD_PORT="$rabbitmq_epmd_port"
    ERL_CRASH_DUMP="$rabbitmq_log_dir/erl_crash.dump"
  )
}

# Run a RabbitMQ script from /usr/lib/rabbitmq/bin with this node's environment.
# The /usr/sbin wrappers are not used, because they switch to the rabbitmq OS
# user and work in /var/lib/rabbitmq.
run_rabbitmq_tool() {
  local tool=$1
  shift
  local -a rabbitmq_env
  build_rabbitmq_env
  "${rabbitmq_env[@]}" "$rabbitmq_lib_bin/$tool" "$@"
}

# Call the management HTTP API on loopback and print the HTTP status code, or 000
# when the connection fails. The proxy settings of the caller are ignored.
rabbitmq_api_status() {
  local method=$1 path=$2 body=${3:-}
  local -a args=(--silent --output /dev/null --write-out '%{http_code}' --noproxy '*'
    --max-time 5 --user "$rabbitmq_user:$rabbitmq_password" --request "$method")
  if [[ -n $body ]]; then
    args+=(--header 'content-type: application/json' --data "$body")
  fi
  curl "${args[@]}" "http://$loopback:$rabbitmq_management_port$path" || true
}

rabbitmq_pid() {
  live_pid_from_file "$rabbitmq_pid_file" beam
}

rabbitmq_api_accepts_user() {
  [[ $(rabbitmq_api_status GET /api/overview) == 200 ]]
}

epmd_running() {
  epmd -port "$rabbitmq_epmd_port" -names >/dev/null 2>&1
}

start_epmd() {
  if epmd_running; then
    return 0
  fi
  log "Starting epmd on $loopback:$rabbitmq_epmd_port."
  (cd "$rabbitmq_dir" && setsid epmd -address "$loopback" -port "$rabbitmq_epmd_port" -daemon) 9>&- ||
    die "Failed to start epmd on $loopback:$rabbitmq_epmd_port."
  local deadline=$((SECONDS + 10))
  until epmd_running; do
    ((SECONDS < deadline)) || die "Timed out: epmd did not respond on $loopback:$rabbitmq_epmd_port within 10 s."
    sleep 0.1
  done
}

stop_epmd() {
  if epmd_running; then
    log "Stopping epmd on $loopback:$rabbitmq_epmd_port."
    epmd -port "$rabbitmq_epmd_port" -kill >/dev/null 2>&1 || log "epmd -kill failed on port $rabbitmq_epmd_port."
  fi
}

write_rabbitmq_config() {
  mkdir -p "$rabbitmq_home" "$rabbitmq_log_dir" "$rabbitmq_dir/mnesia"

  # The CLI tools authenticate to the node with this cookie. Erlang requires that
  # only the owner can read it.
  if [[ ! -s $rabbitmq_home/.erlang.cookie ]]; then
    (umask 077 && od -A n -N 20 -t x1 /dev/urandom | tr -d ' \n' | tr a-f A-F >"$rabbitmq_home/.erlang.cookie")
  fi
  chmod 400 "$rabbitmq_home/.erlang.cookie"

  printf '# Intentionally empty: scripts/infra.sh passes all settings as environment variables.\n' \
    >"$rabbitmq_dir/rabbitmq-env.conf"
  printf '[rabbitmq_management].\n' >"$rabbitmq_dir/enabled_plugins"

  # default_* only apply when the node creates its database, so the user is created
  # instead of guest on the first start. ensure_rabbitmq_user repairs later changes.
  cat >"$rabbitmq_dir/rabbitmq.conf" <<EOF
# Written by scripts/infra.sh on every start. Edit the script, not this file.
listeners.tcp.default = $loopback:$rabbitmq_port
management.tcp.ip = $loopback
management.tcp.port = $rabbitmq_management_port
default_vhost = /
default_user = $rabbitmq_user
default_pass = $rabbitmq_password
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.file.level = info
log.console = false
EOF
}

# Make sure the configured user exists with the administrator tag, its password and
# full permissions on /, and that the default guest user is gone.
ensure_rabbitmq_user() {
  local status
  status=$(rabbitmq_api_status GET /api/whoami)
  if [[ $status != 200 ]]; then
    log "The RabbitMQ management API rejected $rabbitmq_user (HTTP $status), so the user is created or reset with rabbitmqctl."
    local users
    users=$(run_rabbitmq_tool rabbitmqctl --silent list_users | cut -f 1)
    if grep -qx -- "$rabbitmq_user" <<<"$users"; then
      run_rabbitmq_tool rabbitmqctl --quiet change_password "$rabbitmq_user" "$rabbitmq_password" >&2
    else
      run_rabbitmq_tool rabbitmqctl --quiet add_user "$rabbitmq_user" "$rabbitmq_password" >&2
    fi
    run_rabbitmq_tool rabbitmqctl --quiet set_user_tags "$rabbitmq_user" administrator >&2
    run_rabbitmq_tool rabbitmqctl --quiet set_permissions -p / "$rabbitmq_user" '.*' '.*' '.*' >&2
  fi

  status=$(rabbitmq_api_status PUT "/api/permissions/%2F/$rabbitmq_user" \
    '{"configure":".*","write":".*","read":".*"}')
  if [[ $status != 201 && $status != 204 ]]; then
    die "Failed to set the permissions of RabbitMQ user $rabbitmq_user on / (HTTP $status). See $rabbitmq_node_log."
  fi

  if [[ $rabbitmq_user != guest && $(rabbitmq_api_status GET /api/users/guest) == 200 ]]; then
    log "Deleting the default RabbitMQ user guest."
    status=$(rabbitmq_api_status DELETE /api/users/guest)
    [[ $status == 204 ]] || die "Failed to delete the RabbitMQ user guest (HTTP $status)."
  fi
}

# Succeed when the management API port accepts HTTP requests, whatever the status.
rabbitmq_api_listening() {
  [[ $(rabbitmq_api_status GET /api/overview) != 000 ]]
}

start_rabbitmq() {
  local pid
  if pid=$(rabbitmq_pid) && rabbitmq_api_listening; then
    log "RabbitMQ is already running (node $rabbitmq_nodename, pid $pid)."
    ensure_rabbitmq_user
    rabbitmq_api_accepts_user ||
      die "The RabbitMQ management API does not accept $rabbitmq_user. See $rabbitmq_node_log."
    return 0
  fi

  mkdir -p "$rabbitmq_dir"
  write_rabbitmq_config
  start_epmd

  local alive_command
  if pid=$(rabbitmq_pid); then
    log "RabbitMQ (pid $pid) is running, but its management API does not respond yet."
    alive_command="process_alive $pid"
  else
    rm -f "$rabbitmq_pid_file"
    log "Starting RabbitMQ node $rabbitmq_nodename on $loopback:$rabbitmq_port, management API on $loopback:$rabbitmq_management_port (log: $rabbitmq_node_log)."
    printf '\n=== %s scripts/infra.sh starts rabbitmq-server\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" \
      >>"$rabbitmq_startup_log"
    # setsid puts the server in its own session, so a signal sent to the caller's
    # process group (Ctrl-C in a test run) does not stop it. The launcher pid is the
    # rabbitmq-server shell script, which lives as long as the Erlang VM.
    local -a rabbitmq_env
    build_rabbitmq_env
    setsid "${rabbitmq_env[@]}" "$rabbitmq_lib_bin/rabbitmq-server" \
      >>"$rabbitmq_startup_log" 2>&1 </dev/null 9>&- &
    pid=$!
    alive_command="process_alive $pid"
  fi

  # The management plugin starts before the AMQP listener, so a responding API
  # does not mean that the node has finished booting. await_startup checks that.
  local deadline=$((SECONDS + rabbitmq_start_timeout))
  wait_until_ready RabbitMQ "$rabbitmq_start_timeout" "$rabbitmq_startup_log $rabbitmq_node_log" \
    rabbitmq_api_listening "$alive_command" "management API"

  local remaining=$((deadline - SECONDS)) await_output
  ((remaining >= 5)) || remaining=5
  log "Running rabbitmqctl await_startup for node $rabbitmq_nodename (timeout $remaining s)."
  if ! await_output=$(run_rabbitmq_tool rabbitmqctl --quiet await_startup --timeout "$remaining" 2>&1); then
    # A boot error (such as a port in use) stops the node a few seconds after the
    # management API came up. Give it time to exit and write the reason to the log.
    local exit_deadline=$((SECONDS + 10))
    while eval "$alive_command" && ((SECONDS < exit_deadline)); do
      sleep 0.5
    done
    show_log_tail "$rabbitmq_startup_log"
    show_log_tail "$rabbitmq_node_log"
    if ! eval "$alive_command"; then
      die "RabbitMQ exited during startup. See $rabbitmq_startup_log and $rabbitmq_node_log."
    fi
    printf '%s\n' "$await_output" >&2
    die "rabbitmqctl await_startup failed for RabbitMQ node $rabbitmq_nodename. See $rabbitmq_startup_log and $rabbitmq_node_log."
  fi

  ensure_rabbitmq_user
  rabbitmq_api_accepts_user ||
    die "The RabbitMQ management API does not accept $rabbitmq_user after startup. See $rabbitmq_node_log."
  log "RabbitMQ is ready: rabbitmqctl await_startup succeeded and GET /api/overview returned 200."
}

# Stop the RabbitMQ node with SIGTERM, which RabbitMQ 3.10 handles as a clean
# shutdown (its log shows "SIGTERM received - shutting down").
stop_rabbitmq_node() {
  local pid
  if ! pid=$(rabbitmq_pid); then
    log "RabbitMQ is not running."
    return 0
  fi
  log "Stopping RabbitMQ node $rabbitmq_nodename (pid $pid)."
  terminate_process RabbitMQ "$pid" "$stop_timeout"
  rm -f "$rabbitmq_pid_file"
  log "RabbitMQ stopped."
}

stop_rabbitmq() {
  stop_rabbitmq_node
  stop_epmd
}

status_rabbitmq() {
  local pid
  if ! pid=$(rabbitmq_pid); then
    echo "rabbitmq: not running"
    return 1
  fi
  if rabbitmq_api_accepts_user; then
    echo "rabbitmq: running (pid $pid, node $rabbitmq_nodename, AMQP $loopback:$rabbitmq_port, management $loopback:$rabbitmq_management_port)"
    return 0
  fi
  echo "rabbitmq: started but not responding (pid $pid, log $rabbitmq_node_log)"
  return 1
}

# ---------------------------------------------------------------------------
# Redis

redis_pid() {
  live_pid_from_file "$redis_pid_file" redis-server
}

redis_responds() {
  [[ $(timeout 3 redis-cli -h "$loopback" -p "$redis_port" ping 2>/dev/null) == PONG ]]
}

write_redis_config() {
  mkdir -p "$redis_dir/data"
  # No RDB snapshots and no append-only file, so every start begins empty. The
  # tests restart Redis to check that the services cope with lost Redis state.
  cat >"$redis_conf" <<EOF
# Written by scripts/infra.sh on every start. Edit the script, not this file.
bind $loopback
port $redis_port
protected-mode yes
daemonize yes
supervised no
pidfile $redis_pid_file
logfile $redis_log
dir $redis_dir/data
save ""
appendonly no
EOF
}

start_redis() {
  local pid
  if pid=$(redis_pid); then
    if redis_responds; then
      log "Redis is already running on $loopback:$redis_port."
      return 0
    fi
    wait_until_ready Redis "$redis_start_timeout" "$redis_log" redis_responds 'redis_pid >/dev/null' PING
    return 0
  fi

  write_redis_config
  rm -f "$redis_pid_file"
  log "Starting Redis on $loopback:$redis_port (log: $redis_log)."
  if ! (cd "$redis_dir" && setsid redis-server "$redis_conf") >&2 </dev/null 9>&-; then
    show_log_tail "$redis_log"
    die "redis-server failed to start. See $redis_log."
  fi
  # redis-server returns once it has daemonized, but the daemon writes the pid file
  # a moment later, so the first 2 s count as alive even without a pid file.
  local launched=$SECONDS
  wait_until_ready Redis "$redis_start_timeout" "$redis_log" redis_responds \
    "redis_pid >/dev/null || ((SECONDS - $launched < 2))" PING
}

stop_redis() {
  local pid
  if ! pid=$(redis_pid); then
    log "Redis is not running."
    return 0
  fi
  log "Stopping Redis (pid $pid)."
  timeout 5 redis-cli -h "$loopback" -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  local deadline=$((SECONDS + stop_timeout))
  while process_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if process_alive "$pid"; then
    terminate_process Redis "$pid" 5
  fi
  rm -f "$redis_pid_file"
  log "Redis stopped."
}

status_redis() {
  local pid
  if ! pid=$(redis_pid); then
    echo "redis: not running"
    return 1
  fi
  if redis_responds; then
    echo "redis: running (pid $pid, $loopback:$redis_port)"
    return 0
  fi
  echo "redis: started but not responding (pid $pid, log $redis_log)"
  return 1
}

# ---------------------------------------------------------------------------
# Commands

print_env() {
  cat <<EOF
export PGURL=postgres://$pg_user:$pg_password@$loopback:$pg_port/postgres
export PGHOST=$loopback
export PGPORT=$pg_port
export PGUSER=$pg_user
export PGPASSWORD=$pg_password
export PGDATABASE=postgres
export AMQP_URL=amqp://$rabbitmq_user:$rabbitmq_password@$loopback:$rabbitmq_port
export RABBITMQ_MANAGEMENT_URL=http://$rabbitmq_user:$rabbitmq_password@$loopback:$rabbitmq_management_port
export REDIS_URL=redis://$loopback:$redis_port
EOF
}

usage_error() {
  printf '%s\n' "$usage_text" >&2
  exit 2
}

main() {
  if (($# == 0)); then
    log "Missing command."
    usage_error
  fi
  if (($# > 1)); then
    log "Expected one command, got $# arguments: $*"
    usage_error
  fi

  local command=$1
  case $command in
    help | -h | --help)
      printf '%s\n' "$usage_text"
      return 0
      ;;
    env)
      validate_settings
      print_env
      return 0
      ;;
    status)
      validate_settings
      local failures=0
      status_postgres || failures=$((failures + 1))
      status_rabbitmq || failures=$((failures + 1))
      status_redis || failures=$((failures + 1))
      ((failures == 0)) || return 3
      return 0
      ;;
    up | down | start-* | stop-* | restart-* | install-browser) ;;
    *)
      log "Unknown command '$command'."
      usage_error
      ;;
  esac

  local component=${command#*-}
  case $command in
    start-* | stop-* | restart-*)
      case $component in
        postgres | rabbitmq | redis) ;;
        *)
          log "Unknown component '$component' in '$command': expected postgres, rabbitmq or redis."
          usage_error
          ;;
      esac
      ;;
  esac

  validate_settings
  acquire_lock

  case $command in
    install-browser)
      install_missing_packages browser
      ;;
    up)
      install_missing_packages postgres rabbitmq redis
      start_postgres
      start_rabbitmq
      start_redis
      log "All servers respond."
      print_env
      ;;
    down)
      stop_rabbitmq
      stop_redis
      stop_postgres
      ;;
    start-*)
      install_missing_packages "$component"
      "start_$component"
      ;;
    stop-*)
      "stop_$component"
      ;;
    restart-*)
      install_missing_packages "$component"
      if [[ $component == rabbitmq ]]; then
        # epmd keeps running, because only the node needs a restart.
        stop_rabbitmq_node
      else
        "stop_$component"
      fi
      "start_$component"
      ;;
  esac
}

main "$@"
