//! The instruction set of cairn's public VM (docs/protocol.md §5): a stack machine over 256-bit
//! words. Each opcode is one byte, followed by fixed-width immediates.

/// One opcode's static description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    /// Byte value.
    pub code: u8,
    /// Assembler mnemonic.
    pub name: &'static str,
    /// Immediate operand kind.
    pub imm: Imm,
    /// Base gas.
    pub gas: u64,
}

/// Immediate operand kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imm {
    /// None.
    None,
    /// One byte.
    U8,
    /// Big-endian u16 (jump targets).
    U16,
    /// A length byte n (1..=32) followed by n big-endian bytes (PUSH).
    Bytes,
}

macro_rules! ops {
    ($($name:ident = $code:expr, $mn:expr, $imm:ident, $gas:expr;)*) => {
        /// Opcode byte values.
        #[allow(missing_docs)]
        pub mod op {
            $(pub const $name: u8 = $code;)*
        }
        /// Every opcode.
        pub const OPS: &[OpInfo] = &[$(OpInfo { code: $code, name: $mn, imm: Imm::$imm, gas: $gas }),*];
    };
}

ops! {
    STOP = 0x00, "stop", None, 0;
    PUSH = 0x01, "push", Bytes, 2;
    POP = 0x02, "pop", None, 1;
    DUP = 0x03, "dup", U8, 2;
    SWAP = 0x04, "swap", U8, 2;
    ADD = 0x10, "add", None, 3;
    SUB = 0x11, "sub", None, 3;
    MUL = 0x12, "mul", None, 5;
    DIV = 0x13, "div", None, 5;
    MOD = 0x14, "mod", None, 5;
    LT = 0x15, "lt", None, 3;
    GT = 0x16, "gt", None, 3;
    EQ = 0x17, "eq", None, 3;
    ISZERO = 0x18, "iszero", None, 3;
    AND = 0x19, "and", None, 3;
    OR = 0x1a, "or", None, 3;
    XOR = 0x1b, "xor", None, 3;
    NOT = 0x1c, "not", None, 3;
    JUMP = 0x20, "jump", U16, 8;
    JUMPI = 0x21, "jumpi", U16, 10;
    CALLER = 0x30, "caller", None, 2;
    ADDRESS = 0x31, "address", None, 2;
    ARG = 0x32, "arg", U8, 3;
    ARGC = 0x33, "argc", None, 2;
    BLOCKNUM = 0x34, "blocknum", None, 2;
    CHAINID = 0x35, "chainid", None, 2;
    SELECTOR = 0x36, "selector", None, 2;
    SLOAD = 0x40, "sload", None, 200;
    SSTORE = 0x41, "sstore", None, 500;
    NULLIFY = 0x42, "nullify", None, 1000;
    NOTEHASH = 0x43, "notehash", None, 500;
    LOG = 0x44, "log", U8, 50;
    SENDL1 = 0x45, "sendl1", None, 500;
    POSEIDON = 0x46, "poseidon", U8, 100;
    CALL = 0x50, "call", U8, 700;
    RETURN = 0x51, "return", None, 0;
    REVERT = 0x52, "revert", None, 0;
    ASSERT = 0x53, "assert", U8, 3;
    RETDATA = 0x54, "retdata", None, 2;
}

/// Per-word extra gas for `log n` and `poseidon n`.
pub const GAS_PER_WORD: u64 = 20;

/// Looks up an opcode byte.
pub fn info(code: u8) -> Option<&'static OpInfo> {
    OPS.iter().find(|o| o.code == code)
}

/// Looks up a mnemonic.
pub fn by_name(name: &str) -> Option<&'static OpInfo> {
    OPS.iter().find(|o| o.name == name)
}
