#!/usr/bin/env bash
# Installs what pgadvisor's demo and tests need on a fresh Debian/Ubuntu machine:
# the PostgreSQL server with contrib (pg_stat_statements), and HypoPG and
# pg_qualstats for the installed major version, PgBouncer, and Chromium (the HTML
# report is opened headless in a test). Idempotent; does nothing when all is there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

newest_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1
}

updated=""
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: apt-get not found; install $* with your package manager" >&2
    return 1
  fi
  if [ -z "$updated" ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

bindir=$(newest_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "deps: installing PostgreSQL server and contrib"
  apt_install postgresql postgresql-contrib
  bindir=$(newest_bindir)
fi
major=$(basename "$(dirname "$bindir")")
sharedir=/usr/share/postgresql/$major/extension
pkgs=()
[ -f "$sharedir/pg_stat_statements.control" ] || pkgs+=("postgresql-contrib")
[ -f "$sharedir/hypopg.control" ] || pkgs+=("postgresql-$major-hypopg")
[ -f "$sharedir/pg_qualstats.control" ] || pkgs+=("postgresql-$major-pg-qualstats")
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || pkgs+=("pgbouncer")
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || pkgs+=("chromium")
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "deps: installing ${pkgs[*]} for PostgreSQL $major"
  apt_install "${pkgs[@]}"
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
fi
echo "deps: PostgreSQL $major at $bindir, hypopg $( [ -f "$sharedir/hypopg.control" ] && echo yes || echo no)"
