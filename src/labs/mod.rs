//! The labs. Each lab is one struct behind the [`Lab`] trait, in its own folder; the shell knows
//! nothing of their insides. Adding a lab: its folder plus one line in [`all_labs`].

pub mod bandits;
pub mod device;
pub mod fairness;
pub mod gflownet;
pub mod home;
pub mod layout;
pub mod mam;
pub mod quant;

use crate::gpu::Compute;
use crate::selftest::Check;
use crate::share::{Correction, Pairs};

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

pub trait Lab {
    /// Stable id used in links (`#lab=<id>`).
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn citation(&self) -> Citation;

    /// The user-settable state as link pairs (see [`crate::share`]).
    fn settings_pairs(&self) -> Pairs;
    /// Restores settings from untrusted link pairs; returns what had to be corrected.
    fn restore_settings(&mut self, pairs: &[(String, String)]) -> Vec<Correction>;
    fn reset_settings(&mut self);

    /// Draws the lab and advances its background work by at most `env.work_budget`.
    fn ui(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>);

    /// Whether background work is in progress (the shell keeps repainting while it is).
    fn is_busy(&self) -> bool {
        false
    }

    /// A small JSON status (e.g. the latest figures) published for scripts and browser tests;
    /// `None` when there is nothing to say.
    fn status_json(&self) -> Option<String> {
        None
    }

    /// The lab's card on the home page; `None` for the home page itself.
    fn card(&self) -> Option<LabCard> {
        None
    }

    /// Whether the shell shows the title, citation and reset bar above the lab.
    fn has_header(&self) -> bool {
        true
    }

    /// Self-test entries for this lab's kernels (GPU vs reference).
    fn kernel_checks(&self) -> Vec<Box<dyn Check>> {
        Vec::new()
    }
}

/// Every lab, in menu order. The first one is opened by a link without `lab=`.
pub fn all_labs() -> Vec<Box<dyn Lab>> {
    vec![
        Box::new(home::HomeLab),
        Box::new(device::DeviceLab::default()),
        Box::new(gflownet::GfnLab::default()),
        Box::new(bandits::BanditLab::default()),
        Box::new(fairness::FairnessLab::default()),
        Box::new(quant::QuantLab::default()),
        Box::new(mam::MamLab::default()),
    ]
}
