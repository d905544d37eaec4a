#!/usr/bin/env bash
# Single-node SLURM test cluster for ganrepro (slurmctld + slurmd + slurmdbd
# backed by a private MariaDB, authenticated by a private munged).
#
#   scripts/slurm/cluster.sh up       install (if needed) and start; idempotent
#   scripts/slurm/cluster.sh down     stop what `up` started, purge all state
#   scripts/slurm/cluster.sh status   print whether it is up (exit 0 up, 1 not)
#
# Must run as root on a Debian-like machine (apt-get). No systemd needed.
# Everything lives in $GANREPRO_SLURM_DIR (default /tmp/ganrepro-slurm), plus
# a symlink /etc/slurm/slurm.conf -> $GANREPRO_SLURM_DIR/etc/slurm.conf (job
# steps launched by Snakemake lose SLURM_CONF and fall back to that path).
# Ports are machine-global, so only one such cluster can run per machine.
# See docs/SLURM.md for the reasoning behind each setting.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATES=$SCRIPT_DIR/templates

STATE=${GANREPRO_SLURM_DIR:-/tmp/ganrepro-slurm}
PARTITION=${GANREPRO_SLURM_PARTITION:-debug}
CLUSTER=${GANREPRO_SLURM_CLUSTER:-ganrepro}
NODE=${GANREPRO_SLURM_NODE:-grnode1}
CTLD_PORT=${GANREPRO_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${GANREPRO_SLURM_SLURMD_PORT:-6818}
DBD_PORT=${GANREPRO_SLURM_DBD_PORT:-6819}
DB_PORT=${GANREPRO_SLURM_DB_PORT:-13306}
DB_USER=slurm
READY_TIMEOUT=${GANREPRO_SLURM_READY_TIMEOUT:-90}

ETC_DIR=/etc/slurm
ETC_LINK=$ETC_DIR/slurm.conf
ETC_BACKUP=$ETC_DIR/slurm.conf.ganrepro-backup
LOCK_FILE=/tmp/.ganrepro-slurm.lock
MARKER=.ganrepro-slurm-state
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
export DEBIAN_FRONTEND=noninteractive
# Only the derived paths below; computed after STATE is validated.
CONF="" MUNGE_SOCKET="" DB_SOCKET=""

log() { printf '[slurm] %s\n' "$*" >&2; }
die() { printf '[slurm] ERROR: %s\n' "$*" >&2; exit 1; }
# Exit code 3 means "the packages cannot be installed here" (the pytest
# fixture turns that into a skip); every other failure exits 1.
die_install() { printf '[slurm] ERROR: %s\n' "$*" >&2; exit 3; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

check_state_dir() {
    case "$STATE" in
        /*) ;;
        *) die "GANREPRO_SLURM_DIR must be an absolute path (got '$STATE')" ;;
    esac
    STATE=${STATE%/}
    [[ -n "$STATE" && "$STATE" != "/" && "$STATE" != *[[:space:]]* ]] \
        || die "refusing state dir '$STATE'"
    CONF=$STATE/etc/slurm.conf
    MUNGE_SOCKET=$STATE/munge/sock
    DB_SOCKET=$STATE/mysql/sock
    # AF_UNIX paths are limited to 108 bytes; munge and MariaDB fail with
    # obscure errors beyond that.
    (( ${#MUNGE_SOCKET} < 100 && ${#DB_SOCKET} < 100 )) \
        || die "state dir path too long for unix sockets: $STATE (keep it short)"
}

# ---------------------------------------------------------------- processes

# $STATE/pids/NAME holds "PID NAME" (written by spawn; the daemons' own pid
# files live in $STATE/run); a pid only counts as ours if /proc/PID/comm is
# still NAME, so a recycled pid never gets killed.
pid_of() {  # name -> pid (empty if not running)
    local f=$STATE/pids/$1 pid name
    [[ -r $f ]] || return 0
    read -r pid name <"$f" || return 0
    [[ -n ${pid:-} && -r /proc/$pid/comm ]] || return 0
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] && echo "$pid"
    return 0
}

# Start a foreground daemon detached from this shell: own session, stdio to
# a log file, and the lock fd (9) closed so it never holds our flock.
spawn() {  # name logfile cmd...
    local name=$1 out=$2; shift 2
    setsid "$@" </dev/null >>"$out" 2>&1 9>&- &
    echo "$! $name" >"$STATE/pids/$name"
}

stop_daemons() {  # timeout name... : SIGTERM all, wait, then SIGKILL stragglers
    local timeout=$1; shift
    local name pid i alive
    for name in "$@"; do
        pid=$(pid_of "$name")
        [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < timeout * 5; i++)); do
        alive=0
        for name in "$@"; do [[ -n $(pid_of "$name") ]] && alive=1; done
        (( alive )) || break
        sleep 0.2
    done
    for name in "$@"; do
        pid=$(pid_of "$name")
        if [[ -n $pid ]]; then
            log "$name ($pid) ignored SIGTERM for ${timeout}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/pids/$name"
    done
}

wait_for() {  # description timeout-seconds cmd...
    local what=$1 timeout=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    # Each attempt is bounded too (SLURM clients retry for a long time).
    local bound=(timeout 10)
    [[ $(type -t "$1") == function ]] && bound=()
    until "${bound[@]}" "$@" >/dev/null 2>&1; do
        if (( $(date +%s) >= deadline )); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.25
    done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- install

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    (( ${#missing[@]} == 0 )) && return 0
    command -v apt-get >/dev/null || die_install "missing ${missing[*]} and no apt-get to install them"
    log "installing ${missing[*]} (apt-get)"
    # Keep package maintainer scripts from starting the distribution's own
    # munge/mariadb services (init.d without systemd would otherwise start a
    # system mariadbd on 3306 and a munged on /run/munge that we never stop).
    local made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    local rc=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null; } || rc=$?
    (( made_policy )) && rm -f /usr/sbin/policy-rc.d
    (( rc == 0 )) || die_install "apt-get failed (rc=$rc) installing ${missing[*]}"
}

# ---------------------------------------------------------------- configs

render() {  # template output KEY=VALUE...
    local tpl=$1 out=$2; shift 2
    local kv key val expr=()
    for kv in "$@"; do
        key=${kv%%=*}; val=${kv#*=}
        val=${val//\\/\\\\}; val=${val//|/\\|}; val=${val//&/\\&}
        expr+=(-e "s|@${key}@|${val}|g")
    done
    sed "${expr[@]}" "$tpl" >"$out"
    if grep -q '@[A-Z_]*@' "$out"; then
        die "unrendered placeholder in $out: $(grep -o '@[A-Z_]*@' "$out" | head -1)"
    fi
}

# slurmd -C prints this machine's real topology and memory, e.g.
# NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24026
hw_field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }

write_configs() {
    local hw cpus real_mem def_mem node_hw f
    hw=$(timeout 30 slurmd -C 2>/dev/null | head -1)
    [[ $hw == NodeName=* ]] || die "unexpected 'slurmd -C' output: $hw"
    cpus=$(hw_field "$hw" CPUs)
    node_hw="CPUs=$cpus"
    for f in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
        [[ -n $(hw_field "$hw" "$f") ]] && node_hw+=" $f=$(hw_field "$hw" "$f")"
    done
    # RealMemory above what slurmd detects drains the node ("Low
    # RealMemory"); keep 10% headroom for the OS and the daemons.
    real_mem=$(( $(hw_field "$hw" RealMemory) * 9 / 10 ))
    [[ -n ${GANREPRO_SLURM_REAL_MEM:-} ]] && real_mem=$GANREPRO_SLURM_REAL_MEM
    def_mem=$(( real_mem / cpus ))
    (( def_mem > 2048 )) && def_mem=2048

    local db_pass
    db_pass=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    local common=(STATE="$STATE" MUNGE_SOCKET="$MUNGE_SOCKET" DBD_PORT="$DBD_PORT")
    render "$TEMPLATES/slurm.conf.in" "$CONF" "${common[@]}" \
        CLUSTER="$CLUSTER" CTLD_HOST="$(hostname -s)" CTLD_PORT="$CTLD_PORT" \
        SLURMD_PORT="$SLURMD_PORT" NODE="$NODE" NODE_HW="$node_hw" \
        REAL_MEM="$real_mem" DEF_MEM_PER_CPU="$def_mem" PARTITION="$PARTITION"
    render "$TEMPLATES/gres.conf.in" "$STATE/etc/gres.conf" NODE="$NODE"
    # slurmdbd looks for slurmdbd.conf next to SLURM_CONF and insists on 600.
    ( umask 077
      render "$TEMPLATES/slurmdbd.conf.in" "$STATE/etc/slurmdbd.conf" "${common[@]}" \
          DB_PORT="$DB_PORT" DB_USER="$DB_USER" DB_PASS="$db_pass" )
    chmod 600 "$STATE/etc/slurmdbd.conf"
    printf '%s\n' "$db_pass" >"$STATE/etc/.dbpass"; chmod 600 "$STATE/etc/.dbpass"

    cat >"$STATE/cluster.env" <<EOF
SLURM_CONF=$CONF
GANREPRO_SLURM_DIR=$STATE
PARTITION=$PARTITION
CLUSTER=$CLUSTER
NODE=$NODE
CPUS=$cpus
REAL_MEMORY_MB=$real_mem
DEF_MEM_PER_CPU_MB=$def_mem
GRES=gpu:1
EOF
    printf 'export SLURM_CONF=%q\n' "$CONF" >"$STATE/env.sh"
}

link_etc_conf() {
    mkdir -p "$ETC_DIR"
    if [[ -L $ETC_LINK ]]; then
        rm -f "$ETC_LINK"
    elif [[ -e $ETC_LINK ]]; then
        log "moving existing $ETC_LINK to $ETC_BACKUP"
        mv "$ETC_LINK" "$ETC_BACKUP"
    fi
    ln -s "$CONF" "$ETC_LINK"
}

unlink_etc_conf() {
    if [[ -L $ETC_LINK && "$(readlink "$ETC_LINK")" == "$STATE/"* ]]; then
        rm -f "$ETC_LINK"
        if [[ -e $ETC_BACKUP ]]; then mv "$ETC_BACKUP" "$ETC_LINK"; fi
    fi
}

# ---------------------------------------------------------------- daemons

start_mariadb() {
    local data=$STATE/mysql/data
    mkdir -p "$data"
    chown -R mysql:mysql "$STATE/mysql"
    # --no-defaults: ignore /etc/mysql/*.cnf (socket in /run/mysqld, etc.).
    mariadb-install-db --no-defaults --user=mysql --datadir="$data" \
        --auth-root-authentication-method=socket --skip-test-db \
        >>"$STATE/log/mariadb-install.log" 2>&1 \
        || die "mariadb-install-db failed; see $STATE/log/mariadb-install.log"
    spawn mariadbd "$STATE/log/mariadb.out" \
        mariadbd --no-defaults --user=mysql --datadir="$data" \
        --socket="$DB_SOCKET" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --pid-file="$STATE/mysql/mariadbd.pid" \
        --log-error="$STATE/log/mariadb.log" --skip-name-resolve \
        --innodb-buffer-pool-size=256M --innodb-log-file-size=48M \
        --innodb-lock-wait-timeout=900 --max-connections=50
    wait_for "mariadb" "$READY_TIMEOUT" \
        mariadb-admin --no-defaults --socket="$DB_SOCKET" -uroot ping \
        || die "mariadb did not start; see $STATE/log/mariadb.log"
    local pass; pass=$(cat "$STATE/etc/.dbpass")
    # slurmdbd connects over TCP to 127.0.0.1; with skip-name-resolve the
    # account host must be the literal address.
    timeout 30 mariadb --no-defaults --socket="$DB_SOCKET" -uroot <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
}

munge_ok() { timeout 5 munge -n -S "$MUNGE_SOCKET" | timeout 5 unmunge -S "$MUNGE_SOCKET"; }

start_munge() {
    local d=$STATE/munge
    mkdir -p "$d"
    # munged refuses to run as root and checks ownership/permissions of its
    # key, socket dir and log: everything owned by munge, key mode 0400.
    head -c 1024 /dev/urandom >"$d/munge.key"
    chown -R munge:munge "$d"
    chmod 0755 "$d"
    chmod 0400 "$d/munge.key"
    spawn munged "$STATE/log/munged.out" \
        setpriv --reuid=munge --regid=munge --clear-groups \
        munged --foreground --key-file="$d/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$d/munged.pid" --log-file="$d/munged.log" --seed-file="$d/munged.seed"
    wait_for "munged" 30 munge_ok || die "munged did not start; see $d/munged.log and $STATE/log/munged.out"
}

start_slurmdbd() {
    spawn slurmdbd "$STATE/log/slurmdbd.out" env SLURM_CONF="$CONF" slurmdbd -D
    wait_for "slurmdbd" "$READY_TIMEOUT" sacctmgr -n -P list cluster \
        || die "slurmdbd not answering; see $STATE/log/slurmdbd.log"
    # Register the cluster BEFORE slurmctld first starts: otherwise slurmctld
    # gets no TRES from the database and exits.
    if ! timeout 30 sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        timeout 30 sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
}

node_state() { timeout 10 sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1; }
node_idle() { [[ "$(node_state)" == idle ]]; }

start_slurm() {
    spawn slurmctld "$STATE/log/slurmctld.out" env SLURM_CONF="$CONF" slurmctld -D
    wait_for "slurmctld" "$READY_TIMEOUT" scontrol ping \
        || die "slurmctld did not start; see $STATE/log/slurmctld.log"
    spawn slurmd "$STATE/log/slurmd.out" env SLURM_CONF="$CONF" slurmd -D -N "$NODE"
    if ! wait_for "node $NODE idle" "$READY_TIMEOUT" node_idle; then
        sinfo -R >&2 || true
        die "node $NODE is '$(node_state)', not idle; see $STATE/log/slurmd.log"
    fi
    wait_for "sacct" 30 sacct -n -X -S now-1hour || die "sacct does not answer"
}

# ---------------------------------------------------------------- commands

is_up() {
    [[ -f $STATE/$MARKER ]] || return 1
    local d
    for d in mariadbd munged slurmdbd slurmctld slurmd; do
        [[ -n $(pid_of "$d") ]] || return 1
    done
    [[ -L $ETC_LINK ]] || return 1
    SLURM_CONF=$CONF node_state | grep -Eq '^(idle|mixed|allocated|completing)' || return 1
}

summary() {
    local cpus mem
    cpus=$(sed -n 's/^CPUS=//p' "$STATE/cluster.env")
    mem=$(sed -n 's/^REAL_MEMORY_MB=//p' "$STATE/cluster.env")
    echo "cluster=$CLUSTER partition=$PARTITION node=$NODE cpus=$cpus mem=${mem}MB gres=gpu:1 state=$(SLURM_CONF=$CONF node_state) dir=$STATE"
}

cmd_up() {
    local t0; t0=$(now)
    [[ $EUID -eq 0 ]] || die "must run as root"
    if is_up; then
        echo "slurm already up: $(summary) ($(elapsed "$t0") s)"
        return 0
    fi
    if [[ -e $STATE && ! -f $STATE/$MARKER ]]; then
        # Never chmod/fill/delete a directory this script did not create.
        [[ -d $STATE && -z $(ls -A "$STATE") ]] \
            || die "$STATE exists and was not created by this script; pick another GANREPRO_SLURM_DIR"
    elif [[ -e $STATE ]]; then
        log "found a stale or partial cluster in $STATE; tearing it down first"
        do_down
    fi
    install_packages
    local p
    for p in "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$DB_PORT"; do
        port_in_use "$p" && die "port $p already in use (another SLURM/MariaDB on this machine?)"
    done

    mkdir -p "$STATE"
    chmod 0755 "$STATE"
    touch "$STATE/$MARKER"
    mkdir -p "$STATE"/{etc,run,pids,log,ctld,slurmd}
    export SLURM_CONF=$CONF
    write_configs
    link_etc_conf
    local step
    for step in mariadb munge slurmdbd slurm; do
        "start_$step"
        log "$step ready at +$(elapsed "$t0") s"
    done
    echo "slurm up: $(summary) ($(elapsed "$t0") s)"
}

descendants() {  # pid -> all descendant pids (snapshot of the process tree)
    local frontier=("$1") next p c
    while (( ${#frontier[@]} )); do
        next=()
        for p in "${frontier[@]}"; do
            for c in $(pgrep -P "$p" 2>/dev/null || true); do
                echo "$c"; next+=("$c")
            done
        done
        frontier=("${next[@]+"${next[@]}"}")
    done
}

kill_leftover_steps() {
    # slurmstepd processes (and the job processes under them) outlive slurmd
    # when slurmctld is gone and jobs could not be cancelled. Only touch those
    # started by our slurmd: they inherit SLURM_CONF=$CONF in their environment.
    local p tree
    for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$CONF"; then
            tree=$(descendants "$p")
            log "killing leftover slurmstepd $p and its job processes:" $tree
            kill -KILL "$p" $tree 2>/dev/null || true
        fi
    done
}

do_down() {
    # Cancel whatever is still queued or running so no job processes survive
    # the cluster, then give slurmd KillWait to reap them. Client commands
    # retry for a long time against a dead slurmctld: bound them.
    if [[ -n $(pid_of slurmctld) ]] && SLURM_CONF=$CONF timeout 5 squeue -h >/dev/null 2>&1; then
        SLURM_CONF=$CONF timeout 10 scancel --quiet --partition="$PARTITION" 2>/dev/null || true
        wait_for "jobs to drain" 20 bash -c \
            "[[ -z \$(SLURM_CONF='$CONF' timeout 5 squeue -h -o %i 2>/dev/null) ]]" || true
    fi
    stop_daemons 15 slurmd slurmctld
    kill_leftover_steps
    stop_daemons 30 slurmdbd mariadbd munged
    unlink_etc_conf
    if [[ -d $STATE ]]; then
        if [[ -f $STATE/$MARKER ]]; then
            rm -rf "$STATE"
        else
            log "not removing $STATE: it has no $MARKER marker (not created by this script)"
        fi
    fi
}

cmd_down() {
    local t0; t0=$(now)
    [[ $EUID -eq 0 ]] || die "must run as root"
    if [[ ! -e $STATE ]]; then
        unlink_etc_conf
        echo "slurm already down ($STATE absent)"
        return 0
    fi
    do_down
    if [[ -e $STATE ]]; then
        echo "slurm down: daemons stopped; $STATE kept ($(elapsed "$t0") s)"
    else
        echo "slurm down: daemons stopped, $STATE removed ($(elapsed "$t0") s)"
    fi
}

cmd_status() {
    if is_up; then
        echo "up: $(summary)"
        return 0
    fi
    if [[ -e $STATE ]]; then
        local d running=()
        for d in mariadbd munged slurmdbd slurmctld slurmd; do
            [[ -n $(pid_of "$d") ]] && running+=("$d")
        done
        echo "partial: state dir $STATE exists; running: ${running[*]:-none}"
    else
        echo "down"
    fi
    return 1
}

main() {
    local cmd=${1:-}
    check_state_dir
    case "$cmd" in
        up|down)
            exec 9>"$LOCK_FILE"
            flock -w 600 9 || die "could not lock $LOCK_FILE"
            "cmd_$cmd" ;;
        status) cmd_status ;;
        *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
    esac
}

main "$@"
