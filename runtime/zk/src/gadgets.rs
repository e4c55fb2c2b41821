//! Poseidon and Merkle-path gadgets, written from the same parameters as
//! `cairn_protocol::poseidon` (and tested equal to it).

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;
use cairn_protocol::merkle::DEPTH;
use cairn_protocol::poseidon::{initial_capacity, params, FULL_ROUNDS, PARTIAL_ROUNDS, T};

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The Poseidon permutation in constraints (243 multiplications).
pub fn permute(state: &mut [FpVar<Fr>; T]) -> Result<(), SynthesisError> {
    let p = params();
    let half = FULL_ROUNDS / 2;
    for r in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.rc[r * T + i];
        }
        if r < half || r >= half + PARTIAL_ROUNDS {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        let old = state.clone();
        for (i, s) in state.iter_mut().enumerate() {
            *s = &old[0] * p.mds[i][0] + &old[1] * p.mds[i][1] + &old[2] * p.mds[i][2];
        }
    }
    Ok(())
}

/// `cairn_protocol::poseidon::hash` in constraints.
pub fn hash(domain: u64, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let zero = FpVar::Constant(Fr::from(0u64));
    let mut state = [
        FpVar::Constant(initial_capacity(domain, inputs.len())),
        zero.clone(),
        zero,
    ];
    if inputs.is_empty() {
        permute(&mut state)?;
    }
    for chunk in inputs.chunks(2) {
        state[1] += &chunk[0];
        if let Some(b) = chunk.get(1) {
            state[2] += b;
        }
        permute(&mut state)?;
    }
    Ok(state[1].clone())
}

/// The root a Merkle path gives: `bits[level]` is 1 when the node is a right child.
pub fn merkle_root(
    leaf: FpVar<Fr>,
    siblings: &[FpVar<Fr>],
    bits: &[Boolean<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(siblings.len(), DEPTH);
    let mut acc = leaf;
    for (sib, bit) in siblings.iter().zip(bits) {
        let left = bit.select(sib, &acc)?;
        let right = bit.select(&acc, sib)?;
        acc = hash(
            cairn_protocol::poseidon::domain::MERKLE_NODE,
            &[left, right],
        )?;
    }
    Ok(acc)
}
