//! The colour tokens of `style.css` hold WCAG 2.x AA contrast in light and dark mode (4.5:1 for
//! text, 3:1 for input borders, the focus ring and chart bars), and rules use only the tokens.

use std::collections::BTreeMap;

const CSS: &str = include_str!("style.css");

/// (foreground, background, minimum): every pair the rules put together. A ratio is symmetric,
/// so a pair also covers its reverse (the danger button is `--bad-bg` text on a `--bad` fill).
const PAIRS: &[(&str, &str, f64)] = &[
    ("fg", "bg", 4.5),
    ("fg", "surface", 4.5),
    ("fg", "surface-2", 4.5),
    ("fg", "info-bg", 4.5),
    ("fg", "warn-bg", 4.5),
    ("muted", "bg", 4.5),
    ("muted", "surface", 4.5),
    ("muted", "surface-2", 4.5),
    ("muted", "info-bg", 4.5),
    ("link", "bg", 4.5),
    ("link", "surface", 4.5),
    ("link", "surface-2", 4.5),
    ("link", "info-bg", 4.5),
    ("on-fill", "fill", 4.5),
    ("on-fill", "ok", 4.5),
    ("on-fill-bad", "fill", 4.5),
    ("on-fill-bad", "ok", 4.5),
    ("ok", "ok-bg", 4.5),
    ("warn", "warn-bg", 4.5),
    ("warn", "bg", 4.5),
    ("warn", "surface", 4.5),
    ("bad", "bad-bg", 4.5),
    ("bad", "bg", 4.5),
    ("bad", "surface", 4.5),
    ("border-strong", "bg", 3.0),
    ("border-strong", "surface", 3.0),
    ("focus", "bg", 3.0),
    ("focus", "surface", 3.0),
    ("accent", "surface", 3.0),
];

type Tokens = BTreeMap<String, String>;

/// The stylesheet without its comments.
fn uncommented() -> String {
    let mut out = String::new();
    let mut rest = CSS;
    while let Some((before, after)) = rest.split_once("/*") {
        out.push_str(before);
        rest = after.split_once("*/").map_or("", |(_, tail)| tail);
    }
    out.push_str(rest);
    out
}

/// The stylesheet without comments or whitespace, so the token parsing need not care about either.
fn compact() -> String {
    let mut css = uncommented();
    css.retain(|c| !c.is_whitespace());
    css
}

/// The custom properties of the first `:root{…}` block after `marker`.
fn root_tokens(css: &str, marker: &str) -> Tokens {
    let from = css
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in style.css"));
    let block = css[from..].split_once(":root{").expect(":root block").1;
    let block = block.split_once('}').expect("closed :root block").0;
    block
        .split(';')
        .filter_map(|decl| decl.strip_prefix("--")?.split_once(':'))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn light() -> Tokens {
    root_tokens(&compact(), "")
}

fn dark() -> Tokens {
    root_tokens(&compact(), "@media(prefers-color-scheme:dark)")
}

/// A token's colour, following `var(--other)` aliases; the first mode that defines a name wins,
/// as dark mode's `:root` overrides the light one. `None` for tokens that are not colours.
fn colour(modes: &[&Tokens], name: &str) -> Option<[u8; 3]> {
    let value = modes.iter().find_map(|tokens| tokens.get(name))?;
    match value
        .strip_prefix("var(--")
        .and_then(|v| v.strip_suffix(')'))
    {
        Some(alias) => colour(modes, alias),
        None => rgb(value),
    }
}

fn rgb(value: &str) -> Option<[u8; 3]> {
    let hex = value.strip_prefix('#')?;
    let full: String = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_owned(),
        _ => return None,
    };
    let channel = |i: usize| u8::from_str_radix(full.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG 2.x relative luminance of an sRGB colour.
fn luminance(srgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(srgb[0]) + 0.7152 * linear(srgb[1]) + 0.0722 * linear(srgb[2])
}

fn ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The failing pairs of one mode, as readable lines.
fn failures(mode: &str, modes: &[&Tokens]) -> Vec<String> {
    let known = |name: &str| {
        colour(modes, name).unwrap_or_else(|| panic!("--{name} is not a hex colour in {mode} mode"))
    };
    PAIRS
        .iter()
        .filter_map(|&(fg, bg, min)| {
            let r = ratio(known(fg), known(bg));
            (r < min).then(|| format!("{mode}: --{fg} on --{bg} is {r:.2}:1, needs {min}:1"))
        })
        .collect()
}

#[test]
fn ratio_matches_known_values() {
    assert!((ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    assert!((ratio([255, 255, 255], [255, 255, 255]) - 1.0).abs() < 1e-9);
    // The brand blue on white: why it may not carry text.
    let brand = rgb("#0a85c2").expect("hex");
    assert!((ratio(brand, [255, 255, 255]) - 4.08).abs() < 0.01);
    assert_eq!(rgb("#fff"), Some([255, 255, 255]));
    assert_eq!(rgb("var(--x)"), None);
}

#[test]
fn every_pair_meets_wcag_aa_in_both_modes() {
    let (light, dark) = (light(), dark());
    assert!(!dark.is_empty(), "no dark-mode :root block");
    let mut bad = failures("light", &[&light]);
    bad.extend(failures("dark", &[&dark, &light]));
    assert!(bad.is_empty(), "contrast too low:\n{}", bad.join("\n"));
}

#[test]
fn dark_mode_redefines_every_colour_token_but_the_brand_palette() {
    let (light, dark) = (light(), dark());
    let missing: Vec<&String> = light
        .keys()
        .filter(|name| !name.starts_with("brand-") && colour(&[&light], name).is_some())
        .filter(|name| !dark.contains_key(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "dark mode keeps the light value of {missing:?}"
    );
}

/// Hex colours and colour functions in the declarations of a rule.
fn hard_coded(body: &str) -> Vec<String> {
    let mut found: Vec<String> = body
        .match_indices('#')
        .map(|(i, _)| {
            let rest = &body[i + 1..];
            let end = rest.find(|c: char| !c.is_ascii_alphanumeric());
            &rest[..end.unwrap_or(rest.len())]
        })
        .filter(|h| matches!(h.len(), 3 | 4 | 6 | 8) && h.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|h| format!("#{h}"))
        .collect();
    for function in ["rgb(", "rgba(", "hsl(", "hsla("] {
        if body.contains(function) {
            found.push(function.to_owned());
        }
    }
    found
}

#[test]
fn rules_use_tokens_not_hard_coded_colours() {
    let css = uncommented();
    let offenders: Vec<String> = css
        .split('}')
        .filter_map(|rule| rule.rsplit_once('{'))
        .map(|(selector, body)| (selector.trim(), body))
        .filter(|(selector, _)| !selector.ends_with(":root"))
        .flat_map(|(selector, body)| {
            hard_coded(body)
                .into_iter()
                .map(move |c| format!("{selector}: {c}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "use a token from :root instead: {offenders:?}"
    );
}
