#!/usr/bin/env bash
# Usage: k8s-coverage.sh HARRIER_BIN  -> prints "with/total" findings of short-lived
# processes in a Kubernetes-shaped pod cgroup that carry the container id.
set -u
BIN=$1
W=$(mktemp -d /var/tmp/harrier-cov.XXXX)
ID=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
UID_=$(cat /proc/sys/kernel/random/uuid)
CG=/sys/fs/cgroup/unified/harrier-cov-$$/kubepods/besteffort/pod$UID_/$ID
mkdir -p $CG
: > $W/harrier.toml
$BIN run --config $W/harrier.toml --admin-socket $W/admin.sock > $W/findings.jsonl 2> $W/agent.log &
AG=$!
for i in $(seq 1 120); do grep -q ready $W/agent.log && break; sleep 0.5; done
sh -c "echo \$\$ > $CG/cgroup.procs; for i in 1 2 3 4 5 6 7 8 9 10; do cp /bin/true $W/bin\$i; $W/bin\$i; ln -s $W/bin\$i $W/link\$i; $W/link\$i; cp /bin/busybox /dev/shm/harrier-cov-\$i; /dev/shm/harrier-cov-\$i true; rm -f /dev/shm/harrier-cov-\$i; done"
sleep 6
kill -INT $AG; wait $AG
python3 - "$W" "$ID" <<'PY'
import json,sys
w,cid=sys.argv[1],sys.argv[2]
tot=have=0
for line in open(w+"/findings.jsonl"):
    f=json.loads(line)
    p=f["process"]
    if w in p.get("exe","") or w in p.get("cmdline","") or "harrier-cov-" in p.get("exe","") or any(w in e["value"] or "harrier-cov-" in e["value"] for e in f["evidence"]):
        if f["revision"]!=0: continue
        tot+=1
        if (f.get("container") or {}).get("id")==cid: have+=1
print(f"{have}/{tot} findings of short-lived processes in the pod carry its container id")
PY
rmdir $CG /sys/fs/cgroup/unified/harrier-cov-$$/kubepods/besteffort/pod$UID_ /sys/fs/cgroup/unified/harrier-cov-$$/kubepods/besteffort /sys/fs/cgroup/unified/harrier-cov-$$/kubepods /sys/fs/cgroup/unified/harrier-cov-$$ 2>/dev/null
rm -rf $W
