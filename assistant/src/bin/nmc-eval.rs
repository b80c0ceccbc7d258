//! Scores the assistant on the evaluation sets: `cargo run --release --bin nmc-eval`.
//! With OPENAI_BASE_URL (and OPENAI_API_KEY, NMC_LLM_MODEL) set, the LLM engine is scored too.

use nmc_assistant::{LlmAssistant, RulesAssistant, eval};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let report = eval::score(&RulesAssistant, &eval::conversations()).await;
    eval::print(
        "rules — development set (the rules were tuned on it)",
        &report,
    );
    println!();
    let report = eval::score(&RulesAssistant, &eval::held_out()).await;
    eval::print("rules — held-out set (never tuned on)", &report);
    if let Ok(base) = std::env::var("OPENAI_BASE_URL") {
        let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
        let model = std::env::var("NMC_LLM_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
        let llm = LlmAssistant::new(&base, &key, &model);
        let mut all = eval::conversations();
        all.extend(eval::held_out());
        println!();
        eval::print(
            &format!("llm {model} at {base} — both sets"),
            &eval::score(&llm, &all).await,
        );
    }
}
