//! Scores the assistant on the evaluation sets: `cargo run --release --bin nmc-eval`.
//! With OPENAI_BASE_URL (and OPENAI_API_KEY, NMC_LLM_MODEL) set, the LLM engine is scored too.

use nmc_assistant::{Assistant, LlmAssistant, RulesAssistant, eval, eval_knows};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `--knowledge`: the model plays the knowledge sets alone (its run of the others is long).
    let only_knowledge = std::env::args().any(|a| a == "--knowledge");
    let report = eval::score(&RulesAssistant, &eval::conversations()).await;
    eval::print(
        "rules — development set (the rules were tuned on it)",
        &report,
    );
    println!();
    let report = eval::score(&RulesAssistant, &eval::held_out()).await;
    eval::print("rules — held-out set (never tuned on)", &report);
    knowledge(&RulesAssistant, "rules").await;
    if let Ok(base) = std::env::var("OPENAI_BASE_URL") {
        let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
        let model = std::env::var("NMC_LLM_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
        let llm = LlmAssistant::new(&base, &key, &model);
        let mut all = eval::conversations();
        all.extend(eval::held_out());
        if !only_knowledge {
            println!();
            eval::print(
                &format!("llm {model} at {base} — both sets"),
                &eval::score(&llm, &all).await,
            );
        }
        knowledge(&llm, &format!("llm {model}")).await;
    }
}

/// The knowledge sets (FAQ, service area, preferred time, returning callers), both halves.
async fn knowledge<A: Assistant>(engine: &A, name: &str) {
    for (set, cases) in [
        ("development", eval_knows::development()),
        ("held out", eval_knows::held_out()),
    ] {
        println!();
        let r = eval_knows::score(engine, &cases).await;
        eval_knows::print(&format!("{name} — knowledge, {set}"), &r);
    }
}
