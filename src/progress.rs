//! A one-line progress indicator on stderr for runs longer than a moment.
//!
//! Shown only when stderr is a terminal; the clock it reads decides what is drawn and when,
//! never what is written.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts finished steps of a stage and draws them now and then.
pub struct Progress {
    label: &'static str,
    total: usize,
    done: AtomicUsize,
    start: Instant,
    last: Mutex<Option<Instant>>,
    enabled: bool,
}

const QUIET_FOR: Duration = Duration::from_millis(400);

/// Set by `-q`: no progress line at all.
static SILENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// No progress line is drawn from now on (`-q`).
pub fn silence() {
    SILENT.store(true, Ordering::Relaxed);
}
const REDRAW_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    /// A stage of `total` steps.
    pub fn new(label: &'static str, total: usize) -> Self {
        let enabled = std::io::stderr().is_terminal()
            && std::env::var_os("HOIST_NO_PROGRESS").is_none()
            && !SILENT.load(Ordering::Relaxed);
        Progress {
            label,
            total,
            done: AtomicUsize::new(0),
            start: Instant::now(),
            last: Mutex::new(None),
            enabled,
        }
    }

    /// One step finished.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.enabled || self.start.elapsed() < QUIET_FOR {
            return;
        }
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < REDRAW_EVERY) && done < self.total {
            return;
        }
        *last = Some(Instant::now());
        let width = 30;
        let filled = (done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let _ = write!(
            std::io::stderr(),
            "\r{} [{bar}] {done}/{}",
            self.label,
            self.total
        );
    }

    /// Clears the line if anything was drawn.
    pub fn finish(&self) {
        if self.enabled && self.last.lock().map(|l| l.is_some()).unwrap_or(false) {
            let _ = write!(
                std::io::stderr(),
                "\r{}\r",
                " ".repeat(self.label.len() + 50)
            );
        }
    }
}
