//! Generates the Sparkplug B payload types from `proto/sparkplug_b.proto`, compiled by protox (pure
//! Rust: no system `protoc` to install).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/sparkplug_b.proto");
    let descriptors = protox::compile(["sparkplug_b.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
