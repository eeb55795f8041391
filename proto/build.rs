//! Compiles the `.proto` files with protox (a pure-Rust protobuf compiler, so no system
//! `protoc` is needed) and generates the tonic client and server code.

fn main() -> anyhow::Result<()> {
    let protos = [
        "proto/inference.proto",
        "proto/model_repository.proto",
        "proto/health.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Undecodable messages are INVALID_ARGUMENT, not tonic's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::ProstCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
