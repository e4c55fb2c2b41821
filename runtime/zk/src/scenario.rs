//! Deterministic worlds and transactions for tests, benchmarks, `cairn pipeline run` and the
//! native-vs-wasm differential corpus: funded accounts, private notes, and txs of every valid
//! and invalid class (docs/protocol.md §8).

use ark_bn254::Fr;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use cairn_crypto::EthSecretKey;
use cairn_protocol::stages::{BlockContext, STATEMENT_NOTE_SPEND};
use cairn_protocol::state::{Genesis, WorldState};
use cairn_protocol::tx::{GasSettings, PublicCall, PublicCalls, Spend, Tx, PROOF_BYTES};
use cairn_protocol::vm::contracts::{sel, COUNTER_ADDRESS, TOKEN_ADDRESS};
use cairn_protocol::vm::Word;

use crate::wallet::{keys, prove_spend, Note, SpendRequest};

/// Chain id of the scenarios.
pub const CHAIN_ID: u64 = 31337;
/// Rollup version of the scenarios.
pub const ROLLUP_VERSION: u64 = 1;
/// Fee per mana of the scenarios.
pub const FEE_PER_MANA: u128 = 10;
/// The token id of private notes.
pub const NOTE_TOKEN: u64 = 1;

/// One funded account.
#[derive(Clone)]
pub struct Account {
    /// Signing key.
    pub key: EthSecretKey,
    /// Address.
    pub address: [u8; 20],
    /// Note-owner secret.
    pub secret: Fr,
    /// The account's genesis note and its leaf index.
    pub note: (Note, u64),
}

/// A world plus the accounts that can act in it.
#[derive(Clone)]
pub struct Scenario {
    /// Accounts.
    pub accounts: Vec<Account>,
    /// The world.
    pub state: WorldState,
}

/// Every class of tx the corpus contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Public token transfer.
    Transfer,
    /// Counter increment.
    Counter,
    /// Private note spend (with a proof).
    PrivateSpend,
    /// Bound to another chain.
    WrongChainId,
    /// Past expiry.
    Expired,
    /// Spends an already nullified note.
    DoubleSpend,
    /// A corrupted proof.
    BadProof,
    /// An anchor that is not a recent archive root.
    UnknownAnchor,
    /// Gas limit × fee above the payer's balance.
    InsufficientFee,
    /// Transfer more than the balance (the token reverts).
    VmRevert,
    /// Too little gas for the call.
    OutOfGas,
    /// Random bytes or a damaged encoding.
    Malformed,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 12] = [
        Kind::Transfer,
        Kind::Counter,
        Kind::PrivateSpend,
        Kind::WrongChainId,
        Kind::Expired,
        Kind::DoubleSpend,
        Kind::BadProof,
        Kind::UnknownAnchor,
        Kind::InsufficientFee,
        Kind::VmRevert,
        Kind::OutOfGas,
        Kind::Malformed,
    ];
}

/// The secp256k1 key of deterministic account `i` (the devnet's genesis accounts: the bot and
/// `cairn tx` sign with these).
pub fn account_key(i: usize) -> EthSecretKey {
    let mut k = [0u8; 32];
    k[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    k[0] = 0x42;
    EthSecretKey::from_bytes(&k).unwrap_or_else(|_| unreachable!("fixed test keys are valid"))
}

fn secret_for(i: usize) -> Fr {
    Fr::from(1_000_003u64 * (i as u64 + 1))
}

impl Scenario {
    /// `n` accounts, each with fee juice, tokens and one private note of 1000.
    pub fn new(n: usize) -> Scenario {
        let mut accounts = Vec::with_capacity(n);
        let mut notes = Vec::with_capacity(n);
        for i in 0..n {
            let key = account_key(i);
            let address = key.address().0;
            let secret = secret_for(i);
            let note = Note {
                owner: Note::owner_of(&secret),
                token: Fr::from(NOTE_TOKEN),
                value: 1000,
                randomness: Fr::from(i as u64 + 7),
            };
            notes.push(note.hash());
            accounts.push(Account {
                key,
                address,
                secret,
                note: (note, i as u64),
            });
        }
        let admin = accounts.first().map(|a| a.address).unwrap_or([0; 20]);
        let state = WorldState::genesis(&Genesis {
            admin,
            fee_balances: accounts.iter().map(|a| (a.address, 1u128 << 80)).collect(),
            token_balances: accounts.iter().map(|a| (a.address, 1_000_000)).collect(),
            notes,
            vks: vec![(STATEMENT_NOTE_SPEND, keys().vk.to_bytes())],
        });
        Scenario { accounts, state }
    }

    /// The context of the next block.
    pub fn context(&self) -> BlockContext {
        BlockContext {
            chain_id: CHAIN_ID,
            rollup_version: ROLLUP_VERSION,
            block_number: self.state.block_number + 1,
            fee_per_mana: FEE_PER_MANA,
            coinbase: [0xcb; 20],
        }
    }

    fn base(&self, from: usize, app: Vec<PublicCall>, nonce: u64) -> Tx {
        let a = &self.accounts[from];
        Tx {
            chain_id: CHAIN_ID,
            rollup_version: ROLLUP_VERSION,
            expiry_block: self.state.block_number + 100,
            // The nonce varies the gas limit a little so that otherwise equal txs differ.
            gas: GasSettings {
                gas_limit: 500_000 + nonce % 1000,
                max_fee_per_mana: FEE_PER_MANA,
            },
            sender: a.address,
            fee_payer: a.address,
            anchor: self.state.latest_anchor(),
            spends: vec![],
            calls: PublicCalls {
                setup: vec![],
                app,
                teardown: vec![],
            },
            signature: [0; 65],
        }
    }

    /// Signs `tx` as account `from`.
    pub fn sign(&self, from: usize, mut tx: Tx) -> Tx {
        let sig = self.accounts[from].key.sign_hash(&tx.signing_hash());
        tx.signature = sig.0;
        tx
    }

    /// A public transfer of `amount` tokens.
    pub fn transfer(&self, from: usize, to: usize, amount: u64, nonce: u64) -> Tx {
        let call = PublicCall {
            contract: addr(TOKEN_ADDRESS),
            selector: sel::TRANSFER,
            args: vec![
                Word::from_be_slice(&self.accounts[to].address),
                Word::from(amount),
            ],
        };
        self.sign(from, self.base(from, vec![call], nonce))
    }

    /// A counter increment.
    pub fn counter(&self, from: usize, nonce: u64) -> Tx {
        let call = PublicCall {
            contract: addr(COUNTER_ADDRESS),
            selector: sel::INCREMENT,
            args: vec![],
        };
        self.sign(from, self.base(from, vec![call], nonce))
    }

    /// Spends account `from`'s genesis note: `pay` to account `to`, the rest back to itself.
    pub fn private_spend(&self, from: usize, to: usize, pay: u64, rng: &mut StdRng) -> Tx {
        let a = &self.accounts[from];
        let (note, index) = a.note;
        let outputs = [
            Note {
                owner: Note::owner_of(&self.accounts[to].secret),
                token: note.token,
                value: pay,
                randomness: Fr::from(rng.gen::<u64>()),
            },
            Note {
                owner: note.owner,
                token: note.token,
                value: note.value - pay,
                randomness: Fr::from(rng.gen::<u64>()),
            },
        ];
        let mut tx = self.base(from, vec![], rng.gen());
        tx.spends.push(Spend {
            statement: STATEMENT_NOTE_SPEND,
            nullifier: note.nullifier(&a.secret),
            note_hashes: [outputs[0].hash(), outputs[1].hash()],
            proof: [0; PROOF_BYTES],
        });
        let anchor_root = self.state.notes.root();
        let req = SpendRequest {
            secret: a.secret,
            note,
            index,
            siblings: self.state.notes.path(index).siblings,
            note_root: anchor_root,
            outputs,
        };
        // The scenario's own notes always satisfy the statement.
        tx.spends[0].proof = prove_spend(&req, tx.binding(), rng).unwrap_or([0; PROOF_BYTES]);
        self.sign(from, tx)
    }

    /// A tx of `kind` from account `from` (encoded; malformed ones are raw bytes).
    pub fn make(&self, kind: Kind, from: usize, nonce: u64, rng: &mut StdRng) -> Vec<u8> {
        let n = self.accounts.len();
        let to = (from + 1) % n;
        match kind {
            Kind::Transfer => self.transfer(from, to, 1 + nonce % 50, nonce).encode(),
            Kind::Counter => self.counter(from, nonce).encode(),
            Kind::PrivateSpend => self.private_spend(from, to, 1 + nonce % 500, rng).encode(),
            Kind::WrongChainId => {
                let mut tx = self.base(from, vec![], nonce);
                tx.chain_id = 1;
                self.sign(from, tx).encode()
            }
            Kind::Expired => {
                let mut tx = self.base(from, vec![], nonce);
                tx.expiry_block = self.state.block_number;
                self.sign(from, tx).encode()
            }
            Kind::DoubleSpend => {
                let mut tx = self.private_spend(from, to, 1, rng);
                // The same nullifier twice in one tx.
                let s = tx.spends[0].clone();
                tx.spends.push(s);
                self.sign(from, tx).encode()
            }
            Kind::BadProof => {
                let mut tx = self.private_spend(from, to, 2, rng);
                tx.spends[0].proof.swap(0, 96); // A ↔ C first bytes: a different (or invalid) proof
                tx.spends[0].proof[5] ^= 1;
                self.sign(from, tx).encode()
            }
            Kind::UnknownAnchor => {
                let mut tx = self.base(from, vec![], nonce);
                tx.anchor = Fr::from(nonce + 12345);
                self.sign(from, tx).encode()
            }
            Kind::InsufficientFee => {
                // A sender with no fee juice at all.
                let mut k = [0x77u8; 32];
                k[31] = (nonce % 200) as u8 + 1;
                let key = EthSecretKey::from_bytes(&k)
                    .unwrap_or_else(|_| unreachable!("fixed test keys are valid"));
                let mut tx = self.base(from, vec![], nonce);
                tx.sender = key.address().0;
                tx.fee_payer = tx.sender;
                let sig = key.sign_hash(&tx.signing_hash());
                tx.signature = sig.0;
                tx.encode()
            }
            Kind::VmRevert => self.transfer(from, to, 1 << 40, nonce).encode(),
            Kind::OutOfGas => {
                let mut tx = self.transfer(from, to, 1, nonce);
                tx.gas.gas_limit = cairn_protocol::stages::intrinsic_gas(&tx) + 100;
                self.sign(from, tx).encode()
            }
            Kind::Malformed => {
                let mut b = self.counter(from, nonce).encode();
                match nonce % 4 {
                    0 => b.truncate(b.len() / 2),
                    1 => b[0] = 9,
                    2 => b.push(0),
                    _ => {
                        b = (0..(nonce % 300) as usize).map(|_| rng.gen()).collect();
                    }
                }
                b
            }
        }
    }

    /// `n` valid public txs, token transfers and counter increments alternating, spread over
    /// the accounts: the benchmarks' block filler.
    pub fn public_mix(&self, n: usize) -> Vec<Vec<u8>> {
        let k = self.accounts.len();
        (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    self.transfer(i % k, (i + 1) % k, 1, i as u64).encode()
                } else {
                    self.counter(i % k, i as u64).encode()
                }
            })
            .collect()
    }

    /// `n` txs cycling through every kind, from rotating senders. Proving is the expensive part,
    /// so at most `proofs` spends are proven; the spend, bad-proof and double-spend slots reuse
    /// (and mutate) those.
    pub fn corpus(&self, n: usize, seed: u64, proofs: usize) -> Vec<(Kind, Vec<u8>)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let k = self.accounts.len();
        let pool: Vec<Tx> = (0..proofs.max(1).min(k))
            .map(|i| self.private_spend(i, (i + 1) % k, 1 + i as u64, &mut rng))
            .collect();
        (0..n)
            .map(|i| {
                let kind = Kind::ALL[i % Kind::ALL.len()];
                let from = i % k;
                let pooled = &pool[(i / Kind::ALL.len()) % pool.len()];
                let owner = self
                    .accounts
                    .iter()
                    .position(|a| a.address == pooled.sender)
                    .unwrap_or(0);
                let bytes = match kind {
                    Kind::PrivateSpend => pooled.encode(),
                    Kind::BadProof => {
                        let mut tx = pooled.clone();
                        tx.spends[0].proof[1 + i % 30] ^= 1 << (i % 8);
                        self.sign(owner, tx).encode()
                    }
                    Kind::DoubleSpend => {
                        let mut tx = pooled.clone();
                        let s = tx.spends[0].clone();
                        tx.spends.push(s);
                        self.sign(owner, tx).encode()
                    }
                    other => self.make(other, from, i as u64, &mut rng),
                };
                (kind, bytes)
            })
            .collect()
    }
}

/// Account `i`'s genesis note (value 1000, at leaf `i` of the genesis note tree) and its
/// owner secret: what a devnet wallet spends privately.
pub fn genesis_note(i: usize) -> (Note, u64, Fr) {
    let secret = secret_for(i);
    (
        Note {
            owner: Note::owner_of(&secret),
            token: Fr::from(NOTE_TOKEN),
            value: 1000,
            randomness: Fr::from(i as u64 + 7),
        },
        i as u64,
        secret,
    )
}

/// Adds to `tx` the private spend of account `from`'s genesis note (`pay` to account `to`, the
/// rest back), proves it against a membership witness (`siblings` under `note_root`, the note
/// root of `tx.anchor`, as a node reports them), and signs as `from`.
pub fn spend_genesis_note<R: ark_std::rand::RngCore + ark_std::rand::CryptoRng>(
    mut tx: Tx,
    from: usize,
    to: usize,
    pay: u64,
    siblings: Vec<Fr>,
    note_root: Fr,
    rng: &mut R,
) -> Result<Tx, crate::ZkError> {
    let (note, index, secret) = genesis_note(from);
    if pay > note.value {
        return Err(crate::ZkError::Unsatisfied(format!(
            "cannot pay {pay} from a note of {}",
            note.value
        )));
    }
    let outputs = [
        Note {
            owner: Note::owner_of(&secret_for(to)),
            token: note.token,
            value: pay,
            randomness: Fr::from(rng.next_u64()),
        },
        Note {
            owner: note.owner,
            token: note.token,
            value: note.value - pay,
            randomness: Fr::from(rng.next_u64()),
        },
    ];
    tx.spends = vec![Spend {
        statement: STATEMENT_NOTE_SPEND,
        nullifier: note.nullifier(&secret),
        note_hashes: [outputs[0].hash(), outputs[1].hash()],
        proof: [0; PROOF_BYTES],
    }];
    let req = SpendRequest {
        secret,
        note,
        index,
        siblings,
        note_root,
        outputs,
    };
    tx.spends[0].proof = prove_spend(&req, tx.binding(), rng)?;
    tx.signature = account_key(from).sign_hash(&tx.signing_hash()).0;
    Ok(tx)
}

/// A contract word as a 20-byte address.
pub fn addr(w: Word) -> [u8; 20] {
    let b = w.to_be_bytes();
    let mut a = [0u8; 20];
    a.copy_from_slice(&b[12..]);
    a
}
