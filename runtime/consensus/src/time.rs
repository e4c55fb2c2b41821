//! Slot and epoch arithmetic as the Rollup's `TimeLib` computes it.
//!
//! `slot(ts) = (ts − genesis) / slot_duration`, `epoch(ts) = (ts − genesis) / (slot_duration ·
//! epoch_duration_slots)`, and a slot starts at `genesis + slot · slot_duration`
//! (`getTimestampForSlot`). Solidity reverts on a timestamp before genesis; here such a timestamp
//! is slot 0 and epoch 0, so callers never see an underflow. Conversions that can overflow a
//! `u64` return `None` rather than wrapping or saturating to a wrong time.

use thiserror::Error;

/// Why a [`Timing`] could not be built from L1's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimingError {
    /// `getSlotDuration()` was zero, which would make every slot division undefined.
    #[error("slot duration must be at least one second")]
    ZeroSlotDuration,
    /// `getEpochDuration()` was zero, which would make every epoch division undefined.
    #[error("epoch duration must be at least one slot")]
    ZeroEpochDuration,
    /// The epoch length in seconds does not fit in a `u64`.
    #[error("epoch of {epoch_duration_slots} slots of {slot_duration} s overflows u64 seconds")]
    EpochTooLong {
        /// Seconds per slot.
        slot_duration: u64,
        /// Slots per epoch.
        epoch_duration_slots: u64,
    },
}

/// The Rollup's time parameters: `getGenesisTime()`, `getSlotDuration()`, `getEpochDuration()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    genesis: u64,
    slot_duration: u64,
    epoch_duration_slots: u64,
    epoch_duration_secs: u64,
}

impl Timing {
    /// Validates the parameters: both durations non-zero and an epoch's length fits in `u64`.
    pub const fn new(
        genesis: u64,
        slot_duration: u64,
        epoch_duration_slots: u64,
    ) -> Result<Self, TimingError> {
        if slot_duration == 0 {
            return Err(TimingError::ZeroSlotDuration);
        }
        if epoch_duration_slots == 0 {
            return Err(TimingError::ZeroEpochDuration);
        }
        let Some(epoch_duration_secs) = slot_duration.checked_mul(epoch_duration_slots) else {
            return Err(TimingError::EpochTooLong {
                slot_duration,
                epoch_duration_slots,
            });
        };
        Ok(Self {
            genesis,
            slot_duration,
            epoch_duration_slots,
            epoch_duration_secs,
        })
    }

    /// The Rollup's genesis timestamp (the deploy block's timestamp).
    pub const fn genesis(&self) -> u64 {
        self.genesis
    }

    /// Seconds per L2 slot.
    pub const fn slot_duration(&self) -> u64 {
        self.slot_duration
    }

    /// Slots per epoch.
    pub const fn epoch_duration_slots(&self) -> u64 {
        self.epoch_duration_slots
    }

    /// Seconds per epoch (`slot_duration · epoch_duration_slots`).
    pub const fn epoch_duration_secs(&self) -> u64 {
        self.epoch_duration_secs
    }

    /// The slot containing `ts` (`getSlotAt`); a timestamp before genesis is slot 0.
    pub const fn slot_at(&self, ts: u64) -> u64 {
        ts.saturating_sub(self.genesis) / self.slot_duration
    }

    /// The epoch containing `ts` (`getEpochAt`); a timestamp before genesis is epoch 0.
    pub const fn epoch_at(&self, ts: u64) -> u64 {
        ts.saturating_sub(self.genesis) / self.epoch_duration_secs
    }

    /// The epoch a slot belongs to (`getEpochAtSlot`).
    pub const fn epoch_of_slot(&self, slot: u64) -> u64 {
        slot / self.epoch_duration_slots
    }

    /// The first second of `slot` (`getTimestampForSlot`), or `None` if it overflows `u64`.
    pub const fn slot_start(&self, slot: u64) -> Option<u64> {
        match slot.checked_mul(self.slot_duration) {
            Some(offset) => self.genesis.checked_add(offset),
            None => None,
        }
    }

    /// The first second of `epoch`, or `None` if it overflows `u64`.
    pub const fn epoch_start(&self, epoch: u64) -> Option<u64> {
        match epoch.checked_mul(self.epoch_duration_secs) {
            Some(offset) => self.genesis.checked_add(offset),
            None => None,
        }
    }

    /// The first slot of `epoch`, or `None` if it overflows `u64`.
    pub const fn first_slot_of_epoch(&self, epoch: u64) -> Option<u64> {
        epoch.checked_mul(self.epoch_duration_slots)
    }

    /// The last slot of `epoch`, or `None` if it overflows `u64`.
    pub const fn last_slot_of_epoch(&self, epoch: u64) -> Option<u64> {
        match self.first_slot_of_epoch(epoch) {
            Some(first) => first.checked_add(self.epoch_duration_slots - 1),
            None => None,
        }
    }

    /// The time at which epoch `epoch`'s validator set (or RANDAO) is read, `lag_epochs` epochs
    /// before the epoch starts (`stableEpochTo…SampleTime`); `None` if that is below 0 or above
    /// `u64::MAX`.
    ///
    /// L1 reads the attester set and the randao "as of" this timestamp, end point included, and
    /// refuses (`ValidatorSelection__EpochNotStable`) while it lies in the future. For the first
    /// `lag_epochs` epochs it precedes genesis, where the attester set is empty.
    pub const fn sample_time(&self, epoch: u64, lag_epochs: u64) -> Option<u64> {
        let Some(start) = self.epoch_start(epoch) else {
            return None;
        };
        match lag_epochs.checked_mul(self.epoch_duration_secs) {
            Some(lag) => start.checked_sub(lag),
            None => None,
        }
    }
}

/// The first epoch in which proofs for `epoch` are no longer accepted (`TimeLib.toDeadlineEpoch`:
/// `epoch + proof_submission_epochs + 1`), or `None` on overflow.
pub const fn proof_deadline_epoch(epoch: u64, proof_submission_epochs: u64) -> Option<u64> {
    match epoch.checked_add(proof_submission_epochs) {
        Some(e) => e.checked_add(1),
        None => None,
    }
}

/// Whether L1 still accepts a proof for `epoch` during `current_epoch`
/// (`isAcceptingProofsAtEpoch`); once this is false the pending chain can be pruned.
pub const fn accepts_proofs(epoch: u64, current_epoch: u64, proof_submission_epochs: u64) -> bool {
    match proof_deadline_epoch(epoch, proof_submission_epochs) {
        Some(deadline) => current_epoch < deadline,
        // A deadline beyond u64 is never reached.
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The devnet of `devnet-propose.md`: 36 s slots, 32-slot epochs.
    const GENESIS: u64 = 1_795_000_000;

    fn devnet() -> Timing {
        Timing::new(GENESIS, 36, 32).expect("valid parameters")
    }

    #[test]
    fn rejects_degenerate_parameters() {
        assert_eq!(Timing::new(0, 0, 32), Err(TimingError::ZeroSlotDuration));
        assert_eq!(Timing::new(0, 36, 0), Err(TimingError::ZeroEpochDuration));
        assert!(matches!(
            Timing::new(0, u64::MAX, 2),
            Err(TimingError::EpochTooLong { .. })
        ));
        assert_eq!(devnet().epoch_duration_secs(), 1152);
    }

    #[test]
    fn matches_the_devnet_observations() {
        let t = devnet();
        // After warping to genesis + 3·1152 the contract reported slot 96, epoch 3.
        let ts = GENESIS + 3 * 1152;
        assert_eq!(t.slot_at(ts), 96);
        assert_eq!(t.epoch_at(ts), 3);
        // Slot 98 is in epoch 3 and starts at genesis + 98·36.
        assert_eq!(t.epoch_of_slot(98), 3);
        assert_eq!(t.slot_start(98), Some(GENESIS + 98 * 36));
        assert_eq!(t.epoch_start(3), Some(ts));
        assert_eq!(t.first_slot_of_epoch(3), Some(96));
        assert_eq!(t.last_slot_of_epoch(3), Some(127));
        // The committee of epoch 3 is sampled from the set as of start(3) − 2 epochs.
        assert_eq!(t.sample_time(3, 2), Some(GENESIS + 1152));
        // Early epochs sample before genesis (an empty set); only u64 underflow is None.
        assert_eq!(t.sample_time(1, 2), Some(GENESIS - 1152));
        assert_eq!(
            Timing::new(0, 36, 32).expect("valid").sample_time(1, 2),
            None
        );
    }

    #[test]
    fn slot_boundaries_are_half_open() {
        let t = devnet();
        let start = t.slot_start(10).expect("fits");
        assert_eq!(t.slot_at(start - 1), 9);
        assert_eq!(t.slot_at(start), 10);
        assert_eq!(t.slot_at(start + 35), 10);
        assert_eq!(t.slot_at(start + 36), 11);
    }

    #[test]
    fn before_genesis_is_slot_and_epoch_zero() {
        let t = devnet();
        assert_eq!(t.slot_at(0), 0);
        assert_eq!(t.slot_at(GENESIS - 1), 0);
        assert_eq!(t.epoch_at(GENESIS - 1), 0);
    }

    #[test]
    fn overflow_is_none_not_wrong() {
        let t = devnet();
        assert_eq!(t.slot_start(u64::MAX), None);
        assert_eq!(t.epoch_start(u64::MAX / 1000), None);
        assert_eq!(t.first_slot_of_epoch(u64::MAX), None);
        assert_eq!(t.sample_time(u64::MAX, 2), None);
    }

    #[test]
    fn proof_window_matches_the_prune_observation() {
        // A checkpoint of epoch 3 with PROOF_SUBMISSION_EPOCHS = 1: provable through epoch 4,
        // prunable from the start of epoch 5.
        assert_eq!(proof_deadline_epoch(3, 1), Some(5));
        assert!(accepts_proofs(3, 3, 1));
        assert!(accepts_proofs(3, 4, 1));
        assert!(!accepts_proofs(3, 5, 1));
        assert!(accepts_proofs(u64::MAX, u64::MAX, 1));
    }

    proptest! {
        #[test]
        fn slot_start_round_trips(slot in 0u64..1 << 40, offset in 0u64..36) {
            let t = devnet();
            let start = t.slot_start(slot).expect("fits");
            prop_assert_eq!(t.slot_at(start + offset), slot);
            prop_assert_eq!(t.epoch_at(start + offset), t.epoch_of_slot(slot));
        }

        #[test]
        fn epochs_contain_their_slots(epoch in 0u64..1 << 30) {
            let t = devnet();
            let first = t.first_slot_of_epoch(epoch).expect("fits");
            let last = t.last_slot_of_epoch(epoch).expect("fits");
            prop_assert_eq!(t.epoch_of_slot(first), epoch);
            prop_assert_eq!(t.epoch_of_slot(last), epoch);
            prop_assert_eq!(t.epoch_of_slot(last + 1), epoch + 1);
            prop_assert_eq!(t.slot_start(first), t.epoch_start(epoch));
        }
    }
}
