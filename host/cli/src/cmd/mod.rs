//! One module per command family.

pub mod benchcp;
pub mod benchnet;
pub mod benchnode;
pub mod benchsign;
pub mod benchstate;
pub mod bls;
pub mod coinbase;
pub mod common;
pub mod dashboard;
pub mod db;
pub mod devnet;
pub mod ha;
pub mod keys;
pub mod l1;
pub mod node;
pub mod p2p;
pub mod pipeline;
pub mod provider;
pub mod rewards;
pub mod staking;
pub mod wallet;
pub mod withdraw;
