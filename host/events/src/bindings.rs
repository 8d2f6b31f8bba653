//! Types and glue generated from the WIT contract.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "detector",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});
