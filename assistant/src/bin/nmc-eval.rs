//! Scores the assistant on the evaluation set: `cargo run --release --bin nmc-eval`.

use nmc_assistant::{RulesAssistant, eval};

fn main() {
    let report = eval::block_on_ready(eval::score(&RulesAssistant, &eval::conversations()));
    eval::print("rules — development set (the rules were tuned on it)", &report);
    println!();
    let report = eval::block_on_ready(eval::score(&RulesAssistant, &eval::held_out()));
    eval::print("rules — held-out set (never tuned on)", &report);
}

