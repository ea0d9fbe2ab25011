//! Properties of every ilab parser of what the platform sends or a store holds (issue
//! 13, "Parsers under fuzzing"; the inventory is docs/fuzzing.md): arbitrary bytes and
//! structure-aware mutations of the seed's answers never panic, and whatever is not a
//! valid answer is a typed error.

#[path = "../../../tokenkit-core/tests/fuzz/mod.rs"]
mod fuzz;

mod data_get;
mod pending;
mod reply;
mod ticket;
mod upload;
