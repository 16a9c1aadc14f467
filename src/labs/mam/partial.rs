//! Partial assignments: every site +1, -1 or unknown. The query a marginalization model answers
//! ("how likely is this partial pattern?") and the input its networks read.

/// One site of a partial assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Unknown,
    Up,
    Down,
}

impl Site {
    /// The spin value, `None` when unknown.
    pub fn spin(self) -> Option<i8> {
        match self {
            Site::Unknown => None,
            Site::Up => Some(1),
            Site::Down => Some(-1),
        }
    }
}

/// A partial assignment of `sites.len()` spins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial {
    pub sites: Vec<Site>,
}

impl Partial {
    pub fn unknown(d: usize) -> Self {
        Self {
            sites: vec![Site::Unknown; d],
        }
    }

    /// Observed sites as (index, spin).
    pub fn observed(&self) -> Vec<(usize, i8)> {
        self.sites
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.spin().map(|v| (i, v)))
            .collect()
    }

    /// Whether a full configuration agrees with every observed site.
    pub fn matches(&self, spins: &[i8]) -> bool {
        self.sites
            .iter()
            .zip(spins)
            .all(|(s, &v)| s.spin().is_none_or(|o| o == v))
    }

    /// Parses `I:V,I:V,...` (I a site index from 0, row-major; V 1 or -1) for `d` sites. The
    /// empty string is the all-unknown assignment. Every problem is reported with its item.
    pub fn parse(text: &str, d: usize) -> Result<Self, String> {
        let mut p = Self::unknown(d);
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (i, v) = item
                .split_once(':')
                .ok_or_else(|| format!("'{item}': expected INDEX:VALUE, e.g. 3:-1"))?;
            let i: usize = i
                .trim()
                .parse()
                .map_err(|_| format!("'{item}': the index is not a whole number"))?;
            if i >= d {
                return Err(format!("'{item}': site {i} is outside 0..{d}"));
            }
            let site = match v.trim() {
                "1" | "+1" => Site::Up,
                "-1" => Site::Down,
                other => return Err(format!("'{item}': value '{other}' is not 1 or -1")),
            };
            if p.sites[i] != Site::Unknown && p.sites[i] != site {
                return Err(format!("'{item}': site {i} is given two different values"));
            }
            p.sites[i] = site;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assignments_and_says_what_is_wrong() {
        let p = Partial::parse("0:1, 3:-1,3:-1", 4).expect("valid");
        assert_eq!(p.observed(), vec![(0, 1), (3, -1)]);
        assert!(p.matches(&[1, -1, 1, -1]));
        assert!(!p.matches(&[-1, -1, 1, -1]));
        assert_eq!(Partial::parse("", 3), Ok(Partial::unknown(3)));
        for bad in ["4:1", "x:1", "1:0", "1", "1:1,1:-1", "-1:1"] {
            let e = Partial::parse(bad, 4).expect_err(bad);
            assert!(e.contains('\''), "{bad}: {e}");
        }
    }
}
