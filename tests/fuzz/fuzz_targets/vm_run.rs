//! Arbitrary bytecode in the VM: decoding either rejects it or the interpreter runs it within its
//! gas limit without panicking, and a failed call leaves no effect.
#![no_main]

use std::sync::OnceLock;

use cairn_protocol::state::{Genesis, WorldState};
use cairn_protocol::vm::asm::decode;
use cairn_protocol::vm::{Call, Env, Vm, Word};
use libfuzzer_sys::fuzz_target;

fn base() -> &'static WorldState {
    static S: OnceLock<WorldState> = OnceLock::new();
    S.get_or_init(|| WorldState::genesis(&Genesis { admin: [1; 20], fee_balances: vec![([1; 20], 1 << 60)], ..Default::default() }))
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let mut s = base().clone();
    let code = data[1..].to_vec();
    let valid = decode(&code).is_ok();
    s.contracts.insert(Word::from(0x99), code);
    let mut vm = Vm::new(&s, Env { block_number: 1, chain_id: 1 });
    let gas = 1_000 + u64::from(data[0]) * 1_000;
    let call = Call { contract: Word::from(0x99), selector: u32::from(data[0]), args: vec![Word::from(7), Word::ZERO] };
    let o = vm.call(Word::from(1), &call, gas);
    assert!(o.gas_used <= gas);
    if !valid {
        assert!(o.error.is_some());
    }
    if o.error.is_some() {
        assert_eq!(vm.effects, Default::default());
    }
});
