//! The VM interpreter: runs a call against a state view, accumulating effects in a journal that
//! nested calls can roll back.

use std::collections::BTreeMap;

use ark_bn254::Fr;
use thiserror::Error;

use super::asm::{decode, CodeError, Insn};
use super::isa::{info, op, GAS_PER_WORD};
use super::word::Word;
use crate::poseidon::{domain, hash};

/// Deepest nesting of calls.
pub const MAX_CALL_DEPTH: usize = 8;
/// Largest stack.
pub const MAX_STACK: usize = 1024;
/// Most effects of each kind per transaction.
pub const MAX_EFFECTS: usize = 64;
/// Most words in one log.
pub const MAX_LOG_WORDS: usize = 16;
/// Most arguments of one call.
pub const MAX_ARGS: usize = 16;

/// What the VM reads from the world: public storage, nullifiers and code.
pub trait VmState {
    /// Value of a (siloed) public-data slot; zero if never written.
    fn public_read(&self, slot: &Fr) -> Fr;
    /// Whether a nullifier is already in the tree.
    fn nullifier_exists(&self, nullifier: &Fr) -> bool;
    /// Bytecode of a contract.
    fn contract_code(&self, address: &Word) -> Option<Vec<u8>>;
    /// Poseidon (a host primitive in components).
    fn poseidon(&self, domain: u64, inputs: &[Fr]) -> Fr {
        hash(domain, inputs)
    }
}

/// A log emitted by a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Emitting contract.
    pub contract: Word,
    /// Words.
    pub data: Vec<Word>,
}

/// A message to L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2ToL1 {
    /// Sending contract.
    pub sender: Word,
    /// L1 recipient.
    pub recipient: Word,
    /// Content.
    pub content: Word,
}

/// Everything a transaction's public execution changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Public-data writes by siloed slot (key in the boundary form, `field::fr_to_raw`) → value.
    pub writes: BTreeMap<[u8; 32], Fr>,
    /// Siloed nullifiers, in order.
    pub nullifiers: Vec<Fr>,
    /// Note hashes, in order.
    pub note_hashes: Vec<Fr>,
    /// Logs.
    pub logs: Vec<Log>,
    /// L2-to-L1 messages.
    pub l2_to_l1: Vec<L2ToL1>,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VmError {
    /// Gas ran out.
    #[error("out of gas")]
    OutOfGas,
    /// The contract reverted with a code.
    #[error("reverted with code {0}")]
    Revert(u64),
    /// Pop from an empty stack or `dup`/`swap` too deep.
    #[error("stack underflow")]
    StackUnderflow,
    /// Too many words.
    #[error("stack overflow")]
    StackOverflow,
    /// Overflow, underflow or division by zero.
    #[error("arithmetic error")]
    Arithmetic,
    /// A value written to a tree is not a field element.
    #[error("value is not a field element")]
    FieldOverflow,
    /// Call to an address with no code.
    #[error("no contract at {0}")]
    NoContract(String),
    /// Code that does not decode.
    #[error("invalid code: {0}")]
    InvalidCode(CodeError),
    /// Nesting too deep.
    #[error("call depth exceeded")]
    CallDepth,
    /// A nullifier that already exists (in the tree or earlier in this transaction).
    #[error("duplicate nullifier")]
    DuplicateNullifier,
    /// Too many effects, log words or arguments.
    #[error("effect limit exceeded")]
    Limit,
    /// `arg i` beyond the arguments.
    #[error("missing argument {0}")]
    MissingArg(u8),
}

impl VmError {
    /// A short stable code for receipts and errors.
    pub fn code(&self) -> &'static str {
        match self {
            VmError::OutOfGas => "out-of-gas",
            VmError::Revert(_) => "revert",
            VmError::StackUnderflow => "stack-underflow",
            VmError::StackOverflow => "stack-overflow",
            VmError::Arithmetic => "arithmetic",
            VmError::FieldOverflow => "field-overflow",
            VmError::NoContract(_) => "no-contract",
            VmError::InvalidCode(_) => "invalid-code",
            VmError::CallDepth => "call-depth",
            VmError::DuplicateNullifier => "duplicate-nullifier",
            VmError::Limit => "limit",
            VmError::MissingArg(_) => "missing-arg",
        }
    }
}

/// Environment of one transaction's execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Env {
    /// L2 block number.
    pub block_number: u64,
    /// L1 chain id.
    pub chain_id: u64,
}

/// A call request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Callee.
    pub contract: Word,
    /// Function selector.
    pub selector: u32,
    /// Arguments.
    pub args: Vec<Word>,
}

/// The siloed public-data key of `slot` in `contract`.
pub fn public_slot(state: &dyn VmState, contract: &Word, slot: &Word) -> Result<Fr, VmError> {
    let c = contract.to_fr().ok_or(VmError::FieldOverflow)?;
    let s = slot.to_fr().ok_or(VmError::FieldOverflow)?;
    Ok(state.poseidon(domain::PUBLIC_SLOT, &[c, s]))
}

struct Program {
    insns: Vec<Insn>,
    at: BTreeMap<usize, usize>,
}

/// Decoded contract code, kept across the txs of a block (code cannot change within one).
#[derive(Default)]
pub struct Programs(BTreeMap<Word, std::rc::Rc<Program>>);

/// Runs calls for one transaction, keeping decoded code and the effect journal.
pub struct Vm<'a> {
    state: &'a dyn VmState,
    env: Env,
    programs: Programs,
    /// Effects so far (committed frames only).
    pub effects: Effects,
}

/// Result of a top-level call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Gas consumed.
    pub gas_used: u64,
    /// Returned word, if any.
    pub ret: Option<Word>,
    /// Failure, if the call failed (its effects were rolled back).
    pub error: Option<VmError>,
}

impl<'a> Vm<'a> {
    /// A VM over `state`.
    pub fn new(state: &'a dyn VmState, env: Env) -> Self {
        Self::with_programs(state, env, Programs::default())
    }

    /// A VM reusing code decoded by earlier VMs of the same block.
    pub fn with_programs(state: &'a dyn VmState, env: Env, programs: Programs) -> Self {
        Self {
            state,
            env,
            programs,
            effects: Effects::default(),
        }
    }

    /// The effects and the decoded-code cache.
    pub fn into_parts(self) -> (Effects, Programs) {
        (self.effects, self.programs)
    }

    /// Reads a slot through the journal.
    pub fn read(&self, key: &Fr) -> Fr {
        match self.effects.writes.get(&crate::field::fr_to_raw(key)) {
            Some(v) => *v,
            None => self.state.public_read(key),
        }
    }

    fn program(&mut self, contract: &Word) -> Result<std::rc::Rc<Program>, VmError> {
        if let Some(p) = self.programs.0.get(contract) {
            return Ok(p.clone());
        }
        let code = self.state.contract_code(contract).ok_or_else(|| {
            VmError::NoContract(format!("0x{}", hex::encode(&contract.to_be_bytes()[12..])))
        })?;
        let insns = decode(&code).map_err(VmError::InvalidCode)?;
        let at = insns
            .iter()
            .enumerate()
            .map(|(i, x)| (x.offset, i))
            .collect();
        let p = std::rc::Rc::new(Program { insns, at });
        self.programs.0.insert(*contract, p.clone());
        Ok(p)
    }

    /// Runs `call` from `caller` with `gas`; on failure its effects are rolled back.
    pub fn call(&mut self, caller: Word, call: &Call, gas: u64) -> Outcome {
        self.frame(caller, call, gas, 0)
    }

    fn frame(&mut self, caller: Word, call: &Call, gas: u64, depth: usize) -> Outcome {
        let saved = self.effects.clone();
        let mut left = gas;
        let r = self.run(caller, call, &mut left, depth);
        match r {
            Ok(ret) => Outcome {
                gas_used: gas - left,
                ret,
                error: None,
            },
            Err(e) => {
                self.effects = saved;
                // An explicit revert keeps its unused gas; any other failure consumes it all.
                let used = if matches!(e, VmError::Revert(_)) {
                    gas - left
                } else {
                    gas
                };
                Outcome {
                    gas_used: used,
                    ret: None,
                    error: Some(e),
                }
            }
        }
    }

    fn run(
        &mut self,
        caller: Word,
        call: &Call,
        gas: &mut u64,
        depth: usize,
    ) -> Result<Option<Word>, VmError> {
        if depth >= MAX_CALL_DEPTH {
            return Err(VmError::CallDepth);
        }
        if call.args.len() > MAX_ARGS {
            return Err(VmError::Limit);
        }
        let prog = self.program(&call.contract)?;
        let mut stack: Vec<Word> = Vec::with_capacity(32);
        let mut last_ret = Word::ZERO;
        let mut pc = 0usize;
        macro_rules! pop {
            () => {
                stack.pop().ok_or(VmError::StackUnderflow)?
            };
        }
        macro_rules! push {
            ($v:expr) => {{
                if stack.len() >= MAX_STACK {
                    return Err(VmError::StackOverflow);
                }
                stack.push($v);
            }};
        }
        macro_rules! charge {
            ($g:expr) => {{
                let g: u64 = $g;
                if *gas < g {
                    *gas = 0;
                    return Err(VmError::OutOfGas);
                }
                *gas -= g;
            }};
        }
        let bool_word = |b: bool| if b { Word::ONE } else { Word::ZERO };
        loop {
            let Some(insn) = prog.insns.get(pc) else {
                return Ok(None); // running off the end is `stop`
            };
            let base = info(insn.code).map(|i| i.gas).unwrap_or(0);
            charge!(base);
            let imm = insn.imm.unwrap_or_default();
            pc += 1;
            match insn.code {
                op::STOP => return Ok(None),
                op::PUSH => push!(imm),
                op::POP => {
                    pop!();
                }
                op::DUP => {
                    let i = imm.low_u64() as usize;
                    let v = *stack
                        .len()
                        .checked_sub(1 + i)
                        .and_then(|k| stack.get(k))
                        .ok_or(VmError::StackUnderflow)?;
                    push!(v);
                }
                op::SWAP => {
                    let i = imm.low_u64() as usize;
                    let n = stack.len();
                    if i == 0 || n < i + 1 {
                        return Err(VmError::StackUnderflow);
                    }
                    stack.swap(n - 1, n - 1 - i);
                }
                op::ADD
                | op::SUB
                | op::MUL
                | op::DIV
                | op::MOD
                | op::LT
                | op::GT
                | op::EQ
                | op::AND
                | op::OR
                | op::XOR => {
                    let b = pop!();
                    let a = pop!();
                    let r = match insn.code {
                        op::ADD => a.checked_add(b).ok_or(VmError::Arithmetic)?,
                        op::SUB => a.checked_sub(b).ok_or(VmError::Arithmetic)?,
                        op::MUL => a.checked_mul(b).ok_or(VmError::Arithmetic)?,
                        op::DIV => a.div_rem(b).ok_or(VmError::Arithmetic)?.0,
                        op::MOD => a.div_rem(b).ok_or(VmError::Arithmetic)?.1,
                        op::LT => bool_word(a < b),
                        op::GT => bool_word(a > b),
                        op::EQ => bool_word(a == b),
                        op::AND => a.and(b),
                        op::OR => a.or(b),
                        _ => a.xor(b),
                    };
                    push!(r);
                }
                op::ISZERO => {
                    let a = pop!();
                    push!(bool_word(a.is_zero()));
                }
                op::NOT => {
                    let a = pop!();
                    push!(a.bit_not());
                }
                op::JUMP => {
                    pc = *prog
                        .at
                        .get(&(imm.low_u64() as usize))
                        .ok_or(VmError::StackUnderflow)?;
                }
                op::JUMPI => {
                    let c = pop!();
                    if !c.is_zero() {
                        pc = *prog
                            .at
                            .get(&(imm.low_u64() as usize))
                            .ok_or(VmError::StackUnderflow)?;
                    }
                }
                op::CALLER => push!(caller),
                op::ADDRESS => push!(call.contract),
                op::ARG => {
                    let i = imm.low_u64() as u8;
                    let v = *call.args.get(i as usize).ok_or(VmError::MissingArg(i))?;
                    push!(v);
                }
                op::ARGC => push!(Word::from(call.args.len() as u64)),
                op::BLOCKNUM => push!(Word::from(self.env.block_number)),
                op::CHAINID => push!(Word::from(self.env.chain_id)),
                op::SELECTOR => push!(Word::from(u64::from(call.selector))),
                op::SLOAD => {
                    let slot = pop!();
                    let key = public_slot(self.state, &call.contract, &slot)?;
                    push!(Word::from_fr(&self.read(&key)));
                }
                op::SSTORE => {
                    let slot = pop!();
                    let value = pop!();
                    let key = public_slot(self.state, &call.contract, &slot)?;
                    let v = value.to_fr().ok_or(VmError::FieldOverflow)?;
                    self.effects.writes.insert(crate::field::fr_to_raw(&key), v);
                }
                op::NULLIFY => {
                    let v = pop!();
                    let c = call.contract.to_fr().ok_or(VmError::FieldOverflow)?;
                    let raw = v.to_fr().ok_or(VmError::FieldOverflow)?;
                    let n = self.state.poseidon(domain::SILOED_NULLIFIER, &[c, raw]);
                    if self.effects.nullifiers.len() >= MAX_EFFECTS {
                        return Err(VmError::Limit);
                    }
                    if self.effects.nullifiers.contains(&n) || self.state.nullifier_exists(&n) {
                        return Err(VmError::DuplicateNullifier);
                    }
                    self.effects.nullifiers.push(n);
                }
                op::NOTEHASH => {
                    let v = pop!().to_fr().ok_or(VmError::FieldOverflow)?;
                    if self.effects.note_hashes.len() >= MAX_EFFECTS {
                        return Err(VmError::Limit);
                    }
                    self.effects.note_hashes.push(v);
                }
                op::LOG => {
                    let n = imm.low_u64() as usize;
                    if n > MAX_LOG_WORDS || self.effects.logs.len() >= MAX_EFFECTS {
                        return Err(VmError::Limit);
                    }
                    charge!(GAS_PER_WORD * n as u64);
                    let mut data = Vec::with_capacity(n);
                    for _ in 0..n {
                        data.push(pop!());
                    }
                    self.effects.logs.push(Log {
                        contract: call.contract,
                        data,
                    });
                }
                op::SENDL1 => {
                    let recipient = pop!();
                    let content = pop!();
                    if self.effects.l2_to_l1.len() >= MAX_EFFECTS {
                        return Err(VmError::Limit);
                    }
                    self.effects.l2_to_l1.push(L2ToL1 {
                        sender: call.contract,
                        recipient,
                        content,
                    });
                }
                op::POSEIDON => {
                    let n = imm.low_u64() as usize;
                    if n > MAX_LOG_WORDS {
                        return Err(VmError::Limit);
                    }
                    charge!(GAS_PER_WORD * n as u64);
                    let mut xs = Vec::with_capacity(n);
                    for _ in 0..n {
                        xs.push(pop!().to_fr().ok_or(VmError::FieldOverflow)?);
                    }
                    push!(Word::from_fr(&self.state.poseidon(domain::APP, &xs)));
                }
                op::CALL => {
                    // Stack (top first): contract, selector, then `argc` arguments.
                    let argc = imm.low_u64() as usize;
                    if argc > MAX_ARGS {
                        return Err(VmError::Limit);
                    }
                    let contract = pop!();
                    let selector = pop!();
                    if !selector.fits_u64() || selector.low_u64() > u64::from(u32::MAX) {
                        return Err(VmError::Arithmetic);
                    }
                    let mut args = Vec::with_capacity(argc);
                    for _ in 0..argc {
                        args.push(pop!());
                    }
                    let sub = Call {
                        contract,
                        selector: selector.low_u64() as u32,
                        args,
                    };
                    let saved = self.effects.clone();
                    // The callee gets all but 1/64 of the remaining gas, so that a caller can
                    // always handle its callee's failure.
                    let kept = *gas / 64;
                    let mut sub_gas = *gas - kept;
                    let r = self.run(call.contract, &sub, &mut sub_gas, depth + 1);
                    match r {
                        Ok(ret) => {
                            *gas = kept + sub_gas;
                            last_ret = ret.unwrap_or_default();
                            push!(Word::ONE);
                        }
                        Err(e) => {
                            self.effects = saved;
                            // A revert returns its unused gas; any other failure burns it.
                            *gas = kept
                                + if matches!(e, VmError::Revert(_)) {
                                    sub_gas
                                } else {
                                    0
                                };
                            last_ret = Word::ZERO;
                            push!(Word::ZERO);
                        }
                    }
                }
                op::RETURN => {
                    let v = pop!();
                    return Ok(Some(v));
                }
                op::REVERT => {
                    let c = pop!();
                    return Err(VmError::Revert(if c.fits_u64() {
                        c.low_u64()
                    } else {
                        u64::MAX
                    }));
                }
                op::ASSERT => {
                    let c = pop!();
                    if c.is_zero() {
                        return Err(VmError::Revert(imm.low_u64()));
                    }
                }
                op::RETDATA => push!(last_ret),
                _ => {
                    return Err(VmError::InvalidCode(CodeError::UnknownOpcode {
                        offset: insn.offset,
                        code: insn.code,
                    }))
                }
            }
        }
    }
}
