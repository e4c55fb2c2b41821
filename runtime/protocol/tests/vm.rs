//! The public VM: assembler round trips, the built-in contracts, revert and gas semantics.

use ark_bn254::Fr;
use cairn_protocol::state::{Genesis, WorldState};
use cairn_protocol::vm::asm::{assemble, decode, disassemble, CodeError};
use cairn_protocol::vm::contracts::{self, sel, COUNTER_ADDRESS, TOKEN_ADDRESS};
use cairn_protocol::vm::{Call, Env, Vm, VmError, Word};

const ENV: Env = Env {
    block_number: 5,
    chain_id: 31337,
};
const ALICE: [u8; 20] = [0xa1; 20];
const BOB: [u8; 20] = [0xb0; 20];

fn w(a: &[u8; 20]) -> Word {
    Word::from_be_slice(a)
}

fn state() -> WorldState {
    WorldState::genesis(&Genesis {
        admin: ALICE,
        fee_balances: vec![(ALICE, 1_000_000)],
        token_balances: vec![(ALICE, 500)],
        ..Default::default()
    })
}

fn with_code(code: &[u8]) -> WorldState {
    let mut s = state();
    s.contracts.insert(Word::from(0x99), code.to_vec());
    s
}

#[test]
fn assembler_round_trips_and_rejects_bad_code() {
    for src in [
        contracts::COUNTER_SRC,
        contracts::TOKEN_SRC,
        contracts::FEE_SRC,
    ] {
        let code = assemble(src).unwrap();
        let text = disassemble(&code).unwrap();
        assert_eq!(assemble(&text).unwrap(), code, "{text}");
    }
    let code = assemble("push 0x0001\npush 7\nadd\nreturn").unwrap();
    assert_eq!(code, vec![0x01, 2, 0, 1, 0x01, 1, 7, 0x10, 0x51]);
    assert!(assemble("bogus")
        .unwrap_err()
        .to_string()
        .contains("unknown instruction"));
    assert!(assemble("jump nowhere")
        .unwrap_err()
        .to_string()
        .contains("unknown label"));
    assert!(assemble("dup 300")
        .unwrap_err()
        .to_string()
        .contains("byte"));
    assert!(assemble("a:\na:")
        .unwrap_err()
        .to_string()
        .contains("twice"));
    assert_eq!(
        decode(&[0xff]),
        Err(CodeError::UnknownOpcode {
            offset: 0,
            code: 0xff
        })
    );
    assert_eq!(
        decode(&[0x01, 33]),
        Err(CodeError::BadPush { offset: 0, len: 33 })
    );
    assert_eq!(decode(&[0x01, 2, 0]), Err(CodeError::Truncated(0)));
    assert_eq!(
        decode(&[0x20, 0, 1, 0x00]),
        Err(CodeError::BadJump {
            offset: 0,
            target: 1
        })
    );
}

#[test]
fn counter_and_token() {
    let s = state();
    let mut vm = Vm::new(&s, ENV);
    let inc = Call {
        contract: COUNTER_ADDRESS,
        selector: sel::INCREMENT,
        args: vec![],
    };
    for _ in 0..3 {
        assert_eq!(vm.call(w(&ALICE), &inc, 100_000).error, None);
    }
    let get = Call {
        contract: COUNTER_ADDRESS,
        selector: sel::GET,
        args: vec![],
    };
    assert_eq!(vm.call(w(&BOB), &get, 100_000).ret, Some(Word::from(3)));

    let transfer = |to: &[u8; 20], amount: u64| Call {
        contract: TOKEN_ADDRESS,
        selector: sel::TRANSFER,
        args: vec![w(to), Word::from(amount)],
    };
    let bal = |who: &[u8; 20]| Call {
        contract: TOKEN_ADDRESS,
        selector: sel::BALANCE_OF,
        args: vec![w(who)],
    };
    let o = vm.call(w(&ALICE), &transfer(&BOB, 200), 100_000);
    assert_eq!(o.error, None);
    assert!(o.gas_used > 1000, "{}", o.gas_used);
    assert_eq!(
        vm.call(w(&BOB), &bal(&ALICE), 100_000).ret,
        Some(Word::from(300))
    );
    assert_eq!(
        vm.call(w(&BOB), &bal(&BOB), 100_000).ret,
        Some(Word::from(200))
    );
    assert_eq!(vm.effects.logs.len(), 1);
    // Insufficient balance reverts with 11 and changes nothing.
    let before = vm.effects.clone();
    assert_eq!(
        vm.call(w(&BOB), &transfer(&ALICE, 201), 100_000).error,
        Some(VmError::Revert(11))
    );
    assert_eq!(vm.effects, before);
    // Only the admin mints.
    let mint = Call {
        contract: TOKEN_ADDRESS,
        selector: sel::MINT,
        args: vec![w(&BOB), Word::from(5)],
    };
    assert_eq!(
        vm.call(w(&BOB), &mint, 100_000).error,
        Some(VmError::Revert(10))
    );
    assert_eq!(vm.call(w(&ALICE), &mint, 100_000).error, None);
    // Shield burns public balance into a note hash.
    let shield = Call {
        contract: TOKEN_ADDRESS,
        selector: sel::SHIELD,
        args: vec![Word::from(50), Word::from(12345)],
    };
    assert_eq!(vm.call(w(&ALICE), &shield, 100_000).error, None);
    assert_eq!(vm.effects.note_hashes, vec![Fr::from(12345u64)]);
    assert_eq!(
        vm.call(w(&BOB), &bal(&ALICE), 100_000).ret,
        Some(Word::from(250))
    );
    // Unknown selector.
    let bad = Call {
        contract: TOKEN_ADDRESS,
        selector: 77,
        args: vec![],
    };
    assert_eq!(
        vm.call(w(&ALICE), &bad, 100_000).error,
        Some(VmError::Revert(1))
    );
    // The fee contract's protocol-only entry points.
    let pay = Call {
        contract: contracts::FEE_ADDRESS,
        selector: sel::PAY_FEE,
        args: vec![w(&ALICE), Word::from(10), w(&BOB)],
    };
    assert_eq!(
        vm.call(w(&ALICE), &pay, 100_000).error,
        Some(VmError::Revert(12))
    );
    assert_eq!(vm.call(Word::ZERO, &pay, 100_000).error, None);
}

#[test]
fn nested_call_reverts_roll_back_only_the_callee() {
    // Calls the counter's increment, then calls a reverting contract, then stops.
    let src = "push 1\npush 0xc0\ncall 0\nassert 1\npush 0\npush 0x98\ncall 0\niszero\nassert 2\npush 9\npush 0\nsstore\nstop";
    let mut s = with_code(&assemble(src).unwrap());
    s.contracts.insert(
        Word::from(0x98),
        assemble("push 1\npush 0\nsstore\npush 0\nnullify\npush 42\nrevert").unwrap(),
    );
    let mut vm = Vm::new(&s, ENV);
    let o = vm.call(
        w(&ALICE),
        &Call {
            contract: Word::from(0x99),
            selector: 0,
            args: vec![],
        },
        1_000_000,
    );
    assert_eq!(o.error, None);
    // Counter write + own write; the reverted callee's write and nullifier are gone.
    assert_eq!(vm.effects.writes.len(), 2);
    assert!(vm.effects.nullifiers.is_empty());
}

#[test]
fn limits_and_failures() {
    let run = |src: &str, gas: u64| {
        let s = with_code(&assemble(src).unwrap());
        let mut vm = Vm::new(&s, ENV);
        vm.call(
            w(&ALICE),
            &Call {
                contract: Word::from(0x99),
                selector: 0,
                args: vec![],
            },
            gas,
        )
    };
    // An infinite loop stops at the gas limit and consumes all of it.
    let o = run("l:\njump l", 10_000);
    assert_eq!((o.error, o.gas_used), (Some(VmError::OutOfGas), 10_000));
    // Stack overflow.
    assert_eq!(
        run("l:\npush 1\njump l", 10_000_000).error,
        Some(VmError::StackOverflow)
    );
    assert_eq!(run("pop", 100).error, Some(VmError::StackUnderflow));
    assert_eq!(
        run("push 1\npush 0\ndiv", 100).error,
        Some(VmError::Arithmetic)
    );
    assert_eq!(
        run("push 0\npush 1\nsub", 100).error,
        Some(VmError::Arithmetic)
    );
    // Values above the field cannot be stored.
    assert_eq!(
        run("push 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\npush 0\nsstore", 10_000).error,
        Some(VmError::FieldOverflow)
    );
    // A nullifier twice.
    assert_eq!(
        run("push 5\nnullify\npush 5\nnullify", 10_000).error,
        Some(VmError::DuplicateNullifier)
    );
    // Unbounded recursion hits the depth limit.
    let o = run("push 0\npush 0x99\ncall 0\nassert 3", 1_000_000);
    assert_eq!(o.error, Some(VmError::Revert(3)));
    assert_eq!(run("arg 0", 100).error, Some(VmError::MissingArg(0)));
    // A call to nowhere fails the callee only.
    assert_eq!(
        run("push 0\npush 0x1234\ncall 0\nreturn", 10_000).ret,
        Some(Word::ZERO)
    );
}
