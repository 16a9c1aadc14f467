//! Export of what the user sees: every plot's series as CSV, the whole view as PNG. On the web
//! a file downloads; on the desktop it is written to the working folder and the shell says where.

use egui::Id;

/// The last export's message ("saved plot.csv to ..."), shown by the shell.
const NOTICE_ID: &str = "export_notice";
/// Centres of named buttons drawn this session (the last CSV button, PNG, lab tabs), published
/// for browser tests, which click the canvas where a user would.
const BUTTONS_ID: &str = "ui_buttons";

/// Remembers where the button `name` is drawn.
pub fn remember_button(ctx: &egui::Context, name: &str, rect: egui::Rect) {
    let centre = rect.center();
    ctx.data_mut(|d| {
        let map: &mut std::collections::BTreeMap<String, [f32; 2]> =
            d.get_temp_mut_or_default(Id::unique(BUTTONS_ID));
        map.insert(name.to_owned(), [centre.x, centre.y]);
    });
}

/// Every remembered button centre, by name.
pub fn button_centres(ctx: &egui::Context) -> std::collections::BTreeMap<String, [f32; 2]> {
    ctx.data(|d| d.get_temp(Id::unique(BUTTONS_ID)))
        .unwrap_or_default()
}

/// CSV text: a header naming each column (with its unit) and one line per row (RFC 4180 via
/// the `csv` crate: a name holding a comma, a quote or a line break is quoted). Non-finite
/// values are written empty rather than as "NaN".
pub fn csv_text(columns: &[&str], rows: &[Vec<f64>]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut written = writer.write_record(columns);
    for row in rows {
        if written.is_err() {
            break;
        }
        written = writer.write_record(row.iter().map(|v| {
            if v.is_finite() {
                format!("{v}")
            } else {
                String::new()
            }
        }));
    }
    // Writing into memory cannot fail; an error would only drop the rest of the rows.
    if let Err(e) = written {
        log::error!("csv export: {e}");
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Hands `bytes` to the user as `filename`: a download on the web, a file in the working folder
/// natively. Returns the message to show.
pub fn save(filename: &str, mime: &str, bytes: &[u8]) -> Result<String, String> {
    crate::platform::download(filename, mime, bytes)
}

/// A small "CSV" button under a plot: `rows` is called only when clicked.
pub fn csv_button(
    ui: &mut egui::Ui,
    filename: &str,
    columns: &[&str],
    rows: impl FnOnce() -> Vec<Vec<f64>>,
) {
    let response = ui.small_button("⬇ CSV").on_hover_text(format!(
        "Download the plotted series as {filename} (columns: {})",
        columns.join(", ")
    ));
    remember_button(ui.ctx(), "csv", response.rect);
    if response.clicked() {
        let text = csv_text(columns, &rows());
        set_notice(ui.ctx(), save(filename, "text/csv", text.as_bytes()));
    }
}

pub fn set_notice(ctx: &egui::Context, outcome: Result<String, String>) {
    let message = outcome.unwrap_or_else(|e| format!("export failed: {e}"));
    let until = ctx.input(|i| i.time) + 4.0;
    ctx.data_mut(|d| d.insert_temp(Id::unique(NOTICE_ID), (message, until)));
}

/// The current export notice, if it has not expired.
pub fn notice(ctx: &egui::Context) -> Option<String> {
    let (message, until): (String, f64) = ctx.data(|d| d.get_temp(Id::unique(NOTICE_ID)))?;
    (ctx.input(|i| i.time) < until).then_some(message)
}

/// PNG bytes of a screenshot.
pub fn png_bytes(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = image.size;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
        writer.write_image_data(&rgba).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_blank_non_finite_cells() {
        let text = csv_text(
            &["t (rounds)", "cpr"],
            &[vec![1.0, 2.5], vec![2.0, f64::NAN]],
        );
        assert_eq!(text, "t (rounds),cpr\n1,2.5\n2,\n");
    }

    #[test]
    fn csv_quotes_names_with_commas_quotes_and_line_breaks() {
        let text = csv_text(
            &[
                "eps_global (bits)",
                "P(Y = 1 | Z, S)",
                "the \"best\" accuracy",
                "a\nb",
            ],
            &[vec![0.5, 0.25, 1.0, 2.0]],
        );
        assert_eq!(
            text,
            "eps_global (bits),\"P(Y = 1 | Z, S)\",\"the \"\"best\"\" accuracy\",\"a\nb\"\n0.5,0.25,1,2\n"
        );
        // A spreadsheet reader gets the names back.
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header[1], "P(Y = 1 | Z, S)");
        assert_eq!(header[2], "the \"best\" accuracy");
    }

    #[test]
    fn png_round_trips_its_size() {
        let image = egui::ColorImage::filled([3, 2], egui::Color32::RED);
        let bytes = png_bytes(&image).expect("encodes");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), (3, 2));
    }
}
