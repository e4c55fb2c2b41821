//! Password-protected key files, in the two formats Aztec's CLI writes.
//!
//! - Ethereum keys: Web3 Secret Storage v3 exactly as ethers v5 `Wallet.encrypt` writes it
//!   (scrypt N=2^17 r=8 p=1, NFKC password, AES-128-CTR, keccak MAC), compact JSON.
//! - BLS keys: the "BN254 keystore", EIP-2335-shaped (PBKDF2-SHA256 c=262144, NFKD password,
//!   AES-128-CTR, SHA-256 checksum), pretty JSON.
//!
//! Randomness (salt, IV, UUID bytes) is a parameter so that outputs are reproducible in tests.

use aes::cipher::{KeyIvInit, StreamCipher};
use cairn_crypto::{keccak256, BlsSecretKey, EthSecretKey};
use hmac::Hmac;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// The random inputs of one encryption.
#[derive(Clone, Copy)]
pub struct Randomness {
    /// KDF salt.
    pub salt: [u8; 32],
    /// AES-CTR initial counter.
    pub iv: [u8; 16],
    /// Bytes for the UUID v4.
    pub uuid: [u8; 16],
}

/// Why a key file could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecryptError {
    /// Not JSON, or a required field is missing or of the wrong type.
    #[error("not a valid {format} key file: {detail}")]
    Malformed {
        /// Which format was expected.
        format: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A KDF, cipher or parameter this format does not allow.
    #[error("unsupported {0}")]
    Unsupported(String),
    /// The MAC/checksum does not match: wrong password or a corrupted file.
    #[error("wrong password or corrupted key file (the {0} does not match)")]
    WrongPassword(&'static str),
    /// The decrypted key is not a valid key.
    #[error("the decrypted key is not a valid key")]
    InvalidKey,
    /// The file's `address` field does not match the decrypted key.
    #[error("the decrypted key belongs to {actual}, but the file says {declared}")]
    AddressMismatch {
        /// Address in the file.
        declared: String,
        /// Address of the key.
        actual: String,
    },
}

/// Formats 16 random bytes as a UUID v4 the way ethers' `uuidV4` does.
pub fn uuid_v4(bytes: &[u8; 16]) -> String {
    let mut b = *bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn ctr_apply(key: &[u8], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

// ---------------------------------------------------------------------------------------------
// Web3 Secret Storage v3 (ethers v5)

/// scrypt cost ethers v5 uses by default (N = 2^17).
pub const V3_SCRYPT_LOG_N: u8 = 17;
/// Largest scrypt memory (128·r·N bytes) accepted from a file, so a hostile file cannot make the
/// node allocate unbounded memory.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;

/// Encrypts an Ethereum key as ethers v5 `Wallet.encrypt(password)` does. Returns compact JSON
/// with no trailing newline.
pub fn encrypt_v3(key: &EthSecretKey, password: &str, rnd: &Randomness) -> String {
    let pw: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
    let mut dk = Zeroizing::new([0u8; 32]);
    let params = scrypt::Params::new(V3_SCRYPT_LOG_N, 8, 1, 32).expect("valid scrypt params");
    scrypt::scrypt(pw.as_bytes(), &rnd.salt, &params, dk.as_mut()).expect("32-byte output");
    let mut ciphertext = key.to_bytes().to_vec();
    ctr_apply(&dk[..16], &rnd.iv, &mut ciphertext);
    let mut mac_input = dk[16..32].to_vec();
    mac_input.extend_from_slice(&ciphertext);
    let mac = keccak256(&mac_input);
    let address = hex::encode(key.address().0);
    let v = json!({
        "address": address,
        "id": uuid_v4(&rnd.uuid),
        "version": 3,
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": hex::encode(rnd.iv)},
            "ciphertext": hex::encode(&ciphertext),
            "kdf": "scrypt",
            "kdfparams": {
                "salt": hex::encode(rnd.salt),
                "n": 1u64 << V3_SCRYPT_LOG_N,
                "dklen": 32,
                "p": 1,
                "r": 8
            },
            "mac": hex::encode(mac)
        }
    });
    serde_json::to_string(&v).expect("serialising a JSON value cannot fail")
}

fn malformed(format: &'static str, detail: impl Into<String>) -> DecryptError {
    DecryptError::Malformed {
        format,
        detail: detail.into(),
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn hex_field(
    obj: &Map<String, Value>,
    key: &str,
    format: &'static str,
) -> Result<Vec<u8>, DecryptError> {
    let s = get_ci(obj, key)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format, format!("missing string field `{key}`")))?;
    let s = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(s).map_err(|_| malformed(format, format!("`{key}` is not hex")))
}

fn uint_field(
    obj: &Map<String, Value>,
    key: &str,
    format: &'static str,
) -> Result<u64, DecryptError> {
    get_ci(obj, key)
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed(format, format!("missing integer field `{key}`")))
}

/// Decrypts a Web3 Secret Storage v3 file as ethers does (scrypt or PBKDF2 with hmac-sha256 or
/// hmac-sha512, AES-128-CTR, keccak MAC), and checks the `address` field if present.
pub fn decrypt_v3(text: &str, password: &str) -> Result<EthSecretKey, DecryptError> {
    const F: &str = "JSON-V3";
    let v: Value = serde_json::from_str(text).map_err(|e| malformed(F, e.to_string()))?;
    let top = v
        .as_object()
        .ok_or_else(|| malformed(F, "not a JSON object"))?;
    let crypto = get_ci(top, "crypto")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `crypto` object"))?;
    let cipher = get_ci(crypto, "cipher")
        .and_then(Value::as_str)
        .unwrap_or("");
    if cipher != "aes-128-ctr" {
        return Err(DecryptError::Unsupported(format!("cipher `{cipher}`")));
    }
    let iv_vec = get_ci(crypto, "cipherparams")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `cipherparams`"))
        .and_then(|p| hex_field(p, "iv", F))?;
    let iv: [u8; 16] = iv_vec
        .try_into()
        .map_err(|_| malformed(F, "`iv` must be 16 bytes"))?;
    let ciphertext = hex_field(crypto, "ciphertext", F)?;
    if ciphertext.len() != 32 {
        return Err(malformed(F, "`ciphertext` must be 32 bytes"));
    }
    let mac = hex_field(crypto, "mac", F)?;
    let kdf = get_ci(crypto, "kdf").and_then(Value::as_str).unwrap_or("");
    let kp = get_ci(crypto, "kdfparams")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `kdfparams`"))?;
    let salt = hex_field(kp, "salt", F)?;
    if uint_field(kp, "dklen", F)? != 32 {
        return Err(DecryptError::Unsupported("dklen other than 32".into()));
    }
    let pw: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
    let mut dk = Zeroizing::new([0u8; 32]);
    match kdf.to_ascii_lowercase().as_str() {
        "scrypt" => {
            let n = uint_field(kp, "n", F)?;
            let r = uint_field(kp, "r", F)?;
            let p = uint_field(kp, "p", F)?;
            if !n.is_power_of_two() || n < 2 {
                return Err(malformed(F, "scrypt `n` must be a power of two"));
            }
            if 128u64.saturating_mul(r).saturating_mul(n) > MAX_SCRYPT_MEMORY || p > 16 {
                return Err(DecryptError::Unsupported(format!(
                    "scrypt parameters n={n} r={r} p={p} (over 1 GiB of memory)"
                )));
            }
            let params = scrypt::Params::new(n.trailing_zeros() as u8, r as u32, p as u32, 32)
                .map_err(|_| {
                    DecryptError::Unsupported(format!("scrypt parameters n={n} r={r} p={p}"))
                })?;
            scrypt::scrypt(pw.as_bytes(), &salt, &params, dk.as_mut())
                .map_err(|_| DecryptError::Unsupported("scrypt output length".into()))?;
        }
        "pbkdf2" => {
            let c = uint_field(kp, "c", F)?;
            let c = u32::try_from(c)
                .ok()
                .filter(|c| *c > 0 && *c <= 10_000_000)
                .ok_or_else(|| DecryptError::Unsupported(format!("pbkdf2 iteration count {c}")))?;
            let prf = get_ci(kp, "prf").and_then(Value::as_str).unwrap_or("");
            match prf {
                "hmac-sha256" => {
                    pbkdf2::pbkdf2::<Hmac<Sha256>>(pw.as_bytes(), &salt, c, dk.as_mut())
                }
                "hmac-sha512" => {
                    pbkdf2::pbkdf2::<Hmac<Sha512>>(pw.as_bytes(), &salt, c, dk.as_mut())
                }
                other => return Err(DecryptError::Unsupported(format!("pbkdf2 prf `{other}`"))),
            }
            .expect("HMAC accepts keys of any length");
        }
        other => return Err(DecryptError::Unsupported(format!("kdf `{other}`"))),
    }
    let mut mac_input = dk[16..32].to_vec();
    mac_input.extend_from_slice(&ciphertext);
    if keccak256(&mac_input).as_slice() != mac.as_slice() {
        return Err(DecryptError::WrongPassword("MAC"));
    }
    let mut plain = Zeroizing::new([0u8; 32]);
    plain.copy_from_slice(&ciphertext);
    ctr_apply(&dk[..16], &iv, plain.as_mut());
    let key = EthSecretKey::from_bytes(&plain).map_err(|_| DecryptError::InvalidKey)?;
    if let Some(declared) = top.get("address").and_then(Value::as_str) {
        let declared_hex = declared.trim_start_matches("0x").to_ascii_lowercase();
        let actual = hex::encode(key.address().0);
        if declared_hex != actual {
            return Err(DecryptError::AddressMismatch {
                declared: declared.to_string(),
                actual: key.address().to_checksum(),
            });
        }
    }
    Ok(key)
}

// ---------------------------------------------------------------------------------------------
// BN254 keystore

/// PBKDF2 iterations of the BN254 keystore.
pub const BN254_PBKDF2_ROUNDS: u32 = 262_144;

/// Encrypts a BN254 secret as Aztec's `bn254_keystore` does. `path` is the label written into
/// the file (the reference writes the default path for `new` and `--bls-path` for `add`).
/// Returns 2-space pretty JSON with no trailing newline.
pub fn encrypt_bn254(sk: &BlsSecretKey, password: &str, path: &str, rnd: &Randomness) -> String {
    let dk = bn254_kdf(password, &rnd.salt, BN254_PBKDF2_ROUNDS);
    let mut ciphertext = sk.to_word().to_vec();
    ctr_apply(&dk[..16], &rnd.iv, &mut ciphertext);
    let mut h = Sha256::new();
    h.update(&dk[16..32]);
    h.update(&ciphertext);
    let checksum = h.finalize();
    let pk = hex::encode(sk.public_g1().compress());
    let v = json!({
        "crypto": {
            "kdf": {
                "function": "pbkdf2",
                "params": {
                    "dklen": 32,
                    "c": BN254_PBKDF2_ROUNDS,
                    "prf": "hmac-sha256",
                    "salt": hex::encode(rnd.salt)
                },
                "message": ""
            },
            "checksum": {"function": "sha256", "params": {}, "message": hex::encode(checksum)},
            "cipher": {
                "function": "aes-128-ctr",
                "params": {"iv": hex::encode(rnd.iv)},
                "message": hex::encode(&ciphertext)
            }
        },
        "description": pk,
        "pubkey": format!("0x{pk}"),
        "path": path,
        "uuid": uuid_v4(&rnd.uuid),
        "version": 4
    });
    serde_json::to_string_pretty(&v).expect("serialising a JSON value cannot fail")
}

fn bn254_kdf(password: &str, salt: &[u8], rounds: u32) -> Zeroizing<[u8; 32]> {
    let pw: Zeroizing<String> = Zeroizing::new(password.nfkd().collect());
    let mut dk = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2::<Hmac<Sha256>>(pw.as_bytes(), salt, rounds, dk.as_mut())
        .expect("HMAC accepts keys of any length");
    dk
}

/// Decrypts a BN254 keystore. Like the reference it supports only PBKDF2 + AES-128-CTR, reads
/// `c` and `dklen` from the file and always uses SHA-256 as the PRF.
pub fn decrypt_bn254(text: &str, password: &str) -> Result<BlsSecretKey, DecryptError> {
    const F: &str = "BN254 keystore";
    let v: Value = serde_json::from_str(text).map_err(|e| malformed(F, e.to_string()))?;
    let crypto = v
        .get("crypto")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `crypto` object"))?;
    let section = |name: &str| {
        crypto
            .get(name)
            .and_then(Value::as_object)
            .ok_or_else(|| malformed(F, format!("missing `crypto.{name}`")))
    };
    let kdf = section("kdf")?;
    let cipher = section("cipher")?;
    let checksum = section("checksum")?;
    if kdf.get("function").and_then(Value::as_str) != Some("pbkdf2") {
        return Err(DecryptError::Unsupported(
            "KDF (only pbkdf2 is supported for BN254 keystores)".into(),
        ));
    }
    if cipher.get("function").and_then(Value::as_str) != Some("aes-128-ctr") {
        return Err(DecryptError::Unsupported(
            "cipher (only aes-128-ctr is supported)".into(),
        ));
    }
    let kp = kdf
        .get("params")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `crypto.kdf.params`"))?;
    let c = uint_field(kp, "c", F)?;
    let c = u32::try_from(c)
        .ok()
        .filter(|c| *c > 0 && *c <= 10_000_000)
        .ok_or_else(|| DecryptError::Unsupported(format!("pbkdf2 iteration count {c}")))?;
    if uint_field(kp, "dklen", F)? != 32 {
        return Err(DecryptError::Unsupported("dklen other than 32".into()));
    }
    let salt = hex_field(kp, "salt", F)?;
    let iv: [u8; 16] = cipher
        .get("params")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(F, "missing `crypto.cipher.params`"))
        .and_then(|p| hex_field(p, "iv", F))?
        .try_into()
        .map_err(|_| malformed(F, "`iv` must be 16 bytes"))?;
    let ciphertext = hex_field(cipher, "message", F)?;
    if ciphertext.len() != 32 {
        return Err(malformed(F, "cipher message must be 32 bytes"));
    }
    let expected = hex_field(checksum, "message", F)?;
    let dk = bn254_kdf(password, &salt, c);
    let mut h = Sha256::new();
    h.update(&dk[16..32]);
    h.update(&ciphertext);
    if h.finalize()[..] != expected[..] {
        return Err(DecryptError::WrongPassword("checksum"));
    }
    let mut plain = Zeroizing::new([0u8; 32]);
    plain.copy_from_slice(&ciphertext);
    ctr_apply(&dk[..16], &iv, plain.as_mut());
    BlsSecretKey::from_word(&plain).map_err(|_| DecryptError::InvalidKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_eth() -> EthSecretKey {
        let mut b = [0u8; 32];
        hex::decode_to_slice(
            "1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727",
            &mut b,
        )
        .unwrap();
        EthSecretKey::from_bytes(&b).unwrap()
    }

    const RND: Randomness = Randomness {
        salt: [0x11; 32],
        iv: [0x22; 16],
        uuid: [0x33; 16],
    };

    #[test]
    fn v3_known_answer() {
        // spec/aztec-keys.md §6.1, computed with @ethersproject/wallet 5.8.0.
        let expected = r#"{"address":"9858effd232b4033e47d90003d41ec34ecaeda94","id":"33333333-3333-4333-b333-333333333333","version":3,"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"22222222222222222222222222222222"},"ciphertext":"9e07820af159be86b5d0f17f43397da2808eebfe2be7700c7245bdac953ff157","kdf":"scrypt","kdfparams":{"salt":"1111111111111111111111111111111111111111111111111111111111111111","n":131072,"dklen":32,"p":1,"r":8},"mac":"8a6200d1a153cfca4928f515311e98538696dfa0c793f27b0428fe74323b0e87"}}"#;
        let out = encrypt_v3(&v1_eth(), "password", &RND);
        assert_eq!(out, expected);
        let back = decrypt_v3(expected, "password").unwrap();
        assert_eq!(back.to_bytes(), v1_eth().to_bytes());
        assert_eq!(
            decrypt_v3(expected, "Password").unwrap_err(),
            DecryptError::WrongPassword("MAC")
        );
        // Capitalised `Crypto` (older ethers) is read too.
        assert!(decrypt_v3(&expected.replace("\"crypto\"", "\"Crypto\""), "password").is_ok());
    }

    #[test]
    fn v3_rejects_hostile_parameters() {
        let v = encrypt_v3(&v1_eth(), "pw", &RND).replace("\"n\":131072", "\"n\":1073741824");
        assert!(matches!(
            decrypt_v3(&v, "pw").unwrap_err(),
            DecryptError::Unsupported(_)
        ));
        assert!(matches!(
            decrypt_v3("{}", "pw").unwrap_err(),
            DecryptError::Malformed { .. }
        ));
        assert!(matches!(
            decrypt_v3("not json", "pw").unwrap_err(),
            DecryptError::Malformed { .. }
        ));
    }

    #[test]
    fn bn254_round_trip_and_layout() {
        let sk = BlsSecretKey::from_word(&{
            let mut w = [0u8; 32];
            hex::decode_to_slice(
                "1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0",
                &mut w,
            )
            .unwrap();
            w
        })
        .unwrap();
        let text = encrypt_bn254(&sk, "pässword", "m/12381/3600/0/0/0", &RND);
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["crypto", "description", "pubkey", "path", "uuid", "version"]
        );
        assert_eq!(
            v["pubkey"],
            "0x99b85154eae381ef1a1e4d220087bf487c009c73c26621ad46dfe6d589fa946b"
        );
        assert!(text.starts_with("{\n  \"crypto\": {\n    \"kdf\": {"));
        assert!(!text.ends_with('\n'));
        assert_eq!(decrypt_bn254(&text, "pässword").unwrap(), sk);
        // NFKD: the decomposed spelling of the same password decrypts too.
        assert_eq!(decrypt_bn254(&text, "pa\u{308}ssword").unwrap(), sk);
        assert_eq!(
            decrypt_bn254(&text, "password").unwrap_err(),
            DecryptError::WrongPassword("checksum")
        );
    }

    #[test]
    fn uuid_format() {
        assert_eq!(uuid_v4(&[0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4(&[0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
