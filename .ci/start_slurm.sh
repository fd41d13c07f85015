#!/usr/bin/env bash
# A real single-node SLURM on this machine for the launcher tests (tests/integration/test_slurm.py):
# Debian's slurm packages, munge, slurmctld and slurmd on localhost. Run as root; idempotent.
# Partitions: debug (default, no time limit) and short (MaxTime 1 minute: a job asking for more
# pends forever with reason PartitionTimeLimit). No accounting database (sacct fails), as on many
# small clusters.
set -euo pipefail

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
fi

ready() {  # the controller answers and partition debug has a node that can take jobs
    scontrol ping 2>/dev/null | grep -q UP &&
        sinfo -h -p debug -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)$'
}
if ready; then
    echo "slurm: already running"
    exit 0
fi

node=$(hostname -s)
# The node's CPUs and memory as slurmd sees them (RealMemory must not exceed what it finds).
read -r cpus memory < <(slurmd -C | tr ' ' '\n' | awk -F= '
    $1 == "CPUs" {c = $2} $1 == "RealMemory" {m = $2} END {print c, m}')

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=rlcli-ci
SlurmctldHost=${node}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
DefMemPerCPU=1024
KillWait=10
NodeName=${node} CPUs=${cpus} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=ALL MaxTime=1 State=UP
EOF

if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 60); do  # the node registers within seconds
    if ready; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "slurm did not start; logs:" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
exit 1
