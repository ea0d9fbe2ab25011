//! Properties of the Redis record codec (issue 13, "Parsers under fuzzing"; the
//! inventory is docs/fuzzing.md): whatever the state hash holds — arbitrary bytes, or
//! mutations of what this crate wrote — is a token or a store error, never a panic.

#[path = "../../../tokenkit-core/tests/fuzz/mod.rs"]
mod fuzz;

mod codec;
