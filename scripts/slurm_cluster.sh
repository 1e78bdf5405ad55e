#!/usr/bin/env bash
# A private single-node Slurm cluster for tests and trials, without systemd: munged, slurmctld and
# slurmd run as children of this machine's user (root) with every file under DIR.
#
#   scripts/slurm_cluster.sh install        apt packages (slurmctld slurmd slurm-client munge)
#   scripts/slurm_cluster.sh start DIR      wipe DIR's state, start the daemons, wait until the
#                                           node is idle; prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm_cluster.sh stop DIR       cancel every job, stop the daemons started from DIR
#
# Keep DIR short (under ~60 characters): munge's socket path has a Unix-socket length limit, and
# munged wants every directory above its socket searchable by all (mktemp -d makes 0700: chmod it).
# The facts behind this configuration are in ../shared/SLURM-NOTES.md.
set -euo pipefail

cmd=${1:-}
dir=${2:-}

install_packages() {
  local missing
  missing=$(for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    echo "installing: $missing" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

stop_cluster() {
  [ -d "$dir" ] || return 0
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --quiet --user "$(id -un)" 2>/dev/null || true
    # Let cancelled jobs end before the daemons that run them go.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then
      pid=$(cat "$dir/$p.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$p.pid"
    fi
  done
}

case "$cmd" in
  install)
    install_packages
    ;;
  start)
    [ -n "$dir" ] || { echo "usage: $0 start DIR" >&2; exit 64; }
    install_packages
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop_cluster
    rm -rf "$dir/state" "$dir/spool" "$dir/munge" "$dir/log"
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/log"
    chmod 755 "$dir/munge"
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
    mungekey --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1
    chmod 600 "$dir/munge/munge.key"
    cat > "$dir/slurm.conf" <<EOF
ClusterName=tailscope
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerParameters=sched_interval=1
DependencyParameters=kill_invalid_depend
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    for d in "$dir" "$(dirname "$dir")"; do
      [ "$(stat -c %a "$d")" != "${d:+700}" ] || { echo "$d is 0700; munged needs it searchable (chmod 755 $d)" >&2; exit 1; }
    done
    setsid munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" \
      </dev/null >/dev/null 2>&1
    export SLURM_CONF="$dir/slurm.conf"
    [ -f "$dir/munged.pid" ] || { echo "munged did not start; see $dir/log/munged.log" >&2; tail -3 "$dir/log/munged.log" >&2; exit 1; }
    setsid slurmctld -f "$SLURM_CONF" </dev/null >/dev/null 2>&1
    setsid slurmd -f "$SLURM_CONF" </dev/null >/dev/null 2>&1
    for _ in $(seq 1 100); do
      state=$(timeout 5 sinfo -h -o %t 2>/dev/null || true)
      case "$state" in idle*) break ;; esac
      sleep 0.2
    done
    case "${state:-}" in
      idle*) ;;
      *) echo "slurm did not come up (node state '${state:-none}'); logs in $dir/log" >&2; stop_cluster; exit 1 ;;
    esac
    echo "export SLURM_CONF=$dir/slurm.conf"
    ;;
  stop)
    [ -n "$dir" ] || { echo "usage: $0 stop DIR" >&2; exit 64; }
    stop_cluster
    ;;
  *)
    echo "usage: $0 install | start DIR | stop DIR" >&2
    exit 64
    ;;
esac
