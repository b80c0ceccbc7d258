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
