//! Starting pod processes so that none outlives the runner.
//!
//! Every pod is forked by one dedicated thread that lives as long as the runner, never by a
//! tokio worker or blocking-pool thread: `PR_SET_PDEATHSIG` fires when the *thread* that forked
//! dies, and the blocking pool retires idle threads after 10 s. Each pod is the leader of its own
//! process group, so a stop reaches everything it started, and a terminal's Ctrl-C reaches only
//! the runner, which then stops the pods itself. What the pods start themselves is covered by
//! the [`watchdog`] when the runner is SIGKILLed.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use super::watchdog;

struct Request {
    command: Command,
    reply: tokio::sync::oneshot::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();

/// The process groups of pods that may still run, for [`kill_all`].
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn spawner() -> &'static Mutex<mpsc::Sender<Request>> {
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("pod-spawner".into())
            .spawn(move || {
                // The sender is in a static, so this loop, and the thread, last until exit.
                for Request { mut command, reply } in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("start the pod-spawner thread");
        Mutex::new(tx)
    })
}

/// Starts `command` from the spawner thread in a new process group, with stdin closed, stdout
/// and stderr piped, and SIGKILL as its parent-death signal.
pub async fn spawn(mut command: Command) -> io::Result<GroupChild> {
    let parent = std::process::id() as libc::pid_t;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The runner died between fork and prctl: the signal will never come.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let sent = spawner()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(Request { command, reply });
    sent.map_err(|_| io::Error::other("the pod-spawner thread is gone"))?;
    let child = answer
        .await
        .map_err(|_| io::Error::other("the pod-spawner thread did not answer"))??;
    let pgid = child.id() as i32;
    LIVE_GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pgid);
    watchdog::register(pgid);
    Ok(GroupChild {
        child,
        pgid,
        reaped: false,
    })
}

/// SIGKILLs every pod process group still alive. For last-resort paths such as a panic hook;
/// the normal path is [`GroupChild`]'s drop or the environment's shutdown.
pub fn kill_all() {
    for pgid in LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        signal_group(*pgid, libc::SIGKILL);
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) on a process group this module created and has not released.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// A pod's process, leader of its own group. Dropping it SIGKILLs the group and reaps the leader.
#[derive(Debug)]
pub struct GroupChild {
    child: Child,
    pgid: i32,
    reaped: bool,
}

impl GroupChild {
    /// The leader's process id, which is also the group id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Takes the pipes of stdout and stderr.
    pub fn take_output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        (self.child.stdout.take(), self.child.stderr.take())
    }

    /// Sends `signal` to the whole group, unless the leader has been reaped.
    pub fn signal(&self, signal: i32) {
        if !self.reaped {
            signal_group(self.pgid, signal);
        }
    }

    /// The leader's exit status if it has exited. When it has, whatever is left of its group is
    /// killed at once, while the group id cannot yet have been reused.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.reaped {
            return None;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.release();
                Some(status)
            }
            Ok(None) => None,
            // ECHILD: someone else reaped it; it is gone either way.
            Err(_) => {
                self.release();
                Some(ExitStatus::default())
            }
        }
    }

    fn release(&mut self) {
        signal_group(self.pgid, libc::SIGKILL);
        self.reaped = true;
        LIVE_GROUPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.pgid);
        watchdog::release(self.pgid);
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.reaped {
            signal_group(self.pgid, libc::SIGKILL);
            let _ = self.child.wait();
            self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use testkit::process_alive as alive;

    #[tokio::test]
    async fn a_dropped_child_takes_its_whole_group_along() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo $!; wait"]);
        let mut child = spawn(cmd).await.unwrap();
        let (stdout, _) = child.take_output();
        let mut line = String::new();
        io::BufRead::read_line(&mut io::BufReader::new(stdout.unwrap()), &mut line).unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        let leader = child.pid();
        assert!(alive(grandchild) && alive(leader));
        drop(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(grandchild) {
            assert!(
                Instant::now() < deadline,
                "the grandchild {grandchild} survived its group's kill"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(leader));
    }
}
