//! The note-spend circuit.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use cairn_protocol::merkle::DEPTH;
use cairn_protocol::poseidon::domain;

use crate::gadgets::{hash, merkle_root};

/// Everything the prover knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendWitness {
    /// Owner's secret.
    pub secret: Fr,
    /// Token of all three notes.
    pub token: Fr,
    /// Spent value.
    pub value: u64,
    /// Spent note's randomness.
    pub randomness: Fr,
    /// Spent note's leaf index.
    pub index: u64,
    /// Its Merkle siblings, leaf level first.
    pub siblings: Vec<Fr>,
    /// New notes: (owner public key, value, randomness).
    pub outputs: [(Fr, u64, Fr); 2],
    /// Public: the note-hash root.
    pub note_root: Fr,
    /// Public: the tx binding.
    pub binding: Fr,
}

/// The circuit; `None` fields for setup (shape only).
#[derive(Debug, Clone)]
pub struct NoteSpend {
    /// The witness, absent during setup.
    pub w: Option<SpendWitness>,
}

fn value_var(cs: &ConstraintSystemRef<Fr>, v: Option<u64>) -> Result<FpVar<Fr>, SynthesisError> {
    // 64 boolean witnesses recomposed: the value is provably below 2^64.
    let bits: Vec<Boolean<Fr>> = (0..64)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                v.map(|v| (v >> i) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<_, _>>()?;
    Boolean::le_bits_to_fp(&bits)
}

impl ConstraintSynthesizer<Fr> for NoteSpend {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = self.w.as_ref();
        let missing = || SynthesisError::AssignmentMissing;
        // Public inputs, in the order the verifier passes them.
        let root = FpVar::new_input(cs.clone(), || w.map(|w| w.note_root).ok_or(missing()))?;
        let nullifier = FpVar::new_input(cs.clone(), || {
            w.map(|w| {
                let owner = cairn_protocol::poseidon::hash(domain::OWNER_KEY, &[w.secret]);
                let note = cairn_protocol::poseidon::hash(
                    domain::NOTE_HASH,
                    &[owner, w.token, Fr::from(w.value), w.randomness],
                );
                cairn_protocol::poseidon::hash(domain::NULLIFIER, &[w.secret, note])
            })
            .ok_or(missing())
        })?;
        let out_hash: Vec<FpVar<Fr>> = (0..2)
            .map(|i| {
                FpVar::new_input(cs.clone(), || {
                    w.map(|w| {
                        let (o, v, r) = w.outputs[i];
                        cairn_protocol::poseidon::hash(
                            domain::NOTE_HASH,
                            &[o, w.token, Fr::from(v), r],
                        )
                    })
                    .ok_or(missing())
                })
            })
            .collect::<Result<_, _>>()?;
        let binding = FpVar::new_input(cs.clone(), || w.map(|w| w.binding).ok_or(missing()))?;

        // Private witnesses.
        let secret = FpVar::new_witness(cs.clone(), || w.map(|w| w.secret).ok_or(missing()))?;
        let token = FpVar::new_witness(cs.clone(), || w.map(|w| w.token).ok_or(missing()))?;
        let value = value_var(&cs, w.map(|w| w.value))?;
        let randomness =
            FpVar::new_witness(cs.clone(), || w.map(|w| w.randomness).ok_or(missing()))?;
        let siblings: Vec<FpVar<Fr>> = (0..DEPTH)
            .map(|i| {
                FpVar::new_witness(cs.clone(), || {
                    w.and_then(|w| w.siblings.get(i).copied()).ok_or(missing())
                })
            })
            .collect::<Result<_, _>>()?;
        let bits: Vec<Boolean<Fr>> = (0..DEPTH)
            .map(|i| {
                Boolean::new_witness(cs.clone(), || {
                    w.map(|w| (w.index >> i) & 1 == 1).ok_or(missing())
                })
            })
            .collect::<Result<_, _>>()?;

        let owner = hash(domain::OWNER_KEY, std::slice::from_ref(&secret))?;
        let note = hash(
            domain::NOTE_HASH,
            &[owner, token.clone(), value.clone(), randomness],
        )?;
        merkle_root(note.clone(), &siblings, &bits)?.enforce_equal(&root)?;
        hash(domain::NULLIFIER, &[secret, note])?.enforce_equal(&nullifier)?;

        let mut total = FpVar::Constant(Fr::from(0u64));
        for (i, h) in out_hash.iter().enumerate() {
            let o = FpVar::new_witness(cs.clone(), || w.map(|w| w.outputs[i].0).ok_or(missing()))?;
            let v = value_var(&cs, w.map(|w| w.outputs[i].1))?;
            let r = FpVar::new_witness(cs.clone(), || w.map(|w| w.outputs[i].2).ok_or(missing()))?;
            hash(domain::NOTE_HASH, &[o, token.clone(), v.clone(), r])?.enforce_equal(h)?;
            total += v;
        }
        total.enforce_equal(&value)?;
        // An input used in no constraint could be changed without breaking the proof.
        let _ = binding.square()?;
        Ok(())
    }
}
