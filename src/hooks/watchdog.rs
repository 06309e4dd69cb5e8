//! The wall-clock watchdog. The instruction budget stops Lua code (and, being a count, stops it
//! the same way on every machine), but no hook can interrupt a C function: a pathological
//! `string.find` can run for many seconds. A call that outlives its time limit by a margin
//! ends the run: hooks run while planning, before anything is written, so ending the process
//! leaves nothing behind, and timing never changes what is written.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Grace after a call's deadline, for the instruction hook to stop it first.
const GRACE: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(50);

type Action = Arc<dyn Fn(&str) + Send + Sync>;

/// Watches calls in flight.
pub struct Watchdog {
    limit: Duration,
    calls: Arc<Mutex<BTreeMap<u64, (Instant, String)>>>,
    next: AtomicU64,
    started: AtomicBool,
    stop: Arc<AtomicBool>,
    action: Action,
}

/// Stops watching a call when dropped.
pub struct Watched<'a> {
    dog: &'a Watchdog,
    id: u64,
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.dog.calls.lock() {
            calls.remove(&self.id);
        }
    }
}

impl Watchdog {
    /// A watchdog whose action prints the reason and ends the process with exit code 1.
    pub fn new(limit: Duration) -> Self {
        Self::with_action(
            limit,
            Arc::new(|what: &str| {
                eprintln!(
                    "{}",
                    crate::secrets::for_people(&format!(
                        "error[hook.timeout]: {} ran past its time limit (lua.timeout_ms); \
                         stopping the run: nothing was written",
                        crate::text::escape_controls(what)
                    ))
                );
                std::process::exit(1);
            }),
        )
    }

    /// A watchdog with another action (for tests and embedders).
    pub fn with_action(limit: Duration, action: Action) -> Self {
        Watchdog {
            limit,
            calls: Arc::default(),
            next: AtomicU64::new(0),
            started: AtomicBool::new(false),
            stop: Arc::new(AtomicBool::new(false)),
            action,
        }
    }

    /// Watches one call until the returned guard is dropped.
    pub fn watch(&self, what: String) -> Watched<'_> {
        if !self.started.swap(true, Ordering::SeqCst) {
            let (calls, stop, action) = (
                Arc::clone(&self.calls),
                Arc::clone(&self.stop),
                Arc::clone(&self.action),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let late = calls.lock().ok().and_then(|c| {
                        c.values()
                            .find(|(deadline, _)| Instant::now() > *deadline + GRACE)
                            .map(|(_, w)| w.clone())
                    });
                    if let Some(what) = late {
                        action(&what);
                        return;
                    }
                }
            });
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut calls) = self.calls.lock() {
            calls.insert(id, (Instant::now() + self.limit, what));
        }
        Watched { dog: self, id }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
