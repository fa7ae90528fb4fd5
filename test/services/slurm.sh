#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, without systemd, for the executor tests.
#   test/services/slurm.sh start   -> munged, slurmctld, slurmd running; `sinfo` answers
#   test/services/slurm.sh stop    -> all three stopped
# Needs the Debian packages slurmctld slurmd slurm-client munge (.ci/run installs them).
# State lives in /tmp/pipe-slurm; the config is /etc/slurm/slurm.conf (Slurm's
# clients read it from there).
set -euo pipefail
STATE=/tmp/pipe-slurm
CONF=/etc/slurm/slurm.conf

start() {
  mkdir -p "$STATE"/{ctld,d,log} /run/munge /var/log/munge /var/lib/munge /etc/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged --force
  fi
  chown -R slurm:slurm "$STATE"
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$CONF" <<CONF
ClusterName=pipe-test
SlurmctldHost=$(hostname)(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
# `sacct -c` reads finished jobs from the job-completion log (no slurmdbd here).
MinJobAge=300
KillWait=5
InactiveLimit=0
DefMemPerCPU=1024
NodeName=$(hostname) NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld -f "$CONF"
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd -f "$CONF"
  for _ in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "slurm: one-node cluster up ($(hostname), $cpus CPUs)"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm: did not come up; logs in $STATE/log" >&2
  tail -20 "$STATE"/log/*.log >&2 || true
  return 1
}

stop() {
  pkill -x slurmd 2>/dev/null || true
  pkill -x slurmctld 2>/dev/null || true
  pkill -x munged 2>/dev/null || true
  for _ in $(seq 1 20); do
    pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || pgrep -x munged >/dev/null || return 0
    sleep 0.25
  done
  for p in slurmd slurmctld munged; do pkill -9 -x "$p" 2>/dev/null || true; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
