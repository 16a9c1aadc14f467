//! The page layout every lab shares: controls in a left panel on wide screens; below
//! [`NARROW_WIDTH`] (phones) the controls fold into a collapsible section above the results,
//! which then take the full width.

/// Below this width in points the layout is the narrow one.
pub const NARROW_WIDTH: f32 = 700.0;

pub fn is_narrow(ctx: &egui::Context) -> bool {
    ctx.content_rect().width() < NARROW_WIDTH
}

/// Which part of the page a lab is asked to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Controls,
    Results,
}

/// Draws a lab page: `draw` is called once for the controls and once for the results.
pub fn lab_page(ui: &mut egui::Ui, id: &str, mut draw: impl FnMut(&mut egui::Ui, Part)) {
    if is_narrow(ui.ctx()) {
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt((id, "narrow"))
                .show(ui, |ui| {
                    egui::CollapsingHeader::new("Controls")
                        .id_salt((id, "controls"))
                        .default_open(false)
                        .show(ui, |ui| draw(ui, Part::Controls));
                    ui.separator();
                    draw(ui, Part::Results);
                });
        });
        return;
    }
    egui::Panel::left(format!("{id}_controls"))
        .resizable(false)
        .default_size(310.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| draw(ui, Part::Controls));
        });
    egui::CentralPanel::default().show(ui, |ui| draw(ui, Part::Results));
}

/// Touch-friendly sizes on narrow screens (large hit areas), the defaults otherwise.
pub fn apply_touch_style(ctx: &egui::Context) {
    let narrow = is_narrow(ctx);
    ctx.all_styles_mut(|style| {
        let (height, slider) = if narrow { (32.0, 160.0) } else { (18.0, 100.0) };
        style.spacing.interact_size.y = height;
        style.spacing.slider_width = slider;
    });
}
