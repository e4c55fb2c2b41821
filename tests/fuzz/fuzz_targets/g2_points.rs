//! A proof's B point decides whether a pairing check means anything: the host decodes it and
//! checks its membership in G2 inside the Miller-loop line preparation
//! (`crypto::prepare_in_g2`). Differential against arkworks' checked decoding and subgroup
//! check, on raw bytes and on points built from the input (in G2, off it, with a small-order
//! component), and never a panic.
#![no_main]

use ark_bn254::{Fq2, Fr, G1Affine, G2Affine};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, PrimeField};
use ark_serialize::CanonicalDeserialize;
use cairn_protocol::crypto::{g1_to_bytes, g2_to_bytes, prepare_in_g2, Crypto, NativeCrypto};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 64 {
        return;
    }
    let raw: [u8; 64] = data[..64].try_into().expect("64 bytes");
    // Raw bytes through the host's pairing check: accepted iff arkworks' checked decoding
    // accepts them.
    let ark = G2Affine::deserialize_compressed(&raw[..]).ok();
    let g1 = g1_to_bytes(&G1Affine::generator());
    let ours = NativeCrypto.pairing_check(&[g1], &[raw]);
    assert_eq!(ours.is_some(), ark.is_some(), "raw {raw:?}");
    // A twist point from the input, alone and plus a G2 multiple from the rest of it.
    let Some(x) = Fq2::from_random_bytes(&raw) else {
        return;
    };
    let Some(p) = G2Affine::get_point_from_x_unchecked(x, data.len() % 2 == 0) else {
        return;
    };
    let k = Fr::from_le_bytes_mod_order(&data[64..]);
    let g = (G2Affine::generator() * k).into_affine();
    for q in [p, (p + g).into_affine(), g, p.clear_cofactor()] {
        let member = ark_bn254::g2::Config::is_in_correct_subgroup_assuming_on_curve(&q);
        assert_eq!(prepare_in_g2(&q).is_some(), member, "{q}");
        assert_eq!(
            NativeCrypto.pairing_check(&[g1], &[g2_to_bytes(&q)]).is_some(),
            member,
            "{q}"
        );
    }
});
