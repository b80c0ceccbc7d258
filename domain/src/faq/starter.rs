//! Starter FAQs per trade: the questions callers ask most, with answers written so an owner
//! only has to check them. No prices (those are the price list's), no promises the owner
//! has not made beyond what most licensed trades can say.

use super::Faq;

fn faq(question: &str, answer: &str) -> Faq {
    Faq {
        question: question.into(),
        answer: answer.into(),
    }
}

/// What every trade gets asked.
fn common() -> Vec<Faq> {
    vec![
        faq(
            "Are you licensed and insured?",
            "Yes, we're fully licensed and insured. Happy to send proof before the job.",
        ),
        faq(
            "What payment methods do you accept?",
            "We take all major credit and debit cards, cash and Zelle. Payment is due when the job is done.",
        ),
        faq(
            "Do you offer a warranty?",
            "Yes: our work is guaranteed for one year, and parts carry the maker's warranty.",
        ),
        faq(
            "What are your hours?",
            "We work Monday to Friday 8am to 5pm and take emergencies outside those hours.",
        ),
        faq(
            "What area do you serve?",
            "We serve the city and the surrounding towns. Send your address and we'll confirm.",
        ),
        faq(
            "Do you give free estimates?",
            "Yes, estimates are free. The owner confirms the price before any work starts.",
        ),
    ]
}

fn trade_specific(trade: &str) -> Vec<Faq> {
    match trade {
        "plumbing" => vec![
            faq(
                "Do you do emergency plumbing?",
                "Yes, we handle emergencies like burst pipes and sewer backups day and night. There is an extra fee for after-hours calls; the owner confirms it.",
            ),
            faq(
                "Do you work on tankless water heaters?",
                "Yes, we install and repair tank and tankless water heaters of all major brands.",
            ),
        ],
        "hvac" => vec![
            faq(
                "Do you do emergency heating and cooling repair?",
                "Yes, no heat or no cooling in extreme weather is an emergency and we come day and night. After-hours calls have an extra fee; the owner confirms it.",
            ),
            faq(
                "Do you offer maintenance plans?",
                "Yes, we offer yearly tune-up plans for furnaces and AC units. Ask and the owner will send the details.",
            ),
        ],
        "electrical" => vec![
            faq(
                "Do you pull permits?",
                "Yes, we pull the permits the job needs and handle the inspection.",
            ),
            faq(
                "Do you install EV chargers?",
                "Yes, we install home EV chargers, including any panel upgrade they need.",
            ),
        ],
        "handyman" => vec![faq(
            "Do you bring your own tools and materials?",
            "Yes, we bring our tools. Materials can be bought by us or by you, whichever you prefer.",
        )],
        "cleaning" => vec![
            faq(
                "Do you bring your own supplies?",
                "Yes, we bring all supplies and equipment, including eco-friendly products on request.",
            ),
            faq(
                "Do I need to be home during the cleaning?",
                "No, many clients give us a key or code. We'll agree on access before the first visit.",
            ),
        ],
        "auto" => vec![
            faq(
                "Do you come to me?",
                "Yes, we're mobile: we fix your vehicle at your home or workplace.",
            ),
            faq(
                "Do you work on all makes and models?",
                "We work on most domestic and import cars and light trucks. Tell us the year, make and model to confirm.",
            ),
        ],
        _ => vec![],
    }
}

/// The starter FAQ for a trade: the common questions, then the trade's own.
pub fn starter(trade: &str) -> Vec<Faq> {
    let mut all = common();
    all.extend(trade_specific(trade));
    all
}
