//! The app shell: top bar (labs, compute badge, Copy link, theme), link handling, self-test.
//! It knows labs only through the [`Lab`] trait.

use web_time::Duration;

use crate::gpu::{Compute, GpuContext};
use crate::labs::{Lab, LabEnv, all_labs};
use crate::platform;
use crate::selftest::{SelfTestReport, SelfTestRun, all_checks};
use crate::share::{Correction, Pairs, format_fragment, parse_fragment};

/// The link key that selects the lab; every other key belongs to the lab.
const LAB_KEY: &str = "lab";
/// CPU time per frame that labs may spend on background work: leaves room for drawing at 60 Hz.
const WORK_BUDGET: Duration = Duration::from_millis(8);
/// How long the "Link copied" notice stays.
const NOTICE_SECONDS: f64 = 2.5;

/// How the app was opened.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// The URL fragment (`#lab=device&rows=...`), possibly empty or garbage.
    pub fragment: String,
    /// Run every kernel check once and publish the report (`?selftest=1`).
    pub selftest: bool,
}

pub struct PaperlabApp {
    labs: Vec<Box<dyn Lab>>,
    active: usize,
    compute: Compute,
    /// What the last opened link could not use as written (shown until dismissed).
    corrections: Vec<Correction>,
    /// The fragment last seen in (or written to) the address bar; `None` before the first look.
    url_seen: Option<String>,
    selftest: Option<SelfTestRun>,
    selftest_report: Option<SelfTestReport>,
    notice: Option<(String, f64)>,
    /// Last status published per lab id / for the link, so the DOM is written only on change.
    published: std::collections::BTreeMap<String, String>,
}

impl PaperlabApp {
    /// Called by eframe once the renderer exists: its device becomes our compute device.
    pub fn new(cc: &eframe::CreationContext<'_>, options: StartOptions) -> Self {
        platform::repaint_on_hashchange(cc.egui_ctx.clone());
        let compute = match &cc.wgpu_render_state {
            Some(render_state) => match GpuContext::from_existing(
                &render_state.adapter,
                render_state.device.clone(),
                render_state.queue.clone(),
            ) {
                Ok(mut ctx) => {
                    if ctx.adapter.name.trim().is_empty() {
                        // Browsers often hide the adapter description; index.html asks for
                        // vendor and architecture instead.
                        ctx.adapter.name = platform::adapter_hint()
                            .unwrap_or_else(|| "unnamed adapter".to_owned());
                    }
                    Compute::Gpu(std::sync::Arc::new(ctx))
                }
                Err(reason) => Compute::CpuFallback { reason },
            },
            None => Compute::CpuFallback {
                reason: "the renderer has no wgpu device".to_owned(),
            },
        };
        log::info!("compute: {}", compute.badge());
        platform::set_webgpu_notice(compute.gpu().is_none());
        Self::with_compute(compute, options)
    }

    pub fn with_compute(compute: Compute, options: StartOptions) -> Self {
        let mut app = Self {
            labs: all_labs(),
            active: 0,
            compute,
            corrections: Vec::new(),
            url_seen: None,
            selftest: options.selftest.then(|| SelfTestRun::new(all_checks())),
            selftest_report: None,
            notice: None,
            published: Default::default(),
        };
        app.open_link(&options.fragment);
        app
    }

    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    pub fn active_lab_id(&self) -> &'static str {
        self.labs[self.active].id()
    }

    pub fn corrections(&self) -> &[Correction] {
        &self.corrections
    }

    /// Opens a link: selects its lab and restores that lab's settings; remembers corrections.
    pub fn open_link(&mut self, fragment: &str) {
        let pairs = parse_fragment(fragment);
        let mut corrections = Vec::new();
        let mut lab_pairs: Pairs = Vec::new();
        let mut wanted_lab: Option<String> = None;
        for (key, value) in pairs {
            if key == LAB_KEY {
                wanted_lab = Some(value);
            } else {
                lab_pairs.push((key, value));
            }
        }
        if let Some(wanted) = wanted_lab {
            match self.labs.iter().position(|lab| lab.id() == wanted) {
                Some(index) => self.active = index,
                None => corrections.push(Correction::new(
                    LAB_KEY,
                    format!(
                        "no lab '{wanted}', opened {}",
                        self.labs[self.active].title()
                    ),
                )),
            }
        }
        // A link always describes the whole state: keys it leaves out take their defaults.
        let lab = &mut self.labs[self.active];
        lab.reset_settings();
        corrections.extend(lab.restore_settings(&lab_pairs));
        self.corrections = corrections;
    }

    /// The fragment that reproduces the current view.
    pub fn current_fragment(&self) -> String {
        let lab = &self.labs[self.active];
        let mut pairs: Pairs = vec![(LAB_KEY.to_owned(), lab.id().to_owned())];
        pairs.extend(lab.settings_pairs());
        format_fragment(&pairs)
    }

    pub fn selftest_report(&self) -> Option<&SelfTestReport> {
        self.selftest_report.as_ref()
    }

    /// Keeps the address bar and the view in step. A fragment that changed behind our back (the
    /// user edited it, or pressed back/forward) is opened as a link; a change of settings
    /// replaces the history entry (one entry per visit, not one per slider move).
    fn sync_url(&mut self) {
        let Some(in_url) = platform::location_fragment() else {
            return; // native: there is no address bar
        };
        if self.url_seen.as_deref() != Some(in_url.as_str()) {
            // The first look only records: the start-up link was opened in `new`.
            if self.url_seen.is_some() {
                self.open_link(&in_url);
            }
            self.url_seen = Some(in_url);
        }
        let now = self.current_fragment();
        if self.url_seen.as_deref() != Some(now.as_str()) {
            platform::replace_fragment(&now);
            self.url_seen = Some(now);
        }
    }

    /// Status for scripts and tests: the link's corrections and the open lab's figures.
    fn publish_statuses(&mut self) {
        let corrections: Vec<String> = self.corrections.iter().map(ToString::to_string).collect();
        let link = serde_json::json!({
            "lab": self.active_lab_id(),
            "fragment": self.current_fragment(),
            "corrections": corrections,
        })
        .to_string();
        let lab = &self.labs[self.active];
        let mut statuses = vec![("link".to_owned(), link)];
        if let Some(status) = lab.status_json() {
            statuses.push((lab.id().to_owned(), status));
        }
        for (name, json) in statuses {
            if self.published.get(&name) != Some(&json) {
                platform::publish_status(&name, &json);
                self.published.insert(name, json);
            }
        }
    }

    fn poll_selftest(&mut self) {
        let Some(run) = &mut self.selftest else {
            return;
        };
        if let Some(report) = run.poll(&self.compute) {
            let json = serde_json::to_string_pretty(&report)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            platform::publish_selftest(&json, report.passed);
            self.selftest_report = Some(report);
            self.selftest = None;
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new("paperlab").strong().size(18.0));
                ui.separator();
                let mut clicked = None;
                for (index, lab) in self.labs.iter().enumerate() {
                    if ui
                        .selectable_label(index == self.active, lab.title())
                        .on_hover_text(lab.citation().text)
                        .clicked()
                    {
                        clicked = Some(index);
                    }
                }
                if let Some(index) = clicked
                    && index != self.active
                {
                    self.active = index;
                    self.corrections.clear();
                }
                ui.separator();
                let badge_color = match self.compute {
                    Compute::Gpu(_) => ui.visuals().hyperlink_color,
                    Compute::CpuFallback { .. } => ui.visuals().warn_fg_color,
                };
                let badge = ui.label(egui::RichText::new(self.compute.badge()).color(badge_color));
                if let Compute::CpuFallback { reason } = &self.compute {
                    badge.on_hover_text(reason);
                }
                if ui
                    .button("Copy link")
                    .on_hover_text(
                        "Copy a link that reproduces this view, settings and seeds included.",
                    )
                    .clicked()
                {
                    let link = platform::shareable_link(&self.current_fragment());
                    ui.ctx().copy_text(link);
                    let now = ui.input(|i| i.time);
                    self.notice = Some(("Link copied".to_owned(), now + NOTICE_SECONDS));
                }
                if let Some((text, until)) = &self.notice {
                    if ui.input(|i| i.time) < *until {
                        ui.label(egui::RichText::new(text).italics());
                        ui.ctx().request_repaint_after(Duration::from_millis(250));
                    } else {
                        self.notice = None;
                    }
                }
                theme_toggle_ui(ui);
            });
        });
    }

    fn corrections_ui(&mut self, ui: &mut egui::Ui) {
        if self.corrections.is_empty() {
            return;
        }
        let mut dismissed = false;
        egui::Panel::top("link_corrections").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "This link had {} setting(s) that could not be used as written:",
                        self.corrections.len()
                    ))
                    .color(ui.visuals().warn_fg_color),
                );
                if ui.small_button("Dismiss").clicked() {
                    dismissed = true;
                }
            });
            for correction in self.corrections.iter().take(8) {
                ui.label(format!("• {correction}"));
            }
            if self.corrections.len() > 8 {
                ui.label(format!("… and {} more", self.corrections.len() - 8));
            }
        });
        if dismissed {
            self.corrections.clear();
        }
    }

    fn lab_header_ui(&mut self, ui: &mut egui::Ui) {
        let lab = &mut self.labs[self.active];
        let citation = lab.citation();
        let mut reset = false;
        egui::Panel::top("lab_header").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.heading(lab.title());
                ui.hyperlink_to(citation.text, citation.url)
                    .on_hover_text("The paper this lab makes tangible");
                if ui
                    .small_button("Reset to defaults")
                    .on_hover_text("Every setting of this lab back to its default")
                    .clicked()
                {
                    reset = true;
                }
            });
        });
        if reset {
            lab.reset_settings();
        }
    }

    fn selftest_ui(&self, ui: &mut egui::Ui) {
        let text = match (&self.selftest, &self.selftest_report) {
            (Some(run), _) => {
                let (done, total) = run.progress();
                format!("self-test running: {done}/{total}")
            }
            (None, Some(report)) => format!(
                "self-test {}: {} checks",
                if report.passed { "PASS" } else { "FAIL" },
                report.checks.len()
            ),
            (None, None) => return,
        };
        egui::Panel::bottom("selftest_status").show(ui, |ui| {
            ui.monospace(text);
        });
    }
}

/// Light or dark, as one button that says what it switches to.
fn theme_toggle_ui(ui: &mut egui::Ui) {
    let dark = ui.visuals().dark_mode;
    let (label, target) = if dark {
        ("Light theme", egui::Theme::Light)
    } else {
        ("Dark theme", egui::Theme::Dark)
    };
    if ui
        .button(label)
        .on_hover_text("Switch between the light and the dark theme")
        .clicked()
    {
        ui.ctx().set_theme(target);
    }
}

impl eframe::App for PaperlabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.poll_selftest();
        self.top_bar_ui(ui);
        self.corrections_ui(ui);
        self.lab_header_ui(ui);
        self.selftest_ui(ui);
        let env = LabEnv {
            compute: &self.compute,
            work_budget: WORK_BUDGET,
        };
        egui::CentralPanel::default().show(ui, |ui| {
            self.labs[self.active].ui(ui, &env);
        });
        if self.labs[self.active].is_busy() || self.selftest.is_some() {
            ui.ctx().request_repaint();
        }
        self.sync_url();
        self.publish_statuses();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(fragment: &str) -> PaperlabApp {
        PaperlabApp::with_compute(
            Compute::CpuFallback {
                reason: "test".into(),
            },
            StartOptions {
                fragment: fragment.to_owned(),
                selftest: false,
            },
        )
    }

    #[test]
    fn a_link_restores_the_device_page() {
        let link = "#lab=device&rows=2048&cols=512&copy_mib=8&reps=4&seed=9&cpu=false&gemv=rowwise";
        let app = app(link);
        assert_eq!(app.active_lab_id(), "device");
        assert!(app.corrections().is_empty(), "{:?}", app.corrections());
        assert_eq!(app.current_fragment(), link);
    }

    #[test]
    fn a_garbage_link_is_corrected_and_reported() {
        let app = app("#lab=nope&rows=-1&cols=abc&x=1");
        assert_eq!(app.active_lab_id(), "device");
        let keys: Vec<&str> = app.corrections().iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["lab", "rows", "cols", "x"]);
        assert!(app.current_fragment().contains("rows=4096"));
    }

    #[test]
    fn an_empty_link_opens_the_first_lab_with_defaults() {
        let app = app("");
        assert!(app.corrections().is_empty());
        assert!(
            app.current_fragment()
                .starts_with("#lab=device&rows=4096&cols=4096")
        );
    }
}
