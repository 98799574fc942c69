//! The thread the link tasks run on: a current-thread Tokio runtime of the engine's own.
//!
//! Why not the caller's runtime: polling is many short request/response exchanges, and on a
//! multi-thread runtime each reply tends to wake a parked worker on another core (a futex wake and a
//! context switch per read), which cost more than the read itself on loopback. One thread that sleeps
//! in `epoll_wait` and runs every link task in turn answers a reply at once, keeps the poll path's
//! memory in one cache, and leaves the caller's runtime (the desktop's, `collect`'s) to its own work.
//! Measured with `cargo bench -p plantwatch-system-tests --bench poll_read_rate` and
//! `--bench poll_thousand_devices` (see the commit messages for the figures).
//!
//! The link tasks are spread round-robin over a few such threads (one per core, at most
//! [`MAX_POLL_THREADS`], never more than there are links): each thread still answers its own replies
//! without waking another, and a busy machine cannot starve the whole plant's polling by descheduling
//! one thread. Link tasks never block a thread (history writes and alarm evaluation run on threads
//! of their own).

use std::future::Future;
use std::io;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most polling threads an engine starts.
pub const MAX_POLL_THREADS: usize = 4;

/// The engine's polling threads; tasks go to them in turn.
pub struct PollThreads {
    threads: Vec<PollThread>,
    next: usize,
}

impl PollThreads {
    /// Starts one thread per core, at most [`MAX_POLL_THREADS`] and at most `links` (at least one).
    pub fn start(links: usize) -> io::Result<PollThreads> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = cores.min(links).clamp(1, MAX_POLL_THREADS);
        let threads = (0..count)
            .map(|i| PollThread::start(&format!("plantwatch-poll-{i}")))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(PollThreads { threads, next: 0 })
    }

    /// Runs a task on the next thread in turn.
    pub fn spawn<F>(&mut self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let thread = &self.threads[self.next % self.threads.len()];
        self.next += 1;
        thread.spawn(task)
    }

    /// Stops every thread and waits for them (see [`PollThread::shut_down`]).
    pub fn shut_down(self) {
        for thread in self.threads {
            thread.shut_down();
        }
    }
}

/// A thread running a current-thread runtime until shut down (or dropped).
pub struct PollThread {
    handle: Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PollThread {
    /// Starts the thread.
    pub fn start(name: &str) -> io::Result<PollThread> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // Spawned tasks run while this thread is inside `block_on`; it returns on shutdown
                // (or when the handle is dropped), and dropping the runtime then cancels what is left.
                let _ = runtime.block_on(shutdown_rx);
            })?;
        Ok(PollThread {
            handle,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Runs a task on the poll thread.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }

    /// Stops the runtime (cancelling any task still there) and waits for the thread to end. Blocks:
    /// call it from a blocking context once the tasks have finished.
    pub fn shut_down(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PollThread {
    fn drop(&mut self) {
        // An engine dropped without `stop`: end the runtime without waiting for it.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
