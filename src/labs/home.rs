//! The home page (`#lab=home`, the default): what paperlab is, the compute badge, and one card
//! per lab with its paper, a claim to check, a thumbnail and a link in.

use super::{CardInfo, Citation, LabEnv, LabPage, layout};

/// The home page has no settings (a unit settings type): every key of a link to it is
/// reported as unknown.
#[derive(Default)]
pub struct HomeLab {
    settings: (),
}

impl LabPage for HomeLab {
    type Settings = ();
    const ID: &'static str = "home";
    const TITLE: &'static str = "Home";
    const CITATION: Citation = Citation {
        text: "paperlab: recent ML and decision-science papers made tangible",
        url: "./",
    };
    const HAS_HEADER: bool = false;

    fn settings(&self) -> &() {
        &self.settings
    }

    fn settings_mut(&mut self) -> &mut () {
        &mut self.settings
    }

    fn frame(&mut self, ui: &mut egui::Ui, env: &LabEnv<'_>) {
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| home_ui(ui, env));
        });
    }

    fn status_json(&self) -> Option<String> {
        Some(serde_json::json!({"home": true}).to_string())
    }
}

fn home_ui(ui: &mut egui::Ui, env: &LabEnv<'_>) {
    ui.heading("paperlab: papers you can poke");
    ui.label(
        "Each lab runs a recent paper's algorithm live in this page, on your GPU through WebGPU \
         compute shaders where the work is parallel (every kernel is checked against a plain \
         reference, which is also what runs without WebGPU). Move a slider and the result \
         follows; Copy link gives a link that reproduces exactly what you see, seeds included.",
    );
    ui.label(format!("Computing on: {}", env.compute.badge()));
    ui.add_space(8.0);
    let columns = if layout::is_narrow(ui.ctx()) { 1 } else { 2 };
    ui.columns(columns, |cols| {
        for (i, info) in env.cards.iter().enumerate() {
            let ui = &mut cols[i % columns];
            card_ui(ui, info, env);
            ui.add_space(12.0);
        }
    });
}

fn card_ui(ui: &mut egui::Ui, info: &CardInfo, env: &LabEnv<'_>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            let (rect, response) =
                ui.allocate_exact_size(egui::vec2(96.0, 72.0), egui::Sense::click());
            (info.card.thumbnail)(ui.painter(), rect);
            if response
                .on_hover_text(format!("Open {}", info.title))
                .clicked()
            {
                env.navigate.set(Some(info.id));
            }
            ui.vertical(|ui| {
                ui.label(egui::RichText::new(info.title).heading());
                ui.label(info.card.claim);
            });
        });
        ui.add(egui::Hyperlink::from_label_and_url(
            egui::RichText::new(info.citation.text).small(),
            info.citation.url,
        ))
        .on_hover_text("The paper");
        if ui
            .button(format!("Open the {} lab →", info.title))
            .clicked()
        {
            env.navigate.set(Some(info.id));
        }
    });
}
