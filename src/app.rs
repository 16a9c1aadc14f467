//! The app shell: top bar (labs, compute badge, Copy link, theme), link handling, self-test.
//! It knows labs only through the [`Lab`] trait.

use web_time::Duration;

use crate::gpu::{Compute, GpuContext};
use crate::labs::{CardInfo, Lab, LabEnv, all_checks, all_labs, layout};
use crate::platform;
use crate::selftest::{SelfTestReport, SelfTestRun};
use crate::share::{Correction, Pairs, format_fragment, parse_fragment};
use crate::shortcuts;

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
    /// `?compute=cpu`: compute on the CPU (the page's fallback path) even where the renderer
    /// has a GPU device; drawing still uses it. To compare the paths, or where a GPU misbehaves.
    pub compute_on_cpu: bool,
}

pub struct PaperlabApp {
    labs: Vec<Box<dyn Lab>>,
    active: usize,
    compute: Compute,
    /// What the last opened link could not use as written (shown until dismissed).
    corrections: Vec<Correction>,
    /// The fragment last seen in (or written to) the address bar; `None` before the first look.
    url_seen: Option<String>,
    /// The window / tab title last set: "paperlab · <lab>", so tabs and history entries differ.
    title_shown: String,
    selftest: Option<SelfTestRun>,
    selftest_report: Option<SelfTestReport>,
    notice: Option<(String, f64)>,
    /// Last status published per lab id / for the link, so the DOM is written only on change.
    published: std::collections::BTreeMap<String, String>,
    /// Every lab's home-page card.
    cards: Vec<CardInfo>,
    /// A screenshot asked for by the PNG button, filled by the integration a frame later.
    screenshot: Option<std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<egui::ColorImage>>>>>,
    /// Whether the narrow (phone) style is applied.
    narrow_style: Option<bool>,
    /// Whether the keyboard-shortcut list is open (`?`).
    show_shortcuts: bool,
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
        let compute = if options.compute_on_cpu {
            Compute::CpuFallback {
                reason: crate::gpu::ASKED_FOR_CPU.to_owned(),
            }
        } else {
            compute
        };
        log::info!("compute: {}", compute.badge());
        platform::set_webgpu_notice(compute.gpu().is_none());
        Self::with_compute(compute, options)
    }

    pub fn with_compute(compute: Compute, options: StartOptions) -> Self {
        let labs = all_labs();
        let cards = labs
            .iter()
            .filter_map(|lab| {
                Some(CardInfo {
                    id: lab.id(),
                    title: lab.title(),
                    citation: lab.citation(),
                    card: lab.card()?,
                })
            })
            .collect();
        let mut app = Self {
            labs,
            cards,
            screenshot: None,
            narrow_style: None,
            show_shortcuts: false,
            active: 0,
            compute,
            corrections: Vec::new(),
            url_seen: None,
            title_shown: String::new(),
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
        corrections.extend(self.labs[self.active].restore_settings(&lab_pairs));
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

    /// The open lab in the tab's title (the self-test keeps its PASS/FAIL title).
    fn sync_title(&mut self, ctx: &egui::Context) {
        if self.selftest.is_some() || self.selftest_report.is_some() {
            return;
        }
        let lab = &self.labs[self.active];
        let title = if lab.id() == "home" {
            "paperlab".to_owned()
        } else {
            format!("paperlab · {}", lab.title())
        };
        if title != self.title_shown {
            platform::set_title(&title);
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title_shown = title;
        }
    }

    /// Keeps the address bar and the view in step. A fragment that changed behind our back (the
    /// user edited it, or pressed back/forward) is opened as a link; a change of settings
    /// replaces the history entry (one entry per visit, not one per slider move).
    fn sync_url(&mut self, ctx: &egui::Context) {
        let Some(in_url) = platform::location_fragment() else {
            return; // native: there is no address bar
        };
        if self.url_seen.as_deref() != Some(in_url.as_str()) {
            // The first look only records: the start-up link was opened in `new`.
            if self.url_seen.is_some() {
                self.open_link(&in_url);
                // This frame's lab was drawn with the old settings: draw the new ones now,
                // even if the lab is idle.
                ctx.request_repaint();
            }
            self.url_seen = Some(in_url);
        }
        let now = self.current_fragment();
        if self.url_seen.as_deref() != Some(now.as_str()) {
            // A different lab is a new page to the user: back returns to the previous lab.
            let lab_of = |fragment: &str| {
                parse_fragment(fragment)
                    .into_iter()
                    .find(|(k, _)| k == LAB_KEY)
                    .map(|(_, v)| v)
            };
            let seen_lab = self.url_seen.as_deref().and_then(lab_of);
            if seen_lab.is_some() && seen_lab.as_deref() != Some(self.active_lab_id()) {
                platform::push_fragment(&now);
            } else {
                platform::replace_fragment(&now);
            }
            self.url_seen = Some(now);
        }
    }

    /// Status for scripts and tests: the link's corrections and the open lab's figures.
    fn publish_statuses(&mut self, ctx: &egui::Context) {
        let corrections: Vec<String> = self.corrections.iter().map(ToString::to_string).collect();
        let link = serde_json::json!({
            "lab": self.active_lab_id(),
            "fragment": self.current_fragment(),
            "corrections": corrections,
            "shortcuts_open": self.show_shortcuts,
        })
        .to_string();
        let lab = &self.labs[self.active];
        let mut statuses = vec![("link".to_owned(), link)];
        let buttons = crate::export::button_centres(ctx);
        if !buttons.is_empty() {
            statuses.push((
                "ui".to_owned(),
                serde_json::json!({ "buttons": buttons }).to_string(),
            ));
        }
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
        let mut png_requested = false;
        let narrow = layout::is_narrow(ui.ctx());
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new("paperlab").strong().size(18.0));
                ui.separator();
                let mut clicked = None;
                if narrow {
                    // A phone has no room for tabs: a menu of labs, the actions in "⋯".
                    egui::ComboBox::from_id_salt("lab_menu")
                        .selected_text(self.labs[self.active].title())
                        .show_ui(ui, |ui| {
                            for (index, lab) in self.labs.iter().enumerate() {
                                if ui
                                    .selectable_label(index == self.active, lab.title())
                                    .clicked()
                                {
                                    clicked = Some(index);
                                }
                            }
                        });
                    ui.menu_button("⋯", |ui| self.actions_ui(ui, &mut png_requested));
                } else {
                    for (index, lab) in self.labs.iter().enumerate() {
                        let tab = ui
                            .selectable_label(index == self.active, lab.title())
                            .on_hover_text(lab.citation().text);
                        crate::export::remember_button(
                            ui.ctx(),
                            &format!("tab-{}", lab.id()),
                            tab.rect,
                        );
                        if tab.clicked() {
                            clicked = Some(index);
                        }
                    }
                    ui.separator();
                    self.actions_ui(ui, &mut png_requested);
                }
                if let Some(index) = clicked
                    && index != self.active
                {
                    self.active = index;
                    self.corrections.clear();
                }
                for message in [
                    self.notice.as_ref().map(|(t, _)| t.clone()),
                    crate::export::notice(ui.ctx()),
                ]
                .into_iter()
                .flatten()
                {
                    ui.label(egui::RichText::new(message).italics());
                    ui.ctx().request_repaint_after(Duration::from_millis(250));
                }
                if self
                    .notice
                    .as_ref()
                    .is_some_and(|(_, until)| ui.input(|i| i.time) >= *until)
                {
                    self.notice = None;
                }
            });
        });
        if png_requested {
            self.request_png(ui.ctx());
        }
    }

    /// The compute badge and the page actions: Copy link, PNG, theme.
    fn actions_ui(&mut self, ui: &mut egui::Ui, png_requested: &mut bool) {
        let badge_color = match self.compute {
            Compute::Gpu(_) => ui.visuals().hyperlink_color,
            Compute::CpuFallback { .. } => ui.visuals().warn_fg_color,
        };
        let badge = ui.label(egui::RichText::new(self.compute.short_badge()).color(badge_color));
        if let Compute::CpuFallback { reason } = &self.compute {
            badge.on_hover_text(format!("{}: {reason}", self.compute.badge()));
        }
        if ui
            .button("Copy link")
            .on_hover_text("Copy a link that reproduces this view, settings and seeds included.")
            .clicked()
        {
            let link = platform::shareable_link(&self.current_fragment());
            ui.ctx().copy_text(link);
            let now = ui.input(|i| i.time);
            self.notice = Some(("Link copied".to_owned(), now + NOTICE_SECONDS));
        }
        let png = ui.button("PNG").on_hover_text(
            "Save a picture of this view (a download on the web, a file in the working folder on the desktop)",
        );
        crate::export::remember_button(ui.ctx(), "png", png.rect);
        if png.clicked() {
            *png_requested = true;
        }
        theme_toggle_ui(ui);
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
        if !lab.has_header() {
            return;
        }
        let citation = lab.citation();
        let mut reset = false;
        let mut home = false;
        let mut keys = false;
        egui::Panel::top("lab_header").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                if ui
                    .small_button("← Home")
                    .on_hover_text("All labs, with what each lets you check")
                    .clicked()
                {
                    home = true;
                }
                ui.heading(lab.title());
                if layout::is_narrow(ui.ctx()) {
                    ui.hyperlink_to("paper ↗", citation.url)
                        .on_hover_text(citation.text);
                } else {
                    ui.hyperlink_to(citation.text, citation.url)
                        .on_hover_text("The paper this lab makes tangible");
                }
                if ui
                    .small_button("Reset to defaults")
                    .on_hover_text("Every setting of this lab back to its default")
                    .clicked()
                {
                    reset = true;
                }
                // Keys mean nothing on a phone; there the button would only take a line.
                if !layout::is_narrow(ui.ctx())
                    && ui
                        .small_button("⌨ ?")
                        .on_hover_text("Keyboard shortcuts: Space starts or pauses, R resets")
                        .clicked()
                {
                    keys = true;
                }
            });
        });
        if keys {
            self.show_shortcuts = !self.show_shortcuts;
        }
        if reset {
            lab.reset_settings();
        }
        if home {
            self.open_lab("home");
        }
    }

    /// Space and R go to the open lab where its current view gives them a meaning; `?` and Esc
    /// show and hide the list.
    fn handle_keys(&mut self, ctx: &egui::Context) {
        let keys = shortcuts::read(ctx);
        if let Some(action) = keys.lab {
            self.labs[self.active].shortcut(action, &self.compute);
            ctx.request_repaint();
        }
        if keys.toggle_help {
            self.show_shortcuts = !self.show_shortcuts;
        }
        if keys.close_help {
            self.show_shortcuts = false;
        }
    }

    /// Switches to the lab `id` (its settings kept); unknown ids are ignored.
    fn open_lab(&mut self, id: &str) {
        if let Some(index) = self.labs.iter().position(|lab| lab.id() == id) {
            self.active = index;
            self.corrections.clear();
        }
    }

    /// The PNG button's screenshot: asked for on click, saved when the integration delivers it.
    fn poll_screenshot(&mut self, ctx: &egui::Context) {
        let Some(slot) = &self.screenshot else {
            return;
        };
        let image = slot.lock().ok().and_then(|mut s| s.take());
        match image {
            Some(image) => {
                self.screenshot = None;
                let name = format!("paperlab-{}.png", self.active_lab_id());
                let outcome = crate::export::png_bytes(&image)
                    .and_then(|bytes| crate::export::save(&name, "image/png", &bytes));
                crate::export::set_notice(ctx, outcome);
            }
            None => ctx.request_repaint(),
        }
    }

    fn request_png(&mut self, ctx: &egui::Context) {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let target = std::sync::Arc::clone(&slot);
        ctx.request_screenshot(move |image| {
            if let Ok(mut s) = target.lock() {
                *s = Some(image);
            }
        });
        self.screenshot = Some(slot);
        ctx.request_repaint();
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
        let narrow = layout::is_narrow(ui.ctx());
        if self.narrow_style != Some(narrow) {
            layout::apply_touch_style(ui.ctx());
            self.narrow_style = Some(narrow);
        }
        self.poll_screenshot(ui.ctx());
        self.top_bar_ui(ui);
        self.corrections_ui(ui);
        self.lab_header_ui(ui);
        self.selftest_ui(ui);
        self.handle_keys(ui.ctx());
        let navigate = std::cell::Cell::new(None);
        let env = LabEnv {
            compute: &self.compute,
            work_budget: WORK_BUDGET,
            cards: &self.cards,
            navigate: &navigate,
        };
        egui::CentralPanel::default().show(ui, |ui| {
            self.labs[self.active].ui(ui, &env);
        });
        if self.show_shortcuts {
            let lab = &self.labs[self.active];
            let (title, labels) = (lab.title(), lab.shortcut_labels());
            shortcuts::help_window(ui.ctx(), &mut self.show_shortcuts, title, labels);
        }
        if let Some(id) = navigate.get() {
            self.open_lab(id);
            ui.ctx().request_repaint();
        }
        let lab = &self.labs[self.active];
        if self.selftest.is_some() {
            ui.ctx().request_repaint();
        } else if lab.is_busy() {
            let interval = lab.busy_redraw_interval();
            if interval.is_zero() {
                ui.ctx().request_repaint();
            } else {
                ui.ctx().request_repaint_after(interval);
            }
        }
        self.sync_url(ui.ctx());
        self.sync_title(ui.ctx());
        self.publish_statuses(ui.ctx());
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
                compute_on_cpu: false,
            },
        )
    }

    #[test]
    fn space_and_r_drive_the_open_labs_job() {
        let mut app = app("#lab=gfn");
        let lab = &mut app.labs[app.active];
        assert!(lab.shortcut_labels().start_pause.is_some());
        lab.shortcut(crate::labs::Shortcut::StartPause, &app.compute);
        assert!(app.current_fragment().contains("train=true"));
        // In a view where Space means nothing, it changes nothing.
        let mut app = self::app("#lab=bandits&view=regret");
        let before = app.current_fragment();
        let lab = &mut app.labs[app.active];
        assert_eq!(
            lab.shortcut_labels(),
            crate::labs::ShortcutLabels::default()
        );
        lab.shortcut(crate::labs::Shortcut::StartPause, &app.compute);
        assert_eq!(app.current_fragment(), before);
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
        let app = app("#lab=device&rows=-1&cols=abc&x=1");
        assert_eq!(app.active_lab_id(), "device");
        let keys: Vec<&str> = app.corrections().iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["rows", "cols", "x"]);
        assert!(app.current_fragment().contains("rows=4096"));
        // An unknown lab opens the home page, its other keys reported as unknown there.
        let app = super::tests::app("#lab=nope&rows=5");
        assert_eq!(app.active_lab_id(), "home");
        let keys: Vec<&str> = app.corrections().iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["lab", "rows"]);
    }

    #[test]
    fn an_empty_link_opens_the_home_page() {
        let app = app("");
        assert!(app.corrections().is_empty());
        assert_eq!(app.current_fragment(), "#lab=home");
    }

    #[test]
    fn every_lab_but_home_has_a_card() {
        let app = app("");
        let ids: Vec<&str> = app.cards.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            ["device", "gfn", "bandits", "fairness", "quant", "mam"]
        );
    }
}
