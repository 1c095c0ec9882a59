#!/usr/bin/env bash
# Local dev/test stack: a throwaway MariaDB and Redis on loopback, kept under
# <repo>/.stack/ (git-ignored). Works from any cwd.
#
#   deploy/stack.sh up|down|status|env
#   deploy/stack.sh start-mysql|stop-mysql|start-redis|stop-redis   (fault tests)
#
# Ports: JINDALAI_STACK_MYSQL_PORT (default 33306), JINDALAI_STACK_REDIS_PORT
# (default 16379). JINDALAI_STACK_DIR (default <repo>/.stack) is the state
# folder: with other ports and another folder the same commands manage a
# separate pair (the fault tests run their own this way).
# `eval "$(deploy/stack.sh env)"` exports the DSNs the binary and the tests read.
set -euo pipefail

# mariadbd lives in /usr/sbin, which is not on every PATH (e.g. some CI shells).
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
STACK="${JINDALAI_STACK_DIR:-$ROOT/.stack}"
[[ "$STACK" == /* ]] || STACK="$PWD/$STACK"

MYSQL_PORT="${JINDALAI_STACK_MYSQL_PORT:-33306}"
REDIS_PORT="${JINDALAI_STACK_REDIS_PORT:-16379}"

MYSQL_DIR="$STACK/mysql"
MYSQL_CNF="$STACK/my.cnf"
MYSQL_DATA="$MYSQL_DIR/data"
MYSQL_SOCK="$MYSQL_DIR/mysqld.sock"
MYSQL_PID="$MYSQL_DIR/mysqld.pid"
MYSQL_ERR="$MYSQL_DIR/error.log"
MYSQL_OUT="$MYSQL_DIR/mariadbd.out"
MYSQL_INSTALLED="$MYSQL_DIR/.installed"

REDIS_PID="$STACK/redis.pid"
REDIS_LOG="$STACK/redis.log"

START_TIMEOUT=30 # seconds to wait for a server to answer
STOP_TIMEOUT=20  # seconds after SIGTERM before SIGKILL

log() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie. Daemons re-parented to PID 1
# are reaped late, so `kill -0` would still succeed on a dead (Z) process.
alive() {
	local pid="$1" state
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/status" ]] || return 1
	state="$(awk '/^State:/ {print $2; exit}' "/proc/$pid/status" 2>/dev/null)" || return 1
	[[ -n "$state" && "$state" != "Z" ]]
}

# cmdline PID: the process's argv joined with spaces.
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# mysql_pid: pid of OUR mariadbd (the one using our defaults file), or nothing.
mysql_pid() {
	local pid p
	if [[ -r "$MYSQL_PID" ]]; then
		pid="$(tr -dc '0-9' <"$MYSQL_PID")"
		if alive "$pid" && [[ "$(cmdline "$pid")" == *"--defaults-file=$MYSQL_CNF"* ]]; then
			echo "$pid"
			return
		fi
	fi
	# Pid file missing or stale (e.g. the server is still starting): look for a
	# mariadbd whose command line names our own defaults file.
	for p in /proc/[0-9]*; do
		pid="${p#/proc/}"
		[[ "$(cat "$p/comm" 2>/dev/null || true)" == mariadbd ]] || continue
		if [[ "$(cmdline "$pid")" == *"--defaults-file=$MYSQL_CNF"* ]] && alive "$pid"; then
			echo "$pid"
			return 0
		fi
	done
	return 0
}

# redis_pid: pid of OUR redis-server (loopback, our port), or nothing.
redis_pid() {
	local pid p
	if [[ -r "$REDIS_PID" ]]; then
		pid="$(tr -dc '0-9' <"$REDIS_PID")"
		if alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis-server ]]; then
			echo "$pid"
			return
		fi
	fi
	# Without the pid file: a redis-server on our port (it rewrites its argv
	# to "redis-server 127.0.0.1:PORT") working in our folder (--dir).
	local dir
	dir="$(readlink -f "$STACK" 2>/dev/null || true)"
	for p in /proc/[0-9]*; do
		pid="${p#/proc/}"
		[[ "$(cat "$p/comm" 2>/dev/null || true)" == redis-server ]] || continue
		if [[ "$(cmdline "$pid")" == *"127.0.0.1:$REDIS_PORT"* && "$(readlink "$p/cwd" 2>/dev/null || true)" == "$dir" ]] &&
			alive "$pid"; then
			echo "$pid"
			return 0
		fi
	done
	return 0
}

# close_fds: close every inherited descriptor above 2 in the current (sub)shell, so
# a daemon started from here holds neither our lock nor a caller's pipe (make's
# jobserver, a CI runner's output pipe), which would make that caller wait forever.
close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd="${fd##*/}"
		if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)); then
			eval "exec $fd>&-" 2>/dev/null || true
		fi
	done
	return 0
}

# stop_pid NAME PID: SIGTERM, wait until gone, SIGKILL after STOP_TIMEOUT.
stop_pid() {
	local name="$1" pid="$2" i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		alive "$pid" || { log "$name stopped (pid $pid)"; return 0; }
		sleep 0.1
	done
	log "$name (pid $pid) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || { log "$name killed (pid $pid)"; return 0; }
		sleep 0.1
	done
	die "$name (pid $pid) does not die"
}

# ---------------------------------------------------------------- setup

as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

# ensure_packages: install MariaDB and Redis from Debian packages when missing.
ensure_packages() {
	local missing=0 c
	for c in mariadbd mariadb-install-db mariadb-admin mariadb redis-server redis-cli; do
		command -v "$c" >/dev/null 2>&1 || missing=1
	done
	((missing)) || return 0
	command -v apt-get >/dev/null 2>&1 || die "MariaDB/Redis not installed and no apt-get to install them"
	log "installing mariadb-server and redis-server (apt-get, about 30 s)..."
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server redis-server >/dev/null
	for c in mariadbd mariadb-install-db mariadb-admin mariadb redis-server redis-cli; do
		command -v "$c" >/dev/null 2>&1 || die "$c still not found after apt-get install"
	done
}

# Serialize concurrent invocations (several `make test` at once). The lock fd is
# closed for the daemons we start (close_fds), or they would hold the lock forever.
take_lock() {
	mkdir -p "$STACK"
	exec 9>"$STACK/lock"
	if ! flock -w 120 9; then
		die "another deploy/stack.sh holds $STACK/lock for more than 120 s"
	fi
}

write_mysql_cnf() {
	mkdir -p "$MYSQL_DIR"
	# A unix socket path is limited to 107 bytes.
	((${#MYSQL_SOCK} < 100)) || die "socket path too long (${#MYSQL_SOCK} bytes): $MYSQL_SOCK; move the checkout to a shorter path"
	cat >"$MYSQL_CNF.tmp" <<EOF
# Generated by deploy/stack.sh; rewritten on every start.
[mysqld]
datadir=$MYSQL_DATA
socket=$MYSQL_SOCK
pid-file=$MYSQL_PID
log-error=$MYSQL_ERR
port=$MYSQL_PORT
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
default-time-zone=+00:00
max_connections=500
innodb_buffer_pool_size=256M
innodb_flush_log_at_trx_commit=1
EOF
	mv -f "$MYSQL_CNF.tmp" "$MYSQL_CNF"
}

mysql_root() { mariadb --no-defaults --socket="$MYSQL_SOCK" -uroot "$@"; }

mysql_fail() {
	echo "stack: error: $1" >&2
	echo "---- tail of $MYSQL_ERR ----" >&2
	tail -n 30 "$MYSQL_ERR" >&2 2>/dev/null || true
	if [[ -s "$MYSQL_OUT" ]]; then
		echo "---- tail of $MYSQL_OUT ----" >&2
		tail -n 10 "$MYSQL_OUT" >&2 || true
	fi
	exit 1
}

mysql_summary() {
	echo "mysql: pid $1, 127.0.0.1:$MYSQL_PORT (user jindalai/jindalai, db jindalai), socket $MYSQL_SOCK"
}

redis_summary() {
	echo "redis: pid $1, 127.0.0.1:$REDIS_PORT"
}

# ---------------------------------------------------------------- mysql

start_mysql() {
	local pid launcher i
	pid="$(mysql_pid)"
	if [[ -n "$pid" ]]; then
		log "mysql already running"
		mysql_summary "$pid"
		return 0
	fi
	write_mysql_cnf
	rm -f "$MYSQL_PID" "$MYSQL_SOCK"

	if [[ ! -f "$MYSQL_INSTALLED" ]]; then
		# First start, or an earlier install was interrupted: start from scratch.
		rm -rf "$MYSQL_DATA"
		mkdir -p "$MYSQL_DATA"
		log "initialising MariaDB datadir $MYSQL_DATA"
		if ! mariadb-install-db --defaults-file="$MYSQL_CNF" --user="$(id -un)" \
			--skip-test-db --auth-root-authentication-method=socket \
			>"$MYSQL_DIR/install.log" 2>&1 9>&-; then
			tail -n 30 "$MYSQL_DIR/install.log" >&2 || true
			die "mariadb-install-db failed (full log: $MYSQL_DIR/install.log)"
		fi
		touch "$MYSQL_INSTALLED"
	fi

	# --defaults-file must be the first option.
	(
		close_fds
		exec setsid mariadbd --defaults-file="$MYSQL_CNF" --user="$(id -un)"
	) </dev/null >"$MYSQL_OUT" 2>&1 &
	launcher=$!

	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if mariadb-admin --no-defaults --socket="$MYSQL_SOCK" -uroot ping >/dev/null 2>&1; then
			break
		fi
		if ! alive "$launcher" && [[ -z "$(mysql_pid)" ]]; then
			wait "$launcher" 2>/dev/null || true
			mysql_fail "mariadbd exited during start-up (port $MYSQL_PORT in use?)"
		fi
		sleep 0.1
	done
	if ((i >= START_TIMEOUT * 10)); then
		mysql_fail "MariaDB did not answer on $MYSQL_SOCK within ${START_TIMEOUT}s"
	fi

	# Idempotent: the app's database and a TCP user. Tests create one database per
	# package, so the user gets ALL PRIVILEGES on *.* (CREATE/DROP DATABASE).
	if ! mysql_root -e "
		CREATE DATABASE IF NOT EXISTS jindalai CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER IF NOT EXISTS 'jindalai'@'127.0.0.1' IDENTIFIED BY 'jindalai';
		ALTER USER 'jindalai'@'127.0.0.1' IDENTIFIED BY 'jindalai';
		GRANT ALL PRIVILEGES ON *.* TO 'jindalai'@'127.0.0.1';
		FLUSH PRIVILEGES;" 9>&-; then
		mysql_fail "could not create database/user jindalai"
	fi

	pid="$(mysql_pid)"
	[[ -n "$pid" ]] || pid="$launcher"
	mysql_summary "$pid"
}

stop_mysql() {
	local pid
	pid="$(mysql_pid)"
	if [[ -z "$pid" ]]; then
		log "mysql not running"
	else
		stop_pid mysql "$pid"
	fi
	rm -f "$MYSQL_PID"
}

# ---------------------------------------------------------------- redis

start_redis() {
	local pid i
	pid="$(redis_pid)"
	if [[ -n "$pid" ]]; then
		log "redis already running"
		redis_summary "$pid"
		return 0
	fi
	mkdir -p "$STACK"
	rm -f "$REDIS_PID"
	if ! (
		close_fds
		exec redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
			--daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$STACK" \
			--maxmemory-policy noeviction
	) </dev/null >/dev/null 2>&1; then
		tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
		die "redis-server failed to start"
	fi
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]; then
			pid="$(redis_pid)"
			if [[ -n "$pid" ]]; then
				redis_summary "$pid"
				return 0
			fi
		fi
		sleep 0.1
	done
	echo "---- tail of $REDIS_LOG ----" >&2
	tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
	die "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${START_TIMEOUT}s (port in use?)"
}

stop_redis() {
	local pid
	pid="$(redis_pid)"
	if [[ -z "$pid" ]]; then
		log "redis not running"
	else
		stop_pid redis "$pid"
	fi
	rm -f "$REDIS_PID"
}

# ---------------------------------------------------------------- commands

status() {
	local pid rc=0
	pid="$(mysql_pid)"
	if [[ -n "$pid" ]]; then mysql_summary "$pid"; else echo "mysql: stopped"; rc=3; fi
	pid="$(redis_pid)"
	if [[ -n "$pid" ]]; then redis_summary "$pid"; else echo "redis: stopped"; rc=3; fi
	return "$rc"
}

print_env() {
	local opts='parseTime=true&loc=UTC&multiStatements=true'
	echo "export JINDALAI_MYSQL_DSN='jindalai:jindalai@tcp(127.0.0.1:$MYSQL_PORT)/jindalai?$opts'"
	echo "export JINDALAI_REDIS_ADDR=127.0.0.1:$REDIS_PORT"
	echo "export JINDALAI_TEST_MYSQL_DSN='jindalai:jindalai@tcp(127.0.0.1:$MYSQL_PORT)/?$opts'"
	echo "export JINDALAI_TEST_REDIS_ADDR=127.0.0.1:$REDIS_PORT"
}

usage() {
	cat >&2 <<EOF
usage: $0 up|down|status|env|start-mysql|stop-mysql|start-redis|stop-redis
  up       install MariaDB/Redis if missing, start both (no-op if running)
  down     stop both
  status   show what runs (exit 3 if something is stopped)
  env      print export lines: eval "\$($0 env)"
EOF
	exit 2
}

main() {
	[[ $# -eq 1 ]] || usage
	case "$1" in
	up)
		take_lock
		ensure_packages
		start_mysql
		start_redis
		;;
	down)
		take_lock
		stop_redis
		stop_mysql
		;;
	start-mysql)
		take_lock
		ensure_packages
		start_mysql
		;;
	stop-mysql)
		take_lock
		stop_mysql
		;;
	start-redis)
		take_lock
		ensure_packages
		start_redis
		;;
	stop-redis)
		take_lock
		stop_redis
		;;
	status) status ;;
	env) print_env ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
