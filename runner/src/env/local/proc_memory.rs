//! Resident memory from /proc: the `VmRSS` of every process of a process group, summed.

use std::fs;

/// The resident bytes of the processes in process group `pgid`, summed; `None` when /proc shows
/// no process of that group.
pub fn group_rss(pgid: u32) -> Option<u64> {
    let mut total = None;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if process_group(pid) == Some(pgid) {
            *total.get_or_insert(0) += rss_bytes(pid).unwrap_or(0);
        }
    }
    total
}

/// The process group of `pid`, from `/proc/<pid>/stat`: the third field after the command name,
/// which is in parentheses and may itself hold spaces and parentheses.
fn process_group(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(") ")?;
    after_name.split_whitespace().nth(2)?.parse().ok()
}

/// `VmRSS` of `pid` in bytes; `None` for a zombie or a process that is gone.
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_group_has_resident_memory() {
        // SAFETY: getpgrp has no preconditions.
        let own_group = unsafe { libc::getpgrp() } as u32;
        let rss = group_rss(own_group).expect("the test's own group is in /proc");
        assert!(rss >= rss_bytes(std::process::id()).unwrap(), "{rss}");
        assert_eq!(group_rss(u32::MAX - 1), None);
    }
}
