//! How an apply's progress is shown. In CI logs (and whenever standard error is not a terminal)
//! one line per resource as it starts and as it ends, with its duration: `Lines`. On a terminal,
//! progress bars: a spinner per resource in flight (with its tasks running while a service
//! converges) above one bar for the whole apply, and the same end-of-resource lines printed
//! above the bars so that the scrollback keeps them: `Bars`.

use berth_apply::progress::{Event, Progress};
use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `--progress`: how to show an apply's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProgressMode {
    /// Bars on a terminal, lines otherwise (and always when `CI` is set or `TERM=dumb`).
    #[default]
    Auto,
    /// Progress bars.
    Bars,
    /// One line per resource as it starts and ends.
    Lines,
}

impl ProgressMode {
    /// Whether bars are shown: `Auto` asks the environment.
    fn bars(self) -> bool {
        match self {
            ProgressMode::Bars => true,
            ProgressMode::Lines => false,
            ProgressMode::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("CI").is_none()
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}

/// The progress reporter for an apply of `steps` steps.
pub fn reporter(mode: ProgressMode, steps: u64) -> Arc<dyn Progress> {
    if mode.bars() {
        Arc::new(Bars::new(steps, ProgressDrawTarget::stderr()))
    } else {
        Arc::new(Lines::new())
    }
}

/// One line per event, timestamped from the start of the apply.
pub struct Lines {
    start: Instant,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            start: Instant::now(),
        }
    }
}

impl Progress for Lines {
    fn event(&self, event: Event) {
        let t = self.start.elapsed().as_secs_f64();
        let _ = writeln!(std::io::stderr(), "[{t:6.1}s] {}", describe(&event));
    }
}

/// What an event says, the same in lines and above the bars.
fn describe(event: &Event) -> String {
    match event {
        Event::Started { address, action } => format!("{address}: {}...", ing(action)),
        Event::Converging {
            address,
            running,
            desired,
        } => format!("{address}: {running}/{desired} tasks running"),
        Event::Finished {
            address,
            action,
            elapsed,
        } => format!(
            "{address}: {} ({:.1}s)",
            past(action),
            elapsed.as_secs_f64()
        ),
        Event::Failed {
            address,
            action,
            message,
        } => format!("{address}: {action} failed: {message}"),
        Event::Skipped { address, reason } => format!("{address}: skipped ({reason})"),
    }
}

/// Progress bars: one spinner per step in flight above an overall bar.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    /// The spinner of each address with a step in flight.
    active: Mutex<BTreeMap<String, ProgressBar>>,
    start: Instant,
}

impl Bars {
    fn new(steps: u64, target: ProgressDrawTarget) -> Bars {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(steps));
        overall.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} steps {msg}")
                .expect("the overall bar's template is valid")
                .progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars {
            multi,
            overall,
            active: Mutex::new(BTreeMap::new()),
            start: Instant::now(),
        }
    }

    fn spinner(&self, message: String) -> ProgressBar {
        let bar = self
            .multi
            .insert_before(&self.overall, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} {elapsed:.dim}")
                .expect("the spinner's template is valid"),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A step ended: its spinner goes, its line stays above the bars, the overall bar moves.
    fn ended(&self, address: &str, line: String) {
        if let Some(bar) = self.active.lock().unwrap().remove(address) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let t = self.start.elapsed().as_secs_f64();
        let _ = self.multi.println(format!("[{t:6.1}s] {line}"));
        if self.overall.position() >= self.overall.length().unwrap_or(0) {
            self.overall.inc_length(1);
        }
        self.overall.inc(1);
    }
}

impl Progress for Bars {
    fn event(&self, event: Event) {
        let line = describe(&event);
        match event {
            Event::Started { address, .. } => {
                let bar = self.spinner(line);
                if let Some(old) = self.active.lock().unwrap().insert(address.to_string(), bar) {
                    old.finish_and_clear();
                    self.multi.remove(&old);
                }
            }
            Event::Converging { address, .. } => {
                if let Some(bar) = self.active.lock().unwrap().get(&address.to_string()) {
                    bar.set_message(line);
                }
            }
            Event::Finished { address, .. }
            | Event::Failed { address, .. }
            | Event::Skipped { address, .. } => self.ended(&address.to_string(), line),
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for bar in self.active.lock().unwrap().values() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

fn ing(action: &str) -> &'static str {
    match action {
        "create" => "creating",
        "update" => "updating",
        "delete" => "destroying",
        "detach" => "detaching",
        _ => "working",
    }
}

fn past(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "update" => "updated",
        "delete" => "destroyed",
        "detach" => "detached",
        _ => "done",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_planner::Address;
    use indicatif::InMemoryTerm;

    fn address(text: &str) -> Address {
        text.parse().expect("a valid address")
    }

    /// Draws into memory at the highest rate indicatif allows; `suspend` forces a redraw.
    fn bars(term: &InMemoryTerm, steps: u64) -> Bars {
        Bars::new(
            steps,
            ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), 255),
        )
    }

    /// What the terminal shows once every bar has drawn its latest state: draws are rate-limited,
    /// and a bar with a steady tick draws on its tick, so wait for the slowest tick (200 ms).
    fn drawn(term: &InMemoryTerm, b: &Bars) -> String {
        std::thread::sleep(Duration::from_millis(450));
        b.multi.suspend(|| {});
        term.contents()
    }

    #[test]
    fn bars_show_each_step_in_flight_and_keep_a_line_for_each_that_ended() {
        let term = InMemoryTerm::new(12, 120);
        let b = bars(&term, 3);
        let web = address("shop/production/service.web");
        let data = address("shop/production/volume.data");
        b.event(Event::Started {
            address: data.clone(),
            action: "create",
        });
        b.event(Event::Started {
            address: web.clone(),
            action: "create",
        });
        b.event(Event::Converging {
            address: web.clone(),
            running: 1,
            desired: 2,
        });
        let screen = drawn(&term, &b);
        assert!(
            screen.contains("shop/production/volume.data: creating..."),
            "{screen}"
        );
        assert!(
            screen.contains("shop/production/service.web: 1/2 tasks running"),
            "{screen}"
        );
        assert!(screen.contains("0/3 steps"), "{screen}");

        b.event(Event::Finished {
            address: data.clone(),
            action: "create",
            elapsed: Duration::from_millis(300),
        });
        b.event(Event::Failed {
            address: web.clone(),
            action: "create",
            message: "rolled back".into(),
        });
        let screen = drawn(&term, &b);
        assert!(screen.contains("volume.data: created (0.3s)"), "{screen}");
        assert!(
            screen.contains("service.web: create failed: rolled back"),
            "{screen}"
        );
        assert!(
            !screen.contains("creating..."),
            "spinners of ended steps go: {screen}"
        );
        assert!(screen.contains("2/3 steps"), "{screen}");
        assert_eq!(b.active.lock().unwrap().len(), 0);
    }

    #[test]
    fn more_steps_than_announced_grow_the_bar_instead_of_overflowing_it() {
        let term = InMemoryTerm::new(10, 100);
        let b = bars(&term, 1);
        for name in ["a", "b"] {
            let a = address(&format!("p/production/service.{name}"));
            b.event(Event::Skipped {
                address: a,
                reason: "interrupted".into(),
            });
        }
        assert_eq!(b.overall.position(), 2);
        assert_eq!(b.overall.length(), Some(2));
        assert!(drawn(&term, &b).contains("service.b: skipped (interrupted)"));
    }

    #[test]
    fn lines_and_bars_say_the_same() {
        let e = Event::Finished {
            address: address("p/staging/network.default"),
            action: "delete",
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(describe(&e), "p/staging/network.default: destroyed (2.0s)");
    }
}
