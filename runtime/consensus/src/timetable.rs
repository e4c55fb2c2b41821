//! The proposer's timetable inside one slot: when each block of the checkpoint must be built,
//! and what the end of the slot is kept for.
//!
//! A slot starts with `init` (the proposer sees an L1 block inside the slot, syncs, checks it
//! proposes), then blocks of `block` each, back to back, then the reserve: `assemble` (the
//! checkpoint header, blobs, signatures), a proposal's trip to the committee and the
//! attestations' trip back (`propagation` each way), and `publish` (the blob transaction
//! landing on L1 inside the slot). Without a block duration the checkpoint is one block that
//! may use the whole build window. All values are milliseconds; pure arithmetic, no clock.

/// The parts of a slot, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timetable {
    /// Slot length.
    pub slot_ms: u64,
    /// One block's share of the slot (`None`: one block per checkpoint).
    pub block_ms: Option<u64>,
    /// From the slot's start until the first block may start.
    pub init_ms: u64,
    /// Building the checkpoint proposal from its blocks and signing it.
    pub assemble_ms: u64,
    /// One way: the proposal to the committee, or the attestations back.
    pub propagation_ms: u64,
    /// The L1 transaction, from sending to being mined inside the slot.
    pub publish_ms: u64,
}

impl Timetable {
    /// What a devnet on loopback needs (anvil mines every second; peers are local): with
    /// 12 s slots and 2 s blocks, three blocks per checkpoint.
    pub const fn devnet(slot_ms: u64, block_ms: Option<u64>) -> Timetable {
        Timetable {
            slot_ms,
            block_ms,
            init_ms: 1_000,
            assemble_ms: 500,
            propagation_ms: 500,
            publish_ms: 3_000,
        }
    }

    /// The time kept at the end of the slot after the last block.
    pub const fn reserve_ms(&self) -> u64 {
        self.assemble_ms + 2 * self.propagation_ms + self.publish_ms
    }

    /// The window blocks may be built in: from `init` to the reserve (0 if the slot is too
    /// short for any).
    pub const fn build_window_ms(&self) -> u64 {
        self.slot_ms
            .saturating_sub(self.init_ms)
            .saturating_sub(self.reserve_ms())
    }

    /// Blocks per checkpoint: as many whole block durations as the window holds, at least one
    /// (a checkpoint always has a block, even when the window is shorter than a block).
    pub const fn blocks(&self) -> u64 {
        match self.block_ms {
            Some(b) if b > 0 => {
                let n = self.build_window_ms() / b;
                if n == 0 {
                    1
                } else {
                    n
                }
            }
            _ => 1,
        }
    }

    /// When block `i` (0-based) may start, from the slot's start.
    pub const fn block_start_ms(&self, i: u64) -> u64 {
        match self.block_ms {
            Some(b) => self.init_ms + i * b,
            None => self.init_ms,
        }
    }

    /// When block `i` must be built by, from the slot's start: the end of its duration, and
    /// never past the reserve.
    pub const fn block_deadline_ms(&self, i: u64) -> u64 {
        let end = match self.block_ms {
            Some(b) => self.init_ms + (i + 1) * b,
            None => self.init_ms + self.build_window_ms(),
        };
        let last = self.slot_ms.saturating_sub(self.reserve_ms());
        if end < last {
            end
        } else {
            last
        }
    }

    /// When the attestations must be in, from the slot's start: what remains is for
    /// publishing.
    pub const fn attestation_deadline_ms(&self) -> u64 {
        self.slot_ms.saturating_sub(self.publish_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devnet_fits_three_blocks_of_two_seconds_in_a_twelve_second_slot() {
        let t = Timetable::devnet(12_000, Some(2_000));
        assert_eq!(t.reserve_ms(), 4_500);
        assert_eq!(t.build_window_ms(), 6_500);
        assert_eq!(t.blocks(), 3);
        assert_eq!(
            (0..3)
                .map(|i| (t.block_start_ms(i), t.block_deadline_ms(i)))
                .collect::<Vec<_>>(),
            [(1_000, 3_000), (3_000, 5_000), (5_000, 7_000)]
        );
        assert_eq!(t.attestation_deadline_ms(), 9_000);
        // The last block ends before the reserve starts.
        assert!(t.block_deadline_ms(t.blocks() - 1) <= t.slot_ms - t.reserve_ms());
    }

    #[test]
    fn without_a_block_duration_one_block_takes_the_window() {
        let t = Timetable::devnet(12_000, None);
        assert_eq!(t.blocks(), 1);
        assert_eq!(
            (t.block_start_ms(0), t.block_deadline_ms(0)),
            (1_000, 7_500)
        );
    }

    #[test]
    fn aztec_reserves_on_72_second_slots() {
        // Aztec's testnet values (spec/aztec-node.md §2): 1 s init, 1 s assemble, 2 s
        // propagation each way, 36 s for L1; 6 s blocks.
        let t = Timetable {
            slot_ms: 72_000,
            block_ms: Some(6_000),
            init_ms: 1_000,
            assemble_ms: 1_000,
            propagation_ms: 2_000,
            publish_ms: 36_000,
        };
        assert_eq!(t.reserve_ms(), 41_000);
        assert_eq!(t.blocks(), 5);
        // On 12 s slots the same reserves leave no window: still one block.
        let short = Timetable {
            slot_ms: 12_000,
            ..t
        };
        assert_eq!(short.build_window_ms(), 0);
        assert_eq!(short.blocks(), 1);
        assert_eq!(short.block_deadline_ms(0), 0);
    }

    #[test]
    fn a_block_longer_than_the_window_is_cut_at_the_reserve() {
        let t = Timetable::devnet(12_000, Some(10_000));
        assert_eq!(t.blocks(), 1);
        assert_eq!(t.block_deadline_ms(0), 7_500);
        assert_eq!(Timetable::devnet(12_000, Some(0)).blocks(), 1);
    }
}
