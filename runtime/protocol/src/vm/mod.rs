//! cairn's public VM: instruction set, assembler/disassembler, interpreter, and the contracts
//! written in it (token, fee payment, counter).

pub mod asm;
pub mod contracts;
pub mod interp;
pub mod isa;
pub mod word;

pub use interp::{Call, Effects, Env, Outcome, Vm, VmError, VmState};
pub use word::Word;
