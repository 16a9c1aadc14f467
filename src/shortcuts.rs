//! The page's keyboard shortcuts: Space and R go to the open lab ([`crate::labs::Shortcut`]),
//! `?` shows or hides the list of what they do there, Esc closes it.

use crate::labs::{Shortcut, ShortcutLabels};

/// The keys pressed this frame that the shell acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyPresses {
    pub lab: Option<Shortcut>,
    pub toggle_help: bool,
    pub close_help: bool,
}

/// Reads (and consumes) the shortcut keys, unless the user is typing: a focused text field
/// keeps every key. Space also stays with any other focused widget, where egui uses it to
/// click that widget.
pub fn read(ctx: &egui::Context) -> KeyPresses {
    if ctx.text_edit_focused() {
        return KeyPresses::default();
    }
    let widget_focused = ctx.egui_wants_keyboard_input();
    ctx.input_mut(|input| {
        let no_modifier = egui::Modifiers::NONE;
        let space = !widget_focused && input.consume_key(no_modifier, egui::Key::Space);
        let reset = input.consume_key(no_modifier, egui::Key::R);
        KeyPresses {
            lab: if space {
                Some(Shortcut::StartPause)
            } else if reset {
                Some(Shortcut::Reset)
            } else {
                None
            },
            toggle_help: input.key_pressed(egui::Key::Questionmark),
            close_help: input.key_pressed(egui::Key::Escape),
        }
    })
}

/// The shortcut list for the open lab, as a small window; `open` is cleared by its close
/// button.
pub fn help_window(ctx: &egui::Context, open: &mut bool, lab_title: &str, labels: ShortcutLabels) {
    let nothing = "nothing in this view";
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.label(format!("In {lab_title}:"));
            egui::Grid::new("shortcut_rows")
                .num_columns(2)
                .spacing([16.0, 6.0])
                .show(ui, |ui| {
                    let rows = [
                        ("Space", labels.start_pause.unwrap_or(nothing)),
                        ("R", labels.reset.unwrap_or(nothing)),
                        ("?", "show or hide this list"),
                        ("Esc", "close it"),
                    ];
                    for (key, action) in rows {
                        ui.monospace(key);
                        ui.label(action);
                        ui.end_row();
                    }
                });
            ui.small("Keys are ignored while a text field has the focus.");
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: egui::Key, modifiers: egui::Modifiers) -> egui::Event {
        egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers,
        }
    }

    /// One frame with `events`; `typing` puts a focused text field on the page first.
    fn presses(events: Vec<egui::Event>, typing: bool) -> KeyPresses {
        let ctx = egui::Context::default();
        let mut text = String::new();
        let mut got = KeyPresses::default();
        // Frame 1 lays out (and focuses) the text field; frame 2 delivers the keys.
        for frame_events in [Vec::new(), events] {
            let input = egui::RawInput {
                events: frame_events,
                ..Default::default()
            };
            let mut output = ctx.run_ui(input, |ui| {
                if typing {
                    let response = ui.text_edit_singleline(&mut text);
                    response.request_focus();
                }
                got = read(ui.ctx());
            });
            // No renderer takes the font texture here; debug builds insist it is handled.
            output.textures_delta.clear();
        }
        got
    }

    #[test]
    fn space_r_and_question_mark_reach_the_shell() {
        let none = egui::Modifiers::NONE;
        let space = presses(vec![key(egui::Key::Space, none)], false);
        assert_eq!(space.lab, Some(Shortcut::StartPause));
        let reset = presses(vec![key(egui::Key::R, none)], false);
        assert_eq!(reset.lab, Some(Shortcut::Reset));
        let help = presses(
            vec![key(egui::Key::Questionmark, egui::Modifiers::SHIFT)],
            false,
        );
        assert!(help.toggle_help && help.lab.is_none());
        // Ctrl+R is the browser's reload, not the lab's reset.
        let reload = presses(vec![key(egui::Key::R, egui::Modifiers::CTRL)], false);
        assert_eq!(reload.lab, None);
    }

    #[test]
    fn a_focused_text_field_keeps_every_key() {
        let none = egui::Modifiers::NONE;
        let typed = presses(
            vec![
                key(egui::Key::Space, none),
                key(egui::Key::R, none),
                key(egui::Key::Questionmark, egui::Modifiers::SHIFT),
            ],
            true,
        );
        assert_eq!(typed, KeyPresses::default());
    }
}
