//! Probability tables from CSV text: a header naming the variables plus a final column `p`,
//! one row per outcome. Values are arbitrary tokens; probabilities must be >= 0 and sum to 1
//! within 1e-6.

/// A parsed table: variable names, each row's tokens, and its probability.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub rows: Vec<(Vec<String>, f64)>,
}

/// Parses CSV as spreadsheets write it (the `csv` crate): quoted fields (with commas and
/// doubled quotes inside), CRLF line ends, blank lines, a UTF-8 byte-order mark (Excel's
/// "CSV UTF-8"); fields are trimmed.
pub fn parse(text: &str) -> Result<Table, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records().filter(|r| {
        // Blank lines (a lone empty field) are skipped, as a reader of the file would.
        !matches!(r, Ok(record) if record.iter().all(str::is_empty))
    });
    let header = match records.next() {
        None => return Err("the file is empty".to_owned()),
        Some(Err(e)) => return Err(format!("the header: {e}")),
        Some(Ok(header)) => header,
    };
    let mut names: Vec<String> = header.iter().map(str::to_owned).collect();
    if names.last().map(String::as_str) != Some("p") {
        return Err(format!(
            "the header '{}' must end with a column named p",
            names.join(",")
        ));
    }
    names.pop();
    if names.is_empty() {
        return Err("the header names no variables before p".to_owned());
    }
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(format!("column {} of the header has no name", i + 1));
        }
        if names[..i].contains(n) {
            return Err(format!("column '{n}' appears twice in the header"));
        }
    }
    let mut rows = Vec::new();
    let mut total = 0.0;
    for record in records {
        let record = record.map_err(|e| format!("{e}"))?;
        // The line in the file (csv's own count skips blank lines): from the byte offset,
        // which points before any blank lines the reader skipped.
        let line_no = record.position().map_or(0, |at| {
            let bytes = text.as_bytes();
            let mut start = usize::try_from(at.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
            while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
                start += 1;
            }
            bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1
        });
        let cells: Vec<&str> = record.iter().collect();
        if cells.len() != names.len() + 1 {
            return Err(format!(
                "line {line_no}: {} fields, the header has {}",
                cells.len(),
                names.len() + 1
            ));
        }
        let p_text = cells[names.len()];
        let p: f64 = match p_text.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => p,
            _ => {
                return Err(format!(
                    "line {line_no}: p = '{p_text}' is not a number >= 0"
                ));
            }
        };
        total += p;
        rows.push((
            cells[..names.len()]
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            p,
        ));
    }
    if rows.is_empty() {
        return Err("the table has no rows".to_owned());
    }
    if (total - 1.0).abs() > 1e-6 {
        return Err(format!(
            "the probabilities sum to {total}, not 1 (within 1e-6)"
        ));
    }
    for row in &mut rows {
        row.1 /= total;
    }
    Ok(Table { names, rows })
}

impl Table {
    pub fn column(&self, name: &str) -> Result<usize, String> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("no column '{name}' (columns: {})", self.names.join(", ")))
    }

    /// The distinct tokens of a column, in order of first appearance.
    pub fn alphabet(&self, column: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (cells, _) in &self.rows {
            if !out.contains(&cells[column]) {
                out.push(cells[column].clone());
            }
        }
        out
    }
}

/// P(T, A, B) from a table, other columns summed out.
pub fn joint3(table: &Table, columns: [&str; 3]) -> Result<super::info::Joint3, String> {
    let idx = [
        table.column(columns[0])?,
        table.column(columns[1])?,
        table.column(columns[2])?,
    ];
    if idx[0] == idx[1] || idx[0] == idx[2] || idx[1] == idx[2] {
        return Err("the target and the two sources must be three different columns".to_owned());
    }
    let alphabets = idx.map(|c| table.alphabet(c));
    let mut p =
        super::info::Joint3::zeros([alphabets[0].len(), alphabets[1].len(), alphabets[2].len()]);
    for (cells, mass) in &table.rows {
        let pos = |k: usize| {
            alphabets[k]
                .iter()
                .position(|v| *v == cells[idx[k]])
                .unwrap_or(0)
        };
        p.add(pos(0), pos(1), pos(2), *mass);
    }
    Ok(p)
}

/// P(S, Z, Y) from a table with columns s, z, y (z and y 0/1; s any tokens, up to 8 clients)
/// and optionally yhat (a model's predictions, summed out here).
pub fn client_data(table: &Table) -> Result<super::aglfop::Data, String> {
    client_tables(table).map(|(data, _)| data)
}

/// P(S, Z, Y), and with a yhat column (0/1) the model's joint P(S, Z, Y, Yhat) laid out as
/// `aglfop::Data::with_predictions` lays it out.
pub fn client_tables(table: &Table) -> Result<(super::aglfop::Data, Option<Vec<f64>>), String> {
    let (s, z, y) = (table.column("s")?, table.column("z")?, table.column("y")?);
    let yhat = table.column("yhat").ok();
    if table.names.len() != 3 + usize::from(yhat.is_some()) {
        return Err(format!(
            "expected columns s, z, y, p (and optionally yhat); got {}, p",
            table.names.join(", ")
        ));
    }
    let clients = table.alphabet(s);
    if clients.len() > super::aglfop::MAX_CLIENTS {
        return Err(format!(
            "{} clients: at most {}",
            clients.len(),
            super::aglfop::MAX_CLIENTS
        ));
    }
    let bit = |text: &str, name: &str| match text {
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(format!("{name} = '{other}': z and y must be 0 or 1")),
    };
    let mut p = vec![0.0; clients.len() * 4];
    let mut joint = vec![0.0; clients.len() * 8];
    for (cells, mass) in &table.rows {
        let k = clients.iter().position(|c| *c == cells[s]).unwrap_or(0);
        let cell = (k * 2 + bit(&cells[z], "z")?) * 2 + bit(&cells[y], "y")?;
        p[cell] += mass;
        if let Some(column) = yhat {
            let predicted = match cells[column].as_str() {
                "0" => 0,
                "1" => 1,
                other => return Err(format!("yhat = '{other}': yhat must be 0 or 1")),
            };
            joint[cell * 2 + predicted] += mass;
        }
    }
    let data = super::aglfop::Data::new(clients.len(), p)?;
    Ok((data, yhat.map(|_| joint)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sums_out_and_refuses_bad_tables() {
        let t = parse("z,s,yhat,extra,p\n0,a,0,u,0.125\n0,a,0,v,0.125\n1,a,1,u,0.25\n0,b,1,u,0.25\n1,b,0,u,0.25\n")
            .expect("valid");
        let p = joint3(&t, ["z", "yhat", "s"]).expect("columns exist");
        assert_eq!(p.dims, [2, 2, 2]);
        assert!((p.get(0, 0, 0) - 0.25).abs() < 1e-15);
        assert!(joint3(&t, ["z", "z", "s"]).is_err());
        assert!(joint3(&t, ["z", "nope", "s"]).is_err());
        assert!(parse("").is_err());
        assert!(parse("a,b\n0,1\n").is_err(), "no p column");
        assert!(parse("a,p\n0,0.5\n").is_err(), "sums to 0.5");
        assert!(parse("a,p\n0,-0.5\n1,1.5\n").is_err(), "negative");
        assert!(parse("a,p\n0,x\n").is_err());
        assert!(parse("a,a,p\n0,0,1\n").is_err());
        assert!(parse("a,p\n0,1,2\n").is_err());
        let d =
            client_data(&parse("s,z,y,p\nA,0,0,0.5\nB,1,1,0.5\n").expect("valid")).expect("valid");
        assert_eq!(d.clients, 2);
        assert!(client_data(&parse("s,z,y,p\nA,2,0,1\n").expect("valid")).is_err());
        let (d, model) = client_tables(
            &parse("s,z,y,yhat,p\nA,0,0,1,0.5\nB,1,1,1,0.25\nB,1,1,0,0.25\n").expect("valid"),
        )
        .expect("valid");
        let model = model.expect("a yhat column");
        assert_eq!(d.clients, 2);
        assert_eq!(model[1], 0.5, "client A, z 0, y 0, yhat 1");
        assert_eq!(model[14], 0.25, "cell (B, 1, 1) = 7, yhat 0");
        assert!(client_tables(&parse("s,z,y,yhat,p\nA,0,0,2,1\n").expect("valid")).is_err());
        assert!(client_tables(&parse("s,z,y,w,p\nA,0,0,1,1\n").expect("valid")).is_err());
    }

    #[test]
    fn reads_what_spreadsheets_write() {
        // Excel's "CSV UTF-8": a byte-order mark, CRLF, quoted names with commas and quotes.
        let text = "\u{feff}client,\"z, group\",p\r\n\"Lyon, FR\",0,0.5\r\n\r\n\"say \"\"hi\"\"\", 1 ,0.5\r\n";
        let t = parse(text).expect("valid");
        assert_eq!(t.names, ["client", "z, group"]);
        assert_eq!(t.rows[0].0, ["Lyon, FR", "0"]);
        assert_eq!(t.rows[1].0, ["say \"hi\"", "1"]);
        assert_eq!(t.rows[1].1, 0.5);
        // Errors still name the line (the blank line counts).
        let e = parse("a,p\n0,0.5\n\n1,x\n").expect_err("bad p");
        assert!(e.contains("line 4"), "{e}");
        let e = parse("a,p\n\"open,0.5\n").expect_err("unclosed quote");
        assert!(!e.is_empty());
    }
}
