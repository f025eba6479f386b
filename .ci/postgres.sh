#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the history tests, run as the postgres user.
#   eval "$(bash .ci/postgres.sh start DIR)"   -> exports ANNEXA_TEST_POSTGRES_URL
#   bash .ci/postgres.sh stop DIR
# Installs the server with apt-get when it is missing.
set -euo pipefail
action="${1:?start|stop}"
dir="${2:?data folder}"

bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$d" ]]; then
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    d="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  echo "$d"
}

as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    bin="$(bindir)"
    mkdir -p "$dir"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_postgres "$bin/initdb" -D "$dir/data" -U annexa --auth=trust -E UTF8 >&2
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=100" start >&2
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U annexa annexa_test >&2
    echo "export ANNEXA_TEST_POSTGRES_URL=postgresql+psycopg://annexa@127.0.0.1:$port/annexa_test"
    ;;
  stop)
    bin="$(bindir)"
    if [[ -d "$dir/data" ]]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
