p='/work/wt/kubernetes/host/enrich/src/enricher.rs'
s=open(p).read()
def rep(a,b):
    global s
    assert s.count(a)==1,(a)
    s=s.replace(a,b)
rep('''    fn fill(&self, process: &mut Process, want_exe: bool) -> Option<Arc<str>> {
        let pid = process.pid;
        {
            let shard = self.table.shard(pid).read();
            if let Some(entry) = shard.get(&pid)
                && entry.uid == process.uid
                && entry.euid == process.euid
            {
                fill_from(process, entry);
                return want_exe.then(|| entry.exe.clone());
            }
        }
        // Slow path: first sight, or credentials changed.
        let known = self
            .table
            .update(pid, |entry| {
                entry.uid = process.uid;
                entry.euid = process.euid;
            })
            .is_some();
        if !known {
            let entry = self.load(pid, process);
            self.insert(pid, entry);
        }''','''    fn fill(&self, process: &mut Process, want_exe: bool) -> Option<Arc<str>> {
        let pid = process.pid;
        let cgroup_id = process.cgroup_id.unwrap_or(0);
        {
            let shard = self.table.shard(pid).read();
            if let Some(entry) = shard.get(&pid)
                && entry.uid == process.uid
                && entry.euid == process.euid
                && (cgroup_id == 0 || entry.cgroup_id == cgroup_id)
            {
                fill_from(process, entry);
                return want_exe.then(|| entry.exe.clone());
            }
        }
        // Slow path: first sight, credentials changed, or a new cgroup.
        // The kernel's cgroup id names the container even when the process
        // is already gone from /proc; it wins over what /proc or the parent said.
        let from_kernel = (cgroup_id != 0)
            .then(|| self.cgroups.resolve(cgroup_id))
            .flatten()
            .map(|c| c.container);
        let known = self
            .table
            .update(pid, |entry| {
                entry.uid = process.uid;
                entry.euid = process.euid;
                entry.cgroup_id = cgroup_id;
                if let Some(container) = &from_kernel {
                    entry.container = container.clone();
                }
            })
            .is_some();
        if !known {
            let mut entry = self.load(pid, process);
            entry.cgroup_id = cgroup_id;
            if let Some(container) = &from_kernel {
                entry.container = container.clone();
            }
            self.insert(pid, entry);
        } else if let Some(Some(container)) = &from_kernel {
            self.announce(container);
        }''')
rep('''        if let Some(Some(c)) = &container {
            self.announce(c);
        }''','''        if let Some(Some(c)) = &container {
            self.announce(c);
        }
        // A container the kernel's cgroup id named is not second-guessed.
        let kernel_named = self
            .table
            .shard(pid)
            .read()
            .get(&pid)
            .is_some_and(|e| e.cgroup_id != 0 && e.container.is_some());''')
rep('''            if let Some(container) = container {
                entry.container = container;
            }''','''            if let Some(container) = container
                && !kernel_named
            {
                entry.container = container;
            }''')
rep('''            start_time_ns: 0,
            container: process.container_id.as_ref().map(|id| {''','''            start_time_ns: 0,
            cgroup_id: 0,
            container: process.container_id.as_ref().map(|id| {''')
rep('''            start_time_ns: snap.start_time_ns,
            container: snap.container.map(|c| Arc::new(c.into())),''','''            start_time_ns: snap.start_time_ns,
            cgroup_id: 0,
            container: snap.container.map(|c| Arc::new(c.into())),''')
open(p,'w').write(s)
p='/work/wt/kubernetes/host/enrich/src/table.rs'
s=open(p).read()
rep('''    /// Start time, ns since the epoch (0 if unknown).
    pub start_time_ns: u64,''','''    /// Start time, ns since the epoch (0 if unknown).
    pub start_time_ns: u64,
    /// The cgroup v2 id of the process's last event (0 if none carried one).
    pub cgroup_id: u64,''')
open(p,'w').write(s)
