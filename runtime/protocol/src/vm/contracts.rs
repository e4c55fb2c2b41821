//! Contracts written in the VM's assembly (`runtime/protocol/contracts/*.casm`), assembled at
//! first use, and their genesis addresses.

use std::sync::OnceLock;

use super::asm::assemble;
use super::word::Word;

/// Counter contract source.
pub const COUNTER_SRC: &str = include_str!("../../contracts/counter.casm");
/// Token contract source.
pub const TOKEN_SRC: &str = include_str!("../../contracts/token.casm");
/// Fee payment contract source.
pub const FEE_SRC: &str = include_str!("../../contracts/fee.casm");

/// Genesis address of the fee payment contract.
pub const FEE_ADDRESS: Word = Word([0xfee, 0, 0, 0]);
/// Genesis address of the token.
pub const TOKEN_ADDRESS: Word = Word([0x7e, 0, 0, 0]);
/// Genesis address of the counter.
pub const COUNTER_ADDRESS: Word = Word([0xc0, 0, 0, 0]);

/// Selectors.
pub mod sel {
    /// Counter: increment().
    pub const INCREMENT: u32 = 1;
    /// Counter: get().
    pub const GET: u32 = 2;
    /// Token/fee: mint(to, amount).
    pub const MINT: u32 = 1;
    /// Token/fee: transfer(to, amount).
    pub const TRANSFER: u32 = 2;
    /// Token/fee: balance_of(a).
    pub const BALANCE_OF: u32 = 3;
    /// Token: shield(amount, note_hash).
    pub const SHIELD: u32 = 4;
    /// Fee: pay_fee(payer, amount, recipient).
    pub const PAY_FEE: u32 = 5;
    /// Fee: refund(payer, amount, recipient).
    pub const REFUND: u32 = 6;
}

fn build(src: &'static str, cell: &'static OnceLock<Vec<u8>>) -> &'static [u8] {
    // The sources are part of the build and tested; a failure here is a defect, not input.
    cell.get_or_init(|| assemble(src).expect("built-in contract assembles"))
}

/// Counter bytecode.
pub fn counter() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    build(COUNTER_SRC, &C)
}

/// Token bytecode.
pub fn token() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    build(TOKEN_SRC, &C)
}

/// Fee payment contract bytecode.
pub fn fee() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    build(FEE_SRC, &C)
}
