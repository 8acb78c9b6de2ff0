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
for g in $groups; do kill -KILL -- "-$g" 2>/dev/null; done
exit 0"#;

static PIPE: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();

fn pipe() -> &'static Mutex<Option<ChildStdin>> {
    PIPE.get_or_init(|| {
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", SCRIPT, NAME, &std::process::id().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let stdin = match command.spawn() {
            // The handle is dropped unreaped: the watchdog outlives it by design and is reaped
            // by init once the runner is gone; while the runner lives it stays blocked in `read`.
            Ok(mut child) => child.stdin.take(),
            Err(e) => {
                tracing::warn!("no orphan watchdog (cannot start /bin/sh: {e}); pods' own children may outlive a SIGKILLed runner");
                None
            }
        };
        Mutex::new(stdin)
    })
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
