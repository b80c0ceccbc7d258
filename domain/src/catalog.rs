//! The business's catalog as the assistant sees it: starter lists per trade that a business adopts
//! and edits, and matching a caller's words to an item. Prices only ever come from here.

use serde::{Deserialize, Serialize};

use crate::money::Cents;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub name: String,
    /// Words callers use for this job.
    pub keywords: Vec<String>,
    pub duration_minutes: i32,
    pub price_cents: Option<i32>,
    pub price_min_cents: Option<i32>,
    pub price_max_cents: Option<i32>,
    pub emergency_surcharge_cents: Option<i32>,
}

/// `$149`, or `$149–$249` for a range; `None` when the item has no price.
pub fn price_text(item: &CatalogItem) -> Option<String> {
    // Stored prices are never negative (the API checks them and so does the schema).
    let d = |c: i32| Cents::new(c).map(|c| c.to_string()).unwrap_or_default();
    match (item.price_cents, item.price_min_cents, item.price_max_cents) {
        (Some(p), _, _) => Some(d(p)),
        (None, Some(lo), Some(hi)) => Some(format!("{}–{}", d(lo), d(hi))),
        _ => None,
    }
}

fn item(
    name: &str,
    keywords: &[&str],
    minutes: i32,
    price: (i32, Option<i32>),
    surcharge: Option<i32>,
) -> CatalogItem {
    let (lo, hi) = price;
    CatalogItem {
        name: name.into(),
        keywords: keywords.iter().map(ToString::to_string).collect(),
        duration_minutes: minutes,
        price_cents: if hi.is_none() { Some(lo) } else { None },
        price_min_cents: hi.map(|_| lo),
        price_max_cents: hi,
        emergency_surcharge_cents: surcharge,
    }
}

/// Starter catalogs per trade; a business adopts one and edits it.
pub fn starter(trade: &str) -> Vec<CatalogItem> {
    match trade {
        "plumbing" => plumbing(),
        "hvac" => hvac(),
        "electrical" => electrical(),
        "handyman" => handyman(),
        "cleaning" => cleaning(),
        "auto" => auto(),
        _ => vec![],
    }
}

/// Plumbing: the starter catalog.
fn plumbing() -> Vec<CatalogItem> {
    vec![
        item(
            "Sink Clog",
            &[
                "sink",
                "won't drain",
                "wont drain",
                "slow drain",
                "clogged drain",
                "drain clog",
                "backed up sink",
                "clog",
                "clogged",
            ],
            60,
            (14900, Some(24900)),
            None,
        ),
        item(
            "Toilet Repair",
            &[
                "toilet",
                "running toilet",
                "toilet clogged",
                "toilet leak",
                "toilet keeps running",
            ],
            60,
            (12900, None),
            None,
        ),
        item(
            "Water Heater Repair",
            &[
                "water heater",
                "no hot water",
                "hot water heater",
                "pilot light",
            ],
            120,
            (19900, Some(49900)),
            Some(9900),
        ),
        item(
            "Leak Repair",
            &[
                "leak",
                "leaking",
                "leaky",
                "drip",
                "dripping",
                "burst pipe",
                "pipe burst",
                "faucet",
            ],
            90,
            (14900, Some(34900)),
            Some(9900),
        ),
        item(
            "Garbage Disposal",
            &["garbage disposal", "disposal"],
            60,
            (17900, None),
            None,
        ),
        item(
            "Sewer Line",
            &["sewer", "sewage", "main line", "backing up"],
            180,
            (29900, Some(89900)),
            Some(14900),
        ),
    ]
}

/// Heating and cooling: the starter catalog.
fn hvac() -> Vec<CatalogItem> {
    vec![
        item(
            "AC Repair",
            &[
                "ac",
                "a/c",
                "air conditioner",
                "air conditioning",
                "not cooling",
                "blowing warm",
                "blowing hot",
                "no cooling",
            ],
            120,
            (18900, Some(48900)),
            Some(9900),
        ),
        item(
            "Furnace Repair",
            &[
                "furnace",
                "no heat",
                "heater",
                "heating",
                "heat pump",
                "boiler",
            ],
            120,
            (18900, Some(48900)),
            Some(9900),
        ),
        item(
            "Tune-up",
            &[
                "tune up",
                "tune-up",
                "maintenance",
                "service",
                "check up",
                "inspection",
            ],
            60,
            (9900, None),
            None,
        ),
        item("Thermostat", &["thermostat"], 60, (14900, None), None),
    ]
}

/// Electrical: the starter catalog.
fn electrical() -> Vec<CatalogItem> {
    vec![
        item(
            "Outlet Repair",
            &["outlet", "outlets", "gfci", "plug"],
            60,
            (12900, None),
            Some(9900),
        ),
        item(
            "Breaker & Panel",
            &["breaker", "panel", "tripping", "keeps tripping", "fuse"],
            120,
            (19900, Some(59900)),
            Some(9900),
        ),
        item(
            "Lighting & Fans",
            &[
                "light",
                "lights",
                "fixture",
                "ceiling fan",
                "fan",
                "flickering",
                "switch",
            ],
            90,
            (14900, None),
            None,
        ),
        item(
            "EV Charger",
            &["ev charger", "car charger", "tesla charger"],
            240,
            (59900, Some(149_900)),
            None,
        ),
    ]
}

/// Handyman: the starter catalog.
fn handyman() -> Vec<CatalogItem> {
    vec![
        item(
            "TV Mount",
            &["tv mount", "mount a tv", "mount tv", "tv"],
            60,
            (12900, None),
            None,
        ),
        item(
            "Drywall Repair",
            &["drywall", "hole in the wall", "hole in wall", "patch"],
            120,
            (14900, Some(34900)),
            None,
        ),
        item(
            "Door Repair",
            &["door", "latch", "hinge", "sticks"],
            60,
            (11900, None),
            None,
        ),
        item(
            "Shelves & Assembly",
            &["shelf", "shelves", "assemble", "assembly", "furniture"],
            90,
            (10900, None),
            None,
        ),
    ]
}

/// Cleaning: the starter catalog.
fn cleaning() -> Vec<CatalogItem> {
    vec![
        item(
            "Standard Clean",
            &["house cleaning", "cleaning", "clean", "maid"],
            180,
            (14900, None),
            None,
        ),
        item(
            "Deep Clean",
            &["deep clean", "deep cleaning"],
            300,
            (27900, None),
            None,
        ),
        item(
            "Move-out Clean",
            &["move out", "move-out", "move in", "turnover"],
            300,
            (29900, None),
            None,
        ),
        item(
            "Carpet Cleaning",
            &["carpet", "carpets", "rug"],
            120,
            (14900, None),
            None,
        ),
    ]
}

/// Auto repair: the starter catalog.
fn auto() -> Vec<CatalogItem> {
    vec![
        item(
            "Battery & Jump Start",
            &[
                "battery",
                "jump",
                "jump start",
                "won't start",
                "wont start",
                "dead battery",
            ],
            45,
            (8900, None),
            None,
        ),
        item(
            "Brake Service",
            &["brakes", "brake", "squeaking", "grinding"],
            120,
            (18900, Some(38900)),
            None,
        ),
        item("Oil Change", &["oil change", "oil"], 45, (6900, None), None),
        item(
            "Tire & Flat",
            &["flat", "tire", "tires", "flat tire"],
            45,
            (5900, None),
            None,
        ),
        item(
            "Diagnostics",
            &[
                "check engine",
                "engine light",
                "shaking",
                "shakin",
                "noise",
                "engine",
            ],
            60,
            (9900, None),
            None,
        ),
    ]
}

fn norm(text: &str) -> String {
    let lower = text.to_lowercase().replace(['’', '`'], "'");
    let cleaned: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "'/-".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    format!(
        " {} ",
        cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// The item a caller's words point to, when the match is confident: the item with the most
/// matched keyword text wins, and it must clearly beat the runner-up. Otherwise `None`
/// (the owner quotes).
pub fn match_item<'a>(text: &str, items: &'a [CatalogItem]) -> Option<&'a CatalogItem> {
    let t = norm(text);
    let mut scored: Vec<(usize, &CatalogItem)> = items
        .iter()
        .map(|item| {
            let score = item
                .keywords
                .iter()
                .filter(|k| t.contains(&norm(k)))
                .map(String::len)
                .sum::<usize>();
            (score, item)
        })
        .filter(|(s, _)| *s > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(_, only)] => Some(only),
        [(best, item), (second, _), ..] if *best >= second + 3 => Some(item),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str, trade: &str) -> Option<String> {
        match_item(text, &starter(trade)).map(|i| i.name.clone())
    }

    #[test]
    fn callers_words_find_the_item() {
        assert_eq!(
            name("kitchen sink won't drain", "plumbing").as_deref(),
            Some("Sink Clog")
        );
        assert_eq!(
            name("my toilet keeps running", "plumbing").as_deref(),
            Some("Toilet Repair")
        );
        assert_eq!(
            name("no hot water since last night", "plumbing").as_deref(),
            Some("Water Heater Repair")
        );
        assert_eq!(
            name("the AC is blowing warm air", "hvac").as_deref(),
            Some("AC Repair")
        );
        assert_eq!(
            name("breaker keeps tripping in the garage", "electrical").as_deref(),
            Some("Breaker & Panel")
        );
        assert_eq!(
            name("need a tv mount put up", "handyman").as_deref(),
            Some("TV Mount")
        );
        assert_eq!(
            name("need a deep clean of a 3 bedroom house", "cleaning").as_deref(),
            Some("Deep Clean")
        );
        assert_eq!(
            name("brakes are squeaking really bad", "auto").as_deref(),
            Some("Brake Service")
        );
    }

    #[test]
    fn no_confident_match_means_the_owner_quotes() {
        assert_eq!(name("hello, can someone call me", "plumbing"), None);
        assert_eq!(name("something is wrong", "hvac"), None);
        assert!(starter("llamas").is_empty());
    }

    #[test]
    fn prices_come_from_cents() {
        let items = starter("plumbing");
        assert_eq!(price_text(&items[0]).as_deref(), Some("$149–$249"));
        assert_eq!(price_text(&items[1]).as_deref(), Some("$129"));
        let mut odd = items[1].clone();
        odd.price_cents = Some(12950);
        assert_eq!(price_text(&odd).as_deref(), Some("$129.50"));
        for trade in [
            "plumbing",
            "hvac",
            "electrical",
            "handyman",
            "cleaning",
            "auto",
        ] {
            assert!(starter(trade).len() >= 4, "{trade}");
            assert!(
                starter(trade)
                    .iter()
                    .all(|i| price_text(i).is_some() && i.duration_minutes > 0)
            );
        }
    }
}
