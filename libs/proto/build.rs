//! Compiles `proto/*.proto` with protox (pure Rust), so no `protoc` binary is needed.

use std::path::PathBuf;

const PROTOS: [&str; 4] = [
    "auth.proto",
    "broadcasts.proto",
    "chat.proto",
    "events.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time: a build script binary may be reused from another checkout of the workspace.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
