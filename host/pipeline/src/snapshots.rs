//! Where a batch must be cut so that host look-ups answer as of the events.
//!
//! Enrichment runs over a batch before its detectors do, and a detector that
//! asks the host about a process (`process`, `ancestry`) gets the table as it
//! stands after the whole batch. An exec rewrites a process's identity: a
//! shell forked by `nginx`, then `nginx` exec'ing `sleep` in the same batch,
//! would show the shell a parent called `sleep`. Cutting the batch before an
//! exec of a process already seen in it keeps every look-up true to the
//! events delivered with it.
//!
//! File history is looked up the same way (`recent-write` of the program
//! or library an exec or mmap names): a dropper that copies a binary, runs
//! it and deletes it at once would show its exec a file nobody wrote, if
//! the unlink were enriched before the exec was judged. So a run also ends
//! before an unlink or rename that follows an exec or mmap in it.

use harrier_events::{Event, EventDetail};
use rustc_hash::FxHashSet;

/// Finds the longest run of events the process table and the file history
/// can answer for at once.
#[derive(Default)]
pub(crate) struct ConsistentRuns {
    // Pids are small integers: a cheap hash keeps this off the profile.
    seen: FxHashSet<u32>,
}

impl ConsistentRuns {
    /// How many events from the start of `events` can be enriched and
    /// delivered together (at least one, unless `events` is empty).
    pub(crate) fn next_len(&mut self, events: &[Event]) -> usize {
        self.seen.clear();
        let mut executed = false;
        for (i, event) in events.iter().enumerate() {
            let pid = event.process.pid;
            match &event.detail {
                EventDetail::Exec(_) if i > 0 && self.seen.contains(&pid) => return i,
                EventDetail::FileUnlink(_) | EventDetail::FileRename(_) if executed => return i,
                EventDetail::Exec(_) | EventDetail::MmapExec(_) => executed = true,
                _ => {}
            }
            self.seen.insert(pid);
            self.seen.insert(event.process.ppid);
        }
        events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_events::{ExecEvent, ExitEvent, ForkEvent, Process};

    fn event(pid: u32, ppid: u32, detail: EventDetail) -> Event {
        Event {
            fidelity: None,
            seq: 0,
            time_ns: 0,
            process: Process {
                pid,
                tid: pid,
                ppid,
                uid: 0,
                euid: 0,
                gid: 0,
                egid: 0,
                comm: String::new(),
                exe: String::new(),
                container_id: None,
                cgroup_id: None,
            },
            detail,
        }
    }

    fn exec(pid: u32, ppid: u32) -> Event {
        event(
            pid,
            ppid,
            EventDetail::Exec(ExecEvent {
                args_gap: None,
                filename: String::new(),
                args: Vec::new(),
                args_truncated: false,
                cwd: String::new(),
                ld_preload: None,
                ld_library_path: None,
                file_mode: 0,
                dev: 0,
                inode: 0,
                mtime_ns: 0,
            }),
        )
    }

    #[test]
    fn cut_before_a_parent_execs_again() {
        // nginx (10) forks sh (11), sh runs and exits, nginx execs sleep.
        let batch = [
            exec(10, 1),
            event(
                10,
                1,
                EventDetail::Fork(ForkEvent {
                    child_pid: 11,
                    clone_flags: 0,
                }),
            ),
            exec(11, 10),
            event(11, 10, EventDetail::Exit(ExitEvent { code: 0, signal: 0 })),
            exec(10, 1),
            exec(12, 1),
        ];
        let mut runs = ConsistentRuns::default();
        assert_eq!(runs.next_len(&batch), 4);
        assert_eq!(runs.next_len(&batch[4..]), 2);
        assert_eq!(runs.next_len(&[]), 0);
    }

    #[test]
    fn cut_before_an_unlink_that_follows_an_exec() {
        // A dropper writes /dev/shm/x, runs it (pid 21) and deletes it.
        let unlink = || {
            event(
                20,
                1,
                EventDetail::FileUnlink(harrier_events::FilePathEvent {
                    path: "/dev/shm/x".into(),
                    result: 0,
                }),
            )
        };
        let batch = [unlink(), exec(21, 20), unlink(), exec(22, 20)];
        let mut runs = ConsistentRuns::default();
        // An unlink before any exec stays; the one after the exec is cut.
        assert_eq!(runs.next_len(&batch), 2);
        assert_eq!(runs.next_len(&batch[2..]), 2);
    }

    #[test]
    fn unrelated_execs_stay_in_one_run() {
        let batch: Vec<Event> = (100..200).map(|pid| exec(pid, 1)).collect();
        assert_eq!(ConsistentRuns::default().next_len(&batch), 100);
    }
}
