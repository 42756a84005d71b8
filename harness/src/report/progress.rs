//! A progress bar for long runs on a terminal (`indicatif`), driven by the runner's
//! `CellStarted` events. Silent when stderr is not a terminal or `CI` is set, so logs and
//! captured output never carry it.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::compare::golden::is_ci;
use crate::runner::{ParityEvent, Plan};

/// The progress of one run; a no-op when hidden.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Whether this process should draw bars: stderr is an interactive terminal and `CI` is
    /// not set.
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal() && !is_ci()
    }

    /// A bar over every cell of `plan` when `terminal` (see [`Progress::wanted`]) and
    /// there is more than one cell.
    pub fn new(plan: &Plan, terminal: bool) -> Progress {
        let cells = (plan.scenarios.len() * plan.subjects.len()) as u64;
        let shown = terminal && cells > 1;
        let bar = shown.then(|| {
            let bar = ProgressBar::new(cells);
            bar.set_style(
                ProgressStyle::with_template("{pos:>4}/{len} {bar:30} {elapsed} {msg}")
                    .expect("the template is valid"),
            );
            bar
        });
        // Setup notices from any thread print above the bar instead of through it.
        crate::notice::set_bar(bar.clone());
        Progress { bar }
    }

    /// Moves the bar on the runner's events.
    pub fn on_event(&mut self, event: &ParityEvent<'_>) {
        let Some(bar) = &self.bar else { return };
        match event {
            ParityEvent::CellStarted { scenario, subject } => {
                bar.set_message(format!("{scenario} / {subject}"));
            }
            ParityEvent::CellFinished(_) => bar.inc(1),
        }
    }

    /// Runs `write` (printing to the terminal) with the bar hidden, so lines do not mix.
    pub fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            crate::notice::set_bar(None);
            bar.finish_and_clear();
        }
    }
}
