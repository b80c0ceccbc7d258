//! Where the business works: ZIP codes, cities, or a radius around its address. A caller's
//! address is judged inside, outside, or unknown (then the owner decides, as before): an
//! address we cannot place is never turned away.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceArea {
    #[serde(default)]
    pub zips: Vec<String>,
    #[serde(default)]
    pub cities: Vec<String>,
    #[serde(default)]
    pub radius_miles: Option<f64>,
    /// The radius's centre: the business's address, placed by the geocoder when saved.
    #[serde(default)]
    pub center: Option<Place>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub address: String,
    pub lat: f64,
    pub lon: f64,
}

/// What we know about where a caller's job is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Located {
    pub zip: Option<String>,
    pub city: Option<String>,
    /// Latitude and longitude, from the geocoder.
    pub point: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Inside,
    /// Outside, and why ("ZIP 78664 is not one you serve").
    Outside(String),
    /// Nothing to judge by: the conversation goes on and the owner decides.
    Unknown,
}

const EARTH_RADIUS_MILES: f64 = 3958.8;

/// Great-circle distance (haversine), in miles.
pub fn miles(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let (dla, dlo) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_MILES * h.sqrt().asin()
}

fn same_city(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl ServiceArea {
    pub fn is_everywhere(&self) -> bool {
        self.zips.is_empty() && self.cities.is_empty() && self.radius().is_none()
    }

    fn radius(&self) -> Option<(f64, &Place)> {
        self.radius_miles.zip(self.center.as_ref())
    }

    /// The area in words, for the assistant and the settings page.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.zips.is_empty() {
            parts.push(format!("ZIP codes {}", self.zips.join(", ")));
        }
        if !self.cities.is_empty() {
            parts.push(self.cities.join(", "));
        }
        if let Some((r, c)) = self.radius() {
            parts.push(format!("within {r} miles of {}", c.address));
        }
        parts.join("; ")
    }

    /// Inside when any rule takes the address in; outside when a rule could judge it and none
    /// did; unknown when none could.
    pub fn judge(&self, at: &Located) -> Verdict {
        if self.is_everywhere() {
            return Verdict::Inside;
        }
        let by_zip = at
            .zip
            .as_ref()
            .filter(|_| !self.zips.is_empty())
            .map(|z| (self.zips.contains(z), format!("ZIP {z}")));
        let by_city = at
            .city
            .as_ref()
            .filter(|_| !self.cities.is_empty())
            .map(|c| (self.cities.iter().any(|s| same_city(s, c)), c.clone()));
        let by_distance = at.point.zip(self.radius()).map(|(p, (r, c))| {
            let d = miles(p, (c.lat, c.lon));
            (d <= r, format!("{d:.0} miles away"))
        });
        let judged: Vec<(bool, String)> = [by_zip, by_city, by_distance]
            .into_iter()
            .flatten()
            .collect();
        if judged.iter().any(|j| j.0) {
            Verdict::Inside
        } else if judged.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Outside(
                judged
                    .into_iter()
                    .map(|j| j.1)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        }
    }
}

/// State names and abbreviations that end a US address, never a city.
fn is_state(part: &str) -> bool {
    let p = part.trim();
    (p.len() == 2 && p.chars().all(|c| c.is_ascii_uppercase()))
        || ["texas", "california", "florida", "new york", "usa", "us"]
            .contains(&p.to_lowercase().as_str())
}

/// Reads a ZIP code and a city from a typed address ("12 Oak St, Round Rock, TX 78664"),
/// without a geocoder: the last five-digit group, and the first comma part after the street
/// that is not a state or ZIP. Cities the business serves are also found without commas.
pub fn read_address(text: &str, known_cities: &[String]) -> Located {
    let zip = text
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|g| g.len() == 5)
        .filter(|_| text.split(',').count() > 1 || text.split_whitespace().count() > 2)
        .map(str::to_owned);
    let lower = text.to_lowercase();
    let named = known_cities.iter().find(|c| {
        let c = c.to_lowercase();
        lower.match_indices(&c).any(|(i, _)| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + c.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    });
    let city = named.cloned().or_else(|| {
        text.split(',')
            .skip(1)
            .map(|p| {
                p.trim()
                    .trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace())
            })
            .find(|p| !p.is_empty() && !is_state(p) && !p.chars().any(|c| c.is_ascii_digit()))
            .map(|p| {
                // "Round Rock TX" → "Round Rock"
                let words: Vec<&str> = p.split_whitespace().collect();
                match words.split_last() {
                    Some((last, rest)) if !rest.is_empty() && is_state(last) => rest.join(" "),
                    _ => p.to_owned(),
                }
            })
    });
    Located {
        zip,
        city,
        point: None,
    }
}

/// The polite no: the job is outside the area, and the owner has been told.
pub fn decline(owner: &str, es: bool) -> String {
    if es {
        format!(
            "Lo siento, esa dirección queda fuera de la zona donde trabajamos, así que no podemos tomar este trabajo. Le avisé a {owner} por si acaso."
        )
    } else {
        format!(
            "Sorry, that address is outside the area we serve, so we can't take this job. I've let {owner} know in case there's a way to help."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn austin() -> ServiceArea {
        ServiceArea {
            zips: vec!["78701".into(), "78702".into()],
            cities: vec!["Austin".into()],
            radius_miles: Some(25.0),
            center: Some(Place {
                address: "100 Congress Ave, Austin, TX".into(),
                lat: 30.2642,
                lon: -97.7450,
            }),
        }
    }

    #[test]
    fn addresses_are_read_and_judged() {
        let a = austin();
        let cities = a.cities.clone();
        let read = |t: &str| read_address(t, &cities);
        assert_eq!(a.judge(&read("12 Oak St, Austin TX")), Verdict::Inside);
        assert_eq!(a.judge(&read("9 Elm Rd 78702")), Verdict::Inside);
        assert!(matches!(
            a.judge(&read("5 Main St, Round Rock, TX 78664")),
            Verdict::Outside(_)
        ));
        assert_eq!(a.judge(&read("12 Oak St")), Verdict::Unknown);
        let far = Located {
            point: Some((29.4241, -98.4936)), // San Antonio, ~74 miles
            ..Located::default()
        };
        assert!(matches!(a.judge(&far), Verdict::Outside(w) if w.ends_with("miles away")));
        let near = Located {
            point: Some((30.5083, -97.6789)), // Round Rock, ~17 miles
            zip: Some("78664".into()),
            ..Located::default()
        };
        assert_eq!(a.judge(&near), Verdict::Inside, "the radius takes it in");
        assert_eq!(
            ServiceArea::default().judge(&Located::default()),
            Verdict::Inside
        );
        assert_eq!(
            read("5 Main St, Round Rock, TX 78664").city.as_deref(),
            Some("Round Rock")
        );
        assert_eq!(
            read("5 Main St, Round Rock, TX 78664").zip.as_deref(),
            Some("78664")
        );
    }

    #[test]
    fn distance_is_great_circle() {
        let d = miles((30.2672, -97.7431), (29.4241, -98.4936));
        assert!((d - 74.0).abs() < 2.0, "{d}");
    }
}
