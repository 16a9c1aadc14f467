//! The labs. Each lab is one struct implementing [`LabPage`], in its own folder; the shell knows
//! nothing of their insides. Adding a lab: its folder plus one line in [`REGISTRY`].

pub mod bandits;
pub mod controls;
pub mod device;
pub mod fairness;
pub mod gflownet;
pub mod home;
pub mod layout;
pub mod mam;
pub mod quant;

use crate::gpu::Compute;
use crate::selftest::Check;
use crate::share::{self, Correction, Pairs, Settings};

/// The paper (or standard) a lab makes tangible.
#[derive(Clone, Copy, Debug)]
pub struct Citation {
    pub text: &'static str,
    pub url: &'static str,
}

/// A lab's card on the home page.
#[derive(Clone, Copy)]
pub struct LabCard {
    /// One sentence the lab lets a user check for themselves.
    pub claim: &'static str,
    /// Draws a small picture of the lab into a rectangle.
    pub thumbnail: fn(&egui::Painter, egui::Rect),
}

/// What the home page shows about one lab.
#[derive(Clone, Copy)]
pub struct CardInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub citation: Citation,
    pub card: LabCard,
}

/// A keyboard shortcut the shell forwards to the open lab (Space, R).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    /// Space: start or pause the lab's job in the current view.
    StartPause,
    /// R: reset that job.
    Reset,
}

/// What Space and R do in a lab's current view, for the shortcut list (`None`: nothing there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShortcutLabels {
    pub start_pause: Option<&'static str>,
    pub reset: Option<&'static str>,
}

impl ShortcutLabels {
    pub fn get(&self, action: Shortcut) -> Option<&'static str> {
        match action {
            Shortcut::StartPause => self.start_pause,
            Shortcut::Reset => self.reset,
        }
    }
}

/// What the shell lends a lab for one frame.
pub struct LabEnv<'a> {
    pub compute: &'a Compute,
    /// CPU time the lab may spend on background work this frame (training, benchmarks).
    pub work_budget: web_time::Duration,
    /// Every other lab's card (for the home page).
    pub cards: &'a [CardInfo],
    /// A lab id to open next frame (set by the home page's cards).
    pub navigate: &'a std::cell::Cell<Option<&'static str>>,
}

impl LabEnv<'_> {
    /// CPU time for a lab whose background work is heavy (solving, quantizing): about half of
    /// the last frame — more than the shell's budget where drawing itself is slow (software
    /// rendering) — but at least the shell's budget and at most `max_s`, so frames stay short.
    pub fn half_frame_budget(&self, ctx: &egui::Context, max_s: f32) -> web_time::Duration {
        let last_frame_s = ctx.input(|i| i.unstable_dt);
        let half_frame = web_time::Duration::from_secs_f32((0.5 * last_frame_s).clamp(0.0, max_s));
        self.work_budget.max(half_frame)
    }
}

/// A lab page, typed: its settings struct, its identity and its frame. Each lab writes only its
/// own logic; encoding, decoding, replacing and resetting the settings, and re-checking them
/// after the page changed them, are written once in the blanket [`Lab`] impl below (modelled on
/// rerun's `SpaceViewClass` / `DynSpaceViewClass`).
pub trait LabPage: Default + 'static {
    /// Everything a user can set; the link is its serialisation.
    type Settings: Settings;
    /// Stable id used in links (`#lab=<id>`).
    const ID: &'static str;
    const TITLE: &'static str;
    const CITATION: Citation;
    /// The lab's card on the home page; `None` for the home page itself.
    const CARD: Option<LabCard> = None;
    /// Whether the shell shows the title, citation and reset bar above the lab.
    const HAS_HEADER: bool = true;

    fn settings(&self) -> &Self::Settings;
    fn settings_mut(&mut self) -> &mut Self::Settings;

    /// The settings were replaced as a whole (a link, a reset) by different ones.
    fn settings_replaced(&mut self, _previous: &Self::Settings) {}

    /// Draws the lab and advances its background work by at most `env.work_budget`.
    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>);

    /// Whether background work is in progress (the shell keeps repainting while it is).
    fn is_busy(&self) -> bool {
        false
    }

    /// How soon the shell redraws while the lab is busy: zero (every frame) where the frames
    /// themselves advance the work; longer where workers do it and a frame only shows their
    /// news, which leaves the CPU to the workers and keeps the page's own tasks short.
    fn busy_redraw_interval(&self) -> web_time::Duration {
        web_time::Duration::ZERO
    }

    /// A small JSON status (e.g. the latest figures) published for scripts and browser tests.
    fn status_json(&self) -> Option<String> {
        None
    }

    /// What Space and R do in the current view (the `?` list shows it).
    fn shortcut_labels(&self) -> ShortcutLabels {
        ShortcutLabels::default()
    }

    /// Space or R was pressed; called only when [`Self::shortcut_labels`] names the action.
    fn shortcut(&mut self, _action: Shortcut, _compute: &Compute) {}

    /// Self-test entries for this lab's kernels (GPU vs reference).
    fn kernel_checks() -> Vec<Box<dyn Check>> {
        Vec::new()
    }

    /// The lab's command-line commands (`paperlab gfn train`, `paperlab bench gfn`).
    #[cfg(not(target_arch = "wasm32"))]
    fn commands() -> Vec<crate::command::LabCommand> {
        Vec::new()
    }

    /// The lab's long CPU jobs (training, sweeps), which the page runs in a Web Worker; the
    /// worker finds them here by name (`crate::jobs`).
    fn jobs() -> Vec<crate::jobs::JobKind> {
        Vec::new()
    }
}

/// A lab as the shell holds it (object-safe); every [`LabPage`] is one.
pub trait Lab {
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn citation(&self) -> Citation;
    fn card(&self) -> Option<LabCard>;
    fn has_header(&self) -> bool;
    /// The user-settable state as link pairs (see [`crate::share`]).
    fn settings_pairs(&self) -> Pairs;
    /// Replaces the settings by those of untrusted link pairs (missing keys take defaults);
    /// returns what had to be corrected.
    fn restore_settings(&mut self, pairs: &[(String, String)]) -> Vec<Correction>;
    fn reset_settings(&mut self);
    fn ui(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>);
    fn is_busy(&self) -> bool;
    fn busy_redraw_interval(&self) -> web_time::Duration;
    fn status_json(&self) -> Option<String>;
    fn shortcut_labels(&self) -> ShortcutLabels;
    fn shortcut(&mut self, action: Shortcut, compute: &Compute);
}

impl<P: LabPage> Lab for P {
    fn id(&self) -> &'static str {
        P::ID
    }

    fn title(&self) -> &'static str {
        P::TITLE
    }

    fn citation(&self) -> Citation {
        P::CITATION
    }

    fn card(&self) -> Option<LabCard> {
        P::CARD
    }

    fn has_header(&self) -> bool {
        P::HAS_HEADER
    }

    fn settings_pairs(&self) -> Pairs {
        share::encode(self.settings())
    }

    fn restore_settings(&mut self, pairs: &[(String, String)]) -> Vec<Correction> {
        let (settings, corrections) = share::decode::<P::Settings>(pairs);
        replace_settings(self, settings);
        corrections
    }

    fn reset_settings(&mut self) {
        replace_settings(self, P::Settings::default());
    }

    fn ui(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        let before = self.settings().clone();
        self.frame(ui, env);
        // The change hook: whatever the page changed goes through the link's rules again.
        if *self.settings() != before {
            share::revalidate(self.settings_mut());
        }
    }

    fn is_busy(&self) -> bool {
        LabPage::is_busy(self)
    }

    fn busy_redraw_interval(&self) -> web_time::Duration {
        LabPage::busy_redraw_interval(self)
    }

    fn status_json(&self) -> Option<String> {
        LabPage::status_json(self)
    }

    fn shortcut_labels(&self) -> ShortcutLabels {
        LabPage::shortcut_labels(self)
    }

    fn shortcut(&mut self, action: Shortcut, compute: &Compute) {
        if LabPage::shortcut_labels(self).get(action).is_some() {
            let before = self.settings().clone();
            LabPage::shortcut(self, action, compute);
            if *self.settings() != before {
                share::revalidate(self.settings_mut());
            }
        }
    }
}

fn replace_settings<P: LabPage>(lab: &mut P, settings: P::Settings) {
    if *lab.settings() != settings {
        let previous = std::mem::replace(lab.settings_mut(), settings);
        lab.settings_replaced(&previous);
    }
}

/// One line of the registry: what the shell, the self-test and the CLI need of a lab, without
/// building it.
pub struct LabEntry {
    pub id: &'static str,
    pub title: &'static str,
    pub make: fn() -> Box<dyn Lab>,
    pub kernel_checks: fn() -> Vec<Box<dyn Check>>,
    #[cfg(not(target_arch = "wasm32"))]
    pub commands: fn() -> Vec<crate::command::LabCommand>,
}

fn make<P: LabPage>() -> Box<dyn Lab> {
    Box::new(P::default())
}

const fn entry<P: LabPage>() -> LabEntry {
    LabEntry {
        id: P::ID,
        title: P::TITLE,
        make: make::<P>,
        kernel_checks: P::kernel_checks,
        #[cfg(not(target_arch = "wasm32"))]
        commands: P::commands,
    }
}

/// The one list of labs, in menu order, made into [`REGISTRY`] and into each lab's jobs
/// ([`all_jobs`]). The jobs are a list of their own because the page's Web Worker links only
/// them: a reference to the registry would bring every page, kernel and command into the
/// worker's module.
macro_rules! labs {
    ($($lab:ty),* $(,)?) => {
        /// Every lab, in menu order: adding a lab is its folder plus one line in `labs!`. The
        /// first one is opened by a link without `lab=`.
        pub const REGISTRY: &[LabEntry] = &[$(entry::<$lab>()),*];
        const JOBS: &[fn() -> Vec<crate::jobs::JobKind>] = &[$(<$lab as LabPage>::jobs),*];
    };
}

labs!(
    home::HomeLab,
    device::DeviceLab,
    gflownet::GfnLab,
    bandits::BanditLab,
    fairness::FairnessLab,
    quant::QuantLab,
    mam::MamLab,
);

/// Every lab, built, in menu order.
pub fn all_labs() -> Vec<Box<dyn Lab>> {
    REGISTRY.iter().map(|entry| (entry.make)()).collect()
}

/// Every lab's kernel checks: the self-test.
pub fn all_checks() -> Vec<Box<dyn Check>> {
    REGISTRY
        .iter()
        .flat_map(|entry| (entry.kernel_checks)())
        .collect()
}

/// Every lab's command-line commands.
#[cfg(not(target_arch = "wasm32"))]
pub fn all_commands() -> Vec<crate::command::LabCommand> {
    REGISTRY
        .iter()
        .flat_map(|entry| (entry.commands)())
        .collect()
}

/// Every lab's background jobs: what the page's Web Worker can run.
pub fn all_jobs() -> Vec<crate::jobs::JobKind> {
    JOBS.iter().flat_map(|jobs| jobs()).collect()
}
