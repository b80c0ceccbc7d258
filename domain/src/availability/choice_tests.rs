use super::*;

fn offers(tz: Tz) -> Vec<Slot> {
    // Tue Dec 1 8:00 and 13:00, Wed Dec 2 10:00, Thu Dec 3 15:00 (Chicago).
    [(1, 8), (1, 13), (2, 10), (3, 15)]
        .iter()
        .map(|(d, h)| {
            let start = tz
                .with_ymd_and_hms(2026, 12, *d, *h, 0, 0)
                .unwrap()
                .with_timezone(&Utc);
            Slot {
                technician: Uuid::nil(),
                start,
                end: start + Duration::minutes(90),
            }
        })
        .collect()
}

#[test]
fn offers_spread_over_days_and_halves_of_the_day() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let at = |d: u32, h: u32, tech: u128| {
        let start = tz
            .with_ymd_and_hms(2026, 12, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        Slot {
            technician: Uuid::from_u128(tech),
            start,
            end: start + Duration::minutes(60),
        }
    };
    // Two technicians free at the same times, several slots a morning.
    let slots = vec![
        at(1, 8, 1),
        at(1, 8, 2),
        at(1, 9, 1),
        at(1, 10, 1),
        at(1, 13, 1),
        at(1, 14, 2),
        at(2, 8, 1),
        at(2, 9, 2),
    ];
    let picked = pick_offers(tz, &slots, 4);
    let starts: Vec<_> = picked
        .iter()
        .map(|s| {
            tz.from_utc_datetime(&s.start.naive_utc())
                .format("%d %H")
                .to_string()
        })
        .collect();
    assert_eq!(starts, vec!["01 08", "01 09", "01 13", "02 08"]);
    assert_eq!(pick_offers(tz, &slots[..1], 4).len(), 1);
}

#[test]
fn offers_read_like_a_text() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let text = offer_lines(tz, &offers(tz));
    assert_eq!(text.lines().next(), Some("1) Tue Dec 1, 8am–9:30am"));
    assert_eq!(text.lines().nth(3), Some("4) Thu Dec 3, 3pm–4:30pm"));
}

#[test]
fn callers_pick_in_their_own_words() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let o = offers(tz);
    for (reply, want) in [
        ("2", Choice::Picked(1)),
        ("#3 please", Choice::Picked(2)),
        ("option 4", Choice::Picked(3)),
        ("the first one", Choice::Picked(0)),
        ("tue 1pm", Choice::Picked(1)),
        ("tue 8", Choice::Picked(0)),
        ("wed 10", Choice::Picked(2)),
        ("thursday at 3", Choice::Picked(3)),
        ("the morning one on tuesday", Choice::Picked(0)),
        ("wednesday works", Choice::Picked(2)),
        ("none of those", Choice::NoneOfThese),
        ("no, something later", Choice::NoneOfThese),
        ("tuesday", Choice::Unclear),
        ("7", Choice::Unclear),
        ("what?", Choice::Unclear),
    ] {
        assert_eq!(parse_choice(reply, tz, &o), want, "{reply}");
    }
}
