//! Progress for bulk work, shown only on a terminal so scripts and pipes stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on standard error, or nothing when stderr is not a terminal or the job is small.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Starts a bar for `total` items labelled `what`.
    pub fn new(total: u64, what: &str) -> Self {
        if total < 20 || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Self(Some(bar))
    }

    /// One more item done (safe from many threads).
    pub fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
