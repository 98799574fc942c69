//! Request planning: which reads cover the tags of a device. Pure functions, no I/O.
//!
//! Tags of one table are merged into a [`Block`] while the unused addresses between them stay within
//! the device's `max_gap` and the block stays within `max_block` and the protocol limit (125 registers
//! for FC3/FC4, 2000 bits for FC1/FC2). For the bit tables `max_block` and `max_gap` count in
//! registers' worth of bits: a block spans at most `max_block * 16` bits (capped at 2000) and a gap at
//! most `max_gap * 16` bits. Overlapping tags share the block.
//!
//! What the device refused at run time (exception 02 or 03) is kept in [`BadRanges`]: tags inside a
//! refused range are left out of the plan, no block spans a refused range, and a device that refuses
//! large reads gets a learned cap on the block size.

use std::collections::BTreeMap;

use plantwatch_core::{Device, Table};

/// Most registers FC3/FC4 may ask for.
pub const MAX_REGISTERS: u16 = 125;
/// Most bits FC1/FC2 may ask for.
pub const MAX_BITS: u16 = 2000;

/// One read request: `count` items of `table` from `start`, covering some tags of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub table: Table,
    pub start: u16,
    /// Registers for register tables, bits for bit tables.
    pub count: u16,
    /// Positions in `device.tags` of the tags this block covers, in address order.
    pub tags: Vec<u32>,
}

impl Block {
    /// One past the last address of the block.
    pub fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.count)
    }

    /// Where a tag's items lie inside this block's payload (`offset .. offset + width`), or `None`
    /// when the tag is not inside the block.
    pub fn slot(&self, tag: &plantwatch_core::Tag) -> Option<std::ops::Range<usize>> {
        let start = tag.address.checked_sub(self.start)?;
        let end = u32::from(tag.address) + u32::from(tag.width());
        if tag.table != self.table || end > self.end() {
            return None;
        }
        Some(usize::from(start)..usize::from(start) + usize::from(tag.width()))
    }
}

/// What one device refused, per table: address ranges (exception 02 or 03 for a block holding a
/// single tag, or a gap between tags) and, when the device refuses reads that are simply too large,
/// a learned cap on the block size. Learned at run time; starts empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadRanges {
    /// Per table: start -> end (exclusive) of refused ranges, kept disjoint and merged.
    ranges: BTreeMap<Table, BTreeMap<u32, u32>>,
    caps: BTreeMap<Table, u16>,
}

impl BadRanges {
    /// Nothing refused yet.
    pub fn new() -> BadRanges {
        BadRanges::default()
    }

    /// True when nothing has been refused.
    pub fn is_empty(&self) -> bool {
        self.ranges.values().all(BTreeMap::is_empty) && self.caps.is_empty()
    }

    /// Remembers that the device refuses `count` items of `table` from `start`.
    pub fn mark(&mut self, table: Table, start: u16, count: u16) {
        if count == 0 {
            return;
        }
        let ranges = self.ranges.entry(table).or_default();
        let mut lo = u32::from(start);
        let mut hi = lo + u32::from(count);
        // Absorb every range that touches [lo, hi) so the map stays disjoint.
        let touching: Vec<(u32, u32)> = ranges
            .range(..=hi)
            .filter(|&(_, &e)| e >= lo)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in touching {
            ranges.remove(&s);
            lo = lo.min(s);
            hi = hi.max(e);
        }
        ranges.insert(lo, hi);
    }

    /// Remembers that the device refuses reads of `table` longer than `cap` items.
    pub fn limit(&mut self, table: Table, cap: u16) {
        let cap = cap.max(1);
        let entry = self.caps.entry(table).or_insert(cap);
        *entry = (*entry).min(cap);
    }

    /// The learned cap on reads of `table`, if any.
    pub fn cap(&self, table: Table) -> Option<u16> {
        self.caps.get(&table).copied()
    }

    /// True when `[start, start + count)` of `table` touches a refused range.
    pub fn overlaps(&self, table: Table, start: u16, count: u16) -> bool {
        let lo = u32::from(start);
        let hi = lo + u32::from(count);
        self.ranges
            .get(&table)
            .is_some_and(|ranges| ranges.range(..hi).next_back().is_some_and(|(_, &e)| e > lo))
    }

    /// The refused ranges of a table, as (start, end exclusive).
    pub fn ranges(&self, table: Table) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ranges
            .get(&table)
            .into_iter()
            .flat_map(|r| r.iter().map(|(&s, &e)| (s, e)))
    }

    /// Learns from a block the device refused (02 or 03) whose two halves were then both read: the
    /// refusal came from the unused addresses between the halves when there are some (marked bad), or
    /// else from the size of the read (the table gets a cap).
    pub fn learn_from_split(&mut self, whole: &Block, left: &Block, right: &Block) {
        let (first, second) = if left.start <= right.start {
            (left, right)
        } else {
            (right, left)
        };
        if first.end() < u32::from(second.start) {
            let gap_start = first.end() as u16;
            self.mark(whole.table, gap_start, second.start - gap_start);
        } else {
            // Both halves were read, so their size is known to work.
            self.limit(whole.table, left.count.max(right.count));
        }
    }
}

/// The largest block a table allows on this device: the device's cap, the learned cap, and the
/// protocol limit.
pub fn block_limit(device: &Device, table: Table, bad: &BadRanges) -> u16 {
    let configured = if table.is_bits() {
        (u32::from(device.max_block) * 16).min(u32::from(MAX_BITS)) as u16
    } else {
        device.max_block.min(MAX_REGISTERS)
    };
    let learned = bad.cap(table).unwrap_or(u16::MAX);
    configured.min(learned).max(1)
}

fn gap_limit(device: &Device, table: Table) -> u32 {
    if table.is_bits() {
        u32::from(device.max_gap) * 16
    } else {
        u32::from(device.max_gap)
    }
}

/// Coalesces the tags of a device into as few reads as the limits allow. Tags inside a refused range
/// are left out (the caller marks them bad, cause configuration); no block spans a refused range.
/// Blocks come out per table (coil, discrete, input, holding), in address order.
pub fn plan_device(device: &Device, bad: &BadRanges) -> Vec<Block> {
    let mut order: Vec<u32> = (0..device.tags.len() as u32)
        .filter(|&i| {
            let tag = &device.tags[i as usize];
            !bad.overlaps(tag.table, tag.address, tag.width())
        })
        .collect();
    order.sort_by_key(|&i| {
        let tag = &device.tags[i as usize];
        (tag.table, tag.address, tag.width())
    });

    let mut blocks: Vec<Block> = Vec::new();
    for i in order {
        let tag = &device.tags[i as usize];
        let start = u32::from(tag.address);
        let end = start + u32::from(tag.width());
        if let Some(block) = blocks.last_mut() {
            if block.table == tag.table {
                let merged_end = block.end().max(end);
                let gap = start.saturating_sub(block.end());
                let count = merged_end - u32::from(block.start);
                if gap <= gap_limit(device, tag.table)
                    && count <= u32::from(block_limit(device, tag.table, bad))
                    && !bad.overlaps(tag.table, block.start, count as u16)
                {
                    block.count = count as u16;
                    block.tags.push(i);
                    continue;
                }
            }
        }
        // A tag wider than the limit still gets a block of its own: the device decides.
        blocks.push(Block {
            table: tag.table,
            start: tag.address,
            count: tag.width(),
            tags: vec![i],
        });
    }
    blocks
}

/// Splits a block the device refused into two halves (by tags, never cutting a tag), each as tight
/// as its tags allow. `None` when the block holds a single tag (or tags all at one address): then the
/// block itself is unreadable.
pub fn split_block(block: &Block, device: &Device) -> Option<(Block, Block)> {
    let mut tags = block.tags.clone();
    tags.sort_by_key(|&i| device.tags[i as usize].address);
    let first_address = device.tags[*tags.first()? as usize].address;
    // Split at the tag boundary nearest the middle of the tags that start at distinct addresses.
    let distinct_from = tags
        .iter()
        .position(|&i| device.tags[i as usize].address != first_address)?;
    let mid = (tags.len() / 2).max(distinct_from);
    let tight = |part: &[u32]| {
        let start = part
            .iter()
            .map(|&i| device.tags[i as usize].address)
            .min()
            .unwrap_or(block.start);
        let end = part
            .iter()
            .map(|&i| {
                let tag = &device.tags[i as usize];
                u32::from(tag.address) + u32::from(tag.width())
            })
            .max()
            .unwrap_or(u32::from(start));
        Block {
            table: block.table,
            start,
            count: (end - u32::from(start)) as u16,
            tags: part.to_vec(),
        }
    };
    Some((tight(&tags[..mid]), tight(&tags[mid..])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::{testing, Tag, ValueType};

    /// A device with `max_block` and `max_gap` and one tag per (table, address, type).
    fn device(max_block: u16, max_gap: u16, tags: &[(Table, u16, ValueType)]) -> Device {
        let tags = tags
            .iter()
            .enumerate()
            .map(|(i, &(table, address, value_type))| {
                Tag::new(&format!("t{i}"), table, address, value_type)
            })
            .collect();
        Device {
            max_block,
            max_gap,
            ..testing::device("plc", tags)
        }
    }

    /// The plan as (table, start, count, tag positions).
    fn blocks(device: &Device, bad: &BadRanges) -> Vec<(Table, u16, u16, Vec<u32>)> {
        plan_device(device, bad)
            .into_iter()
            .map(|b| (b.table, b.start, b.count, b.tags))
            .collect()
    }

    use Table::{Coil, Discrete, Holding, Input};
    use ValueType::{Bool, F32, U16, U64};

    #[test]
    fn tags_merge_while_the_gap_is_within_max_gap() {
        let d = device(
            125,
            4,
            &[
                (Input, 0, U16),
                (Input, 5, F32),
                (Input, 12, U16),
                (Input, 17, U16),
            ],
        );
        // 0..1 and 5..7: gap 4 merges; 12: gap 5 does not; 17: gap 4 merges with 12.
        assert_eq!(
            blocks(&d, &BadRanges::new()),
            vec![(Input, 0, 7, vec![0, 1]), (Input, 12, 6, vec![2, 3])]
        );
    }

    #[test]
    fn blocks_respect_max_block_and_never_cut_a_tag() {
        let d = device(
            8,
            16,
            &[
                (Holding, 0, U64),
                (Holding, 4, U64),
                (Holding, 6, F32),
                (Holding, 8, U16),
            ],
        );
        assert_eq!(
            blocks(&d, &BadRanges::new()),
            vec![(Holding, 0, 8, vec![0, 1, 2]), (Holding, 8, 1, vec![3])]
        );
    }

    #[test]
    fn the_protocol_limit_caps_register_blocks_at_125() {
        let tags: Vec<_> = (0..200).map(|a| (Holding, a, U16)).collect();
        let plan = blocks(&device(125, 0, &tags), &BadRanges::new());
        assert_eq!(
            plan.iter().map(|b| (b.1, b.2)).collect::<Vec<_>>(),
            vec![(0, 125), (125, 75)]
        );
    }

    #[test]
    fn bit_tables_count_max_block_and_max_gap_in_registers_worth_of_bits() {
        // max_block 2 -> 32 bits a block; max_gap 1 -> 16 unused bits may be spanned.
        let d = device(
            2,
            1,
            &[
                (Coil, 0, Bool),
                (Coil, 17, Bool),
                (Coil, 31, Bool),
                (Coil, 32, Bool),
                (Coil, 49, Bool),
            ],
        );
        assert_eq!(
            blocks(&d, &BadRanges::new()),
            vec![(Coil, 0, 32, vec![0, 1, 2]), (Coil, 32, 18, vec![3, 4])]
        );
        // max_block 125 -> 2000 bits, the protocol limit for FC1/FC2.
        let wide = device(
            125,
            125,
            &[
                (Discrete, 0, Bool),
                (Discrete, 1999, Bool),
                (Discrete, 2000, Bool),
            ],
        );
        assert_eq!(
            blocks(&wide, &BadRanges::new()),
            vec![
                (Discrete, 0, 2000, vec![0, 1]),
                (Discrete, 2000, 1, vec![2])
            ]
        );
    }

    #[test]
    fn tables_are_never_mixed_and_overlapping_tags_share_a_block() {
        let d = device(
            125,
            16,
            &[
                (Holding, 0, U16),
                (Input, 0, U16),
                (Holding, 0, ValueType::Bit(3)),
                (Holding, 0, F32),
            ],
        );
        assert_eq!(
            blocks(&d, &BadRanges::new()),
            vec![(Input, 0, 1, vec![1]), (Holding, 0, 2, vec![0, 2, 3])]
        );
    }

    #[test]
    fn refused_ranges_drop_their_tags_and_split_blocks_around_them() {
        let d = device(
            125,
            16,
            &[(Input, 0, U16), (Input, 4, F32), (Input, 10, U16)],
        );
        let mut bad = BadRanges::new();
        bad.mark(Input, 5, 1);
        // The f32 at 4..6 touches the refused register 5; the others may not span it.
        assert_eq!(
            blocks(&d, &bad),
            vec![(Input, 0, 1, vec![0]), (Input, 10, 1, vec![2])]
        );
    }

    #[test]
    fn split_halves_are_tight_and_keep_tags_whole() {
        let d = device(
            125,
            16,
            &[
                (Input, 0, U16),
                (Input, 2, F32),
                (Input, 10, U16),
                (Input, 12, U64),
            ],
        );
        let whole = plan_device(&d, &BadRanges::new()).remove(0);
        assert_eq!((whole.start, whole.count), (0, 16));
        let (left, right) = split_block(&whole, &d).expect("four tags split");
        assert_eq!(
            (left.start, left.count, left.tags.clone()),
            (0, 4, vec![0, 1])
        );
        assert_eq!(
            (right.start, right.count, right.tags.clone()),
            (10, 6, vec![2, 3])
        );
        let (single, _) = split_block(&left, &d).expect("two tags split");
        assert_eq!(
            split_block(&single, &d),
            None,
            "a single tag cannot be split"
        );
    }

    #[test]
    fn a_refusal_healed_by_splitting_is_learned_as_a_gap_or_a_cap() {
        let d = device(125, 16, &[(Input, 0, U16), (Input, 8, U16)]);
        let whole = plan_device(&d, &BadRanges::new()).remove(0);
        let (left, right) = split_block(&whole, &d).expect("two tags split");
        let mut bad = BadRanges::new();
        bad.learn_from_split(&whole, &left, &right);
        assert_eq!(
            bad.ranges(Input).collect::<Vec<_>>(),
            vec![(1, 8)],
            "the hole between the tags"
        );
        assert_eq!(
            blocks(&d, &bad).len(),
            2,
            "the next plan does not span the hole"
        );

        let adjacent = device(125, 16, &[(Holding, 0, U64), (Holding, 4, U64)]);
        let whole = plan_device(&adjacent, &BadRanges::new()).remove(0);
        let (left, right) = split_block(&whole, &adjacent).expect("two tags split");
        let mut bad = BadRanges::new();
        bad.learn_from_split(&whole, &left, &right);
        assert_eq!(bad.cap(Holding), Some(4), "no hole: the read was too large");
        assert_eq!(
            blocks(&adjacent, &bad),
            vec![(Holding, 0, 4, vec![0]), (Holding, 4, 4, vec![1])]
        );
    }

    #[test]
    fn marked_ranges_merge_and_overlap() {
        let mut bad = BadRanges::new();
        bad.mark(Table::Input, 10, 2);
        bad.mark(Table::Input, 12, 3);
        assert_eq!(bad.ranges(Table::Input).collect::<Vec<_>>(), vec![(10, 15)]);
        assert!(bad.overlaps(Table::Input, 14, 1));
        assert!(!bad.overlaps(Table::Input, 15, 5));
        assert!(!bad.overlaps(Table::Holding, 10, 5));
        assert!(bad.overlaps(Table::Input, 0, 11));
    }
}
