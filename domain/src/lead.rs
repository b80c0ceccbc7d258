//! What a caller's text says, read by rules: the trade and problem, urgency and emergencies,
//! name, address, preferred time, and whether they want a person. Deterministic and offline.

use serde::{Deserialize, Serialize};

/// The facts a conversation collects about the caller's job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFields {
    pub name: Option<String>,
    /// The caller's own words for the job ("kitchen sink won't drain").
    pub service_needed: Option<String>,
    /// plumbing | hvac | electrical | handyman | cleaning | auto
    pub trade: Option<String>,
    /// emergency | soon | flexible
    pub urgency: Option<String>,
    pub address: Option<String>,
    pub preferred_time: Option<String>,
}

impl LeadFields {
    /// Fills only what is still unknown (never overwrites what we or the owner already have).
    pub fn merge_missing(&mut self, learned: &LeadFields) {
        fn fill(slot: &mut Option<String>, v: &Option<String>) {
            if slot.is_none() {
                slot.clone_from(v);
            }
        }
        fill(&mut self.name, &learned.name);
        fill(&mut self.service_needed, &learned.service_needed);
        fill(&mut self.trade, &learned.trade);
        fill(&mut self.address, &learned.address);
        fill(&mut self.preferred_time, &learned.preferred_time);
        // Urgency may escalate (an emergency mentioned later wins), never de-escalate.
        if learned.urgency.is_some()
            && (learned.urgency.as_deref() == Some("emergency") || self.urgency.is_none())
        {
            self.urgency.clone_from(&learned.urgency);
        }
    }

    pub fn is_qualified(&self) -> bool {
        self.service_needed.is_some()
            && self.name.is_some()
            && self.address.is_some()
            && (self.preferred_time.is_some() || self.urgency.is_some())
    }
}

/// The item the assistant asked for last, so a bare answer ("Mike", "12 Elm") lands in the right field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Service,
    Name,
    Address,
    Time,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub fields: LeadFields,
    pub emergency: bool,
    pub wants_human: bool,
    pub angry: bool,
    pub price_question: bool,
    pub wrong_number: bool,
    /// "No thanks", "already found someone": the caller is done, and follow-ups end.
    pub declined: bool,
    pub spanish: bool,
}

fn norm(text: &str) -> String {
    let lower = text.to_lowercase().replace(['’', '`'], "'");
    lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "'/#-".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
}

fn has_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| contains_phrase(hay, n))
}

/// Phrase match on word boundaries ("ac" must not match "back").
fn contains_phrase(hay: &str, phrase: &str) -> bool {
    let hay = format!(" {} ", hay.split_whitespace().collect::<Vec<_>>().join(" "));
    hay.contains(&format!(" {phrase} "))
}

const EMERGENCY: &[&str] = &[
    "gas smell",
    "smell gas",
    "smells like gas",
    "smelling gas",
    "smell of gas",
    "gas leak",
    "leaking gas",
    "burst pipe",
    "pipe burst",
    "pipe burst",
    "busted pipe",
    "pipe broke",
    "broken pipe",
    "flooding",
    "flooded",
    "water everywhere",
    "water pouring",
    "sparks",
    "sparking",
    "burning smell",
    "smell burning",
    "smells like burning",
    "smoke",
    "smoking outlet",
    "co alarm",
    "co detector",
    "carbon monoxide",
    "sewage backing up",
    "sewage backup",
    "no power",
    "fire",
    "huele a gas",
    "fuga de gas",
    "olor a gas",
    "inundacion",
    "inundación",
    "chispas",
    "humo",
    "se reventó",
    "se revento",
];

const NO_HEAT: &[&str] = &[
    "no heat",
    "heat not working",
    "heater not working",
    "furnace not working",
    "furnace died",
    "furnace stopped",
    "furnace out",
    "heat is out",
    "heat went out",
    "sin calefaccion",
    "sin calefacción",
];
const FREEZING: &[&str] = &[
    "freezing",
    "below zero",
    "frozen",
    "so cold",
    "ice cold",
    "20 degrees",
    "10 degrees",
    "single digits",
    "baby",
    "newborn",
    "elderly",
    "congelando",
];
const NO_COOLING: &[&str] = &[
    "no ac",
    "no a/c",
    "ac not working",
    "ac died",
    "ac stopped",
    "ac is out",
    "not cooling",
    "no cooling",
    "ac broke",
    "air not working",
    "sin aire",
];
const EXTREME_HEAT: &[&str] = &[
    "100 degrees",
    "105",
    "110",
    "heat wave",
    "so hot",
    "extreme heat",
    "elderly",
    "baby",
    "newborn",
    "heat stroke",
    "90 degrees inside",
    "95 inside",
];

const HUMAN: &[&str] = &[
    "real person",
    "a person",
    "a human",
    "human",
    "talk to someone",
    "speak to someone",
    "talk to the owner",
    "speak to the owner",
    "call me",
    "call me back",
    "manager",
    "live person",
    "actual person",
    "stop texting and call",
    "persona real",
    "llamame",
    "llámame",
];
const ANGRY: &[&str] = &[
    "ridiculous",
    "terrible",
    "worst",
    "unacceptable",
    "scam",
    "rip off",
    "ripoff",
    "wtf",
    "pissed",
    "furious",
    "angry",
    "useless",
    "horrible",
    "never again",
    "sue",
    "lawyer",
    "bbb",
    "disgusted",
];
const PRICE: &[&str] = &[
    "how much", "price", "prices", "cost", "costs", "quote", "estimate", "rate", "rates", "charge",
    "fee", "cuanto", "cuánto", "precio",
];
const WRONG: &[&str] = &[
    "wrong number",
    "who is this",
    "didn't call",
    "did not call",
    "never called",
    "not me",
    "numero equivocado",
    "número equivocado",
];
const DECLINED: &[&str] = &[
    "no thanks",
    "no thank you",
    "not interested",
    "already found someone",
    "found someone",
    "found someone else",
    "got someone",
    "already got someone",
    "already hired",
    "hired someone",
    "already fixed",
    "got it fixed",
    "fixed it myself",
    "no longer need",
    "never mind",
    "nevermind",
    "we're good",
    "we are good",
    "went with someone",
    "no gracias",
    "ya no necesito",
    "ya encontré",
    "ya encontre",
];
const SPANISH: &[&str] = &[
    "hola",
    "necesito",
    "tengo",
    "por favor",
    "gracias",
    "mi nombre",
    "me llamo",
    "dirección",
    "direccion",
    "mañana",
    "manana",
    "calle",
    "fuga",
    "baño",
    "cocina",
    "aire",
    "luz",
    "ayuda",
    "está",
    "esta roto",
];

/// Trades and the words callers use for their jobs, most specific first.
const TRADES: &[(&str, &[&str])] = &[
    (
        "hvac",
        &[
            "ac",
            "a/c",
            "air conditioner",
            "air conditioning",
            "furnace",
            "heat pump",
            "heater",
            "heating",
            "thermostat",
            "hvac",
            "not cooling",
            "no heat",
            "no cooling",
            "vents",
            "vent",
            "duct",
            "ducts",
            "blowing warm",
            "blowing hot",
            "condenser",
            "mini split",
            "boiler",
            "aire acondicionado",
            "calefaccion",
            "calefacción",
            "co alarm",
            "co detector",
            "carbon monoxide",
        ],
    ),
    (
        "plumbing",
        &[
            "leak",
            "leaking",
            "leaks",
            "clog",
            "clogged",
            "drain",
            "drains",
            "toilet",
            "faucet",
            "sink",
            "water heater",
            "hot water",
            "pipe",
            "pipes",
            "sewer",
            "sewage",
            "garbage disposal",
            "disposal",
            "shower",
            "tub",
            "plumbing",
            "plumber",
            "sump pump",
            "flooding",
            "flooded",
            "burst pipe",
            "water everywhere",
            "gas smell",
            "smell gas",
            "gas leak",
            "gas line",
            "fuga",
            "tuberia",
            "huele a gas",
            "fuga de gas",
            "olor a gas",
            "tubería",
            "inodoro",
            "baño",
            "lavabo",
            "drenaje",
        ],
    ),
    (
        "electrical",
        &[
            "outlet",
            "outlets",
            "breaker",
            "panel",
            "wiring",
            "wire",
            "wires",
            "lights",
            "light",
            "flickering",
            "switch",
            "switches",
            "electrical",
            "electric",
            "electrician",
            "ceiling fan",
            "ev charger",
            "sparks",
            "sparking",
            "no power",
            "power out",
            "generator",
            "gfci",
            "burning smell",
            "luz",
            "enchufe",
            "chispas",
            "electricidad",
            "fan",
            "swich",
            "outlit",
            "ceilng fan",
        ],
    ),
    (
        "auto",
        &[
            "car",
            "truck",
            "battery",
            "brakes",
            "brake",
            "oil change",
            "won't start",
            "wont start",
            "tire",
            "tires",
            "flat",
            "engine",
            "check engine",
            "check engin",
            "engin",
            "alternator",
            "transmission",
            "starter",
            "jump",
            "jump start",
            "vehicle",
            "suv",
            "coche",
            "carro",
        ],
    ),
    (
        "cleaning",
        &[
            "clean",
            "cleaning",
            "deep clean",
            "move out",
            "move-out",
            "move in",
            "carpet",
            "carpets",
            "windows",
            "maid",
            "house cleaning",
            "cleaner",
            "limpieza",
            "limpiar",
        ],
    ),
    (
        "handyman",
        &[
            "drywall",
            "door",
            "doors",
            "shelf",
            "shelves",
            "tv mount",
            "mount",
            "mount a tv",
            "fence",
            "deck",
            "paint",
            "painting",
            "cabinet",
            "cabinets",
            "furniture",
            "assemble",
            "assembly",
            "gutter",
            "gutters",
            "handyman",
            "trim",
            "baseboard",
            "hole in the wall",
            "repair",
            "fix",
        ],
    ),
];

/// The trade whose matching phrase is longest: "water heater" is plumbing, not "heater" (HVAC).
fn detect_trade(t: &str) -> Option<&'static str> {
    TRADES
        .iter()
        .flat_map(|(trade, words)| {
            words
                .iter()
                .filter(|w| contains_phrase(t, w))
                .map(move |w| (w.len(), *trade))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, trade)| trade)
}

/// The clause of the message that names the job, in the caller's words.
fn service_phrase(text: &str, trade: &str) -> String {
    let words = TRADES
        .iter()
        .find(|(t, _)| *t == trade)
        .map(|(_, w)| *w)
        .unwrap_or(&[]);
    let clauses = text
        .split(['.', '!', '?', ';', '\n', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let best = clauses
        .clone()
        .find(|c| has_any(&norm(c), words))
        .or_else(|| clauses.clone().next())
        .unwrap_or(text);
    let mut s = best
        .trim()
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_string();
    for lead in [
        "hi ", "hey ", "hello ", "hola ", "yes ", "yeah ", "so ", "um ", "uh ",
    ] {
        if s.to_lowercase().starts_with(lead) {
            s = s[lead.len()..].trim_start_matches([',', ' ']).to_string();
        }
    }
    let s: String = s.chars().take(120).collect();
    s.trim().to_string()
}

const STREET_TYPES: &[&str] = &[
    "st",
    "street",
    "ave",
    "avenue",
    "av",
    "rd",
    "road",
    "blvd",
    "boulevard",
    "dr",
    "drive",
    "ln",
    "lane",
    "way",
    "ct",
    "court",
    "pl",
    "place",
    "pkwy",
    "parkway",
    "hwy",
    "highway",
    "cir",
    "circle",
    "trl",
    "trail",
    "ter",
    "terrace",
    "loop",
    "calle",
    "apt",
];

fn find_address(text: &str, asked: bool) -> Option<String> {
    // A house number followed by words, ending at a street type (plus unit/city tail).
    let tokens: Vec<&str> = text.split_whitespace().collect();
    for (i, tok) in tokens.iter().enumerate() {
        let digits = tok.trim_matches(|c: char| !c.is_alphanumeric());
        if digits.is_empty() || !digits.chars().next().unwrap().is_ascii_digit() || digits.len() > 6
        {
            continue;
        }
        if digits.chars().filter(|c| c.is_ascii_digit()).count() < 1
            || digits.ends_with("pm")
            || digits.ends_with("am")
        {
            continue;
        }
        for (j, w) in tokens.iter().enumerate().skip(i + 1).take(6) {
            let wl = w.to_lowercase();
            let wl = wl.trim_matches(|c: char| !c.is_alphanumeric());
            if STREET_TYPES.contains(&wl) {
                // Include a short tail (unit, city) up to the end of the clause.
                let mut end = j + 1;
                while end < tokens.len() && end < j + 5 {
                    let t = tokens[end - 1];
                    if t.ends_with('.') || t.ends_with('!') || t.ends_with('?') {
                        break;
                    }
                    let next = tokens[end].to_lowercase();
                    if [
                        "and", "y", "tomorrow", "today", "my", "i", "we", "anytime", "asap",
                        "please", "thanks",
                    ]
                    .contains(&next.trim_matches(|c: char| !c.is_alphanumeric()))
                    {
                        break;
                    }
                    end += 1;
                }
                let addr = tokens[i..end].join(" ");
                return Some(addr.trim_end_matches(['.', ',', '!', '?']).to_string());
            }
        }
    }
    if asked {
        // A bare answer to "what's the address?": digits and words.
        let t = text.trim().trim_end_matches(['.', '!']);
        let has_digit = t.chars().any(|c| c.is_ascii_digit());
        let words = t.split_whitespace().count();
        if has_digit && (2..=12).contains(&words) {
            return Some(t.to_string());
        }
    }
    None
}

const TIME_WORDS: &[&str] = &[
    "asap",
    "right away",
    "today",
    "tonight",
    "tomorrow",
    "this morning",
    "this afternoon",
    "this evening",
    "morning",
    "afternoon",
    "evening",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "next week",
    "this week",
    "anytime",
    "any time",
    "whenever",
    "now",
    "mañana",
    "manana",
    "hoy",
    "lunes",
    "martes",
    "miercoles",
    "miércoles",
    "jueves",
    "viernes",
    "sabado",
    "sábado",
    "domingo",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
];

fn find_time(text: &str, n: &str) -> Option<String> {
    // Greetings are not times ("good morning!").
    let n = &n
        .replace("good morning", " ")
        .replace("good afternoon", " ")
        .replace("good evening", " ");
    let clock = n.split_whitespace().any(|w| {
        let w = w.trim_end_matches(['.', ',']);
        (w.ends_with("am") || w.ends_with("pm"))
            && w.trim_end_matches("am")
                .trim_end_matches("pm")
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':')
            && w.len() > 2
    }) || contains_phrase(n, "after")
        && n.split_whitespace()
            .any(|w| w.chars().all(|c| c.is_ascii_digit()));
    if !(clock || has_any(n, TIME_WORDS)) {
        return None;
    }
    // Weak words ("morning", "weekend") count only with a strong one or a clock time, so a
    // chatty "sorry to bother you on a weekend" is not a preferred time.
    const WEAK: &[&str] = &[
        "morning",
        "afternoon",
        "evening",
        "weekend",
        "now",
        "mon",
        "sun",
        "whenever",
    ];
    let strong = TIME_WORDS
        .iter()
        .any(|w| !WEAK.contains(w) && contains_phrase(n, w));
    if !clock && !strong && !has_any(n, &["this weekend", "next weekend", "on the weekend"]) {
        return None;
    }
    // Keep the clause that carries the time.
    let clause = text
        .split(['.', '!', '?', ';', '\n', ','])
        .map(str::trim)
        .find(|c| {
            let cn = norm(c).replace("good morning", " ");
            has_any(&cn, TIME_WORDS)
                || cn
                    .split_whitespace()
                    .any(|w| w.ends_with("am") || w.ends_with("pm"))
        })
        .unwrap_or(text.trim());
    Some(
        clause
            .chars()
            .take(80)
            .collect::<String>()
            .trim()
            .to_string(),
    )
}

fn urgency_of(n: &str, emergency: bool) -> Option<&'static str> {
    if emergency {
        Some("emergency")
    } else if has_any(
        n,
        &[
            "asap",
            "urgent",
            "right away",
            "as soon as",
            "today",
            "tonight",
            "now",
            "immediately",
            "this morning",
            "this afternoon",
            "this evening",
            "tomorrow",
            "hoy",
            "urgente",
            "lo antes posible",
        ],
    ) {
        Some("soon")
    } else if has_any(
        n,
        &[
            "whenever",
            "no rush",
            "not urgent",
            "next week",
            "anytime",
            "any time",
            "sometime",
            "flexible",
            "this week",
            "next month",
            "cuando sea",
        ],
    ) {
        Some("flexible")
    } else {
        None
    }
}

fn capitalize_name(raw: &str) -> String {
    raw.split_whitespace()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const NOT_NAMES: &[&str] = &[
    "having",
    "calling",
    "looking",
    "trying",
    "wondering",
    "not",
    "so",
    "just",
    "still",
    "here",
    "home",
    "out",
    "available",
    "free",
    "good",
    "fine",
    "ok",
    "okay",
    "sure",
    "yes",
    "no",
    "the",
    "a",
    "in",
    "at",
    "on",
    "sorry",
    "interested",
    "texting",
    "going",
    "getting",
    "in need",
    "need",
    "needing",
    "the owner",
    "with",
    "busy",
    "back",
    "done",
    "new",
    "moving",
    "locked",
];

fn find_name(text: &str, n: &str, asked: Option<Field>) -> Option<String> {
    let markers = [
        "my name is ",
        "name's ",
        "names ",
        "this is ",
        "i'm ",
        "im ",
        "i am ",
        "it's ",
        "its ",
        "me llamo ",
        "mi nombre es ",
        "soy ",
    ];
    let lower = text.to_lowercase().replace('’', "'");
    for m in markers {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(m) {
            let at = from + pos;
            from = at + m.len();
            // Must start a word.
            if at > 0 && lower.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let rest = &text[at + m.len()..];
            let candidate: Vec<&str> = rest
                .split([',', '.', '!', '?', '\n', ';'])
                .next()
                .unwrap_or("")
                .split_whitespace()
                .take_while(|w| {
                    w.chars().any(char::is_alphabetic)
                        && w.chars()
                            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                })
                .take(3)
                .collect();
            let Some(first) = candidate.first() else {
                continue;
            };
            let fl = first.to_lowercase();
            if NOT_NAMES.contains(&fl.as_str())
                || TRADES.iter().any(|(_, w)| w.contains(&fl.as_str()))
            {
                continue;
            }
            // "this is" / "it's" / "i'm" need a capitalised word to count as a name.
            let loose = ["this is ", "i'm ", "im ", "i am ", "it's ", "its ", "soy "].contains(&m);
            if loose && !first.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            // Stop the name before a lowercase connector ("Mike and my sink…").
            let name: Vec<&str> = candidate
                .iter()
                .take_while(|w| {
                    let wl = w.to_lowercase();
                    ![
                        "and", "from", "at", "in", "on", "with", "y", "de", "here", "calling",
                        "again", "the",
                    ]
                    .contains(&wl.as_str())
                })
                .copied()
                .collect();
            if !name.is_empty() {
                return Some(capitalize_name(&name.join(" ")));
            }
        }
    }
    // A signature at the end: "... thanks, Maria" / "- Tom".
    if let Some(sig) = text.trim().rsplit_once(['-', '—']).map(|(_, s)| s.trim()) {
        let words: Vec<&str> = sig.split_whitespace().collect();
        if (1..=2).contains(&words.len())
            && words.iter().all(|w| {
                w.chars().all(char::is_alphabetic)
                    && w.chars().next().is_some_and(char::is_uppercase)
            })
        {
            return Some(capitalize_name(sig));
        }
    }
    // A bare answer: one to three words, no digits, not a sentence. Counts when we asked for the
    // name, or (capitalised) when a caller answers another question with their name.
    let t = text.trim().trim_end_matches(['.', '!']);
    let words: Vec<&str> = t.split_whitespace().collect();
    let plain = words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
    });
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    let looks_like_name = (1..=3).contains(&words.len())
        && plain
        && !NOT_NAMES.contains(&first.as_str())
        && !has_any(n, TIME_WORDS)
        && detect_trade(n).is_none()
        && !has_any(n, HUMAN)
        && !has_any(n, WRONG);
    let capitalised = words
        .iter()
        .all(|w| w.chars().next().is_some_and(char::is_uppercase));
    if looks_like_name
        && (asked == Some(Field::Name) || (asked.is_some() && capitalised && words.len() <= 2))
    {
        return Some(capitalize_name(t));
    }
    None
}

/// Reads one caller message. `asked` is what the assistant asked for last, if anything.
pub fn read(text: &str, asked: Option<Field>) -> Reading {
    let n = norm(text);
    let no_heat_cold = has_any(&n, NO_HEAT) && has_any(&n, FREEZING);
    let no_ac_hot = has_any(&n, NO_COOLING) && has_any(&n, EXTREME_HEAT);
    let emergency = has_any(&n, EMERGENCY) || no_heat_cold || no_ac_hot;
    let trade = detect_trade(&n);
    let mut fields = LeadFields::default();
    let wrong_number = has_any(&n, WRONG);
    if let Some(trade) = trade {
        fields.trade = Some(trade.to_string());
        fields.service_needed = Some(service_phrase(text, trade));
    } else if emergency {
        // The emergency is the job, whatever the trade.
        fields.service_needed = Some(text.trim().chars().take(120).collect());
    } else if asked == Some(Field::Service)
        && !wrong_number
        && n.split_whitespace().count() >= 2
        && !has_any(&n, PRICE)
        && !has_any(&n, HUMAN)
    {
        fields.service_needed = Some(text.trim().chars().take(120).collect());
    }
    fields.urgency = urgency_of(&n, emergency).map(str::to_string);
    fields.name = find_name(text, &n, asked);
    fields.address = find_address(text, asked == Some(Field::Address));
    fields.preferred_time = find_time(text, &n).or_else(|| {
        (asked == Some(Field::Time)
            && fields.address.is_none()
            && fields.name.is_none()
            && n.split_whitespace().count() <= 6
            && !n.trim().is_empty())
        .then(|| text.trim().to_string())
    });
    let shouting = text.chars().filter(|c| c.is_alphabetic()).count() > 12
        && text
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| c.is_uppercase());
    Reading {
        fields,
        emergency,
        wants_human: has_any(&n, HUMAN),
        angry: has_any(&n, ANGRY) || shouting || text.contains("!!!"),
        price_question: has_any(&n, PRICE),
        wrong_number,
        declined: !emergency && has_any(&n, DECLINED),
        spanish: has_any(&n, SPANISH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multi_fact_message() {
        let r = read(
            "Hi this is Mike Jones, kitchen sink won't drain. 412 Oak St, tomorrow morning works",
            None,
        );
        assert_eq!(r.fields.name.as_deref(), Some("Mike Jones"));
        assert_eq!(r.fields.trade.as_deref(), Some("plumbing"));
        assert_eq!(
            r.fields.service_needed.as_deref(),
            Some("kitchen sink won't drain")
        );
        assert_eq!(r.fields.address.as_deref(), Some("412 Oak St"));
        assert_eq!(
            r.fields.preferred_time.as_deref(),
            Some("tomorrow morning works")
        );
        assert!(!r.emergency);
    }

    #[test]
    fn emergencies_and_escalations() {
        assert!(read("I smell gas in the kitchen", None).emergency);
        assert!(read("pipe burst in the basement, water everywhere", None).emergency);
        assert!(read("no heat and it's freezing, we have a baby", None).emergency);
        assert!(!read("no heat in the guest room, not urgent", None).emergency);
        assert!(read("can I talk to a real person", None).wants_human);
        assert!(read("THIS IS RIDICULOUS NOBODY ANSWERS", None).angry);
        assert!(read("how much for a drain cleaning?", None).price_question);
        assert!(read("huele a gas en la cocina", None).emergency);
    }

    #[test]
    fn bare_answers_land_in_the_asked_field() {
        assert_eq!(
            read("Dana", Some(Field::Name)).fields.name.as_deref(),
            Some("Dana")
        );
        assert_eq!(
            read("dana rivera", Some(Field::Name))
                .fields
                .name
                .as_deref(),
            Some("Dana Rivera")
        );
        assert_eq!(
            read("88 Pine", Some(Field::Address))
                .fields
                .address
                .as_deref(),
            Some("88 Pine")
        );
        assert_eq!(
            read("after 5", Some(Field::Time))
                .fields
                .preferred_time
                .as_deref(),
            Some("after 5")
        );
        assert!(read("I'm having a leak", None).fields.name.is_none());
        assert!(read("ok", Some(Field::Name)).fields.name.is_none());
    }

    #[test]
    fn word_boundaries() {
        assert_eq!(
            read("my back door is broken", None).fields.trade.as_deref(),
            Some("handyman")
        );
        assert_eq!(
            read("the AC is blowing warm air", None)
                .fields
                .trade
                .as_deref(),
            Some("hvac")
        );
    }
}
