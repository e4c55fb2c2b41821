//! Assembler and disassembler for the public VM (`cairn vm asm|disasm`).
//!
//! Source is one instruction per line: `mnemonic [operand]`, `label:` definitions, `;` comments.
//! `push` takes a decimal or `0x` hex number (up to 256 bits); `jump`/`jumpi` take a label or a
//! byte offset; `dup`, `swap`, `arg`, `log`, `poseidon`, `call`, `assert` take a byte.

use std::collections::BTreeMap;

use thiserror::Error;

use super::isa::{by_name, info, op, Imm};
use super::word::Word;

/// An assembly error, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct AsmError {
    /// Source line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A bytecode decoding error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    /// Unknown opcode.
    #[error("unknown opcode 0x{code:02x} at offset {offset}")]
    UnknownOpcode {
        /// Byte offset.
        offset: usize,
        /// The byte.
        code: u8,
    },
    /// An immediate runs past the end.
    #[error("truncated instruction at offset {0}")]
    Truncated(usize),
    /// A push length outside 1..=32.
    #[error("push of {len} bytes at offset {offset} (must be 1..=32)")]
    BadPush {
        /// Byte offset.
        offset: usize,
        /// Length byte.
        len: u8,
    },
    /// A jump to something that is not an instruction start.
    #[error("jump at offset {offset} targets {target}, which is not an instruction boundary")]
    BadJump {
        /// Byte offset of the jump.
        offset: usize,
        /// Target.
        target: usize,
    },
    /// Code larger than the limit.
    #[error("code is {0} bytes; the limit is {MAX_CODE} bytes")]
    TooLarge(usize),
}

/// Largest contract code.
pub const MAX_CODE: usize = 24 * 1024;

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insn {
    /// Byte offset.
    pub offset: usize,
    /// Opcode.
    pub code: u8,
    /// Immediate (push value, byte or jump target), if any.
    pub imm: Option<Word>,
    /// Encoded length.
    pub len: usize,
}

/// Decodes and validates bytecode: every opcode known, no truncated immediate, every jump to an
/// instruction start. The VM only runs code that passes this.
pub fn decode(code: &[u8]) -> Result<Vec<Insn>, CodeError> {
    if code.len() > MAX_CODE {
        return Err(CodeError::TooLarge(code.len()));
    }
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let c = code[pc];
        let i = info(c).ok_or(CodeError::UnknownOpcode {
            offset: pc,
            code: c,
        })?;
        let (imm, len) = match i.imm {
            Imm::None => (None, 1),
            Imm::U8 => (
                Some(Word::from(u64::from(
                    *code.get(pc + 1).ok_or(CodeError::Truncated(pc))?,
                ))),
                2,
            ),
            Imm::U16 => {
                let b = code.get(pc + 1..pc + 3).ok_or(CodeError::Truncated(pc))?;
                (
                    Some(Word::from(u64::from(u16::from_be_bytes([b[0], b[1]])))),
                    3,
                )
            }
            Imm::Bytes => {
                let n = *code.get(pc + 1).ok_or(CodeError::Truncated(pc))?;
                if n == 0 || n > 32 {
                    return Err(CodeError::BadPush { offset: pc, len: n });
                }
                let b = code
                    .get(pc + 2..pc + 2 + n as usize)
                    .ok_or(CodeError::Truncated(pc))?;
                (Some(Word::from_be_slice(b)), 2 + n as usize)
            }
        };
        out.push(Insn {
            offset: pc,
            code: c,
            imm,
            len,
        });
        pc += len;
    }
    let starts: std::collections::BTreeSet<usize> = out.iter().map(|i| i.offset).collect();
    for i in &out {
        if i.code == op::JUMP || i.code == op::JUMPI {
            let t = i.imm.map(|w| w.low_u64() as usize).unwrap_or(usize::MAX);
            if !starts.contains(&t) {
                return Err(CodeError::BadJump {
                    offset: i.offset,
                    target: t,
                });
            }
        }
    }
    Ok(out)
}

fn parse_number(s: &str) -> Option<Word> {
    if let Some(h) = s.strip_prefix("0x") {
        Word::from_hex(h)
    } else {
        Word::from_dec(s)
    }
}

/// The bytes a `push` operand encodes to: hex literals keep their written width (so that
/// disassembly round-trips exactly), decimal ones use the fewest bytes.
fn push_bytes(s: &str) -> Option<Vec<u8>> {
    let v = parse_number(s)?;
    let min = v.min_be_bytes();
    match s.strip_prefix("0x") {
        Some(h) => {
            let width = h.len().div_ceil(2).max(min.len());
            (width <= 32).then(|| v.to_be_bytes()[32 - width..].to_vec())
        }
        None => Some(min),
    }
}

/// Assembles source into bytecode.
pub fn assemble(src: &str) -> Result<Vec<u8>, AsmError> {
    // Two passes: sizes and labels, then bytes.
    struct Line<'a> {
        line: usize,
        mnemonic: &'a str,
        operand: Option<&'a str>,
    }
    let mut lines = Vec::new();
    let mut labels: BTreeMap<&str, usize> = BTreeMap::new();
    let mut offset = 0usize;
    for (n, raw) in src.lines().enumerate() {
        let line = n + 1;
        let text = raw.split(';').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        if let Some(label) = text.strip_suffix(':') {
            let label = label.trim();
            if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(AsmError {
                    line,
                    message: format!("bad label {label:?}"),
                });
            }
            if labels.insert(label, offset).is_some() {
                return Err(AsmError {
                    line,
                    message: format!("label {label} defined twice"),
                });
            }
            continue;
        }
        let mut parts = text.split_whitespace();
        let mnemonic = parts.next().unwrap_or_default();
        let operand = parts.next();
        if parts.next().is_some() {
            return Err(AsmError {
                line,
                message: "too many operands".into(),
            });
        }
        let i = by_name(mnemonic).ok_or_else(|| AsmError {
            line,
            message: format!("unknown instruction {mnemonic:?}"),
        })?;
        let size = match i.imm {
            Imm::None => 1,
            Imm::U8 => 2,
            Imm::U16 => 3,
            Imm::Bytes => {
                let b = operand.and_then(push_bytes).ok_or_else(|| AsmError {
                    line,
                    message: "push needs a number (decimal or 0x hex, up to 256 bits)".into(),
                })?;
                2 + b.len()
            }
        };
        match (i.imm, operand) {
            (Imm::None, Some(_)) => {
                return Err(AsmError {
                    line,
                    message: format!("{mnemonic} takes no operand"),
                })
            }
            (Imm::U8 | Imm::U16, None) => {
                return Err(AsmError {
                    line,
                    message: format!("{mnemonic} needs an operand"),
                })
            }
            _ => {}
        }
        lines.push(Line {
            line,
            mnemonic,
            operand,
        });
        offset += size;
    }
    let mut out = Vec::with_capacity(offset);
    for l in &lines {
        let i = by_name(l.mnemonic).ok_or_else(|| AsmError {
            line: l.line,
            message: "unknown instruction".into(),
        })?;
        out.push(i.code);
        match i.imm {
            Imm::None => {}
            Imm::U8 => {
                let s = l.operand.unwrap_or_default();
                let v = parse_number(s)
                    .filter(|w| w.fits_u64() && w.low_u64() <= 255)
                    .ok_or_else(|| AsmError {
                        line: l.line,
                        message: format!("{} needs a byte (0..=255), got {s:?}", l.mnemonic),
                    })?;
                out.push(v.low_u64() as u8);
            }
            Imm::U16 => {
                let s = l.operand.unwrap_or_default();
                let target = match labels.get(s) {
                    Some(t) => *t,
                    None => parse_number(s)
                        .filter(|w| w.fits_u64())
                        .map(|w| w.low_u64() as usize)
                        .ok_or_else(|| AsmError {
                            line: l.line,
                            message: format!("unknown label {s:?}"),
                        })?,
                };
                let t = u16::try_from(target).map_err(|_| AsmError {
                    line: l.line,
                    message: "jump target beyond 65535".into(),
                })?;
                out.extend_from_slice(&t.to_be_bytes());
            }
            Imm::Bytes => {
                let b = l.operand.and_then(push_bytes).unwrap_or_else(|| vec![0]);
                out.push(b.len() as u8);
                out.extend_from_slice(&b);
            }
        }
    }
    decode(&out).map_err(|e| AsmError {
        line: 0,
        message: e.to_string(),
    })?;
    Ok(out)
}

/// Disassembles bytecode to source that assembles back to the same bytes (jump targets become
/// `L<offset>` labels).
pub fn disassemble(code: &[u8]) -> Result<String, CodeError> {
    let insns = decode(code)?;
    let targets: std::collections::BTreeSet<usize> = insns
        .iter()
        .filter(|i| i.code == op::JUMP || i.code == op::JUMPI)
        .filter_map(|i| i.imm.map(|w| w.low_u64() as usize))
        .collect();
    let mut out = String::new();
    for i in &insns {
        if targets.contains(&i.offset) {
            out.push_str(&format!("L{}:\n", i.offset));
        }
        let name = info(i.code).map(|o| o.name).unwrap_or("?");
        match (i.code, i.imm) {
            (op::JUMP | op::JUMPI, Some(t)) => {
                out.push_str(&format!("    {name} L{}\n", t.low_u64()))
            }
            (op::PUSH, Some(v)) => {
                let width = i.len - 2;
                out.push_str(&format!(
                    "    {name} 0x{}\n",
                    hex::encode(&v.to_be_bytes()[32 - width..])
                ))
            }
            (_, Some(v)) => out.push_str(&format!("    {name} {}\n", v.low_u64())),
            (_, None) => out.push_str(&format!("    {name}\n")),
        }
    }
    Ok(out)
}
