//! Page controls built from setting definitions (`share::setting`): the slider's range, scale
//! and label, and its tooltip (help, range, default, link key and CLI flag), so that the page,
//! the link and the CLI read one definition.

use egui::emath::Numeric;

use crate::share::setting::Bounded;
use crate::share::{Described, Flag, Setting};

/// The label a control shows: "memory m (rounds)".
fn label_of<T>(setting: &Setting<T>) -> String {
    if setting.unit.is_empty() {
        setting.label.to_owned()
    } else {
        format!("{} ({})", setting.label, setting.unit)
    }
}

/// The tooltip of any setting: its help, then its range, default, link key and CLI flag.
pub fn tooltip(setting: &dyn Described) -> String {
    format!(
        "{}\n{} · default {} · link {}= · CLI --{}",
        setting.help_text(),
        setting.value_hint(),
        setting.default_text(),
        setting.key(),
        setting.flag_name()
    )
}

/// The slider of a numeric setting (range, scale and label from its definition), for a caller
/// that adds display options (`fixed_decimals`, `smallest_positive`) before [`add`]. A value
/// off the setting's grid (multiples of 64) is snapped by the page's change hook.
pub fn slider<'a, T: Bounded + Numeric>(
    value: &'a mut T,
    setting: &Setting<T>,
) -> egui::Slider<'a> {
    egui::Slider::new(value, setting.min..=setting.max)
        .logarithmic(setting.log)
        .text(label_of(setting))
}

/// Adds a control with its setting's tooltip.
pub fn add(
    ui: &mut egui::Ui,
    widget: impl egui::Widget,
    setting: &dyn Described,
) -> egui::Response {
    ui.add(widget).on_hover_text(tooltip(setting))
}

/// A numeric setting's slider with its tooltip: the common case.
pub fn number<T: Bounded + Numeric>(
    ui: &mut egui::Ui,
    value: &mut T,
    setting: &Setting<T>,
) -> egui::Response {
    add(ui, slider(value, setting), setting)
}

/// A seed or another unbounded integer: a drag value with the label before it.
pub fn drag<T: Bounded + Numeric>(
    ui: &mut egui::Ui,
    value: &mut T,
    setting: &Setting<T>,
) -> egui::Response {
    let widget = egui::DragValue::new(value)
        .range(setting.min..=setting.max)
        .prefix(format!("{} ", label_of(setting)));
    add(ui, widget, setting)
}

/// An on/off setting's checkbox with its tooltip.
pub fn checkbox(ui: &mut egui::Ui, value: &mut bool, setting: &Flag) -> egui::Response {
    ui.checkbox(value, setting.label)
        .on_hover_text(tooltip(setting))
}
