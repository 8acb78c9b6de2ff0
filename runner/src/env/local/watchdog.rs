//! The last line of defence against orphans when the runner is SIGKILLed.
//!
//! `PR_SET_PDEATHSIG` kills a pod's own process when the runner dies, but not what that process
//! started (a shell's children, a server's workers). So the runner also starts one small
//! watchdog, a `sh` in its own process group with the read end of a pipe as its stdin, and
//! writes `+PGID` into the pipe for every pod it starts and `-PGID` when the pod's group is gone.
//! When the runner dies, however it dies, the kernel closes the pipe; the watchdog reads
//! end-of-file, SIGKILLs every group still registered and exits. It holds nothing else open.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The watchdog's `$0`, so that `ps` (and the tests) can tell what it is.
pub const NAME: &str = "scenario-runner-watchdog";

const SCRIPT: &str = r#"trap '' INT HUP
groups=' '
while read -r op pgid; do
  case $op in
    +) groups="$groups$pgid " ;;
    -) case $groups in *" $pgid "*) groups="${groups%% $pgid *} ${groups#* $pgid }" ;; esac ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0"#;

static PIPE: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();

fn pipe() -> &'static Mutex<Option<ChildStdin>> {
    PIPE.get_or_init(|| Mutex::new(start()))
}

/// Starts a watchdog and returns the pipe to it. Its handle is dropped unreaped: the watchdog
/// outlives it by design, blocked in `read` while the runner lives and reaped by init after.
fn start() -> Option<ChildStdin> {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", SCRIPT, NAME, &std::process::id().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    match command.spawn() {
        Ok(mut child) => child.stdin.take(),
        Err(e) => {
            tracing::warn!(
                "no orphan watchdog (cannot start /bin/sh: {e}); pods' own children may outlive a SIGKILLed runner"
            );
            None
        }
    }
}

fn send(line: &str) {
    let mut pipe = pipe().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(stdin) = pipe.as_mut()
        && stdin.write_all(line.as_bytes()).is_err()
    {
        *pipe = None;
    }
}

/// Registers a pod's process group: killed by the watchdog if the runner dies.
pub fn register(pgid: i32) {
    send(&format!("+ {pgid}\n"));
}

/// Forgets a process group that is gone.
pub fn release(pgid: i32) {
    send(&format!("- {pgid}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use testkit::process_alive as alive;

    fn group_with_a_child() -> (std::process::Child, u32) {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped())
            .process_group(0);
        let mut leader = cmd.spawn().unwrap();
        let mut line = String::new();
        let out = leader.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
        (leader, line.trim().parse().unwrap())
    }

    #[test]
    fn at_end_of_file_it_kills_the_registered_groups_and_only_those() {
        let mut pipe = start().expect("/bin/sh runs");
        let (mut kept, kept_child) = group_with_a_child();
        let (mut released, released_child) = group_with_a_child();
        writeln!(
            pipe,
            "+ {}\n+ {}\n- {}",
            kept.id(),
            released.id(),
            released.id()
        )
        .unwrap();
        drop(pipe);
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(kept_child) {
            assert!(
                Instant::now() < deadline,
                "the registered group's child {kept_child} survived"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = kept.wait();
        assert!(alive(released_child), "a released group was killed");
        // SAFETY: kill(2) on the group this test started.
        unsafe {
            libc::kill(-(released.id() as i32), libc::SIGKILL);
        }
        let _ = released.wait();
    }
}
