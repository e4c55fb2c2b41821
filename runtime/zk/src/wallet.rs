//! Keys of the statement and the prover a wallet (or a test) uses.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr};
use ark_ec::AffineRepr;
use ark_groth16::{Groth16, ProvingKey};
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, CryptoRng, RngCore, SeedableRng};
use cairn_protocol::crypto::{g1_to_bytes, g2_to_bytes};
use cairn_protocol::groth16::{Proof, VerifyingKey};
use cairn_protocol::poseidon::{domain, hash};
use cairn_protocol::tx::PROOF_BYTES;
use thiserror::Error;

use crate::circuit::{NoteSpend, SpendWitness};

/// Seed of the devnet setup (public, hence insecure: see the crate docs).
pub const SETUP_SEED: u64 = 0xca12_0001;

/// Proving and verification keys of the note-spend statement.
pub struct Keys {
    /// Proving key.
    pub pk: ProvingKey<Bn254>,
    /// Verification key in the protocol's form.
    pub vk: VerifyingKey,
}

/// Why a proof could not be made.
#[derive(Debug, Error)]
pub enum ZkError {
    /// The witness does not satisfy the circuit (wrong path, values that do not add up, …).
    #[error("the spend does not satisfy the statement: {0}")]
    Unsatisfied(String),
}

/// The keys, from the deterministic devnet setup (computed once per process).
pub fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(SETUP_SEED);
        // Setup only fails on a malformed circuit, which the tests rule out.
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(NoteSpend { w: None }, &mut rng)
            .expect("note-spend setup");
        let neg = |p: ark_bn254::G2Affine| g2_to_bytes(&(-p.into_group()).into());
        let vk = VerifyingKey {
            alpha_g1: g1_to_bytes(&vk.alpha_g1),
            neg_beta_g2: neg(vk.beta_g2),
            neg_gamma_g2: neg(vk.gamma_g2),
            neg_delta_g2: neg(vk.delta_g2),
            ic: vk.gamma_abc_g1.iter().map(g1_to_bytes).collect(),
        };
        Keys { pk, vk }
    })
}

/// A private note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// Owner public key (`poseidon(OWNER_KEY, [secret])`).
    pub owner: Fr,
    /// Token id.
    pub token: Fr,
    /// Amount.
    pub value: u64,
    /// Blinding randomness.
    pub randomness: Fr,
}

impl Note {
    /// The note hash stored in the tree.
    pub fn hash(&self) -> Fr {
        hash(
            domain::NOTE_HASH,
            &[
                self.owner,
                self.token,
                Fr::from(self.value),
                self.randomness,
            ],
        )
    }

    /// The owner key of a secret.
    pub fn owner_of(secret: &Fr) -> Fr {
        hash(domain::OWNER_KEY, &[*secret])
    }

    /// This note's nullifier, computable only with the owner's secret.
    pub fn nullifier(&self, secret: &Fr) -> Fr {
        hash(domain::NULLIFIER, &[*secret, self.hash()])
    }
}

/// What to spend and into what.
#[derive(Debug, Clone)]
pub struct SpendRequest {
    /// Owner's secret.
    pub secret: Fr,
    /// The note.
    pub note: Note,
    /// Its leaf index.
    pub index: u64,
    /// Its Merkle siblings against `note_root`.
    pub siblings: Vec<Fr>,
    /// The root the proof is against (the anchor's note root).
    pub note_root: Fr,
    /// The two new notes (same token; values summing to the spent one).
    pub outputs: [Note; 2],
}

/// Proves a spend bound to `binding` (a tx's [`binding`](cairn_protocol::tx::Tx::binding)).
pub fn prove_spend<R: RngCore + CryptoRng>(
    req: &SpendRequest,
    binding: Fr,
    rng: &mut R,
) -> Result<[u8; PROOF_BYTES], ZkError> {
    let w = SpendWitness {
        secret: req.secret,
        token: req.note.token,
        value: req.note.value,
        randomness: req.note.randomness,
        index: req.index,
        siblings: req.siblings.clone(),
        outputs: [
            (
                req.outputs[0].owner,
                req.outputs[0].value,
                req.outputs[0].randomness,
            ),
            (
                req.outputs[1].owner,
                req.outputs[1].value,
                req.outputs[1].randomness,
            ),
        ],
        note_root: req.note_root,
        binding,
    };
    check(&w)?;
    let proof = Groth16::<Bn254>::prove(&keys().pk, NoteSpend { w: Some(w) }, rng)
        .map_err(|e| ZkError::Unsatisfied(e.to_string()))?;
    Ok(Proof {
        a: g1_to_bytes(&proof.a),
        b: g2_to_bytes(&proof.b),
        c: g1_to_bytes(&proof.c),
    }
    .to_bytes())
}

fn check(w: &SpendWitness) -> Result<(), ZkError> {
    use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
    let cs = ConstraintSystem::<Fr>::new_ref();
    NoteSpend { w: Some(w.clone()) }
        .generate_constraints(cs.clone())
        .map_err(|e| ZkError::Unsatisfied(e.to_string()))?;
    match cs.is_satisfied() {
        Ok(true) => Ok(()),
        Ok(false) => Err(ZkError::Unsatisfied(
            cs.which_is_unsatisfied().ok().flatten().unwrap_or_default(),
        )),
        Err(e) => Err(ZkError::Unsatisfied(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_protocol::crypto::NativeCrypto;
    use cairn_protocol::groth16::verify;
    use cairn_protocol::merkle::AppendTree;

    fn setup() -> (AppendTree, SpendRequest) {
        let secret = Fr::from(777u64);
        let note = Note {
            owner: Note::owner_of(&secret),
            token: Fr::from(1u64),
            value: 100,
            randomness: Fr::from(9u64),
        };
        let mut tree = AppendTree::new();
        tree.append(Fr::from(5u64)).unwrap();
        let index = tree.append(note.hash()).unwrap();
        let bob = Note::owner_of(&Fr::from(888u64));
        let req = SpendRequest {
            secret,
            note,
            index,
            siblings: tree.path(index).siblings,
            note_root: tree.root(),
            outputs: [
                Note {
                    owner: bob,
                    token: note.token,
                    value: 60,
                    randomness: Fr::from(1u64),
                },
                Note {
                    owner: note.owner,
                    token: note.token,
                    value: 40,
                    randomness: Fr::from(2u64),
                },
            ],
        };
        (tree, req)
    }

    #[test]
    fn gadgets_match_the_native_poseidon() {
        use ark_r1cs_std::alloc::AllocVar;
        use ark_r1cs_std::fields::fp::FpVar;
        use ark_r1cs_std::R1CSVar;
        use ark_relations::r1cs::ConstraintSystem;
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xs: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        let vars: Vec<FpVar<Fr>> = xs
            .iter()
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
            .collect();
        for n in 0..=5 {
            let got = crate::gadgets::hash(domain::APP, &vars[..n])
                .unwrap()
                .value()
                .unwrap();
            assert_eq!(got, hash(domain::APP, &xs[..n]), "{n} inputs");
        }
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn proofs_verify_and_bind() {
        let (_, req) = setup();
        let mut rng = StdRng::seed_from_u64(1);
        let binding = Fr::from(4242u64);
        let proof = Proof::from_bytes(&prove_spend(&req, binding, &mut rng).unwrap());
        let inputs = |b: Fr, n: Fr| {
            vec![
                req.note_root,
                n,
                req.outputs[0].hash(),
                req.outputs[1].hash(),
                b,
            ]
        };
        let nullifier = req.note.nullifier(&req.secret);
        let vk = &keys().vk;
        assert_eq!(
            verify(&NativeCrypto, vk, &proof, &inputs(binding, nullifier)),
            Ok(true)
        );
        // Another binding, nullifier or root: rejected.
        assert_eq!(
            verify(
                &NativeCrypto,
                vk,
                &proof,
                &inputs(binding + Fr::from(1u64), nullifier)
            ),
            Ok(false)
        );
        assert_eq!(
            verify(
                &NativeCrypto,
                vk,
                &proof,
                &inputs(binding, nullifier + Fr::from(1u64))
            ),
            Ok(false)
        );
        // The key survives serialization.
        let again = VerifyingKey::from_bytes(&vk.to_bytes()).unwrap();
        assert_eq!(&again, vk);
    }

    #[test]
    fn rerandomized_proofs_verify_alone_and_in_batches() {
        use cairn_protocol::groth16::{rerandomize, verify_batch};
        let (_, req) = setup();
        let mut rng = StdRng::seed_from_u64(3);
        let binding = Fr::from(77u64);
        let proof = Proof::from_bytes(&prove_spend(&req, binding, &mut rng).unwrap());
        let inputs = vec![
            req.note_root,
            req.note.nullifier(&req.secret),
            req.outputs[0].hash(),
            req.outputs[1].hash(),
            binding,
        ];
        let vk = &keys().vk;
        let items: Vec<(Proof, Vec<Fr>)> = (1..=6u64)
            .map(|k| {
                let p = rerandomize(vk, &proof, Fr::from(k + 1), Fr::from(k * 31)).unwrap();
                assert!(p.a != proof.a && p.b != proof.b && p.c != proof.c);
                assert_eq!(verify(&NativeCrypto, vk, &p, &inputs), Ok(true));
                (p, inputs.clone())
            })
            .collect();
        assert_eq!(verify_batch(&NativeCrypto, vk, &items), Ok(true));
        // A zero r is refused rather than producing the point at infinity.
        assert!(rerandomize(vk, &proof, Fr::from(0u64), Fr::from(1u64)).is_err());
        // One proof for other inputs, or one tampered point, sinks the batch.
        let mut bad = items.clone();
        bad[3].1[4] += Fr::from(1u64);
        assert_eq!(verify_batch(&NativeCrypto, vk, &bad), Ok(false));
        let mut bad = items.clone();
        bad[5].0.c = items[4].0.c;
        assert_eq!(verify_batch(&NativeCrypto, vk, &bad), Ok(false));
        let mut bad = items;
        bad[0].0.b = [0xff; 64];
        assert!(verify_batch(&NativeCrypto, vk, &bad) != Ok(true));
    }

    #[test]
    fn the_prover_refuses_false_statements() {
        let (_, mut req) = setup();
        let mut rng = StdRng::seed_from_u64(2);
        req.outputs[0].value = 61; // 61 + 40 ≠ 100
        assert!(prove_spend(&req, Fr::from(1u64), &mut rng).is_err());
        let (_, mut req) = setup();
        req.secret = Fr::from(1u64); // not the owner
        assert!(prove_spend(&req, Fr::from(1u64), &mut rng).is_err());
        let (_, mut req) = setup();
        req.index += 1; // wrong path
        assert!(prove_spend(&req, Fr::from(1u64), &mut rng).is_err());
    }
}
