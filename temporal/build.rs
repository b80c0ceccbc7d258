//! Keeps the Temporal API descriptor set (built by temporalio-protos, handed over through its
//! `links` metadata) so `replay` can read histories in proto3 JSON, the form the `temporal` CLI exports.
fn main() {
    let src = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .expect("temporalio-protos exposes its descriptor set");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap())
        .join("temporal_descriptors.bin");
    std::fs::copy(&src, &out).expect("copy the descriptor set");
    println!("cargo:rerun-if-changed={src}");
}
